//! `kontor-bench memory [SIZE_MIB]`: streams a synthetic camt.053 of SIZE_MIB (default 1024)
//! through the upload pipeline and the streaming parser without ever holding it, and prints
//! the process's peak resident memory (`VmHWM`), which must stay far below the document size.

use std::io::Read;
use std::time::Instant;

use kontor_documents::camt::{self, CamtKind, CamtReader, StatementRequest};
use kontor_documents::{AccountInfo, Bic, Currency, Iban, Ledger, StatementPart};
use kontor_protocol::keys::{KeySize, PrivateKey};
use kontor_protocol::segmentation::{stream_order_data, SegmentSize};
use rand::rngs::StdRng;
use rand::SeedableRng;

/// A camt.053 of one statement with its entry repeated until about `len` bytes: header, the
/// entry `n` times, footer; produced as it is read.
struct SyntheticCamt {
    parts: [Vec<u8>; 3],
    repeats_left: u64,
    part: usize,
    offset: usize,
}

impl SyntheticCamt {
    fn new(len: u64) -> Self {
        let account = AccountInfo {
            iban: Iban::parse("DE89370400440532013000").expect("IBAN"),
            bic: Bic::parse("COBADEFFXXX").expect("BIC"),
            currency: Currency::EUR,
            holder: "Muster Treasury GmbH".into(),
        };
        let day = chrono::NaiveDate::from_ymd_opt(2024, 6, 3).expect("date");
        let ledger = Ledger::generate(5, account, day, day, 1).expect("ledger");
        let created = day.and_hms_opt(6, 0, 0).expect("time");
        let xml = camt::generate(
            &ledger,
            &StatementRequest::new(CamtKind::Camt053, "M1", created),
        );
        let start = xml.find("<Ntry>").expect("an entry");
        let end = xml.rfind("</Ntry>").expect("an entry") + "</Ntry>".len();
        let entry = xml.as_bytes()[start..end].to_vec();
        let repeats = len / entry.len() as u64;
        Self {
            parts: [
                xml.as_bytes()[..start].to_vec(),
                entry,
                xml.as_bytes()[end..].to_vec(),
            ],
            repeats_left: repeats,
            part: 0,
            offset: 0,
        }
    }
}

impl Read for SyntheticCamt {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let Some(part) = self.parts.get(self.part) else {
                return Ok(0);
            };
            if self.offset < part.len() {
                let n = buf.len().min(part.len() - self.offset);
                buf[..n].copy_from_slice(&part[self.offset..self.offset + n]);
                self.offset += n;
                return Ok(n);
            }
            self.offset = 0;
            if self.part == 1 && self.repeats_left > 1 {
                self.repeats_left -= 1;
            } else {
                self.part += 1;
            }
        }
    }
}

/// Peak resident memory of this process in MiB.
pub(crate) fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

pub fn run(size_mib: u64) {
    let len = size_mib * 1024 * 1024;
    println!("kontor-bench memory: {size_mib} MiB synthetic camt.053, never held in memory");
    println!("peak RSS at start: {:.1} MiB", peak_rss_mib());

    let start = Instant::now();
    let input = std::io::BufReader::with_capacity(64 * 1024, SyntheticCamt::new(len));
    let mut entries = 0usize;
    for part in CamtReader::new(input).expect("camt") {
        match part.expect("camt") {
            StatementPart::Entries(batch) => entries += batch.len(),
            StatementPart::Begin(_) | StatementPart::End(_) => {}
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "camt.053 streamed: {entries} entries in {seconds:.1} s ({:.0} MB/s), peak RSS {:.1} MiB",
        len as f64 / 1e6 / seconds,
        peak_rss_mib()
    );

    let key = PrivateKey::generate(&mut StdRng::seed_from_u64(1), KeySize::Bits2048).expect("key");
    let start = Instant::now();
    let mut segments = 0u32;
    stream_order_data(
        &key.public_key(),
        SyntheticCamt::new(len),
        SegmentSize::MAX,
        std::thread::available_parallelism().unwrap_or(std::num::NonZeroUsize::MIN),
        &mut StdRng::seed_from_u64(2),
        |_| {
            segments += 1;
            Ok(())
        },
    )
    .expect("upload");
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "upload pipeline streamed: {segments} segments in {seconds:.1} s ({:.0} MB/s), peak RSS {:.1} MiB",
        len as f64 / 1e6 / seconds,
        peak_rss_mib()
    );
}
