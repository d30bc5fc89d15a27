//! `index.html`: one self-contained page per run, and pages comparing runs.
//!
//! A page needs nothing but itself: styles are inline, charts are inline SVG, there are no
//! scripts, fonts or links to fetch, so it opens the same from a CI artifact, an e-mail or a
//! laptop on a train, and prints cleanly. Every value from a result is escaped.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::charts::{self, ChartKind, CHART_SIZE};
use crate::compare::{Change, Comparison, Matrix};
use crate::escape::markup as esc;
use crate::format;
use crate::result::{Latency, RunResult, Verdict};
use crate::{markdown, ReportError};

/// Files a `render_*_dir` function wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The HTML page.
    pub index_html: PathBuf,
    /// The Markdown summary.
    pub summary_md: PathBuf,
}

/// Writes `index.html` and `summary.md` for a run into `dir`, creating it when missing.
pub fn render_run_dir(dir: &Path, result: &RunResult) -> Result<Written, ReportError> {
    write_pair(dir, &render_html(result), &markdown::summary(result))
}

/// Writes `index.html` and `summary.md` for a comparison into `dir`, creating it when missing.
pub fn render_comparison_dir(dir: &Path, comparison: &Comparison) -> Result<Written, ReportError> {
    write_pair(
        dir,
        &comparison_html(comparison),
        &markdown::comparison(comparison),
    )
}

/// Writes `index.html` and `summary.md` for a matrix into `dir`, creating it when missing.
pub fn render_matrix_dir(dir: &Path, matrix: &Matrix) -> Result<Written, ReportError> {
    write_pair(dir, &matrix_html(matrix), &markdown::matrix(matrix))
}

fn write_pair(dir: &Path, html: &str, markdown: &str) -> Result<Written, ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        action: "create the report directory",
        path: dir.to_path_buf(),
        source,
    })?;
    let written = Written {
        index_html: dir.join("index.html"),
        summary_md: dir.join("summary.md"),
    };
    write_file(&written.index_html, html)?;
    write_file(&written.summary_md, markdown)?;
    Ok(written)
}

fn write_file(path: &Path, text: &str) -> Result<(), ReportError> {
    std::fs::write(path, text).map_err(|source| ReportError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    })
}

/// Renders the page of one run.
pub fn render_html(result: &RunResult) -> String {
    let verdict = match result.verdict {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
    };
    let title = format!("{verdict} · {} · streamproof", result.scenario.name);
    let mut body = String::new();
    header(&mut body, result, verdict);
    checks(&mut body, result);
    headline(&mut body, result);
    faults(&mut body, result);
    chart_section(&mut body, result);
    counts(&mut body, result);
    anomalies(&mut body, result);
    bronze(&mut body, result);
    lakehouse(&mut body, result);
    verification(&mut body, result);
    platform(&mut body, result);
    scenario(&mut body, result);
    let _ = write!(
        body,
        "<footer>Report of streamproof {} · result format {}</footer>",
        esc(&result.streamproof_version),
        result.result_version
    );
    page(&title, &body)
}

/// Wraps a body into a complete page with the report styles.
pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n",
        esc(title)
    )
}

/// Styles of every page: system fonts only, readable on a laptop, black on white in print.
const STYLE: &str = r#"
:root { --pass: #1a7f37; --fail: #cf222e; --warn: #9a6700; --muted: #57606a; --line: #d0d7de; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1f2328; background: #fff; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 0; }
h2 { font-size: 19px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
p { margin: 6px 0; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 13px; }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 12px; overflow-x: auto; white-space: pre-wrap; word-break: break-word; }
table { border-collapse: collapse; margin: 8px 0 12px; width: 100%; }
th, td { border: 1px solid var(--line); padding: 5px 9px; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
th code { font-size: 14px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.verdict { display: flex; align-items: center; gap: 20px; padding: 18px 22px; border-radius: 10px; border: 2px solid; }
.verdict.pass { border-color: var(--pass); background: #dafbe1; }
.verdict.fail { border-color: var(--fail); background: #ffebe9; }
.verdict.neutral { border-color: var(--muted); background: var(--soft); }
.badge { font-size: 34px; font-weight: 800; letter-spacing: 2px; padding: 4px 16px; border-radius: 8px; color: #fff; }
.pass .badge { background: var(--pass); }
.fail .badge { background: var(--fail); }
.neutral .badge { background: var(--muted); }
.sub { color: var(--muted); }
.ok { color: var(--pass); font-weight: 600; }
.bad { color: var(--fail); font-weight: 600; }
.noise { color: var(--warn); }
tr.failed td { background: #fff5f5; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 14px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; word-break: break-word; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 8px; }
.stat { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
.stat .label { color: var(--muted); font-size: 13px; }
.stat .value { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
.stat.bad .value { color: var(--fail); }
figure { margin: 14px 0 22px; }
figure svg { width: 100%; height: auto; display: block; border: 1px solid var(--line); border-radius: 6px; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
.chart-error { color: var(--fail); }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; }
@media (max-width: 640px) { main { padding: 14px; } .verdict { flex-direction: column; align-items: flex-start; } }
@media print {
  body { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  .verdict, .badge, tr.failed td, th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2 { break-after: avoid; }
  table, figure, .stat { break-inside: avoid; }
  pre { white-space: pre-wrap; }
  a { color: inherit; text-decoration: none; }
}
"#;

fn header(out: &mut String, result: &RunResult, verdict: &str) {
    let class = verdict.to_lowercase();
    let failed = result.checks.iter().filter(|c| !c.passed).count();
    let _ = writeln!(
        out,
        "<header class=\"verdict {class}\"><div class=\"badge\">{verdict}</div><div><h1>{}</h1>\
         <p>{} of {} checks held{}</p></div></header>",
        esc(&result.scenario.name),
        result.checks.len() - failed,
        result.checks.len(),
        if failed > 0 {
            format!(" · <span class=\"bad\">{failed} failed</span>")
        } else {
            String::new()
        }
    );
    if !result.scenario.description.trim().is_empty() {
        let _ = writeln!(out, "<p>{}</p>", esc(result.scenario.description.trim()));
    }
    out.push_str("<dl class=\"facts\">");
    let facts = [
        ("Run", format!("<code>{}</code>", esc(&result.run_id))),
        ("Started", esc(&result.started_at)),
        ("Duration", format::seconds(result.duration_seconds)),
        (
            "Scenario file",
            format!(
                "<code>{}</code> (seed {}, SHA-256 <code>{}</code>)",
                esc(&result.scenario.file),
                result.scenario.seed,
                esc(&result.scenario.sha256)
            ),
        ),
        (
            "Platform",
            format!(
                "{} · {} broker(s) · Kafka {} · <code>{}</code>",
                esc(&result.platform.kind),
                result.platform.brokers,
                esc(&result.platform.kafka_version),
                esc(&result.platform.bootstrap_servers)
            ),
        ),
    ];
    for (name, value) in facts {
        let _ = write!(out, "<dt>{name}</dt><dd>{value}</dd>");
    }
    out.push_str("</dl>\n");
}

fn checks(out: &mut String, result: &RunResult) {
    out.push_str("<section><h2>Checks</h2>");
    if result.checks.is_empty() {
        out.push_str("<p class=\"sub\">No checks were configured.</p></section>\n");
        return;
    }
    out.push_str(
        "<table><thead><tr><th>check</th><th>expected</th><th>actual</th><th>result</th></tr></thead><tbody>",
    );
    for check in &result.checks {
        let (row, mark) = if check.passed {
            ("", "<span class=\"ok\">✓&nbsp;pass</span>")
        } else {
            (
                " class=\"failed\"",
                "<span class=\"bad\">✗&nbsp;fail</span>",
            )
        };
        let _ = write!(
            out,
            "<tr{row}><td><code>{}</code></td><td>{}</td><td>{}</td><td>{mark}</td></tr>",
            esc(&check.name),
            esc(&check.expected),
            esc(&check.actual)
        );
    }
    out.push_str("</tbody></table></section>\n");
}

fn stat(out: &mut String, label: &str, value: &str, bad: bool) {
    let class = if bad { "stat bad" } else { "stat" };
    let _ = write!(
        out,
        "<div class=\"{class}\"><div class=\"label\">{}</div><div class=\"value\">{}</div></div>",
        esc(label),
        esc(value)
    );
}

fn latency_row(out: &mut String, name: &str, latency: &Latency) {
    let _ = write!(
        out,
        "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
        esc(name),
        latency.count,
        format::ms(latency.p50_us),
        format::ms(latency.p90_us),
        format::ms(latency.p99_us),
        format::ms(latency.p999_us),
        format::ms(latency.max_us)
    );
}

fn headline(out: &mut String, result: &RunResult) {
    let t = &result.throughput;
    out.push_str("<section><h2>Throughput, latency and lag</h2><div class=\"grid\">");
    stat(
        out,
        "target",
        &t.target_eps
            .map_or_else(|| "max (closed loop)".to_owned(), format::eps),
        false,
    );
    stat(out, "sent", &format::eps(t.sent_eps), false);
    let short = t
        .target_eps
        .is_some_and(|target| t.achieved_eps < target * 0.99);
    stat(out, "acknowledged", &format::eps(t.achieved_eps), short);
    stat(
        out,
        "acknowledged bytes",
        &format::megabytes_per_second(t.bytes_per_s),
        false,
    );
    stat(
        out,
        "measured (warmup excluded)",
        &format::seconds(t.measured_seconds),
        false,
    );
    if let Some(ft) = &result.fault_throughput {
        let rate = |eps: Option<f64>| eps.map_or_else(|| "–".to_owned(), format::eps);
        stat(out, "before faults", &rate(ft.before_faults_eps), false);
        stat(out, "during faults", &rate(ft.during_faults_eps), false);
        stat(out, "outside faults", &rate(ft.outside_faults_eps), false);
    }
    let lag = &result.lag;
    if let Some(max) = lag.max_records {
        stat(out, "max lag", &format!("{max} records"), false);
        stat(
            out,
            "final lag",
            &format!("{} records", lag.final_records.unwrap_or(0)),
            lag.final_records.unwrap_or(0) > 0,
        );
        stat(
            out,
            "lag back to 0 after",
            &lag.recovery_seconds
                .map_or_else(|| "never".to_owned(), format::seconds),
            lag.recovery_seconds.is_none(),
        );
    }
    stat(
        out,
        "undrained",
        &format!("{} records", lag.undrained_records),
        lag.undrained_records > 0,
    );
    out.push_str("</div>");

    out.push_str(
        "<h3>Latency</h3><table><thead><tr><th>latency</th><th class=\"num\">samples</th>\
         <th class=\"num\">p50</th><th class=\"num\">p90</th><th class=\"num\">p99</th>\
         <th class=\"num\">p99.9</th><th class=\"num\">max</th></tr></thead><tbody>",
    );
    latency_row(out, "produce (from intended send)", &result.latency.produce);
    latency_row(
        out,
        "produce (service time, uncorrected)",
        &result.latency.produce_uncorrected,
    );
    if let Some(e2e) = &result.latency.end_to_end {
        latency_row(out, "end to end", e2e);
    }
    out.push_str("</tbody></table>");

    let g = &result.generator;
    let _ = writeln!(
        out,
        "<h3>Load generator</h3><p class=\"{}\">{}</p><p class=\"sub\">CPU {:.0}% of one core \
         ({} cores) · schedule slip p99 {} / max {} · producer buffer full {} time(s)</p></section>",
        if g.kept_up { "ok" } else { "bad" },
        esc(&g.note),
        g.cpu_percent,
        g.cores,
        format::ms(g.schedule_slip_p99_us),
        format::ms(g.schedule_slip_max_us),
        g.queue_full_waits
    );
}

fn faults(out: &mut String, result: &RunResult) {
    if result.faults.is_empty() {
        return;
    }
    out.push_str(
        "<section><h2>Faults</h2><table><thead><tr><th>#</th><th>kind</th><th>target</th>\
         <th>brokers</th><th class=\"num\">injected</th><th class=\"num\">healed</th>\
         <th>what was done</th></tr></thead><tbody>",
    );
    for fault in &result.faults {
        let brokers: Vec<String> = fault.brokers.iter().map(i32::to_string).collect();
        let healed = fault
            .healed_at_s
            .map_or_else(|| "never".to_owned(), format::seconds);
        let row = if fault.applied {
            ""
        } else {
            " class=\"failed\""
        };
        let _ = writeln!(
            out,
            "<tr{row}><td class=\"num\">{}{}</td><td>{}</td><td><code>{}</code></td><td>{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}{}</td></tr>",
            fault.fault,
            if fault.repetition > 0 {
                format!(" (repeat {})", fault.repetition)
            } else {
                String::new()
            },
            esc(&fault.kind),
            esc(&fault.target),
            esc(&brokers.join(", ")),
            format::seconds(fault.injected_at_s),
            esc(&healed),
            if fault.applied {
                ""
            } else {
                "<span class=\"bad\">not applied:</span> "
            },
            esc(&fault.detail)
        );
    }
    out.push_str(
        "</tbody></table><p class=\"sub\">Times are seconds from the start of the load; the \
         charts shade each fault window.</p></section>",
    );
}

/// An SVG from [`charts::svg`] made fit for inlining: the namespace is implied in HTML, and a
/// view box without fixed size lets the chart follow the page width.
fn inline_svg(svg: &str, title: &str) -> String {
    let body = svg.find('>').map_or(svg, |end| &svg[end + 1..]);
    let (width, height) = CHART_SIZE;
    format!(
        "<svg viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\">{body}",
        esc(title)
    )
}

fn chart_section(out: &mut String, result: &RunResult) {
    out.push_str("<section><h2>Charts</h2>");
    for kind in ChartKind::ALL {
        match charts::svg(result, kind) {
            Ok(svg) => {
                let caption = match kind {
                    ChartKind::Throughput => "Events per second; shaded: warmup and fault windows.",
                    ChartKind::Latency => {
                        "Per-second p50 and p99 of the sends acknowledged and records consumed \
                         in that second; gaps are seconds without samples."
                    }
                    ChartKind::LatencyDistribution => {
                        "Latency at each percentile of the measured part. Corrected latency \
                         counts from the intended send time, so stalls of the platform show \
                         in full; uncorrected latency is the service time of each send."
                    }
                    ChartKind::Lag => {
                        "Records the slowest consumer group had not read, sampled each second; \
                         gaps are seconds without a sample."
                    }
                };
                let _ = write!(
                    out,
                    "<figure>{}<figcaption>{caption}</figcaption></figure>",
                    inline_svg(&svg, kind.title())
                );
            }
            Err(error) => {
                let _ = writeln!(
                    out,
                    "<p class=\"chart-error\">{}: {}</p>",
                    esc(kind.title()),
                    esc(&error.to_string())
                );
            }
        }
    }
    out.push_str("</section>\n");
}

fn counts(out: &mut String, result: &RunResult) {
    let c = &result.counts;
    // Counts that mean something went wrong when they are not 0.
    let rows: [(&str, u64, bool); 21] = [
        ("sent", c.sent, false),
        ("acknowledged", c.acked, false),
        ("failed", c.failed, false),
        ("outcome unknown", c.unknown, false),
        ("present", c.present, false),
        ("lost", c.lost, true),
        (
            "removed below the log start",
            c.removed_below_log_start,
            true,
        ),
        ("altered", c.corrupted, true),
        ("duplicates", c.duplicates, true),
        ("phantoms", c.phantoms, true),
        ("unknown outcome, present", c.unknown_present, false),
        ("offset mismatches", c.offset_mismatches, true),
        ("order violations", c.order_violations, true),
        ("invalid sent", c.invalid_sent, false),
        ("invalid present", c.invalid_present, false),
        ("invalid missing", c.invalid_missing, true),
        (
            "deliberate duplicates sent",
            c.deliberate_duplicates_sent,
            false,
        ),
        (
            "deliberate duplicates present",
            c.deliberate_duplicates_present,
            false,
        ),
        (
            "deliberate duplicates missing",
            c.deliberate_duplicates_missing,
            true,
        ),
        ("late events sent", c.late_sent, false),
        ("foreign records", c.foreign, false),
    ];
    out.push_str("<section><h2>Counts</h2><div class=\"grid\">");
    for (label, value, anomaly) in rows {
        stat(out, label, &value.to_string(), anomaly && value > 0);
    }
    out.push_str(
        "</div><p class=\"sub\">Counts cover every send, warmup included, so they reconcile \
         record for record with the topics.</p></section>",
    );
}

fn anomalies(out: &mut String, result: &RunResult) {
    if result.anomalies.values().all(Vec::is_empty) {
        return;
    }
    out.push_str(
        "<section><h2>Anomalies (examples)</h2><table><thead><tr><th>anomaly</th>\
         <th class=\"num\">send id</th><th>event id</th><th>topic</th><th class=\"num\">partition</th>\
         <th class=\"num\">offset</th><th>first difference</th></tr></thead><tbody>",
    );
    for (anomaly, examples) in &result.anomalies {
        for example in examples {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=\"num\">{}</td><td><code>{}</code></td><td>{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                esc(anomaly),
                example.send_id,
                esc(&example.event_id),
                esc(&example.topic),
                example
                    .partition
                    .map_or_else(|| "–".to_owned(), |p| p.to_string()),
                example
                    .offset
                    .map_or_else(|| "–".to_owned(), |o| o.to_string()),
                example
                    .difference
                    .as_ref()
                    .map_or_else(|| "–".to_owned(), |d| esc(&d.to_string())),
            );
        }
    }
    out.push_str("</tbody></table></section>\n");
}

fn bronze(out: &mut String, result: &RunResult) {
    let Some(b) = &result.bronze else {
        return;
    };
    let _ = write!(
        out,
        "<section><h2>Bronze layer</h2><p>Copier mode <code>{}</code></p><div class=\"grid\">",
        esc(&b.copier_mode)
    );
    stat(out, "expected", &b.expected.to_string(), false);
    stat(out, "present", &b.present.to_string(), false);
    stat(out, "missing", &b.missing.to_string(), b.missing > 0);
    stat(
        out,
        "duplicates",
        &b.duplicates.to_string(),
        b.duplicates > 0,
    );
    stat(out, "altered", &b.corrupted.to_string(), b.corrupted > 0);
    stat(out, "foreign", &b.foreign.to_string(), false);
    out.push_str("</div></section>\n");
}

fn verification(out: &mut String, result: &RunResult) {
    let Some(verification) = &result.verification else {
        return;
    };
    out.push_str(
        "<section><h2>Verification</h2><table><thead><tr><th>layer</th>\
         <th class=\"num\">seconds</th><th class=\"num\">records read</th>\
         <th class=\"num\">records/s</th></tr></thead><tbody>",
    );
    for step in &verification.steps {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"num\">{:.2}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{:.0}</td></tr>",
            esc(&step.layer),
            step.seconds,
            step.records_read,
            step.records_read as f64 / step.seconds.max(1e-9)
        );
    }
    out.push_str("</tbody></table>");
    for partition in verification.partitions_with_removals() {
        let _ = write!(
            out,
            "<p class=\"bad\">{}/{}: the platform removed {} records of the run from its start \
             (the run began at offset {}, the log starts at {})</p>",
            esc(&partition.topic),
            partition.partition,
            partition.log_start - partition.run_start,
            partition.run_start,
            partition.log_start
        );
    }
    out.push_str("</section>\n");
}

fn lakehouse(out: &mut String, result: &RunResult) {
    let Some(lake) = &result.lakehouse else {
        return;
    };
    let _ = write!(
        out,
        "<section><h2>Lakehouse</h2><p>{} · {} · checkpoints every {} ms · warehouse <code>{}</code></p><div class=\"grid\">",
        esc(&lake.engine),
        esc(&lake.guarantee),
        lake.checkpoint_interval_ms,
        esc(&lake.warehouse)
    );
    for (name, value, bad) in [
        ("bronze rows", lake.bronze_rows, false),
        (
            "bronze missing",
            lake.bronze_missing,
            lake.bronze_missing > 0,
        ),
        (
            "bronze duplicates",
            lake.bronze_duplicates,
            lake.bronze_duplicates > 0,
        ),
        (
            "bronze altered",
            lake.bronze_corrupted,
            lake.bronze_corrupted > 0,
        ),
        ("silver rows", lake.silver_rows, false),
        (
            "silver missing",
            lake.silver_missing,
            lake.silver_missing > 0,
        ),
        (
            "silver duplicates",
            lake.silver_duplicates,
            lake.silver_duplicates > 0,
        ),
        (
            "silver unexpected",
            lake.silver_unexpected,
            lake.silver_unexpected > 0,
        ),
        ("DLQ present", lake.dlq_present, false),
        ("DLQ missing", lake.dlq_missing, lake.dlq_missing > 0),
        (
            "DLQ duplicates",
            lake.dlq_duplicates,
            lake.dlq_duplicates > 0,
        ),
    ] {
        stat(out, name, &value.to_string(), bad);
    }
    if let Some(gold) = &lake.gold {
        let wrong = gold.windows_mismatched + gold.windows_missing + gold.windows_unexpected;
        stat(
            out,
            "gold windows checked",
            &gold.windows_checked.to_string(),
            false,
        );
        stat(out, "gold windows wrong", &wrong.to_string(), wrong > 0);
        let late = gold.late_dropped;
        stat(
            out,
            "dropped as late",
            &late.to_string(),
            late > gold.late_excluded,
        );
    }
    if let Some(visible) = &lake.silver_visible {
        stat(
            out,
            "visible in silver p50",
            &format::ms(visible.p50_us),
            false,
        );
        stat(
            out,
            "visible in silver p99",
            &format::ms(visible.p99_us),
            false,
        );
    }
    out.push_str("</div><table><thead><tr><th>job</th><th>state</th><th>checkpoints</th><th>failed</th><th>restored</th><th>last checkpoint</th></tr></thead><tbody>");
    for job in &lake.jobs {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} ms, {} bytes</td></tr>",
            esc(&job.layer),
            esc(&job.state),
            job.checkpoints_completed,
            job.checkpoints_failed,
            job.restored,
            job.latest_checkpoint_ms,
            job.latest_checkpoint_bytes
        );
    }
    out.push_str("</tbody></table></section>\n");
}

fn properties_table(out: &mut String, properties: &std::collections::BTreeMap<String, String>) {
    if properties.is_empty() {
        out.push_str("<p class=\"sub\">No properties set.</p>");
        return;
    }
    out.push_str("<table><thead><tr><th>property</th><th>value</th></tr></thead><tbody>");
    for (key, value) in properties {
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td><code>{}</code></td></tr>",
            esc(key),
            esc(value)
        );
    }
    out.push_str("</tbody></table>");
}

fn platform(out: &mut String, result: &RunResult) {
    let p = &result.platform;
    let _ = write!(
        out,
        "<section><h2>Platform and settings</h2><dl class=\"facts\"><dt>Kind</dt><dd>{}</dd>\
         <dt>Bootstrap servers</dt><dd><code>{}</code></dd><dt>Brokers</dt><dd>{}</dd>\
         <dt>Kafka</dt><dd>{}</dd></dl>",
        esc(&p.kind),
        esc(&p.bootstrap_servers),
        p.brokers,
        esc(&p.kafka_version)
    );
    let _ = write!(
        out,
        "<h3>Producer (profile <code>{}</code>)</h3>",
        esc(&p.producer_profile)
    );
    properties_table(out, &p.producer_properties);
    for group in &p.consumer_groups {
        let _ = write!(
            out,
            "<h3>Consumer group <code>{}</code> ({} instance(s), profile <code>{}</code>, \
             consumed {})</h3>",
            esc(&group.group),
            group.instances,
            esc(&group.profile),
            group.consumed
        );
        properties_table(out, &group.properties);
    }
    if !p.topics.is_empty() {
        out.push_str(
            "<h3>Topics</h3><table><thead><tr><th>topic</th><th class=\"num\">partitions</th>\
             <th class=\"num\">replication factor</th><th class=\"num\">min.insync.replicas</th>\
             </tr></thead><tbody>",
        );
        for topic in &p.topics {
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td></tr>",
                esc(&topic.name),
                topic.partitions,
                topic.replication_factor,
                topic.min_insync_replicas
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>\n");
}

fn scenario(out: &mut String, result: &RunResult) {
    let s = &result.scenario;
    let as_run = serde_json::to_string_pretty(&s.as_run).unwrap_or_else(|_| s.as_run.to_string());
    let _ = writeln!(
        out,
        "<section><h2>Scenario as run</h2><p class=\"sub\"><code>{}</code>, every default \
         filled in.</p><pre>{}</pre></section>",
        esc(&s.file),
        esc(&as_run)
    );
}

fn change_class(change: Change) -> &'static str {
    match change {
        Change::Regressed => "bad",
        Change::Improved => "ok",
        Change::WithinNoise => "noise",
        Change::Unchanged | Change::NotCompared => "sub",
    }
}

fn verdict_header(out: &mut String, verdict: Change, title: &str, subtitle: &str) {
    let (class, badge) = match verdict {
        Change::Regressed => ("fail", "REGRESSED"),
        Change::Improved => ("pass", "IMPROVED"),
        Change::WithinNoise | Change::Unchanged | Change::NotCompared => {
            ("neutral", "NO REGRESSION")
        }
    };
    let _ = writeln!(
        out,
        "<header class=\"verdict {class}\"><div class=\"badge\">{badge}</div><div><h1>{}</h1>\
         <p>{}</p></div></header>",
        esc(title),
        esc(subtitle)
    );
}

/// Renders a comparison of runs as a page.
pub fn comparison_html(comparison: &Comparison) -> String {
    let scenarios = format::compared_scenarios(comparison);
    let mut body = String::new();
    verdict_header(
        &mut body,
        comparison.verdict,
        &scenarios,
        &format!(
            "{} · baseline {} run(s), candidate {} run(s)",
            format::verdict_headline(comparison.verdict),
            comparison.baseline_runs,
            comparison.candidate_runs
        ),
    );
    let regressed: Vec<&str> = comparison
        .metrics
        .iter()
        .filter(|m| m.change == Change::Regressed)
        .map(|m| m.name.as_str())
        .collect();
    if !regressed.is_empty() {
        let _ = write!(
            body,
            "<p>Regressed: <span class=\"bad\">{}</span></p>",
            esc(&regressed.join(", "))
        );
    }
    for note in &comparison.notes {
        let _ = write!(body, "<p class=\"noise\">{}</p>", esc(note));
    }
    body.push_str(
        "<section><h2>Figures</h2><p class=\"sub\">Values are medians, with the range of the \
         runs in brackets.</p><table><thead><tr><th>figure</th><th class=\"num\">baseline</th>\
         <th class=\"num\">candidate</th><th class=\"num\">change</th><th>verdict</th></tr>\
         </thead><tbody>",
    );
    for metric in &comparison.metrics {
        let row = if metric.change == Change::Regressed {
            " class=\"failed\""
        } else {
            ""
        };
        let _ = write!(
            body,
            "<tr{row}><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td><span class=\"{}\">{}</span> <span class=\"sub\">· {}</span></td></tr>",
            esc(&metric.name),
            esc(&format::optional_spread(metric.unit, metric.baseline.as_ref())),
            esc(&format::optional_spread(metric.unit, metric.candidate.as_ref())),
            esc(&format::optional_change(metric.change_percent)),
            change_class(metric.change),
            esc(format::change_word(metric.change)),
            esc(&metric.reason)
        );
    }
    let _ = write!(
        body,
        "</tbody></table><p class=\"sub\">{}</p></section>",
        esc(&format::tolerances(&comparison.tolerances))
    );
    page(
        &format!(
            "{} · {scenarios} · streamproof",
            format::verdict_headline(comparison.verdict)
        ),
        &body,
    )
}

/// Renders a matrix, one column per value with the first as the baseline, as a page.
pub fn matrix_html(matrix: &Matrix) -> String {
    let scenarios = matrix
        .comparisons
        .first()
        .map(|c| c.baseline_scenarios.join(", "))
        .unwrap_or_default();
    let mut body = String::new();
    verdict_header(
        &mut body,
        matrix.verdict,
        &scenarios,
        &format!(
            "{} · {} value(s), each against {}",
            format::verdict_headline(matrix.verdict),
            matrix.labels.len(),
            matrix.labels.first().map_or("–", String::as_str)
        ),
    );
    body.push_str("<section><h2>Figures</h2><p class=\"sub\">Values are medians, with the range of the runs in brackets; each column against the first.</p><table><thead><tr><th>figure</th>");
    for (index, (label, runs)) in matrix.labels.iter().zip(&matrix.runs).enumerate() {
        let role = if index == 0 { "baseline, " } else { "" };
        let _ = write!(
            body,
            "<th class=\"num\"><code>{}</code><br><span class=\"sub\">{role}{runs} run(s)</span></th>",
            esc(label)
        );
    }
    body.push_str("</tr></thead><tbody>");
    for row in &matrix.rows {
        let regressed = row
            .others
            .iter()
            .flatten()
            .any(|cell| cell.change == Change::Regressed);
        let _ = write!(
            body,
            "<tr{}><td>{}</td><td class=\"num\">{}</td>",
            if regressed { " class=\"failed\"" } else { "" },
            esc(&row.name),
            esc(&format::optional_spread(row.unit, row.baseline.as_ref()))
        );
        for other in &row.others {
            match other {
                Some(cell) => {
                    let _ = write!(
                        body,
                        "<td class=\"num\">{}<br><span class=\"{}\">{}{}</span></td>",
                        esc(&format::optional_spread(row.unit, cell.spread.as_ref())),
                        change_class(cell.change),
                        cell.change_percent
                            .map(|c| format!("{} ", esc(&format::percent_change(c))))
                            .unwrap_or_default(),
                        esc(format::change_word(cell.change))
                    );
                }
                None => body.push_str("<td class=\"num\">–</td>"),
            }
        }
        body.push_str("</tr>");
    }
    body.push_str("</tbody></table>");
    if let Some(first) = matrix.comparisons.first() {
        let _ = write!(
            body,
            "<p class=\"sub\">{}</p>",
            esc(&format::tolerances(&first.tolerances))
        );
    }
    for (label, comparison) in matrix.labels.iter().skip(1).zip(&matrix.comparisons) {
        for note in &comparison.notes {
            let _ = write!(
                body,
                "<p class=\"noise\"><code>{}</code>: {}</p>",
                esc(label),
                esc(note)
            );
        }
    }
    body.push_str("</section>");
    page(
        &format!(
            "{} · {scenarios} matrix · streamproof",
            format::verdict_headline(matrix.verdict)
        ),
        &body,
    )
}
