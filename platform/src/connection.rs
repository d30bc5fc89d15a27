//! How streamproof reaches a Kafka cluster: a [`KafkaConnection`] is the bootstrap servers and
//! the client properties (security, timeouts) that every client streamproof creates carries,
//! whatever its role: admin, producers, consumers, the lag probe, the copier and the checker.
//! It is the only place a Kafka client configuration is built, so a setting given once reaches
//! every client.

use std::collections::BTreeMap;

use rdkafka::ClientConfig;

use crate::profiles::{is_secret, ClientSettings, REDACTED};

/// The bootstrap servers of a Kafka cluster and the client properties every client needs to
/// reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaConnection {
    bootstrap_servers: String,
    properties: BTreeMap<String, String>,
}

impl KafkaConnection {
    /// A connection to the cluster at `bootstrap_servers` (a comma-separated host:port list)
    /// without further client properties.
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        KafkaConnection {
            bootstrap_servers: bootstrap_servers.into(),
            properties: BTreeMap::new(),
        }
    }

    /// Adds a librdkafka property every client carries (e.g. `security.protocol`).
    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }

    /// The comma-separated bootstrap servers.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap_servers
    }

    /// The client properties with secret values replaced by [`REDACTED`], safe to print or
    /// store.
    pub fn redacted(&self) -> BTreeMap<String, String> {
        self.properties
            .iter()
            .map(|(name, value)| {
                let shown = if is_secret(name) { REDACTED } else { value };
                (name.clone(), shown.to_owned())
            })
            .collect()
    }

    /// A client configuration that reaches the cluster; the caller adds what its role needs
    /// (a group id, an isolation level).
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap_servers);
        for (name, value) in &self.properties {
            config.set(name, value);
        }
        config
    }

    /// [`KafkaConnection::client_config`] with a role's tuning (a profile and its overrides)
    /// on top.
    pub fn tuned(&self, settings: &ClientSettings) -> ClientConfig {
        let mut config = self.client_config();
        for (name, value) in settings.librdkafka_properties() {
            config.set(name, value);
        }
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles::ProducerProfile;

    #[test]
    fn every_client_carries_the_connection_and_its_role_tuning_on_top() {
        let connection = KafkaConnection::new("127.0.0.1:9092")
            .with_property("security.protocol", "SASL_SSL")
            .with_property("sasl.password", "hunter2")
            .with_property("acks", "1");
        let plain = connection.client_config();
        assert_eq!(plain.get("bootstrap.servers"), Some("127.0.0.1:9092"));
        assert_eq!(plain.get("security.protocol"), Some("SASL_SSL"));
        let settings = ProducerProfile::Reliability.settings_map();
        let tuned = connection.tuned(&settings);
        assert_eq!(tuned.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(tuned.get("acks"), Some("all"), "the role's tuning wins");
        assert_eq!(
            connection
                .redacted()
                .get("sasl.password")
                .map(String::as_str),
            Some(REDACTED)
        );
    }
}
