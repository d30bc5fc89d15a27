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
    static FONT: &[u8] = include_bytes!("../assets/DejaVuSans-subset.ttf");
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

// ---------------------------------------------------------------------------------------------
// Drawing.

const LEGEND_HEIGHT: u32 = 30;

/// Beyond this many points a series fills the plot's width and is drawn as a hairline.
const DENSE_POINTS: usize = 400;

impl Plot {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let (_, height) = root.dim_in_pixel();
        let (plot_area, legend_area) = root.split_vertically(height.saturating_sub(LEGEND_HEIGHT));
        let lines: Vec<(&Line, Points)> = self
            .lines
            .iter()
            .map(|line| (line, downsample(&line.points, MAX_DRAWN_POINTS)))
            .collect();
        let log_y = self.y_scale == Scale::Log;
        let y_range = value_range(
            lines
                .iter()
                .flat_map(|(_, points)| points.iter().filter_map(|p| p.1)),
            self.y_scale,
        );
        let empty = lines
            .iter()
            .all(|(_, points)| segments(points, log_y).is_empty());
        let y_formatter = |v: &f64| compact_number(*v);
        match (self.x_axis, self.y_scale) {
            (Axis::Seconds, scale) => {
                let x_end = lines
                    .iter()
                    .flat_map(|(_, points)| points.iter().map(|p| p.0))
                    .chain(self.faults.iter().map(|w| w.end))
                    .chain(self.warmup.iter().map(|w| w.end))
                    .filter(|x| x.is_finite())
                    .fold(1.0, f64::max);
                let x_range = 0.0..x_end;
                let x_formatter = |v: &f64| format!("{v:.0}");
                if scale == Scale::Log {
                    self.draw_in(
                        &plot_area,
                        x_range,
                        y_range.clone().log_scale(),
                        y_range,
                        &lines,
                        empty,
                        &x_formatter,
                        &y_formatter,
                    )?;
                } else {
                    self.draw_in(
                        &plot_area,
                        x_range,
                        y_range.clone(),
                        y_range,
                        &lines,
                        empty,
                        &x_formatter,
                        &y_formatter,
                    )?;
                }
            }
            (Axis::Percentile, _) => {
                let x_range = value_range(
                    lines
                        .iter()
                        .flat_map(|(_, points)| points.iter().map(|p| p.0)),
                    Scale::Log,
                );
                // Start at the 50th percentile's position (or just below the data) so the first
                // tick is labelled; end a little past the last point.
                let x_range = x_range.start.clamp(1.0, 2.0)..x_range.end.max(10.0);
                let ticks = percentile_ticks(&x_range);
                let x_formatter = |v: &f64| percentile_label(*v);
                self.draw_in(
                    &plot_area,
                    x_range.clone().log_scale().with_key_points(ticks),
                    y_range.clone(),
                    y_range,
                    &lines,
                    empty,
                    &x_formatter,
                    &y_formatter,
                )?;
            }
        }
        self.draw_legend(&legend_area)
    }

    #[allow(clippy::too_many_arguments)]
    fn draw_in<DB, X, Y>(
        &self,
        area: &DrawingArea<DB, Shift>,
        x: X,
        y: Y,
        y_range: Range<f64>,
        lines: &[(&Line, Points)],
        empty: bool,
        x_formatter: &dyn Fn(&f64) -> String,
        y_formatter: &dyn Fn(&f64) -> String,
    ) -> DrawResult<DB>
    where
        DB: DrawingBackend,
        X: AsRangedCoord<Value = f64>,
        Y: AsRangedCoord<Value = f64>,
        X::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
        Y::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        let mut chart = ChartBuilder::on(area)
            .caption(self.title, (FONT_FAMILY, 18))
            .margin(10)
            // Room for the last tick label, centred on the right edge.
            .margin_right(28)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(x, y)?;
        let x_label = match self.x_axis {
            Axis::Seconds => "seconds since the load started",
            Axis::Percentile => "percentile",
        };
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(self.y_label)
            .x_label_formatter(x_formatter)
            .y_label_formatter(y_formatter)
            .label_style((FONT_FAMILY, 12))
            .axis_desc_style((FONT_FAMILY, 13))
            .light_line_style(BLACK.mix(0.04))
            .bold_line_style(BLACK.mix(0.12))
            .draw()?;

        // Windows first, so lines stay on top of the shading.
        let (y_low, y_high) = (y_range.start, y_range.end);
        let windows = self
            .warmup
            .iter()
            .map(|w| (w, WARMUP_FILL.mix(0.12), BLACK.mix(0.55)))
            .chain(
                self.faults
                    .iter()
                    .map(|w| (w, FAULT_FILL.mix(0.16), FAULT_FILL.mix(1.0))),
            );
        for (index, (window, fill, label_color)) in windows.enumerate() {
            let end = if window.end > window.start {
                window.end
            } else {
                window.start + 0.05
            };
            chart.draw_series(std::iter::once(Rectangle::new(
                [(window.start, y_low), (end, y_high)],
                fill.filled(),
            )))?;
            // Labels of nearby windows would overlap; stagger them down the plot.
            let offset = 4 + 15 * (index % 4) as i32;
            let style = TextStyle::from((FONT_FAMILY, 12).into_font()).color(&label_color);
            chart.draw_series(std::iter::once(
                EmptyElement::at((window.start, y_high))
                    + Text::new(window.label.clone(), (3, offset), style),
            ))?;
        }

        let log_y = self.y_scale == Scale::Log;
        // Series often coincide (everything acknowledged is consumed the same second); earlier
        // ones are drawn wider so that one drawn over them still shows as their outline.
        let mut solid_lines = 0;
        for (line, points) in lines {
            let width = if points.len() > DENSE_POINTS {
                // Wide strokes are drawn as polygons with mitred joins, which spike far out of
                // the plot where a dense series zig-zags; hairlines have no joins.
                1
            } else if line.dashed {
                2
            } else {
                solid_lines += 1;
                5u32.saturating_sub(solid_lines).max(2)
            };
            let style = line.color.stroke_width(width);
            for segment in segments(points, log_y) {
                if segment.len() == 1 {
                    chart
                        .draw_series(segment.iter().map(|&p| Circle::new(p, 3, style.filled())))?;
                } else if line.dashed {
                    chart.draw_series(DashedLineSeries::new(segment, 8, 5, style))?;
                } else {
                    chart.draw_series(LineSeries::new(segment, style))?;
                }
            }
        }

        if empty {
            let (width, height) = area.dim_in_pixel();
            let grey = BLACK.mix(0.6);
            let style = TextStyle::from((FONT_FAMILY, 16).into_font())
                .color(&grey)
                .pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    plotters::style::text_anchor::VPos::Center,
                ));
            area.draw_text(
                self.empty_note,
                &style,
                ((width / 2) as i32, (height / 2) as i32),
            )?;
        }
        Ok(())
    }

    /// The legend in its own strip under the plot, where it cannot hide data or fault labels.
    fn draw_legend<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let style = TextStyle::from((FONT_FAMILY, 12).into_font()).color(&BLACK);
        let mut x = 74;
        let y = (LEGEND_HEIGHT / 2) as i32;
        let mut entries: Vec<(String, ShapeStyle, bool)> = self
            .lines
            .iter()
            .map(|l| (l.label.clone(), l.color.stroke_width(2), l.dashed))
            .collect();
        if !self.faults.is_empty() {
            entries.push((
                "fault window".to_owned(),
                FAULT_FILL.mix(0.3).filled(),
                false,
            ));
        }
        if self.warmup.is_some() {
            entries.push(("warmup".to_owned(), WARMUP_FILL.mix(0.25).filled(), false));
        }
        for (label, shape, dashed) in entries {
            if shape.filled {
                area.draw(&Rectangle::new([(x, y - 6), (x + 20, y + 6)], shape))?;
            } else if dashed {
                area.draw(&PathElement::new(vec![(x, y), (x + 8, y)], shape))?;
                area.draw(&PathElement::new(vec![(x + 12, y), (x + 20, y)], shape))?;
            } else {
                area.draw(&PathElement::new(vec![(x, y), (x + 20, y)], shape))?;
            }
            let text_width = area
                .estimate_text_size(&label, &style)
                .map(|(w, _)| w as i32)
                .unwrap_or(8 * label.len() as i32);
            area.draw_text(&label, &style, (x + 26, y - 7))?;
            x += 26 + text_width + 22;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_positions_and_labels_round_trip() {
        assert_eq!(percentile_x(50.0), Some(2.0));
        assert_eq!(percentile_x(100.0), None);
        assert_eq!(percentile_x(f64::NAN), None);
        let labels: Vec<String> = [2.0, 10.0, 100.0, 1000.0, 10000.0]
            .into_iter()
            .map(percentile_label)
            .collect();
        assert_eq!(labels, ["50%", "90%", "99%", "99.9%", "99.99%"]);
    }

    #[test]
    fn downsampling_keeps_extremes_and_gaps() {
        let mut points: Points = (0..100_000).map(|i| (i as f64, Some(1.0))).collect();
        points[50_000].1 = Some(1000.0);
        points[70_000].1 = Some(0.0);
        for point in &mut points[90_000..] {
            point.1 = None;
        }
        let drawn = downsample(&points, 4000);
        assert!(drawn.len() <= 4000, "{}", drawn.len());
        assert!(drawn.contains(&(50_000.0, Some(1000.0))));
        assert!(drawn.contains(&(70_000.0, Some(0.0))));
        assert!(drawn.iter().any(|p| p.1.is_none()));
        assert!(drawn.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn ranges_are_never_degenerate() {
        assert_eq!(value_range(std::iter::empty(), Scale::Linear), 0.0..1.0);
        assert_eq!(value_range(std::iter::empty(), Scale::Log), 0.1..10.0);
        assert_eq!(value_range([0.0].into_iter(), Scale::Log), 0.1..10.0);
        assert_eq!(value_range([0.0, 0.0].into_iter(), Scale::Linear), 0.0..1.0);
        let single = value_range([5.0].into_iter(), Scale::Log);
        assert!(single.start > 0.0 && single.start < 5.0 && single.end > 5.0);
    }

    #[test]
    fn segments_break_at_gaps_and_at_zero_on_a_log_axis() {
        let points = vec![
            (0.0, Some(1.0)),
            (1.0, Some(0.0)),
            (2.0, None),
            (3.0, Some(2.0)),
        ];
        assert_eq!(segments(&points, true).len(), 2);
        assert_eq!(segments(&points, false).len(), 2);
        assert_eq!(segments(&points, false)[0].len(), 2);
    }

    #[test]
    fn compact_numbers_stay_short() {
        assert_eq!(compact_number(0.0), "0");
        assert_eq!(compact_number(0.25), "0.25");
        assert_eq!(compact_number(400.0), "400");
        assert_eq!(compact_number(1500.0), "1.5k");
        assert_eq!(compact_number(25_000.0), "25k");
        assert_eq!(compact_number(3_000_000.0), "3M");
    }
}
