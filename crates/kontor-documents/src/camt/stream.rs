//! camt.052/053/054 read as a stream from any `BufRead`, with memory bounded by one entry and
//! one batch, whatever the size of the document.
//!
//! [`CamtReader`] yields [`StatementPart`]s: per report a `Begin` with everything before its
//! first `Ntry` (account, balances, period), `Entries` in batches, and an `End` with the
//! complete header (balances after the entries included). Collected, they are exactly what
//! [`super::parse`] returns for the same document; the same policy limits apply, checked
//! event by event. The stream needs the order the schema prescribes: `GrpHdr` before the
//! reports, and a report's `Acct` before its entries.
//!
//! Parts returned before an error are not verified: like the order data stream, a consumer
//! keeps them provisional until the reader returns `None`.

use std::collections::VecDeque;
use std::io::BufRead;

use chrono::NaiveDateTime;

use super::parse::{kind_of_namespace, parse_entry, parse_report, PREFIX, VERSIONS};
use super::CamtKind;
use crate::statement::{Entry, Statement, StatementFormat, StatementPart};
use crate::xml::fragment::{EventReader, Fragment, Step};
use crate::xml::reader::{Element, XmlError};

/// Where the reader is in the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    BeforeRoot,
    InDocument,
    InMessage,
    InReport,
    Done,
}

/// The streaming camt reader; see the module documentation.
pub struct CamtReader<R> {
    events: EventReader<R>,
    position: Position,
    kind: CamtKind,
    format: StatementFormat,
    message_seen: bool,
    group_header: Option<(String, NaiveDateTime)>,
    reports: usize,
    report_path: String,
    header: Fragment,
    /// Reused for every entry.
    entry: Fragment,
    begun: bool,
    entries_seen: usize,
    batch: Vec<Entry>,
    batch_size: usize,
    ready: VecDeque<StatementPart>,
}

impl<R> std::fmt::Debug for CamtReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CamtReader")
            .field("kind", &self.kind)
            .field("reports", &self.reports)
            .field("entries_seen", &self.entries_seen)
            .finish_non_exhaustive()
    }
}

impl<R: BufRead> CamtReader<R> {
    /// Reads up to the root element and checks it (`Document` in a supported namespace).
    pub fn new(input: R) -> Result<Self, XmlError> {
        let mut reader = CamtReader {
            events: EventReader::new(input)?,
            position: Position::BeforeRoot,
            kind: CamtKind::Camt053,
            format: StatementFormat::Camt053,
            message_seen: false,
            group_header: None,
            reports: 0,
            report_path: String::new(),
            header: Fragment::default(),
            entry: Fragment::default(),
            begun: false,
            entries_seen: 0,
            batch: Vec::new(),
            batch_size: crate::statement::DEFAULT_BATCH,
            ready: VecDeque::new(),
        };
        reader.read_root()?;
        Ok(reader)
    }

    /// Entries per batch (at least 1).
    pub fn with_batch_size(mut self, entries: usize) -> Self {
        self.batch_size = entries.max(1);
        self
    }

    /// Which camt message the document is.
    pub fn kind(&self) -> CamtKind {
        self.kind
    }

    fn read_root(&mut self) -> Result<(), XmlError> {
        loop {
            match self.events.step()? {
                Step::Start { local, .. } => {
                    if local != "Document" {
                        return Err(XmlError::UnexpectedRoot {
                            found: local.chars().take(80).collect(),
                        });
                    }
                    let namespace = self.events.namespace_of("Document")?;
                    self.kind = kind_of_namespace(&namespace).ok_or_else(|| {
                        XmlError::UnsupportedNamespace {
                            found: namespace.clone(),
                            expected: format!(
                                "{PREFIX}camt.052/053/054.001.{:02} to .{:02}",
                                VERSIONS.start(),
                                VERSIONS.end()
                            ),
                        }
                    })?;
                    self.format = match self.kind {
                        CamtKind::Camt052 => StatementFormat::Camt052,
                        CamtKind::Camt053 => StatementFormat::Camt053,
                        CamtKind::Camt054 => StatementFormat::Camt054,
                    };
                    self.events.set_namespace(namespace.into_bytes());
                    self.position = Position::InDocument;
                    return Ok(());
                }
                Step::End | Step::Other => {}
                Step::Eof => {
                    return Err(XmlError::Unreadable(kontor_xml::ReadError::Malformed {
                        reason: "document has no root element".to_owned(),
                    }))
                }
            }
        }
    }

    /// The next part, `None` after the last one.
    pub fn next_part(&mut self) -> Result<Option<StatementPart>, XmlError> {
        loop {
            if let Some(part) = self.ready.pop_front() {
                return Ok(Some(part));
            }
            if self.position == Position::Done {
                return Ok(None);
            }
            self.advance()?;
        }
    }

    fn message_path(&self) -> String {
        format!("Document/{}", self.kind.root_element())
    }

    /// Reads one event at the level the reader is at, queuing any parts it completes.
    fn advance(&mut self) -> Result<(), XmlError> {
        match self.events.step()? {
            Step::Other => Ok(()),
            Step::Start {
                local,
                in_namespace,
                empty,
            } => self.start_element(local, in_namespace, empty),
            Step::End => {
                match self.position {
                    Position::InReport => {
                        self.position = Position::InMessage;
                        self.end_report()
                    }
                    Position::InMessage => {
                        self.position = Position::InDocument;
                        Ok(())
                    }
                    // The root closed (only the end of the input may follow, which `Eof`
                    // checks); `new` has read the root's start; nothing is read after `Done`.
                    Position::InDocument | Position::BeforeRoot | Position::Done => Ok(()),
                }
            }
            Step::Eof => {
                if self.reports == 0 {
                    return Err(XmlError::MissingElement {
                        path: format!(
                            "Document/{}/{}",
                            self.kind.root_element(),
                            self.kind.report_element()
                        ),
                    });
                }
                if self.events.depth() != 0 || self.position != Position::InDocument {
                    return Err(XmlError::Unreadable(kontor_xml::ReadError::Malformed {
                        reason: "document ends inside an element".to_owned(),
                    }));
                }
                self.position = Position::Done;
                Ok(())
            }
        }
    }

    /// A start tag at the level the reader is at: the subtree it opens is read, entered or
    /// skipped.
    fn start_element(
        &mut self,
        local: String,
        in_namespace: bool,
        empty: bool,
    ) -> Result<(), XmlError> {
        match self.position {
            Position::InDocument => {
                if !self.message_seen && in_namespace && local == self.kind.root_element() {
                    self.message_seen = true;
                    if !empty {
                        self.position = Position::InMessage;
                    }
                    Ok(())
                } else {
                    self.events.skip()
                }
            }
            Position::InMessage => {
                if in_namespace && local == "GrpHdr" && self.group_header.is_none() {
                    let path = format!("{}/GrpHdr", self.message_path());
                    let fragment = self.events.fragment(path)?;
                    let header = fragment.root();
                    let message_id = header.req_text("MsgId")?.to_string();
                    let created = header.req("CreDtTm")?.datetime()?;
                    self.group_header = Some((message_id, created));
                    Ok(())
                } else if in_namespace && local == self.kind.report_element() {
                    if self.group_header.is_none() {
                        return Err(XmlError::MissingElement {
                            path: format!("{}/GrpHdr", self.message_path()),
                        });
                    }
                    self.reports += 1;
                    self.report_path = match self.reports {
                        1 => format!("{}/{local}", self.message_path()),
                        n => format!("{}/{local}[{n}]", self.message_path()),
                    };
                    self.header = Fragment::empty(&local, self.report_path.clone());
                    self.begun = false;
                    self.entries_seen = 0;
                    if empty {
                        self.end_report()
                    } else {
                        self.position = Position::InReport;
                        Ok(())
                    }
                } else {
                    self.events.skip()
                }
            }
            Position::InReport => {
                if in_namespace && local == "Ntry" {
                    if !self.begun {
                        self.begin()?;
                    }
                    self.entries_seen += 1;
                    if self.entries_seen == 1 {
                        self.entry
                            .set_root_path(format_args!("{}/Ntry", self.report_path));
                    }
                    self.entry.set_root_position(self.entries_seen);
                    self.events.read_into(&mut self.entry)?;
                    self.batch.push(parse_entry(self.entry.root())?);
                    if self.batch.len() >= self.batch_size {
                        self.ready
                            .push_back(StatementPart::Entries(std::mem::take(&mut self.batch)));
                    }
                    Ok(())
                } else {
                    let fragment = self.events.fragment(String::new())?;
                    self.header.adopt(&fragment);
                    Ok(())
                }
            }
            // Nothing else reaches this level: subtrees are read or skipped whole.
            Position::BeforeRoot | Position::Done => Ok(()),
        }
    }

    /// The report's header as read so far, as a statement without entries.
    fn header_statement(&self) -> Result<Statement, XmlError> {
        let mut statement = parse_report(self.header.root(), self.format)?;
        if let Some((message_id, created)) = &self.group_header {
            statement.message_id = Some(message_id.clone());
            statement.created = statement.created.or(Some(*created));
        }
        Ok(statement)
    }

    fn begin(&mut self) -> Result<(), XmlError> {
        let statement = self.header_statement()?;
        self.ready.push_back(StatementPart::Begin(statement));
        self.begun = true;
        Ok(())
    }

    fn end_report(&mut self) -> Result<(), XmlError> {
        if !self.begun {
            self.begin()?;
        }
        if !self.batch.is_empty() {
            self.ready
                .push_back(StatementPart::Entries(std::mem::take(&mut self.batch)));
        }
        let statement = self.header_statement()?;
        self.ready.push_back(StatementPart::End(statement));
        Ok(())
    }
}

impl<R: BufRead> Iterator for CamtReader<R> {
    type Item = Result<StatementPart, XmlError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_part() {
            Ok(part) => part.map(Ok),
            Err(e) => {
                self.position = Position::Done;
                self.ready.clear();
                Some(Err(e))
            }
        }
    }
}
