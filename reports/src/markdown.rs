//! Markdown that pastes into a pull request: `summary.md` of a run ([`summary`]), comparisons
//! of runs ([`comparison`]) and matrices ([`matrix`]).

use std::fmt::Write as _;

use crate::compare::{Change, Comparison, Matrix};
use crate::escape::{markdown_cell as cell, markdown_code as code};
use crate::format::{self, ms};
use crate::result::{Latency, RunResult, Verdict, Verification};

fn latency_row(out: &mut String, name: &str, latency: &Latency) {
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} |",
        cell(name),
        latency.count,
        ms(latency.p50_us),
        ms(latency.p90_us),
        ms(latency.p99_us),
        ms(latency.p999_us),
        ms(latency.max_us)
    );
}

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
            format!(
                "**{}** (expected {}, actual {})",
                cell(&c.name),
                cell(&c.expected),
                cell(&c.actual)
            )
        })
        .collect();
    if !failing.is_empty() {
        let _ = writeln!(out, "Failed: {}\n", failing.join(" · "));
    }

    out.push_str("## Checks\n\n| check | expected | actual | |\n| --- | --- | --- | --- |\n");
    for check in &result.checks {
        let mark = if check.passed { "✅" } else { "❌" };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {mark} |",
            cell(&check.name),
            cell(&check.expected),
            cell(&check.actual)
        );
    }

    let c = &result.counts;
    out.push_str("\n## Counts\n\n| sent | acked | failed | unknown | present | lost | duplicates | phantoms |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} | {} |",
        c.sent, c.acked, c.failed, c.unknown, c.present, c.lost, c.duplicates, c.phantoms
    );
    let _ = writeln!(
        out,
        "\nRemoved below the log start by the platform {} · altered {} · deliberate duplicates {} sent / {} present · invalid {} sent / {} present · late {} · offset mismatches {} · order violations {} · foreign records {}",
        c.removed_below_log_start,
        c.corrupted,
        c.deliberate_duplicates_sent,
        c.deliberate_duplicates_present,
        c.invalid_sent,
        c.invalid_present,
        c.late_sent,
        c.offset_mismatches,
        c.order_violations,
        c.foreign
    );

    let t = &result.throughput;
    let target = t.target_eps.map_or_else(
        || "max (closed loop)".to_owned(),
        |eps| format!("{eps:.0} events/s"),
    );
    let _ = writeln!(
        out,
        "\n## Throughput and latency\n\nTarget {target} · achieved {:.0} events/s · {:.2} MB/s over {:.0} s (warmup excluded)\n",
        t.achieved_eps,
        t.bytes_per_s / 1e6,
        t.measured_seconds
    );
    out.push_str("| latency | samples | p50 | p90 | p99 | p99.9 | max |\n| --- | --- | --- | --- | --- | --- | --- |\n");
    latency_row(
        &mut out,
        "produce (from intended send)",
        &result.latency.produce,
    );
    latency_row(
        &mut out,
        "produce (service time, uncorrected)",
        &result.latency.produce_uncorrected,
    );
    if let Some(e2e) = &result.latency.end_to_end {
        latency_row(&mut out, "end to end", e2e);
    }
    if let Some(ft) = &result.fault_throughput {
        let rate = |eps: Option<f64>| eps.map_or_else(|| "–".to_owned(), format::eps);
        let _ = writeln!(
            out,
            "\nAcknowledged before faults {} · during faults {} · outside faults {}",
            rate(ft.before_faults_eps),
            rate(ft.during_faults_eps),
            rate(ft.outside_faults_eps)
        );
    }
    if let Some(max) = result.lag.max_records {
        let recovery = result
            .lag
            .recovery_seconds
            .map_or_else(|| "never".to_owned(), |s| format!("{s:.0} s"));
        let _ = writeln!(
            out,
            "\nLag: max {max} records · final {} · back to 0 after {recovery}",
            result.lag.final_records.unwrap_or(0)
        );
    }
    if result.lag.undrained_records > 0 {
        let _ = writeln!(
            out,
            "\nUndrained: {} records were still unread when the drain ended",
            result.lag.undrained_records
        );
    }
    let _ = writeln!(out, "\nGenerator: {}", result.generator.note);

    if !result.faults.is_empty() {
        out.push_str("\n## Faults\n\n| # | kind | target | brokers | injected | healed | what was done |\n| --- | --- | --- | --- | --- | --- | --- |\n");
        for fault in &result.faults {
            let brokers: Vec<String> = fault.brokers.iter().map(i32::to_string).collect();
            let healed = fault
                .healed_at_s
                .map_or_else(|| "never".to_owned(), format::seconds);
            let detail = if fault.applied {
                cell(&fault.detail)
            } else {
                format!("not applied: {}", cell(&fault.detail))
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {detail} |",
                fault.fault,
                cell(&fault.kind),
                code(&fault.target),
                brokers.join(", "),
                format::seconds(fault.injected_at_s),
                healed
            );
        }
    }

    if let Some(lake) = &result.lakehouse {
        let _ = writeln!(
            out,
            "\n## Lakehouse\n\n{} · {} · checkpoints every {} ms\n\n| table | rows | missing | duplicates | altered |\n| --- | ---: | ---: | ---: | ---: |\n| bronze.events | {} | {} | {} | {} |\n| silver.events | {} | {} | {} | - |\n| dlq-events | {} | {} | {} | - |",
            lake.engine,
            lake.guarantee,
            lake.checkpoint_interval_ms,
            lake.bronze_rows,
            lake.bronze_missing,
            lake.bronze_duplicates,
            lake.bronze_corrupted,
            lake.silver_rows,
            lake.silver_missing,
            lake.silver_duplicates,
            lake.dlq_present,
            lake.dlq_missing,
            lake.dlq_duplicates
        );
        if let Some(gold) = &lake.gold {
            let _ = writeln!(
                out,
                "\nGold: {} closed windows checked against the ledger, {} matching; {} records dropped as late.",
                gold.windows_checked, gold.windows_matching, gold.late_dropped
            );
        }
    }
    if let Some(b) = &result.bronze {
        let _ = writeln!(
            out,
            "\n## Bronze\n\nCopier {} · expected {} · present {} · missing {} · duplicates {} · altered {} · foreign {}",
            code(&b.copier_mode),
            b.expected,
            b.present,
            b.missing,
            b.duplicates,
            b.corrupted,
            b.foreign
        );
    }
    if let Some(verification) = &result.verification {
        verification_section(&mut out, verification);
    }

    if !result.anomalies.is_empty() {
        out.push_str("\n## Anomalies (examples)\n\n| anomaly | send id | event id | topic | partition | offset | first difference |\n| --- | --- | --- | --- | --- | --- | --- |\n");
        for (anomaly, examples) in &result.anomalies {
            for example in examples {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    cell(anomaly),
                    example.send_id,
                    code(&example.event_id),
                    cell(&example.topic),
                    example
                        .partition
                        .map_or_else(|| "-".to_owned(), |p| p.to_string()),
                    example
                        .offset
                        .map_or_else(|| "-".to_owned(), |o| o.to_string()),
                    example
                        .difference
                        .as_ref()
                        .map_or_else(|| "-".to_owned(), |d| cell(&d.to_string())),
                );
            }
        }
    }

    let p = &result.platform;
    let _ = writeln!(
        out,
        "\n## Platform\n\nKafka {} · producer profile {}",
        p.kafka_version,
        code(&p.producer_profile)
    );
    let _ = writeln!(out, "\nProducer: {}", properties(&p.producer_properties));
    for group in &p.consumer_groups {
        let _ = writeln!(
            out,
            "\nConsumer group {} ({} × {}), consumed {}: {}",
            code(&group.group),
            group.instances,
            code(&group.profile),
            group.consumed,
            properties(&group.properties)
        );
    }
    if !p.topics.is_empty() {
        let topics: Vec<String> = p
            .topics
            .iter()
            .map(|t| {
                format!(
                    "{} {}×RF{} min ISR {}",
                    code(&t.name),
                    t.partitions,
                    t.replication_factor,
                    t.min_insync_replicas
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "\nTopics (partitions×replication): {}",
            topics.join(" · ")
        );
    }
    out
}

/// What the verification read and how long it took, and the raw partitions the platform
/// removed records from.
fn verification_section(out: &mut String, verification: &Verification) {
    out.push_str("\n## Verification\n\n| layer | seconds | records read | records/s |\n| --- | ---: | ---: | ---: |\n");
    for step in &verification.steps {
        let _ = writeln!(
            out,
            "| {} | {:.2} | {} | {:.0} |",
            cell(&step.layer),
            step.seconds,
            step.records_read,
            step.records_read as f64 / step.seconds.max(1e-9)
        );
    }
    for partition in verification.partitions_with_removals() {
        let _ = writeln!(
            out,
            "\n{}/{}: the platform removed {} records of the run from its start (the run began at offset {}, the log starts at {})",
            partition.topic,
            partition.partition,
            partition.removed(),
            partition.run_start,
            partition.log_start
        );
    }
}

fn properties(properties: &std::collections::BTreeMap<String, String>) -> String {
    if properties.is_empty() {
        return "defaults".to_owned();
    }
    properties
        .iter()
        .map(|(k, v)| code(&format!("{k}={v}")))
        .collect::<Vec<_>>()
        .join(" ")
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
