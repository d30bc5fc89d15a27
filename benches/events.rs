//! Hot paths of publishing an event: validation, serialization and routing, per event.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use streamproof_platform::events::{EventHeader, EventSchema, TransactionEvent, UserActionEvent};
use streamproof_platform::routing::route;

fn transaction() -> EventSchema {
    TransactionEvent {
        header: EventHeader::new("payment-gateway", chrono::Utc::now()),
        transaction_id: "txn-123".into(),
        account_id: Some("acc-7".into()),
        amount: 99.99,
        currency: "USD".into(),
        transaction_type: "payment".into(),
    }
    .into()
}

fn user_action() -> EventSchema {
    UserActionEvent {
        header: EventHeader::new("web-app", chrono::Utc::now()),
        user_id: "user-123".into(),
        action: "view_product".into(),
        resource: Some("product-789".into()),
    }
    .into()
}

fn per_event(c: &mut Criterion) {
    let mut group = c.benchmark_group("event");
    group.throughput(Throughput::Elements(1));
    for (name, event) in [
        ("transaction", transaction()),
        ("user_action", user_action()),
    ] {
        group.bench_function(format!("validate/{name}"), |b| {
            b.iter(|| black_box(&event).validate())
        });
        group.bench_function(format!("to_json/{name}"), |b| {
            b.iter(|| black_box(&event).to_json())
        });
        group.bench_function(format!("route/{name}"), |b| {
            b.iter(|| route(black_box(&event)))
        });
    }
    group.finish();
}

// No plots: the charts' font lookup fails on machines without fonts, and the figures are
// read from the text output and docs/performance.md.
criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = per_event
}
criterion_main!(benches);
