//! `streamproof schema`: the shipped schemas and the offline compatibility check, as a user
//! runs them before registering a new version.

mod common;

use common::{explain, streamproof};

fn show(event_type: &str) -> String {
    let output = streamproof(&["schema", "show", event_type]);
    assert!(output.status.success(), "{}", explain(&output));
    String::from_utf8(output.stdout).expect("UTF-8")
}

#[test]
fn a_compatible_change_passes_and_an_incompatible_one_fails_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let old = show("transaction");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let old_file = write("v1.avsc", &old);
    let optional = old.replacen(
        r#""name": "currency","#,
        r#""name": "merchant", "type": ["null", "string"], "default": null},
          {
            "name": "currency","#,
        1,
    );
    let required = optional.replace(r#"["null", "string"], "default": null"#, r#""string""#);
    let cases = [
        (
            write("optional.avsc", &optional),
            "FULL",
            Some(0),
            "compatible (FULL)",
        ),
        (
            write("required.avsc", &required),
            "BACKWARD",
            Some(1),
            "incompatible (BACKWARD)",
        ),
        (
            write("required2.avsc", &required),
            "FORWARD",
            Some(0),
            "compatible (FORWARD)",
        ),
        (
            write("broken.avsc", "{\"type\": \"record\""),
            "FULL",
            Some(2),
            "",
        ),
    ];
    for (new_file, level, code, said) in cases {
        let output = streamproof(&["schema", "check", &old_file, &new_file, "--level", level]);
        assert_eq!(
            output.status.code(),
            code,
            "{new_file} {level}: {}",
            explain(&output)
        );
        assert!(
            String::from_utf8_lossy(&output.stdout).contains(said),
            "{new_file} {level}: {}",
            explain(&output)
        );
    }
    let output = streamproof(&[
        "schema", "check", &old_file, &old_file, "--level", "SIDEWAYS",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("use BACKWARD, FORWARD, FULL or NONE"));
}
