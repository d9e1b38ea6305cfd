//! `cargo run --release -p kontor-bench [-- SIZE_MIB [ONLY]]`, or
//! `cargo run --release -p kontor-bench -- memory [SIZE_MIB]` for peak memory of the streams,
//! `cargo run --release -p kontor-bench -- download [SIZE_MIB]` for the end-to-end download
//! alone (default 1 GiB), with the peak memory of the process doing it.
//!
//! Measures, in one run on the same machine, the machine's own limits (zlib level 6, AES-128-CBC,
//! SHA-256) and Kontor's order data pipeline, statement parsers, end-to-end download (against
//! painfree's, when its venv exists), API and idle scheduler, and prints each as a ratio to its
//! limit or target. Throughput is in MB/s (10^6 bytes per second), best of a few runs.
//! Run it by hand on an otherwise idle machine; it is not a test and asserts nothing.

mod api;
mod daemon;
#[path = "../../kontor-protocol/tests/it/support/data.rs"]
mod data;
mod download;
mod idle;
mod measure;
mod memory;
mod peer;

use std::hint::black_box;
use std::io::Write;
use std::num::NonZeroUsize;

use aes::cipher::{BlockEncryptMut, KeyIvInit};
use chrono::NaiveDate;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use kontor_documents::camt::{self, CamtKind, CamtReader};
use kontor_documents::{
    mt940, AccountInfo, Bic, Currency, ExportFormat, Iban, Ledger, StatementPart,
};
use kontor_protocol::compression;
use kontor_protocol::keys::{KeySize, PrivateKey};
use kontor_protocol::segmentation::{segment_order_data, stream_order_data, SegmentSize};
use rand::rngs::StdRng;
use rand::SeedableRng;
use sha2::{Digest, Sha256};

use measure::Report;

/// Targets from issue 15, in MB/s.
const PIPELINE_XML_TARGET: f64 = 200.0;
const PIPELINE_RANDOM_TARGET: f64 = 300.0;
const PARSER_TARGET: f64 = 150.0;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("download") => {
            return download::run(args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1024))
        }
        Some("download-child") => return download::child(&args[2..]),
        _ => {}
    }
    if std::env::args().nth(1).as_deref() == Some("memory") {
        let size = std::env::args()
            .nth(2)
            .and_then(|a| a.parse().ok())
            .unwrap_or(1024);
        memory::run(size);
        return;
    }
    let size_mib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50);
    let len = size_mib * 1024 * 1024;
    println!("kontor-bench: {size_mib} MiB inputs, {}", machine_load());

    let mut xml = data::camt_like_xml(len);
    xml.truncate(len);
    let random = data::random_bytes(len, 2);
    let mut report = Report {
        only: std::env::args().nth(2),
        ..Report::default()
    };

    // The machine's limits. Kontor deflates on every core (`compression::deflate_reader`), so
    // the XML pipeline's limit is one thread's zlib level 6 times the cores.
    let threads = std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN);
    let zlib_xml = report.measure("zlib level 6, camt-like XML", len, || zlib6(&xml));
    let zlib_xml_all_cores = zlib_xml * threads.get() as f64;
    let xml_deflate = |report: &mut Report, name: &str, deflate: &dyn Fn(&[u8]) -> usize| {
        let share = 100.0 * deflate(&xml) as f64 / zlib6(&xml) as f64;
        let name = format!("{name}, camt-like XML ({share:.2}% of level 6 size)");
        report.measure(&name, len, || deflate(&xml));
    };
    let parallel = format!("parallel deflate, {threads} threads");
    xml_deflate(&mut report, &parallel, &|data| {
        parallel_deflate(data, threads)
    });
    report.compare(PIPELINE_XML_TARGET, zlib_xml_all_cores);
    report.measure("zlib level 6, random bytes", len, || zlib6(&random));
    // What a lower level would buy on XML (speed here, size printed once).
    for level in [1, 4] {
        xml_deflate(&mut report, &format!("zlib level {level}"), &|data| {
            zlib(data, level)
        });
    }
    let mut buffer = random.clone();
    let aes = report.measure("AES-128-CBC encrypt", len, || aes_cbc(&mut buffer));
    report.measure("SHA-256", len, || Sha256::digest(&random)[0] as usize);

    // The upload pipeline: compress -> E002 -> base64 -> 1 MiB segments.
    let bank_key =
        PrivateKey::generate(&mut StdRng::seed_from_u64(1), KeySize::Bits2048).expect("key");
    let bank_public = bank_key.public_key();
    let mut rng = StdRng::seed_from_u64(3);
    for (name, input, target, limit) in [
        // XML is bounded by deflate on all cores; random bytes are stored (see `Deflater`),
        // so by AES, which is sequential (CBC).
        (
            "upload pipeline, camt-like XML",
            &xml,
            PIPELINE_XML_TARGET,
            zlib_xml_all_cores,
        ),
        (
            "upload pipeline, random bytes",
            &random,
            PIPELINE_RANDOM_TARGET,
            aes,
        ),
    ] {
        report.measure(name, len, || {
            segment_order_data(
                &bank_public,
                black_box(input),
                SegmentSize::MAX,
                threads,
                &mut rng,
            )
            .expect("segment")
            .segments
            .len()
        });
        report.compare(target, limit);
        report.measure(&format!("{name}, streamed from a reader"), len, || {
            let mut text = 0;
            stream_order_data(
                &bank_public,
                black_box(&input[..]),
                SegmentSize::MAX,
                threads,
                &mut rng,
                |s| {
                    text += s.data.len();
                    Ok(())
                },
            )
            .expect("stream");
            text
        });
        report.compare(target, limit);
    }

    // Statement parsers on a generated ledger of about the same size.
    let account = AccountInfo {
        iban: Iban::parse("DE89370400440532013000").expect("IBAN"),
        bic: Bic::parse("COBADEFFXXX").expect("BIC"),
        currency: Currency::EUR,
        holder: "Muster Treasury GmbH".into(),
    };
    let from = NaiveDate::from_ymd_opt(2024, 6, 3).expect("date");
    let to = NaiveDate::from_ymd_opt(2024, 6, 7).expect("date");
    let camt053 = ExportFormat::Camt(CamtKind::Camt053);
    let ledger = Ledger::generate_sized(5, account, from, to, camt053, len).expect("ledger");
    let camt_text = camt053.render(&ledger);
    let mt_text = ExportFormat::Mt940.render(&ledger);
    let parsers: [(&str, &str, &dyn Fn() -> usize); 4] = [
        ("camt.053 parse (whole document)", &camt_text, &|| {
            camt::parse(&camt_text).expect("camt").len()
        }),
        (
            "camt.053 streamed (CamtReader, batches of 1000)",
            &camt_text,
            &|| streamed_entries(CamtReader::new(camt_text.as_bytes()).expect("camt")),
        ),
        ("MT940 parse (whole document)", &mt_text, &|| {
            mt940::parse(&mt_text).expect("mt940").len()
        }),
        (
            "MT940 streamed (Mt940Reader, batches of 1000)",
            &mt_text,
            &|| streamed_entries(mt940::Mt940Reader::new(mt_text.as_bytes())),
        ),
    ];
    for (name, text, parse) in parsers {
        report.measure(name, text.len(), parse);
        report.compare(PARSER_TARGET, 0.0);
    }

    let download_mib = std::env::var("KONTOR_BENCH_DOWNLOAD_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(size_mib as u64);
    download::measure(&mut report, download_mib);
    api::run(&mut report);
    idle::run(&mut report);
    report.print();
}

/// The entries a statement reader streams, counted batch by batch.
fn streamed_entries<E: std::fmt::Debug>(
    parts: impl Iterator<Item = Result<StatementPart, E>>,
) -> usize {
    parts
        .map(|part| match part.expect("statement") {
            StatementPart::Entries(batch) => batch.len(),
            StatementPart::Begin(_) | StatementPart::End(_) => 0,
        })
        .sum()
}

/// Kontor's deflate on `threads` threads; the compressed length.
fn parallel_deflate(data: &[u8], threads: NonZeroUsize) -> usize {
    let mut len = 0;
    compression::deflate_reader(data, threads, &mut |bytes| {
        len += bytes.len();
        Ok(())
    })
    .expect("in memory");
    len
}

fn zlib6(data: &[u8]) -> usize {
    zlib(data, 6)
}

fn zlib(data: &[u8], level: u32) -> usize {
    let mut encoder = ZlibEncoder::new(Vec::with_capacity(data.len() / 2), Compression::new(level));
    encoder.write_all(data).expect("in memory");
    encoder.finish().expect("in memory").len()
}

fn aes_cbc(buffer: &mut [u8]) -> usize {
    let mut cipher = cbc::Encryptor::<aes::Aes128>::new(&[7u8; 16].into(), &[0u8; 16].into());
    for block in buffer.chunks_exact_mut(16) {
        cipher.encrypt_block_mut(block.into());
    }
    buffer[buffer.len() - 1] as usize
}

/// The 1-minute load average, so a reader can judge how idle the machine was.
fn machine_load() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "{cores} cores, load average {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}
