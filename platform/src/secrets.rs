//! Secret references in client settings: `${env:NAME}` (an environment variable) and
//! `${file:PATH}` (a file's content, trailing newline removed), resolved when a run starts so
//! that the files users commit name where a secret is, never the secret itself.
//!
//! A resolved value is only ever handed to a client; everything shown or stored uses the
//! setting as written, or [`crate::profiles::REDACTED`] for settings whose name says secret.

use std::path::PathBuf;

/// Why a reference could not be resolved. Never carries the secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The environment variable is not set (or not Unicode).
    #[error("`{setting}` refers to the environment variable `{name}`, which is not set; export it before running streamproof")]
    MissingEnv {
        /// The setting.
        setting: String,
        /// The variable.
        name: String,
    },
    /// The file could not be read.
    #[error("`{setting}` refers to the file `{}`, which cannot be read: {source}", path.display())]
    UnreadableFile {
        /// The setting.
        setting: String,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not a reference streamproof knows.
    #[error(
        "`{setting}` has the reference `{reference}`; write `${{env:NAME}}` or `${{file:PATH}}`"
    )]
    Unknown {
        /// The setting.
        setting: String,
        /// The reference as written.
        reference: String,
    },
}

/// Whether `value` is a reference (`${…}`) rather than a literal.
pub fn is_reference(value: &str) -> bool {
    value.starts_with("${") && value.ends_with('}')
}

/// The value of `setting`: a literal as it is, a reference resolved.
pub fn resolve(setting: &str, value: &str) -> Result<String, SecretError> {
    if !is_reference(value) {
        return Ok(value.to_owned());
    }
    let inner = &value[2..value.len() - 1];
    match inner.split_once(':') {
        Some(("env", name)) => std::env::var(name).map_err(|_| SecretError::MissingEnv {
            setting: setting.to_owned(),
            name: name.to_owned(),
        }),
        Some(("file", path)) => std::fs::read_to_string(path)
            .map(|text| text.trim_end_matches(['\n', '\r']).to_owned())
            .map_err(|source| SecretError::UnreadableFile {
                setting: setting.to_owned(),
                path: PathBuf::from(path),
                source,
            }),
        _ => Err(SecretError::Unknown {
            setting: setting.to_owned(),
            reference: value.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_stay_and_references_resolve_from_the_environment_and_files() {
        assert_eq!(resolve("acks", "all").unwrap(), "all");
        std::env::set_var("STREAMPROOF_TEST_SECRET_REF", "s3cret");
        assert_eq!(
            resolve("sasl.password", "${env:STREAMPROOF_TEST_SECRET_REF}").unwrap(),
            "s3cret"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("password");
        std::fs::write(&file, "from-file\n").unwrap();
        let reference = format!("${{file:{}}}", file.display());
        assert_eq!(resolve("sasl.password", &reference).unwrap(), "from-file");
    }

    #[test]
    fn a_reference_that_cannot_resolve_names_the_setting_and_never_a_value() {
        let missing = resolve("sasl.password", "${env:STREAMPROOF_TEST_NOT_SET}")
            .unwrap_err()
            .to_string();
        assert!(missing.contains("sasl.password") && missing.contains("STREAMPROOF_TEST_NOT_SET"));
        let unknown = resolve("sasl.password", "${vault:x}")
            .unwrap_err()
            .to_string();
        assert!(unknown.contains("${env:NAME}"), "{unknown}");
    }
}
