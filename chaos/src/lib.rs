//! Fault injection for the reference platform (not built yet).
//!
//! It will kill, pause and restart processes that streamproof itself started, break the
//! network through a TCP proxy in front of each broker (latency, bandwidth, blackhole, reset,
//! isolation), restart clients, run faults on a schedule, and record every fault's start, end
//! and resolved target on a timeline.
//!
//! It must never touch a process or port that streamproof did not start.
