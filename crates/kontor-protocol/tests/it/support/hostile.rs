//! Hostile input shared by the integration tests of kontor-protocol and kontor-documents
//! (kontor-documents includes this file by path): mutations of valid samples for the
//! proptest fuzzers, and deep nesting for the depth-limit tests.

use proptest::prelude::*;

/// One edit of a valid sample: a byte-level change or a token-level one.
#[derive(Debug, Clone)]
pub enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
    Token(usize, usize),
    DuplicateRange(usize, usize),
}

/// Any one mutation.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Flip(p, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Insert(p, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>()).prop_map(|(t, o)| Mutation::Token(t, o)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::DuplicateRange(a, b)),
    ]
}

/// Applies `m` to `bytes`; a `Token` edit replaces one occurrence of a `tokens` pair's first
/// text with its second.
pub fn apply(bytes: &mut Vec<u8>, m: &Mutation, tokens: &[(&str, &str)]) {
    if bytes.is_empty() {
        return;
    }
    let n = bytes.len();
    match *m {
        Mutation::Flip(p, b) => bytes[p % n] ^= b | 1,
        Mutation::Insert(p, b) => bytes.insert(p % (n + 1), b),
        Mutation::Delete(p) => {
            bytes.remove(p % n);
        }
        Mutation::Truncate(p) => bytes.truncate(p % n),
        Mutation::Token(t, occurrence) => {
            let (from, to) = tokens[t % tokens.len()];
            let text = String::from_utf8_lossy(bytes).into_owned();
            let positions: Vec<usize> = text.match_indices(from).map(|(i, _)| i).collect();
            if !positions.is_empty() {
                let at = positions[occurrence % positions.len()];
                let mut edited = String::with_capacity(text.len() + to.len());
                edited.push_str(&text[..at]);
                edited.push_str(to);
                edited.push_str(&text[at + from.len()..]);
                *bytes = edited.into_bytes();
            }
        }
        Mutation::DuplicateRange(a, b) => {
            let (a, b) = (a % n, b % n);
            let (start, end) = (a.min(b), a.max(b));
            let chunk = bytes[start..end].to_vec();
            bytes.splice(end..end, chunk);
        }
    }
}

/// A copy of `sample` with `mutations` applied in order.
pub fn mutated(sample: &[u8], mutations: &[Mutation], tokens: &[(&str, &str)]) -> Vec<u8> {
    let mut bytes = sample.to_vec();
    for m in mutations {
        apply(&mut bytes, m, tokens);
    }
    bytes
}

/// `text` with `depth` levels of `element` opened and closed right after byte `at`.
pub fn nested_at(text: &str, at: usize, element: &str, depth: usize) -> Vec<u8> {
    format!(
        "{}{}{}{}",
        &text[..at],
        format!("<{element}>").repeat(depth),
        format!("</{element}>").repeat(depth),
        &text[at..]
    )
    .into_bytes()
}
