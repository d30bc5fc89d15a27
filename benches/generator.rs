//! The generator's per-send work on the producer's hot path: building the next event, the
//! ledger entry (with the digest of the bytes sent), the record's headers, and for a
//! registered format the value in the schema registry's wire format.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use streamproof_loadgen::generator::EventFactory;
use streamproof_loadgen::ledger::{record_headers, LedgerEntry, RecordDigest, SendId};
use streamproof_loadgen::spec::LoadSpec;
use streamproof_loadgen::wire::{WireEncoder, WriterSchema};
use streamproof_platform::events::EventType;
use streamproof_platform::schemas::{avro_schema, AvroEvent};

fn spec(payload_bytes: usize) -> LoadSpec {
    serde_saphyr::from_str(&format!(
        "duration: 10s\nrate: max\nmix:\n  user_action: 1\n  transaction: 1\nkeys:\n  cardinality: 10000\npayload_bytes: {payload_bytes}\n"
    ))
    .expect("a load section")
}

fn per_send(c: &mut Criterion) {
    let mut group = c.benchmark_group("send");
    group.throughput(Throughput::Elements(1));
    for payload in [256, 1024] {
        let mut factory = EventFactory::new(&spec(payload), 1, 7, 0, 1).expect("a factory");
        let intended = chrono::Utc::now();
        let mut index = 0;
        group.bench_function(format!("generate/{payload}B"), |b| {
            b.iter(|| {
                index += 1;
                black_box(factory.next(index, intended).body.len())
            })
        });
        let planned = factory.next(0, intended).clone();
        for (format, encoder) in encoders() {
            let mut value = Vec::new();
            group.bench_function(format!("encode/{format}/{payload}B"), |b| {
                b.iter(|| {
                    encoder.encode(
                        planned.topic,
                        planned.kind,
                        black_box(&planned.body),
                        &mut value,
                    );
                    black_box(value.len())
                })
            });
        }
        group.bench_function(format!("ledger_entry/{payload}B"), |b| {
            b.iter(|| {
                LedgerEntry::pending(
                    planned.topic,
                    planned.kind,
                    0,
                    false,
                    false,
                    RecordDigest::of(black_box(planned.key.as_bytes()), black_box(&planned.body)),
                )
            })
        });
    }
    group.bench_function("headers", |b| {
        b.iter(|| {
            record_headers(
                black_box("3f2a8c1e-5b7d-4e9f-a1c3-0d6e8f2b4a7c"),
                SendId::new(0, black_box(123_456)),
                black_box(42),
                black_box(1_764_500_000_000_000),
            )
        })
    });
    group.finish();
}

/// Encoders of both registered formats, with the shipped schemas as writers.
fn encoders() -> [(&'static str, WireEncoder); 2] {
    let avro = EventType::ALL
        .iter()
        .enumerate()
        .map(|(id, event_type)| WriterSchema {
            id: id as u32 + 1,
            avro: Some(std::sync::Arc::new(
                AvroEvent::parse(avro_schema(*event_type)).expect("a shipped schema"),
            )),
        })
        .collect();
    let json = (1..=5).map(|id| WriterSchema { id, avro: None }).collect();
    [
        ("avro", WireEncoder::new(avro)),
        ("json-schema", WireEncoder::new(json)),
    ]
}

// No plots: the charts' font lookup fails on machines without fonts, and the figures are
// read from the text output and docs/performance.md.
criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = per_send
}
criterion_main!(benches);
