//! The run page as a document: sections of typed blocks, built once from a
//! [`RunResult`](crate::result::RunResult) and walked by two renderers, `index.html`
//! ([`crate::html`]) and `summary.md` ([`crate::markdown`]). What a section shows is decided
//! here; how it looks, and the escaping, belong to the renderers.
//!
//! `summary.md` is a summary: a block marked [`Block::Only`] is shown by one format alone
//! (charts and full settings on the page; a one-line digest in the summary where the page
//! has a grid).

mod checks;
mod layers;
mod plan;
mod run;

pub(crate) use plan::plan_document;

pub(crate) use checks::check_texts;

use crate::charts::ChartKind;
use crate::result::RunResult;

/// A run page below its verdict header.
pub(crate) struct Document {
    pub sections: Vec<Section>,
}

/// One `##` section.
pub(crate) struct Section {
    pub title: &'static str,
    pub blocks: Vec<Block>,
}

/// The two formats a document renders to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Html,
    Markdown,
}

/// A piece of a section.
pub(crate) enum Block {
    /// A paragraph.
    Paragraph(Text),
    /// A remark in a quieter voice.
    Note(Text),
    /// A subheading.
    Heading(Text),
    /// Labelled figures: a grid on the page, `label value · label value` in the summary.
    Stats(Vec<Stat>),
    /// Labelled figures of one row: a grid on the page, a one-row table in the summary.
    StatRow(Vec<Stat>),
    /// A table.
    Table(Table),
    /// Labelled values: a definition list on the page, one `label: value` line each in the
    /// summary.
    Facts(Vec<(&'static str, Text)>),
    /// Text shown as it is, in a monospace block.
    Preformatted(String),
    /// A chart of the run, with what it shows; an image only the page can carry.
    Chart {
        kind: ChartKind,
        caption: &'static str,
    },
    /// A chart drawn already (an SVG document, or why it could not be drawn), with its title
    /// and what it shows; only the page carries it.
    Figure {
        svg: Result<String, String>,
        title: &'static str,
        caption: String,
    },
    /// A block one format shows and the other leaves out.
    Only(Format, Box<Block>),
}

impl Block {
    fn only(format: Format, block: Block) -> Block {
        Block::Only(format, Box::new(block))
    }
}

/// A figure with its label; `bad` when its value means something went wrong.
pub(crate) struct Stat {
    pub label: &'static str,
    pub value: Text,
    pub bad: bool,
}

impl Stat {
    fn new(label: &'static str, value: impl Into<Text>) -> Stat {
        Stat {
            label,
            value: value.into(),
            bad: false,
        }
    }

    fn bad_when(mut self, bad: bool) -> Stat {
        self.bad = bad;
        self
    }
}

/// A table with its header.
pub(crate) struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
    /// Whether the summary right-aligns numeric columns; the first tables of `summary.md`
    /// never did, and readers diff it between runs, so they keep their layout.
    pub aligned_in_markdown: bool,
}

/// A column's title, and whether it holds numbers (right-aligned).
pub(crate) struct Column {
    pub title: &'static str,
    pub numeric: bool,
}

impl Column {
    fn text(title: &'static str) -> Column {
        Column {
            title,
            numeric: false,
        }
    }

    fn number(title: &'static str) -> Column {
        Column {
            title,
            numeric: true,
        }
    }
}

/// A table row; `failed` rows are highlighted on the page.
pub(crate) struct Row {
    pub cells: Vec<Text>,
    pub failed: bool,
}

impl Row {
    fn new(cells: Vec<Text>) -> Row {
        Row {
            cells,
            failed: false,
        }
    }
}

/// Inline text: spans the renderers escape and style.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Text(pub Vec<Span>);

/// A run of inline text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Span {
    /// Plain text.
    Plain(String),
    /// Code: names of files, topics, properties.
    Code(String),
    /// A stable identifier in a table (a check's name): code on the page, plain in the
    /// summary, where backticks would widen every row.
    Name(String),
    /// Text that says something went wrong.
    Bad(String),
    /// Whether a check held.
    Verdict(bool),
}

impl Text {
    fn plain(text: impl Into<String>) -> Text {
        Text(vec![Span::Plain(text.into())])
    }

    fn code(text: impl Into<String>) -> Text {
        Text(vec![Span::Code(text.into())])
    }

    fn then(mut self, span: Span) -> Text {
        self.0.push(span);
        self
    }

    fn then_plain(self, text: impl Into<String>) -> Text {
        self.then(Span::Plain(text.into()))
    }

    fn then_code(self, text: impl Into<String>) -> Text {
        self.then(Span::Code(text.into()))
    }
}

impl From<String> for Text {
    fn from(text: String) -> Text {
        Text::plain(text)
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Text {
        Text::plain(text)
    }
}

/// Every section of a run's page, in order.
pub(crate) fn run_document(result: &RunResult) -> Document {
    let sections = [
        Some(checks::checks(result)),
        run::rate_search(result),
        Some(run::counts(result)),
        Some(run::throughput_and_latency(result)),
        run::faults(result),
        Some(run::charts()),
        layers::lakehouse(result),
        layers::bronze(result),
        layers::schemas(result),
        layers::verification(result),
        run::anomalies(result),
        Some(layers::platform(result)),
        Some(layers::scenario(result)),
    ];
    Document {
        sections: sections.into_iter().flatten().collect(),
    }
}
