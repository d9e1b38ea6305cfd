//! An append-only, indenting XML writer over a `String`.
//!
//! Generation of large statements must be fast, so this writes text directly instead of building a
//! tree. Text is escaped with `quick_xml::escape`; characters that XML 1.0 forbids (most C0
//! controls) are replaced by U+FFFD so the output is always well-formed.

use std::fmt::Write as _;

use quick_xml::escape::{escape, partial_escape};

pub(crate) struct XmlWriter {
    out: String,
    stack: Vec<&'static str>,
}

impl XmlWriter {
    /// Starts a document with the XML declaration.
    pub(crate) fn new(capacity: usize) -> XmlWriter {
        let mut out = String::with_capacity(capacity);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        XmlWriter {
            out,
            stack: Vec::new(),
        }
    }

    fn indent(&mut self) {
        for _ in 0..self.stack.len() {
            self.out.push_str("  ");
        }
    }

    /// Writes the indented start tag `<name attr="value"...>`.
    fn start_tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attrs {
            let _ = write!(self.out, " {key}=\"{}\"", escape(clean(value).as_str()));
        }
        self.out.push('>');
    }

    /// Opens `<name attr="value"...>` on its own line.
    pub(crate) fn open_with(&mut self, name: &'static str, attrs: &[(&str, &str)]) {
        self.start_tag(name, attrs);
        self.out.push('\n');
        self.stack.push(name);
    }

    pub(crate) fn open(&mut self, name: &'static str) {
        self.open_with(name, &[]);
    }

    /// Closes the innermost open element.
    pub(crate) fn close(&mut self) {
        if let Some(name) = self.stack.pop() {
            self.indent();
            self.out.push_str("</");
            self.out.push_str(name);
            self.out.push_str(">\n");
        }
    }

    /// Writes `<name attrs>text</name>`.
    pub(crate) fn leaf_with(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.start_tag(name, attrs);
        let cleaned = clean(text);
        self.out.push_str(&partial_escape(cleaned.as_str()));
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    pub(crate) fn leaf(&mut self, name: &str, text: &str) {
        self.leaf_with(name, &[], text);
    }

    /// Closes every open element and returns the document.
    pub(crate) fn finish(mut self) -> String {
        while !self.stack.is_empty() {
            self.close();
        }
        self.out
    }
}

/// Replaces characters not allowed in XML 1.0 documents.
fn clean(text: &str) -> CleanText<'_> {
    if text.chars().all(is_xml_char) {
        CleanText::Borrowed(text)
    } else {
        CleanText::Owned(
            text.chars()
                .map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' })
                .collect(),
        )
    }
}

pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

enum CleanText<'a> {
    Borrowed(&'a str),
    Owned(String),
}

impl CleanText<'_> {
    fn as_str(&self) -> &str {
        match self {
            CleanText::Borrowed(s) => s,
            CleanText::Owned(s) => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes_are_escaped_and_control_characters_replaced() {
        let mut w = XmlWriter::new(0);
        w.open_with("Doc", &[("a", "x\"<y")]);
        w.leaf("Nm", "Müller & Söhne <GmbH>\u{1}");
        let xml = w.finish();
        assert!(xml.contains("<Doc a=\"x&quot;&lt;y\">"));
        assert!(xml.contains("<Nm>Müller &amp; Söhne &lt;GmbH&gt;\u{FFFD}</Nm>"));
        assert!(xml.trim_end().ends_with("</Doc>"));
        assert!(roxmltree::Document::parse(&xml).is_ok());
    }
}
