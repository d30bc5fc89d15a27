//! Topic administration: idempotent create, describe, delete and add partitions.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::admin::{
    AdminClient, AdminOptions, NewPartitions, NewTopic, ResourceSpecifier, TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use rdkafka::metadata::Metadata;
use rdkafka::types::RDKafkaErrorCode;
use serde::Serialize;

use crate::connection::KafkaConnection;
use crate::topics::TopicConfig;

/// What went wrong talking to the cluster's admin API.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The client could not be created or a request failed in the client.
    #[error("{operation}: {source}")]
    Client {
        /// What was being done.
        operation: String,
        /// The client's error.
        source: KafkaError,
    },
    /// The cluster answered with an error code.
    #[error("{operation} `{topic}`: the cluster answered {code}")]
    Refused {
        /// What was being done.
        operation: &'static str,
        /// The topic concerned.
        topic: String,
        /// Kafka's error code.
        code: RDKafkaErrorCode,
    },
    /// The topic exists with settings that differ from the requested ones.
    #[error("topic `{topic}` already exists with different settings: {}; delete it or change the request to match", differences.join("; "))]
    Conflict {
        /// The topic.
        topic: String,
        /// One line per differing setting: `partitions: existing 3, requested 6`.
        differences: Vec<String>,
    },
    /// The topic does not exist.
    #[error("topic `{0}` does not exist")]
    UnknownTopic(String),
    /// Topics a run needs are missing and may not be created.
    #[error("the cluster lacks {}; the platform file's `kafka.topics: existing` leaves topics to the cluster's operators, so have them created (`streamproof topics apply` creates them with the standard settings) or remove that line", .0.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", "))]
    MissingTopics(Vec<String>),
    /// The cluster did not reach the expected state in time.
    #[error("timed out after {waited:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        waited: Duration,
    },
}

/// What [`KafkaAdmin::create_topic`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CreateOutcome {
    /// The topic was created.
    Created,
    /// The topic already existed with the same settings.
    AlreadyExists,
}

/// A broker as the cluster metadata lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokerInfo {
    /// Node id.
    pub id: i32,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
}

/// One partition's placement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionInfo {
    /// Partition id.
    pub id: i32,
    /// Leader broker id (-1 when there is none).
    pub leader: i32,
    /// Replica broker ids.
    pub replicas: Vec<i32>,
    /// In-sync replica broker ids.
    pub isr: Vec<i32>,
}

/// A topic as the cluster sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicDescription {
    /// Topic name.
    pub name: String,
    /// Partitions in id order.
    pub partitions: Vec<PartitionInfo>,
    /// Every topic config Kafka reports, defaults included.
    pub configs: BTreeMap<String, String>,
}

impl TopicDescription {
    /// Replicas per partition (of the first partition; Kafka keeps them uniform on create).
    pub fn replication_factor(&self) -> i32 {
        self.partitions
            .first()
            .map_or(0, |partition| partition.replicas.len() as i32)
    }

    /// Every way this topic differs from `wanted`, one human-readable line each.
    pub fn differences_from(&self, wanted: &TopicConfig) -> Vec<String> {
        let mut differences = Vec::new();
        let mut compare = |name: &str, existing: String, requested: String| {
            if existing != requested {
                differences.push(format!(
                    "{name}: existing {existing}, requested {requested}"
                ));
            }
        };
        compare(
            "partitions",
            self.partitions.len().to_string(),
            wanted.partitions.to_string(),
        );
        compare(
            "replication factor",
            self.replication_factor().to_string(),
            wanted.replication_factor.to_string(),
        );
        for (name, value) in wanted.kafka_configs() {
            let existing = self
                .configs
                .get(name)
                .cloned()
                .unwrap_or_else(|| "unset".to_owned());
            compare(name, existing, value);
        }
        differences
    }
}

/// A client for the cluster's admin API.
pub struct KafkaAdmin {
    client: AdminClient<DefaultClientContext>,
    timeout: Duration,
    metadata_timeout: Duration,
}

fn client_error(operation: impl Into<String>) -> impl FnOnce(KafkaError) -> AdminError {
    let operation = operation.into();
    move |source| AdminError::Client { operation, source }
}

impl KafkaAdmin {
    /// Connects to the cluster `connection` reaches.
    pub fn connect(connection: &KafkaConnection) -> Result<Self, AdminError> {
        let client = connection
            .client_config()
            .create()
            .map_err(client_error(format!(
                "connect to Kafka at {}",
                connection.bootstrap_servers()
            )))?;
        Ok(KafkaAdmin {
            client,
            timeout: Duration::from_secs(30),
            metadata_timeout: Duration::from_secs(10),
        })
    }

    /// Uses `timeout` for every request instead of the defaults (30 s for admin operations,
    /// 10 s for metadata).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self.metadata_timeout = timeout;
        self
    }

    fn options(&self) -> AdminOptions {
        AdminOptions::new()
            .request_timeout(Some(self.timeout))
            .operation_timeout(Some(self.timeout))
    }

    fn metadata(&self, topic: Option<&str>) -> Result<Metadata, AdminError> {
        self.client
            .inner()
            .fetch_metadata(topic, self.metadata_timeout)
            .map_err(client_error("fetch cluster metadata"))
    }

    /// The brokers the cluster metadata lists.
    pub fn brokers(&self) -> Result<Vec<BrokerInfo>, AdminError> {
        let metadata = self.metadata(None)?;
        let mut brokers: Vec<BrokerInfo> = metadata
            .brokers()
            .iter()
            .map(|broker| BrokerInfo {
                id: broker.id(),
                host: broker.host().to_owned(),
                port: broker.port(),
            })
            .collect();
        brokers.sort_by_key(|broker| broker.id);
        Ok(brokers)
    }

    /// Names of the topics in the cluster, internal ones (`__consumer_offsets`, ...) left out.
    pub fn list_topics(&self) -> Result<Vec<String>, AdminError> {
        let metadata = self.metadata(None)?;
        let mut names: Vec<String> = metadata
            .topics()
            .iter()
            .map(|topic| topic.name().to_owned())
            .filter(|name| !name.starts_with("__"))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Checks that every topic of `topics` exists, without changing any (for clusters whose
    /// topics are provisioned by others); the error names every missing one.
    pub fn require_topics(&self, topics: &[TopicConfig]) -> Result<(), AdminError> {
        let existing = self.list_topics()?;
        let missing: Vec<String> = topics
            .iter()
            .filter(|topic| !existing.contains(&topic.name))
            .map(|topic| topic.name.clone())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(AdminError::MissingTopics(missing))
        }
    }

    /// Creates every topic of `topics` in order (see [`KafkaAdmin::create_topic`]); the error
    /// names the topic that failed.
    pub async fn apply_topics(&self, topics: &[TopicConfig]) -> Result<(), AdminError> {
        for topic in topics {
            self.create_topic(topic).await?;
        }
        Ok(())
    }

    /// Creates a topic, or accepts an existing one with identical settings; an existing topic
    /// with other settings is [`AdminError::Conflict`] naming each difference. Returns once
    /// every partition has a leader.
    pub async fn create_topic(&self, config: &TopicConfig) -> Result<CreateOutcome, AdminError> {
        let configs = config.kafka_configs();
        let mut new_topic = NewTopic::new(
            &config.name,
            config.partitions,
            TopicReplication::Fixed(config.replication_factor),
        );
        for (name, value) in &configs {
            new_topic = new_topic.set(name, value);
        }
        let results = self
            .client
            .create_topics([&new_topic], &self.options())
            .await
            .map_err(client_error(format!("create topic `{}`", config.name)))?;
        let outcome = match results.into_iter().next() {
            Some(Ok(_)) | None => CreateOutcome::Created,
            Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => {
                let existing = self.describe_existing(&config.name).await?;
                let differences = existing.differences_from(config);
                if !differences.is_empty() {
                    return Err(AdminError::Conflict {
                        topic: config.name.clone(),
                        differences,
                    });
                }
                CreateOutcome::AlreadyExists
            }
            Some(Err((topic, code))) => {
                return Err(AdminError::Refused {
                    operation: "create topic",
                    topic,
                    code,
                })
            }
        };
        self.wait_for_leaders(&config.name, config.partitions)
            .await?;
        Ok(outcome)
    }

    /// Describes a topic the controller says exists, waiting while the broker that answers
    /// has not learnt of it (or of its configs) yet.
    async fn describe_existing(&self, topic: &str) -> Result<TopicDescription, AdminError> {
        let started = Instant::now();
        loop {
            let waited_enough = started.elapsed() >= self.timeout;
            match self.describe_topic(topic).await {
                Err(AdminError::UnknownTopic(_)) if !waited_enough => {}
                // A topic created a moment ago by someone else may not report its configs yet.
                Ok(description) if description.configs.is_empty() && !waited_enough => {}
                other => return other,
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `topic` has `partitions` partitions, each with a leader.
    pub async fn wait_for_leaders(&self, topic: &str, partitions: i32) -> Result<(), AdminError> {
        let started = Instant::now();
        loop {
            if let Ok(placement) = self.partitions(topic) {
                let led = placement.iter().filter(|p| p.leader >= 0).count();
                if led as i32 >= partitions {
                    return Ok(());
                }
            }
            if started.elapsed() > self.timeout {
                return Err(AdminError::Timeout {
                    what: format!("every partition of `{topic}` to have a leader"),
                    waited: started.elapsed(),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Partitions of `topic` with leader, replicas and ISR.
    pub fn partitions(&self, topic: &str) -> Result<Vec<PartitionInfo>, AdminError> {
        let metadata = self.metadata(Some(topic))?;
        let found = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .filter(|t| t.error().is_none() && !t.partitions().is_empty())
            .ok_or_else(|| AdminError::UnknownTopic(topic.to_owned()))?;
        let mut partitions: Vec<PartitionInfo> = found
            .partitions()
            .iter()
            .map(|partition| PartitionInfo {
                id: partition.id(),
                leader: partition.leader(),
                replicas: partition.replicas().to_vec(),
                isr: partition.isr().to_vec(),
            })
            .collect();
        partitions.sort_by_key(|partition| partition.id);
        Ok(partitions)
    }

    /// Partitions, placement and every config of a topic.
    pub async fn describe_topic(&self, topic: &str) -> Result<TopicDescription, AdminError> {
        let partitions = self.partitions(topic)?;
        let resources = self
            .client
            .describe_configs([&ResourceSpecifier::Topic(topic)], &self.options())
            .await
            .map_err(client_error(format!("describe configs of `{topic}`")))?;
        let mut configs = BTreeMap::new();
        for resource in resources {
            let resource = resource.map_err(|code| AdminError::Refused {
                operation: "describe configs of",
                topic: topic.to_owned(),
                code,
            })?;
            for entry in resource.entries {
                if let Some(value) = entry.value {
                    configs.insert(entry.name, value);
                }
            }
        }
        Ok(TopicDescription {
            name: topic.to_owned(),
            partitions,
            configs,
        })
    }

    /// Deletes a topic.
    pub async fn delete_topic(&self, topic: &str) -> Result<(), AdminError> {
        let results = self
            .client
            .delete_topics(&[topic], &self.options())
            .await
            .map_err(client_error(format!("delete topic `{topic}`")))?;
        match results.into_iter().next() {
            Some(Err((_, RDKafkaErrorCode::UnknownTopicOrPartition))) => {
                Err(AdminError::UnknownTopic(topic.to_owned()))
            }
            Some(Err((topic, code))) => Err(AdminError::Refused {
                operation: "delete topic",
                topic,
                code,
            }),
            _ => Ok(()),
        }
    }

    /// Removes every record below `offset` from a partition, as an operator's DeleteRecords
    /// does: the partition's log start moves to `offset`.
    pub async fn delete_records_before(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> Result<(), AdminError> {
        let operation = format!("delete the records of `{topic}`/{partition} below {offset}");
        let mut before = rdkafka::TopicPartitionList::new();
        before
            .add_partition_offset(topic, partition, rdkafka::Offset::Offset(offset))
            .map_err(client_error(operation.clone()))?;
        let answer = self
            .client
            .delete_records(&before, &self.options())
            .await
            .map_err(client_error(operation.clone()))?;
        for element in answer.elements() {
            element.error().map_err(client_error(operation.clone()))?;
        }
        Ok(())
    }

    /// Grows a topic to `total` partitions (Kafka cannot shrink a topic).
    pub async fn add_partitions(&self, topic: &str, total: usize) -> Result<(), AdminError> {
        let request = NewPartitions::new(topic, total);
        let results = self
            .client
            .create_partitions([&request], &self.options())
            .await
            .map_err(client_error(format!("add partitions to `{topic}`")))?;
        if let Some(Err((topic, code))) = results.into_iter().next() {
            return Err(AdminError::Refused {
                operation: "add partitions to",
                topic,
                code,
            });
        }
        self.wait_for_leaders(topic, total as i32).await
    }
}
