//! ZIP containers for camt downloads (DK DFÜ-Abkommen Anlage 3, "camt-Formate im
//! ZIP-Container"; EBICS 3.0 `Container containerType="ZIP"`).
//!
//! The bytes are deterministic: members in the given order, deflated, with the modification
//! time of their booking day (23:00, the statements' creation time) and no extra fields, so
//! the admin API can rebuild exactly the container a download delivered.
//!
//! Two fault switches build hostile containers on purpose (see [`crate::faults`]):
//! a member that is not XML ([`Hostile::ForeignMember`]) and a zip bomb ([`Hostile::Bomb`]).

use std::io::{Cursor, Read as _, Write as _};

use chrono::{Datelike as _, NaiveDate};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::statements::StatementMember;

/// One file of a container.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    pub name: &'a str,
    /// The business day the file belongs to: its modification date.
    pub date: NaiveDate,
    pub data: &'a [u8],
}

impl<'a> From<&'a StatementMember> for Member<'a> {
    fn from(m: &'a StatementMember) -> Self {
        Member {
            name: &m.name,
            date: m.date,
            data: &m.document,
        }
    }
}

/// Largest zip bomb member the fault builds: 4 GiB of zeros deflate to about 4 MiB.
pub const MAX_BOMB_BYTES: u64 = 4 << 30;

/// The name of the non-XML member the `zip_foreign_member` fault adds.
pub const FOREIGN_MEMBER_NAME: &str = "Kontoauszug-Hinweise.pdf";

/// Something a fault adds to a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hostile {
    /// A member that is not XML (a small PDF-like binary), named like a bank's attachment.
    ForeignMember,
    /// A member of this many zero bytes named like a camt document: compresses about 1000:1.
    Bomb { bytes: u64 },
}

/// The container could not be built.
#[derive(Debug, thiserror::Error)]
#[error("ZIP container: {0}")]
pub struct ContainerError(String);

fn err(e: impl std::fmt::Display) -> ContainerError {
    ContainerError(e.to_string())
}

fn options(day: NaiveDate, large: bool) -> Result<SimpleFileOptions, ContainerError> {
    let year = u16::try_from(day.year()).map_err(err)?;
    // Month and day always fit; the hour is the statements' creation time.
    let time = DateTime::from_date_and_time(year, day.month() as u8, day.day() as u8, 23, 0, 0)
        .map_err(err)?;
    Ok(SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(time)
        .large_file(large))
}

/// Packs the members (and a fault's hostile member last) into one ZIP container.
pub fn zip<'a, M: Into<Member<'a>>>(
    members: impl IntoIterator<Item = M>,
    hostile: Option<Hostile>,
) -> Result<Vec<u8>, ContainerError> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let mut last_day = NaiveDate::from_ymd_opt(1980, 1, 1).unwrap_or_default();
    let mut first_name = None;
    for member in members {
        let member = member.into();
        last_day = last_day.max(member.date);
        first_name.get_or_insert_with(|| member.name.to_owned());
        writer
            .start_file(member.name, options(member.date, false)?)
            .map_err(err)?;
        writer.write_all(member.data).map_err(err)?;
    }
    match hostile {
        None => {}
        Some(Hostile::ForeignMember) => {
            writer
                .start_file(FOREIGN_MEMBER_NAME, options(last_day, false)?)
                .map_err(err)?;
            writer
                .write_all(
                    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
                )
                .map_err(err)?;
        }
        Some(Hostile::Bomb { bytes }) => {
            let name = first_name
                .map(|n| format!("zz-{n}"))
                .unwrap_or_else(|| "zz-statement.xml".to_owned());
            writer
                .start_file(name, options(last_day, bytes > u64::from(u32::MAX))?)
                .map_err(err)?;
            let chunk = vec![0u8; 1 << 20];
            let mut left = bytes;
            while left > 0 {
                let n = usize::try_from(left.min(chunk.len() as u64)).unwrap_or(chunk.len());
                writer.write_all(&chunk[..n]).map_err(err)?;
                left -= n as u64;
            }
        }
    }
    Ok(writer.finish().map_err(err)?.into_inner())
}

/// The members of a container as a client unpacks them, in order: (name, bytes). For tests
/// and tools that check what a download delivered.
pub fn unzip(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, ContainerError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(err)?;
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).map_err(err)?;
            let mut data = Vec::new();
            file.read_to_end(&mut data).map_err(err)?;
            Ok((file.name().map_err(err)?.to_string(), data))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, day: u32, text: &str) -> StatementMember {
        StatementMember {
            name: name.to_owned(),
            account: "ACC-1".parse().expect("id"),
            date: NaiveDate::from_ymd_opt(2026, 11, day).expect("date"),
            document: text.as_bytes().to_vec(),
        }
    }

    fn read_back(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
        unzip(bytes).expect("archive")
    }

    #[test]
    fn containers_are_deterministic_and_hold_every_member_in_order() {
        let members = [member("a.xml", 2, "<a/>"), member("b.xml", 3, "<b/>")];
        let bytes = zip(&members, None).expect("zip");
        assert!(bytes.starts_with(b"PK\x03\x04"));
        assert_eq!(bytes, zip(&members, None).expect("again"));
        assert_eq!(
            read_back(&bytes),
            vec![
                ("a.xml".to_owned(), b"<a/>".to_vec()),
                ("b.xml".to_owned(), b"<b/>".to_vec())
            ]
        );
    }

    #[test]
    fn hostile_members_come_last() {
        let members = [member("a.xml", 2, "<a/>")];
        let foreign = read_back(&zip(&members, Some(Hostile::ForeignMember)).expect("zip"));
        assert_eq!(foreign.len(), 2);
        assert_eq!(foreign[1].0, FOREIGN_MEMBER_NAME);
        assert!(foreign[1].1.starts_with(b"%PDF"));
        let bomb = zip(&members, Some(Hostile::Bomb { bytes: 64 << 20 })).expect("zip");
        assert!(
            bomb.len() < 1 << 20,
            "64 MiB of zeros deflate to {} bytes",
            bomb.len()
        );
        let mut archive = zip::ZipArchive::new(Cursor::new(&bomb)).expect("archive");
        assert_eq!(archive.by_index(1).expect("bomb").size(), 64 << 20);
    }
}
