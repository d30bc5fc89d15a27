//! Reports end to end: `report` re-renders a run from its result.json, the pages open in a
//! real browser (headless Chromium) without a console message, `compare` flags a real
//! regression between two producer configurations and none between repetitions of one, and
//! `run --junit` lists every check as a test case.

mod common;

use common::{bootstrap, exclusive, explain, read_result, streamproof};

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A run directory holding only the result.json of a real broker-kill run.
fn run_dir_from_fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/tests/fixtures/broker-kill.json");
    std::fs::copy(source, dir.path().join("result.json")).unwrap();
    dir
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// Width and height of a PNG file, from its IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(
        bytes.len() > 24 && bytes.starts_with(b"\x89PNG\r\n\x1a\n") && &bytes[12..16] == b"IHDR",
        "not a PNG file"
    );
    let number = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (number(16), number(20))
}

#[test]
fn report_renders_a_run_again_from_its_result_json() {
    let dir = run_dir_from_fixture();
    let output = streamproof(&["report", path_str(dir.path())]);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let index = dir.path().join("index.html");
    let summary = dir.path().join("summary.md");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        vec![path_str(&index), path_str(&summary)],
        "prints the files it wrote"
    );
    let html = std::fs::read_to_string(&index).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html:.200}");
    assert!(html.contains("<title>PASS · broker-kill · streamproof</title>"));
    assert!(html.contains("12 of 12 checks held"));
    assert_eq!(html.matches("<svg ").count(), 4, "four inline charts");
    for needle in ["<script", "src=\"http", "href=\"http", "@import"] {
        assert!(!html.contains(needle), "self-contained, yet has `{needle}`");
    }
    let markdown = std::fs::read_to_string(&summary).unwrap();
    assert!(markdown.starts_with("# ✅ PASS: broker-kill"), "{markdown}");
    assert!(!dir.path().join("charts").exists(), "PNGs only on request");

    // Rendering is deterministic: the same result gives the same page.
    let again = streamproof(&["report", path_str(dir.path())]);
    assert_eq!(again.status.code(), Some(0), "{}", explain(&again));
    assert_eq!(std::fs::read_to_string(&index).unwrap(), html);
}

#[test]
fn report_png_writes_the_four_charts() {
    let dir = run_dir_from_fixture();
    let output = streamproof(&["report", path_str(dir.path()), "--png"]);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let charts = dir.path().join("charts");
    let mut names: Vec<String> = std::fs::read_dir(&charts)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "lag.png",
            "latency-distribution.png",
            "latency.png",
            "throughput.png"
        ]
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    for name in &names {
        let path = charts.join(name);
        assert!(stdout.contains(path_str(&path)), "{stdout}");
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(png_size(&bytes), (960, 380), "{name}");
        assert!(
            bytes.len() > 10_000,
            "{name} has a drawing: {} bytes",
            bytes.len()
        );
    }
}

#[test]
fn report_of_a_directory_without_a_result_exits_2_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let output = streamproof(&["report", path_str(dir.path())]);
    assert_eq!(output.status.code(), Some(2), "{}", explain(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("result.json"), "{stderr}");
}

// --- Headless Chromium -------------------------------------------------------------------

const INSTALL_CHROMIUM: &str = "Chromium is not installed, and the report tests open every page \
    in headless Chromium. Install it with \
    `sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium` \
    (Debian; `.ci/run` does this), or put a `chromium` executable on PATH.";

/// The `chromium` executable on PATH (Debian's /usr/bin/chromium). Missing is a failure, not
/// a skip: without it the pages would go unchecked.
fn chromium() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{INSTALL_CHROMIUM}"))
}

/// What headless Chromium made of a page.
struct Rendered {
    /// The DOM after loading, serialized.
    dom: String,
    /// Console messages and uncaught errors the page produced.
    console: Vec<String>,
    /// Everything Chromium logged, to explain a failure.
    log: String,
}

/// Opens `page` in headless Chromium and dumps its DOM. With `--enable-logging=stderr --v=0`
/// Chromium logs every console message of the page (`INFO:CONSOLE:…] "message", source: …`,
/// `CONSOLE(line)` in older versions) and every uncaught exception to stderr.
fn open_headless(page: &Path) -> Rendered {
    let work = tempfile::tempdir().unwrap();
    let dom_file = work.path().join("dom.html");
    let log_file = work.path().join("chromium.log");
    let page = std::fs::canonicalize(page).unwrap();
    // Output goes to files: a pipe nobody reads while waiting would fill up and stall Chromium.
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!(
            "--user-data-dir={}",
            work.path().join("profile").display()
        ))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&dom_file).unwrap())
        .stderr(std::fs::File::create(&log_file).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("start chromium: {e}. {INSTALL_CHROMIUM}"));
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "headless Chromium did not finish within 120 s:\n{}",
                std::fs::read_to_string(&log_file).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let log = std::fs::read_to_string(&log_file).unwrap();
    assert!(status.success(), "chromium exited with {status}:\n{log}");
    let console = log
        .lines()
        .filter(|line| line.contains(":CONSOLE") || line.contains("Uncaught"))
        .map(str::to_owned)
        .collect();
    Rendered {
        dom: std::fs::read_to_string(&dom_file).unwrap(),
        console,
        log,
    }
}

#[test]
fn headless_chromium_reports_the_console_messages_of_a_broken_page() {
    // A browser takes both cores for seconds: not while a run measures latencies.
    let _one = exclusive();
    // The check below is only worth something if a console error really shows up in the log.
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("broken.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body><p>still renders</p><script>\
         console.error('report-test console error'); notDefinedAnywhere();</script></body></html>",
    )
    .unwrap();
    let rendered = open_headless(&page);
    assert!(rendered.dom.contains("still renders"), "{}", rendered.dom);
    let console = rendered.console.join("\n");
    assert!(
        console.contains("report-test console error"),
        "console.error is not in Chromium's log; the console check would see nothing:\n{}",
        rendered.log
    );
    assert!(
        console.contains("Uncaught ReferenceError"),
        "{}",
        rendered.log
    );
}

#[test]
fn a_run_report_renders_in_headless_chromium_without_console_messages() {
    let _one = exclusive();
    let dir = run_dir_from_fixture();
    let output = streamproof(&["report", path_str(dir.path())]);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let rendered = open_headless(&dir.path().join("index.html"));
    assert_eq!(
        rendered.console,
        Vec::<String>::new(),
        "console messages while rendering index.html"
    );
    let dom = &rendered.dom;
    assert!(
        dom.contains("<header class=\"verdict pass\"><div class=\"badge\">PASS</div>"),
        "the verdict is rendered:\n{dom:.2000}"
    );
    assert!(dom.contains("<h1>broker-kill</h1>"));
    assert!(dom.contains("12 of 12 checks held"));
    for title in [
        "Throughput over time",
        "Latency over time",
        "Latency by percentile",
        "Consumer lag over time",
    ] {
        assert!(
            dom.contains(&format!("aria-label=\"{title}\"")),
            "chart `{title}` is in the DOM"
        );
    }
    assert!(
        dom.contains("SIGKILL broker 1"),
        "the fault table is rendered"
    );
}

#[test]
fn a_comparison_page_renders_in_headless_chromium_without_console_messages() {
    let _one = exclusive();
    let run = run_dir_from_fixture();
    let out = tempfile::tempdir().unwrap();
    let result = run.path().join("result.json");
    let output = streamproof(&[
        "compare",
        path_str(&result),
        path_str(&result),
        "--out",
        path_str(out.path()),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let rendered = open_headless(&out.path().join("index.html"));
    assert_eq!(rendered.console, Vec::<String>::new());
    assert!(
        rendered.dom.contains("<h2>Figures</h2>"),
        "{:.2000}",
        rendered.dom
    );
    assert!(rendered.dom.contains("produce latency p99"));
}

// --- compare and JUnit on real runs ------------------------------------------------------

/// Runs a fixture scenario on the shared test cluster; exit code 0 is required.
fn run_fixture(name: &str, out: &Path, extra: &[&str]) -> Output {
    let scenario = fixture(name);
    let servers = bootstrap();
    let mut args = vec![
        "run",
        path_str(&scenario),
        "--bootstrap-servers",
        &servers,
        "--out",
        path_str(out),
    ];
    args.extend_from_slice(extra);
    let output = streamproof(&args);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    output
}

/// `compare --json`: the exit code and the parsed comparison.
fn compare_json(baseline: &Path, candidate: &Path) -> (Option<i32>, serde_json::Value) {
    let output = streamproof(&["--json", "compare", path_str(baseline), path_str(candidate)]);
    let comparison = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "compare --json printed no JSON ({e}):\n{}",
            explain(&output)
        )
    });
    (output.status.code(), comparison)
}

fn metric<'a>(comparison: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    comparison["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no figure `{name}` in {comparison:#}"))
}

fn names_with_change(comparison: &serde_json::Value, change: &str) -> Vec<String> {
    comparison["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["change"] == change)
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect()
}

/// acks=all waits for the followers, acks=1 only for the leader: on a three-broker cluster
/// that is a real latency difference, and `compare` must call it a regression in the direction
/// acks=1 → acks=all, while a repetition of one configuration must not regress. The runs also
/// write JUnit XML. Needs the shared three-broker test cluster of `scripts/test` (about 50 s).
#[test]
fn compare_flags_acks_all_against_acks_1_and_junit_lists_every_check() {
    let _one = exclusive();
    let acks_all = tempfile::tempdir().unwrap();
    let acks_1 = tempfile::tempdir().unwrap();
    let junit = acks_all.path().join("junit.xml");
    run_fixture(
        "acks-all.yaml",
        acks_all.path(),
        &["--repeat", "2", "--junit", path_str(&junit)],
    );
    run_fixture("acks-1.yaml", acks_1.path(), &[]);
    let (rep_1, rep_2) = (acks_all.path().join("rep-1"), acks_all.path().join("rep-2"));

    // JUnit: one suite per repetition, one test case per check, no failure.
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "));
    assert_eq!(xml.matches("<testsuite ").count(), 2, "{xml}");
    let mut checks = 0;
    for rep in [&rep_1, &rep_2] {
        let result = read_result(rep);
        assert_eq!(result["verdict"], "pass");
        let run_id = result["run_id"].as_str().unwrap();
        assert!(
            xml.contains(&format!("<property name=\"run_id\" value=\"{run_id}\"/>")),
            "{xml}"
        );
        for check in result["checks"].as_array().unwrap() {
            let case = format!(
                "<testcase name=\"{}\" classname=\"streamproof.acks-all\" time=\"0\"/>",
                check["name"].as_str().unwrap()
            );
            assert!(xml.contains(&case), "{case} in\n{xml}");
            checks += 1;
        }
    }
    assert!(checks >= 2 * 5, "{checks} checks");
    assert_eq!(xml.matches("<testcase ").count(), checks, "{xml}");
    assert!(xml.contains(&format!(
        "<testsuites name=\"streamproof\" tests=\"{checks}\" failures=\"0\" errors=\"0\""
    )));
    assert!(!xml.contains("<failure"), "{xml}");

    // acks=1 as the baseline, acks=all as the candidate: waiting for the followers makes
    // every send slower. End-to-end latency does not move: consumers only see records the
    // followers have replicated.
    let (code, comparison) = compare_json(acks_1.path(), &rep_1);
    let regressed = names_with_change(&comparison, "regressed");
    eprintln!(
        "acks=1 → acks=all: exit {code:?}, regressed {regressed:?}\n{}",
        [
            "produce latency p50",
            "produce latency p99",
            "end-to-end latency p50",
            "end-to-end latency p99",
            "throughput (acknowledged)"
        ]
        .iter()
        .map(|name| {
            let m = metric(&comparison, name);
            format!(
                "  {name}: {} → {} ({:+.1}%) {}",
                m["baseline"]["median"],
                m["candidate"]["median"],
                m["change_percent"].as_f64().unwrap_or(f64::NAN),
                m["change"]
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
    );
    assert_eq!(code, Some(1), "a regression exits 1: {comparison:#}");
    assert_eq!(comparison["verdict"], "regressed");
    // acks=all waits for the followers: some produce percentile must regress by more than
    // 10%. Which one depends on the shared machine's noise (p50 held still in one CI run
    // while p99 doubled), so no single percentile is required.
    let regressed: Vec<&str> = ["produce latency p50", "produce latency p99"]
        .into_iter()
        .filter(|name| {
            let m = metric(&comparison, name);
            m["change"] == "regressed" && m["change_percent"].as_f64().unwrap_or(0.0) > 10.0
        })
        .collect();
    assert!(!regressed.is_empty(), "{comparison:#}");
    for m in comparison["metrics"].as_array().unwrap() {
        if m["family"] == "anomaly" || m["family"] == "check" {
            assert_eq!(m["change"], "unchanged", "data safety is the same: {m:#}");
        }
    }
    assert_eq!(
        metric(&comparison, "throughput (acknowledged)")["change"],
        "unchanged",
        "both kept the open-loop rate"
    );

    // The comparison page names the regression and opens cleanly in a browser.
    let page = tempfile::tempdir().unwrap();
    let output = streamproof(&[
        "compare",
        path_str(acks_1.path()),
        path_str(&rep_1),
        "--out",
        path_str(page.path()),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    let rendered = open_headless(&page.path().join("index.html"));
    assert_eq!(rendered.console, Vec::<String>::new());
    for name in &regressed {
        assert!(
            rendered
                .dom
                .contains(&format!("<tr class=\"failed\"><td>{name}</td>")),
            "the regressed figure {name} is marked:\n{:.3000}",
            rendered.dom
        );
    }

    // Two repetitions of one configuration: a repetition never regresses against the
    // spread of both, and the runs against themselves are unchanged.
    let (code, comparison) = compare_json(acks_all.path(), &rep_2);
    assert_eq!(code, Some(0), "{comparison:#}");
    assert_eq!(
        names_with_change(&comparison, "regressed"),
        Vec::<String>::new()
    );
    let (code, comparison) = compare_json(acks_all.path(), acks_all.path());
    assert_eq!(code, Some(0), "{comparison:#}");
    assert_eq!(comparison["verdict"], "unchanged");
    assert_eq!(comparison["baseline_runs"], 2);
}
