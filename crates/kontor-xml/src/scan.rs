//! The streaming pre-scan: checks nesting and sizes before any tree is built.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::error::ReadError;
use crate::limits::{Limit, Limits};

/// Checks `text` against `limits` in one linear pass without recursion (quick-xml's streaming
/// reader), so that a recursive parser run afterwards is bounded by [`Limits::depth`].
///
/// Refuses a DTD and anything quick-xml finds ill-formed (mismatched end tags included). The
/// node limit is left to the tree builder, which counts nodes exactly as it stores them.
pub fn scan(text: &str, limits: &Limits) -> Result<(), ReadError> {
    let mut reader = Reader::from_str(text);
    let mut policy = PolicyCheck::new(limits);
    policy.count_nodes = false;
    loop {
        let event = reader.read_event().map_err(|e| {
            ReadError::malformed(format!("{e} (at byte {})", reader.error_position()))
        })?;
        if policy.check(&event)? {
            return Ok(());
        }
    }
}

/// The policy of [`scan`], one event at a time, for readers that stream a document instead of
/// building a tree: nesting, names, attributes, text sizes and the node count (elements, text
/// runs, comments, processing instructions) are checked as the events pass; a DTD is refused.
///
/// The reader must check end tags (quick-xml's default), so that depth is counted right.
#[derive(Debug, Clone)]
pub struct PolicyCheck<'l> {
    limits: &'l Limits,
    depth: usize,
    /// Bytes of the text node being read: roxmltree joins adjacent text and CDATA into one node.
    text_run: usize,
    in_text: bool,
    nodes: u64,
    count_nodes: bool,
}

impl<'l> PolicyCheck<'l> {
    pub fn new(limits: &'l Limits) -> Self {
        Self {
            limits,
            depth: 0,
            text_run: 0,
            in_text: false,
            nodes: 0,
            count_nodes: true,
        }
    }

    /// Checks the next event; `Ok(true)` at the end of the document. Inlined: streaming
    /// readers call it once per event.
    #[inline(always)]
    pub fn check(&mut self, event: &Event<'_>) -> Result<bool, ReadError> {
        let limits = self.limits;
        let text_len = match event {
            Event::Text(t) => Some(t.len()),
            Event::CData(t) => Some(t.len()),
            _ => None,
        };
        if let Some(len) = text_len {
            if !self.in_text {
                self.in_text = true;
                self.count_node()?;
            }
            self.text_run = checked_size(self.text_run + len, Limit::TextBytes, limits.text_bytes)?;
            return Ok(false);
        }
        self.text_run = 0;
        self.in_text = false;
        match event {
            Event::Start(element) => {
                self.depth += 1;
                self.count_node()?;
                check_element(element, self.depth, limits)?;
            }
            Event::Empty(element) => {
                self.count_node()?;
                check_element(element, self.depth + 1, limits)?;
            }
            Event::End(element) => {
                checked_size(
                    element.name().as_ref().len(),
                    Limit::NameBytes,
                    limits.name_bytes,
                )?;
                self.depth = self.depth.saturating_sub(1);
            }
            Event::Comment(t) => {
                self.count_node()?;
                checked_size(t.len(), Limit::TextBytes, limits.text_bytes)?;
            }
            Event::PI(t) => {
                self.count_node()?;
                checked_size(t.len(), Limit::TextBytes, limits.text_bytes)?;
            }
            Event::DocType(_) => return Err(ReadError::DtdNotAllowed),
            Event::Eof => return Ok(true),
            Event::Decl(_) | Event::Text(_) | Event::CData(_) => {}
        }
        Ok(false)
    }

    /// Current nesting depth (the root element is level 1).
    #[inline]
    pub fn depth(&self) -> usize {
        self.depth
    }

    fn count_node(&mut self) -> Result<(), ReadError> {
        if self.count_nodes {
            self.nodes += 1;
            if self.nodes > u64::from(self.limits.nodes) {
                return Err(ReadError::limit(Limit::Nodes, self.limits.nodes as usize));
            }
        }
        Ok(())
    }
}

/// `size` if it is within `limit`.
fn checked_size(size: usize, what: Limit, limit: usize) -> Result<usize, ReadError> {
    if size > limit {
        return Err(ReadError::limit(what, limit));
    }
    Ok(size)
}

/// Whether a start tag has anything after its name but white space, i.e. whether quick-xml's
/// attribute iterator would yield anything. Most ISO 20022 elements have no attributes, and
/// this test is much cheaper than starting the iterator for each of them.
#[inline]
pub fn has_attributes(element: &BytesStart<'_>) -> bool {
    // The white space of XML 1.0 (`S`), as quick-xml's attribute iterator skips it.
    !element
        .attributes_raw()
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// Checks one start (or empty-element) tag at nesting level `depth`.
fn check_element(element: &BytesStart<'_>, depth: usize, limits: &Limits) -> Result<(), ReadError> {
    checked_size(depth, Limit::Depth, limits.depth)?;
    checked_size(
        element.name().as_ref().len(),
        Limit::NameBytes,
        limits.name_bytes,
    )?;
    if !has_attributes(element) {
        return Ok(());
    }
    let mut count = 0usize;
    // Counting before quick-xml's duplicate check keeps that check (quadratic in the number of
    // attributes) bounded by the attribute limit.
    for attribute in element.attributes() {
        count = checked_size(count + 1, Limit::Attributes, limits.attributes)?;
        let attribute = attribute.map_err(ReadError::malformed)?;
        checked_size(
            attribute.key.as_ref().len(),
            Limit::NameBytes,
            limits.name_bytes,
        )?;
        checked_size(
            attribute.value.len(),
            Limit::AttributeBytes,
            limits.attribute_bytes,
        )?;
        // Namespaces in XML 1.0, §3 (No Prefix Undeclaring): a prefix cannot be bound to the
        // empty name; only XML 1.1 namespaces allow `xmlns:p=""`.
        if attribute.key.as_ref().starts_with(b"xmlns:") && attribute.value.is_empty() {
            return Err(ReadError::malformed(format!(
                "namespace prefix {:?} undeclared (xmlns:p=\"\" is not allowed)",
                String::from_utf8_lossy(&attribute.key.as_ref()[6..])
            )));
        }
    }
    Ok(())
}
