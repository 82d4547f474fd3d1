//! `/metrics` speaks Prometheus text and counts what ingest did.

mod common;

use common::otlp::{export_bytes, post_protobuf, text};
use common::Server;
use tracehound_proto::trace::v1::Span;

fn metrics_text(server: &Server) -> String {
    let response = reqwest::blocking::get(server.api("/metrics")).unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    response.text().unwrap()
}

fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find(|l| l.starts_with(series)).and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[test]
fn metrics_count_accepted_rejected_and_refused_exports() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let good = Span {
        trace_id: vec![1; 16],
        span_id: vec![1; 8],
        name: "ok".into(),
        start_time_unix_nano: 1_790_000_000_000_000_000,
        end_time_unix_nano: 1_790_000_000_000_000_100,
        attributes: vec![text("request.id", "req_metrics")],
        ..Default::default()
    };
    let bad = Span { span_id: vec![1, 2], ..good.clone() };
    assert_eq!(post_protobuf(&server, export_bytes(vec![good, bad])).status().as_u16(), 200);
    assert_eq!(post_protobuf(&server, vec![0xff; 8]).status().as_u16(), 400);

    let text = metrics_text(&server);
    assert_eq!(value(&text, "tracehound_up"), Some(1.0));
    assert_eq!(value(&text, "tracehound_accepted_total{signal=\"spans\"}"), Some(1.0));
    assert_eq!(value(&text, "tracehound_rejected_total{signal=\"spans\",reason=\"invalid\"}"), Some(1.0));
    assert_eq!(value(&text, "tracehound_refused_exports_total{signal=\"spans\",reason=\"malformed\"}"), Some(1.0));
    assert_eq!(value(&text, "tracehound_stored_spans"), Some(1.0));
    assert!(value(&text, "tracehound_disk_bytes").is_some_and(|b| b > 0.0));
    assert!(text.contains("tracehound_export_duration_seconds"), "{text}");
    assert!(text.contains("tracehound_index_lag_changes"), "{text}");
}

#[test]
fn metrics_time_each_step_of_a_write_group() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let span = Span {
        trace_id: vec![2; 16],
        span_id: vec![2; 8],
        name: "timed".into(),
        start_time_unix_nano: 1_790_000_000_000_000_000,
        end_time_unix_nano: 1_790_000_000_000_000_100,
        ..Default::default()
    };
    assert_eq!(post_protobuf(&server, export_bytes(vec![span])).status().as_u16(), 200);

    let text = metrics_text(&server);
    for step in ["stage", "apply", "fsync"] {
        let count = value(&text, &format!("tracehound_write_group_seconds_count{{step=\"{step}\"}}"));
        assert!(count.is_some_and(|n| n >= 1.0), "no {step} timing in:\n{text}");
    }
}

#[test]
fn every_metric_has_a_help_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    // One export, so that the receivers' and the writer's series exist.
    assert_eq!(post_protobuf(&server, export_bytes(vec![])).status().as_u16(), 200);
    let text = metrics_text(&server);
    let typed: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("# TYPE ")?.split(' ').next()).collect();
    assert!(typed.len() >= 8, "{text}");
    for name in typed {
        assert!(text.contains(&format!("# HELP {name} ")), "no HELP line for {name} in\n{text}");
    }
}

#[test]
fn durations_are_histograms_with_buckets() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    assert_eq!(post_protobuf(&server, export_bytes(vec![])).status().as_u16(), 200);
    let text = metrics_text(&server);
    assert!(text.contains("# TYPE tracehound_export_duration_seconds histogram"), "{text}");
    assert!(text.contains("tracehound_export_duration_seconds_bucket{signal=\"spans\",le=\"0.01\"}"), "{text}");
}
