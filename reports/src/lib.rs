//! Run reports (not built yet).
//!
//! It will turn a run's typed results into `result.json`, a Markdown summary, a
//! self-contained HTML page with charts, JUnit XML, and comparisons between runs.
//!
//! It must not run anything: it only renders what other crates measured.
