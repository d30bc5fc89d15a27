//! Charts of a run, drawn with plotters: SVG text for the HTML page, PNG files on request.
//!
//! Every time-series chart shades the warmup and each fault window (labelled with the fault's
//! kind and target), so a dip can be read against what caused it. Series are cut down to at
//! most [`MAX_DRAWN_POINTS`] points before drawing, keeping each bucket's extremes, so a run of
//! a day draws as fast as a run of a minute and still shows its spikes.
//!
//! ```
//! use streamproof_reports::charts::{self, ChartKind};
//! # fn demo(result: &streamproof_reports::result::RunResult) -> Result<(), charts::ChartError> {
//! let svg = charts::svg(result, ChartKind::Throughput)?;
//! assert!(svg.starts_with("<svg"));
//! # Ok(())
//! # }
//! ```

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::combinators::BindKeyPoints;
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::result::{PercentilePoint, RunResult};

mod plan;
pub use plan::{plan_svgs, PlanChart};

/// Size of every chart, pixels (SVG user units).
pub const CHART_SIZE: (u32, u32) = (960, 380);

/// Most points drawn per series; longer series are bucketed down to this.
pub const MAX_DRAWN_POINTS: usize = 4000;

/// The charts of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChartKind {
    /// Target, sent, acknowledged and consumed events per second over time.
    Throughput,
    /// Produce and end-to-end latency percentiles per second over time.
    Latency,
    /// Latency against percentile, HdrHistogram style, corrected and uncorrected.
    LatencyDistribution,
    /// Consumer lag over time.
    Lag,
}

impl ChartKind {
    /// Every chart, in the order a report shows them.
    pub const ALL: [ChartKind; 4] = [
        ChartKind::Throughput,
        ChartKind::Latency,
        ChartKind::LatencyDistribution,
        ChartKind::Lag,
    ];

    /// Title shown above the chart.
    pub fn title(self) -> &'static str {
        match self {
            ChartKind::Throughput => "Throughput over time",
            ChartKind::Latency => "Latency over time",
            ChartKind::LatencyDistribution => "Latency by percentile",
            ChartKind::Lag => "Consumer lag over time",
        }
    }

    /// File name without extension, e.g. `latency-distribution`.
    pub fn file_stem(self) -> &'static str {
        match self {
            ChartKind::Throughput => "throughput",
            ChartKind::Latency => "latency",
            ChartKind::LatencyDistribution => "latency-distribution",
            ChartKind::Lag => "lag",
        }
    }
}

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The font bundled for chart labels was refused by the font loader.
    #[error("the font bundled for chart labels could not be loaded")]
    Font,
    /// Drawing failed (for PNG files, this includes writing the file).
    #[error("drawing the {chart} chart{target}: {message}", target = .path.as_ref().map(|p| format!(" into `{}`", p.display())).unwrap_or_default())]
    Draw {
        /// Which chart.
        chart: &'static str,
        /// The file being written, for PNG charts.
        path: Option<PathBuf>,
        /// What the drawing library reported.
        message: String,
    },
}

/// Draws one chart of a run as a standalone SVG document.
pub fn svg(result: &RunResult, kind: ChartKind) -> Result<String, ChartError> {
    ensure_font()?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, CHART_SIZE).into_drawing_area();
        draw(&root, result, kind)
            .and_then(|()| root.present())
            .map_err(|e| draw_error(kind, None, e))?;
    }
    Ok(out)
}

/// Draws one chart of a run into a PNG file.
pub fn write_png(result: &RunResult, kind: ChartKind, path: &Path) -> Result<(), ChartError> {
    ensure_font()?;
    let root = BitMapBackend::new(path, CHART_SIZE).into_drawing_area();
    draw(&root, result, kind)
        .and_then(|()| root.present())
        .map_err(|e| draw_error(kind, Some(path), e))
}

/// Draws every chart of a run into `dir` as `<kind>.png` and returns the files written.
pub fn write_pngs(result: &RunResult, dir: &Path) -> Result<Vec<PathBuf>, ChartError> {
    std::fs::create_dir_all(dir).map_err(|e| ChartError::Draw {
        chart: "every",
        path: Some(dir.to_owned()),
        message: format!("could not create the directory: {e}"),
    })?;
    ChartKind::ALL
        .iter()
        .map(|&kind| {
            let path = dir.join(format!("{}.png", kind.file_stem()));
            write_png(result, kind, &path).map(|()| path)
        })
        .collect()
}

/// The label font, registered once per process. The bitmap backend needs real glyphs and the
/// bundled font spares the machines that render reports a system font configuration.
fn ensure_font() -> Result<(), ChartError> {
    static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans-subset.ttf");
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let registered =
        *REGISTERED.get_or_init(|| register_font(FONT_FAMILY, FontStyle::Normal, FONT).is_ok());
    if registered {
        Ok(())
    } else {
        Err(ChartError::Font)
    }
}

/// Registered under the generic name so that an SVG viewer falls back to its own sans-serif.
const FONT_FAMILY: &str = "sans-serif";

fn draw_error<E: std::error::Error + Send + Sync>(
    kind: ChartKind,
    path: Option<&Path>,
    error: DrawingAreaErrorKind<E>,
) -> ChartError {
    ChartError::Draw {
        chart: kind.file_stem(),
        path: path.map(Path::to_path_buf),
        message: error.to_string(),
    }
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    result: &RunResult,
    kind: ChartKind,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let plot = match kind {
        ChartKind::Throughput => throughput_plot(result),
        ChartKind::Latency => latency_plot(result),
        ChartKind::LatencyDistribution => distribution_plot(result),
        ChartKind::Lag => lag_plot(result),
    };
    plot.draw(root)
}

// ---------------------------------------------------------------------------------------------
// What to draw: pure functions from a result to lines and windows.

/// A value per x; `None` is a gap (no sample, or not drawable on a log axis).
type Points = Vec<(f64, Option<f64>)>;

struct Line {
    label: String,
    color: RGBColor,
    dashed: bool,
    points: Points,
}

/// A shaded x range with a label.
#[derive(Debug, Clone, PartialEq)]
struct Window {
    start: f64,
    end: f64,
    label: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Axis {
    /// Seconds since the load started, linear.
    Seconds,
    /// Percentile as 1/(1 − p), logarithmic.
    Percentile,
    /// A quantity from 0, linear, with its label.
    Value(&'static str),
}

#[derive(Clone, Copy, PartialEq)]
enum Scale {
    Linear,
    Log,
}

struct Plot {
    title: &'static str,
    x_axis: Axis,
    y_label: &'static str,
    y_scale: Scale,
    lines: Vec<Line>,
    warmup: Option<Window>,
    faults: Vec<Window>,
    /// What the shaded windows are, in the legend.
    windows_legend: &'static str,
    /// Said in the chart when no line has a point.
    empty_note: &'static str,
}

const TARGET: RGBColor = RGBColor(120, 120, 120);
const BLUE: RGBColor = RGBColor(31, 119, 180);
const ORANGE: RGBColor = RGBColor(255, 127, 14);
const GREEN: RGBColor = RGBColor(44, 160, 44);
const RED_LINE: RGBColor = RGBColor(214, 39, 40);
const PURPLE: RGBColor = RGBColor(148, 103, 189);
const BROWN: RGBColor = RGBColor(140, 86, 75);
const FAULT_FILL: RGBColor = RGBColor(230, 85, 13);
const WARMUP_FILL: RGBColor = RGBColor(150, 150, 150);

/// The middle of second `s`: a per-second point counts what happened from `s` to `s + 1`, and
/// fault times are exact, so centring keeps a dip aligned with the fault that caused it.
fn second_x(second: u64) -> f64 {
    second as f64 + 0.5
}

fn time_line(
    result: &RunResult,
    label: &str,
    color: RGBColor,
    value: impl Fn(&crate::result::SecondPoint) -> Option<f64>,
) -> Line {
    Line {
        label: label.to_owned(),
        color,
        dashed: false,
        points: result
            .timeseries
            .iter()
            .map(|p| (second_x(p.second), value(p).filter(|v| v.is_finite())))
            .collect(),
    }
}

/// Where the time axis ends: the last second or the last fault, whichever is later.
fn time_end(result: &RunResult) -> f64 {
    let last_point = result
        .timeseries
        .iter()
        .map(|p| p.second as f64 + 1.0)
        .fold(0.0, f64::max);
    let last_fault = result
        .faults
        .iter()
        .flat_map(|f| [Some(f.injected_at_s), f.healed_at_s])
        .flatten()
        .filter(|t| t.is_finite())
        .fold(0.0, f64::max);
    last_point.max(last_fault).max(1.0)
}

fn warmup_window(result: &RunResult) -> Option<Window> {
    let end = result
        .timeseries
        .iter()
        .filter(|p| p.warmup)
        .map(|p| p.second as f64 + 1.0)
        .fold(None, |acc: Option<f64>, s| {
            Some(acc.map_or(s, |a| a.max(s)))
        })?;
    Some(Window {
        start: 0.0,
        end,
        label: "warmup".to_owned(),
    })
}

/// Fault windows; a fault that never healed stays shaded to the end of the chart.
fn fault_windows(result: &RunResult) -> Vec<Window> {
    let end = time_end(result);
    result
        .faults
        .iter()
        .filter(|f| f.injected_at_s.is_finite())
        .map(|f| {
            let start = f.injected_at_s.max(0.0);
            let healed = f.healed_at_s.filter(|h| h.is_finite());
            let mut label = format!("{} {}", f.kind, f.target);
            if !f.applied {
                label.push_str(" (not applied)");
            } else if healed.is_none() {
                label.push_str(" (never healed)");
            }
            Window {
                start,
                end: healed.unwrap_or(end).max(start),
                label,
            }
        })
        .collect()
}

fn throughput_plot(result: &RunResult) -> Plot {
    let mut lines = Vec::new();
    if let Some(target) = result.throughput.target_eps.filter(|t| t.is_finite()) {
        lines.push(Line {
            label: "target".to_owned(),
            color: TARGET,
            dashed: true,
            points: vec![(0.0, Some(target)), (time_end(result), Some(target))],
        });
    }
    lines.push(time_line(result, "sent", BLUE, |p| Some(p.sent as f64)));
    lines.push(time_line(result, "acknowledged", GREEN, |p| {
        Some(p.acked as f64)
    }));
    lines.push(time_line(result, "consumed", PURPLE, |p| {
        Some(p.consumed as f64)
    }));
    if result.timeseries.iter().any(|p| p.failed > 0) {
        lines.push(time_line(result, "failed", RED_LINE, |p| {
            Some(p.failed as f64)
        }));
    }
    if result.timeseries.is_empty() {
        lines.retain(|l| !l.dashed);
    }
    Plot {
        title: ChartKind::Throughput.title(),
        x_axis: Axis::Seconds,
        y_label: "events per second",
        y_scale: Scale::Linear,
        lines,
        warmup: warmup_window(result),
        faults: fault_windows(result),
        windows_legend: "fault window",
        empty_note: "no per-second samples",
    }
}

/// Milliseconds of a per-second latency; 0 means no sample that second, a gap.
fn latency_ms(micros: u64) -> Option<f64> {
    (micros > 0).then(|| micros as f64 / 1000.0)
}

fn latency_plot(result: &RunResult) -> Plot {
    let mut lines = vec![
        time_line(result, "produce p50", BLUE, |p| {
            latency_ms(p.produce_p50_us)
        }),
        time_line(result, "produce p99", ORANGE, |p| {
            latency_ms(p.produce_p99_us)
        }),
    ];
    let has_end_to_end = result
        .timeseries
        .iter()
        .any(|p| p.end_to_end_p50_us > 0 || p.end_to_end_p99_us > 0);
    if has_end_to_end {
        lines.push(time_line(result, "end-to-end p50", GREEN, |p| {
            latency_ms(p.end_to_end_p50_us)
        }));
        lines.push(time_line(result, "end-to-end p99", RED_LINE, |p| {
            latency_ms(p.end_to_end_p99_us)
        }));
    }
    Plot {
        title: ChartKind::Latency.title(),
        x_axis: Axis::Seconds,
        y_label: "latency, ms (log)",
        y_scale: Scale::Log,
        lines,
        warmup: warmup_window(result),
        faults: fault_windows(result),
        windows_legend: "fault window",
        empty_note: "no latency samples",
    }
}

fn lag_plot(result: &RunResult) -> Plot {
    let lines = vec![time_line(result, "lag of the slowest group", BROWN, |p| {
        p.lag_records.map(|lag| lag as f64)
    })];
    Plot {
        title: ChartKind::Lag.title(),
        x_axis: Axis::Seconds,
        y_label: "records behind",
        y_scale: Scale::Linear,
        lines,
        warmup: warmup_window(result),
        faults: fault_windows(result),
        windows_legend: "fault window",
        empty_note: "no lag samples (no consumers)",
    }
}

/// 1/(1 − p): 50 % → 2, 90 % → 10, 99 % → 100. Undefined at and above 100 %.
fn percentile_x(percentile: f64) -> Option<f64> {
    (percentile.is_finite() && (0.0..100.0).contains(&percentile))
        .then(|| 100.0 / (100.0 - percentile))
}

/// The percentile at x = 1/(1 − p), with as many decimals as it has nines: 99.9%.
fn percentile_label(x: f64) -> String {
    if !x.is_finite() || x < 1.0 {
        return String::new();
    }
    let percentile = 100.0 - 100.0 / x;
    let decimals = (x.log10().round() as i64 - 2).clamp(0, 9) as usize;
    let text = format!("{percentile:.decimals$}");
    format!("{text}%")
}

fn distribution_line(label: &str, color: RGBColor, points: &[PercentilePoint]) -> Line {
    Line {
        label: label.to_owned(),
        color,
        dashed: false,
        points: points
            .iter()
            .filter_map(|p| {
                Some((
                    percentile_x(p.percentile)?,
                    Some(p.value_us as f64 / 1000.0),
                ))
            })
            .collect(),
    }
}

fn distribution_plot(result: &RunResult) -> Plot {
    let distributions = &result.latency_distribution;
    let mut lines = vec![
        distribution_line("produce (corrected)", BLUE, &distributions.produce),
        distribution_line(
            "produce (uncorrected)",
            ORANGE,
            &distributions.produce_uncorrected,
        ),
    ];
    if !distributions.end_to_end.is_empty() {
        lines.push(distribution_line(
            "end to end",
            GREEN,
            &distributions.end_to_end,
        ));
    }
    Plot {
        title: ChartKind::LatencyDistribution.title(),
        x_axis: Axis::Percentile,
        y_label: "latency, ms",
        y_scale: Scale::Linear,
        lines,
        warmup: None,
        faults: Vec::new(),
        windows_legend: "fault window",
        empty_note: "no latency samples",
    }
}

/// Cuts a series down to about `max_points` by splitting it into buckets and keeping, per
/// bucket, its lowest and highest value in their original order: peaks and dips survive, which
/// averaging would flatten. A bucket with no value stays a gap.
fn downsample(points: &[(f64, Option<f64>)], max_points: usize) -> Points {
    let buckets = (max_points / 2).max(1);
    if points.len() <= max_points {
        return points.to_vec();
    }
    let per_bucket = points.len().div_ceil(buckets);
    let mut out = Vec::with_capacity(buckets * 2);
    for bucket in points.chunks(per_bucket) {
        let present = bucket
            .iter()
            .enumerate()
            .filter_map(|(i, &(_, y))| y.map(|y| (i, y)));
        let mut low: Option<(usize, f64)> = None;
        let mut high: Option<(usize, f64)> = None;
        for (i, y) in present {
            if low.is_none_or(|(_, l)| y < l) {
                low = Some((i, y));
            }
            if high.is_none_or(|(_, h)| y > h) {
                high = Some((i, y));
            }
        }
        match (low, high) {
            (Some((li, ly)), Some((hi, hy))) => {
                let (first, second) = if li <= hi {
                    ((li, ly), (hi, hy))
                } else {
                    ((hi, hy), (li, ly))
                };
                out.push((bucket[first.0].0, Some(first.1)));
                if second.0 != first.0 {
                    out.push((bucket[second.0].0, Some(second.1)));
                }
            }
            _ => {
                if let Some(&(x, _)) = bucket.first() {
                    out.push((x, None));
                }
            }
        }
    }
    out
}

/// Runs of consecutive present values, each drawn as one polyline.
fn segments(points: &[(f64, Option<f64>)], log: bool) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    for &(x, y) in points {
        match y.filter(|y| y.is_finite() && x.is_finite() && (!log || *y > 0.0)) {
            Some(y) => current.push((x, y)),
            None => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// A drawable range covering `values`; never empty, never inverted, positive on a log scale.
fn value_range(values: impl Iterator<Item = f64>, scale: Scale) -> Range<f64> {
    let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite() && (scale == Scale::Linear || *v > 0.0)) {
        low = low.min(v);
        high = high.max(v);
    }
    match scale {
        Scale::Linear => {
            if low > high {
                return 0.0..1.0;
            }
            let low = low.min(0.0);
            let high = if high > low {
                high + (high - low) * 0.08
            } else {
                low + 1.0
            };
            low..high
        }
        Scale::Log => {
            if low > high {
                return 0.1..10.0;
            }
            (low / 1.6)..(high * 1.6)
        }
    }
}

/// Ticks at 50 %, 90 %, 99 %, … up to the last decade the data reaches.
fn percentile_ticks(range: &Range<f64>) -> Vec<f64> {
    let mut ticks = vec![2.0];
    let mut x = 10.0;
    while x <= range.end * 1.0001 && ticks.len() < 12 {
        ticks.push(x);
        x *= 10.0;
    }
    ticks.retain(|t| *t >= range.start && *t <= range.end * 1.0001);
    ticks
}

/// Short tick labels: 950, 1.2k, 3.4M; small values keep their decimals.
fn compact_number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e6 {
        trim_decimals(format!("{:.1}", value / 1e6)) + "M"
    } else if magnitude >= 1e4 {
        trim_decimals(format!("{:.0}", value / 1e3)) + "k"
    } else if magnitude >= 1e3 {
        trim_decimals(format!("{:.1}", value / 1e3)) + "k"
    } else if magnitude >= 10.0 || magnitude == 0.0 {
        format!("{value:.0}")
    } else if magnitude >= 0.1 {
        trim_decimals(format!("{value:.2}"))
    } else {
        trim_decimals(format!("{value:.3}"))
    }
}

fn trim_decimals(text: String) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

mod draw;
#[cfg(test)]
mod tests;
