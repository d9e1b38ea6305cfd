//! Streaming reads of ISO 20022 documents: events come from quick-xml's namespace-aware reader
//! over any `BufRead`, pass the `kontor-xml` policy one by one, and the elements a parser needs
//! as a whole (one `Ntry`, a statement's header) are cut out as small [`Fragment`] trees.
//! Memory is bounded by the largest fragment, not by the document.
//!
//! A fragment reads like the `roxmltree` tree the whole-document parsers use (the same
//! [`Element`] accessors): text is an element's first child when that is text (adjacent text
//! and CDATA joined, entities resolved, line ends normalised), attributes are matched by
//! unprefixed name, and only elements in the document namespace are found by name.

use std::borrow::Cow;
use std::io::BufRead;

use kontor_xml::quick_xml::events::{BytesStart, Event};
use kontor_xml::quick_xml::Reader;
use kontor_xml::{PolicyCheck, ReadError};

use super::reader::{Element, XmlError, DOCUMENT_LIMITS};

const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    end: u32,
}

#[derive(Debug)]
struct Node {
    name: Span,
    in_namespace: bool,
    parent: u32,
    first_child: u32,
    last_child: u32,
    next_sibling: u32,
    text: Option<Span>,
    /// Range in `Fragment::attributes`.
    attributes: (u32, u32),
}

/// An element with its descendants, cut out of a streamed document. Node 0 is the root.
#[derive(Debug, Default)]
pub(crate) struct Fragment {
    nodes: Vec<Node>,
    strings: String,
    attributes: Vec<(Span, Span)>,
    /// Path of the root element for error messages, e.g. `Document/BkToCstmrStmt/Stmt/Ntry`.
    root_path: String,
    /// Position of the root among its namesakes, added to `root_path` when above 1
    /// (`…/Ntry[2]`): set for every entry, formatted only for an error.
    root_position: usize,
}

impl Fragment {
    /// An element without children or text (a statement's header before its parts are added).
    pub(crate) fn empty(name: &str, root_path: String) -> Fragment {
        let mut fragment = Fragment {
            root_path,
            ..Fragment::default()
        };
        let name = fragment.push_str(name);
        fragment.push_node(name, true, NONE, (0, 0));
        fragment
    }

    /// Sets the path of the root element for error messages.
    pub(crate) fn set_root_path(&mut self, path: std::fmt::Arguments<'_>) {
        use std::fmt::Write;
        self.root_path.clear();
        let _ = self.root_path.write_fmt(path);
    }

    /// Sets the position of the root among its namesakes (see `root_position`).
    pub(crate) fn set_root_position(&mut self, position: usize) {
        self.root_position = position;
    }

    pub(crate) fn root(&self) -> FragmentCursor<'_> {
        FragmentCursor {
            fragment: self,
            index: 0,
        }
    }

    fn push_str(&mut self, text: &str) -> Span {
        let start = self.strings.len() as u32;
        self.strings.push_str(text);
        Span {
            start,
            end: self.strings.len() as u32,
        }
    }

    fn str(&self, span: Span) -> &str {
        &self.strings[span.start as usize..span.end as usize]
    }

    fn push_node(
        &mut self,
        name: Span,
        in_namespace: bool,
        parent: u32,
        attributes: (u32, u32),
    ) -> u32 {
        let index = self.nodes.len() as u32;
        self.nodes.push(Node {
            name,
            in_namespace,
            parent,
            first_child: NONE,
            last_child: NONE,
            next_sibling: NONE,
            text: None,
            attributes,
        });
        if parent != NONE {
            let p = parent as usize;
            match self.nodes[p].last_child {
                NONE => self.nodes[p].first_child = index,
                last => self.nodes[last as usize].next_sibling = index,
            }
            self.nodes[p].last_child = index;
        }
        index
    }

    /// Appends `other` (another fragment) as the last child of the root.
    pub(crate) fn adopt(&mut self, other: &Fragment) {
        let offset = self.nodes.len() as u32;
        let string_offset = self.strings.len() as u32;
        let attribute_offset = self.attributes.len() as u32;
        self.strings.push_str(&other.strings);
        let shift = |s: Span| Span {
            start: s.start + string_offset,
            end: s.end + string_offset,
        };
        self.attributes
            .extend(other.attributes.iter().map(|&(k, v)| (shift(k), shift(v))));
        for (i, node) in other.nodes.iter().enumerate() {
            let moved = |n: u32| if n == NONE { NONE } else { n + offset };
            let parent = if i == 0 { 0 } else { moved(node.parent) };
            let index = self.nodes.len() as u32;
            self.nodes.push(Node {
                name: shift(node.name),
                in_namespace: node.in_namespace,
                parent,
                first_child: moved(node.first_child),
                last_child: moved(node.last_child),
                next_sibling: if i == 0 {
                    NONE
                } else {
                    moved(node.next_sibling)
                },
                text: node.text.map(shift),
                attributes: (
                    node.attributes.0 + attribute_offset,
                    node.attributes.1 + attribute_offset,
                ),
            });
            if i == 0 {
                match self.nodes[0].last_child {
                    NONE => self.nodes[0].first_child = index,
                    last => self.nodes[last as usize].next_sibling = index,
                }
                self.nodes[0].last_child = index;
            }
        }
    }
}

#[derive(Clone, Copy)]
pub(crate) struct FragmentCursor<'a> {
    fragment: &'a Fragment,
    index: u32,
}

impl<'a> FragmentCursor<'a> {
    fn node(&self) -> &'a Node {
        &self.fragment.nodes[self.index as usize]
    }

    fn name(&self) -> &'a str {
        self.fragment.str(self.node().name)
    }

    /// Whether this is element `name` of the document namespace. Called for every child an
    /// entry's lookups pass, so lengths are compared first and bytes without re-slicing `str`.
    #[inline]
    fn is_named(&self, name: &str) -> bool {
        let node = self.node();
        let span = node.name;
        node.in_namespace
            && (span.end - span.start) as usize == name.len()
            && self.fragment.strings.as_bytes()[span.start as usize..span.end as usize]
                == *name.as_bytes()
    }

    fn element_children(self) -> impl Iterator<Item = FragmentCursor<'a>> + 'a {
        let fragment = self.fragment;
        let mut next = self.node().first_child;
        std::iter::from_fn(move || {
            if next == NONE {
                return None;
            }
            let index = next;
            next = fragment.nodes[index as usize].next_sibling;
            Some(FragmentCursor { fragment, index })
        })
    }
}

impl<'a> Element<'a> for FragmentCursor<'a> {
    fn child(&self, name: &str) -> Option<Self> {
        self.element_children().find(|c| c.is_named(name))
    }

    fn children(self, name: &'a str) -> impl Iterator<Item = Self> + 'a {
        self.element_children().filter(move |c| c.is_named(name))
    }

    fn node_text(&self) -> Option<&'a str> {
        self.node().text.map(|span| self.fragment.str(span))
    }

    fn attr(&self, name: &str) -> Option<&'a str> {
        let (from, to) = self.node().attributes;
        self.fragment.attributes[from as usize..to as usize]
            .iter()
            .find(|(key, _)| self.fragment.str(*key) == name)
            .map(|(_, value)| self.fragment.str(*value))
    }

    fn path(&self) -> String {
        let mut parts = Vec::new();
        let mut index = self.index;
        while index != 0 {
            let node = &self.fragment.nodes[index as usize];
            let name = self.fragment.str(node.name);
            let cursor = FragmentCursor {
                fragment: self.fragment,
                index: node.parent,
            };
            let same: Vec<u32> = cursor
                .element_children()
                .filter(|c| c.name() == name)
                .map(|c| c.index)
                .collect();
            if same.len() > 1 {
                let position = same.iter().position(|&i| i == index).unwrap_or(0);
                parts.push(format!("{name}[{}]", position + 1));
            } else {
                parts.push(name.to_owned());
            }
            index = node.parent;
        }
        parts.push(match self.fragment.root_position {
            0 | 1 => self.fragment.root_path.clone(),
            n => format!("{}[{n}]", self.fragment.root_path),
        });
        parts.reverse();
        parts.join("/")
    }
}

/// Where a text run of the element being built stands (roxmltree's `text()` is the first
/// child only when that is text).
#[derive(Clone, Copy, PartialEq, Eq)]
enum TextState {
    Fresh,
    InFirstText,
    Done,
}

/// An event of the document stream, reduced to what the streaming parsers act on.
pub(crate) enum Step {
    /// A start tag (`empty` for `<X/>`), with its local name and whether it is in the
    /// document namespace.
    Start {
        local: String,
        in_namespace: bool,
        empty: bool,
    },
    End,
    /// Text, comments, processing instructions, the declaration.
    Other,
    Eof,
}

/// The reserved namespaces of the `xml` and `xmlns` prefixes (Namespaces in XML 1.0 §3).
const XML_NAMESPACE: &[u8] = b"http://www.w3.org/XML/1998/namespace";
const XMLNS_NAMESPACE: &[u8] = b"http://www.w3.org/2000/xmlns/";

/// A namespace declaration in scope: `prefix` (empty for the default namespace) bound to
/// `uri` (as written) by an element at nesting `level`.
#[derive(Debug)]
struct Binding {
    prefix: Vec<u8>,
    uri: Vec<u8>,
    level: usize,
    /// Whether `uri` is the document namespace, decided once per declaration rather than
    /// compared for every element in its scope.
    in_document: bool,
}

/// The namespace declarations in scope, innermost last. ISO 20022 documents declare their
/// namespaces on the root element, so this stays a handful of entries, and elements without
/// attributes (almost all) cost nothing here.
#[derive(Debug, Default)]
struct Namespaces {
    bindings: Vec<Binding>,
    /// Index of the innermost default namespace declaration in `bindings`, the one almost
    /// every element name resolves to.
    default: Option<usize>,
    /// The document namespace (from the root element); elements match only in it.
    document: Vec<u8>,
}

impl Namespaces {
    /// Adds the declarations of a start tag at nesting `level`. Binding `xml` to another
    /// namespace, binding `xmlns`, or another prefix to either reserved namespace is refused.
    fn declare(&mut self, start: &BytesStart<'_>, level: usize) -> Result<(), ReadError> {
        if !kontor_xml::has_attributes(start) {
            return Ok(());
        }
        // The policy check iterated these attributes with quick-xml's checks already.
        for attribute in start.attributes().with_checks(false) {
            let attribute = attribute.map_err(not_well_formed)?;
            let prefix = match attribute.key.as_ref().strip_prefix(b"xmlns") {
                Some([]) => &[][..],
                Some([b':', prefix @ ..]) => prefix,
                _ => continue,
            };
            let uri = attribute.value.as_ref();
            let reserved = match prefix {
                b"xml" => uri != XML_NAMESPACE,
                b"xmlns" => true,
                b"" => false,
                _ => uri == XML_NAMESPACE || uri == XMLNS_NAMESPACE,
            };
            if reserved {
                return Err(not_well_formed(format!(
                    "reserved namespace prefix or URI bound: xmlns:{}={:?}",
                    String::from_utf8_lossy(prefix),
                    String::from_utf8_lossy(uri)
                )));
            }
            if prefix.is_empty() {
                self.default = Some(self.bindings.len());
            }
            if prefix != b"xml" {
                self.bindings.push(Binding {
                    prefix: prefix.to_vec(),
                    uri: uri.to_vec(),
                    level,
                    in_document: uri == self.document,
                });
            }
        }
        Ok(())
    }

    /// Sets the document namespace, for the declarations in scope and those to come.
    fn set_document(&mut self, namespace: Vec<u8>) {
        for binding in &mut self.bindings {
            binding.in_document = binding.uri == namespace;
        }
        self.document = namespace;
    }

    /// Drops the declarations of elements deeper than `level`.
    #[inline]
    fn leave(&mut self, level: usize) {
        if self.bindings.last().is_some_and(|b| b.level > level) {
            while self.bindings.last().is_some_and(|b| b.level > level) {
                self.bindings.pop();
            }
            self.default = self.bindings.iter().rposition(|b| b.prefix.is_empty());
        }
    }

    /// The binding of an element name's namespace (`None` for no namespace, or for the
    /// reserved `xml` and `xmlns` prefixes) and its local name. An undeclared prefix is an
    /// error (`xmlns:p=""` never gets here: the policy check refuses it).
    #[inline]
    fn binding<'n>(&self, name: &'n [u8]) -> Result<(Option<&Binding>, &'n [u8]), ReadError> {
        // Names are short: a plain scan beats setting up a vectorised search.
        let Some(colon) = name.iter().position(|&b| b == b':') else {
            // No prefix (almost every element): the innermost default namespace, if any.
            return Ok((self.default.map(|index| &self.bindings[index]), name));
        };
        let (prefix, local) = (&name[..colon], &name[colon + 1..]);
        match prefix {
            b"xml" | b"xmlns" => Ok((None, local)),
            _ => match self
                .bindings
                .iter()
                .rev()
                .find(|b| !b.prefix.is_empty() && b.prefix == prefix)
            {
                Some(binding) => Ok((Some(binding), local)),
                None => Err(not_well_formed(format!(
                    "unknown namespace prefix {:?}",
                    String::from_utf8_lossy(prefix)
                ))),
            },
        }
    }

    /// The namespace URI of an element name (empty when it has none) and its local name.
    fn resolve<'n>(&self, name: &'n [u8]) -> Result<(&[u8], &'n [u8]), ReadError> {
        let (binding, local) = self.binding(name)?;
        let uri = match binding {
            Some(binding) => &binding.uri[..],
            None if name.starts_with(b"xml:") => XML_NAMESPACE,
            None if name.starts_with(b"xmlns:") => XMLNS_NAMESPACE,
            None => &[][..],
        };
        Ok((uri, local))
    }

    /// The local name of a start tag and whether it is in the document namespace.
    #[inline]
    fn local_in<'n>(&self, start: &'n BytesStart<'_>) -> Result<(&'n str, bool), XmlError> {
        let name = start.name().into_inner();
        let (binding, local) = self.binding(name)?;
        let in_document = match binding {
            Some(binding) => binding.in_document,
            // `xml:` or `xmlns:` elements, or none in a namespace.
            None => self.resolve(name)?.0 == self.document,
        };
        let local = std::str::from_utf8(local).map_err(malformed)?;
        Ok((local, in_document))
    }
}

/// A namespace-aware event reader under [`DOCUMENT_LIMITS`].
pub(crate) struct EventReader<R> {
    reader: Reader<R>,
    namespaces: Namespaces,
    buf: Vec<u8>,
    policy: PolicyCheck<'static>,
    /// The elements open in the fragment being read, with the state of their first text;
    /// reused for every fragment.
    open: Vec<(u32, TextState)>,
    /// The start tag last returned by [`EventReader::step`], kept for [`EventReader::fragment`].
    pending: Option<BytesStart<'static>>,
    pending_empty: bool,
    root_closed: bool,
}

fn malformed(error: impl std::fmt::Display) -> XmlError {
    XmlError::Unreadable(not_well_formed(error))
}

/// The error of the event loop, which stays small: it travels with every event.
fn not_well_formed(error: impl std::fmt::Display) -> ReadError {
    ReadError::Malformed {
        reason: error.to_string(),
    }
}

impl<R: BufRead> EventReader<R> {
    pub(crate) fn new(mut input: R) -> Result<Self, XmlError> {
        // A UTF-8 byte order mark is skipped, as `kontor_xml::decode` does.
        if input
            .fill_buf()
            .map_err(malformed)?
            .starts_with(b"\xEF\xBB\xBF")
        {
            input.consume(3);
        }
        let mut reader = Reader::from_reader(input);
        reader.config_mut().check_end_names = true;
        Ok(Self {
            reader,
            namespaces: Namespaces::default(),
            buf: Vec::with_capacity(64 * 1024),
            policy: PolicyCheck::new(&DOCUMENT_LIMITS),
            open: Vec::new(),
            pending: None,
            pending_empty: false,
            root_closed: false,
        })
    }

    /// Current nesting depth (the root element is level 1).
    pub(crate) fn depth(&self) -> usize {
        self.policy.depth()
    }

    /// Sets the document namespace (from the root element): elements match only in it.
    pub(crate) fn set_namespace(&mut self, namespace: Vec<u8>) {
        self.namespaces.set_document(namespace);
    }

    /// The namespace URI of a start tag (for the root element).
    pub(crate) fn namespace_of(&self, local_start: &str) -> Result<String, XmlError> {
        let start = self
            .pending
            .as_ref()
            .ok_or_else(|| malformed(format!("no start tag {local_start}")))?;
        let (uri, _) = self.namespaces.resolve(start.name().into_inner())?;
        String::from_utf8(uri.to_vec()).map_err(malformed)
    }

    /// The next event, read into the reader's own buffer.
    fn next(&mut self) -> Result<Event<'_>, XmlError> {
        Ok(next_event(
            &mut self.reader,
            &mut self.buf,
            &mut self.policy,
            &mut self.namespaces,
            &mut self.root_closed,
        )?)
    }

    pub(crate) fn step(&mut self) -> Result<Step, XmlError> {
        self.pending = None;
        let event = self.next()?;
        // Only start tags are kept (for `fragment`); other events stay borrowed.
        let (start, empty) = match event {
            Event::Start(start) => (start.into_owned(), false),
            Event::Empty(start) => (start.into_owned(), true),
            Event::End(_) => return Ok(Step::End),
            Event::Eof => return Ok(Step::Eof),
            _ => return Ok(Step::Other),
        };
        let (local, in_namespace) = self.namespaces.local_in(&start)?;
        let local = local.to_owned();
        self.pending = Some(start);
        self.pending_empty = empty;
        Ok(Step::Start {
            local,
            in_namespace,
            empty,
        })
    }

    /// Skips the rest of the element whose start tag [`EventReader::step`] just returned.
    pub(crate) fn skip(&mut self) -> Result<(), XmlError> {
        if self.pending_empty {
            return Ok(());
        }
        let depth = self.policy.depth();
        loop {
            let ended = match self.next()? {
                Event::End(_) => true,
                Event::Eof => return Err(malformed("document ends inside an element")),
                _ => false,
            };
            if ended && self.policy.depth() < depth {
                return Ok(());
            }
        }
    }

    /// Reads the element whose start tag [`EventReader::step`] just returned into a
    /// fragment whose root has the path `root_path`.
    pub(crate) fn fragment(&mut self, root_path: String) -> Result<Fragment, XmlError> {
        let mut fragment = Fragment {
            root_path,
            ..Fragment::default()
        };
        self.read_into(&mut fragment)?;
        Ok(fragment)
    }

    /// Like [`EventReader::fragment`], reusing `fragment`'s memory (its `root_path` is kept).
    pub(crate) fn read_into(&mut self, fragment: &mut Fragment) -> Result<(), XmlError> {
        fragment.nodes.clear();
        fragment.strings.clear();
        fragment.attributes.clear();
        let start = self
            .pending
            .take()
            .ok_or_else(|| malformed("no element to read"))?;
        open_element(&self.namespaces, fragment, &start, NONE)?;
        if self.pending_empty {
            return Ok(());
        }
        let mut open = std::mem::take(&mut self.open);
        open.clear();
        open.push((0, TextState::Fresh));
        let mut buf = std::mem::take(&mut self.buf);
        let result = self.read_fragment_body(fragment, &mut open, &mut buf);
        self.buf = buf;
        self.open = open;
        result
    }

    fn read_fragment_body(
        &mut self,
        fragment: &mut Fragment,
        open: &mut Vec<(u32, TextState)>,
        buf: &mut Vec<u8>,
    ) -> Result<(), XmlError> {
        while let Some(&(current, state)) = open.last() {
            let event = next_event(
                &mut self.reader,
                buf,
                &mut self.policy,
                &mut self.namespaces,
                &mut self.root_closed,
            )?;
            let is_text = matches!(event, Event::Text(_) | Event::CData(_));
            if !is_text && state != TextState::Done {
                if let Some(top) = open.last_mut() {
                    top.1 = TextState::Done;
                }
            }
            match event {
                Event::Start(start) => {
                    let index = open_element(&self.namespaces, fragment, &start, current)?;
                    open.push((index, TextState::Fresh));
                }
                Event::Empty(start) => {
                    open_element(&self.namespaces, fragment, &start, current)?;
                }
                Event::End(_) => {
                    open.pop();
                }
                Event::Text(text) if state != TextState::Done => {
                    // Most text (indentation, codes, amounts, names) has no reference to
                    // resolve: it is only decoded.
                    let text = if text.contains(&b'&') {
                        text.unescape().map_err(malformed)?
                    } else {
                        Cow::Borrowed(std::str::from_utf8(&text).map_err(malformed)?)
                    };
                    append_text(fragment, current, &text, state);
                    if let Some(top) = open.last_mut() {
                        top.1 = TextState::InFirstText;
                    }
                }
                Event::CData(data) if state != TextState::Done => {
                    let text = std::str::from_utf8(&data).map_err(malformed)?;
                    append_text(fragment, current, text, state);
                    if let Some(top) = open.last_mut() {
                        top.1 = TextState::InFirstText;
                    }
                }
                Event::Eof => return Err(malformed("document ends inside an element")),
                _ => {}
            }
        }
        Ok(())
    }
}

/// Adds the element of `start` to `fragment` under `parent`.
fn open_element(
    namespaces: &Namespaces,
    fragment: &mut Fragment,
    start: &BytesStart<'_>,
    parent: u32,
) -> Result<u32, XmlError> {
    let (local, in_namespace) = namespaces.local_in(start)?;
    let name = fragment.push_str(local);
    let first = fragment.attributes.len() as u32;
    if !kontor_xml::has_attributes(start) {
        return Ok(fragment.push_node(name, in_namespace, parent, (first, first)));
    }
    // Every start tag reaching here passed the policy check, which iterated its attributes
    // with quick-xml's checks (syntax, duplicates): repeating the quadratic duplicate check
    // could not fail, so this pass skips it.
    for attribute in start.attributes().with_checks(false) {
        let attribute = attribute.map_err(malformed)?;
        let key = attribute.key;
        // roxmltree's `attribute(name)` finds unprefixed attributes; declarations are not
        // attributes there.
        if key.prefix().is_some() || key.as_ref() == b"xmlns" {
            continue;
        }
        let key = std::str::from_utf8(key.as_ref()).map_err(malformed)?;
        let value = attribute.unescape_value().map_err(malformed)?;
        let key = fragment.push_str(key);
        // Attribute value normalisation (XML 1.0 §3.3.3): white space becomes a space.
        let value = if value.contains(['\t', '\n', '\r']) {
            let normalised = value.replace("\r\n", " ").replace(['\t', '\n', '\r'], " ");
            fragment.push_str(&normalised)
        } else {
            fragment.push_str(&value)
        };
        fragment.attributes.push((key, value));
    }
    let last = fragment.attributes.len() as u32;
    Ok(fragment.push_node(name, in_namespace, parent, (first, last)))
}

/// Reads the next event into `buf`, checks it against the policy and keeps the namespace
/// declarations in scope up to date. Inlined into the two loops that call it: returned
/// through a call, the event is copied twice more.
#[inline(always)]
fn next_event<'b, R: BufRead>(
    reader: &mut Reader<R>,
    buf: &'b mut Vec<u8>,
    policy: &mut PolicyCheck<'static>,
    namespaces: &mut Namespaces,
    root_closed: &mut bool,
) -> Result<Event<'b>, ReadError> {
    // Declarations of an element that ended (or was empty) go out of scope.
    namespaces.leave(policy.depth());
    buf.clear();
    let event = match reader.read_event_into(buf) {
        Ok(event) => event,
        Err(e) => {
            return Err(not_well_formed(format!(
                "{e} (at byte {})",
                reader.error_position()
            )))
        }
    };
    policy.check(&event)?;
    match &event {
        Event::Start(start) => namespaces.declare(start, policy.depth())?,
        Event::Empty(start) => namespaces.declare(start, policy.depth() + 1)?,
        _ => {}
    }
    if *root_closed {
        match &event {
            Event::Start(_) | Event::Empty(_) => {
                return Err(not_well_formed("data after the root element"))
            }
            Event::Text(t) if !t.iter().all(u8::is_ascii_whitespace) => {
                return Err(not_well_formed("data after the root element"))
            }
            _ => {}
        }
    }
    if matches!(event, Event::End(_)) && policy.depth() == 0 {
        *root_closed = true;
    }
    Ok(event)
}

/// Adds text to the element's first text run (line ends normalised as XML 1.0 §2.11 says).
fn append_text(fragment: &mut Fragment, element: u32, text: &str, state: TextState) {
    // Short texts: a plain scan beats setting up a vectorised search.
    let span = if text.bytes().any(|b| b == b'\r') {
        fragment.push_str(&text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        fragment.push_str(text)
    };
    let node = &mut fragment.nodes[element as usize];
    node.text = match (state, node.text) {
        (TextState::InFirstText, Some(before)) => Some(Span {
            start: before.start,
            end: span.end,
        }),
        _ => Some(span),
    };
}
