use super::read::KindOptions;
use super::*;

#[test]
fn targets_parse_and_print() {
    for text in [
        "broker:2",
        "leader:raw-events/3",
        "controller",
        "random",
        "all",
        "copier",
        "taskmanager",
        "jobmanager",
        "producers",
    ] {
        assert_eq!(text.parse::<Target>().unwrap().to_string(), text);
    }
    assert_eq!(
        "leader:raw-events/0".parse::<Target>(),
        Ok(Target::Leader {
            topic: "raw-events".into(),
            partition: 0
        })
    );
    for bad in ["broker:x", "leader:raw-events", "leader:/1", "the-big-one"] {
        assert!(bad.parse::<Target>().is_err(), "{bad}");
    }
}

fn spec(json: &str) -> FaultSpec {
    serde_json::from_str(json).unwrap()
}

#[test]
fn every_fault_must_heal_and_name_its_broker() {
    let kill = spec(r#"{"kind": "kill", "target": "broker:1", "at": "10s"}"#);
    assert!(kill.problems(0)[0].message.contains("restart_after"));
    let pause = spec(r#"{"kind": "pause", "target": "random", "at": "10s"}"#);
    assert!(pause.problems(0)[0].message.contains("duration"));
    let untargeted = spec(r#"{"kind": "restart", "at": "1s"}"#);
    assert!(untargeted.problems(0)[0]
        .message
        .contains("name it with `target:`"));
    let rolling = spec(r#"{"kind": "rolling-restart", "target": "broker:1", "at": "1s"}"#);
    assert!(rolling.problems(0)[0]
        .message
        .contains("every broker in turn"));
    let fine = spec(
        r#"{"kind": "kill", "target": "leader:raw-events/0", "at": "10s", "restart_after": "5s"}"#,
    );
    assert!(fine.problems(0).is_empty());
    assert_eq!(fine.last_heal(), Duration::from_secs(15));
    let isolate = spec(r#"{"kind": "isolate", "target": "broker:2", "at": "5s"}"#);
    assert!(isolate.problems(0)[0].message.contains("duration"));
    let isolate_producers =
        spec(r#"{"kind": "isolate", "target": "producers", "at": "5s", "duration": "5s"}"#);
    assert!(isolate_producers.problems(0)[0]
        .message
        .contains("not producers"));
    let pause_producers =
        spec(r#"{"kind": "pause", "target": "producers", "at": "5s", "duration": "5s"}"#);
    assert!(pause_producers.problems(0)[0]
        .message
        .contains("cannot act on the producers"));
    let kill_producers =
        spec(r#"{"kind": "kill", "target": "producers", "at": "5s", "restart_after": "2s"}"#);
    assert!(kill_producers.problems(0).is_empty());
    let kill_jobmanager =
        spec(r#"{"kind": "kill", "target": "jobmanager", "at": "5s", "restart_after": "2s"}"#);
    assert!(kill_jobmanager.problems(0).is_empty());
}

#[test]
fn repetitions_fire_on_schedule_and_must_not_overlap() {
    let repeated = spec(
        r#"{"kind": "pause", "target": "broker:2", "at": "5s", "duration": "2s", "repeat": 3, "every": "10s"}"#,
    );
    assert!(repeated.problems(0).is_empty());
    assert_eq!(
        repeated.firing_times(),
        vec![
            Duration::from_secs(5),
            Duration::from_secs(15),
            Duration::from_secs(25)
        ]
    );
    let overlapping = spec(
        r#"{"kind": "pause", "target": "broker:2", "at": "5s", "duration": "20s", "repeat": 2, "every": "10s"}"#,
    );
    assert!(overlapping.problems(0)[0]
        .message
        .contains("must not overlap"));
    let no_every = spec(
        r#"{"kind": "pause", "target": "broker:2", "at": "5s", "duration": "2s", "repeat": 2}"#,
    );
    assert!(no_every.problems(0)[0].message.contains("every:"));
}

#[test]
fn each_kind_takes_only_its_own_options() {
    let error = serde_json::from_str::<FaultSpec>(
        r#"{"kind": "kill", "target": "broker:1", "at": "5s", "bytes_per_second": 1000}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.starts_with("unknown field `bytes_per_second` for `kind: kill`, expected one of kind, target, at, restart_after, repeat, every"),
        "{error}"
    );
    // An option written above `kind:` is checked once the kind is known.
    let error = serde_json::from_str::<FaultSpec>(
        r#"{"duration": "5s", "kind": "reset", "target": "broker:1", "at": "5s"}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.starts_with("unknown field `duration` for `kind: reset`"),
        "{error}"
    );
    let error = serde_json::from_str::<FaultSpec>(r#"{"kind": "explode", "at": "5s"}"#)
        .unwrap_err()
        .to_string();
    assert!(error.contains("unknown variant `explode`"), "{error}");
    let error = serde_json::from_str::<FaultSpec>(r#"{"at": "5s", "ratez": 1}"#)
        .unwrap_err()
        .to_string();
    assert!(error.contains("unknown field `ratez`"), "{error}");
    let error = serde_json::from_str::<FaultSpec>(r#"{"target": "broker:1", "at": "5s"}"#)
        .unwrap_err()
        .to_string();
    assert!(error.contains("missing field `kind`"), "{error}");
}

#[test]
fn every_option_a_kind_takes_reaches_its_action() {
    for kind in [
        FaultKind::Kill,
        FaultKind::Pause,
        FaultKind::Restart,
        FaultKind::RollingRestart,
        FaultKind::Latency,
        FaultKind::Bandwidth,
        FaultKind::Blackhole,
        FaultKind::Reset,
        FaultKind::Cut,
        FaultKind::Isolate,
    ] {
        let mut fault = serde_json::json!({"kind": kind, "at": "1s"});
        for option in kind.options() {
            fault[*option] = match *option {
                "bytes_per_second" => serde_json::json!(1000),
                "direction" => serde_json::json!("to-client"),
                _ => serde_json::json!("3s"),
            };
        }
        let action = serde_json::from_value::<FaultSpec>(fault).unwrap().action;
        assert_eq!(action.kind(), kind);
        let written: Vec<&str> = KindOptions::from(&action)
            .given()
            .filter(|option| *option != "direction" || action.direction() != Direction::Both)
            .collect();
        assert_eq!(written, kind.options(), "{kind}");
    }
}

#[test]
fn result_json_keeps_the_flat_record_of_each_fault() {
    let latency = spec(
        r#"{"kind": "latency", "target": "broker:2", "at": "10s", "duration": "15s", "latency": "50ms", "jitter": "20ms"}"#,
    );
    assert_eq!(
        serde_json::to_value(&latency).unwrap(),
        serde_json::json!({
            "kind": "latency", "target": "broker:2", "at": "10s", "duration": "15s",
            "latency": "50ms", "jitter": "20ms", "direction": "both", "repeat": 1
        })
    );
    let kill = spec(
        r#"{"kind": "kill", "target": "copier", "at": "12s", "restart_after": "3s", "repeat": 2, "every": "12s"}"#,
    );
    assert_eq!(
        serde_json::to_value(&kill).unwrap(),
        serde_json::json!({
            "kind": "kill", "target": "copier", "at": "12s", "restart_after": "3s",
            "direction": "both", "repeat": 2, "every": "12s"
        })
    );
    let rolling = spec(r#"{"kind": "rolling-restart", "at": "1m 30s"}"#);
    assert_eq!(
        serde_json::to_value(&rolling).unwrap(),
        serde_json::json!({"kind": "rolling-restart", "at": "1m 30s", "direction": "both", "repeat": 1})
    );
    let bandwidth = spec(
        r#"{"kind": "bandwidth", "target": "broker:1", "at": "1s", "duration": "2s", "bytes_per_second": 5000, "direction": "to-broker"}"#,
    );
    assert_eq!(
        serde_json::to_value(&bandwidth).unwrap()["direction"],
        "to-broker"
    );
    assert_eq!(
        serde_json::from_value::<FaultSpec>(serde_json::to_value(&bandwidth).unwrap()).unwrap(),
        bandwidth
    );
}
