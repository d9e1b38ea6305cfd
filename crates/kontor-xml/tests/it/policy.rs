//! The pre-scan agrees with the tree builder: whatever `parse` accepts is within the depth
//! limit, every well-formed document within the limits is accepted, and no input panics.

use kontor_xml::roxmltree::{Document, Node, ParsingOptions};
use kontor_xml::{Limit, Limits, ReadError};
use proptest::prelude::*;

const LIMITS: Limits = Limits {
    depth: 4,
    ..Limits::DEFAULT
};

/// Content that only looks like nesting, and plain content.
const LEAVES: &[&str] = &[
    "text",
    " ",
    "&amp;&#x3c;",
    "<e/>",
    "<f y='/>' z=\">\"/>",
    "<!-- <a> -->",
    "<![CDATA[<a><a>]]>",
    "<?pi <a>?>",
];

/// Well-formed elements nested up to seven levels (some beyond the limit of four).
fn element() -> impl Strategy<Value = String> {
    let leaf = (0..LEAVES.len()).prop_map(|i| LEAVES[i].to_owned());
    leaf.prop_recursive(7, 64, 4, |inner| {
        (0..3usize, proptest::collection::vec(inner, 0..4)).prop_map(|(name, children)| {
            let (open, close) = [
                ("<a>", "</a>"),
                ("<b x=\"1\">", "</b>"),
                ("<p:c xmlns:p=\"urn:p\">", "</p:c>"),
            ][name];
            format!("{open}{}{close}", children.concat())
        })
    })
}

/// A document: one root element, sometimes broken by a small edit.
fn document() -> impl Strategy<Value = String> {
    (element(), proptest::option::of((any::<usize>(), 0..4usize))).prop_map(|(body, edit)| {
        let mut doc = format!("<r>{body}</r>");
        if let Some((at, kind)) = edit {
            let mut at = at % (doc.len() + 1);
            while !doc.is_char_boundary(at) {
                at -= 1;
            }
            match kind {
                0 => doc.insert_str(at, "<a>"),
                1 => doc.insert_str(at, "</a>"),
                2 => doc.truncate(at),
                _ => doc.insert(at, '<'),
            }
        }
        doc
    })
}

fn depth_of(node: Node<'_, '_>) -> usize {
    // Iterative on purpose: the checker must not be what overflows.
    node.descendants()
        .filter(Node::is_element)
        .map(|n| n.ancestors().filter(Node::is_element).count())
        .max()
        .unwrap_or(0)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn accepted_documents_are_within_the_depth_limit(doc in document()) {
        if let Ok(tree) = kontor_xml::parse(&doc, &LIMITS) {
            prop_assert!(depth_of(tree.root()) <= LIMITS.depth, "{doc}");
        }
    }

    #[test]
    fn well_formed_documents_are_accepted_exactly_when_within_the_depth_limit(doc in document()) {
        let options = ParsingOptions { allow_dtd: false, ..ParsingOptions::default() };
        let Ok(tree) = Document::parse_with_options(&doc, options) else {
            // Not well-formed: the policy must refuse it too.
            prop_assert!(kontor_xml::parse(&doc, &LIMITS).is_err(), "{doc}");
            return Ok(());
        };
        let result = kontor_xml::parse(&doc, &LIMITS);
        if depth_of(tree.root()) <= LIMITS.depth {
            prop_assert!(result.is_ok(), "{doc}: {result:?}");
        } else {
            prop_assert_eq!(
                result.unwrap_err(),
                ReadError::LimitExceeded { what: Limit::Depth, limit: 4 }
            );
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = kontor_xml::parse_bytes(&bytes, &LIMITS);
    }
}
