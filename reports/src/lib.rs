//! Run reports.
//!
//! - [`result`]: the `result.json` schema, the product's contract, with [`result::RunResult`]
//!   written and read back by every tool that consumes runs.
//! - [`markdown::summary`]: `summary.md`, the run in a form that pastes into a pull request.
//! - [`charts`]: throughput, latency, latency distribution and lag charts, SVG or PNG.
//!
//! Planned: a self-contained HTML page, JUnit XML and comparison of runs.
//!
//! This crate never runs anything: it renders what the other crates measured.
#![deny(missing_docs)]

pub mod charts;
mod escape;
pub mod markdown;
pub mod result;
