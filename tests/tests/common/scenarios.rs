//! The labelled scenarios of `../shared/scenarios`, each replayed into a fresh server over
//! OTLP/HTTP. The labels (`truth.json`) are for judging answers; the server never sees them.

use std::path::PathBuf;

use serde_json::Value;

use super::otlp::post_protobuf;
use super::Server;

/// Where the scenarios are.
pub fn scenarios_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/scenarios")
}

/// A JSON file, parsed.
pub fn read_json(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// An RFC 3339 time as a query parameter.
pub fn encode(text: &str) -> String {
    text.replace(':', "%3A").replace('+', "%2B")
}

/// A server holding one replayed scenario.
pub struct Replayed {
    /// The server.
    pub server: Server,
    _data: tempfile::TempDir,
    /// The scenario's labels.
    pub truth: Value,
}

impl Replayed {
    /// The labelled stretch (baseline start to incident end) as `since`, `until`.
    pub fn day(&self) -> (&str, &str) {
        (
            self.truth["baseline_window"]["start"]["rfc3339"].as_str().unwrap(),
            self.truth["incident_window"]["end"]["rfc3339"].as_str().unwrap(),
        )
    }

    /// The whole calendar day of the scenario, `since` and `until`.
    pub fn calendar_day(&self) -> (String, String) {
        let date = &self.day().0[..10];
        (format!("{date}T00:00:00Z"), format!("{date}T23:59:59Z"))
    }

    /// The change's time, Unix ns; `None` for the control.
    pub fn change_nanos(&self) -> Option<u64> {
        self.truth["change_time"]["unix_nano"].as_u64()
    }
}

/// Replays one scenario into a fresh server.
pub fn replayed(name: &str) -> Replayed {
    let dir = scenarios_root().join(name);
    let truth = read_json(dir.join("truth.json"));
    let manifest = read_json(dir.join("manifest.json"));
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_with(data.path(), &["--retention-days", "0"]);
    for batch in manifest["batches"].as_array().unwrap() {
        let file = batch["file"].as_str().unwrap();
        let body = std::fs::read(dir.join(file)).unwrap();
        let response = post_protobuf(&server, body);
        assert!(response.status().is_success(), "{name}/{file}: {}", response.status());
    }
    Replayed { server, _data: data, truth }
}
