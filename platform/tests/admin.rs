//! Topic administration against the real three-broker test cluster.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{admin, bootstrap, topic_config, unique_topic};
use streamproof_platform::admin::{AdminError, CreateOutcome};
use streamproof_platform::runtime::{default_cache_root, KafkaDistribution};
use streamproof_platform::topics::{standard_topics, TopicSetOptions, STANDARD_TOPICS};

#[tokio::test]
async fn create_describe_and_idempotent_recreate() {
    let admin = admin();
    let name = unique_topic("raw");
    let mut config = topic_config(&name, 4, 2);
    config.retention_ms = 3_600_000;
    config.compression_type = "lz4".into();
    assert_eq!(
        admin.create_topic(&config).await.unwrap(),
        CreateOutcome::Created
    );

    let description = admin.describe_topic(&name).await.unwrap();
    assert_eq!(description.partitions.len(), 4);
    assert_eq!(description.replication_factor(), 2);
    assert_eq!(description.configs["retention.ms"], "3600000");
    assert_eq!(description.configs["compression.type"], "lz4");
    assert_eq!(description.configs["cleanup.policy"], "delete");
    for partition in &description.partitions {
        assert!(partition.replicas.contains(&partition.leader));
    }
    assert!(description.differences_from(&config).is_empty());

    assert_eq!(
        admin.create_topic(&config).await.unwrap(),
        CreateOutcome::AlreadyExists
    );
    admin.delete_topic(&name).await.unwrap();
}

#[tokio::test]
async fn conflicting_recreate_names_every_difference() {
    let admin = admin();
    let name = unique_topic("bronze");
    admin
        .create_topic(&topic_config(&name, 2, 1))
        .await
        .unwrap();

    let mut different = topic_config(&name, 3, 1);
    different.retention_ms = 1_000;
    let error = admin.create_topic(&different).await.unwrap_err();
    match &error {
        AdminError::Conflict { topic, differences } => {
            assert_eq!(topic, &name);
            assert_eq!(
                differences,
                &vec![
                    "partitions: existing 2, requested 3".to_owned(),
                    "retention.ms: existing 604800000, requested 1000".to_owned(),
                ]
            );
        }
        other => panic!("expected a conflict, got {other}"),
    }
    assert!(error
        .to_string()
        .contains("already exists with different settings"));
    admin.delete_topic(&name).await.unwrap();
}

#[tokio::test]
async fn partitions_can_be_added_and_topics_deleted() {
    let admin = admin();
    let name = unique_topic("silver");
    admin
        .create_topic(&topic_config(&name, 1, 1))
        .await
        .unwrap();
    admin.add_partitions(&name, 3).await.unwrap();
    assert_eq!(admin.partitions(&name).unwrap().len(), 3);
    admin.delete_topic(&name).await.unwrap();
    assert!(matches!(
        admin.delete_topic(&name).await,
        Err(AdminError::UnknownTopic(_))
    ));
}

#[tokio::test]
async fn replication_factor_three_topic_has_all_brokers_in_sync() {
    let admin = admin();
    assert_eq!(
        admin.brokers().unwrap().len(),
        3,
        "the test cluster has three brokers"
    );
    let name = unique_topic("gold");
    admin
        .create_topic(&topic_config(&name, 3, 3))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let partitions = admin.partitions(&name).unwrap();
        let all_in_sync = partitions.iter().all(|p| {
            let mut isr = p.isr.clone();
            isr.sort_unstable();
            isr == vec![1, 2, 3]
        });
        if all_in_sync {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "ISR never reached all three brokers: {partitions:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    admin.delete_topic(&name).await.unwrap();
}

#[tokio::test]
async fn standard_set_is_applied_with_layer_retention_and_adaptive_replication() {
    let admin = admin();
    for topic in standard_topics(3, &TopicSetOptions::default()) {
        admin.create_topic(&topic).await.unwrap();
    }
    for name in STANDARD_TOPICS {
        let description = admin.describe_topic(name).await.unwrap();
        assert_eq!(description.replication_factor(), 3, "{name}");
        assert_eq!(description.configs["min.insync.replicas"], "2", "{name}");
    }
    let silver = admin.describe_topic("silver-events").await.unwrap();
    assert_eq!(silver.configs["retention.ms"], "63072000000");
    let gold = admin.describe_topic("gold-metrics").await.unwrap();
    assert_eq!(gold.configs["retention.ms"], "220752000000");
}

#[test]
fn kafkas_own_java_client_lists_every_broker() {
    let distribution = KafkaDistribution::ensure(&default_cache_root()).unwrap();
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/java/ListBrokers.java");
    let output = Command::new(&distribution.java)
        .arg("-cp")
        .arg(distribution.class_path())
        .arg(source)
        .arg(bootstrap())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut ids: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect();
    ids.sort();
    assert_eq!(ids, vec!["1", "2", "3"]);
}
