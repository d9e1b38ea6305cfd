//! Throughput of statement generation and parsing for a multi-MiB camt.053 and MT940, and what
//! the XML reading policy costs: the pre-scan alone, the guarded tree, and refusing a document
//! nested 100 000 levels deep.
//!
//! `cargo bench -p kontor-documents --bench statements`

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kontor_documents::camt::{self, CamtKind};
use kontor_documents::{
    mt940, AccountInfo, Bic, Currency, ExportFormat, Iban, Ledger, StatementPart, DOCUMENT_LIMITS,
};

const TARGET_BYTES: usize = 20 * 1024 * 1024;

fn account() -> AccountInfo {
    AccountInfo {
        iban: Iban::parse("DE89370400440532013000").expect("valid IBAN"),
        bic: Bic::parse("COBADEFFXXX").expect("valid BIC"),
        currency: Currency::EUR,
        holder: "Muster Treasury GmbH".into(),
    }
}

/// Entries read from a statement stream (panics on an error: the input is generated).
fn entries<E: std::fmt::Debug>(parts: impl Iterator<Item = Result<StatementPart, E>>) -> usize {
    parts
        .map(|part| match part.expect("statement") {
            StatementPart::Entries(batch) => batch.len(),
            StatementPart::Begin(_) | StatementPart::End(_) => 0,
        })
        .sum()
}

fn statements(c: &mut Criterion) {
    let from = NaiveDate::from_ymd_opt(2024, 6, 3).expect("date");
    let to = NaiveDate::from_ymd_opt(2024, 6, 7).expect("date");
    let camt053 = ExportFormat::Camt(CamtKind::Camt053);
    let ledger =
        Ledger::generate_sized(5, account(), from, to, camt053, TARGET_BYTES).expect("ledger");
    let xml = camt053.render(&ledger);
    let mt = ExportFormat::Mt940.render(&ledger);

    let mut group = c.benchmark_group("statements");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(xml.len() as u64));
    group.bench_function("ledger_generate", |b| {
        b.iter(|| Ledger::generate_sized(5, account(), from, to, camt053, TARGET_BYTES))
    });
    group.bench_function("camt053_render", |b| b.iter(|| camt053.render(&ledger)));
    group.bench_function("camt053_parse", |b| b.iter(|| camt::parse(&xml)));
    group.bench_function("camt053_stream", |b| {
        b.iter(|| entries(camt::CamtReader::new(xml.as_bytes()).expect("camt")))
    });
    group.bench_function("camt053_policy_scan", |b| {
        b.iter(|| kontor_xml::scan(&xml, &DOCUMENT_LIMITS))
    });
    group.bench_function("camt053_policy_tree", |b| {
        b.iter(|| kontor_xml::parse(&xml, &DOCUMENT_LIMITS).map(|d| d.descendants().count()))
    });
    let nested = format!(
        "<Document>{}{}</Document>",
        "<Ntry>".repeat(100_000),
        "</Ntry>".repeat(100_000)
    );
    group.throughput(Throughput::Bytes(nested.len() as u64));
    group.bench_function("nested_100k_refused", |b| b.iter(|| camt::parse(&nested)));
    group.throughput(Throughput::Bytes(mt.len() as u64));
    group.bench_function("mt940_render", |b| {
        b.iter(|| ExportFormat::Mt940.render(&ledger))
    });
    group.bench_function("mt940_parse", |b| b.iter(|| mt940::parse(&mt)));
    group.bench_function("mt940_stream", |b| {
        b.iter(|| entries(mt940::Mt940Reader::new(mt.as_bytes())))
    });
    group.finish();
}

criterion_group!(benches, statements);
criterion_main!(benches);
