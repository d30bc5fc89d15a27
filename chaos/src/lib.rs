//! Fault injection for the reference platform.
//!
//! - [`spec`]: a scenario's `faults:` entries: kill (SIGKILL, restart after a delay), pause
//!   (SIGSTOP/SIGCONT), graceful restart, rolling restart; targets `broker:N`,
//!   `leader:TOPIC/PARTITION` (resolved when the fault fires), `controller`, `random` (from the
//!   scenario seed) and `all`; `repeat` and `every`.
//! - [`injector`]: fires the faults on schedule from a thread of its own and records every
//!   fault's start, end and resolved broker on the timeline.
//!
//! It only ever signals processes the embedded platform started, through the platform's
//! [`streamproof_platform::runtime::LocalCluster`], which signals nothing but its recorded
//! pids. It never generates load and never judges results.
#![deny(missing_docs)]

pub mod injector;
pub mod owner;
pub mod proxy;
pub mod spec;
