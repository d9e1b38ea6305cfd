//! ZIP containers around statement files, read member by member with limits.
//!
//! German banks deliver camt.052/053/054 in a ZIP container, one document per account and day
//! (DK DFÜ-Abkommen, Anlage 3: C52/C53/C54 on EBICS 2.5, BTD with `Container ZIP` on EBICS
//! 3.0; Swiss Z52/Z53/Z54 likewise), and some send a ZIP even where the order did not ask
//! for one. So the container is recognised by its content: a file that starts with a ZIP
//! local file header (`PK\x03\x04`, or the end record of an empty archive) is opened as one,
//! anything else is a bare document.
//!
//! A ZIP comes from outside and may be hostile: [`ZipMembers`] reads it from any seekable
//! reader (the stored file on disk, never the whole archive in memory), one member at a time,
//! each as a stream ([`MemberReader`]: neither the archive nor a member is ever whole in
//! memory), and refuses what no bank sends: before a member is handed out too many members,
//! encrypted members, names that are absolute or climb out with `..`, and declared sizes
//! beyond the limits; while it is read a member or a total that expands beyond its limit
//! (counted on the bytes really inflated, not the sizes the archive declares) and a
//! compression ratio only a zip bomb reaches.

use std::cell::RefCell;
use std::io::{Read, Seek};
use std::rc::Rc;

use kontor_storage::StatementContainer;

/// The first bytes of a ZIP archive: a local file header, or the end of central directory
/// record of an empty archive (APPNOTE 4.3.7, 4.3.16).
const LOCAL_HEADER: &[u8] = b"PK\x03\x04";
const EMPTY_ARCHIVE: &[u8] = b"PK\x05\x06";

/// Recognises how a stored file is wrapped from its first bytes.
pub fn sniff(head: &[u8]) -> StatementContainer {
    if head.starts_with(LOCAL_HEADER) || head.starts_with(EMPTY_ARCHIVE) {
        StatementContainer::Zip
    } else {
        StatementContainer::Bare
    }
}

/// What a ZIP container may hold. The defaults leave room for a year of daily statements of
/// dozens of accounts, each of hundreds of MiB, and refuse what only a zip bomb looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipLimits {
    /// Most members (directories included).
    pub max_members: usize,
    /// Largest member, inflated.
    pub max_member_bytes: u64,
    /// Largest sum of all members, inflated.
    pub max_total_bytes: u64,
    /// Highest ratio of inflated to compressed size of a member, checked once the member is
    /// larger than [`ZipLimits::ratio_floor_bytes`] (tiny members have meaningless ratios).
    /// Statement XML deflates about 10 to 30 to 1; a zip bomb thousands to 1.
    pub max_ratio: u64,
    pub ratio_floor_bytes: u64,
}

impl Default for ZipLimits {
    fn default() -> Self {
        Self {
            max_members: 10_000,
            max_member_bytes: 256 << 20,
            max_total_bytes: 2 << 30,
            max_ratio: 200,
            // Below this a hostile member costs no more than a statement does.
            ratio_floor_bytes: 16 << 20,
        }
    }
}

/// Why a ZIP container was refused. The whole file is refused: nothing in it is booked.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("the ZIP container is unreadable: {0}")]
    Unreadable(String),
    #[error("the ZIP container has {found} members, more than the limit of {limit}")]
    TooManyMembers { found: usize, limit: usize },
    #[error("ZIP member {name:?} has an unsafe path (absolute, or climbing out with ..)")]
    UnsafeName { name: String },
    #[error("ZIP member {name:?} is encrypted")]
    Encrypted { name: String },
    #[error("ZIP member {name:?} expands beyond the limit of {limit} bytes (zip bomb?)")]
    MemberTooLarge { name: String, limit: u64 },
    #[error("the ZIP container expands beyond the limit of {limit} bytes in total (zip bomb?)")]
    TotalTooLarge { limit: u64 },
    #[error("ZIP member {name:?} expands more than {limit} times its compressed size (zip bomb?)")]
    RatioTooHigh { name: String, limit: u64 },
    #[error("ZIP member {name:?} is corrupt: {reason}")]
    CorruptMember { name: String, reason: String },
}

/// Why reading a member stopped early, shared between a [`MemberReader`] and whoever holds
/// it after the reader went into a parser (which only sees an I/O error).
#[derive(Debug, Clone, Default)]
pub struct Refusal(Rc<RefCell<Option<ContainerError>>>);

impl Refusal {
    /// The refusal, once: a limit passed or a corrupt member ends the whole container.
    pub fn take(&self) -> Option<ContainerError> {
        self.0.borrow_mut().take()
    }

    /// Whether the container was refused (a read failed for it).
    pub fn is_set(&self) -> bool {
        self.0.borrow().is_some()
    }

    fn set(&self, error: ContainerError) -> std::io::Error {
        let io = std::io::Error::other(error.to_string());
        self.0.borrow_mut().get_or_insert(error);
        io
    }
}

/// One document of a container, inflated as it is read: never whole in memory. The limits
/// are checked on the bytes really inflated (the declared sizes may lie); passing one, or a
/// corrupt member, fails the read and leaves the reason in [`MemberReader::refusal`].
pub struct MemberReader<'a, R: Read> {
    name: String,
    entry: zip::read::ZipFile<'a, R>,
    compressed: u64,
    size: u64,
    total: &'a mut u64,
    limits: ZipLimits,
    refusal: Refusal,
}

impl<R: Read> MemberReader<'_, R> {
    /// The member's path in the archive (checked safe).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the reason lands when a read fails for a container limit or a corrupt member.
    pub fn refusal(&self) -> Refusal {
        self.refusal.clone()
    }

    fn check(&self) -> Result<(), ContainerError> {
        if *self.total > self.limits.max_total_bytes {
            return Err(ContainerError::TotalTooLarge {
                limit: self.limits.max_total_bytes,
            });
        }
        check_size(&self.name, self.size, self.compressed, &self.limits)
    }
}

impl<R: Read> Read for MemberReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = match self.entry.read(buf) {
            Ok(n) => n,
            Err(e) => {
                return Err(self.refusal.set(ContainerError::CorruptMember {
                    name: self.name.clone(),
                    reason: e.to_string(),
                }))
            }
        };
        self.size += n as u64;
        *self.total += n as u64;
        // At most one read beyond a limit is inflated before the member is refused.
        match self.check() {
            Ok(()) => Ok(n),
            Err(error) => Err(self.refusal.set(error)),
        }
    }
}

/// The members of a ZIP archive, one at a time, within [`ZipLimits`]. Directories are
/// skipped. The archive's central directory is checked whole when it is opened (count, names,
/// encryption, declared sizes), so a hostile archive is refused before any member is read.
pub struct ZipMembers<R: Read + Seek> {
    archive: zip::ZipArchive<R>,
    limits: ZipLimits,
    next: usize,
    inflated: u64,
}

impl<R: Read + Seek> ZipMembers<R> {
    pub fn open(reader: R, limits: ZipLimits) -> Result<Self, ContainerError> {
        let mut archive =
            zip::ZipArchive::new(reader).map_err(|e| ContainerError::Unreadable(e.to_string()))?;
        if archive.len() > limits.max_members {
            return Err(ContainerError::TooManyMembers {
                found: archive.len(),
                limit: limits.max_members,
            });
        }
        let mut declared: u64 = 0;
        for index in 0..archive.len() {
            let entry = archive
                .by_index_raw(index)
                .map_err(|e| ContainerError::Unreadable(e.to_string()))?;
            let name = safe_name(entry.name_raw())?;
            if entry.encrypted() {
                return Err(ContainerError::Encrypted { name });
            }
            check_size(&name, entry.size(), entry.compressed_size(), &limits)?;
            declared = declared.saturating_add(entry.size());
            if declared > limits.max_total_bytes {
                return Err(ContainerError::TotalTooLarge {
                    limit: limits.max_total_bytes,
                });
            }
        }
        Ok(Self {
            archive,
            limits,
            next: 0,
            inflated: 0,
        })
    }

    /// The number of entries, directories included.
    pub fn len(&self) -> usize {
        self.archive.len()
    }

    pub fn is_empty(&self) -> bool {
        self.archive.len() == 0
    }

    /// The next member, to be read as a stream; `None` after the last. A member that is
    /// not read to its end leaves its remaining bytes uncounted and unchecked.
    pub fn next_member(&mut self) -> Option<Result<MemberReader<'_, R>, ContainerError>> {
        let index = loop {
            if self.next >= self.archive.len() {
                return None;
            }
            let index = self.next;
            self.next += 1;
            let is_dir = self
                .archive
                .by_index_raw(index)
                .map(|entry| entry.is_dir())
                .map_err(|e| ContainerError::Unreadable(e.to_string()));
            match is_dir {
                Ok(true) => continue,
                Ok(false) => break index,
                Err(error) => return Some(Err(self.refuse(error))),
            }
        };
        let limits = self.limits;
        let entry = match self.archive.by_index(index) {
            Ok(entry) => entry,
            Err(e) => return Some(Err(ContainerError::Unreadable(e.to_string()))),
        };
        let name = match safe_name(entry.name_raw()) {
            Ok(name) => name,
            Err(error) => return Some(Err(error)),
        };
        Some(Ok(MemberReader {
            name,
            compressed: entry.compressed_size(),
            entry,
            size: 0,
            total: &mut self.inflated,
            limits,
            refusal: Refusal::default(),
        }))
    }

    /// One refusal ends the container.
    fn refuse(&mut self, error: ContainerError) -> ContainerError {
        self.next = self.archive.len();
        error
    }
}

/// A member name as a relative path inside the archive: UTF-8 (or CP437 decoded as Latin-1),
/// not absolute, no drive letter, no `..`, no NUL.
fn safe_name(raw: &[u8]) -> Result<String, ContainerError> {
    let name = match std::str::from_utf8(raw) {
        Ok(s) => s.to_owned(),
        Err(_) => raw.iter().map(|&b| b as char).collect(),
    };
    let normalised = name.replace('\\', "/");
    let unsafe_path = normalised.is_empty()
        || normalised.starts_with('/')
        || normalised.contains('\0')
        || normalised.as_bytes().get(1) == Some(&b':')
        || normalised.split('/').any(|part| part == "..");
    if unsafe_path {
        return Err(ContainerError::UnsafeName { name });
    }
    Ok(name)
}

fn check_size(
    name: &str,
    size: u64,
    compressed: u64,
    limits: &ZipLimits,
) -> Result<(), ContainerError> {
    if size > limits.max_member_bytes {
        return Err(ContainerError::MemberTooLarge {
            name: name.to_owned(),
            limit: limits.max_member_bytes,
        });
    }
    if size > limits.ratio_floor_bytes && size / compressed.max(1) > limits.max_ratio {
        return Err(ContainerError::RatioTooHigh {
            name: name.to_owned(),
            limit: limits.max_ratio,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Read, Write};

    use zip::write::SimpleFileOptions;
    use zip::CompressionMethod;

    use super::*;

    fn archive(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, bytes) in members {
            writer
                .start_file(
                    *name,
                    SimpleFileOptions::default().compression_method(CompressionMethod::Deflated),
                )
                .unwrap();
            writer.write_all(bytes).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    #[derive(Debug)]
    struct Member {
        name: String,
        bytes: Vec<u8>,
    }

    fn all(bytes: Vec<u8>, limits: ZipLimits) -> Result<Vec<Member>, ContainerError> {
        let mut members = ZipMembers::open(Cursor::new(bytes), limits)?;
        let mut out = Vec::new();
        while let Some(member) = members.next_member() {
            let mut member = member?;
            let mut bytes = Vec::new();
            if member.read_to_end(&mut bytes).is_err() {
                return Err(member
                    .refusal()
                    .take()
                    .expect("a refusal behind the read error"));
            }
            out.push(Member {
                name: member.name().to_owned(),
                bytes,
            });
        }
        Ok(out)
    }

    #[test]
    fn container_is_recognised_by_its_magic_not_its_name() {
        assert_eq!(
            sniff(&archive(&[("a.xml", b"<a/>")])),
            StatementContainer::Zip
        );
        assert_eq!(sniff(&archive(&[])), StatementContainer::Zip);
        assert_eq!(sniff(b"<?xml version=\"1.0\"?>"), StatementContainer::Bare);
        assert_eq!(sniff(b":20:STARTUMS"), StatementContainer::Bare);
        assert_eq!(sniff(b"PK"), StatementContainer::Bare);
    }

    #[test]
    fn every_member_is_read_in_order() {
        let zip = archive(&[("one.xml", b"<one/>"), ("sub/two.xml", b"<two/>")]);
        let members = all(zip, ZipLimits::default()).unwrap();
        let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["one.xml", "sub/two.xml"]);
        assert_eq!(members[1].bytes, b"<two/>");
    }

    #[test]
    fn a_zip_bomb_is_refused_by_its_ratio() {
        let zeros = vec![0u8; 32 << 20];
        let error = all(archive(&[("bomb.xml", &zeros)]), ZipLimits::default()).unwrap_err();
        assert!(
            matches!(error, ContainerError::RatioTooHigh { ref name, limit: 200 } if name == "bomb.xml"),
            "{error}"
        );
        assert!(error.to_string().contains("zip bomb"), "{error}");
    }

    #[test]
    fn members_and_totals_beyond_their_limits_are_refused() {
        let limits = ZipLimits {
            max_member_bytes: 1000,
            max_total_bytes: 1500,
            ..ZipLimits::default()
        };
        let big = vec![b'x'; 1001];
        assert!(matches!(
            all(archive(&[("big.xml", &big)]), limits).unwrap_err(),
            ContainerError::MemberTooLarge { limit: 1000, .. }
        ));
        let half = vec![b'x'; 800];
        assert!(matches!(
            all(archive(&[("a.xml", &half), ("b.xml", &half)]), limits).unwrap_err(),
            ContainerError::TotalTooLarge { limit: 1500 }
        ));
        let many = ZipLimits {
            max_members: 1,
            ..ZipLimits::default()
        };
        assert!(matches!(
            all(archive(&[("a.xml", b"a"), ("b.xml", b"b")]), many).unwrap_err(),
            ContainerError::TooManyMembers { found: 2, limit: 1 }
        ));
    }

    /// An archive whose headers understate a member's size (a bomb that declares a harmless
    /// size) is refused once the member inflates past what it declared (the zip crate checks
    /// that; the limits here are checked on the bytes inflated so far as well).
    #[test]
    fn a_lying_declared_size_does_not_get_past_the_limit() {
        let big = vec![b'x'; 5000];
        let mut zip = archive(&[("lie.xml", &big)]);
        // Patch the uncompressed size (5000 = 0x1388) to 10 in the local and central headers.
        let declared = 5000u32.to_le_bytes();
        let mut i = 0;
        while let Some(at) = zip[i..].windows(4).position(|w| w == declared) {
            zip[i + at..i + at + 4].copy_from_slice(&10u32.to_le_bytes());
            i += at + 4;
        }
        let limits = ZipLimits {
            max_member_bytes: 1000,
            ..ZipLimits::default()
        };
        let error = all(zip, limits).unwrap_err();
        assert!(
            matches!(error, ContainerError::CorruptMember { ref reason, .. } if reason.contains("declared")),
            "{error}"
        );
    }

    #[test]
    fn unsafe_member_names_are_refused() {
        for name in [
            "../etc/passwd",
            "/abs.xml",
            "a/../../b.xml",
            "C:/x.xml",
            "..\\x.xml",
        ] {
            let error = all(archive(&[(name, b"<a/>")]), ZipLimits::default()).unwrap_err();
            assert!(
                matches!(error, ContainerError::UnsafeName { .. }),
                "{name}: {error}"
            );
        }
    }

    #[test]
    fn garbage_after_the_magic_is_unreadable() {
        let error = all(b"PK\x03\x04garbage".to_vec(), ZipLimits::default()).unwrap_err();
        assert!(matches!(error, ContainerError::Unreadable(_)), "{error}");
    }
}
