//! A scenario through a platform file against brokers that take TLS and SASL/SCRAM only:
//! the run (producers, a consumer group, the copier process, the checker) passes with the
//! right settings and keeps the password out of everything it
//! writes; a wrong password or an untrusted CA ends it at once with exit 2, naming the
//! listener and the mechanism.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{exclusive, explain, files_containing, read_result, streamproof, UpPlatform};

/// Where the secured cluster listens (apart from the shared test cluster's ports).
const BASE_PORT: &str = "27292";

/// The secured cluster: brokers with TLS and SASL/SCRAM listeners only.
struct SecuredCluster(UpPlatform);

impl SecuredCluster {
    fn start() -> Self {
        SecuredCluster(UpPlatform::start(BASE_PORT, &["--security", "sasl-ssl"]))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn platform_file(&self) -> PathBuf {
        self.0.platform_file()
    }

    fn password(&self) -> String {
        self.0.password()
    }

    /// The platform file `up` wrote, with one line changed.
    fn platform_file_with(&self, from: &str, to: &str, name: &str) -> PathBuf {
        let text = std::fs::read_to_string(self.platform_file()).expect("platform.yaml");
        assert!(
            text.contains(from),
            "platform.yaml has no `{from}`:\n{text}"
        );
        let changed = self.path().join(name);
        std::fs::write(&changed, text.replace(from, to)).expect("write the changed file");
        changed
    }
}

fn tiny() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny.yaml").to_owned()
}

/// A self-signed CA certificate (PEM) that signed nothing of the cluster's.
fn unrelated_ca() -> String {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().expect("a key");
    params.self_signed(&key).expect("a CA certificate").pem()
}

#[test]
fn a_secured_cluster_is_reached_only_with_the_right_password_and_ca() {
    let _one = exclusive();
    let cluster = SecuredCluster::start();
    let password = cluster.password();

    let out = tempfile::tempdir().expect("a run directory");
    let run_dir = out.path().join("run");
    let platform = cluster.platform_file().display().to_string();
    let every_client = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/every-client.yaml"
    );
    let output = streamproof(&[
        "run",
        "--platform",
        &platform,
        every_client,
        "--out",
        &run_dir.display().to_string(),
    ]);
    assert!(output.status.success(), "{}", explain(&output));
    let result = read_result(&run_dir);
    assert_eq!(result["bronze"]["present"], result["counts"]["present"]);
    assert_eq!(result["bronze"]["missing"], 0);
    assert!(
        result["platform"]["consumer_groups"][0]["consumed"]
            .as_u64()
            .is_some_and(|consumed| consumed > 0),
        "the consumer group read over the secured listener"
    );
    let properties = &result["platform"]["connection_properties"];
    assert_eq!(properties["security.protocol"], "SASL_SSL");
    assert!(
        properties["sasl.password"]
            .as_str()
            .is_some_and(|shown| shown.starts_with("${file:")),
        "the password is shown as its reference: {properties}"
    );
    assert_eq!(result["counts"]["lost"], 0);
    assert_eq!(result["counts"]["acked"], result["counts"]["present"]);
    let leaks = files_containing(&run_dir, &password);
    assert!(leaks.is_empty(), "the password is in {leaks:?}");

    // A wrong password, given through an environment variable.
    let wrong = cluster.platform_file_with(
        &format!(
            "${{file:{}}}",
            cluster.path().join("security/client.password").display()
        ),
        "${env:STREAMPROOF_TEST_WRONG_PASSWORD}",
        "wrong-password.yaml",
    );
    let refused = Command::new(env!("CARGO_BIN_EXE_streamproof"))
        .args(["run", "--platform"])
        .arg(&wrong)
        .arg(tiny())
        .arg("--out")
        .arg(out.path().join("refused"))
        .env("STREAMPROOF_TEST_WRONG_PASSWORD", "not-the-password")
        .env_remove("STREAMPROOF_BOOTSTRAP_SERVERS")
        .output()
        .expect("run streamproof");
    assert_eq!(refused.status.code(), Some(2), "{}", explain(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!("127.0.0.1:{BASE_PORT}"))
            && stderr.contains("SASL_SSL, SCRAM-SHA-512")
            && stderr.contains("Authentication failed"),
        "{stderr}"
    );
    assert!(!out.path().join("refused/result.json").exists());

    // A CA that did not sign the brokers' certificate.
    let other_ca = cluster.path().join("other-ca.pem");
    std::fs::write(&other_ca, unrelated_ca()).expect("write another CA");
    let untrusted = cluster.platform_file_with(
        &cluster.path().join("security/ca.pem").display().to_string(),
        &other_ca.display().to_string(),
        "untrusted-ca.yaml",
    );
    let output = streamproof(&[
        "run",
        "--platform",
        &untrusted.display().to_string(),
        &tiny(),
        "--out",
        &out.path().join("untrusted").display().to_string(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", explain(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("SASL_SSL") && stderr.contains("certificate verify failed"),
        "{stderr}"
    );
}

#[test]
fn a_platform_file_with_an_unknown_field_names_its_line_and_column() {
    let (file, stderr) = refused_platform_file(
        "kafka:\n  bootstrap_servers: 127.0.0.1:1\n  propertes:\n    acks: all\n",
    );
    assert!(
        stderr.contains(&format!("{}:3:3", file.display())) && stderr.contains("properties"),
        "{stderr}"
    );
}

#[test]
fn a_fault_command_with_a_placeholder_its_process_lacks_names_its_line_and_column() {
    let (file, stderr) = refused_platform_file(concat!(
        "kafka:\n  bootstrap_servers: 127.0.0.1:1\n",
        "faults:\n  jobmanager:\n    kill: ssh {host} sudo systemctl kill flink\n",
        "    start: kubectl rollout restart deploy/flink-jm-{id}\n",
    ));
    assert!(
        stderr.contains(&format!("{}:6:5", file.display()))
            && stderr.contains("faults.jobmanager.start uses {id}, which a jobmanager does not have (placeholders: {host})"),
        "{stderr}"
    );
}

/// `topics describe` with a platform file of `text`, which must end with exit 2 before any
/// cluster is asked; the file and the error output.
fn refused_platform_file(text: &str) -> (PathBuf, String) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("platform.yaml");
    std::fs::write(&file, text).expect("write the platform file");
    let output = streamproof(&[
        "topics",
        "describe",
        "--platform",
        &file.display().to_string(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", explain(&output));
    // The error names the file by its path; the directory may go now.
    (file, String::from_utf8_lossy(&output.stderr).into_owned())
}
