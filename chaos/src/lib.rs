//! Fault injection for the reference platform.
//!
//! - [`spec`]: a scenario's `faults:` entries: kill (SIGKILL, restart after a delay), pause
//!   (SIGSTOP/SIGCONT), graceful restart, rolling restart; targets `broker:N`,
//!   `leader:TOPIC/PARTITION` (resolved when the fault fires), `controller`, `random` (from the
//!   scenario seed) and `all`; `repeat` and `every`. Each kind ([`spec::FaultAction`]) carries
//!   only its own options, so an option of another kind is a parse error.
//!   Other targets: `copier`, `taskmanager`, `jobmanager` (processes of the platform) and
//!   `producers` (the load generator's clients, through [`injector::ProducerSwitch`]).
//! - [`injector`]: fires the faults on schedule from a thread of its own and records every
//!   fault's start, end and resolved broker on the timeline.
//! - [`proxy`]: TCP proxies in front of every broker listener: client-side network faults
//!   and the isolation of a broker from its peers; [`owner`] tells which broker opened a
//!   link.
//!
//! It only ever signals processes the embedded platform started, through the platform's
//! [`streamproof_platform::runtime::LocalCluster`], which signals nothing but its recorded
//! pids. It never generates load and never judges results.
#![deny(missing_docs)]

pub mod commands;
pub mod injector;
pub mod owner;
pub mod proxy;
pub mod spec;
pub mod windows;
