//! The lakehouse reader against (1) tables this test writes itself, in the Hadoop-catalog
//! layout Flink uses (always runs), and (2) the warehouse the Flink prototype wrote, when it
//! is on this machine (`STREAMPROOF_TEST_WAREHOUSE`, default `/work/flink-proto/warehouse`;
//! skipped with a message otherwise).

mod support;

use std::collections::HashSet;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, Decimal128Array, Float64Array, Int32Array, Int64Array, StringArray,
    TimestampMicrosecondArray,
};
use iceberg::spec::{PrimitiveType, Schema};
use streamproof_loadgen::ledger::{RecordMeta, SendId};
use streamproof_verify::lakehouse::{
    duplicates_by, BronzeRead, LakehouseError, Warehouse, BRONZE, GOLD, SILVER,
};
use support::{as_refs, bronze_schema, field, headers_column, p, retyped, runtime, HadoopTable};

fn gold_schema() -> Schema {
    use PrimitiveType::*;
    let dec = Decimal {
        precision: 38,
        scale: 9,
    };
    Schema::builder()
        .with_fields([
            field(1, "window_start", true, p(Timestamp)),
            field(2, "window_end", true, p(Timestamp)),
            field(3, "event_type", true, p(String)),
            field(4, "metric_name", true, p(String)),
            field(5, "event_count", true, p(Long)),
            field(6, "value_count", true, p(Long)),
            field(7, "value_sum", false, p(Double)),
            field(8, "value_sum_dec", false, p(dec)),
            field(9, "value_avg", false, p(Double)),
            field(10, "value_min", false, p(Double)),
            field(11, "value_max", false, p(Double)),
            field(12, "computed_at", true, p(Timestamptz)),
        ])
        .build()
        .expect("gold schema")
}

fn send_headers(run: &str, send: SendId, seq: u64) -> Vec<(String, Vec<u8>)> {
    vec![
        ("streamproof.run".into(), run.as_bytes().to_vec()),
        ("streamproof.send".into(), send.0.to_string().into_bytes()),
        ("streamproof.seq".into(), seq.to_string().into_bytes()),
        (
            "streamproof.intended_us".into(),
            b"1700000000000000".to_vec(),
        ),
    ]
}

#[test]
fn reads_tables_it_wrote_in_the_hadoop_layout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let warehouse = Warehouse::new(format!("file:{}", root.display()));
    let rt = runtime();

    // v1: the table exists but has no snapshot: reads are empty, not errors.
    let mut bronze = rt.block_on(HadoopTable::create(
        root,
        "bronze",
        "events",
        bronze_schema(),
    ));
    assert!(warehouse.table_exists("bronze", "events").expect("exists"));
    assert!(!warehouse.table_exists("silver", "events").expect("exists"));
    assert_eq!(
        warehouse
            .table_snapshot_summary("bronze", "events")
            .expect("summary"),
        None
    );
    let empty = warehouse.read_bronze().expect("read empty bronze");
    assert_eq!((empty.snapshot, empty.rows.len()), (None, 0));

    // v2: three records, the last a duplicate of the first; one foreign record without
    // streamproof headers, and one with none at all.
    let schema = bronze.arrow_schema();
    let a = send_headers("run-1", SendId::new(0, 0), 0);
    let b = send_headers("run-1", SendId::new(1, 4), 2);
    let header_rows = vec![
        as_refs(&a),
        as_refs(&b),
        vec![("other", None)],
        vec![],
        as_refs(&a),
    ];
    let values = [
        r#"{"event_id":"e-a","event_type":"user_action"}"#,
        r#"{"event_id":"e-b"}"#,
        "not json",
        r#"{"event_id":"e-d"}"#,
        r#"{"event_id":"e-a","event_type":"user_action"}"#,
    ];
    let columns = vec![
        Arc::new(StringArray::from(vec!["raw-events"; 5])) as ArrayRef,
        Arc::new(Int32Array::from(vec![0, 1, 2, 2, 0])),
        Arc::new(Int64Array::from(vec![10, 11, 12, 13, 10])),
        Arc::new(TimestampMicrosecondArray::from(vec![
            Some(1_700_000_000_000_000),
            None,
            Some(1),
            Some(2),
            Some(3),
        ])),
        Arc::new(StringArray::from(vec![
            Some("k0"),
            None,
            Some("k2"),
            None,
            Some("k0"),
        ])),
        Arc::new(StringArray::from(values.to_vec())),
        headers_column(schema.field(6).data_type(), &header_rows),
        Arc::new(TimestampMicrosecondArray::from(vec![5_i64; 5])),
    ];
    rt.block_on(bronze.append(retyped(&schema, columns)));

    let summary = warehouse
        .table_snapshot_summary("bronze", "events")
        .expect("summary")
        .expect("a snapshot");
    assert_eq!(summary.total_records, Some(5));
    assert_eq!(summary.metadata_version, 2);
    assert_eq!(summary.operation, "append");
    assert_eq!(summary.max_committed_checkpoint_id, None);

    let read = warehouse.read_bronze().expect("read bronze");
    assert_eq!(read.snapshot.as_ref(), Some(&summary));
    let mut rows = read.rows;
    rows.sort_by_key(|r| (r.partition, r.offset));
    assert_eq!(rows.len(), 5);
    let metas: Vec<Option<&RecordMeta>> = rows.iter().map(|r| r.meta.as_ref()).collect();
    assert_eq!(metas[0].map(|m| m.send_id), Some(SendId::new(0, 0)));
    assert_eq!(metas[1].map(|m| m.send_id), Some(SendId::new(0, 0)));
    assert_eq!(
        metas[2].map(|m| (m.send_id, m.key_seq)),
        Some((SendId::new(1, 4), 2))
    );
    assert_eq!(metas[3], None);
    assert_eq!(metas[4], None);
    assert_eq!(rows[0].topic, "raw-events");
    assert_eq!(rows[0].key.as_deref(), Some("k0"));
    assert_eq!(rows[2].kafka_timestamp_us, None);
    assert_eq!(rows[4].event_id().as_deref(), Some("e-d"));
    assert_eq!(rows[3].event_id(), None);
    assert!(
        rows.iter().all(|r| r.headers.0.is_empty()),
        "headers not kept by default"
    );

    let dups = duplicates_by(&rows, |r| r.meta.as_ref().map(|m| m.send_id));
    assert_eq!(
        dups.extra_copies, 2,
        "one duplicate send plus two rows without headers"
    );
    let positions = duplicates_by(&rows, |r| (r.topic.clone(), r.partition, r.offset));
    assert_eq!(
        positions.repeated,
        vec![(("raw-events".to_owned(), 0, 10), 2)]
    );

    // Streaming with every header and without values.
    let mut seen = Vec::new();
    let streamed = warehouse
        .visit_bronze(
            BronzeRead {
                raw_value: false,
                headers: true,
            },
            |row| seen.push(row),
        )
        .expect("visit bronze");
    assert_eq!(streamed, Some(summary));
    assert_eq!(seen.len(), 5);
    assert!(seen.iter().all(|r| r.raw_value.is_none()));
    let other = seen.iter().find(|r| r.offset == 12).expect("offset 12");
    assert_eq!(other.headers.0, vec![("other".to_owned(), None)]);

    // Gold: decimals exact, timestamps without zone, nullable aggregates.
    let mut gold = rt.block_on(HadoopTable::create(root, "gold", "metrics", gold_schema()));
    let schema = gold.arrow_schema();
    let columns = vec![
        Arc::new(TimestampMicrosecondArray::from(vec![0_i64, 10_000_000])) as ArrayRef,
        Arc::new(TimestampMicrosecondArray::from(vec![
            10_000_000_i64,
            20_000_000,
        ])),
        Arc::new(StringArray::from(vec!["transaction", "user_action"])),
        Arc::new(StringArray::from(vec!["amount.EUR", "events"])),
        Arc::new(Int64Array::from(vec![3, 2])),
        Arc::new(Int64Array::from(vec![3, 0])),
        Arc::new(Float64Array::from(vec![Some(37.5), None])),
        Arc::new(Decimal128Array::from(vec![Some(37_500_000_001_i128), None])),
        Arc::new(Float64Array::from(vec![Some(12.5), None])),
        Arc::new(Float64Array::from(vec![Some(-1.0), None])),
        Arc::new(Float64Array::from(vec![Some(30.0), None])),
        Arc::new(TimestampMicrosecondArray::from(vec![7_i64, 8])),
    ];
    rt.block_on(gold.append(retyped(&schema, columns)));
    let mut gold_rows = warehouse.read_gold().expect("read gold").rows;
    gold_rows.sort_by_key(|r| r.window_start_us);
    assert_eq!(gold_rows.len(), 2);
    assert_eq!(gold_rows[0].window_end_us, 10_000_000);
    assert_eq!(gold_rows[0].event_count, 3);
    assert_eq!(
        gold_rows[0].value_sum_dec.map(|d| d.to_string()).as_deref(),
        Some("37.500000001")
    );
    assert_eq!(gold_rows[0].value_avg, Some(12.5));
    assert_eq!(gold_rows[1].value_sum_dec, None);
    assert_eq!(gold_rows[1].value_sum, None);
    assert_eq!(gold_rows[1].metric_name, "events");

    // A table whose schema lacks a column the reader needs: the error names table and column.
    let mut wrong = rt.block_on(HadoopTable::create(root, "silver", "events", gold_schema()));
    // No snapshot yet: nothing is read, so nothing is wrong.
    assert!(warehouse
        .read_silver()
        .expect("empty silver")
        .rows
        .is_empty());
    let schema = wrong.arrow_schema();
    let columns = vec![
        Arc::new(TimestampMicrosecondArray::from(vec![0_i64])) as ArrayRef,
        Arc::new(TimestampMicrosecondArray::from(vec![1_i64])),
        Arc::new(StringArray::from(vec!["t"])),
        Arc::new(StringArray::from(vec!["m"])),
        Arc::new(Int64Array::from(vec![1])),
        Arc::new(Int64Array::from(vec![1])),
        Arc::new(Float64Array::from(vec![Some(1.0)])),
        Arc::new(Decimal128Array::from(vec![Some(1_i128)])),
        Arc::new(Float64Array::from(vec![Some(1.0)])),
        Arc::new(Float64Array::from(vec![Some(1.0)])),
        Arc::new(Float64Array::from(vec![Some(1.0)])),
        Arc::new(TimestampMicrosecondArray::from(vec![1_i64])),
    ];
    rt.block_on(wrong.append(retyped(&schema, columns)));
    let error = warehouse.read_silver().expect_err("silver lacks event_id");
    assert!(matches!(error, LakehouseError::Invalid { .. }), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("event_id") && text.contains("silver/events"),
        "{text}"
    );

    // Called from inside a tokio runtime, the blocking reader still works.
    let inside = rt.block_on(async { warehouse.read_gold().map(|r| r.rows.len()) });
    assert_eq!(inside.expect("read gold inside a runtime"), 2);
}

// ---------------------------------------------------------------------------------------
// The warehouse the Flink prototype wrote.

fn prototype_warehouse() -> Option<Warehouse> {
    let root = std::env::var("STREAMPROOF_TEST_WAREHOUSE")
        .unwrap_or_else(|_| "/work/flink-proto/warehouse".to_owned());
    let warehouse = Warehouse::new(&root);
    let present = [BRONZE, SILVER, GOLD]
        .iter()
        .all(|(ns, table)| warehouse.table_exists(ns, table).unwrap_or(false));
    if !present {
        eprintln!(
            "SKIPPED: no Flink-written warehouse with bronze.events, silver.events and \
             gold.metrics at {root} (set STREAMPROOF_TEST_WAREHOUSE)"
        );
        return None;
    }
    Some(warehouse)
}

#[test]
fn reads_the_warehouse_flink_wrote() {
    let Some(warehouse) = prototype_warehouse() else {
        return;
    };
    let started = std::time::Instant::now();

    let bronze = warehouse.read_bronze().expect("read bronze");
    let snapshot = bronze.snapshot.as_ref().expect("bronze has a snapshot");
    assert_eq!(Some(bronze.rows.len() as u64), snapshot.total_records);
    assert!(
        snapshot.max_committed_checkpoint_id.is_some(),
        "{snapshot:?}"
    );
    let positions = duplicates_by(&bronze.rows, |r| (r.topic.clone(), r.partition, r.offset));
    assert_eq!(positions.extra_copies, 0, "{:?}", &positions.repeated[..]);
    let with_meta = bronze.rows.iter().filter(|r| r.meta.is_some()).count();
    let runs: HashSet<&str> = bronze
        .rows
        .iter()
        .filter_map(|r| r.meta.as_ref().map(|m| m.run_id.as_str()))
        .collect();
    eprintln!(
        "bronze: {} rows (snapshot {} v{}, checkpoint {:?}), {with_meta} with streamproof \
         headers from {} runs",
        bronze.rows.len(),
        snapshot.snapshot_id,
        snapshot.metadata_version,
        snapshot.max_committed_checkpoint_id,
        runs.len()
    );

    let silver = warehouse.read_silver().expect("read silver");
    let snapshot = silver.snapshot.as_ref().expect("silver has a snapshot");
    assert_eq!(Some(silver.rows.len() as u64), snapshot.total_records);
    let ids = duplicates_by(&silver.rows, |r| r.event_id.clone());
    assert_eq!(
        ids.extra_copies, 0,
        "silver holds an event twice: {:?}",
        ids.repeated
    );
    // Every silver row came from a bronze row at the same Kafka coordinates.
    let in_bronze: HashSet<(&str, i32, i64)> = bronze
        .rows
        .iter()
        .map(|r| (r.topic.as_str(), r.partition, r.offset))
        .collect();
    let orphans = silver
        .rows
        .iter()
        .filter(|r| !in_bronze.contains(&(r.topic.as_str(), r.partition, r.offset)))
        .count();
    eprintln!(
        "silver: {} rows, {} distinct event ids, {orphans} not (yet) in the bronze snapshot read",
        silver.rows.len(),
        ids.distinct
    );

    let gold = warehouse.read_gold().expect("read gold");
    let snapshot = gold.snapshot.as_ref().expect("gold has a snapshot");
    assert_eq!(Some(gold.rows.len() as u64), snapshot.total_records);
    let groups = duplicates_by(&gold.rows, |r| {
        (
            r.window_start_us,
            r.event_type.clone(),
            r.metric_name.clone(),
        )
    });
    assert_eq!(groups.extra_copies, 0, "{:?}", groups.repeated);
    assert!(gold
        .rows
        .iter()
        .all(|r| r.window_end_us > r.window_start_us));
    assert!(gold.rows.iter().all(|r| r.value_count <= r.event_count));
    let decimal_matches_double = gold
        .rows
        .iter()
        .filter_map(|r| Some((r.value_sum?, r.value_sum_dec?)))
        .all(|(double, dec)| (double - dec.to_f64()).abs() <= 1e-6 * double.abs().max(1.0));
    assert!(decimal_matches_double);
    eprintln!(
        "gold: {} rows; all three tables read in {:.2}s",
        gold.rows.len(),
        started.elapsed().as_secs_f64()
    );

    // The cheap summary agrees with what the reads saw (the pipeline may have committed
    // since: then only newer).
    for ((ns, table), read) in [
        (BRONZE, bronze.snapshot.as_ref()),
        (SILVER, silver.snapshot.as_ref()),
        (GOLD, gold.snapshot.as_ref()),
    ] {
        let now = warehouse
            .table_snapshot_summary(ns, table)
            .expect("summary")
            .expect("a snapshot");
        let read = read.expect("read a snapshot");
        assert!(now.sequence_number >= read.sequence_number, "{ns}.{table}");
    }
}
