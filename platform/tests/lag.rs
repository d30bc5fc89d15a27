//! Consumer lag against the real test cluster.

mod common;

use std::time::Duration;

use common::{admin, bootstrap, consumer, topic_config, unique_topic};
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use streamproof_platform::connection::KafkaConnection;
use streamproof_platform::lag::consumer_lag;

#[tokio::test]
async fn lag_after_consuming_half_a_topic() {
    let topic = unique_topic("raw");
    admin()
        .create_topic(&topic_config(&topic, 2, 1))
        .await
        .unwrap();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .unwrap();
    for i in 0..20 {
        let partition = i % 2;
        let body = format!("record-{i}");
        producer
            .send(
                FutureRecord::<(), _>::to(&topic)
                    .partition(partition)
                    .payload(&body),
                Duration::from_secs(30),
            )
            .await
            .unwrap();
    }

    // Consume (commit) half of each partition: offset 5 of 10.
    let group = format!("lag-test-{}", uuid::Uuid::new_v4());
    let committer = consumer(&group);
    let mut offsets = TopicPartitionList::new();
    offsets
        .add_partition_offset(&topic, 0, Offset::Offset(5))
        .unwrap();
    offsets
        .add_partition_offset(&topic, 1, Offset::Offset(5))
        .unwrap();
    committer.commit(&offsets, CommitMode::Sync).unwrap();

    let topics = vec![topic.clone()];
    let report = tokio::task::spawn_blocking({
        let group = group.clone();
        move || consumer_lag(&KafkaConnection::new(bootstrap()), &group, Some(&topics))
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(report.total, 10);
    assert_eq!(report.partitions.len(), 2);
    for partition in &report.partitions {
        assert_eq!(partition.committed, Some(5));
        assert_eq!(partition.high_watermark, 10);
        assert_eq!(partition.lag, 5);
    }

    // Without a topic list, only the partitions the group committed on are reported.
    let discovered = tokio::task::spawn_blocking(move || {
        consumer_lag(&KafkaConnection::new(bootstrap()), &group, None)
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(discovered.partitions, report.partitions);
}

#[tokio::test]
async fn a_group_that_never_committed_lags_by_everything_retained() {
    let topic = unique_topic("raw");
    admin()
        .create_topic(&topic_config(&topic, 1, 1))
        .await
        .unwrap();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .unwrap();
    for i in 0..3 {
        let body = format!("record-{i}");
        producer
            .send(
                FutureRecord::<(), _>::to(&topic).payload(&body),
                Duration::from_secs(30),
            )
            .await
            .unwrap();
    }
    let topics = vec![topic.clone()];
    let report = tokio::task::spawn_blocking(move || {
        consumer_lag(&KafkaConnection::new(bootstrap()), "nobody", Some(&topics))
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(report.total, 3);
    assert_eq!(report.partitions[0].committed, None);

    let missing = vec!["raw-does-not-exist".to_owned()];
    let error = tokio::task::spawn_blocking(move || {
        consumer_lag(&KafkaConnection::new(bootstrap()), "nobody", Some(&missing))
    })
    .await
    .unwrap()
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "topic `raw-does-not-exist` does not exist"
    );
}
