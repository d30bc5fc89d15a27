//! Markdown that pastes into a pull request: `summary.md` of a run ([`summary`]), comparisons
//! of runs ([`comparison`]) and matrices ([`matrix`]).

use std::fmt::Write as _;

use crate::compare::{Change, Comparison, Matrix};
use crate::escape::{markdown_cell as cell, markdown_code as code, markdown_inline as inline};
use crate::format;
use crate::result::plan::CapacityPlan;
use crate::result::{RunResult, Verdict};
use crate::view::{self, Block, Document, Format, Span, Text};

/// Renders the Markdown summary of a run.
pub fn summary(result: &RunResult) -> String {
    let mut out = String::new();
    let verdict = match result.verdict {
        Verdict::Pass => "✅ PASS",
        Verdict::Fail => "❌ FAIL",
    };
    let failed = result.checks.iter().filter(|c| !c.passed).count();
    let _ = writeln!(out, "# {verdict}: {}\n", result.scenario.name);
    if !result.scenario.description.is_empty() {
        let _ = writeln!(out, "{}\n", result.scenario.description.trim());
    }
    let _ = writeln!(
        out,
        "{} of {} checks held · run {} · {} · {:.0} s · {} {} broker(s) at {}\n",
        result.checks.len() - failed,
        result.checks.len(),
        code(&result.run_id),
        result.started_at,
        result.duration_seconds,
        result.platform.kind,
        result.platform.brokers,
        code(&result.platform.bootstrap_servers)
    );
    let _ = writeln!(
        out,
        "Scenario {} (seed {}, SHA-256 {}) · streamproof {}\n",
        code(&result.scenario.file),
        result.scenario.seed,
        code(short_hash(&result.scenario.sha256)),
        result.streamproof_version
    );
    let failing: Vec<String> = result
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| {
            let (expected, actual) = view::check_texts(c);
            format!(
                "**{}** (expected {}, actual {})",
                cell(&c.name),
                cell(&expected),
                cell(&actual)
            )
        })
        .collect();
    if !failing.is_empty() {
        let _ = writeln!(out, "Failed: {}\n", failing.join(" · "));
    }
    document(&mut out, &view::run_document(result));
    out
}

/// Renders the Markdown summary of a capacity plan.
pub fn plan(plan: &CapacityPlan) -> String {
    let mut out = String::new();
    let mark = match &plan.proof {
        Some(proof) if proof.proven => "✅ PROVEN",
        Some(_) => "❌ NOT PROVEN",
        None => "📐 PLAN",
    };
    let _ = writeln!(out, "# {mark}: capacity plan {}\n", inline(&plan.name));
    let _ = writeln!(
        out,
        "{} topic(s) · {} broker(s) needed · made {} by streamproof {}\n",
        plan.topics.len(),
        plan.brokers.needed,
        plan.created_at,
        inline(&plan.streamproof_version)
    );
    document(&mut out, &view::plan_document(plan));
    out
}

/// The sections of a run's document that the summary shows; a section left with nothing to
/// show (the charts) is left out whole.
fn document(out: &mut String, document: &Document) {
    let mut first = true;
    for section in &document.sections {
        let blocks: Vec<String> = section.blocks.iter().filter_map(block).collect();
        if blocks.is_empty() {
            continue;
        }
        if !first {
            out.push('\n');
        }
        first = false;
        let _ = writeln!(out, "## {}\n", section.title);
        out.push_str(&blocks.join("\n"));
    }
}

/// A block as Markdown, ending in a line break; `None` for what only the page shows.
fn block(block: &Block) -> Option<String> {
    Some(match block {
        Block::Paragraph(text) | Block::Note(text) => format!("{}\n", text_markdown(text)),
        Block::Heading(text) => format!("### {}\n", text_markdown(text)),
        Block::Stats(stats) => {
            let stats: Vec<String> = stats
                .iter()
                .map(|stat| format!("{} {}", inline(stat.label), text_markdown(&stat.value)))
                .collect();
            format!("{}\n", stats.join(" · "))
        }
        Block::StatRow(stats) => table_markdown(
            stats.iter().map(|stat| (stat.label, false)),
            false,
            [stats.iter().map(|stat| &stat.value).collect()],
        ),
        Block::Table(table) => table_markdown(
            table.columns.iter().map(|c| (c.title, c.numeric)),
            table.aligned_in_markdown,
            table.rows.iter().map(|row| row.cells.iter().collect()),
        ),
        Block::Facts(facts) => facts
            .iter()
            .map(|(label, value)| format!("- {}: {}\n", inline(label), text_markdown(value)))
            .collect(),
        Block::Preformatted(text) => fenced(text),
        Block::Chart { .. } | Block::Figure { .. } | Block::Only(Format::Html, _) => return None,
        Block::Only(Format::Markdown, only) => return self::block(only),
    })
}

fn table_markdown<'a>(
    columns: impl Iterator<Item = (&'static str, bool)>,
    aligned: bool,
    rows: impl IntoIterator<Item = Vec<&'a Text>>,
) -> String {
    let (titles, rules): (Vec<String>, Vec<String>) = columns
        .map(|(title, numeric)| {
            let rule = if aligned && numeric { "---:" } else { "---" };
            (cell(title), rule.to_owned())
        })
        .unzip();
    let mut out = table_line(&titles) + &table_line(&rules);
    for row in rows {
        let cells: Vec<String> = row
            .into_iter()
            .map(|text| text_markdown(text).trim().to_owned())
            .collect();
        out.push_str(&table_line(&cells));
    }
    out
}

/// `| a | b |`, an empty cell as `| |`.
fn table_line(cells: &[String]) -> String {
    let mut line = "|".to_owned();
    for cell in cells {
        if !cell.is_empty() {
            line.push(' ');
            line.push_str(cell);
        }
        line.push_str(" |");
    }
    line.push('\n');
    line
}

/// A fenced block: the fence is longer than any run of backticks in the text.
fn fenced(text: &str) -> String {
    let longest_run = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run.max(2) + 1);
    format!("{fence}\n{text}\n{fence}\n")
}

fn text_markdown(text: &Text) -> String {
    text.0
        .iter()
        .map(|span| match span {
            Span::Plain(text) | Span::Name(text) | Span::Bad(text) => inline(text),
            Span::Code(text) => code(text),
            Span::Verdict(true) => "✅".to_owned(),
            Span::Verdict(false) => "❌".to_owned(),
        })
        .collect()
}

/// The first 12 hex digits identify a scenario file well enough in a pull request.
fn short_hash(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// Renders a comparison of runs as Markdown: the verdict, then one row per figure.
pub fn comparison(comparison: &Comparison) -> String {
    let mut out = String::new();
    let mark = if comparison.regressed() { "❌" } else { "✅" };
    let _ = writeln!(
        out,
        "# {mark} {}: {}\n",
        format::verdict_headline(comparison.verdict),
        cell(&format::compared_scenarios(comparison))
    );
    let regressed: Vec<&str> = comparison
        .metrics
        .iter()
        .filter(|m| m.change == Change::Regressed)
        .map(|m| m.name.as_str())
        .collect();
    if !regressed.is_empty() {
        let _ = writeln!(out, "Regressed: **{}**\n", cell(&regressed.join(", ")));
    }
    let _ = writeln!(
        out,
        "Baseline {} run(s), candidate {} run(s). Values are medians, with the range of the runs in brackets.\n",
        comparison.baseline_runs, comparison.candidate_runs
    );
    for note in &comparison.notes {
        let _ = writeln!(out, "> {}\n", cell(note));
    }
    out.push_str("| figure | baseline | candidate | change | verdict |\n| --- | ---: | ---: | ---: | --- |\n");
    for metric in &comparison.metrics {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} {}: {} |",
            cell(&metric.name),
            format::optional_spread(metric.unit, metric.baseline.as_ref()),
            format::optional_spread(metric.unit, metric.candidate.as_ref()),
            format::optional_change(metric.change_percent),
            format::change_mark(metric.change),
            format::change_word(metric.change),
            cell(&metric.reason)
        );
    }
    let _ = writeln!(out, "\n{}", format::tolerances(&comparison.tolerances));
    out
}

/// Renders a matrix, one column per value with the first as the baseline, as Markdown.
pub fn matrix(matrix: &Matrix) -> String {
    let mut out = String::new();
    let mark = if matrix.verdict == Change::Regressed {
        "❌"
    } else {
        "✅"
    };
    let scenarios: Vec<String> = matrix
        .comparisons
        .first()
        .map(|c| c.baseline_scenarios.clone())
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "# {mark} {}{}\n",
        format::verdict_headline(matrix.verdict),
        if scenarios.is_empty() {
            String::new()
        } else {
            format!(": {}", cell(&scenarios.join(", ")))
        }
    );
    for (label, comparison) in matrix.labels.iter().skip(1).zip(&matrix.comparisons) {
        let regressed: Vec<&str> = comparison
            .metrics
            .iter()
            .filter(|m| m.change == Change::Regressed)
            .map(|m| m.name.as_str())
            .collect();
        if !regressed.is_empty() {
            let _ = writeln!(
                out,
                "{} regressed: **{}**\n",
                code(label),
                cell(&regressed.join(", "))
            );
        }
    }
    out.push_str(
        "Each column against the first; values are medians, with the range of the runs in brackets.\n\n",
    );
    out.push_str("| figure |");
    for (index, (label, runs)) in matrix.labels.iter().zip(&matrix.runs).enumerate() {
        let role = if index == 0 { "baseline, " } else { "" };
        let _ = write!(out, " {} ({role}{runs} run(s)) |", cell(label));
    }
    out.push_str("\n| --- |");
    out.push_str(&" ---: |".repeat(matrix.labels.len()));
    out.push('\n');
    for row in &matrix.rows {
        let _ = write!(
            out,
            "| {} | {} |",
            cell(&row.name),
            format::optional_spread(row.unit, row.baseline.as_ref())
        );
        for other in &row.others {
            match other {
                Some(other) => {
                    let change = other
                        .change_percent
                        .map(|c| format!(" ({})", format::percent_change(c)))
                        .unwrap_or_default();
                    let _ = write!(
                        out,
                        " {}{change} {} |",
                        format::optional_spread(row.unit, other.spread.as_ref()),
                        format::change_mark(other.change)
                    );
                }
                None => out.push_str(" – |"),
            }
        }
        out.push('\n');
    }
    if let Some(first) = matrix.comparisons.first() {
        let _ = writeln!(
            out,
            "\n🔴 regressed · 🟢 improved · ≈ within noise · = unchanged · – not compared\n\n{}",
            format::tolerances(&first.tolerances)
        );
    }
    out
}
