//! A secured client listener for the local cluster: TLS with a throwaway CA and broker
//! certificate made at start, and SASL/SCRAM users stored (hashed) in the cluster metadata,
//! so that the secured client path can be tried and tested without a managed cluster.
//!
//! Replication and the controllers stay on plaintext listeners of their own on 127.0.0.1;
//! only clients see the secured one.

use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::PermissionsExt;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};

use super::*;

/// How clients reach the embedded brokers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Security {
    /// No TLS, no authentication.
    #[default]
    Plaintext,
    /// TLS with a local CA and SASL/SCRAM (SHA-256 and SHA-512) users.
    SaslSsl,
}

/// The SCRAM user streamproof's clients log in as.
pub const CLIENT_USER: &str = "streamproof";
/// The SCRAM mechanism the written client settings use.
const CLIENT_MECHANISM: &str = "SCRAM-SHA-512";

/// Where the secured listener's material lives, under the cluster directory.
pub(super) struct SecurityFiles {
    /// The CA certificate clients trust.
    pub ca: PathBuf,
    /// The broker's private key and certificate chain (Kafka's PEM key store).
    pub keystore: PathBuf,
    /// The client user's password, readable by its owner only.
    pub password: PathBuf,
}

impl SecurityFiles {
    pub(super) fn in_dir(dir: &Path) -> Self {
        let security = dir.join("security");
        SecurityFiles {
            ca: security.join("ca.pem"),
            keystore: security.join("broker.pem"),
            password: security.join("client.password"),
        }
    }

    /// Makes a CA, a certificate for 127.0.0.1 and localhost signed by it, and a password.
    pub(super) fn create(dir: &Path) -> Result<Self, RuntimeError> {
        let files = SecurityFiles::in_dir(dir);
        if let Some(parent) = files.ca.parent() {
            std::fs::create_dir_all(parent).map_err(io_error("create", parent))?;
        }
        let (ca_pem, keystore_pem) = certificates().map_err(|error| {
            RuntimeError::InvalidSpec(format!("cannot make the local TLS certificates: {error}"))
        })?;
        write_private(&files.ca, &ca_pem, 0o644)?;
        write_private(&files.keystore, &keystore_pem, 0o600)?;
        write_private(&files.password, &new_password(), 0o600)?;
        Ok(files)
    }

    pub(super) fn read_password(&self) -> Result<String, RuntimeError> {
        std::fs::read_to_string(&self.password)
            .map(|text| text.trim().to_owned())
            .map_err(io_error("read", &self.password))
    }

    /// The librdkafka settings that reach the secured listener, the password as a reference
    /// to its file.
    pub(super) fn client_properties(&self) -> BTreeMap<String, String> {
        [
            ("security.protocol", "SASL_SSL".to_owned()),
            ("sasl.mechanisms", CLIENT_MECHANISM.to_owned()),
            ("sasl.username", CLIENT_USER.to_owned()),
            (
                "sasl.password",
                format!("${{file:{}}}", self.password.display()),
            ),
            ("ssl.ca.location", self.ca.display().to_string()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
    }

    /// What a broker needs for the secured listener named `SASL_SSL`.
    pub(super) fn broker_properties(&self) -> Vec<(String, String)> {
        let scram_login = "org.apache.kafka.common.security.scram.ScramLoginModule required;";
        [
            (
                "sasl.enabled.mechanisms",
                "SCRAM-SHA-256,SCRAM-SHA-512".to_owned(),
            ),
            (
                "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config",
                scram_login.to_owned(),
            ),
            (
                "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config",
                scram_login.to_owned(),
            ),
            ("ssl.keystore.type", "PEM".to_owned()),
            ("ssl.keystore.location", self.keystore.display().to_string()),
            ("ssl.client.auth", "none".to_owned()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
    }
}

/// The storage-format arguments that create the client user in the cluster metadata.
pub(super) fn scram_user_args(password: &str) -> Vec<String> {
    ["SCRAM-SHA-256", "SCRAM-SHA-512"]
        .iter()
        .flat_map(|mechanism| {
            [
                "--add-scram".to_owned(),
                format!("{mechanism}=[name={CLIENT_USER},password={password}]"),
            ]
        })
        .collect()
}

/// The CA certificate (PEM) and the broker's key with its certificate (PEM, PKCS#8 key
/// first, as Kafka's PEM key store reads it).
fn certificates() -> Result<(String, String), rcgen::Error> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "streamproof local CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let mut broker_params = CertificateParams::new(vec!["localhost".to_owned()])?;
    broker_params
        .subject_alt_names
        .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    broker_params
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    let broker_key = KeyPair::generate()?;
    let broker_cert = broker_params.signed_by(&broker_key, &issuer)?;
    let keystore = format!(
        "{}{}{}",
        broker_key.serialize_pem(),
        broker_cert.pem(),
        ca_cert.pem()
    );
    Ok((ca_cert.pem(), keystore))
}

/// 32 random characters from a UUID's randomness.
fn new_password() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn write_private(path: &Path, text: &str, mode: u32) -> Result<(), RuntimeError> {
    std::fs::write(path, text).map_err(io_error("write", path))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(io_error("set the permissions of", path))
}
