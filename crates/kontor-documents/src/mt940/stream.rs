//! MT940 read as a stream from any `BufRead`, line by line, with memory bounded by one field
//! and one batch of entries.
//!
//! [`Mt940Reader`] yields the same [`StatementPart`]s as the streaming camt reader; collected,
//! they are what [`super::parse_bytes`] returns. One difference by necessity: the whole-file
//! parser decides between UTF-8 and ISO 8859-1 for the whole file, the stream line by line
//! (a line that is valid UTF-8 is read as UTF-8). Files in one encoding read the same.

use std::collections::VecDeque;
use std::io::BufRead;

use super::fields::{Fields, Token};
use super::parse::{Builder, Mt940Error};
use crate::statement::{StatementPart, DEFAULT_BATCH};

/// Why a streamed MT940 file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Mt940StreamError {
    #[error(transparent)]
    Mt940(#[from] Mt940Error),
    #[error("reading the MT940 file failed: {0}")]
    Io(#[from] std::io::Error),
}

/// The streaming MT940 reader; see the module documentation.
pub struct Mt940Reader<R> {
    input: R,
    raw: Vec<u8>,
    line_no: usize,
    /// The field being read: continuation lines may still follow.
    fields: Fields,
    parts: Parts,
    done: bool,
}

/// Complete fields to statement parts.
struct Parts {
    current: Option<Builder>,
    begun: bool,
    statements: usize,
    batch_size: usize,
    ready: VecDeque<StatementPart>,
}

impl<R> std::fmt::Debug for Mt940Reader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mt940Reader")
            .field("line", &self.line_no)
            .field("statements", &self.parts.statements)
            .finish_non_exhaustive()
    }
}

impl<R: BufRead> Mt940Reader<R> {
    pub fn new(input: R) -> Self {
        Self {
            input,
            raw: Vec::new(),
            line_no: 0,
            fields: Fields::default(),
            parts: Parts {
                current: None,
                begun: false,
                statements: 0,
                batch_size: DEFAULT_BATCH,
                ready: VecDeque::new(),
            },
            done: false,
        }
    }

    /// Entries per batch (at least 1).
    pub fn with_batch_size(mut self, entries: usize) -> Self {
        self.parts.batch_size = entries.max(1);
        self
    }

    /// The next part, `None` after the last one.
    pub fn next_part(&mut self) -> Result<Option<StatementPart>, Mt940StreamError> {
        loop {
            if let Some(part) = self.parts.ready.pop_front() {
                return Ok(Some(part));
            }
            if self.done {
                return Ok(None);
            }
            self.read_line()?;
        }
    }

    fn read_line(&mut self) -> Result<(), Mt940StreamError> {
        self.raw.clear();
        let parts = &mut self.parts;
        let mut act = |token: Token<'_>| parts.token(token);
        if read_line_into(&mut self.input, &mut self.raw)? == 0 {
            self.fields.flush(&mut act)?;
            act(Token::End)?;
            if self.parts.statements == 0 {
                return Err(Mt940Error::NoStatements.into());
            }
            self.done = true;
            return Ok(());
        }
        self.line_no += 1;
        let mut bytes = self.raw.strip_suffix(b"\n").unwrap_or(&self.raw);
        if self.line_no == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        let latin1: String;
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => {
                latin1 = bytes.iter().map(|&b| char::from(b)).collect();
                &latin1
            }
        };
        Ok(self.fields.line(self.line_no, text, &mut act)?)
    }
}

/// `BufRead::read_until(b'\n', …)` with a vectorised search for the line end (the standard
/// library's is a plain loop, a tenth of this reader's time).
fn read_line_into(input: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut read = 0;
    loop {
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let (taken, complete) = match memchr::memchr(b'\n', available) {
            Some(end) => (end + 1, true),
            None => (available.len(), available.is_empty()),
        };
        line.extend_from_slice(&available[..taken]);
        input.consume(taken);
        read += taken;
        if complete {
            return Ok(read);
        }
    }
}

impl Parts {
    /// Acts on one complete token, as the whole-file parser does.
    fn token(&mut self, token: Token<'_>) -> Result<(), Mt940Error> {
        match token {
            Token::End => self.finish_statement(),
            Token::Field { line, tag, value } => {
                if tag == "20" {
                    self.finish_statement()?;
                    self.current = Some(Builder::new(line, value));
                    self.begun = false;
                    return Ok(());
                }
                let Some(builder) = self.current.as_mut() else {
                    // Fields before the first :20: are ignored.
                    return Ok(());
                };
                builder.field(line, tag, value)?;
                if tag == "61" && !self.begun {
                    self.ready
                        .push_back(StatementPart::Begin(builder.preview()));
                    self.begun = true;
                }
                // The last entry stays: a following :86: completes it.
                if builder.entries.len() > self.batch_size {
                    let batch: Vec<_> = builder.entries.drain(..self.batch_size).collect();
                    self.ready.push_back(StatementPart::Entries(batch));
                }
                Ok(())
            }
        }
    }

    fn finish_statement(&mut self) -> Result<(), Mt940Error> {
        let Some(builder) = self.current.take() else {
            return Ok(());
        };
        let mut statement = builder.finish()?;
        let entries = std::mem::take(&mut statement.entries);
        if !self.begun {
            self.ready
                .push_back(StatementPart::Begin(statement.clone()));
        }
        let mut entries = entries.into_iter().peekable();
        while entries.peek().is_some() {
            let batch: Vec<_> = entries.by_ref().take(self.batch_size).collect();
            self.ready.push_back(StatementPart::Entries(batch));
        }
        self.ready.push_back(StatementPart::End(statement));
        self.statements += 1;
        Ok(())
    }
}

impl<R: BufRead> Iterator for Mt940Reader<R> {
    type Item = Result<StatementPart, Mt940StreamError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_part() {
            Ok(part) => part.map(Ok),
            Err(e) => {
                self.done = true;
                self.parts.ready.clear();
                Some(Err(e))
            }
        }
    }
}
