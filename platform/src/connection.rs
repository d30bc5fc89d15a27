//! How streamproof reaches a Kafka cluster: a [`KafkaConnection`] is the bootstrap servers and
//! the client properties (security, timeouts) that every client streamproof creates carries,
//! whatever its role: admin, producers, consumers, the lag probe, the copier and the checker.
//! It is the only place a Kafka client configuration is built, so a setting given once reaches
//! every client.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientConfig;

use crate::profiles::{is_secret, ClientSettings, REDACTED};
use crate::secrets::{is_reference, resolve, SecretError};

/// The bootstrap servers of a Kafka cluster and the client properties every client needs to
/// reach it.
#[derive(Clone, PartialEq, Eq)]
pub struct KafkaConnection {
    bootstrap_servers: String,
    /// As given, secret references (`${env:…}`, `${file:…}`) unresolved.
    written: BTreeMap<String, String>,
    /// As clients get them.
    properties: BTreeMap<String, String>,
}

impl std::fmt::Debug for KafkaConnection {
    // Never the resolved secrets, even in a debug print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaConnection")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("properties", &self.redacted())
            .finish()
    }
}

/// Why a cluster could not be reached. Names the listener and the mechanism, never a secret.
#[derive(Debug, thiserror::Error)]
#[error("cannot reach Kafka at {bootstrap_servers} ({security}): {cause}")]
pub struct UnreachableError {
    /// The bootstrap servers tried.
    pub bootstrap_servers: String,
    /// The security protocol and SASL mechanism used, e.g. `SASL_SSL, SCRAM-SHA-512`.
    pub security: String,
    /// What the client reported first (authentication, TLS, transport), or the timeout.
    pub cause: String,
}

impl KafkaConnection {
    /// A connection to the cluster at `bootstrap_servers` (a comma-separated host:port list)
    /// without further client properties.
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        KafkaConnection {
            bootstrap_servers: bootstrap_servers.into(),
            written: BTreeMap::new(),
            properties: BTreeMap::new(),
        }
    }

    /// A connection with librdkafka `properties` every client carries (e.g.
    /// `security.protocol`), secret references resolved now.
    pub fn with_properties(
        bootstrap_servers: impl Into<String>,
        properties: &BTreeMap<String, String>,
    ) -> Result<Self, SecretError> {
        let mut connection = KafkaConnection::new(bootstrap_servers);
        for (name, value) in properties {
            connection
                .properties
                .insert(name.clone(), resolve(name, value)?);
            connection.written.insert(name.clone(), value.clone());
        }
        Ok(connection)
    }

    /// Adds a literal librdkafka property every client carries.
    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        self.written.insert(name.clone(), value.clone());
        self.properties.insert(name, value);
        self
    }

    /// The client properties as given, secret references unresolved: what another
    /// streamproof process needs to build the same connection (it resolves them itself).
    pub fn written_properties(&self) -> &BTreeMap<String, String> {
        &self.written
    }

    /// The client properties as clients get them, secrets resolved: only for handing to a
    /// client of another kind (the pipeline's Java clients).
    pub fn client_properties(&self) -> &BTreeMap<String, String> {
        &self.properties
    }

    /// The security protocol and SASL mechanism, as error messages name them.
    pub fn security(&self) -> String {
        let protocol = self
            .properties
            .get("security.protocol")
            .map_or("PLAINTEXT", String::as_str)
            .to_uppercase();
        match self
            .properties
            .get("sasl.mechanisms")
            .or_else(|| self.properties.get("sasl.mechanism"))
        {
            Some(mechanism) if protocol.starts_with("SASL") => format!("{protocol}, {mechanism}"),
            _ => protocol,
        }
    }

    /// Asks the cluster for its metadata, failing within `timeout` with what the client
    /// reported first (a refused password, an untrusted certificate, nothing listening)
    /// instead of retrying in the background.
    pub fn check_reachable(&self, timeout: Duration) -> Result<usize, UnreachableError> {
        let unreachable = |cause: String| UnreachableError {
            bootstrap_servers: self.bootstrap_servers.clone(),
            security: self.security(),
            cause,
        };
        let client: BaseConsumer<FirstError> = self
            .client_config()
            .create_with_context(FirstError::default())
            .map_err(|error| unreachable(error.to_string()))?;
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let attempt = client.fetch_metadata(None, PROBE_ATTEMPT);
            // Serves the error events (authentication, TLS) that only polling delivers.
            let _ = client.poll(Duration::ZERO);
            let first = client.context().first.lock().ok().and_then(|f| f.clone());
            match (attempt, first) {
                (Ok(metadata), _) => return Ok(metadata.brokers().len()),
                (Err(_), Some(cause)) => return Err(unreachable(cause)),
                (Err(error), None) if std::time::Instant::now() >= deadline => {
                    return Err(unreachable(error.to_string()))
                }
                (Err(_), None) => {}
            }
        }
    }

    /// The comma-separated bootstrap servers.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap_servers
    }

    /// The client properties as given, literal secrets replaced by [`REDACTED`] (references
    /// stay: they name where a secret is, not the secret), safe to print or store.
    pub fn redacted(&self) -> BTreeMap<String, String> {
        self.written
            .iter()
            .map(|(name, value)| {
                let shown = if is_secret(name) && !is_reference(value) {
                    REDACTED
                } else {
                    value
                };
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

/// How long one metadata request of [`KafkaConnection::check_reachable`] may take.
const PROBE_ATTEMPT: Duration = Duration::from_secs(1);

/// Keeps the first failure librdkafka reports in the background (a refused login, a TLS
/// handshake that failed), which a metadata request that times out does not say.
#[derive(Default)]
struct FirstError {
    first: Mutex<Option<String>>,
}

impl FirstError {
    fn keep(&self, cause: String) {
        if let Ok(mut first) = self.first.lock() {
            first.get_or_insert(cause);
        }
    }
}

impl ClientContext for FirstError {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        let security = ["SASL", "SSL", "AUTH"]
            .iter()
            .any(|word| facility.contains(word) || message.contains(word));
        if (level as i32) <= (RDKafkaLogLevel::Warning as i32) && security {
            self.keep(message.to_owned());
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        let transport_only = error.rdkafka_error_code()
            == Some(RDKafkaErrorCode::BrokerTransportFailure)
            || error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown);
        // A broker that is not up yet is worth another attempt; a refusal is not.
        if !transport_only || reason.contains("SSL") || reason.contains("SASL") {
            self.keep(format!("{error}: {reason}"));
        }
    }
}

impl ConsumerContext for FirstError {}

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
