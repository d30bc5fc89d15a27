//! librdkafka's mock cluster in a process of its own, so that several clients (streamproof's
//! producer and checker, rdkafka_performance) reach the same one: the client-side ceiling with
//! no broker on the machine's cores. `benches/compare.sh` starts it with `MOCK=1`
//! (`cargo run --release --example mock_cluster`).
//!
//! Usage: `mock_cluster BROKERS PARTITIONS`; creates the standard topics with PARTITIONS
//! partitions, prints the bootstrap servers on one line, and serves until its standard input
//! closes.

use std::io::{Read, Write};

use rdkafka::mocking::MockCluster;
use streamproof_platform::topics::STANDARD_TOPICS;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let brokers: i32 = args.next().as_deref().unwrap_or("3").parse()?;
    let partitions: i32 = args.next().as_deref().unwrap_or("6").parse()?;
    let cluster = MockCluster::new(brokers)?;
    for topic in STANDARD_TOPICS {
        cluster.create_topic(topic, partitions, brokers.min(3))?;
    }
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{}", cluster.bootstrap_servers())?;
    stdout.flush()?;
    // Serve until the caller closes our standard input (or ends the process).
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
    Ok(())
}
