//! Sections about the load: counts, throughput and latency, faults, charts and anomaly
//! examples.

use super::{Block, Column, Format, Row, Section, Span, Stat, Table, Text};
use crate::charts::ChartKind;
use crate::format;
use crate::result::{FaultRecord, Latency, RunResult};

pub(super) fn counts(result: &RunResult) -> Section {
    let c = &result.counts;
    let count = |label, value: u64| Stat::new(label, value.to_string());
    // Counts that mean something went wrong when they are not 0.
    let anomaly = |label, value: u64| count(label, value).bad_when(value > 0);
    let sent_and_present = |label, sent: u64, present: u64| {
        Stat::new(label, format!("{sent} sent / {present} present"))
    };
    Section {
        title: "Counts",
        blocks: vec![
            Block::StatRow(vec![
                count("sent", c.sent),
                count("acked", c.acked),
                count("failed", c.failed),
                count("unknown", c.unknown),
                count("present", c.present),
                anomaly("lost", c.lost),
                anomaly("duplicates", c.duplicates),
                anomaly("phantoms", c.phantoms),
            ]),
            Block::Stats(vec![
                anomaly(
                    "Removed below the log start by the platform",
                    c.removed_below_log_start,
                ),
                anomaly("altered", c.corrupted),
                sent_and_present(
                    "deliberate duplicates",
                    c.deliberate_duplicates_sent,
                    c.deliberate_duplicates_present,
                ),
                sent_and_present("invalid", c.invalid_sent, c.invalid_present),
                count("late", c.late_sent),
                anomaly("offset mismatches", c.offset_mismatches),
                anomaly("order violations", c.order_violations),
                count("foreign records", c.foreign),
            ]),
            Block::only(
                Format::Html,
                Block::Stats(vec![
                    count("unknown outcome, present", c.unknown_present),
                    anomaly("invalid missing", c.invalid_missing),
                    anomaly(
                        "deliberate duplicates missing",
                        c.deliberate_duplicates_missing,
                    ),
                ]),
            ),
            Block::only(
                Format::Html,
                Block::Note(Text::plain(
                    "Counts cover every send, warmup included, so they reconcile record for \
                     record with the topics.",
                )),
            ),
        ],
    }
}

pub(super) fn throughput_and_latency(result: &RunResult) -> Section {
    let t = &result.throughput;
    let target = t
        .target_eps
        .map_or_else(|| "max (closed loop)".to_owned(), format::eps);
    let short = t
        .target_eps
        .is_some_and(|target| t.achieved_eps < target * 0.99);
    let mut blocks = vec![
        Block::only(
            Format::Markdown,
            Block::Paragraph(Text::plain(format!(
                "Target {target} · achieved {} · {} over {:.0} s (warmup excluded)",
                format::eps(t.achieved_eps),
                format::megabytes_per_second(t.bytes_per_s),
                t.measured_seconds
            ))),
        ),
        Block::only(
            Format::Html,
            Block::Stats(vec![
                Stat::new("target", target),
                Stat::new("sent", format::eps(t.sent_eps)),
                Stat::new("acknowledged", format::eps(t.achieved_eps)).bad_when(short),
                Stat::new(
                    "acknowledged bytes",
                    format::megabytes_per_second(t.bytes_per_s),
                ),
                Stat::new(
                    "measured (warmup excluded)",
                    format::seconds(t.measured_seconds),
                ),
            ]),
        ),
        Block::only(Format::Html, Block::Heading(Text::plain("Latency"))),
        Block::Table(latency_table(result)),
    ];
    if let Some(ft) = &result.fault_throughput {
        let rate = |eps: Option<f64>| eps.map_or_else(|| "–".to_owned(), format::eps);
        blocks.push(Block::Stats(vec![
            Stat::new("Acknowledged before faults", rate(ft.before_faults_eps)),
            Stat::new("during faults", rate(ft.during_faults_eps)),
            Stat::new("outside faults", rate(ft.outside_faults_eps)),
        ]));
    }
    blocks.extend(lag(result));
    let g = &result.generator;
    let note = if g.kept_up {
        Span::Plain(g.note.clone())
    } else {
        Span::Bad(g.note.clone())
    };
    blocks.push(Block::Paragraph(Text::plain("Generator: ").then(note)));
    blocks.push(Block::only(
        Format::Html,
        Block::Note(Text::plain(format!(
            "CPU {:.0}% of one core ({} cores) · schedule slip p99 {} / max {} · producer \
             buffer full {} time(s)",
            g.cpu_percent,
            g.cores,
            format::ms(g.schedule_slip_p99_us),
            format::ms(g.schedule_slip_max_us),
            g.queue_full_waits
        ))),
    ));
    Section {
        title: "Throughput and latency",
        blocks,
    }
}

fn latency_table(result: &RunResult) -> Table {
    let row = |name: &str, latency: &Latency| {
        Row::new(vec![
            Text::plain(name),
            Text::plain(latency.count.to_string()),
            Text::plain(format::ms(latency.p50_us)),
            Text::plain(format::ms(latency.p90_us)),
            Text::plain(format::ms(latency.p99_us)),
            Text::plain(format::ms(latency.p999_us)),
            Text::plain(format::ms(latency.max_us)),
        ])
    };
    let l = &result.latency;
    let mut rows = vec![
        row("produce (from intended send)", &l.produce),
        row(
            "produce (service time, uncorrected)",
            &l.produce_uncorrected,
        ),
    ];
    rows.extend(l.end_to_end.as_ref().map(|e2e| row("end to end", e2e)));
    Table {
        columns: vec![
            Column::text("latency"),
            Column::number("samples"),
            Column::number("p50"),
            Column::number("p90"),
            Column::number("p99"),
            Column::number("p99.9"),
            Column::number("max"),
        ],
        rows,
        aligned_in_markdown: false,
    }
}

/// Consumer lag: a sentence in the summary, figures flagged on the page.
fn lag(result: &RunResult) -> Vec<Block> {
    let lag = &result.lag;
    let mut blocks = Vec::new();
    if let Some(max) = lag.max_records {
        let final_records = lag.final_records.unwrap_or(0);
        blocks.push(Block::only(
            Format::Markdown,
            Block::Paragraph(Text::plain(format!(
                "Lag: max {max} records · final {final_records} · back to 0 after {}",
                lag.recovery_seconds
                    .map_or_else(|| "never".to_owned(), |s| format!("{s:.0} s"))
            ))),
        ));
        blocks.push(Block::only(
            Format::Html,
            Block::Stats(vec![
                Stat::new("max lag", format!("{max} records")),
                Stat::new("final lag", format!("{final_records} records"))
                    .bad_when(final_records > 0),
                Stat::new(
                    "lag back to 0 after",
                    lag.recovery_seconds
                        .map_or_else(|| "never".to_owned(), format::seconds),
                )
                .bad_when(lag.recovery_seconds.is_none()),
            ]),
        ));
    }
    let undrained = format!("{} records", lag.undrained_records);
    if lag.undrained_records > 0 {
        blocks.push(Block::only(
            Format::Markdown,
            Block::Paragraph(Text::plain(format!(
                "Undrained: {undrained} were still unread when the drain ended"
            ))),
        ));
    }
    blocks.push(Block::only(
        Format::Html,
        Block::Stats(vec![
            Stat::new("undrained", undrained).bad_when(lag.undrained_records > 0)
        ]),
    ));
    blocks
}

/// The steps of a `rate: find-max` search; the rest of the page is the step kept.
pub(super) fn rate_search(result: &RunResult) -> Option<Section> {
    let search = result.rate_search.as_ref()?;
    let found = search
        .max_sustainable_eps
        .map_or("no rate held".to_owned(), format::eps);
    Some(Section {
        title: "Rate search",
        blocks: vec![
            Block::Stats(vec![
                Stat::new("Highest rate every expectation held at", found)
                    .bad_when(search.max_sustainable_eps.is_none()),
                Stat::new(
                    "Lowest rate that failed",
                    search
                        .lowest_failed_eps
                        .map_or("none (the ceiling held)".to_owned(), format::eps),
                ),
                Stat::new(
                    "Converged",
                    if search.converged {
                        format!("yes, within {:.0}%", search.precision * 100.0)
                    } else {
                        "no: the step budget or the ceiling ended it".to_owned()
                    },
                ),
            ]),
            Block::Note(Text::plain(format!(
                "{} The figures below this section are those of the highest step that held (or of the last step); each step's result.json is under search/.",
                super::plan::STEPS_NOTE
            ))),
            Block::Table(super::plan::search_table(
                search.steps.iter().map(|step| (None, step)).collect(),
            )),
        ],
    })
}

pub(super) fn faults(result: &RunResult) -> Option<Section> {
    if result.faults.is_empty() {
        return None;
    }
    let mut blocks = vec![
        Block::Table(Table {
            columns: vec![
                Column::text("#"),
                Column::text("kind"),
                Column::text("target"),
                Column::text("brokers"),
                Column::number("injected"),
                Column::number("healed"),
                Column::text("what was done"),
            ],
            rows: result.faults.iter().map(fault_row).collect(),
            aligned_in_markdown: false,
        }),
        Block::only(
            Format::Html,
            Block::Note(Text::plain(
                "Times are seconds from the start of the load; the charts shade each \
                     fault window.",
            )),
        ),
    ];
    blocks.extend(fault_commands(&result.faults));
    Some(Section {
        title: "Faults",
        blocks,
    })
}

/// The platform file's commands the faults ran, with their exit codes, when any did.
fn fault_commands(faults: &[FaultRecord]) -> Option<Block> {
    let rows: Vec<Row> = faults
        .iter()
        .flat_map(|fault| fault.commands.iter().map(move |ran| (fault.fault, ran)))
        .map(|(fault, ran)| Row {
            cells: vec![
                Text::plain(fault.to_string()),
                Text::plain(ran.action.clone()),
                Text::code(ran.command.clone()),
                Text::plain(
                    ran.exit_code
                        .map_or_else(|| "ended".to_owned(), |code| code.to_string()),
                ),
                Text::plain(format::seconds(ran.started_at_s)),
                Text::plain(format::seconds(ran.seconds)),
                Text::plain(ran.output.lines().last().unwrap_or_default().to_owned()),
            ],
            failed: !ran.succeeded(),
        })
        .collect();
    (!rows.is_empty()).then(|| {
        Block::Table(Table {
            columns: vec![
                Column::text("fault"),
                Column::text("command"),
                Column::text("as run"),
                Column::number("exit"),
                Column::number("started"),
                Column::number("took"),
                Column::text("last line of output"),
            ],
            rows,
            aligned_in_markdown: false,
        })
    })
}

fn fault_row(fault: &FaultRecord) -> Row {
    let number = match fault.repetition {
        0 => fault.fault.to_string(),
        repetition => format!("{} (repeat {repetition})", fault.fault),
    };
    let brokers: Vec<String> = fault.brokers.iter().map(i32::to_string).collect();
    let detail = if fault.applied {
        Text::plain(fault.detail.clone())
    } else {
        Text(vec![Span::Bad("not applied:".to_owned())]).then_plain(format!(" {}", fault.detail))
    };
    Row {
        cells: vec![
            Text::plain(number),
            Text::plain(fault.kind.clone()),
            Text::code(fault.target.clone()),
            Text::plain(brokers.join(", ")),
            Text::plain(format::seconds(fault.injected_at_s)),
            Text::plain(
                fault
                    .healed_at_s
                    .map_or_else(|| "never".to_owned(), format::seconds),
            ),
            detail,
        ],
        failed: !fault.applied,
    }
}

pub(super) fn charts() -> Section {
    Section {
        title: "Charts",
        blocks: ChartKind::ALL
            .into_iter()
            .map(|kind| Block::Chart {
                kind,
                caption: chart_caption(kind),
            })
            .collect(),
    }
}

fn chart_caption(kind: ChartKind) -> &'static str {
    match kind {
        ChartKind::Throughput => "Events per second; shaded: warmup and fault windows.",
        ChartKind::Latency => {
            "Per-second p50 and p99 of the sends acknowledged and records consumed in that \
             second; gaps are seconds without samples."
        }
        ChartKind::LatencyDistribution => {
            "Latency at each percentile of the measured part. Corrected latency counts from \
             the intended send time, so stalls of the platform show in full; uncorrected \
             latency is the service time of each send."
        }
        ChartKind::Lag => {
            "Records the slowest consumer group had not read, sampled each second; gaps are \
             seconds without a sample."
        }
    }
}

pub(super) fn anomalies(result: &RunResult) -> Option<Section> {
    if result.anomalies.values().all(Vec::is_empty) {
        return None;
    }
    let optional = |number: Option<String>| Text::plain(number.unwrap_or_else(|| "-".to_owned()));
    let rows = result
        .anomalies
        .iter()
        .flat_map(|(anomaly, examples)| examples.iter().map(move |e| (anomaly, e)))
        .map(|(anomaly, example)| {
            Row::new(vec![
                Text::plain(anomaly.clone()),
                Text::plain(example.send_id.to_string()),
                Text::code(example.event_id.clone()),
                Text::plain(example.topic.clone()),
                optional(example.partition.map(|p| p.to_string())),
                optional(example.offset.map(|o| o.to_string())),
                optional(example.difference.as_ref().map(ToString::to_string)),
            ])
        })
        .collect();
    Some(Section {
        title: "Anomalies (examples)",
        blocks: vec![Block::Table(Table {
            columns: vec![
                Column::text("anomaly"),
                Column::number("send id"),
                Column::text("event id"),
                Column::text("topic"),
                Column::number("partition"),
                Column::number("offset"),
                Column::text("first difference"),
            ],
            rows,
            aligned_in_markdown: false,
        })],
    })
}
