//! The run page's later sections: bronze, the lakehouse, the verification's cost, the
//! platform and the scenario.

use super::*;

pub(super) fn bronze(out: &mut String, result: &RunResult) {
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

pub(super) fn verification(out: &mut String, result: &RunResult) {
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
            partition.removed(),
            partition.run_start,
            partition.log_start
        );
    }
    out.push_str("</section>\n");
}

pub(super) fn lakehouse(out: &mut String, result: &RunResult) {
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

pub(super) fn properties_table(
    out: &mut String,
    properties: &std::collections::BTreeMap<String, String>,
) {
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

pub(super) fn platform(out: &mut String, result: &RunResult) {
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

pub(super) fn scenario(out: &mut String, result: &RunResult) {
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
