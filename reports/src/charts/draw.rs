//! Drawing a plot with plotters: axes, lines, fault and warmup windows, the legend.

use super::*;

const LEGEND_HEIGHT: u32 = 30;

/// Beyond this many points a series fills the plot's width and is drawn as a hairline.
const DENSE_POINTS: usize = 400;

impl Plot {
    pub(super) fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
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
            (Axis::Seconds | Axis::Value(_), scale) => {
                let x_end = lines
                    .iter()
                    .flat_map(|(_, points)| points.iter().map(|p| p.0))
                    .chain(self.faults.iter().map(|w| w.end))
                    .chain(self.warmup.iter().map(|w| w.end))
                    .filter(|x| x.is_finite())
                    .fold(1.0, f64::max);
                let x_range = 0.0..x_end;
                let x_formatter = |v: &f64| match self.x_axis {
                    Axis::Value(_) => compact_number(*v),
                    _ => format!("{v:.0}"),
                };
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
            Axis::Value(label) => label,
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
                self.windows_legend.to_owned(),
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
