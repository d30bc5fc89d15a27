//! Comparison of runs flags real regressions and stays quiet about noise.

mod common;

use streamproof_reports::compare::{compare, compare_many, Change, Comparison, Tolerances};
use streamproof_reports::result::RunResult;
use streamproof_reports::{html, markdown};

fn change_of(comparison: &Comparison, name: &str) -> Change {
    comparison
        .metrics
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no figure {name}"))
        .change
}

fn regressed(comparison: &Comparison) -> Vec<&str> {
    comparison
        .metrics
        .iter()
        .filter(|m| m.change == Change::Regressed)
        .map(|m| m.name.as_str())
        .collect()
}

/// p99 doubled, throughput down 30 %, five records lost and the `lost` check failing.
fn worse(result: &RunResult) -> RunResult {
    let mut worse = common::scaled(result, 0.7, 1.0);
    worse.latency.produce.p99_us *= 2;
    worse.counts.lost = 5;
    for check in &mut worse.checks {
        if check.name == "lost" {
            check.actual = "5".to_owned();
            check.passed = false;
        }
    }
    worse
}

#[test]
fn slower_lakehouse_visibility_and_a_silver_duplicate_are_regressions() {
    let baseline = common::pipeline_smoke();
    let mut candidate = baseline.clone();
    let lake = candidate.lakehouse.as_mut().unwrap();
    lake.silver_duplicates = 1;
    lake.silver_visible.as_mut().unwrap().p99_us *= 3;
    lake.gold.as_mut().unwrap().late_dropped = 12;
    let comparison = compare(
        std::slice::from_ref(&baseline),
        &[candidate],
        &Tolerances::default(),
    );
    assert_eq!(
        regressed(&comparison),
        vec![
            "visible in silver p99",
            "lakehouse anomalies",
            "gold records dropped as late"
        ]
    );
    assert_eq!(
        change_of(&comparison, "visible in silver p50"),
        Change::Unchanged
    );
    let same = compare(
        std::slice::from_ref(&baseline),
        std::slice::from_ref(&baseline),
        &Tolerances::default(),
    );
    assert!(!same.regressed());
}

#[test]
fn a_real_regression_is_flagged() {
    let baseline = common::broker_kill();
    let comparison = compare(
        std::slice::from_ref(&baseline),
        &[worse(&baseline)],
        &Tolerances::default(),
    );
    assert!(comparison.regressed());
    assert_eq!(
        change_of(&comparison, "throughput (acknowledged)"),
        Change::Regressed
    );
    assert_eq!(
        change_of(&comparison, "produce latency p99"),
        Change::Regressed
    );
    assert_eq!(change_of(&comparison, "lost"), Change::Regressed);
    assert_eq!(change_of(&comparison, "check lost"), Change::Regressed);
    assert_eq!(
        change_of(&comparison, "produce latency p50"),
        Change::Unchanged
    );
    let throughput = comparison
        .metrics
        .iter()
        .find(|m| m.name == "throughput (acknowledged)")
        .unwrap();
    let change = throughput.change_percent.unwrap();
    assert!((change + 30.0).abs() < 1e-9, "{change}");
}

#[test]
fn a_regression_beyond_the_noise_of_repetitions_is_flagged() {
    let base = common::broker_kill();
    let baseline: Vec<RunResult> = [(0.98, 0.95), (1.0, 1.0), (1.02, 1.05)]
        .iter()
        .map(|&(t, l)| common::scaled(&base, t, l))
        .collect();
    let candidate: Vec<RunResult> = baseline.iter().map(worse).collect();
    let comparison = compare(&baseline, &candidate, &Tolerances::default());
    assert_eq!(
        regressed(&comparison),
        [
            "throughput (acknowledged)",
            "throughput (bytes)",
            "throughput outside faults",
            "throughput during faults",
            "produce latency p99",
            "lost",
            "check lost"
        ]
    );
}

#[test]
fn the_same_run_twice_is_unchanged() {
    let run = common::broker_kill();
    let comparison = compare(
        &[run.clone(), run.clone()],
        &[run.clone(), run],
        &Tolerances::default(),
    );
    assert_eq!(comparison.verdict, Change::Unchanged);
    assert!(comparison
        .metrics
        .iter()
        .all(|m| m.change == Change::Unchanged));
}

#[test]
fn jittered_repetitions_stay_quiet() {
    let base = common::broker_kill();
    let jitter = |factors: &[(f64, f64)]| -> Vec<RunResult> {
        factors
            .iter()
            .map(|&(t, l)| common::scaled(&base, t, l))
            .collect()
    };
    // Within the tolerances: unchanged.
    let baseline = jitter(&[(0.99, 0.97), (1.0, 1.0), (1.01, 1.04)]);
    let candidate = jitter(&[(0.985, 1.02), (1.005, 1.06), (0.97, 0.99)]);
    let comparison = compare(&baseline, &candidate, &Tolerances::default());
    assert!(!comparison.regressed(), "{:?}", regressed(&comparison));

    // Medians apart by more than the tolerance, but inside the spread of the runs.
    let baseline = jitter(&[(0.85, 0.8), (1.0, 1.0), (1.1, 1.3)]);
    let candidate = jitter(&[(0.9, 1.2), (0.92, 1.25), (1.05, 1.35)]);
    let comparison = compare(&baseline, &candidate, &Tolerances::default());
    assert!(!comparison.regressed(), "{:?}", regressed(&comparison));
    assert_eq!(
        change_of(&comparison, "produce latency p99"),
        Change::WithinNoise
    );
    assert_eq!(
        change_of(&comparison, "throughput (acknowledged)"),
        Change::WithinNoise
    );
    assert_eq!(comparison.verdict, Change::WithinNoise);
}

#[test]
fn tolerances_decide_what_counts() {
    let base = common::broker_kill();
    let slower = common::scaled(&base, 1.0, 1.15);
    let strict = compare(
        std::slice::from_ref(&base),
        std::slice::from_ref(&slower),
        &Tolerances::default(),
    );
    assert_eq!(change_of(&strict, "produce latency p99"), Change::Regressed);
    let lenient = Tolerances {
        latency_rise_percent: 20.0,
        ..Tolerances::default()
    };
    let relaxed = compare(&[base], &[slower], &lenient);
    assert_eq!(
        change_of(&relaxed, "produce latency p99"),
        Change::Unchanged
    );
}

#[test]
fn improvements_are_not_regressions() {
    let base = common::broker_kill();
    let better = common::scaled(&base, 1.3, 0.5);
    let comparison = compare(&[base], &[better], &Tolerances::default());
    assert_eq!(comparison.verdict, Change::Improved);
    assert_eq!(
        change_of(&comparison, "produce latency p99"),
        Change::Improved
    );
}

#[test]
fn a_lag_that_never_recovers_regresses() {
    let base = common::broker_kill();
    let mut stuck = base.clone();
    stuck.lag.recovery_seconds = None;
    let comparison = compare(&[base], &[stuck], &Tolerances::default());
    assert_eq!(change_of(&comparison, "lag recovery"), Change::Regressed);
}

#[test]
fn figures_one_side_lacks_are_not_compared() {
    let base = common::broker_kill();
    let mut no_consumers = base.clone();
    no_consumers.latency.end_to_end = None;
    no_consumers.lag.max_records = None;
    let comparison = compare(&[base], &[no_consumers], &Tolerances::default());
    assert_eq!(
        change_of(&comparison, "end-to-end latency p99"),
        Change::NotCompared
    );
    assert_eq!(change_of(&comparison, "lag recovery"), Change::NotCompared);
    assert!(!comparison.regressed());
}

#[test]
fn comparing_nothing_does_not_panic() {
    let comparison = compare(&[], &[], &Tolerances::default());
    assert!(comparison.metrics.is_empty());
    assert!(!comparison.regressed());
    assert!(markdown::comparison(&comparison).contains("no runs"));
    let one_sided = compare(&[common::broker_kill()], &[], &Tolerances::default());
    assert!(one_sided
        .metrics
        .iter()
        .all(|m| m.change == Change::NotCompared));
    html::comparison_html(&one_sided);
    let matrix = compare_many(&[], &Tolerances::default());
    assert!(matrix.rows.is_empty());
    markdown::matrix(&matrix);
    html::matrix_html(&matrix);
}

#[test]
fn comparison_renders_as_markdown() {
    let base = common::broker_kill();
    let baseline = vec![common::scaled(&base, 0.99, 0.97), base.clone()];
    let candidate = vec![worse(&base), worse(&common::scaled(&base, 1.01, 1.02))];
    let comparison = compare(&baseline, &candidate, &Tolerances::default());
    insta::assert_snapshot!(markdown::comparison(&comparison));
}

#[test]
fn comparison_renders_as_a_self_contained_page() {
    let base = common::broker_kill();
    let comparison = compare(
        std::slice::from_ref(&base),
        &[worse(&base)],
        &Tolerances::default(),
    );
    let page = html::comparison_html(&comparison);
    assert!(page.contains("<div class=\"badge\">REGRESSED</div>"));
    assert!(page.contains("produce latency p99"));
    assert!(!page.contains("http://") && !page.contains("https://"));
    assert!(!page.contains("<script"));
    let dir = tempfile::tempdir().unwrap();
    let written = html::render_comparison_dir(dir.path(), &comparison).unwrap();
    assert_eq!(
        std::fs::read_to_string(written.summary_md).unwrap(),
        markdown::comparison(&comparison)
    );
}

#[test]
fn a_matrix_compares_each_value_with_the_first() {
    let base = common::broker_kill();
    let labelled = vec![
        (
            "acks=all".to_owned(),
            vec![base.clone(), common::scaled(&base, 1.01, 1.03)],
        ),
        (
            "acks=1".to_owned(),
            vec![
                common::scaled(&base, 1.3, 0.5),
                common::scaled(&base, 1.32, 0.52),
            ],
        ),
        ("acks=0".to_owned(), vec![worse(&base), worse(&base)]),
    ];
    let matrix = compare_many(&labelled, &Tolerances::default());
    assert_eq!(matrix.labels, ["acks=all", "acks=1", "acks=0"]);
    assert_eq!(matrix.comparisons.len(), 2);
    assert_eq!(matrix.comparisons[0].verdict, Change::Improved);
    assert!(matrix.comparisons[1].regressed());
    assert_eq!(matrix.verdict, Change::Regressed);
    let p99 = matrix
        .rows
        .iter()
        .find(|r| r.name == "produce latency p99")
        .unwrap();
    assert_eq!(p99.others.len(), 2);
    insta::assert_snapshot!(markdown::matrix(&matrix));
    let page = html::matrix_html(&matrix);
    assert!(page.contains("<code>acks=0</code>"));
    assert!(!page.contains("http://") && !page.contains("https://"));
}

#[test]
fn a_matrix_of_one_value_lists_its_figures() {
    let matrix = compare_many(
        &[("only".to_owned(), vec![common::broker_kill()])],
        &Tolerances::default(),
    );
    assert!(matrix.comparisons.is_empty());
    assert!(matrix.rows.iter().any(|r| r.name == "lost"));
    assert!(matrix.rows.iter().all(|r| r.others.is_empty()));
    assert!(markdown::matrix(&matrix).contains("| lost | 0 |"));
}
