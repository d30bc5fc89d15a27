//! Scenario-driven load for the reference platform (not built yet).
//!
//! It will generate events on an open-loop, intended-send schedule (latency measured from the
//! intended send time, so coordinated omission is corrected), with an event mix, key
//! distributions, payload sizes and deliberate duplicates, invalid and late events; run
//! consumers that measure end-to-end latency and lag; record HDR histograms; and keep the
//! ground-truth ledger of every send and its outcome that the checker compares against.
//!
//! It must not verify results or render reports: it emits typed records for `verify` and
//! `reports`.
