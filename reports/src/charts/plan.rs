//! Charts of a capacity plan: the sustainable rate against partitions (where adding partitions
//! stops paying, marked), and latency against offered rate (the objective as a dashed line).

use super::*;
use crate::result::plan::CapacityPlan;

/// The charts of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanChart {
    /// Sustainable and catch-up rates against partitions, the knee marked.
    Partitions,
    /// Produce and end-to-end p99 of every search step against the rate offered.
    LatencyByRate,
}

impl PlanChart {
    /// Both, in the order the plan's page shows them.
    pub const ALL: [PlanChart; 2] = [PlanChart::Partitions, PlanChart::LatencyByRate];

    /// Title shown above the chart.
    pub fn title(self) -> &'static str {
        match self {
            PlanChart::Partitions => "Throughput against partitions",
            PlanChart::LatencyByRate => "Latency against rate",
        }
    }
}

/// Each chart of a plan as a standalone SVG document.
pub fn plan_svgs(plan: &CapacityPlan) -> Result<Vec<(PlanChart, String)>, ChartError> {
    ensure_font()?;
    PlanChart::ALL
        .iter()
        .map(|&chart| {
            let plot = match chart {
                PlanChart::Partitions => partitions_plot(plan),
                PlanChart::LatencyByRate => latency_plot(plan),
            };
            let mut out = String::new();
            {
                let root = SVGBackend::with_string(&mut out, CHART_SIZE).into_drawing_area();
                root.fill(&WHITE)
                    .and_then(|()| plot.draw(&root))
                    .and_then(|()| root.present())
                    .map_err(|error| ChartError::Draw {
                        chart: chart.title(),
                        path: None,
                        message: error.to_string(),
                    })?;
            }
            Ok((chart, out))
        })
        .collect()
}

const COLORS: [RGBColor; 6] = [BLUE, ORANGE, GREEN, PURPLE, BROWN, RED_LINE];

fn partitions_plot(plan: &CapacityPlan) -> Plot {
    let points = &plan.calibration.points;
    let sustainable = points
        .iter()
        .map(|p| (f64::from(p.partitions), p.sustainable_eps))
        .collect();
    let catch_up = points
        .iter()
        .map(|p| (f64::from(p.partitions), Some(p.catch_up_eps)))
        .collect();
    let knee = plan
        .calibration
        .knee_partitions
        .map(|knee| Window {
            start: f64::from(knee),
            end: f64::from(knee),
            label: format!("knee: {knee} partition(s)"),
        })
        .into_iter()
        .collect();
    Plot {
        title: PlanChart::Partitions.title(),
        x_axis: Axis::Value("partitions"),
        y_label: "events per second",
        y_scale: Scale::Linear,
        lines: vec![
            Line {
                label: "sustainable at the objective".to_owned(),
                color: BLUE,
                dashed: false,
                points: sustainable,
            },
            Line {
                label: "catch-up (one consumer per partition)".to_owned(),
                color: GREEN,
                dashed: true,
                points: catch_up,
            },
        ],
        warmup: None,
        faults: knee,
        windows_legend: "where adding partitions stops paying",
        empty_note: "no rate met the objective",
    }
}

fn latency_plot(plan: &CapacityPlan) -> Plot {
    let mut lines = Vec::new();
    for (index, point) in plan.calibration.points.iter().enumerate() {
        let mut steps: Vec<_> = point.search.steps.iter().collect();
        steps.sort_by(|a, b| a.target_eps.total_cmp(&b.target_eps));
        let color = COLORS[index % COLORS.len()];
        lines.push(Line {
            label: format!("produce p99, {} partition(s)", point.partitions),
            color,
            dashed: false,
            points: steps
                .iter()
                .map(|s| (s.target_eps, latency_ms(s.produce_p99_us)))
                .collect(),
        });
        if steps.iter().any(|s| s.end_to_end_p99_us.is_some()) {
            lines.push(Line {
                label: format!("end-to-end p99, {} partition(s)", point.partitions),
                color,
                dashed: true,
                points: steps
                    .iter()
                    .map(|s| (s.target_eps, s.end_to_end_p99_us.and_then(latency_ms)))
                    .collect(),
            });
        }
    }
    let highest = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .fold(0.0, f64::max);
    let objective = &plan.objective;
    for (label, limit) in [
        ("produce p99 objective", objective.produce_p99_ms),
        ("end-to-end p99 objective", objective.end_to_end_p99_ms),
    ] {
        if let Some(ms) = limit {
            lines.push(Line {
                label: label.to_owned(),
                color: TARGET,
                dashed: true,
                points: vec![(0.0, Some(ms)), (highest, Some(ms))],
            });
        }
    }
    Plot {
        title: PlanChart::LatencyByRate.title(),
        x_axis: Axis::Value("events per second offered"),
        y_label: "milliseconds",
        y_scale: Scale::Log,
        lines,
        warmup: None,
        faults: Vec::new(),
        windows_legend: "",
        empty_note: "no search step",
    }
}
