//! The gold check's unit tests.

use super::*;

const T0: i64 = 1_700_000_000_000_000; // 2023-11-14T22:13:20Z, on a 10 s boundary
const W: Duration = Duration::from_secs(10);

fn input(
    send: u64,
    event_type: EventType,
    metric: &str,
    value: Option<&str>,
    offset_ms: i64,
) -> GoldInput {
    GoldInput {
        send: SendId(send),
        event_type,
        metric_name: metric.to_owned(),
        value: value.map(|v| parse_decimal(v).unwrap()),
        event_time_us: T0 + offset_ms * 1_000,
        late: false,
    }
}

fn hand_made() -> Vec<GoldInput> {
    vec![
        input(1, EventType::MetricEvent, "metric-1", Some("12.34"), 0),
        input(2, EventType::MetricEvent, "metric-1", Some("0.01"), 9_999),
        input(
            3,
            EventType::MetricEvent,
            "metric-1",
            Some("999.99"),
            10_000,
        ),
        input(4, EventType::Transaction, "amount.USD", Some("0.1"), 1_000),
        input(5, EventType::Transaction, "amount.USD", Some("0.2"), 2_000),
        input(6, EventType::UserAction, "events", None, 3_000),
        input(7, EventType::UserAction, "events", None, 4_000),
        input(8, EventType::UserAction, "events", None, 25_000),
    ]
}

fn key(offset_s: i64, event_type: &str, metric: &str) -> WindowKey {
    WindowKey {
        window_start_us: T0 + offset_s * 1_000_000,
        event_type: event_type.to_owned(),
        metric_name: metric.to_owned(),
    }
}

fn gold_of(expected: &BTreeMap<WindowKey, WindowAggregate>) -> Vec<GoldRow> {
    expected.iter().map(|(k, a)| expected_row(k, a)).collect()
}

#[test]
fn gold_recomputes_a_hand_made_set_exactly() {
    let windows = recompute_windows(hand_made(), W);
    assert_eq!(windows.len(), 5);
    let first = &windows[&key(0, "metric_event", "metric-1")];
    assert_eq!(first.window_end_us, T0 + 10_000_000);
    assert_eq!(
        first.on_time,
        Totals {
            event_count: 2,
            value_count: 2,
            value_sum: 12_350_000_000,
            value_min: Some(10_000_000),
            value_max: Some(12_340_000_000),
        }
    );
    assert_eq!(first.on_time.value_avg(), Some(6.175));
    let next = &windows[&key(10, "metric_event", "metric-1")];
    assert_eq!(next.on_time.value_sum, 999_990_000_000);
    // 0.1 + 0.2 is exactly 0.3 in decimal
    let usd = &windows[&key(0, "transaction", "amount.USD")];
    assert_eq!(usd.on_time.value_sum, 300_000_000);
    assert_eq!(decimal_text(usd.on_time.value_sum), "0.300000000");
    let users = &windows[&key(0, "user_action", "events")];
    assert_eq!(
        (users.on_time.event_count, users.on_time.value_count),
        (2, 0)
    );
    assert_eq!(users.on_time.value_avg(), None);
    assert_eq!(
        windows[&key(20, "user_action", "events")]
            .on_time
            .event_count,
        1
    );
    assert_eq!(late_excluded(&windows), 0);

    let findings = check_gold(&windows, &gold_of(&windows));
    assert!(findings.is_clean(), "{findings:?}");
    assert_eq!(
        (findings.windows_checked, findings.windows_matching),
        (5, 5)
    );
    assert_eq!(findings.events_recomputed, 8);
}

#[test]
fn gold_rows_with_a_wrong_sum_or_count_are_mismatched() {
    let windows = recompute_windows(hand_made(), W);
    let mut gold = gold_of(&windows);
    let usd = gold
        .iter_mut()
        .find(|r| r.metric_name == "amount.USD")
        .unwrap();
    usd.value_sum_dec = Some(Decimal {
        unscaled: 300_000_001,
        scale: 9,
    });
    let users = gold
        .iter_mut()
        .find(|r| r.event_type == "user_action" && r.event_count == 2)
        .unwrap();
    users.event_count = 3;
    let findings = check_gold(&windows, &gold);
    assert_eq!(findings.windows_checked, 5);
    assert_eq!(findings.windows_mismatched, 2);
    assert_eq!(findings.windows_matching, 3);
    assert_eq!(findings.windows_missing + findings.windows_unexpected, 0);
    let examples = &findings.examples["mismatched"];
    assert_eq!(examples.len(), 2);
    assert!(
        examples.iter().any(|e| e.contains("amount.USD")
            && e.contains("sum 0.300000000")
            && e.contains("sum 0.300000001")
            && e.contains("differs: value_sum_dec")),
        "{examples:?}"
    );
    assert!(
        examples
            .iter()
            .any(|e| e.contains("events 2,") && e.contains("events 3,")),
        "{examples:?}"
    );
    assert!(!findings.is_clean());
}

#[test]
fn gold_decimal_sums_compare_across_scales_and_floats_within_tolerance() {
    let windows = recompute_windows(hand_made(), W);
    let mut gold = gold_of(&windows);
    for row in &mut gold {
        if let Some(sum) = row.value_sum_dec.as_mut() {
            *sum = Decimal {
                unscaled: sum.unscaled / 10_000_000,
                scale: 2,
            };
        }
        row.value_avg = row.value_avg.map(|a| a * (1.0 + 1e-12));
    }
    assert!(check_gold(&windows, &gold).is_clean());
    gold[0].value_avg = gold[0].value_avg.map(|a| a * (1.0 + 1e-6));
    let findings = check_gold(&windows, &gold);
    assert_eq!(findings.windows_mismatched, 1);
    assert!(findings.examples["mismatched"][0].contains("differs: value_avg"));
}

#[test]
fn a_closed_window_without_a_gold_row_is_missing() {
    let windows = recompute_windows(hand_made(), W);
    let gold: Vec<GoldRow> = gold_of(&windows)
        .into_iter()
        .filter(|r| r.metric_name != "amount.USD")
        .collect();
    let findings = check_gold(&windows, &gold);
    assert_eq!(findings.windows_missing, 1);
    assert_eq!(findings.windows_checked, 5);
    assert_eq!(findings.windows_matching, 4);
    assert!(findings.examples["missing"][0].contains("transaction/amount.USD"));
    assert!(findings.examples["missing"][0].contains("2023-11-14T22:13:20.000Z"));
}

#[test]
fn open_windows_after_the_last_gold_window_are_not_flagged() {
    let windows = recompute_windows(hand_made(), W);
    // gold has fired only the first window (end T0 + 10 s)
    let gold: Vec<GoldRow> = gold_of(&windows)
        .into_iter()
        .filter(|r| r.window_start_us == T0)
        .collect();
    let findings = check_gold(&windows, &gold);
    assert!(findings.is_clean(), "{findings:?}");
    assert_eq!(findings.horizon_end_us, Some(T0 + 10_000_000));
    assert_eq!(findings.windows_checked, 3);
    assert_eq!(findings.windows_open, 2);
    // no gold at all: nothing is closed yet
    let findings = check_gold(&windows, &[]);
    assert_eq!((findings.windows_checked, findings.windows_open), (0, 5));
}

#[test]
fn unexpected_and_duplicated_gold_rows_are_counted() {
    let windows = recompute_windows(hand_made(), W);
    let mut gold = gold_of(&windows);
    gold.push(gold[0].clone());
    let mut stray = gold[0].clone();
    stray.metric_name = "metric-999".to_owned();
    gold.push(stray);
    let findings = check_gold(&windows, &gold);
    assert_eq!(findings.windows_duplicated, 1);
    assert_eq!(findings.windows_unexpected, 1);
    assert_eq!(findings.windows_matching, 5);
    assert_eq!(findings.windows_checked, 6);
}

#[test]
fn late_events_are_excluded_but_may_be_admitted() {
    let mut events = hand_made();
    let mut late = input(9, EventType::MetricEvent, "metric-1", Some("5"), 500);
    late.late = true;
    events.push(late.clone());
    late.send = SendId(10);
    late.event_time_us -= 600_000_000; // ten minutes before, alone in its window
    events.push(late);
    let windows = recompute_windows(events, W);
    assert_eq!(late_excluded(&windows), 2);
    assert_eq!(
        windows[&key(0, "metric_event", "metric-1")]
            .on_time
            .event_count,
        2
    );

    // Flink dropped both: gold matches, the late-only window is not missing
    let on_time_gold: Vec<GoldRow> = gold_of(&windows)
        .into_iter()
        .filter(|r| r.event_count > 0)
        .collect();
    let findings = check_gold(&windows, &on_time_gold);
    assert!(findings.is_clean(), "{findings:?}");
    assert_eq!(findings.late_excluded, 2);
    assert_eq!(findings.windows_checked, 5);

    // Flink admitted both: each window holds on-time plus late
    let mut admitted = Vec::new();
    for (key, aggregate) in &windows {
        let mut all = *aggregate;
        all.on_time = aggregate.on_time.merged(&aggregate.late);
        admitted.push(expected_row(key, &all));
    }
    let findings = check_gold(&windows, &admitted);
    assert!(findings.is_clean(), "{findings:?}");
    assert_eq!(findings.windows_late_admitted, 2);
    assert_eq!(findings.late_admitted, 2);
    assert_eq!(findings.windows_matching, 4);
}

#[test]
fn decimals_parse_exactly_and_round_half_up() {
    assert_eq!(parse_decimal("12.34"), Some(12_340_000_000));
    assert_eq!(parse_decimal("5.0"), Some(5_000_000_000));
    assert_eq!(parse_decimal("7"), Some(7_000_000_000));
    assert_eq!(parse_decimal("-0.5"), Some(-500_000_000));
    assert_eq!(parse_decimal("1e-7"), Some(100));
    assert_eq!(parse_decimal("1.5E2"), Some(150_000_000_000));
    assert_eq!(parse_decimal("0.0000000015"), Some(2));
    assert_eq!(parse_decimal("0.0000000014"), Some(1));
    assert_eq!(parse_decimal("0.00000000049"), Some(0));
    assert_eq!(parse_decimal("0.0000000005"), Some(1));
    assert_eq!(parse_decimal("1e30"), None);
    assert_eq!(parse_decimal("12a"), None);
    assert_eq!(parse_decimal("."), None);
}

#[test]
fn timestamps_parse_as_silver_reads_them() {
    assert_eq!(parse_event_time_us("2023-11-14T22:13:20.000Z"), Some(T0));
    assert_eq!(parse_event_time_us("2023-11-14T22:13:20Z"), Some(T0));
    assert_eq!(
        parse_event_time_us("2023-11-14T22:13:20.123456+00:00"),
        Some(T0 + 123_000)
    );
    assert_eq!(
        parse_event_time_us("2024-02-29T00:00:00.5-00:00").map(|t| t % 1_000_000),
        Some(500_000)
    );
    assert_eq!(parse_event_time_us("2023-02-29T00:00:00Z"), None);
    assert_eq!(parse_event_time_us("2023-11-14T22:13:20+01:00"), None);
    assert_eq!(parse_event_time_us("yesterday at noon"), None);
    assert_eq!(format_us(T0 + 123_000), "2023-11-14T22:13:20.123Z");
    assert_eq!(format_us(0), "1970-01-01T00:00:00.000Z");
    for us in [0, T0, 951_782_400_000_000, 4_102_444_800_123_000] {
        assert_eq!(parse_event_time_us(&format_us(us)), Some(us));
    }
    // against chrono, one day apart over ~270 years, with a millisecond part
    for day in (-60_000i64..40_000).step_by(7) {
        let us = day * 86_400_000_000 + 45_296_789_000;
        let at = chrono::DateTime::from_timestamp_micros(us).unwrap();
        let text = at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        assert_eq!(format_us(us), text);
        assert_eq!(parse_event_time_us(&text), Some(us));
    }
}

#[test]
fn bodies_derive_silver_columns() {
    let body = br#"{"event_id":"x","event_type":"transaction","event_timestamp":"2023-11-14T22:13:20.000Z",
        "payload":{"amount":12.5,"currency":"EUR","transaction_id":"t"},"metadata":{"padding":"xx"}}"#;
    let input = gold_input_from_body(SendId(3), body, true).unwrap();
    assert_eq!(input.event_type, EventType::Transaction);
    assert_eq!(input.metric_name, "amount.EUR");
    assert_eq!(input.value, Some(12_500_000_000));
    assert_eq!(input.event_time_us, T0);
    assert!(input.late);
    let body = br#"{"event_type":"metric_event","event_timestamp":"2023-11-14T22:13:20.999Z",
        "payload":{"metric_name":"metric-7","metric_value":0.01}}"#;
    let input = gold_input_from_body(SendId(4), body, false).unwrap();
    assert_eq!(
        (input.metric_name.as_str(), input.value),
        ("metric-7", Some(10_000_000))
    );
    let body =
        br#"{"event_type":"log_event","event_timestamp":"2023-11-14T22:13:20Z","payload":{}}"#;
    let input = gold_input_from_body(SendId(5), body, false).unwrap();
    assert_eq!((input.metric_name.as_str(), input.value), ("events", None));
    assert!(gold_input_from_body(SendId(6), b"{not json", false).is_err());
    let body = br#"{"event_type":"metric_event","event_timestamp":"2023-11-14T22:13:20Z","payload":{"metric_name":"m","metric_value":"1"}}"#;
    assert!(gold_input_from_body(SendId(7), body, false).is_err());
}

#[test]
fn the_open_loop_schedule_matches_the_drivers_arithmetic() {
    // the driver: intended = start + phase + interval * index (Instants), then RunClock
    let start = std::time::Instant::now();
    let (rate, tasks) = (300.0, 3);
    for task in 0..tasks {
        let interval = Duration::from_secs_f64(tasks as f64 / rate);
        let phase = Duration::from_secs_f64(task as f64 / rate);
        for index in [0usize, 1, 2, 999, 123_457] {
            let intended = start + phase + interval * index as u32;
            let driver = T0 + intended.saturating_duration_since(start).as_micros() as i64;
            assert_eq!(open_loop_intended_us(T0, rate, tasks, task, index), driver);
        }
    }
}
