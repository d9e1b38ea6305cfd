//! Throughput of the EBICS order data pipeline on 50 MiB files:
//! compress → E002-encrypt → base64 → segment, and back (in memory and streaming).
//!
//! Run briefly with
//! `cargo bench -p kontor-protocol --bench segment_pipeline -- --warm-up-time 1 --measurement-time 5`.

#[path = "../tests/it/support/data.rs"]
mod data;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kontor_protocol::keys::{KeySize, PrivateKey};
use kontor_protocol::segmentation::{
    assemble_order_data, segment_order_data, SegmentSize, StreamingAssembler,
};
use rand::rngs::StdRng;
use rand::SeedableRng;

const FILE_LEN: usize = 50 * 1024 * 1024;
const LIMIT: u64 = 1 << 30;

fn pipeline(c: &mut Criterion) {
    let bank_key =
        PrivateKey::generate(&mut StdRng::seed_from_u64(1), KeySize::Bits2048).expect("key");
    let bank_public = bank_key.public_key();
    let mut statements = data::camt_like_xml(FILE_LEN);
    statements.truncate(FILE_LEN);
    let inputs = [
        ("camt_xml", statements),
        ("random", data::random_bytes(FILE_LEN, 2)),
    ];

    let mut group = c.benchmark_group("segment_pipeline_50MiB");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(FILE_LEN as u64));
    let threads = std::thread::available_parallelism().unwrap_or(std::num::NonZeroUsize::MIN);
    for (name, data) in &inputs {
        let mut rng = StdRng::seed_from_u64(3);
        group.bench_with_input(BenchmarkId::new("upload", name), data, |b, data| {
            b.iter(|| {
                segment_order_data(
                    &bank_public,
                    black_box(data),
                    SegmentSize::MAX,
                    threads,
                    &mut rng,
                )
                .expect("segment")
            })
        });

        let prepared = segment_order_data(&bank_public, data, SegmentSize::MAX, threads, &mut rng)
            .expect("segment");
        group.bench_with_input(
            BenchmarkId::new("download_in_memory", name),
            &prepared,
            |b, prepared| {
                b.iter(|| {
                    assemble_order_data(
                        &bank_key,
                        &prepared.encrypted_transaction_key,
                        black_box(&prepared.segments),
                        Some(prepared.num_segments()),
                        LIMIT,
                    )
                    .expect("assemble")
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("download_streaming", name),
            &prepared,
            |b, prepared| {
                b.iter(|| {
                    let mut assembler = StreamingAssembler::new(
                        &bank_key,
                        &prepared.encrypted_transaction_key,
                        Some(prepared.num_segments()),
                        LIMIT,
                        std::io::sink(),
                    )
                    .expect("assembler");
                    for segment in black_box(&prepared.segments) {
                        assembler.push(segment).expect("push");
                    }
                    assembler.finish().expect("finish").plaintext_len
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
