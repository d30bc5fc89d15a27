//! `report`, `compare` and `matrix`: runs turned into pages and verdicts on a change.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use streamproof_reports::compare::{compare as compare_runs, compare_many, Change, Tolerances};
use streamproof_reports::result::RunResult;
use streamproof_reports::{charts, html, markdown};

use super::print_json;
use super::run::Runner;
use crate::cli::{CompareArgs, MatrixArgs, ReportArgs, ToleranceArgs};
use crate::scenario;

/// Renders a run's pages again from its result.json.
pub fn report(args: &ReportArgs) -> Result<()> {
    let result = read_result(&args.dir.join("result.json"))?;
    let written = html::render_run_dir(&args.dir, &result)?;
    println!("{}", written.index_html.display());
    println!("{}", written.summary_md.display());
    if args.png {
        for png in charts::write_pngs(&result, &args.dir.join("charts"))? {
            println!("{}", png.display());
        }
    }
    Ok(())
}

/// Compares a candidate with a baseline; `Ok(false)` on a regression.
pub fn compare(args: &CompareArgs, json: bool) -> Result<bool> {
    let tolerances = tolerances(&args.tolerances)?;
    let baseline = results_in(&args.baseline)?;
    let candidate = results_in(&args.candidate)?;
    let comparison = compare_runs(&baseline, &candidate, &tolerances);
    if json {
        print_json(&comparison)?;
    } else {
        print!("{}", markdown::comparison(&comparison));
    }
    if let Some(out) = &args.out {
        let written = html::render_comparison_dir(out, &comparison)?;
        eprintln!("comparison: {}", written.index_html.display());
    }
    Ok(!comparison.regressed())
}

/// Runs a scenario under each value of one setting and compares them; `Ok(false)` when a
/// run failed its expectations.
pub fn matrix(args: &MatrixArgs, json: bool) -> Result<bool> {
    let tolerances = tolerances(&args.tolerances)?;
    let (key, values) = matrix_values(&args.set)?;
    let base = scenario::load(&args.scenario)?;
    let text = std::fs::read_to_string(&args.scenario)
        .with_context(|| format!("read `{}`", args.scenario.display()))?;
    let document: serde_json::Value = serde_saphyr::from_str(&text)
        .with_context(|| format!("read `{}`", args.scenario.display()))?;
    let out = args.out.clone().unwrap_or_else(|| {
        let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
        PathBuf::from("runs").join(format!("{}-matrix-{stamp}", base.scenario.name))
    });
    let runner = Runner::new(None, false, false)?;
    let mut labelled = Vec::new();
    for value in &values {
        let label = label_of(value);
        let dir = out.join(&label);
        let mut variant = document.clone();
        set_path(&mut variant, &key, scalar(value))?;
        variant["name"] = serde_json::Value::String(format!("{}-{label}", base.scenario.name));
        std::fs::create_dir_all(&dir).with_context(|| format!("create `{}`", dir.display()))?;
        let file = dir.join("scenario.yaml");
        let yaml = serde_saphyr::to_string(&variant).context("write the scenario variant")?;
        std::fs::write(&file, yaml).with_context(|| format!("write `{}`", file.display()))?;
        let loaded = scenario::load(&file)?;
        eprintln!("matrix: {key} = {value}");
        labelled.push((
            format!("{key}={value}"),
            runner.run_repeated(&loaded, &dir, args.repeat)?,
        ));
    }
    let matrix = compare_many(&labelled, &tolerances);
    if json {
        print_json(&matrix)?;
    } else {
        print!("{}", markdown::matrix(&matrix));
    }
    let written = html::render_matrix_dir(&out, &matrix)?;
    eprintln!("matrix report: {}", written.index_html.display());
    if matrix.verdict == Change::Regressed {
        eprintln!(
            "at least one value regressed a figure against `{key}={}`",
            values[0]
        );
    }
    Ok(labelled
        .iter()
        .all(|(_, runs)| runs.iter().all(RunResult::passed)))
}

fn read_result(path: &Path) -> Result<RunResult> {
    RunResult::read(path).with_context(|| format!("read the run result `{}`", path.display()))
}

/// Every run at `path`: a result file, a run directory, or a directory of repetitions
/// (one level of subdirectories, in name order).
fn results_in(path: &Path) -> Result<Vec<RunResult>> {
    if path.is_file() {
        return Ok(vec![read_result(path)?]);
    }
    let direct = path.join("result.json");
    if direct.is_file() {
        return Ok(vec![read_result(&direct)?]);
    }
    let entries = std::fs::read_dir(path).with_context(|| {
        format!(
            "`{}` is neither a result.json nor a run directory",
            path.display()
        )
    })?;
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|entry| entry.path().join("result.json"))
        .filter(|file| file.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        bail!(
            "no result.json in `{}` or its subdirectories; give a run directory written by `streamproof run`",
            path.display()
        );
    }
    files.iter().map(|file| read_result(file)).collect()
}

/// The tolerances: defaults, then the file, then the flags.
fn tolerances(args: &ToleranceArgs) -> Result<Tolerances> {
    let mut tolerances = match &args.tolerances {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("read `{}`", file.display()))?;
            serde_saphyr::from_str(&text).with_context(|| {
                format!(
                    "`{}` is not a tolerance file (e.g. `throughput_drop_percent: 5`)",
                    file.display()
                )
            })?
        }
        None => Tolerances::default(),
    };
    if let Some(drop) = args.throughput_drop {
        tolerances.throughput_drop_percent = drop;
    }
    if let Some(rise) = args.latency_rise {
        tolerances.latency_rise_percent = rise;
    }
    Ok(tolerances)
}

/// `KEY=V1,V2,...` split; at least two values.
fn matrix_values(set: &str) -> Result<(String, Vec<String>)> {
    let (key, values) = set
        .split_once('=')
        .filter(|(key, _)| !key.trim().is_empty())
        .with_context(|| format!("`{set}` is not KEY=V1,V2,..., e.g. --set platform.producer_profile=reliability,throughput"))?;
    let values: Vec<String> = values
        .split(',')
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect();
    if values.len() < 2 {
        bail!(
            "`{set}` names {} value(s); a matrix compares at least two, e.g. `{key}=A,B`",
            values.len()
        );
    }
    Ok((key.trim().to_owned(), values))
}

/// A value as YAML would read it: integers, numbers and booleans keep their type.
fn scalar(value: &str) -> serde_json::Value {
    if let Ok(integer) = value.parse::<i64>() {
        return integer.into();
    }
    if let Ok(number) = value.parse::<f64>() {
        return number.into();
    }
    match value {
        "true" => true.into(),
        "false" => false.into(),
        _ => value.into(),
    }
}

/// A directory and scenario-name friendly form of a value.
fn label_of(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Sets `key` (dot-separated) in `document`, creating sections on the way. Under a map of
/// properties (`*_overrides`, `*_properties`) the rest of the key is one property name, so
/// `platform.producer_overrides.linger.ms` sets the property `linger.ms`.
fn set_path(document: &mut serde_json::Value, key: &str, value: serde_json::Value) -> Result<()> {
    let segments: Vec<&str> = key.split('.').collect();
    let mut node = document;
    let mut index = 0;
    while index < segments.len() {
        let parent_holds_properties = index > 0
            && (segments[index - 1].ends_with("_overrides")
                || segments[index - 1].ends_with("_properties"));
        let (name, last) = if parent_holds_properties {
            (segments[index..].join("."), true)
        } else {
            (segments[index].to_owned(), index + 1 == segments.len())
        };
        let map = match node {
            serde_json::Value::Null => {
                *node = serde_json::Value::Object(Default::default());
                node.as_object_mut()
            }
            other => other.as_object_mut(),
        }
        .with_context(|| format!("`{key}`: `{name}` is inside a value that is not a section"))?;
        if last {
            map.insert(name, value);
            return Ok(());
        }
        node = map.entry(name).or_insert(serde_json::Value::Null);
        index += 1;
    }
    bail!("`{key}` names no setting")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_keys_reach_sections_and_property_names() {
        let mut document = serde_json::json!({"platform": {"brokers": 1}});
        set_path(
            &mut document,
            "platform.producer_profile",
            scalar("throughput"),
        )
        .unwrap();
        set_path(
            &mut document,
            "platform.producer_overrides.linger.ms",
            scalar("20"),
        )
        .unwrap();
        set_path(&mut document, "topics.partitions", scalar("12")).unwrap();
        assert_eq!(
            document,
            serde_json::json!({
                "platform": {
                    "brokers": 1,
                    "producer_profile": "throughput",
                    "producer_overrides": {"linger.ms": 20}
                },
                "topics": {"partitions": 12}
            })
        );
        let mut scalar_section = serde_json::json!({"seed": 3});
        assert!(set_path(&mut scalar_section, "seed.value", scalar("1")).is_err());
    }

    #[test]
    fn matrix_values_need_a_key_and_two_values() {
        let (key, values) = matrix_values("platform.producer_profile=a, b,c").unwrap();
        assert_eq!(key, "platform.producer_profile");
        assert_eq!(values, vec!["a", "b", "c"]);
        assert!(matrix_values("=a,b").is_err());
        assert!(matrix_values("key=a").is_err());
        assert!(matrix_values("no-equals").is_err());
        assert_eq!(label_of("linger.ms/5"), "linger_ms_5");
        assert_eq!(scalar("1.5"), serde_json::json!(1.5));
        assert_eq!(scalar("true"), serde_json::json!(true));
    }
}
