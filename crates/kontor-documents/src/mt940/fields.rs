//! MT940 lines to fields, shared by the whole-file parser and the streaming reader: a field
//! (`:TAG:value`) continues on the following lines that carry no tag, so it is complete only
//! when the next field, the statement's end or the end of the input shows up.

/// A complete field, or the end of a statement (`-`).
pub(super) enum Token<'a> {
    Field {
        line: usize,
        tag: &'a str,
        value: &'a str,
    },
    End,
}

/// What one line of the file is.
enum Line<'a> {
    /// Blank, or a SWIFT envelope line without text block.
    Skip,
    /// The end of a statement (`-`, or `-}` closing the envelope).
    End,
    Field {
        tag: &'a str,
        value: &'a str,
    },
    /// More of the previous field's value.
    Continuation(&'a str),
}

/// Assembles fields line by line. The field being read lives in buffers that are reused for
/// the next one, so reading allocates nothing per field (this is the parsers' hot loop).
#[derive(Debug, Default)]
pub(super) struct Fields {
    /// Line number of the field being read; `None` when none is.
    line: Option<usize>,
    tag: String,
    /// The value; continuation lines are joined with `\n`.
    value: String,
}

impl Fields {
    /// Reads line `number` (1-based, without its `\n`), handing `act` the field it completes
    /// and, when it is one, the statement's end.
    pub(super) fn line<E>(
        &mut self,
        number: usize,
        raw_line: &str,
        act: &mut impl FnMut(Token<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        match classify(raw_line) {
            Line::Skip => Ok(()),
            Line::Continuation(text) => {
                // Text after an end or before the first field belongs to nothing.
                if self.line.is_some() {
                    self.value.push('\n');
                    self.value.push_str(text);
                }
                Ok(())
            }
            Line::End => {
                self.flush(act)?;
                act(Token::End)
            }
            Line::Field { tag, value } => {
                self.flush(act)?;
                self.line = Some(number);
                self.tag.clear();
                self.tag.push_str(tag);
                self.value.clear();
                self.value.push_str(value);
                Ok(())
            }
        }
    }

    /// Hands `act` the field being read, if any: the input ended.
    pub(super) fn flush<E>(
        &mut self,
        act: &mut impl FnMut(Token<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        match self.line.take() {
            Some(line) => act(Token::Field {
                line,
                tag: &self.tag,
                value: &self.value,
            }),
            None => Ok(()),
        }
    }
}

/// Classifies one line (without its `\n`).
fn classify(raw_line: &str) -> Line<'_> {
    let mut line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
    // SWIFT envelope: "{1:...}{2:...}{4:" before the text block, "-}" after it.
    if line.starts_with('{') {
        match line.find("{4:") {
            Some(pos) => line = &line[pos + 3..],
            None => return Line::Skip,
        }
    }
    let trimmed = line.trim_end();
    if trimmed.is_empty() {
        return Line::Skip;
    }
    if trimmed == "-" || trimmed.starts_with("-}") {
        return Line::End;
    }
    // The value keeps trailing spaces: in field 86 they can belong to a subfield.
    match split_tag(line) {
        Some((tag, value)) => Line::Field { tag, value },
        None => Line::Continuation(line),
    }
}

/// `:TAG:value` with TAG = two digits and an optional letter.
fn split_tag(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix(':')?;
    let end = rest.find(':')?;
    let tag = &rest[..end];
    let b = tag.as_bytes();
    let ok = (b.len() == 2 || b.len() == 3)
        && b[0].is_ascii_digit()
        && b[1].is_ascii_digit()
        && (b.len() == 2 || b[2].is_ascii_uppercase());
    ok.then(|| (tag, &rest[end + 1..]))
}
