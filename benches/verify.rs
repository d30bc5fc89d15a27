//! Hot paths of the checker, per record: the digest of a record's key and value that every
//! record read is compared with (and every send computes once).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use streamproof_loadgen::ledger::RecordDigest;

fn digest(c: &mut Criterion) {
    let mut group = c.benchmark_group("record_digest");
    let key = b"user-4242";
    for size in [256usize, 1024, 4096] {
        let value = vec![b'x'; size];
        group.throughput(Throughput::Bytes((key.len() + size) as u64));
        group.bench_function(format!("{size}B"), |b| {
            b.iter(|| RecordDigest::of(black_box(key), black_box(&value)))
        });
    }
    group.finish();
}

// No plots: the charts' font lookup fails on machines without fonts, and the figures are
// read from the text output and docs/performance.md.
criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = digest
}
criterion_main!(benches);
