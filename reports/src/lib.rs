//! Run reports.
//!
//! - [`result`]: the `result.json` schema, the product's contract, with [`result::RunResult`]
//!   written and read back by every tool that consumes runs.
//! - [`markdown::summary`]: `summary.md`, the run in a form that pastes into a pull request.
//! - [`charts`]: throughput, latency, latency distribution and lag charts, SVG or PNG.
//! - [`html::render_run_dir`]: `index.html`, a self-contained page with the verdict, every
//!   figure, the charts and every setting, next to `summary.md`.
//! - [`junit::junit_xml`]: the checks of runs as JUnit test cases, for CI.
//! - [`compare::compare`] and [`compare::compare_many`]: runs against a baseline, figure by
//!   figure, noise-aware, rendered by [`markdown`] and [`html`].
//!
//! This crate never runs anything: it renders what the other crates measured.
//!
//! ```no_run
//! use std::path::Path;
//! use streamproof_reports::compare::{compare, Tolerances};
//! use streamproof_reports::result::RunResult;
//! use streamproof_reports::{html, junit, markdown};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let run = RunResult::read(Path::new("runs/broker-kill/result.json"))?;
//! // index.html and summary.md beside result.json.
//! let written = html::render_run_dir(Path::new("runs/broker-kill"), &run)?;
//! println!("report: {}", written.index_html.display());
//! // The checks for CI.
//! std::fs::write("junit.xml", junit::junit_xml(&[&run]))?;
//! // The same scenario before and after a change.
//! let before = RunResult::read(Path::new("runs/before/result.json"))?;
//! let comparison = compare(&[before], &[run], &Tolerances::default());
//! print!("{}", markdown::comparison(&comparison));
//! assert!(!comparison.regressed(), "the change made the platform worse");
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

use std::path::PathBuf;

pub mod charts;
pub mod compare;
mod escape;
mod format;
pub mod html;
pub mod junit;
pub mod markdown;
mod view;
pub use streamproof_result as result;

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// File system.
    #[error("could not {action} `{}`: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// Which file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}
