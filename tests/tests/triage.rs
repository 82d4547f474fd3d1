//! Triage end to end: each labelled scenario of `../shared/scenarios` replayed into a fresh
//! server over OTLP/HTTP, then `GET /api/v1/triage` over its day. The verdict must name the
//! layer, dimension and value that changed, place the onset within 10 minutes of the change,
//! rule out every red herring, and name nothing for the control. The labels (`truth.json`)
//! are read only here, to judge the answer; the server never sees them.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::scenarios::{encode, replayed};
use common::Server;
use serde_json::Value;

/// Replays one scenario and asks for the triage of its whole day.
fn triage_of(name: &str) -> (Value, Value) {
    let r = replayed(name);
    let (since, until) = r.day();
    let (status, verdict) =
        r.server.get_json(&format!("/api/v1/triage?since={}&until={}", encode(since), encode(until)));
    assert_eq!(status, 200, "{name}: {verdict}");
    // For reading the verdicts whole (the README's example comes from here).
    if let Some(out) = std::env::var_os("TRIAGE_DUMP_DIR") {
        std::fs::write(
            PathBuf::from(out).join(format!("{name}.json")),
            serde_json::to_string_pretty(&verdict).unwrap(),
        )
        .unwrap();
    }
    (verdict, r.truth)
}

fn rfc3339_nanos(text: &str) -> i128 {
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap();
    t.unix_timestamp_nanos()
}

/// The values a change introduced: its `to`, less what `from` already had.
fn new_values(change: &Value) -> Vec<String> {
    let as_list = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect(),
            Value::Object(map) => map.keys().cloned().collect(),
            Value::Number(_) => Vec::new(),
            _ => Vec::new(),
        }
    };
    let from = as_list(&change["from"]);
    as_list(&change["to"]).into_iter().filter(|v| !from.contains(v)).collect()
}

fn assert_incident(name: &str) {
    let (verdict, truth) = triage_of(name);
    let change = &truth["change"];
    let context = serde_json::to_string_pretty(&verdict).unwrap();
    assert_eq!(verdict["incident"], true, "{name}: {context}");
    assert_eq!(verdict["layer"], change["layer"], "{name}: {context}");
    assert_eq!(verdict["dimension"], change["dimension"], "{name}: {context}");
    let value = verdict["value"].as_str().unwrap_or_default();
    let expected = new_values(change);
    assert!(
        expected.iter().any(|v| value.contains(v.as_str())),
        "{name}: value {value:?}, expected one of {expected:?}: {context}"
    );
    let onset = rfc3339_nanos(verdict["onset"].as_str().expect("an onset"));
    let changed = i128::from(truth["change_time"]["unix_nano"].as_u64().unwrap());
    let off = Duration::from_nanos((onset - changed).unsigned_abs() as u64);
    assert!(off <= Duration::from_secs(600), "{name}: onset {} is {off:?} from the change", verdict["onset"]);
    let ruled_out = verdict["ruled_out"].as_array().unwrap();
    for herring in truth["red_herrings"].as_array().unwrap() {
        let dimension = herring["dimension"].as_str().unwrap();
        let wanted: Vec<String> = match dimension {
            "tool_latency" => vec![herring["tool"].as_str().unwrap().to_string()],
            _ => new_values(herring),
        };
        for value in wanted {
            assert!(
                ruled_out
                    .iter()
                    .any(|r| r["dimension"] == dimension && r["value"].as_str().unwrap_or("").contains(&value)),
                "{name}: red herring {dimension}={value} is not ruled out: {context}"
            );
        }
    }
}

#[test]
fn infra_retrieval_names_the_new_index() {
    assert_incident("infra-retrieval");
}

#[test]
fn infra_toolschema_names_the_tool_schema_version() {
    assert_incident("infra-toolschema");
}

#[test]
fn data_drift_names_the_question_language() {
    assert_incident("data-drift");
}

#[test]
fn prompt_regression_names_the_prompt_version() {
    assert_incident("prompt-regression");
}

#[test]
fn model_regression_names_the_served_model() {
    assert_incident("model-regression");
}

#[test]
fn the_control_day_names_no_layer() {
    let (verdict, _) = triage_of("control");
    let context = serde_json::to_string_pretty(&verdict).unwrap();
    assert_eq!(verdict["incident"], false, "{context}");
    assert!(verdict["layer"].is_null(), "{context}");
    assert!(verdict["dimension"].is_null(), "{context}");
}

#[test]
fn the_cli_prints_the_verdict_with_what_was_ruled_out() {
    let r = replayed("infra-toolschema");
    let (since, until) = r.day();
    let output = std::process::Command::new(common::binary())
        .args(["triage", "--since", since, "--until", until, "--api-url", &r.server.api("")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        text.contains("Cause: infra · tool_schema_version = lookup_invoice@4.0.0 (was lookup_invoice@3.2.0)"),
        "{text}"
    );
    assert!(text.contains("Ruled out:") && text.contains("query_metrics@2.1.1: fails_no_more_than_peers"), "{text}");
    assert!(text.contains("1. detect: quality shifted"), "{text}");
}

#[test]
fn a_window_too_short_to_split_says_not_enough_data() {
    let r = replayed("control");
    let (status, verdict) = r.server.get_json(&format!(
        "/api/v1/triage?since={}&until={}",
        encode("2026-10-06T00:00:00Z"),
        encode("2026-10-06T00:05:00Z")
    ));
    assert_eq!(status, 200, "{verdict}");
    assert_eq!(verdict["incident"], false, "{verdict}");
    assert!(verdict["shift"].is_null(), "{verdict}");
    assert!(verdict["steps"][0]["finding"].as_str().unwrap().starts_with("not enough data"), "{verdict}");
}

#[test]
fn a_window_that_ends_before_it_starts_is_refused_by_name() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let (status, body) = server.get_json("/api/v1/triage?since=1h&until=2h");
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("since"), "{body}");
    let (status, body) = server.get_json("/api/v1/triage?since=1h&baseline_since=30m");
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("baseline_since"), "{body}");
}

#[test]
fn the_postmortem_classifies_by_the_verdict_and_lists_only_real_changes() {
    let r = replayed("infra-retrieval");
    let since = r.truth["incident_window"]["start"]["rfc3339"].as_str().unwrap();
    let until = r.truth["incident_window"]["end"]["rfc3339"].as_str().unwrap();
    let (status, bundle) =
        r.server.get_json(&format!("/api/v1/postmortem?since={}&until={}", encode(since), encode(until)));
    assert_eq!(status, 200, "{bundle}");
    let hints = bundle["hints"].as_array().unwrap();
    let layers: Vec<&str> = hints.iter().map(|h| h["layer"].as_str().unwrap()).collect();
    assert_eq!(layers, ["infra", "data", "prompt", "model"], "{hints:?}");
    let suspects: Vec<&str> =
        hints.iter().filter(|h| h["verdict"] == "suspect").map(|h| h["layer"].as_str().unwrap()).collect();
    assert_eq!(suspects, ["infra"], "{hints:?}");
    assert_eq!(bundle["triage"]["value"], "idx-2026-10-01");
    let changes: Vec<String> = bundle["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{}={}", c["dimension"].as_str().unwrap(), c["value"].as_str().unwrap()))
        .collect();
    assert!(changes.contains(&"index_version=idx-2026-10-01".to_string()), "{changes:?}");
    assert!(changes.contains(&"service_version=3.3.0".to_string()), "{changes:?}");
    // Values live since the store began are no changes: a handful remain, not dozens.
    assert!(changes.len() <= 8, "{changes:?}");
}
