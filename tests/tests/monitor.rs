//! Monitoring end to end: each labelled scenario of `../shared/scenarios` replayed into a
//! fresh server, then the default alert rules replayed over its whole calendar day with
//! `GET /api/v1/alerts/backtest`, and its quality series read with `GET /api/v1/series`.
//! For every incident a rule fires within 15 minutes after the change and none before it;
//! on the control day nothing fires. The labels are read only here, to judge the answers.

mod common;

use common::scenarios::{encode, replayed, Replayed};
use common::Server;
use serde_json::Value;

const MINUTE: u64 = 60_000_000_000;

fn backtest_of_the_day(r: &Replayed) -> Value {
    let (since, until) = r.calendar_day();
    let (status, answer) =
        r.server.get_json(&format!("/api/v1/alerts/backtest?since={}&until={}", encode(&since), encode(&until)));
    assert_eq!(status, 200, "{answer}");
    answer
}

fn nanos(rfc3339: &str) -> u64 {
    let t = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339).unwrap();
    u64::try_from(t.unix_timestamp_nanos()).unwrap()
}

fn assert_fires_within_15_minutes_of_the_change(name: &str) {
    let r = replayed(name);
    let answer = backtest_of_the_day(&r);
    let change = r.change_nanos().expect("an incident has a change");
    let firings = answer["firings"].as_array().unwrap();
    let context = serde_json::to_string_pretty(&answer["firings"]).unwrap();
    let fired: Vec<u64> = firings.iter().map(|f| nanos(f["fired_at"].as_str().unwrap())).collect();
    assert!(fired.iter().all(|at| *at > change), "{name}: a rule fired before the change: {context}");
    let first = fired.iter().min().unwrap_or_else(|| panic!("{name}: nothing fired"));
    assert!(
        *first <= change + 15 * MINUTE,
        "{name}: the first firing is {} min after the change: {context}",
        (first - change) / MINUTE
    );
    for firing in firings {
        assert!(firing["p_value"].as_f64().unwrap() <= firing["level"].as_f64().unwrap(), "{firing}");
        assert!(firing["value"].as_f64().unwrap() >= firing["threshold"].as_f64().unwrap(), "{firing}");
    }
}

#[test]
fn the_default_rules_fire_for_the_index_change() {
    assert_fires_within_15_minutes_of_the_change("infra-retrieval");
}

#[test]
fn the_default_rules_fire_for_the_tool_schema_change() {
    assert_fires_within_15_minutes_of_the_change("infra-toolschema");
}

#[test]
fn the_default_rules_fire_for_the_input_drift() {
    assert_fires_within_15_minutes_of_the_change("data-drift");
}

#[test]
fn the_default_rules_fire_for_the_prompt_regression() {
    assert_fires_within_15_minutes_of_the_change("prompt-regression");
}

#[test]
fn the_default_rules_fire_for_the_model_regression() {
    assert_fires_within_15_minutes_of_the_change("model-regression");
}

#[test]
fn the_default_rules_never_fire_on_the_control_day() {
    let r = replayed("control");
    let answer = backtest_of_the_day(&r);
    assert_eq!(answer["firings"], serde_json::json!([]), "{answer}");
    assert_eq!(answer["rules_source"], "built-in");
    assert!(answer["rules"].as_array().unwrap().len() >= 3, "{answer}");
}

#[test]
fn the_suspect_share_series_steps_up_at_the_prompt_change_on_the_new_version_only() {
    let r = replayed("prompt-regression");
    let (since, until) = r.day();
    let path = format!(
        "/api/v1/series?metric=suspect_share&by=prompt_version&step=30m&since={}&until={}",
        encode(since),
        encode(until)
    );
    let (status, answer) = r.server.get_json(&path);
    assert_eq!(status, 200, "{answer}");
    let series = answer["series"].as_array().unwrap();
    let of = |version: &str| -> Vec<Option<f64>> {
        let s = series
            .iter()
            .find(|s| s["labels"]["prompt_version"] == version)
            .unwrap_or_else(|| panic!("a series for {version}: {answer}"));
        s["points"].as_array().unwrap().iter().map(|p| p["value"].as_f64()).collect()
    };
    let (v7, v8) = (of("v7"), of("v8"));
    assert_eq!(v8[..4], [None, None, None, None], "v8 is not live before the change: {v8:?}");
    let v7_before = v7[..4].iter().flatten().sum::<f64>() / 4.0;
    let v8_after = v8[4..].iter().flatten().sum::<f64>() / 2.0;
    assert!(v8_after > 3.0 * v7_before, "v8 {v8_after} against v7 {v7_before} before the change");
}

#[test]
fn a_series_counts_every_request_once_without_a_split() {
    let r = replayed("control");
    let (since, until) = r.day();
    let path = format!("/api/v1/series?metric=requests&step=1h&since={}&until={}", encode(since), encode(until));
    let (status, answer) = r.server.get_json(&path);
    assert_eq!(status, 200, "{answer}");
    let total: f64 =
        answer["series"][0]["points"].as_array().unwrap().iter().map(|p| p["value"].as_f64().unwrap()).sum();
    assert_eq!(total as u64, r.truth["counts"]["traces"].as_u64().unwrap(), "{answer}");
    assert_eq!(answer["series"].as_array().unwrap().len(), 1);
}

#[test]
fn the_series_is_read_from_minutes_rolled_up_as_data_arrives_and_counts_the_same() {
    let r = replayed("control");
    let (since, until) = r.day();
    let path = format!("/api/v1/series?metric=failing_share&step=10m&since={}&until={}", encode(since), encode(until));
    let points = |answer: &Value| answer["series"][0]["points"].clone();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let (_, first) = r.server.get_json(&path);
    let rolled = loop {
        let (status, answer) = r.server.get_json(&path);
        assert_eq!(status, 200, "{answer}");
        if answer["computed_minutes"] == 0 && answer["rolled_up_minutes"].as_u64() > Some(0) {
            break answer;
        }
        assert!(std::time::Instant::now() < deadline, "the day was not rolled up: {answer}");
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    assert_eq!(points(&first), points(&rolled), "computed when asked or rolled up, the same numbers");
}

#[test]
fn an_unknown_metric_or_split_is_refused_with_the_known_ones() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let (status, body) = server.get_json("/api/v1/series?metric=latency_p42");
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("latency_p99"), "{body}");
    let (status, body) = server.get_json("/api/v1/series?by=colour");
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("prompt_version"), "{body}");
}

#[test]
fn a_rules_file_replaces_the_defaults_and_a_bad_one_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, "[[rules]]\nname = \"refusals\"\nmetric = \"refusal_share\"\nby = \"service\"\n").unwrap();
    let server = Server::start_with(&dir.path().join("data"), &["--alert-rules", rules.to_str().unwrap()]);
    let (status, answer) = server.get_json("/api/v1/alerts/backtest?since=1h");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["rules"][0]["name"], "refusals", "{answer}");
    assert_eq!(answer["rules"][0]["by"], "service", "{answer}");
    assert_eq!(answer["rules"].as_array().unwrap().len(), 1);

    std::fs::write(&rules, "[[rules]]\nname = \"refusals\"\nmetric = \"refusal_share\"\nratoi = 2\n").unwrap();
    let output = std::process::Command::new(common::binary())
        .args(["serve", "--data-dir"])
        .arg(dir.path().join("data2"))
        .args(["--alert-rules", rules.to_str().unwrap()])
        .args(["--api-addr", "127.0.0.1:0", "--otlp-http-addr", "127.0.0.1:0", "--otlp-grpc-addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ratoi") && stderr.contains("--alert-rules"), "{stderr}");
}

fn cli(r: &Replayed, args: &[&str]) -> String {
    let output = std::process::Command::new(common::binary())
        .args(args)
        .args(["--api-url", &r.server.api("")])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_cli_prints_each_firing_with_its_numbers() {
    let r = replayed("prompt-regression");
    let (since, until) = r.calendar_day();
    let text = cli(&r, &["alerts", "backtest", "--since", &since, "--until", &until]);
    assert!(text.contains("FIRED 2026-10-04T02:"), "{text}");
    assert!(text.contains("quality_shift") && text.contains("baseline") && text.contains("p = "), "{text}");
}

#[test]
fn the_cli_draws_one_sparkline_per_series() {
    let r = replayed("prompt-regression");
    let (since, until) = r.day();
    let text = cli(&r, &["series", "--by", "prompt_version", "--since", since, "--until", until, "--step", "10m"]);
    assert!(text.contains("prompt_version=v7") && text.contains("prompt_version=v8"), "{text}");
    assert!(text.contains('█'), "{text}");
}
