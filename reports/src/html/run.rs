//! The run page's first sections: the verdict, the checks, the headline figures, faults,
//! charts, counts and anomaly examples.

use super::*;

pub(super) fn header(out: &mut String, result: &RunResult, verdict: &str) {
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

pub(super) fn checks(out: &mut String, result: &RunResult) {
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

pub(super) fn stat(out: &mut String, label: &str, value: &str, bad: bool) {
    let class = if bad { "stat bad" } else { "stat" };
    let _ = write!(
        out,
        "<div class=\"{class}\"><div class=\"label\">{}</div><div class=\"value\">{}</div></div>",
        esc(label),
        esc(value)
    );
}

pub(super) fn latency_row(out: &mut String, name: &str, latency: &Latency) {
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

pub(super) fn headline(out: &mut String, result: &RunResult) {
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

pub(super) fn faults(out: &mut String, result: &RunResult) {
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
pub(super) fn inline_svg(svg: &str, title: &str) -> String {
    let body = svg.find('>').map_or(svg, |end| &svg[end + 1..]);
    let (width, height) = CHART_SIZE;
    format!(
        "<svg viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\">{body}",
        esc(title)
    )
}

pub(super) fn chart_section(out: &mut String, result: &RunResult) {
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

pub(super) fn counts(out: &mut String, result: &RunResult) {
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

pub(super) fn anomalies(out: &mut String, result: &RunResult) {
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
