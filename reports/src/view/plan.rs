//! The capacity plan's page: the sizing, the measured inputs with their charts, every search
//! step, the proof and the plan's notes.

use super::{Block, Column, Document, Format, Row, Section, Span, Stat, Table, Text};
use crate::charts::plan_svgs;
use crate::format;
use crate::result::plan::{Bytes, CapacityPlan, PartitionPoint, TopicPlan};
use crate::result::SearchStep;

/// Every section of a plan's page, in order.
pub(crate) fn plan_document(plan: &CapacityPlan) -> Document {
    let sections = [
        Some(sizing(plan)),
        Some(topics(plan)),
        Some(storage(plan)),
        Some(calibration(plan)),
        Some(search_steps(plan)),
        proof(plan),
        Some(notes(plan)),
    ];
    Document {
        sections: sections.into_iter().flatten().collect(),
    }
}

fn objective_text(plan: &CapacityPlan) -> String {
    let objective = &plan.objective;
    let mut parts = Vec::new();
    if let Some(ms) = objective.produce_p99_ms {
        parts.push(format!("produce p99 ≤ {ms} ms"));
    }
    if let Some(ms) = objective.end_to_end_p99_ms {
        parts.push(format!("end-to-end p99 ≤ {ms} ms"));
    }
    parts.push(format!(
        "at least {:.0}% of the offered rate acknowledged",
        objective.min_throughput * 100.0
    ));
    parts.join(", ")
}

fn sizing(plan: &CapacityPlan) -> Section {
    let calibration = &plan.calibration;
    let brokers = &plan.brokers;
    let on = &plan.calibrated_on;
    Section {
        title: "Plan",
        blocks: vec![
            Block::Stats(vec![
                Stat::new(
                    "Per partition at the objective",
                    format::eps(calibration.partition_throughput_eps),
                ),
                Stat::new(
                    "Cluster ceiling at the objective",
                    format::eps(calibration.cluster_ceiling_eps),
                ),
                Stat::new(
                    "Adding partitions stops paying after",
                    calibration
                        .knee_partitions
                        .map_or("not reached".to_owned(), |k| format!("{k} partition(s)")),
                ),
                Stat::new(
                    "Catch-up per consumer",
                    format::eps(calibration.catch_up_eps_per_consumer),
                ),
                Stat::new("Planned load", format::eps(brokers.planned_eps)),
                Stat::new(
                    "Brokers needed",
                    format!("{} (calibrated on {})", brokers.needed, brokers.calibrated),
                )
                .bad_when(brokers.needed > brokers.calibrated),
            ]),
            Block::Facts(vec![
                ("Objective", Text::plain(objective_text(plan))),
                (
                    "Headroom",
                    Text::plain(format!("×{} on every target", plan.headroom)),
                ),
                (
                    "Calibrated on",
                    Text::plain(format!(
                        "{} cluster of {} broker(s) at ",
                        on.kind, on.brokers
                    ))
                    .then_code(on.bootstrap_servers.clone())
                    .then_plain(format!(
                        ", producer profile {}, consumer profile {}",
                        on.producer_profile, on.consumer_profile
                    )),
                ),
                (
                    "Record size",
                    Text::plain(format!("{} bytes", calibration.record_bytes)),
                ),
                (
                    "Made",
                    Text::plain(format!(
                        "{} by streamproof {} (plan format {})",
                        plan.created_at, plan.streamproof_version, plan.plan_version
                    )),
                ),
            ]),
        ],
    }
}

fn recovery_text(topic: &TopicPlan) -> String {
    let recovery = &topic.recovery;
    match recovery.seconds {
        Some(seconds) => format!(
            "{} after {} down ({} records)",
            format::seconds(seconds),
            format::seconds(recovery.outage_seconds),
            format::grouped(recovery.backlog_records)
        ),
        None => format!(
            "never: its consumers drain {} against {} arriving",
            format::eps(recovery.catch_up_eps),
            format::eps(topic.planned_eps)
        ),
    }
}

fn topics(plan: &CapacityPlan) -> Section {
    let rows = plan
        .topics
        .iter()
        .map(|topic| {
            let mut row = Row::new(vec![
                Text::code(topic.topic.clone()),
                format::eps(topic.target_eps).into(),
                format::eps(topic.planned_eps).into(),
                format::megabytes_per_second(topic.planned_bytes_per_s).into(),
                format!(
                    "{} (throughput {}, largest group {})",
                    topic.partitions, topic.partitions_for_throughput, topic.largest_group
                )
                .into(),
                topic.replication_factor.to_string().into(),
                format!("{} days", topic.retention_days).into(),
                format!(
                    "{} ({} per copy)",
                    Bytes(topic.storage_bytes_replicated),
                    Bytes(topic.storage_bytes)
                )
                .into(),
                recovery_text(topic).into(),
            ]);
            row.failed = topic.recovery.seconds.is_none();
            row
        })
        .collect();
    Section {
        title: "Topics",
        blocks: vec![
            Block::Note(Text::plain(
                "partitions = max(ceil(planned / per-partition throughput), largest group); replication = min(brokers, 3); storage = record size × records per day × retention days × replicas.",
            )),
            Block::Table(Table {
                columns: vec![
                    Column::text("Topic"),
                    Column::number("Target"),
                    Column::number("Planned"),
                    Column::number("Planned MB/s"),
                    Column::text("Partitions"),
                    Column::number("Replicas"),
                    Column::number("Retention"),
                    Column::text("Storage"),
                    Column::text("Recovery"),
                ],
                rows,
                aligned_in_markdown: true,
            }),
        ],
    }
}

fn storage(plan: &CapacityPlan) -> Section {
    let rows = plan
        .storage_by_layer
        .iter()
        .map(|(layer, storage)| {
            Row::new(vec![
                Text::plain(layer.clone()),
                Bytes(storage.bytes).to_string().into(),
                Bytes(storage.bytes_replicated).to_string().into(),
            ])
        })
        .collect();
    Section {
        title: "Storage by layer",
        blocks: vec![Block::Table(Table {
            columns: vec![
                Column::text("Layer"),
                Column::number("One copy"),
                Column::number("With replicas"),
            ],
            rows,
            aligned_in_markdown: true,
        })],
    }
}

fn point_row(point: &PartitionPoint) -> Row {
    let mut row = Row::new(vec![
        point.partitions.to_string().into(),
        point
            .sustainable_eps
            .map_or("none".to_owned(), format::eps)
            .into(),
        point
            .per_partition_eps
            .map_or("none".to_owned(), format::eps)
            .into(),
        format!(
            "{} ({} consumer(s){})",
            format::eps(point.catch_up_eps),
            point.catch_up_instances,
            if point.catch_up_drained {
                ""
            } else {
                ", budget spent"
            }
        )
        .into(),
        format!("{}", point.search.steps.len()).into(),
        Text::code(point.results_dir.clone()),
    ]);
    row.failed = point.sustainable_eps.is_none();
    row
}

fn calibration(plan: &CapacityPlan) -> Section {
    let mut blocks = vec![Block::Table(Table {
        columns: vec![
            Column::number("Partitions"),
            Column::number("Sustainable"),
            Column::number("Per partition"),
            Column::text("Catch-up"),
            Column::number("Steps"),
            Column::text("Runs"),
        ],
        rows: plan.calibration.points.iter().map(point_row).collect(),
        aligned_in_markdown: true,
    })];
    match plan_svgs(plan) {
        Ok(charts) => blocks.extend(charts.into_iter().map(|(chart, svg)| Block::Figure {
            svg: Ok(svg),
            title: chart.title(),
            caption: match chart {
                crate::charts::PlanChart::Partitions => "The highest rate at which the objective held at each partition count, and the rate one consumer per partition drained the backlog at.".to_owned(),
                crate::charts::PlanChart::LatencyByRate => "p99 latencies of every search step against the rate offered; the dashed grey lines are the objective.".to_owned(),
            },
        })),
        Err(error) => blocks.push(Block::only(
            Format::Html,
            Block::Note(Text::plain(format!("charts: {error}"))),
        )),
    }
    Section {
        title: "Calibration",
        blocks,
    }
}

fn search_steps(plan: &CapacityPlan) -> Section {
    let steps = plan
        .calibration
        .points
        .iter()
        .flat_map(|point| {
            point
                .search
                .steps
                .iter()
                .map(|step| (Some(point.partitions), step))
        })
        .collect();
    Section {
        title: "Search steps",
        blocks: vec![
            Block::Note(Text::plain(STEPS_NOTE)),
            Block::Table(search_table(steps)),
        ],
    }
}

/// What every search step is.
pub(super) const STEPS_NOTE: &str = "Every step is a verified run: its sends ledgered and read back; a step that loses or duplicates records does not count as sustainable.";

/// Search steps as a table, with their partition count when they have one.
pub(super) fn search_table(steps: Vec<(Option<u32>, &SearchStep)>) -> Table {
    let with_partitions = steps.iter().any(|(partitions, _)| partitions.is_some());
    let rows = steps
        .into_iter()
        .map(|(partitions, step)| {
            let mut cells: Vec<Text> = partitions
                .map(|p| p.to_string().into())
                .into_iter()
                .collect();
            cells.extend([
                format::eps(step.target_eps).into(),
                format::eps(step.achieved_eps).into(),
                format::ms(step.produce_p99_us).into(),
                step.end_to_end_p99_us
                    .map_or("–".to_owned(), format::ms)
                    .into(),
                Text(vec![Span::Verdict(step.sustainable)]),
                step.failed_checks.join(", ").into(),
            ]);
            let mut row = Row::new(cells);
            row.failed = !step.sustainable;
            row
        })
        .collect();
    let mut columns: Vec<Column> = with_partitions
        .then(|| Column::number("Partitions"))
        .into_iter()
        .collect();
    columns.extend([
        Column::number("Offered"),
        Column::number("Acknowledged"),
        Column::number("Produce p99"),
        Column::number("End-to-end p99"),
        Column::text("Held"),
        Column::text("Failed checks"),
    ]);
    Table {
        columns,
        rows,
        aligned_in_markdown: true,
    }
}

fn proof(plan: &CapacityPlan) -> Option<Section> {
    let proof = plan.proof.as_ref()?;
    let verdict = if proof.proven {
        Text(vec![Span::Verdict(true)]).then_plain(" proven: every expectation held")
    } else {
        Text(vec![Span::Verdict(false)]).then(Span::Bad(format!(
            " not proven: {} failed",
            proof.failed_checks.join(", ")
        )))
    };
    Some(Section {
        title: "Proof",
        blocks: vec![
            Block::Paragraph(verdict),
            Block::Facts(vec![
                ("Scenario", Text::code(proof.scenario.clone())),
                ("Result", Text::code(proof.result.clone())),
            ]),
        ],
    })
}

fn notes(plan: &CapacityPlan) -> Section {
    Section {
        title: "Notes",
        blocks: plan
            .notes
            .iter()
            .map(|note| Block::Paragraph(Text::plain(note.clone())))
            .collect(),
    }
}
