//! Postmortem evidence over the replayed fixtures: failing examples find exactly the
//! incident requests, `versions` reports the new prompt version as a change, and the
//! Markdown bundle names it and quotes an evidence request's prompt exactly.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use common::{fixtures_root, manifest, replay::replay, Server};
use serde_json::Value;

/// One fixture of each instrumentation that captures content.
const FIXTURES: [&str; 3] = ["otel-genai-http-protobuf", "openinference-grpc", "openllmetry-http-json"];
/// Bounds covering every fixture's timestamps.
const SINCE: &str = "2026-01-01T00:00:00Z";
const UNTIL: &str = "2028-01-01T00:00:00Z";

struct Replayed {
    server: Server,
    _dir: tempfile::TempDir,
    /// request id → manifest entry.
    requests: BTreeMap<String, Value>,
}

fn replayed(name: &str) -> Replayed {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let fixture: PathBuf = fixtures_root().join(name);
    replay(&server, &fixture);
    let requests = manifest(&fixture)["requests"].as_object().unwrap().clone().into_iter().collect();
    Replayed { server, _dir: dir, requests }
}

fn encode(text: &str) -> String {
    text.replace(':', "%3A").replace('+', "%2B")
}

/// Start of the incident run: the earliest request with the new prompt version.
fn incident_start(r: &Replayed) -> String {
    r.requests
        .iter()
        .filter(|(_, m)| m["prompt_version"] == "v8")
        .map(|(id, _)| {
            let (status, view) = r.server.get_json(&format!("/api/v1/requests/{id}"));
            assert_eq!(status, 200, "{id}: {view}");
            view["summary"]["start_time"].as_str().unwrap().to_string()
        })
        .min()
        .expect("an incident run")
}

#[test]
fn failing_returns_exactly_the_incident_requests_and_every_kind_of_failure() {
    for name in FIXTURES {
        let r = replayed(name);
        let (status, answer) =
            r.server.get_json(&format!("/api/v1/failing?since={}&until={}&limit=1000", encode(SINCE), encode(UNTIL)));
        assert_eq!(status, 200, "{name}: {answer}");
        let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for example in answer["examples"].as_array().unwrap() {
            let id = example["request_id"].as_str().unwrap().to_string();
            let kinds = example["reasons"].as_array().unwrap().iter().map(|r| r["kind"].as_str().unwrap().to_string());
            found.insert(id, kinds.collect());
        }
        let expected: BTreeMap<&String, &str> = r
            .requests
            .iter()
            .filter(|(_, m)| m["expected_outcome"] != "ok")
            .map(|(id, m)| (id, m["expected_outcome"].as_str().unwrap()))
            .collect();
        assert_eq!(found.keys().collect::<BTreeSet<_>>(), expected.keys().copied().collect(), "{name}: {answer}");
        for (id, outcome) in expected {
            let reason = match outcome {
                "truncated" => "length",
                "refusal" => "refusal",
                "tool_error" => "error",
                other => panic!("unknown outcome {other}"),
            };
            assert!(found[id].contains(reason), "{name}: {id} ({outcome}) has reasons {:?}", found[id]);
        }
    }
}

#[test]
fn failing_exports_one_request_per_line_as_jsonl() {
    let r = replayed(FIXTURES[0]);
    let url = r.server.api(&format!("/api/v1/failing?since={}&until={}&format=jsonl", encode(SINCE), encode(UNTIL)));
    let body = reqwest::blocking::get(url).unwrap().text().unwrap();
    let lines: Vec<Value> = body.lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l["request_id"].is_string() && l["llm_calls"].is_array()));
}

#[test]
fn versions_report_the_new_prompt_version_as_a_change() {
    for name in FIXTURES {
        let r = replayed(name);
        let since = incident_start(&r);
        let (status, answer) =
            r.server.get_json(&format!("/api/v1/versions?since={}&until={}", encode(&since), encode(UNTIL)));
        assert_eq!(status, 200, "{name}: {answer}");
        let changes: Vec<(String, String)> = answer["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["dimension"].as_str().unwrap().to_string(), c["value"].as_str().unwrap().to_string()))
            .collect();
        assert!(changes.contains(&("prompt_version".into(), "v8".into())), "{name}: {changes:?}");
        assert!(!changes.contains(&("prompt_version".into(), "v7".into())), "{name}: {changes:?}");
    }
}

#[test]
fn the_markdown_bundle_names_the_new_prompt_version_and_quotes_evidence_prompts_exactly() {
    let r = replayed(FIXTURES[0]);
    let since = incident_start(&r);
    let url = r.server.api(&format!("/api/v1/postmortem?since={}&until={}&format=md", encode(&since), encode(UNTIL)));
    let response = reqwest::blocking::get(url).unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let md = response.text().unwrap();
    for section in [
        "## Scope",
        "## Detection",
        "## Versions in production",
        "## Changes in the 48 hours before",
        "## Timeline",
        "## Evidence: failing requests",
        "## Classification hints",
        "### Ruled out",
    ] {
        assert!(md.contains(section), "missing {section:?} in\n{md}");
    }
    assert!(md.contains("prompt_version `v8` first seen"), "{md}");
    let (status, bundle) =
        r.server.get_json(&format!("/api/v1/postmortem?since={}&until={}", encode(&since), encode(UNTIL)));
    assert_eq!(status, 200, "{bundle}");
    let evidence = bundle["evidence"].as_array().unwrap();
    assert!(!evidence.is_empty());
    let first_id = evidence[0]["request_id"].as_str().unwrap();
    let question = r.requests[first_id]["question"].as_str().unwrap();
    assert!(md.contains(&format!("{question}\n")), "the exact question {question:?} is not in\n{md}");
    let prompt = evidence[0]["llm_calls"][0]["input_messages"][0]["parts"][0]["content"].as_str().unwrap();
    assert!(md.contains(prompt), "the exact system prompt is not in the bundle");
    let suspects: Vec<&Value> =
        bundle["hints"].as_array().unwrap().iter().filter(|h| h["verdict"] == "suspect").collect();
    assert!(suspects.iter().any(|h| h["layer"] == "prompt"), "{suspects:?}");
}
