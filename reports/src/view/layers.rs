//! Sections about what the run went through and ran on: the lakehouse, bronze, the
//! verification's cost, the platform and the scenario.

use std::collections::BTreeMap;

use super::{Block, Column, Format, Row, Section, Span, Stat, Table, Text};
use crate::format;
use crate::result::{Lakehouse, RunResult};

pub(super) fn lakehouse(result: &RunResult) -> Option<Section> {
    let lake = result.lakehouse.as_ref()?;
    let mut blocks = vec![
        Block::Paragraph(
            Text::plain(format!(
                "{} · {} tables · {} · checkpoints every {} ms · warehouse ",
                lake.engine, lake.table_format, lake.guarantee, lake.checkpoint_interval_ms
            ))
            .then_code(lake.warehouse.clone()),
        ),
        Block::Table(tables(lake)),
    ];
    if let Some(gold) = &lake.gold {
        let wrong = gold.windows_mismatched + gold.windows_missing + gold.windows_unexpected;
        blocks.push(Block::Stats(vec![
            Stat::new("gold windows checked", gold.windows_checked.to_string()),
            Stat::new("matching the ledger", gold.windows_matching.to_string()),
            Stat::new("gold windows wrong", wrong.to_string()).bad_when(wrong > 0),
            Stat::new("dropped as late", gold.late_dropped.to_string())
                .bad_when(gold.late_dropped > gold.late_excluded),
        ]));
    }
    if let Some(visible) = &lake.silver_visible {
        blocks.push(Block::Stats(vec![
            Stat::new("visible in silver p50", format::ms(visible.p50_us)),
            Stat::new("visible in silver p99", format::ms(visible.p99_us)),
        ]));
    }
    blocks.push(Block::Table(jobs(lake)));
    Some(Section {
        title: "Lakehouse",
        blocks,
    })
}

/// Each table of the pipeline against the ledger; `-` where an anomaly cannot occur.
fn tables(lake: &Lakehouse) -> Table {
    let figure = |value: Option<u64>| Text::plain(value.map_or("-".to_owned(), |v| v.to_string()));
    let row = |table: &str, figures: [Option<u64>; 5]| {
        let failed = figures[1..]
            .iter()
            .flatten()
            .any(|&anomalies| anomalies > 0);
        Row {
            cells: std::iter::once(Text::plain(table))
                .chain(figures.map(figure))
                .collect(),
            failed,
        }
    };
    Table {
        columns: vec![
            Column::text("table"),
            Column::number("rows"),
            Column::number("missing"),
            Column::number("duplicates"),
            Column::number("altered"),
            Column::number("unexpected"),
        ],
        rows: vec![
            row(
                "bronze.events",
                [
                    Some(lake.bronze_rows),
                    Some(lake.bronze_missing),
                    Some(lake.bronze_duplicates),
                    Some(lake.bronze_corrupted),
                    None,
                ],
            ),
            row(
                "silver.events",
                [
                    Some(lake.silver_rows),
                    Some(lake.silver_missing),
                    Some(lake.silver_duplicates),
                    None,
                    Some(lake.silver_unexpected),
                ],
            ),
            row(
                "dlq-events",
                [
                    Some(lake.dlq_present),
                    Some(lake.dlq_missing),
                    Some(lake.dlq_duplicates),
                    None,
                    Some(lake.dlq_unexpected),
                ],
            ),
        ],
        aligned_in_markdown: true,
    }
}

fn jobs(lake: &Lakehouse) -> Table {
    Table {
        columns: vec![
            Column::text("job"),
            Column::text("state"),
            Column::number("checkpoints"),
            Column::number("failed"),
            Column::number("restored"),
            Column::text("last checkpoint"),
        ],
        rows: lake
            .jobs
            .iter()
            .map(|job| {
                Row::new(vec![
                    Text::plain(job.layer.clone()),
                    Text::plain(job.state.clone()),
                    Text::plain(job.checkpoints_completed.to_string()),
                    Text::plain(job.checkpoints_failed.to_string()),
                    Text::plain(job.restored.to_string()),
                    Text::plain(format!(
                        "{} ms, {} bytes",
                        job.latest_checkpoint_ms, job.latest_checkpoint_bytes
                    )),
                ])
            })
            .collect(),
        aligned_in_markdown: true,
    }
}

pub(super) fn bronze(result: &RunResult) -> Option<Section> {
    let b = result.bronze.as_ref()?;
    let count = |label, value: u64| Stat::new(label, value.to_string());
    let anomaly = |label, value: u64| count(label, value).bad_when(value > 0);
    Some(Section {
        title: "Bronze",
        blocks: vec![
            Block::Paragraph(Text::plain("Copier ").then_code(b.copier_mode.clone())),
            Block::Stats(vec![
                count("expected", b.expected),
                count("present", b.present),
                anomaly("missing", b.missing),
                anomaly("duplicates", b.duplicates),
                anomaly("altered", b.corrupted),
                count("foreign", b.foreign),
            ]),
        ],
    })
}

/// What the verification read and how long it took, and the raw partitions the platform
/// removed records from.
pub(super) fn verification(result: &RunResult) -> Option<Section> {
    let verification = result.verification.as_ref()?;
    let steps = Table {
        columns: vec![
            Column::text("layer"),
            Column::number("seconds"),
            Column::number("records read"),
            Column::number("records/s"),
        ],
        rows: verification
            .steps
            .iter()
            .map(|step| {
                Row::new(vec![
                    Text::plain(step.layer.clone()),
                    Text::plain(format!("{:.2}", step.seconds)),
                    Text::plain(step.records_read.to_string()),
                    Text::plain(format!(
                        "{:.0}",
                        step.records_read as f64 / step.seconds.max(1e-9)
                    )),
                ])
            })
            .collect(),
        aligned_in_markdown: true,
    };
    let removals = verification.partitions_with_removals().map(|partition| {
        Block::Paragraph(Text(vec![Span::Bad(format!(
            "{}/{}: the platform removed {} records of the run from its start (the run began \
             at offset {}, the log starts at {})",
            partition.topic,
            partition.partition,
            partition.removed(),
            partition.run_start,
            partition.log_start
        ))]))
    });
    Some(Section {
        title: "Verification",
        blocks: std::iter::once(Block::Table(steps))
            .chain(removals)
            .collect(),
    })
}

/// The platform: one line per client in the summary; every property in a table on the page.
pub(super) fn platform(result: &RunResult) -> Section {
    let p = &result.platform;
    let summary = |text: Text| Block::only(Format::Markdown, Block::Paragraph(text));
    let page = |block: Block| Block::only(Format::Html, block);
    let mut blocks = vec![
        summary(
            Text::plain(format!("Kafka {} · producer profile ", p.kafka_version))
                .then_code(p.producer_profile.clone()),
        ),
        page(Block::Facts(vec![
            ("Kind", Text::plain(p.kind.clone())),
            ("Bootstrap servers", Text::code(p.bootstrap_servers.clone())),
            ("Brokers", Text::plain(p.brokers.to_string())),
            ("Kafka", Text::plain(p.kafka_version.clone())),
        ])),
        summary(property_line(
            Text::plain("Producer: "),
            &p.producer_properties,
        )),
        page(Block::Heading(
            Text::plain("Producer (profile ")
                .then_code(p.producer_profile.clone())
                .then_plain(")"),
        )),
        page(properties_table(&p.producer_properties)),
    ];
    for group in &p.consumer_groups {
        blocks.push(summary(property_line(
            Text::plain("Consumer group ")
                .then_code(group.group.clone())
                .then_plain(format!(" ({} × ", group.instances))
                .then_code(group.profile.clone())
                .then_plain(format!("), consumed {}: ", group.consumed)),
            &group.properties,
        )));
        blocks.push(page(Block::Heading(
            Text::plain("Consumer group ")
                .then_code(group.group.clone())
                .then_plain(format!(" ({} instance(s), profile ", group.instances))
                .then_code(group.profile.clone())
                .then_plain(format!(", consumed {})", group.consumed)),
        )));
        blocks.push(page(properties_table(&group.properties)));
    }
    if !p.topics.is_empty() {
        let mut line = Text::plain("Topics (partitions×replication): ");
        for (index, t) in p.topics.iter().enumerate() {
            if index > 0 {
                line = line.then_plain(" · ");
            }
            line = line.then_code(t.name.clone()).then_plain(format!(
                " {}×RF{} min ISR {}",
                t.partitions, t.replication_factor, t.min_insync_replicas
            ));
        }
        blocks.push(summary(line));
        blocks.push(page(Block::Heading(Text::plain("Topics"))));
        blocks.push(page(Block::Table(Table {
            columns: vec![
                Column::text("topic"),
                Column::number("partitions"),
                Column::number("replication factor"),
                Column::number("min.insync.replicas"),
            ],
            rows: p
                .topics
                .iter()
                .map(|t| {
                    Row::new(vec![
                        Text::code(t.name.clone()),
                        Text::plain(t.partitions.to_string()),
                        Text::plain(t.replication_factor.to_string()),
                        Text::plain(t.min_insync_replicas.to_string()),
                    ])
                })
                .collect(),
            aligned_in_markdown: true,
        })));
    }
    Section {
        title: "Platform",
        blocks,
    }
}

fn property_line(lead: Text, properties: &BTreeMap<String, String>) -> Text {
    if properties.is_empty() {
        return lead.then_plain("defaults");
    }
    let mut line = lead;
    for (index, (key, value)) in properties.iter().enumerate() {
        if index > 0 {
            line = line.then_plain(" ");
        }
        line = line.then_code(format!("{key}={value}"));
    }
    line
}

fn properties_table(properties: &BTreeMap<String, String>) -> Block {
    if properties.is_empty() {
        return Block::Note(Text::plain("No properties set."));
    }
    Block::Table(Table {
        columns: vec![Column::text("property"), Column::text("value")],
        rows: properties
            .iter()
            .map(|(key, value)| Row::new(vec![Text::code(key.clone()), Text::code(value.clone())]))
            .collect(),
        aligned_in_markdown: true,
    })
}

/// The scenario with every default filled in: on the page only, since it is long and the
/// summary names the file and its hash.
pub(super) fn scenario(result: &RunResult) -> Section {
    let s = &result.scenario;
    let as_run = serde_json::to_string_pretty(&s.as_run).unwrap_or_else(|_| s.as_run.to_string());
    Section {
        title: "Scenario as run",
        blocks: vec![
            Block::only(
                Format::Html,
                Block::Note(Text::code(s.file.clone()).then_plain(", every default filled in.")),
            ),
            Block::only(Format::Html, Block::Preformatted(as_run)),
        ],
    }
}

/// The schema registry: decoding of every raw record, each subject's versions reading the
/// events, and the schema changes made mid-run.
pub(super) fn schemas(result: &RunResult) -> Option<Section> {
    let report = result.schemas.as_ref()?;
    let decoding = &report.decoding;
    let count = |label, value: u64| Stat::new(label, value.to_string());
    let anomaly = |label, value: u64| count(label, value).bad_when(value > 0);
    let mut blocks = vec![
        Block::Paragraph(
            Text::plain("Values written as ")
                .then_code(report.format.clone())
                .then_plain(" through the registry at ")
                .then_code(report.registry.clone())
                .then_plain(format!(", compatibility {}.", report.compatibility)),
        ),
        Block::Stats(vec![
            count("records", decoding.records),
            count("decoded as sent", decoding.decoded),
            anomaly("undecodable", decoding.undecodable),
            anomaly("another event", decoding.mismatched),
            anomaly("foreign schema id", decoding.foreign_schema),
            anomaly("failed reads by a version", decoding.reader_failures()),
            count("invalid refused by the schema", decoding.invalid_refused),
            count("invalid matching the schema", decoding.invalid_matching),
        ]),
    ];
    if !report.changes.is_empty() {
        blocks.push(Block::Table(Table {
            columns: vec![
                Column::number("at (s)"),
                Column::text("event type"),
                Column::text("change"),
                Column::text("field"),
                Column::text("expected"),
                Column::text("registry"),
                Column::text("id or reason"),
            ],
            rows: report
                .changes
                .iter()
                .map(|change| {
                    let answer = if change.as_expected() {
                        Text::plain(change.outcome.clone())
                    } else {
                        Text(vec![Span::Bad(change.outcome.clone())])
                    };
                    Row::new(vec![
                        Text::plain(format!("{:.1}", change.at_seconds)),
                        Text::plain(change.event_type.clone()),
                        Text::plain(change.change.clone()),
                        Text::code(change.field.clone()),
                        Text::plain(change.expected.clone()),
                        answer,
                        Text::plain(
                            change
                                .id
                                .map(|id| format!("id {id}"))
                                .or_else(|| change.message.clone())
                                .unwrap_or_default(),
                        ),
                    ])
                })
                .collect(),
            aligned_in_markdown: false,
        }));
    }
    blocks.push(Block::Table(Table {
        columns: vec![
            Column::text("subject"),
            Column::number("version"),
            Column::number("schema id"),
            Column::number("events read"),
            Column::number("failed"),
        ],
        rows: decoding
            .readers
            .iter()
            .map(|reader| {
                Row::new(vec![
                    Text::plain(reader.subject.clone()),
                    Text::plain(reader.version.to_string()),
                    Text::plain(reader.id.to_string()),
                    Text::plain(reader.decoded.to_string()),
                    Text::plain(reader.failed.to_string()),
                ])
            })
            .collect(),
        aligned_in_markdown: true,
    }));
    Some(Section {
        title: "Schemas",
        blocks,
    })
}
