//! What was acknowledged survives a restart, a clean one or a crash.

mod common;

use common::{fixture_dirs, manifest, Server};

fn first_fixture_loaded(server: &Server) -> serde_json::Value {
    let fixture =
        fixture_dirs().into_iter().find(|f| f.to_string_lossy().ends_with("openinference-http-protobuf")).unwrap();
    common::replay::replay(server, &fixture);
    manifest(&fixture)
}

fn assert_all_present(server: &Server, manifest: &serde_json::Value) {
    for (request_id, expected) in manifest["requests"].as_object().unwrap() {
        let (status, answer) = server.get_json(&format!("/api/v1/lookup/{request_id}"));
        assert_eq!(status, 200, "{request_id} lost");
        assert_eq!(answer["request"]["trace_id"], expected["trace_id"]);
    }
    assert_eq!(server.get_json("/api/v1/stats").1["spans"], manifest["span_count"]);
}

#[test]
fn sigterm_exits_zero_and_a_restart_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let manifest = first_fixture_loaded(&server);
    assert_eq!(server.terminate(), Some(0));
    server.restart();
    assert_all_present(&server, &manifest);
}

#[test]
fn sigkill_after_acknowledgement_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let manifest = first_fixture_loaded(&server);
    server.kill();
    server.restart();
    assert_all_present(&server, &manifest);
}
