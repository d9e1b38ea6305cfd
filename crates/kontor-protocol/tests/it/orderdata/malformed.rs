//! Hostile and damaged input never panics a parser: it ends in an `OrderDataError` (or, when
//! the damage leaves a valid document, in a model that survives being written and re-read).

use std::sync::OnceLock;

use proptest::prelude::*;

use crate::support::orderdata::{corpus, parse_with_every_parser};

fn valid_inputs() -> &'static [Vec<u8>] {
    static CORPUS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CORPUS.get_or_init(corpus)
}

/// Values that probe the lexical checks: empty, signs, overflow, wrong types, XML specials.
const TRICKY: &[&str] = &[
    "",
    " ",
    "0",
    "-1",
    "+7",
    "1e3",
    "99999999999999999999999999999",
    "1.00001",
    "true",
    "yes",
    "A004",
    "H003",
    "ZZZ",
    "a b c",
    "!!!",
    "====",
    "AQ",
    "2024-13-45T25:61:00Z",
    "2024-05-17",
    "&amp;&lt;",
    "\u{1F4B6}",
    "\u{FFFD}\u{FEFF}",
];

#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the text or an attribute value of the n-th node.
    ReplaceValue { node: usize, value: String },
    /// Drop the n-th element with its subtree.
    RemoveElement { node: usize },
    /// Duplicate the n-th element in place.
    DuplicateElement { node: usize },
    /// Rename the n-th element.
    RenameElement { node: usize, name: String },
}

fn value_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(TRICKY).prop_map(str::to_owned),
        "[ -~]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(12).collect()),
    ]
}

fn mutation_strategy() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), value_strategy())
            .prop_map(|(node, value)| Mutation::ReplaceValue { node, value }),
        any::<usize>().prop_map(|node| Mutation::RemoveElement { node }),
        any::<usize>().prop_map(|node| Mutation::DuplicateElement { node }),
        (any::<usize>(), "[A-Za-z]{1,8}")
            .prop_map(|(node, name)| Mutation::RenameElement { node, name }),
    ]
}

fn escape(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Applies a structural mutation using the byte ranges roxmltree reports for each node.
fn mutate(xml: &str, mutation: &Mutation) -> String {
    let Ok(doc) = roxmltree::Document::parse(xml) else {
        return xml.to_owned();
    };
    let elements: Vec<_> = doc.descendants().filter(|n| n.is_element()).collect();
    if elements.is_empty() {
        return xml.to_owned();
    }
    let pick = |n: usize| elements[n % elements.len()];
    let splice = |range: std::ops::Range<usize>, with: &str| {
        format!("{}{}{}", &xml[..range.start], with, &xml[range.end..])
    };
    match mutation {
        Mutation::ReplaceValue { node, value } => {
            let el = pick(*node);
            if let Some(attr) = el.attributes().next() {
                if node % 2 == 0 {
                    return splice(attr.range_value(), &escape(value));
                }
            }
            match el.children().find(|c| c.is_text()) {
                Some(text) => splice(text.range(), &escape(value)),
                None => xml.to_owned(),
            }
        }
        Mutation::RemoveElement { node } => splice(pick(*node).range(), ""),
        Mutation::DuplicateElement { node } => {
            let range = pick(*node).range();
            let copy = &xml[range.clone()];
            splice(range.end..range.end, copy)
        }
        Mutation::RenameElement { node, name } => {
            let el = pick(*node);
            let range = el.range();
            let original = &xml[range.clone()];
            let local = el.tag_name().name();
            let renamed = original.replacen(local, name, 1);
            let renamed = match renamed.rfind(local) {
                Some(pos) if original.ends_with('>') && !original.ends_with("/>") => {
                    format!(
                        "{}{}{}",
                        &renamed[..pos],
                        name,
                        &renamed[pos + local.len()..]
                    )
                }
                _ => renamed,
            };
            splice(range, &renamed)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn structurally_damaged_documents_never_panic(
        doc in 0usize..1000,
        mutations in prop::collection::vec(mutation_strategy(), 1..4),
    ) {
        let inputs = valid_inputs();
        let mut xml = String::from_utf8(inputs[doc % inputs.len()].clone()).unwrap();
        for m in &mutations {
            xml = mutate(&xml, m);
        }
        parse_with_every_parser(xml.as_bytes());
    }

    #[test]
    fn byte_level_corruption_never_panics(
        doc in 0usize..1000,
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..8),
        cut in prop::option::of(any::<usize>()),
    ) {
        let inputs = valid_inputs();
        let mut bytes = inputs[doc % inputs.len()].clone();
        for (pos, byte, op) in edits {
            if bytes.is_empty() {
                break;
            }
            let pos = pos % bytes.len();
            match op {
                0 => bytes[pos] = byte,
                1 => { bytes.remove(pos); }
                _ => bytes.insert(pos, byte),
            }
        }
        if let Some(cut) = cut {
            let len = bytes.len();
            bytes.truncate(cut % (len + 1));
        }
        parse_with_every_parser(&bytes);
    }

    #[test]
    fn arbitrary_bytes_are_rejected_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        prop_assert_eq!(parse_with_every_parser(&bytes), 0);
    }
}

#[test]
fn every_valid_input_is_accepted_by_exactly_one_parser() {
    // The corpus the mutations start from must itself be meaningful input.
    for xml in valid_inputs() {
        assert_eq!(
            parse_with_every_parser(xml),
            1,
            "{}",
            String::from_utf8_lossy(xml)
        );
    }
}
