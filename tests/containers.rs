//! The reference platform's broker in a Docker container (testcontainers), driven by
//! streamproof as any existing cluster: for CI machines with a Docker engine and no Java.
//! Opt-in: `cargo test --features testcontainers --test containers` (it compiles in every CI
//! run; it runs where Docker does).
#![cfg(feature = "testcontainers")]

mod common;

use common::{explain, read_result, streamproof};
use streamproof_platform::containers::KafkaContainer;

#[tokio::test(flavor = "multi_thread")]
async fn the_smoke_scenario_passes_on_a_broker_in_a_container() {
    let kafka = KafkaContainer::start()
        .await
        .expect("start the broker container");
    let out = tempfile::tempdir().unwrap();
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/smoke.yaml");
    let bootstrap = kafka.bootstrap_servers().to_owned();
    let out_dir = out.path().to_str().unwrap().to_owned();
    let output = tokio::task::spawn_blocking(move || {
        streamproof(&[
            "run",
            scenario,
            "--bootstrap-servers",
            &bootstrap,
            "--out",
            &out_dir,
        ])
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let result = read_result(out.path());
    assert_eq!(result["verdict"], "pass");
    assert_eq!(result["counts"]["lost"], 0);
    assert_eq!(result["counts"]["acked"], result["counts"]["present"]);
}
