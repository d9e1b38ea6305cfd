//! Canonical XML 1.0, inclusive, without comments
//! (<http://www.w3.org/TR/2001/REC-xml-c14n-20010315>), as EBICS X002 requires.
//!
//! Three entry points:
//! - [`canonicalize_document`]: the whole document.
//! - [`canonicalize_authenticated`]: the document subset selected by the X002 reference
//!   `#xpointer(//*[@authenticate='true'])`. The XPointer selects elements; XML-DSig expands each
//!   to its subtree (attributes, namespace nodes, descendants). The canonical form of that node
//!   set is the concatenation, in document order and without separators, of the canonical form of
//!   each maximal selected subtree. Text between those subtrees is not in the node set and is not
//!   output. Each subtree apex carries all namespaces in scope at that point (inclusive C14N) and
//!   the `xml:*` attributes inherited from omitted ancestors.
//! - [`canonicalize_element`]: one element in context (how `ds:SignedInfo` is canonicalised):
//!   the element's subtree as a document subset, so the apex declares every namespace in scope,
//!   including the EBICS default namespace of the envelope.
//!
//! The input is read under the shared XML policy of `kontor-xml`: DTDs disallowed (EBICS
//! messages never carry one, and a DTD could change attribute values behind the signer's back),
//! nesting and sizes bounded. Line endings and attribute values are normalised by the parser as
//! XML 1.0 requires; comments are removed; CDATA sections become escaped text; empty elements
//! are written as start and end tag; no XML declaration is output.

use std::collections::BTreeMap;

use kontor_xml::{Limits, ReadError};
use roxmltree::{Document, Node, NodeType};

/// The namespace of the `xml:` prefix; never declared in canonical output.
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// The reading policy of everything canonicalised here (EBICS envelopes and their signed
/// parts). [`write_element`] recurses once per element level; the policy's depth limit is what
/// keeps that recursion far from the thread's stack limit on hostile input.
const LIMITS: Limits = Limits::DEFAULT;

/// Why a document could not be canonicalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum C14nError {
    /// The input is not readable under the XML policy: not well-formed, a DTD, or beyond the
    /// limits.
    #[error(transparent)]
    Malformed(#[from] ReadError),
    /// No element matched the requested selection.
    #[error("no element selected for canonicalisation: {0}")]
    NothingSelected(String),
}

/// Parses XML the way all canonicalisation in this crate does: the shared policy of
/// `kontor-xml` (no DTD, bounded nesting and node count).
pub(crate) fn parse(xml: &str) -> Result<Document<'_>, C14nError> {
    Ok(kontor_xml::parse(xml, &LIMITS)?)
}

/// Canonicalises a whole document (comments removed).
pub fn canonicalize_document(xml: &str) -> Result<Vec<u8>, C14nError> {
    let doc = parse(xml)?;
    Ok(document_bytes(&doc))
}

/// Canonicalises the X002 authenticated subset: every element with `authenticate="true"`
/// (unqualified attribute, exact value) with its subtree, concatenated in document order.
///
/// Returns [`C14nError::NothingSelected`] if no element is marked: signing or verifying an
/// empty subset would authenticate nothing.
pub fn canonicalize_authenticated(xml: &str) -> Result<Vec<u8>, C14nError> {
    let doc = parse(xml)?;
    authenticated_bytes(&doc)
}

/// Canonicalises the first element (document order) with the given namespace and local name,
/// as a document subset consisting of that element's subtree.
pub fn canonicalize_element(
    xml: &str,
    namespace: &str,
    local_name: &str,
) -> Result<Vec<u8>, C14nError> {
    let doc = parse(xml)?;
    let node = doc
        .descendants()
        .find(|n| {
            n.is_element()
                && n.tag_name().name() == local_name
                && n.tag_name().namespace().unwrap_or("") == namespace
        })
        .ok_or_else(|| C14nError::NothingSelected(format!("{{{namespace}}}{local_name}")))?;
    Ok(subtree_bytes(xml, node))
}

/// The canonical form of the whole parsed document.
pub(crate) fn document_bytes(doc: &Document<'_>) -> Vec<u8> {
    let text = doc.input_text();
    let mut out = Vec::new();
    let root = doc.root();
    let mut seen_element = false;
    for child in root.children() {
        match child.node_type() {
            NodeType::Element => {
                write_element(text, child, None, &mut out);
                seen_element = true;
            }
            NodeType::PI => {
                // Outside the document element, PIs are separated from it by a line feed.
                if seen_element {
                    out.push(b'\n');
                }
                write_pi(child, &mut out);
                if !seen_element {
                    out.push(b'\n');
                }
            }
            // Comments are removed; whitespace outside the document element is not output.
            _ => {}
        }
    }
    out
}

/// Whether an element is selected by `//*[@authenticate='true']`.
pub(crate) fn is_authenticated(node: Node<'_, '_>) -> bool {
    node.is_element()
        && node
            .attributes()
            .any(|a| a.namespace().is_none() && a.name() == "authenticate" && a.value() == "true")
}

/// The canonical form of the X002 authenticated subset of a parsed document.
pub(crate) fn authenticated_bytes(doc: &Document<'_>) -> Result<Vec<u8>, C14nError> {
    let text = doc.input_text();
    let mut out = Vec::new();
    let mut any = false;
    let mut stack = vec![doc.root()];
    // Depth-first in document order; a selected element's subtree is output whole, so the
    // walk does not descend into it (nested selections are already part of the output).
    while let Some(node) = stack.pop() {
        if is_authenticated(node) {
            any = true;
            out.extend_from_slice(&subtree_bytes(text, node));
            continue;
        }
        let children: Vec<_> = node.children().filter(|c| c.is_element()).collect();
        stack.extend(children.into_iter().rev());
    }
    if any {
        Ok(out)
    } else {
        Err(C14nError::NothingSelected(
            "no element has authenticate=\"true\"".to_owned(),
        ))
    }
}

/// The canonical form of one element's subtree as a document subset (the element is an apex:
/// it declares all namespaces in scope and inherits `xml:*` attributes of its ancestors).
pub(crate) fn subtree_bytes(text: &str, node: Node<'_, '_>) -> Vec<u8> {
    let mut out = Vec::new();
    write_element(text, node, None, &mut out);
    out
}

/// In-scope namespace bindings of an element, keyed by prefix (`""` = default namespace).
/// An undeclared default namespace (`xmlns=""`) is represented by an empty URI.
fn in_scope(node: Node<'_, '_>) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for ns in node.namespaces() {
        let prefix = ns.name().unwrap_or("");
        if prefix == "xml" || ns.uri() == XML_NS {
            continue;
        }
        map.insert(prefix.to_owned(), ns.uri().to_owned());
    }
    map
}

/// The qualified name of an element as written in the source (prefix preserved).
fn element_qname<'a>(text: &'a str, node: Node<'_, '_>) -> &'a str {
    let start = node.range().start + 1; // skip '<'
    let rest = text.get(start..).unwrap_or("");
    let end = rest
        .find(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>')
        .unwrap_or(rest.len());
    &rest[..end]
}

fn write_element(
    text: &str,
    node: Node<'_, '_>,
    parent_scope: Option<&BTreeMap<String, String>>,
    out: &mut Vec<u8>,
) {
    let qname = element_qname(text, node);
    let scope = in_scope(node);

    out.push(b'<');
    out.extend_from_slice(qname.as_bytes());

    // Namespace declarations: inclusive C14N renders a namespace node unless the nearest output
    // ancestor already has the same binding. Keys iterate sorted, default ("") first.
    for (prefix, uri) in &scope {
        let inherited = parent_scope.and_then(|p| p.get(prefix));
        let render = if prefix.is_empty() {
            match parent_scope {
                // Apex: an empty default namespace needs no declaration.
                None => !uri.is_empty(),
                Some(_) => inherited.map(String::as_str).unwrap_or("") != uri,
            }
        } else {
            inherited != Some(uri)
        };
        if render {
            if prefix.is_empty() {
                out.extend_from_slice(b" xmlns=\"");
            } else {
                out.extend_from_slice(b" xmlns:");
                out.extend_from_slice(prefix.as_bytes());
                out.extend_from_slice(b"=\"");
            }
            escape_attr(uri, out);
            out.push(b'"');
        }
    }
    // A default namespace in scope of the output parent that this element undeclares.
    if let Some(parent) = parent_scope {
        if !scope.contains_key("") && parent.get("").is_some_and(|u| !u.is_empty()) {
            out.extend_from_slice(b" xmlns=\"\"");
        }
    }

    // Attributes sorted by (namespace URI, local name); unqualified attributes have an empty URI.
    let mut attrs: Vec<(String, String, String, String)> = node
        .attributes()
        .map(|a| {
            let qname = text
                .get(a.range_qname())
                .map(str::to_owned)
                .unwrap_or_else(|| a.name().to_owned());
            (
                a.namespace().unwrap_or("").to_owned(),
                a.name().to_owned(),
                qname,
                a.value().to_owned(),
            )
        })
        .collect();
    if parent_scope.is_none() {
        // Document subset apex: xml:* attributes of omitted ancestors are inherited, nearest
        // ancestor first, unless the element itself carries one with the same name.
        for ancestor in node.ancestors().skip(1).filter(|n| n.is_element()) {
            for a in ancestor.attributes() {
                if a.namespace() == Some(XML_NS)
                    && !attrs
                        .iter()
                        .any(|(ns, local, _, _)| ns == XML_NS && local == a.name())
                {
                    attrs.push((
                        XML_NS.to_owned(),
                        a.name().to_owned(),
                        format!("xml:{}", a.name()),
                        a.value().to_owned(),
                    ));
                }
            }
        }
    }
    attrs.sort_by(|x, y| (x.0.as_str(), x.1.as_str()).cmp(&(y.0.as_str(), y.1.as_str())));
    for (_, _, qname, value) in &attrs {
        out.push(b' ');
        out.extend_from_slice(qname.as_bytes());
        out.extend_from_slice(b"=\"");
        escape_attr(value, out);
        out.push(b'"');
    }
    out.push(b'>');

    for child in node.children() {
        match child.node_type() {
            NodeType::Element => write_element(text, child, Some(&scope), out),
            NodeType::Text => escape_text(child.text().unwrap_or(""), out),
            NodeType::PI => write_pi(child, out),
            _ => {}
        }
    }

    out.extend_from_slice(b"</");
    out.extend_from_slice(qname.as_bytes());
    out.push(b'>');
}

fn write_pi(node: Node<'_, '_>, out: &mut Vec<u8>) {
    if let Some(pi) = node.pi() {
        out.extend_from_slice(b"<?");
        out.extend_from_slice(pi.target.as_bytes());
        if let Some(value) = pi.value.filter(|v| !v.is_empty()) {
            out.push(b' ');
            out.extend_from_slice(value.as_bytes());
        }
        out.extend_from_slice(b"?>");
    }
}

/// Text node escaping: `&`, `<`, `>` and carriage return.
const TEXT_REFERENCES: &[(char, &str)] = &[
    ('&', "&amp;"),
    ('<', "&lt;"),
    ('>', "&gt;"),
    ('\r', "&#xD;"),
];

/// Attribute value escaping: `&`, `<`, `"`, tab, line feed and carriage return.
const ATTRIBUTE_REFERENCES: &[(char, &str)] = &[
    ('&', "&amp;"),
    ('<', "&lt;"),
    ('"', "&quot;"),
    ('\t', "&#x9;"),
    ('\n', "&#xA;"),
    ('\r', "&#xD;"),
];

fn escape_text(s: &str, out: &mut Vec<u8>) {
    escape(s, out, TEXT_REFERENCES)
}

fn escape_attr(s: &str, out: &mut Vec<u8>) {
    escape(s, out, ATTRIBUTE_REFERENCES)
}

/// Writes `s` as UTF-8, each character that `references` lists replaced by its reference.
fn escape(s: &str, out: &mut Vec<u8>, references: &[(char, &str)]) {
    for c in s.chars() {
        match references.iter().find(|(special, _)| *special == c) {
            Some((_, reference)) => out.extend_from_slice(reference.as_bytes()),
            None => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c14n(xml: &str) -> String {
        String::from_utf8(canonicalize_document(xml).expect("canonicalises")).expect("utf-8")
    }

    fn auth(xml: &str) -> String {
        String::from_utf8(canonicalize_authenticated(xml).expect("canonicalises")).expect("utf-8")
    }

    /// The canonical form of whole documents, case by case (a failure names each case).
    #[test]
    fn documents_take_their_canonical_form() {
        let cases: &[(&str, &str, &str)] = &[
            ("empty element becomes start and end tag", "<a/>", "<a></a>"),
            (
                "xml declaration and whitespace outside root are dropped",
                "<?xml version=\"1.0\"?>\n\n<a>x</a>\n",
                "<a>x</a>",
            ),
            (
                "comments are removed everywhere",
                "<!--c--><a><!-- in -->x<b/><!--y--></a><!--z-->",
                "<a>x<b></b></a>",
            ),
            (
                "pis outside root are separated by line feeds",
                "<?p1 d?><a/><?p2?>",
                "<?p1 d?>\n<a></a>\n<?p2?>",
            ),
            // Unqualified first (empty URI), then http://b, then http://c.
            (
                "attributes are sorted by namespace uri then local name",
                r#"<e xmlns:b="http://b" xmlns:a="http://c" z="1" a:attr="2" b:attr="3" y="4"/>"#,
                r#"<e xmlns:a="http://c" xmlns:b="http://b" y="4" z="1" b:attr="3" a:attr="2"></e>"#,
            ),
            (
                "namespace declarations come before attributes default first",
                r#"<e b="1" xmlns:z="urn:z" xmlns="urn:d" xmlns:a="urn:a"/>"#,
                r#"<e xmlns="urn:d" xmlns:a="urn:a" xmlns:z="urn:z" b="1"></e>"#,
            ),
            (
                "attribute values escape specials and whitespace chars",
                "<e a=\"&amp;&lt;&gt;&quot;&#9;&#10;&#13;'\"/>",
                "<e a=\"&amp;&lt;>&quot;&#x9;&#xA;&#xD;'\"></e>",
            ),
            (
                "literal whitespace in attribute values is normalised to spaces",
                "<e a=\"x\ty\nz\"/>",
                "<e a=\"x y z\"></e>",
            ),
            (
                "text escapes amp lt gt and cr only",
                "<e>&amp; &lt; &gt; \" ' &#13; &#x41;</e>",
                "<e>&amp; &lt; &gt; \" ' &#xD; A</e>",
            ),
            (
                "line endings are normalised to line feed",
                "<e>a\r\nb\rc</e>",
                "<e>a\nb\nc</e>",
            ),
            (
                "cdata becomes escaped text",
                "<e><![CDATA[<x> & y]]></e>",
                "<e>&lt;x&gt; &amp; y</e>",
            ),
            (
                "whitespace inside the document element is preserved",
                "<a>\n  <b> x </b>\n</a>",
                "<a>\n  <b> x </b>\n</a>",
            ),
            (
                "superfluous namespace redeclarations are dropped",
                r#"<a xmlns="urn:x" xmlns:p="urn:p"><b xmlns="urn:x" xmlns:p="urn:p"/></a>"#,
                r#"<a xmlns="urn:x" xmlns:p="urn:p"><b></b></a>"#,
            ),
            (
                "nested redeclaration with a different uri is kept",
                r#"<a xmlns:p="urn:1"><p:b xmlns:p="urn:2"><p:c xmlns:p="urn:1"/></p:b></a>"#,
                r#"<a xmlns:p="urn:1"><p:b xmlns:p="urn:2"><p:c xmlns:p="urn:1"></p:c></p:b></a>"#,
            ),
            (
                "undeclaring the default namespace is rendered once",
                r#"<a xmlns="urn:d"><b xmlns=""><c xmlns=""/></b></a>"#,
                r#"<a xmlns="urn:d"><b xmlns=""><c></c></b></a>"#,
            ),
            (
                "empty default namespace on root is not rendered",
                r#"<a xmlns=""><b/></a>"#,
                "<a><b></b></a>",
            ),
            (
                "unused namespace declarations are kept in inclusive c14n",
                r#"<a xmlns:unused="urn:u"><b/></a>"#,
                r#"<a xmlns:unused="urn:u"><b></b></a>"#,
            ),
            (
                "prefixes are preserved",
                r#"<x:a xmlns:x="urn:x"><x:b/></x:a>"#,
                r#"<x:a xmlns:x="urn:x"><x:b></x:b></x:a>"#,
            ),
        ];
        let wrong: Vec<String> = cases
            .iter()
            .filter_map(|(case, xml, expected)| {
                let actual = c14n(xml);
                (actual != *expected).then(|| format!("{case}: {actual:?}, expected {expected:?}"))
            })
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn dtd_is_rejected() {
        let err = canonicalize_document("<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>").unwrap_err();
        assert_eq!(err, C14nError::Malformed(ReadError::DtdNotAllowed));
    }

    #[test]
    fn deeply_nested_input_is_refused_without_exhausting_the_stack() {
        let depth = 100_000;
        let xml = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
        for result in [
            canonicalize_document(&xml),
            canonicalize_authenticated(&xml),
            canonicalize_element(&xml, "", "a"),
        ] {
            assert_eq!(
                result,
                Err(C14nError::Malformed(ReadError::LimitExceeded {
                    what: kontor_xml::Limit::Depth,
                    limit: LIMITS.depth as u64
                }))
            );
        }
        // At the limit, the recursive serialiser runs through all levels.
        let max = LIMITS.depth;
        let ok = format!(
            r#"<a authenticate="true">{}{}</a>"#,
            "<a>".repeat(max - 1),
            "</a>".repeat(max - 1)
        );
        assert_eq!(canonicalize_document(&ok).unwrap(), ok.as_bytes());
        assert!(canonicalize_authenticated(&ok).is_ok());
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for bad in ["", "<a>", "<a></b>", "<a x='1' x='2'/>", "<p:a/>", "text"] {
            assert!(canonicalize_document(bad).is_err(), "{bad:?}");
        }
    }

    /// The examples of W3C C14N 1.0, section 3, without their DTDs (they are not processed
    /// here), case by case (a failure names each section).
    #[test]
    fn w3c_examples_take_their_canonical_form() {
        let whitespace_in_content = "<doc>\n   <clean>   </clean>\n   <dirty>   A   B   </dirty>\n   <mixed>\n      A\n      <clean>   </clean>\n      B\n      <dirty>   A   B   </dirty>\n      C\n   </mixed>\n</doc>";
        let cases: &[(&str, &str, &str)] = &[
            (
                "3.1 PIs, comments and outside of the document element",
                "<?xml version=\"1.0\"?>\n\n<?xml-stylesheet   href=\"doc.xsl\"\n   type=\"text/xsl\"   ?>\n\n<doc>Hello, world!<!-- Comment 1 --></doc>\n\n<?pi-without-data     ?>\n\n<!-- Comment 2 -->\n\n<!-- Comment 3 -->",
                "<?xml-stylesheet href=\"doc.xsl\"\n   type=\"text/xsl\"   ?>\n<doc>Hello, world!</doc>\n<?pi-without-data?>",
            ),
            (
                "3.2 whitespace in document content",
                whitespace_in_content,
                whitespace_in_content,
            ),
            // The DTD-defaulted attributes are removed from the expected output.
            (
                "3.3 start and end tags",
                r#"<doc>
   <e1   />
   <e2   ></e2>
   <e3   name = "elem3"   id="elem3"   />
   <e4   name="elem4"   id="elem4"   ></e4>
   <e5 a:attr="out" b:attr="sorted" attr2="all" attr="I'm"
      xmlns:b="http://www.ietf.org"
      xmlns:a="http://www.w3.org"
      xmlns="http://example.org"/>
   <e6 xmlns="" xmlns:a="http://www.w3.org">
      <e7 xmlns="http://www.ietf.org">
         <e8 xmlns="" xmlns:a="http://www.w3.org">
            <e9 xmlns="" xmlns:a="http://www.ietf.org"/>
         </e8>
      </e7>
   </e6>
</doc>"#,
                r#"<doc>
   <e1></e1>
   <e2></e2>
   <e3 id="elem3" name="elem3"></e3>
   <e4 id="elem4" name="elem4"></e4>
   <e5 xmlns="http://example.org" xmlns:a="http://www.w3.org" xmlns:b="http://www.ietf.org" attr="I'm" attr2="all" b:attr="sorted" a:attr="out"></e5>
   <e6 xmlns:a="http://www.w3.org">
      <e7 xmlns="http://www.ietf.org">
         <e8 xmlns="">
            <e9 xmlns:a="http://www.ietf.org"></e9>
         </e8>
      </e7>
   </e6>
</doc>"#,
            ),
            // Without the DTD, so no attribute-type normalisation of the ID/NMTOKENS attributes.
            (
                "3.4 character modifications and character references",
                "<doc>\n   <text>First line&#x0d;&#10;Second line</text>\n   <value>&#x32;</value>\n   <compute><![CDATA[value>\"0\" && value<\"10\" ?\"valid\":\"error\"]]></compute>\n   <compute expr='value>\"0\" &amp;&amp; value&lt;\"10\" ?\"valid\":\"error\"'>valid</compute>\n   <norm attr=' &apos;   &#x20;&#13;&#xa;&#9;   &apos; '/>\n</doc>",
                "<doc>\n   <text>First line&#xD;\nSecond line</text>\n   <value>2</value>\n   <compute>value&gt;\"0\" &amp;&amp; value&lt;\"10\" ?\"valid\":\"error\"</compute>\n   <compute expr=\"value>&quot;0&quot; &amp;&amp; value&lt;&quot;10&quot; ?&quot;valid&quot;:&quot;error&quot;\">valid</compute>\n   <norm attr=\" '    &#xD;&#xA;&#x9;   ' \"></norm>\n</doc>",
            ),
            // Characters pass through as UTF-8.
            ("3.6 UTF-8 encoding", "<doc>&#169;</doc>", "<doc>\u{a9}</doc>"),
        ];
        let wrong: Vec<String> = cases
            .iter()
            .filter_map(|(section, xml, expected)| {
                let actual = c14n(xml);
                (actual != *expected)
                    .then(|| format!("{section}: {actual:?}, expected {expected:?}"))
            })
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn authenticated_subset_concatenates_marked_subtrees_in_document_order() {
        let xml = r#"<r xmlns="urn:e" xmlns:ds="urn:ds"><h authenticate="true"><x>1</x></h>
  <s/>
  <b><m authenticate="true">2</m><n>3</n><o authenticate="true"/></b></r>"#;
        assert_eq!(
            auth(xml),
            concat!(
                r#"<h xmlns="urn:e" xmlns:ds="urn:ds" authenticate="true"><x>1</x></h>"#,
                r#"<m xmlns="urn:e" xmlns:ds="urn:ds" authenticate="true">2</m>"#,
                r#"<o xmlns="urn:e" xmlns:ds="urn:ds" authenticate="true"></o>"#
            )
        );
    }

    #[test]
    fn nested_marked_elements_are_output_once_within_their_ancestor() {
        let xml = r#"<r><a authenticate="true"><b authenticate="true">x</b></a></r>"#;
        assert_eq!(
            auth(xml),
            r#"<a authenticate="true"><b authenticate="true">x</b></a>"#
        );
    }

    #[test]
    fn authenticate_must_be_exactly_true_and_unqualified() {
        let xml = r#"<r xmlns:p="urn:p"><a authenticate="1"/><b authenticate=" true"/><c p:authenticate="true"/><d authenticate="true"/></r>"#;
        assert_eq!(auth(xml), r#"<d xmlns:p="urn:p" authenticate="true"></d>"#);
    }

    #[test]
    fn subset_apex_inherits_xml_attributes_of_omitted_ancestors() {
        let xml = r#"<r xml:lang="de" xml:space="preserve"><a xml:lang="en"><b authenticate="true"/></a></r>"#;
        assert_eq!(
            auth(xml),
            r#"<b authenticate="true" xml:lang="en" xml:space="preserve"></b>"#
        );
    }

    #[test]
    fn nothing_marked_is_an_error() {
        assert!(matches!(
            canonicalize_authenticated("<r><a/></r>"),
            Err(C14nError::NothingSelected(_))
        ));
    }

    #[test]
    fn element_in_context_declares_all_in_scope_namespaces() {
        let xml = r#"<r xmlns="urn:e" xmlns:ds="urn:ds"><x/><ds:SignedInfo><ds:A Algorithm="a"/></ds:SignedInfo></r>"#;
        let out = canonicalize_element(xml, "urn:ds", "SignedInfo").expect("found");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            r#"<ds:SignedInfo xmlns="urn:e" xmlns:ds="urn:ds"><ds:A Algorithm="a"></ds:A></ds:SignedInfo>"#
        );
    }

    #[test]
    fn prefix_choice_changes_the_canonical_form() {
        let a = canonicalize_document(r#"<p:a xmlns:p="urn:x"/>"#).expect("ok");
        let b = canonicalize_document(r#"<q:a xmlns:q="urn:x"/>"#).expect("ok");
        assert_ne!(a, b, "C14N 1.0 preserves prefixes");
    }

    #[test]
    fn attribute_quoting_and_order_in_the_source_do_not_matter() {
        let a = canonicalize_document(r#"<a y='2'  x="1" ><b/></a>"#).expect("ok");
        let b = canonicalize_document(r#"<a x="1" y="2"><b></b></a>"#).expect("ok");
        assert_eq!(a, b);
    }
}
