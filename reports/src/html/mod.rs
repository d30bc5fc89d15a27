//! `index.html`: one self-contained page per run, and pages comparing runs.
//!
//! A page needs nothing but itself: styles are inline, charts are inline SVG, there are no
//! scripts, fonts or links to fetch, so it opens the same from a CI artifact, an e-mail or a
//! laptop on a train, and prints cleanly. Every value from a result is escaped.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::charts::{self, CHART_SIZE};
use crate::compare::{Change, Comparison, Matrix};
use crate::escape::markup as esc;
use crate::format;
use crate::result::plan::CapacityPlan;
use crate::result::{RunResult, Verdict};
use crate::{markdown, view, ReportError};

mod comparison;
mod run;

pub use comparison::*;
use run::*;

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

/// Writes `index.html` and `summary.md` for a capacity plan into `dir`, creating it when
/// missing.
pub fn render_plan_dir(dir: &Path, plan: &CapacityPlan) -> Result<Written, ReportError> {
    write_pair(dir, &render_plan_html(plan), &markdown::plan(plan))
}

/// Renders the page of a capacity plan.
pub fn render_plan_html(plan: &CapacityPlan) -> String {
    let (class, badge) = match &plan.proof {
        Some(proof) if proof.proven => ("pass", "PROVEN"),
        Some(_) => ("fail", "NOT PROVEN"),
        None => ("neutral", "PLAN"),
    };
    let mut body = format!(
        "<header class=\"verdict {class}\"><div class=\"badge\">{badge}</div><div><h1>Capacity plan: {}</h1>\
         <p>{} topic(s) · {} broker(s) needed</p></div></header>\n",
        esc(&plan.name),
        plan.topics.len(),
        plan.brokers.needed
    );
    document(&mut body, &view::plan_document(plan), None);
    let _ = write!(
        body,
        "<footer>Plan of streamproof {} · plan format {}</footer>",
        esc(&plan.streamproof_version),
        plan.plan_version
    );
    page(
        &format!("{badge} · {} · streamproof plan", plan.name),
        &body,
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
    document(&mut body, &view::run_document(result), Some(result));
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
