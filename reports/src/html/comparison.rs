//! The comparison and matrix pages.

use super::*;

pub(super) fn change_class(change: Change) -> &'static str {
    match change {
        Change::Regressed => "bad",
        Change::Improved => "ok",
        Change::WithinNoise => "noise",
        Change::Unchanged | Change::NotCompared => "sub",
    }
}

pub(super) fn verdict_header(out: &mut String, verdict: Change, title: &str, subtitle: &str) {
    let (class, badge) = match verdict {
        Change::Regressed => ("fail", "REGRESSED"),
        Change::Improved => ("pass", "IMPROVED"),
        Change::WithinNoise | Change::Unchanged | Change::NotCompared => {
            ("neutral", "NO REGRESSION")
        }
    };
    let _ = writeln!(
        out,
        "<header class=\"verdict {class}\"><div class=\"badge\">{badge}</div><div><h1>{}</h1>\
         <p>{}</p></div></header>",
        esc(title),
        esc(subtitle)
    );
}

/// Renders a comparison of runs as a page.
pub fn comparison_html(comparison: &Comparison) -> String {
    let scenarios = format::compared_scenarios(comparison);
    let mut body = String::new();
    verdict_header(
        &mut body,
        comparison.verdict,
        &scenarios,
        &format!(
            "{} · baseline {} run(s), candidate {} run(s)",
            format::verdict_headline(comparison.verdict),
            comparison.baseline_runs,
            comparison.candidate_runs
        ),
    );
    let regressed: Vec<&str> = comparison
        .metrics
        .iter()
        .filter(|m| m.change == Change::Regressed)
        .map(|m| m.name.as_str())
        .collect();
    if !regressed.is_empty() {
        let _ = write!(
            body,
            "<p>Regressed: <span class=\"bad\">{}</span></p>",
            esc(&regressed.join(", "))
        );
    }
    for note in &comparison.notes {
        let _ = write!(body, "<p class=\"noise\">{}</p>", esc(note));
    }
    body.push_str(
        "<section><h2>Figures</h2><p class=\"sub\">Values are medians, with the range of the \
         runs in brackets.</p><table><thead><tr><th>figure</th><th class=\"num\">baseline</th>\
         <th class=\"num\">candidate</th><th class=\"num\">change</th><th>verdict</th></tr>\
         </thead><tbody>",
    );
    for metric in &comparison.metrics {
        let row = if metric.change == Change::Regressed {
            " class=\"failed\""
        } else {
            ""
        };
        let _ = write!(
            body,
            "<tr{row}><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td><span class=\"{}\">{}</span> <span class=\"sub\">· {}</span></td></tr>",
            esc(&metric.name),
            esc(&format::optional_spread(metric.unit, metric.baseline.as_ref())),
            esc(&format::optional_spread(metric.unit, metric.candidate.as_ref())),
            esc(&format::optional_change(metric.change_percent)),
            change_class(metric.change),
            esc(format::change_word(metric.change)),
            esc(&metric.reason)
        );
    }
    let _ = write!(
        body,
        "</tbody></table><p class=\"sub\">{}</p></section>",
        esc(&format::tolerances(&comparison.tolerances))
    );
    page(
        &format!(
            "{} · {scenarios} · streamproof",
            format::verdict_headline(comparison.verdict)
        ),
        &body,
    )
}

/// Renders a matrix, one column per value with the first as the baseline, as a page.
pub fn matrix_html(matrix: &Matrix) -> String {
    let scenarios = matrix
        .comparisons
        .first()
        .map(|c| c.baseline_scenarios.join(", "))
        .unwrap_or_default();
    let mut body = String::new();
    verdict_header(
        &mut body,
        matrix.verdict,
        &scenarios,
        &format!(
            "{} · {} value(s), each against {}",
            format::verdict_headline(matrix.verdict),
            matrix.labels.len(),
            matrix.labels.first().map_or("–", String::as_str)
        ),
    );
    body.push_str("<section><h2>Figures</h2><p class=\"sub\">Values are medians, with the range of the runs in brackets; each column against the first.</p><table><thead><tr><th>figure</th>");
    for (index, (label, runs)) in matrix.labels.iter().zip(&matrix.runs).enumerate() {
        let role = if index == 0 { "baseline, " } else { "" };
        let _ = write!(
            body,
            "<th class=\"num\"><code>{}</code><br><span class=\"sub\">{role}{runs} run(s)</span></th>",
            esc(label)
        );
    }
    body.push_str("</tr></thead><tbody>");
    for row in &matrix.rows {
        let regressed = row
            .others
            .iter()
            .flatten()
            .any(|cell| cell.change == Change::Regressed);
        let _ = write!(
            body,
            "<tr{}><td>{}</td><td class=\"num\">{}</td>",
            if regressed { " class=\"failed\"" } else { "" },
            esc(&row.name),
            esc(&format::optional_spread(row.unit, row.baseline.as_ref()))
        );
        for other in &row.others {
            match other {
                Some(cell) => {
                    let _ = write!(
                        body,
                        "<td class=\"num\">{}<br><span class=\"{}\">{}{}</span></td>",
                        esc(&format::optional_spread(row.unit, cell.spread.as_ref())),
                        change_class(cell.change),
                        cell.change_percent
                            .map(|c| format!("{} ", esc(&format::percent_change(c))))
                            .unwrap_or_default(),
                        esc(format::change_word(cell.change))
                    );
                }
                None => body.push_str("<td class=\"num\">–</td>"),
            }
        }
        body.push_str("</tr>");
    }
    body.push_str("</tbody></table>");
    if let Some(first) = matrix.comparisons.first() {
        let _ = write!(
            body,
            "<p class=\"sub\">{}</p>",
            esc(&format::tolerances(&first.tolerances))
        );
    }
    for (label, comparison) in matrix.labels.iter().skip(1).zip(&matrix.comparisons) {
        for note in &comparison.notes {
            let _ = write!(
                body,
                "<p class=\"noise\"><code>{}</code>: {}</p>",
                esc(label),
                esc(note)
            );
        }
    }
    body.push_str("</section>");
    page(
        &format!(
            "{} · {scenarios} matrix · streamproof",
            format::verdict_headline(matrix.verdict)
        ),
        &body,
    )
}
