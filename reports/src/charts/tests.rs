//! Unit tests.

use super::*;

#[test]
fn percentile_positions_and_labels_round_trip() {
    assert_eq!(percentile_x(50.0), Some(2.0));
    assert_eq!(percentile_x(100.0), None);
    assert_eq!(percentile_x(f64::NAN), None);
    let labels: Vec<String> = [2.0, 10.0, 100.0, 1000.0, 10000.0]
        .into_iter()
        .map(percentile_label)
        .collect();
    assert_eq!(labels, ["50%", "90%", "99%", "99.9%", "99.99%"]);
}

#[test]
fn downsampling_keeps_extremes_and_gaps() {
    let mut points: Points = (0..100_000).map(|i| (i as f64, Some(1.0))).collect();
    points[50_000].1 = Some(1000.0);
    points[70_000].1 = Some(0.0);
    for point in &mut points[90_000..] {
        point.1 = None;
    }
    let drawn = downsample(&points, 4000);
    assert!(drawn.len() <= 4000, "{}", drawn.len());
    assert!(drawn.contains(&(50_000.0, Some(1000.0))));
    assert!(drawn.contains(&(70_000.0, Some(0.0))));
    assert!(drawn.iter().any(|p| p.1.is_none()));
    assert!(drawn.windows(2).all(|w| w[0].0 < w[1].0));
}

#[test]
fn ranges_are_never_degenerate() {
    assert_eq!(value_range(std::iter::empty(), Scale::Linear), 0.0..1.0);
    assert_eq!(value_range(std::iter::empty(), Scale::Log), 0.1..10.0);
    assert_eq!(value_range([0.0].into_iter(), Scale::Log), 0.1..10.0);
    assert_eq!(value_range([0.0, 0.0].into_iter(), Scale::Linear), 0.0..1.0);
    let single = value_range([5.0].into_iter(), Scale::Log);
    assert!(single.start > 0.0 && single.start < 5.0 && single.end > 5.0);
}

#[test]
fn segments_break_at_gaps_and_at_zero_on_a_log_axis() {
    let points = vec![
        (0.0, Some(1.0)),
        (1.0, Some(0.0)),
        (2.0, None),
        (3.0, Some(2.0)),
    ];
    assert_eq!(segments(&points, true).len(), 2);
    assert_eq!(segments(&points, false).len(), 2);
    assert_eq!(segments(&points, false)[0].len(), 2);
}

#[test]
fn compact_numbers_stay_short() {
    assert_eq!(compact_number(0.0), "0");
    assert_eq!(compact_number(0.25), "0.25");
    assert_eq!(compact_number(400.0), "400");
    assert_eq!(compact_number(1500.0), "1.5k");
    assert_eq!(compact_number(25_000.0), "25k");
    assert_eq!(compact_number(3_000_000.0), "3M");
}
