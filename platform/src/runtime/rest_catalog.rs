//! An Iceberg REST catalog beside the embedded Flink (`up --pipeline flink --catalog rest`):
//! Apache Iceberg's own REST catalog server (the fixture Iceberg's REST image runs), backed by
//! a SQLite JDBC catalog in the Flink directory and writing to the same warehouse directory
//! as the Hadoop catalog would. It only listens on its port; nothing else reaches it.

use std::path::{Path, PathBuf};

use super::distribution::maven_copy;
use super::process::{ManagedProcess, ProcessSpec};
use super::{java_command, RuntimeError};

const POM: &str = include_str!("../../runtime/iceberg-rest-pom.xml");
const COMPLETE_MARKER: &str = ".complete";
const SERVER_CLASS: &str = "org.apache.iceberg.rest.RESTCatalogServer";

/// The name of its log and pid files in the Flink directory.
pub(crate) const NAME: &str = "iceberg-rest";

/// The server's jars under `cache_root`, fetched with Maven first when missing.
fn jars(cache_root: &Path) -> Result<PathBuf, RuntimeError> {
    let home = cache_root.join("iceberg-rest-1.10.1");
    let jars = home.join("jars");
    if !jars.join(COMPLETE_MARKER).exists() {
        maven_copy(&home, POM, &jars, "the Iceberg REST catalog server")?;
    }
    Ok(jars)
}

/// Where it answers and what it serves.
pub(crate) struct RestCatalogSpec<'a> {
    /// The Flink directory: its catalog database, log and pid file go there.
    pub dir: &'a Path,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The warehouse directory new tables go to.
    pub warehouse: &'a Path,
    /// Whether it outlives this process.
    pub lifetime: super::Lifetime,
}

/// Starts the server; the caller waits until `GET /v1/config` answers.
pub(crate) fn start(
    spec: &RestCatalogSpec<'_>,
    cache_root: &Path,
) -> Result<ManagedProcess, RuntimeError> {
    let jars = jars(cache_root)?;
    let marker = format!("-Dstreamproof.catalog={NAME}@{}", spec.dir.display());
    let args = vec![
        "-Xms64m".to_owned(),
        "-Xmx256m".to_owned(),
        marker.clone(),
        "-cp".to_owned(),
        format!("{}/*", jars.display()),
        SERVER_CLASS.to_owned(),
    ];
    // The server reads its catalog properties from CATALOG_* variables.
    let env = vec![
        ("CATALOG_REST_PORT".to_owned(), spec.port.to_string()),
        (
            "CATALOG_WAREHOUSE".to_owned(),
            format!("file://{}", spec.warehouse.display()),
        ),
        (
            "CATALOG_URI".to_owned(),
            format!("jdbc:sqlite:file:{}", spec.dir.join("catalog.db").display()),
        ),
    ];
    let log = spec.dir.join("log").join(format!("{NAME}.log"));
    ManagedProcess::launch(ProcessSpec {
        dir: Some(spec.dir.to_owned()),
        env,
        pid_file: Some(pid_file(spec.dir)),
        lifetime: spec.lifetime,
        ..ProcessSpec::new(&java_command(), args, &marker, &log)
    })
}

/// Its pid file in the Flink directory `dir`.
pub(crate) fn pid_file(dir: &Path) -> PathBuf {
    dir.join(format!("{NAME}.pid"))
}
