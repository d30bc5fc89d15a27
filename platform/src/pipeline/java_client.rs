//! The Kafka settings of the pipeline's Java clients (Flink's Kafka connector), translated
//! from the librdkafka properties every other client of the run uses, so that the jobs reach a
//! secured cluster as the rest of the run does. Secrets are resolved here and only ever go
//! into the SQL handed to Flink; whatever streamproof shows of that SQL has them removed.

use std::collections::BTreeMap;
use std::fmt;

use super::PipelineError;

/// Java Kafka client properties (`properties.*` of Flink's Kafka tables).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct JavaClientProperties {
    properties: BTreeMap<String, String>,
    secrets: Vec<String>,
}

/// librdkafka settings that only matter to librdkafka itself, or have the same meaning for
/// Java clients without being needed by the pipeline's jobs: left out.
const LIBRDKAFKA_ONLY: &[&str] = &[
    "client.id",
    "socket.timeout.ms",
    "metadata.max.age.ms",
    "topic.metadata.refresh.interval.ms",
    "socket.keepalive.enable",
    "broker.address.family",
    "log_level",
    "debug",
    "statistics.interval.ms",
    "ssl.endpoint.identification.algorithm",
];

impl JavaClientProperties {
    /// The Java client's settings for the librdkafka `properties` (secrets resolved). A
    /// setting with no Java counterpart the jobs could use is an error naming it.
    pub fn from_librdkafka(properties: &BTreeMap<String, String>) -> Result<Self, PipelineError> {
        let mut java = JavaClientProperties::default();
        let mut sasl_user = None;
        let mut sasl_password = None;
        let mut mechanism = None;
        for (name, value) in properties {
            match name.as_str() {
                "security.protocol" => java.set("security.protocol", value.to_uppercase()),
                "sasl.mechanisms" | "sasl.mechanism" => {
                    mechanism = Some(value.to_uppercase());
                    java.set("sasl.mechanism", value.to_uppercase());
                }
                "sasl.username" => sasl_user = Some(value.clone()),
                "sasl.password" => sasl_password = Some(value.clone()),
                "ssl.ca.location" => {
                    java.set("ssl.truststore.type", "PEM".to_owned());
                    java.set("ssl.truststore.location", value.clone());
                }
                name if LIBRDKAFKA_ONLY.contains(&name) => {}
                other => {
                    return Err(PipelineError::KafkaSetting {
                        setting: other.to_owned(),
                    })
                }
            }
        }
        if let Some(algorithm) = properties.get("ssl.endpoint.identification.algorithm") {
            let java_value = if algorithm.eq_ignore_ascii_case("none") {
                ""
            } else {
                "https"
            };
            java.set(
                "ssl.endpoint.identification.algorithm",
                java_value.to_owned(),
            );
        }
        if let (Some(user), Some(password)) = (sasl_user, sasl_password) {
            let module = match mechanism.as_deref() {
                Some("PLAIN") | None => "org.apache.kafka.common.security.plain.PlainLoginModule",
                Some(scram) if scram.starts_with("SCRAM-") => {
                    "org.apache.kafka.common.security.scram.ScramLoginModule"
                }
                Some(_) => {
                    return Err(PipelineError::KafkaSetting {
                        setting: "sasl.mechanisms".to_owned(),
                    })
                }
            };
            java.set(
                "sasl.jaas.config",
                format!(
                    "{module} required username=\"{}\" password=\"{}\";",
                    jaas_quoted(&user),
                    jaas_quoted(&password)
                ),
            );
            // As given, as quoted in the JAAS option, and as quoted in SQL.
            let quoted = jaas_quoted(&password);
            java.secrets
                .extend([quoted.replace('\'', "''"), quoted, password]);
        }
        Ok(java)
    }

    fn set(&mut self, name: &str, value: String) {
        self.properties.insert(name.to_owned(), value);
    }

    /// `'properties.NAME' = 'VALUE',` lines for a Kafka table's `WITH` clause.
    pub fn table_options(&self) -> String {
        self.properties
            .iter()
            .map(|(name, value)| {
                format!("'properties.{name}' = '{}',\n  ", value.replace('\'', "''"))
            })
            .collect()
    }

    /// `text` with every secret replaced by `[redacted]`.
    pub fn redact(&self, text: &str) -> String {
        self.secrets
            .iter()
            .filter(|secret| !secret.is_empty())
            .fold(text.to_owned(), |text, secret| {
                text.replace(secret.as_str(), crate::profiles::REDACTED)
            })
    }
}

impl fmt::Debug for JavaClientProperties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: BTreeMap<&String, String> = self
            .properties
            .iter()
            .map(|(name, value)| (name, self.redact(value)))
            .collect();
        f.debug_map().entries(shown).finish()
    }
}

/// `text` inside a JAAS option's double quotes.
fn jaas_quoted(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn librdkafka(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn scram_over_tls_becomes_a_jaas_login_and_a_pem_truststore() {
        let java = JavaClientProperties::from_librdkafka(&librdkafka(&[
            ("security.protocol", "sasl_ssl"),
            ("sasl.mechanisms", "SCRAM-SHA-512"),
            ("sasl.username", "streamproof"),
            ("sasl.password", "pa'ss\"word"),
            ("ssl.ca.location", "/etc/kafka/ca.pem"),
            ("client.id", "ignored"),
        ]))
        .unwrap();
        let options = java.table_options();
        assert!(options.contains("'properties.security.protocol' = 'SASL_SSL',"));
        assert!(options.contains("'properties.sasl.mechanism' = 'SCRAM-SHA-512',"));
        assert!(options.contains("'properties.ssl.truststore.type' = 'PEM',"));
        assert!(options.contains("'properties.ssl.truststore.location' = '/etc/kafka/ca.pem',"));
        assert!(options.contains(
            "'properties.sasl.jaas.config' = 'org.apache.kafka.common.security.scram.ScramLoginModule required username=\"streamproof\" password=\"pa''ss\\\"word\";',"
        ));
        assert!(!options.contains("client.id"));
        assert!(!format!("{java:?}").contains("pa'ss"));
        assert_eq!(
            java.redact("refused: password=\"pa'ss\"word\""),
            "refused: password=\"[redacted]\""
        );
    }

    #[test]
    fn plaintext_needs_nothing_and_mutual_tls_is_named_as_not_translated() {
        assert_eq!(
            JavaClientProperties::from_librdkafka(&BTreeMap::new())
                .unwrap()
                .table_options(),
            ""
        );
        let error = JavaClientProperties::from_librdkafka(&librdkafka(&[(
            "ssl.certificate.location",
            "/etc/kafka/client.pem",
        )]))
        .unwrap_err();
        assert!(
            error.to_string().contains("`ssl.certificate.location`"),
            "{error}"
        );
    }
}
