//! The run page: its verdict header, then the document of [`crate::view`] as HTML.

use super::*;
use crate::view::{Block, Column, Document, Format, Row, Span, Stat, Table, Text};

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

/// The sections of a run's document, as HTML.
pub(super) fn document(out: &mut String, document: &Document, result: Option<&RunResult>) {
    for section in &document.sections {
        let _ = write!(out, "<section><h2>{}</h2>", esc(section.title));
        for block in &section.blocks {
            block_html(out, block, result);
        }
        out.push_str("</section>\n");
    }
}

fn block_html(out: &mut String, block: &Block, result: Option<&RunResult>) {
    match block {
        Block::Paragraph(text) => {
            let _ = write!(out, "<p>{}</p>", text_html(text));
        }
        Block::Note(text) => {
            let _ = write!(out, "<p class=\"sub\">{}</p>", text_html(text));
        }
        Block::Heading(text) => {
            let _ = write!(out, "<h3>{}</h3>", text_html(text));
        }
        Block::Stats(stats) | Block::StatRow(stats) => {
            out.push_str("<div class=\"grid\">");
            for stat in stats {
                stat_html(out, stat);
            }
            out.push_str("</div>");
        }
        Block::Table(table) => table_html(out, table),
        Block::Facts(facts) => {
            out.push_str("<dl class=\"facts\">");
            for (label, value) in facts {
                let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", esc(label), text_html(value));
            }
            out.push_str("</dl>");
        }
        Block::Preformatted(text) => {
            let _ = write!(out, "<pre>{}</pre>", esc(text));
        }
        Block::Chart { kind, caption } => {
            if let Some(result) = result {
                chart_html(out, charts::svg(result, *kind), kind.title(), caption);
            }
        }
        Block::Figure {
            svg,
            title,
            caption,
        } => chart_html(out, svg.clone(), title, caption),
        Block::Only(Format::Html, block) => block_html(out, block, result),
        Block::Only(Format::Markdown, _) => {}
    }
}

fn text_html(text: &Text) -> String {
    text.0
        .iter()
        .map(|span| match span {
            Span::Plain(text) => esc(text),
            Span::Code(text) | Span::Name(text) => format!("<code>{}</code>", esc(text)),
            Span::Bad(text) => format!("<span class=\"bad\">{}</span>", esc(text)),
            Span::Verdict(true) => "<span class=\"ok\">✓&nbsp;pass</span>".to_owned(),
            Span::Verdict(false) => "<span class=\"bad\">✗&nbsp;fail</span>".to_owned(),
        })
        .collect()
}

fn stat_html(out: &mut String, stat: &Stat) {
    let class = if stat.bad { "stat bad" } else { "stat" };
    let _ = write!(
        out,
        "<div class=\"{class}\"><div class=\"label\">{}</div><div class=\"value\">{}</div></div>",
        esc(stat.label),
        text_html(&stat.value)
    );
}

fn table_html(out: &mut String, table: &Table) {
    let class = |column: &Column| if column.numeric { " class=\"num\"" } else { "" };
    out.push_str("<table><thead><tr>");
    for column in &table.columns {
        let _ = write!(out, "<th{}>{}</th>", class(column), esc(column.title));
    }
    out.push_str("</tr></thead><tbody>");
    for Row { cells, failed } in &table.rows {
        out.push_str(if *failed {
            "<tr class=\"failed\">"
        } else {
            "<tr>"
        });
        for (cell, column) in cells.iter().zip(&table.columns) {
            let _ = write!(out, "<td{}>{}</td>", class(column), text_html(cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
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

fn chart_html<E: std::fmt::Display>(
    out: &mut String,
    svg: Result<String, E>,
    title: &str,
    caption: &str,
) {
    match svg {
        Ok(svg) => {
            let _ = write!(
                out,
                "<figure>{}<figcaption>{}</figcaption></figure>",
                inline_svg(&svg, title),
                esc(caption)
            );
        }
        Err(error) => {
            let _ = writeln!(
                out,
                "<p class=\"chart-error\">{}: {}</p>",
                esc(title),
                esc(&error.to_string())
            );
        }
    }
}
