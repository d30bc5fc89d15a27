//! The lakehouse reader's unit tests.

use super::*;

#[test]
fn version_hints_parse_with_whitespace_only() {
    assert_eq!(parse_version_hint("28"), Some(28));
    assert_eq!(parse_version_hint(" 4\n"), Some(4));
    assert_eq!(parse_version_hint(""), None);
    assert_eq!(parse_version_hint("v4"), None);
    assert_eq!(parse_version_hint("-1"), None);
}

#[test]
fn metadata_file_names_give_their_version() {
    assert_eq!(metadata_file_version("v1.metadata.json"), Some(1));
    assert_eq!(metadata_file_version("v28.metadata.json"), Some(28));
    assert_eq!(metadata_file_version("v3.gz.metadata.json"), Some(3));
    assert_eq!(metadata_file_version("00001-abc.metadata.json"), None);
    assert_eq!(metadata_file_version("v.metadata.json"), None);
    assert_eq!(metadata_file_version("v+1.metadata.json"), None);
    assert_eq!(metadata_file_version("version-hint.text"), None);
    assert_eq!(metadata_file_version("snap-1-1-x.avro"), None);
}

#[test]
fn file_urls_become_paths() {
    assert_eq!(strip_file_scheme("file:/work/w"), Some("/work/w"));
    assert_eq!(strip_file_scheme("file:///work/w"), Some("/work/w"));
    assert_eq!(strip_file_scheme("file://host/w"), None);
    assert_eq!(strip_file_scheme("/work/w"), None);
    assert_eq!(Warehouse::new("file:/work/w").root(), Path::new("/work/w"));
    assert_eq!(
        Warehouse::new("file:///work/w").root(),
        Path::new("/work/w")
    );
    assert_eq!(Warehouse::new("/work/w").root(), Path::new("/work/w"));
    assert!(Warehouse::new("rel").root().is_absolute());
}

#[test]
fn table_dirs_nest_namespaces_and_refuse_escapes() {
    let warehouse = Warehouse::new("/w");
    assert_eq!(
        warehouse.table_dir("bronze", "events").ok(),
        Some(PathBuf::from("/w/bronze/events"))
    );
    assert_eq!(
        warehouse.table_dir("a.b", "t").ok(),
        Some(PathBuf::from("/w/a/b/t"))
    );
    for (ns, table) in [
        ("..", "t"),
        ("a", "../t"),
        ("", "t"),
        ("a..b", "t"),
        ("a", ""),
    ] {
        assert!(
            matches!(
                warehouse.table_dir(ns, table),
                Err(LakehouseError::Invalid { .. })
            ),
            "{ns}.{table}"
        );
    }
}

fn touch(path: &Path) {
    std::fs::write(path, b"{}").expect("write a test file");
}

#[test]
fn the_current_version_follows_the_hint_then_newer_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let table = dir.path().join("t");
    assert_eq!(current_metadata(&table).ok(), Some(None));
    let metadata = table.join("metadata");
    std::fs::create_dir_all(&metadata).expect("mkdir");
    assert_eq!(current_metadata(&table).ok(), Some(None));

    for v in 1..=3 {
        touch(&metadata.join(format!("v{v}.metadata.json")));
    }
    std::fs::write(metadata.join(VERSION_HINT), "2\n").expect("hint");
    // v3 exists beyond the hint: a writer committed it and has not updated the hint yet.
    let found = current_metadata(&table).ok().flatten().expect("found");
    assert_eq!(found.version, 3);
    assert_eq!(found.file, metadata.join("v3.metadata.json"));

    // A garbled hint falls back to listing the directory.
    std::fs::write(metadata.join(VERSION_HINT), "").expect("hint");
    assert_eq!(
        current_metadata(&table).ok().flatten().map(|m| m.version),
        Some(3)
    );
    std::fs::remove_file(metadata.join(VERSION_HINT)).expect("rm hint");
    assert_eq!(
        current_metadata(&table).ok().flatten().map(|m| m.version),
        Some(3)
    );

    // Compressed metadata counts as a version.
    touch(&metadata.join("v4.gz.metadata.json"));
    let found = current_metadata(&table).ok().flatten().expect("found");
    assert_eq!(found.version, 4);
    assert_eq!(found.file, metadata.join("v4.gz.metadata.json"));

    // A hint naming a missing version is an error that names the table.
    std::fs::write(metadata.join(VERSION_HINT), "9").expect("hint");
    let error = current_metadata(&table).expect_err("missing v9");
    assert!(error.to_string().contains("v9.metadata.json"), "{error}");
    assert!(
        error.to_string().contains(&table.display().to_string()),
        "{error}"
    );
}

#[test]
fn missing_tables_are_reported_not_read_as_empty() {
    let dir = tempfile::tempdir().expect("temp dir");
    let warehouse = Warehouse::new(dir.path());
    assert!(!warehouse.table_exists("bronze", "events").expect("exists"));
    assert!(matches!(
        warehouse.read_gold(),
        Err(LakehouseError::NoTable { .. })
    ));
    assert!(matches!(
        warehouse.table_snapshot_summary("gold", "metrics"),
        Err(LakehouseError::NoTable { .. })
    ));
}

#[test]
fn decimals_print_exactly() {
    let d = |unscaled, scale| Decimal { unscaled, scale }.to_string();
    assert_eq!(d(12_500_000_000, 9), "12.500000000");
    assert_eq!(d(-1, 9), "-0.000000001");
    assert_eq!(d(0, 9), "0.000000000");
    assert_eq!(d(123, 0), "123");
    assert_eq!(d(123, -2), "12300");
    assert_eq!(d(0, -2), "0");
    assert_eq!(d(i128::MIN, 9).len(), 41);
    assert!(
        (Decimal {
            unscaled: 12_500_000_000,
            scale: 9
        }
        .to_f64()
            - 12.5)
            .abs()
            < 1e-12
    );
}

#[test]
fn headers_decode_like_kafka_headers() {
    let headers = RowHeaders(vec![
        ("streamproof.run".into(), Some(b"run-1".to_vec())),
        ("streamproof.send".into(), Some(b"1099511627781".to_vec())),
        ("streamproof.seq".into(), Some(b"7".to_vec())),
        ("streamproof.intended_us".into(), Some(b"123".to_vec())),
        ("other".into(), None),
    ]);
    let meta = headers.meta().expect("streamproof headers");
    assert_eq!(meta.run_id, "run-1");
    assert_eq!((meta.send_id.task(), meta.send_id.index()), (1, 5));
    assert_eq!(meta.key_seq, 7);
    assert_eq!(headers.value("streamproof.run"), Some(&b"run-1"[..]));
    assert_eq!(headers.value("other"), None);
    assert_eq!(RowHeaders::default().meta(), None);
}

#[test]
fn event_ids_come_from_json_values() {
    assert_eq!(
        json_event_id(r#"{"event_id":"a-b","x":1}"#).as_deref(),
        Some("a-b")
    );
    assert_eq!(json_event_id(r#"{"event_id":5}"#), None);
    assert_eq!(json_event_id("not json"), None);
    assert_eq!(json_event_id("[1]"), None);
}

#[test]
fn duplicates_count_extra_copies_in_first_seen_order() {
    let rows = ["b", "a", "b", "c", "a", "b"];
    let found = duplicates_by(&rows, |r| *r);
    assert_eq!(found.rows, 6);
    assert_eq!(found.distinct, 3);
    assert_eq!(found.extra_copies, 3);
    assert_eq!(found.repeated, vec![("b", 3), ("a", 2)]);
    let none = duplicates_by(&[1, 2, 3], |r| *r);
    assert_eq!((none.extra_copies, none.repeated.len()), (0, 0));
}

#[test]
fn runs_inside_and_outside_a_tokio_runtime() {
    assert_eq!(run(|_| 1).ok(), Some(1));
    let outer = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let inside = outer.block_on(async { run(|rt| rt.block_on(async { 2 })).ok() });
    assert_eq!(inside, Some(2));
}
