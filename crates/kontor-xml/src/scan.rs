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
    let mut depth = 0usize;
    // Bytes of the text node being read: roxmltree joins adjacent text and CDATA into one node.
    let mut text_run = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| {
            ReadError::malformed(format!("{e} (at byte {})", reader.error_position()))
        })?;
        if let Event::Text(t) = &event {
            text_run = checked_size(text_run + t.len(), Limit::TextBytes, limits.text_bytes)?;
            continue;
        }
        if let Event::CData(t) = &event {
            text_run = checked_size(text_run + t.len(), Limit::TextBytes, limits.text_bytes)?;
            continue;
        }
        text_run = 0;
        match event {
            Event::Start(element) => {
                depth += 1;
                check_element(&element, depth, limits)?;
            }
            Event::Empty(element) => check_element(&element, depth + 1, limits)?,
            Event::End(element) => {
                checked_size(
                    element.name().as_ref().len(),
                    Limit::NameBytes,
                    limits.name_bytes,
                )?;
                depth = depth.saturating_sub(1);
            }
            Event::Comment(t) => {
                checked_size(t.len(), Limit::TextBytes, limits.text_bytes)?;
            }
            Event::PI(t) => {
                checked_size(t.len(), Limit::TextBytes, limits.text_bytes)?;
            }
            Event::DocType(_) => return Err(ReadError::DtdNotAllowed),
            Event::Eof => return Ok(()),
            Event::Decl(_) | Event::Text(_) | Event::CData(_) => {}
        }
    }
}

/// `size` if it is within `limit`.
fn checked_size(size: usize, what: Limit, limit: usize) -> Result<usize, ReadError> {
    if size > limit {
        return Err(ReadError::limit(what, limit));
    }
    Ok(size)
}

/// Checks one start (or empty-element) tag at nesting level `depth`.
fn check_element(element: &BytesStart<'_>, depth: usize, limits: &Limits) -> Result<(), ReadError> {
    checked_size(depth, Limit::Depth, limits.depth)?;
    checked_size(
        element.name().as_ref().len(),
        Limit::NameBytes,
        limits.name_bytes,
    )?;
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
    }
    Ok(())
}
