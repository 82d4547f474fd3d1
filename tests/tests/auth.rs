//! API keys, scopes, tenants, rate limits, the audit trail, UI sign-in and the secure
//! default, against the real binary.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::keys::{add_key, get_json_as, keys_cmd};
use common::otlp::{export, text};
use common::{binary, mentions, Server};
use prost::Message;
use serde_json::Value;
use tracehound_proto::collector::trace::v1::trace_service_client::TraceServiceClient;
use tracehound_proto::collector::trace::v1::ExportTraceServiceRequest;
use tracehound_proto::trace::v1::{Span, Status};

/// A one-span request: id `request_id`, session `session`, a user prompt saying `words`.
fn request(trace: u8, request_id: &str, session: &str, words: &str) -> ExportTraceServiceRequest {
    export(vec![Span {
        trace_id: vec![trace; 16],
        span_id: vec![trace; 8],
        name: "chat gpt-4o".into(),
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_500_000_000,
        attributes: vec![
            text("request.id", request_id),
            text("session.id", session),
            text("gen_ai.operation.name", "chat"),
            text("gen_ai.request.model", "gpt-4o"),
            text("gen_ai.prompt.0.role", "user"),
            text("gen_ai.prompt.0.content", words),
        ],
        status: Some(Status { code: 2, message: "tool failed".into() }),
        ..Default::default()
    }])
}

/// POSTs an export to OTLP/HTTP with an optional key.
fn post(server: &Server, export: &ExportTraceServiceRequest, key: Option<&str>) -> reqwest::blocking::Response {
    let mut request = reqwest::blocking::Client::new()
        .post(server.otlp_http("/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(export.encode_to_vec());
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().expect("OTLP/HTTP reachable")
}

/// Exports over gRPC with an optional key; the status code answered.
fn grpc_export(server: &Server, export: ExportTraceServiceRequest, key: Option<&str>) -> tonic::Code {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let endpoint = server.grpc_endpoint();
    runtime.block_on(async move {
        let mut client = TraceServiceClient::connect(endpoint).await.expect("gRPC reachable");
        let mut request = tonic::Request::new(export);
        if let Some(key) = key {
            request.metadata_mut().insert("authorization", format!("Bearer {key}").parse().unwrap());
        }
        match client.export(request).await {
            Ok(_) => tonic::Code::Ok,
            Err(status) => status.code(),
        }
    })
}

/// A server requiring keys, and the keys file it reads.
struct Protected {
    _dir: tempfile::TempDir,
    keys_file: PathBuf,
    server: Server,
}

/// Creates keys with `make_keys` before the server starts (so it starts requiring them).
fn protected_with<T>(extra: &[&str], make_keys: impl FnOnce(&Path) -> T) -> (Protected, T) {
    let dir = tempfile::tempdir().unwrap();
    let keys_file = dir.path().join("secrets").join("keys.json");
    let keys = make_keys(&keys_file);
    let mut args = vec!["--keys-file", keys_file.to_str().unwrap()];
    args.extend_from_slice(extra);
    let server = Server::start_with(&dir.path().join("data"), &args);
    (Protected { _dir: dir, keys_file, server }, keys)
}

/// Keys of two tenants, A and B.
struct TwoTenants {
    a_ingest: String,
    a_read: String,
    a_admin: String,
    b_ingest: String,
    b_read: String,
    b_admin: String,
}

fn two_tenants(keys_file: &Path) -> TwoTenants {
    TwoTenants {
        a_ingest: add_key(keys_file, "tenant-a", &["ingest"]),
        a_read: add_key(keys_file, "tenant-a", &["read"]),
        a_admin: add_key(keys_file, "tenant-a", &["admin"]),
        b_ingest: add_key(keys_file, "tenant-b", &["ingest"]),
        b_read: add_key(keys_file, "tenant-b", &["read"]),
        b_admin: add_key(keys_file, "tenant-b", &["admin"]),
    }
}

/// Waits until searching `q` with `key` finds something (the index commits every second).
fn wait_searchable(server: &Server, key: &str, q: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, answer) = get_json_as(server, &format!("/api/v1/search?q={q}&since=100000d"), key);
        assert_eq!(status, 200, "{answer}");
        if !answer["results"].as_array().unwrap().is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "{q} never became searchable");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every API read route, with the ids of one stored request.
fn read_routes(request_id: &str, session: &str, trace_hex: &str) -> Vec<String> {
    let window = "since=2023-11-14T00:00:00Z&until=2023-11-16T00:00:00Z";
    vec![
        format!("/api/v1/lookup/{request_id}"),
        format!("/api/v1/traces/{trace_hex}"),
        format!("/api/v1/requests/{request_id}"),
        format!("/api/v1/sessions/{session}"),
        "/api/v1/requests?since=100000d".into(),
        "/api/v1/search?q=zanzibar&since=100000d".into(),
        "/api/v1/stats".into(),
        format!("/api/v1/failing?{window}"),
        format!("/api/v1/versions?{window}"),
        format!("/api/v1/compare?{window}"),
        format!("/api/v1/postmortem?{window}"),
        "/api/v1/holds".into(),
    ]
}

#[test]
fn keys_add_prints_the_key_alone_and_list_shows_neither_key_nor_hash() {
    let dir = tempfile::tempdir().unwrap();
    let keys_file = dir.path().join("keys.json");
    let key = add_key(&keys_file, "acme", &["ingest", "read"]);
    assert!(key.starts_with("th_"), "{key}");
    let stored = std::fs::read_to_string(&keys_file).unwrap();
    assert!(!stored.contains(&key), "the keys file holds the key itself");
    let (ok, listing, _) = keys_cmd(&keys_file, &["list"]);
    assert!(ok);
    assert!(listing.contains("acme") && listing.contains("ingest,read"), "{listing}");
    assert!(!listing.contains(&key) && !listing.contains(&key[3..]), "{listing}");
    let hash = serde_json::from_str::<Value>(&stored).unwrap()["keys"][0]["hash"].as_str().unwrap().to_string();
    assert!(!listing.contains(&hash), "{listing}");
}

#[test]
fn without_a_key_every_api_route_is_refused_with_401() {
    let (p, _) = protected_with(&[], two_tenants);
    let client = reqwest::blocking::Client::new();
    let mut routes: Vec<(reqwest::Method, String)> =
        read_routes("req_x", "sess_x", &"ab".repeat(16)).into_iter().map(|r| (reqwest::Method::GET, r)).collect();
    routes.push((reqwest::Method::GET, "/api/v1/audit".into()));
    routes.push((reqwest::Method::GET, "/metrics".into()));
    routes.push((reqwest::Method::POST, "/api/v1/holds".into()));
    routes.push((reqwest::Method::DELETE, "/api/v1/holds/h_1".into()));
    routes.push((reqwest::Method::POST, "/api/v1/scores".into()));
    for (method, route) in routes {
        let answer = client.request(method.clone(), p.server.api(&route)).send().unwrap();
        assert_eq!(answer.status().as_u16(), 401, "{method} {route}");
        assert_eq!(answer.headers()["www-authenticate"], "Bearer", "{route}");
        let wrong = client.request(method.clone(), p.server.api(&route)).bearer_auth("th_not_a_key").send().unwrap();
        assert_eq!(wrong.status().as_u16(), 401, "{method} {route} with a wrong key");
    }
    assert_eq!(client.get(p.server.api("/readyz")).send().unwrap().status().as_u16(), 200);
}

#[test]
fn without_a_key_both_otlp_transports_refuse_and_store_nothing() {
    let (p, keys) = protected_with(&[], two_tenants);
    let export = request(1, "req_nokey", "sess_nokey", "unauthenticated words");
    assert_eq!(post(&p.server, &export, None).status().as_u16(), 401);
    assert_eq!(post(&p.server, &export, Some("th_wrong")).status().as_u16(), 401);
    assert_eq!(grpc_export(&p.server, export.clone(), None), tonic::Code::Unauthenticated);
    assert_eq!(grpc_export(&p.server, export, Some("th_wrong")), tonic::Code::Unauthenticated);
    let (status, stats) = get_json_as(&p.server, "/api/v1/stats", &keys.a_read);
    assert_eq!(status, 200);
    assert_eq!(stats["spans"], 0, "{stats}");
}

#[test]
fn an_ingest_key_cannot_read_and_a_read_key_cannot_ingest() {
    let (p, keys) = protected_with(&[], two_tenants);
    let export = request(2, "req_scopes", "sess_scopes", "scoped words");
    assert_eq!(post(&p.server, &export, Some(&keys.a_ingest)).status().as_u16(), 200);
    for route in read_routes("req_scopes", "sess_scopes", &"02".repeat(16)) {
        assert_eq!(get_json_as(&p.server, &route, &keys.a_ingest).0, 403, "{route}");
    }
    assert_eq!(post(&p.server, &export, Some(&keys.a_read)).status().as_u16(), 403);
    assert_eq!(grpc_export(&p.server, export, Some(&keys.a_read)), tonic::Code::PermissionDenied);
    assert_eq!(get_json_as(&p.server, "/api/v1/lookup/req_scopes", &keys.a_read).0, 200);
}

#[test]
fn tenant_b_cannot_see_search_or_count_tenant_a_data() {
    let (p, keys) = protected_with(&[], two_tenants);
    let export = request(3, "req_tenant_a", "sess_tenant_a", "confidential zanzibar");
    assert_eq!(post(&p.server, &export, Some(&keys.a_ingest)).status().as_u16(), 200);
    assert_eq!(
        grpc_export(&p.server, request(4, "req_tenant_a_grpc", "sess_tenant_a", "zanzibar"), Some(&keys.a_ingest)),
        tonic::Code::Ok
    );
    wait_searchable(&p.server, &keys.a_read, "zanzibar");
    assert_eq!(get_json_as(&p.server, "/api/v1/lookup/req_tenant_a_grpc", &keys.a_read).0, 200);
    let mut seen_by_a = 0;
    for route in read_routes("req_tenant_a", "sess_tenant_a", &"03".repeat(16)) {
        let (_, as_a) = get_json_as(&p.server, &route, &keys.a_read);
        if mentions(&as_a, "req_tenant_a") {
            seen_by_a += 1;
        }
        let (status, answer) = get_json_as(&p.server, &route, &keys.b_read);
        assert!(status == 200 || status == 404, "{route}: {status} {answer}");
        for secret in ["req_tenant_a", "zanzibar", "sess_tenant_a"] {
            assert!(
                !mentions(&answer, secret) || route.contains(secret) && status == 404,
                "{route} shows {secret}: {answer}"
            );
        }
    }
    assert!(seen_by_a >= 8, "tenant A sees its request on most routes ({seen_by_a}), so B's view is a real test");
    let (_, search) = get_json_as(&p.server, "/api/v1/search?q=zanzibar&since=100000d", &keys.b_read);
    assert!(search["results"].as_array().unwrap().is_empty(), "{search}");
    let (_, stats) = get_json_as(&p.server, "/api/v1/stats", &keys.b_read);
    assert_eq!(stats["spans"], 0, "{stats}");
    assert_eq!(stats["requests"], 0, "{stats}");
    assert!(stats["index"].is_null(), "the index's document count spans every tenant: {stats}");
    assert_eq!(stats["disk_bytes"], 0, "disk use grows with every tenant's data: {stats}");
    let (_, list) = get_json_as(&p.server, "/api/v1/requests?since=100000d", &keys.b_read);
    assert!(list["requests"].as_array().unwrap().is_empty(), "{list}");
    let (_, a_stats) = get_json_as(&p.server, "/api/v1/stats", &keys.a_read);
    assert_eq!(a_stats["requests"], 2, "{a_stats}");
    let b_page = reqwest::blocking::Client::new()
        .get(p.server.api("/r/req_tenant_a"))
        .header("cookie", format!("tracehound_key={}", keys.b_read))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(!b_page.contains("zanzibar"), "the page shell carries no data");
    let _ = (&keys.a_admin, &keys.b_admin, &keys.b_ingest);
}

#[test]
fn the_same_request_id_in_two_tenants_stays_two_requests() {
    let (p, keys) = protected_with(&[], two_tenants);
    assert_eq!(
        post(&p.server, &request(5, "req_shared", "sess_shared", "alpha words"), Some(&keys.a_ingest))
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        post(&p.server, &request(5, "req_shared", "sess_shared", "bravo words"), Some(&keys.b_ingest))
            .status()
            .as_u16(),
        200
    );
    let (status, a) = get_json_as(&p.server, "/api/v1/lookup/req_shared", &keys.a_read);
    assert_eq!(status, 200);
    assert!(mentions(&a, "alpha words") && !mentions(&a, "bravo words"), "{a}");
    let (status, b) = get_json_as(&p.server, "/api/v1/lookup/req_shared", &keys.b_read);
    assert_eq!(status, 200);
    assert!(mentions(&b, "bravo words") && !mentions(&b, "alpha words"), "{b}");
}

#[test]
fn a_key_revoked_while_the_server_runs_is_refused() {
    let (p, keys) = protected_with(&[], two_tenants);
    assert_eq!(get_json_as(&p.server, "/api/v1/stats", &keys.b_read).0, 200);
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&p.keys_file).unwrap()).unwrap();
    let b_read_id = stored["keys"][4]["id"].as_str().unwrap().to_string();
    let (ok, _, stderr) = keys_cmd(&p.keys_file, &["revoke", &b_read_id]);
    assert!(ok, "{stderr}");
    assert_eq!(get_json_as(&p.server, "/api/v1/stats", &keys.b_read).0, 401);
    assert_eq!(get_json_as(&p.server, "/api/v1/stats", &keys.a_read).0, 200);
}

#[test]
fn a_key_added_while_the_server_runs_works_at_once() {
    let (p, _) = protected_with(&[], two_tenants);
    let late = add_key(&p.keys_file, "tenant-c", &["read"]);
    assert_eq!(get_json_as(&p.server, "/api/v1/stats", &late).0, 200);
}

#[test]
fn a_tenant_over_its_rate_is_told_to_retry_on_both_transports() {
    let (p, keys) = protected_with(&["--tenant-max-spans-per-sec", "1"], two_tenants);
    // Admitted into debt: the limit never refuses an export for its size alone.
    let big = export(
        (0..5u8)
            .flat_map(|i| {
                request(20 + i, "req_rate", "sess_rate", "rate").resource_spans[0].scope_spans[0].spans.clone()
            })
            .collect(),
    );
    assert_eq!(post(&p.server, &big, Some(&keys.a_ingest)).status().as_u16(), 200);
    let refused = post(&p.server, &request(30, "req_rate2", "sess_rate", "rate"), Some(&keys.a_ingest));
    assert_eq!(refused.status().as_u16(), 429);
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=5).contains(&retry_after), "{retry_after}");
    assert_eq!(
        grpc_export(&p.server, request(31, "req_rate3", "sess_rate", "rate"), Some(&keys.a_ingest)),
        tonic::Code::Unavailable
    );
    let (_, metrics) = get_json_as(&p.server, "/metrics", &keys.a_admin);
    let metrics = metrics.as_str().unwrap().to_string();
    assert!(metrics.contains(r#"reason="rate_limited""#), "{metrics}");
    // Another tenant's budget is its own.
    assert_eq!(
        post(&p.server, &request(32, "req_rate_b", "sess_rate", "rate"), Some(&keys.b_ingest)).status().as_u16(),
        200
    );
}

#[test]
fn evidence_reads_are_audited_with_the_key_id_for_the_tenant_admin() {
    let (p, keys) = protected_with(&[], two_tenants);
    assert_eq!(
        post(&p.server, &request(6, "req_audited", "sess_audited", "audited words"), Some(&keys.a_ingest))
            .status()
            .as_u16(),
        200
    );
    assert_eq!(get_json_as(&p.server, "/api/v1/lookup/req_audited", &keys.a_read).0, 200);
    assert_eq!(get_json_as(&p.server, "/api/v1/audit", &keys.a_read).0, 403, "reading the trail needs admin");
    let (status, trail) = get_json_as(&p.server, "/api/v1/audit?since=1h", &keys.a_admin);
    assert_eq!(status, 200, "{trail}");
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&p.keys_file).unwrap()).unwrap();
    let a_read_id = stored["keys"][1]["id"].as_str().unwrap();
    let entry = trail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["route"] == "/api/v1/lookup/req_audited")
        .unwrap_or_else(|| panic!("the lookup is in the trail: {trail}"));
    assert_eq!(entry["key_id"], a_read_id);
    assert_eq!(entry["status"], 200);
    assert!(entry["time_unix_nano"].as_u64().unwrap() > 0);
    assert!(!trail.to_string().contains(&keys.a_read), "the trail never holds a key");
    let (_, b_trail) = get_json_as(&p.server, "/api/v1/audit?since=1h", &keys.b_admin);
    assert!(b_trail["entries"].as_array().unwrap().is_empty(), "{b_trail}");
}

#[test]
fn the_ui_asks_for_a_key_and_keeps_it_in_a_strict_http_only_cookie() {
    let (p, keys) = protected_with(&[], two_tenants);
    let client = reqwest::blocking::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for page in ["/", "/r/req_1", "/s/sess_1", "/search?q=x", "/failing", "/versions", "/postmortem"] {
        assert_eq!(client.get(p.server.api(page)).send().unwrap().status().as_u16(), 401, "{page}");
    }
    let form = client.get(p.server.api("/r/req_1")).send().unwrap();
    assert!(form.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
    let html = form.text().unwrap();
    assert!(html.contains("action=\"/ui/signin\"") && html.contains("value=\"/r/req_1\""), "{html}");
    assert!(!html.contains("<script"), "the sign-in page runs no script");

    let wrong = client.post(p.server.api("/ui/signin")).form(&[("key", "th_wrong"), ("next", "/")]).send().unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let ingest_only =
        client.post(p.server.api("/ui/signin")).form(&[("key", keys.a_ingest.as_str()), ("next", "/")]).send().unwrap();
    assert_eq!(ingest_only.status().as_u16(), 403);

    let signed = client
        .post(p.server.api("/ui/signin"))
        .form(&[("key", keys.a_read.as_str()), ("next", "/r/req_1")])
        .send()
        .unwrap();
    assert_eq!(signed.status().as_u16(), 303);
    assert_eq!(signed.headers()["location"], "/r/req_1");
    let cookie = signed.headers()["set-cookie"].to_str().unwrap().to_string();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    let pair = cookie.split(';').next().unwrap().to_string();
    let page = client.get(p.server.api("/r/req_1")).header("cookie", &pair).send().unwrap().text().unwrap();
    assert!(page.contains("data-page=\"request\""), "signed in, the page itself is served");
    assert!(page.contains("action=\"/ui/signout\""), "a signed-in page offers to sign out");
    let api = client.get(p.server.api("/api/v1/stats")).header("cookie", &pair).send().unwrap();
    assert_eq!(api.status().as_u16(), 200, "the API accepts the cookie");

    let out = client.post(p.server.api("/ui/signout")).header("cookie", &pair).send().unwrap();
    assert_eq!(out.status().as_u16(), 303);
    assert!(out.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
}

#[test]
fn the_default_keys_file_lives_in_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let key = add_key(&dir.path().join("keys.json"), "acme", &["read"]);
    let server = Server::start(dir.path());
    assert_eq!(server.get_json("/api/v1/stats").0, 401);
    assert_eq!(get_json_as(&server, "/api/v1/stats", &key).0, 200);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn serve_command(data_dir: &Path, grpc: &str, api_port: u16) -> Command {
    let mut command = Command::new(binary());
    command
        .arg("serve")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--otlp-grpc-addr", grpc])
        .args(["--otlp-http-addr", &format!("127.0.0.1:{}", free_port())])
        .args(["--api-addr", &format!("127.0.0.1:{api_port}")])
        .env("TRACEHOUND_LOG", "warn")
        .stdout(Stdio::null());
    command
}

#[test]
fn a_non_loopback_listener_without_keys_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let output = serve_command(dir.path(), &format!("0.0.0.0:{}", free_port()), free_port())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("without API keys") && stderr.contains("--insecure-no-auth"), "{stderr}");
}

#[test]
fn a_non_loopback_listener_without_keys_starts_with_insecure_no_auth() {
    let dir = tempfile::tempdir().unwrap();
    let api_port = free_port();
    let mut child = serve_command(dir.path(), &format!("0.0.0.0:{}", free_port()), api_port)
        .arg("--insecure-no-auth")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut ready = false;
    while Instant::now() < deadline && !ready {
        assert!(child.try_wait().unwrap().is_none(), "the server exited");
        ready = reqwest::blocking::get(format!("http://127.0.0.1:{api_port}/readyz"))
            .is_ok_and(|r| r.status().is_success());
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(ready, "the server became ready");
}

/// The real OpenTelemetry SDK, its key given the standard way: `OTEL_EXPORTER_OTLP_HEADERS`.
fn sdk_export_with_key(protocol: &str, endpoint: &str, run_id: &str, headers: &str) {
    sdk_export_with_key_trusting(protocol, endpoint, run_id, headers, None)
}

/// [`sdk_export_with_key`] over TLS checked against `ca`, when given.
fn sdk_export_with_key_trusting(protocol: &str, endpoint: &str, run_id: &str, headers: &str, ca: Option<&Path>) {
    let python = std::env::var("TRACEHOUND_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/export_live.py");
    let output = Command::new(python)
        .arg(script)
        .args([protocol, endpoint, run_id])
        .args(ca)
        .env("OTEL_EXPORTER_OTLP_HEADERS", headers)
        .output()
        .expect("run python (make test installs the OpenTelemetry SDK and sets TRACEHOUND_PYTHON)");
    assert!(output.status.success(), "exporter failed: {}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn the_sdk_exports_with_its_key_from_otel_exporter_otlp_headers() {
    let (p, keys) = protected_with(&[], two_tenants);
    let grpc = p.server.grpc_endpoint();
    let http = format!("http://{}", p.server.http_addr);
    sdk_export_with_key("grpc", &grpc, "authgrpc", &format!("authorization=Bearer {}", keys.a_ingest));
    sdk_export_with_key("http", &http, "authhttp", &format!("authorization=Bearer%20{}", keys.a_ingest));
    for id in ["req_live_authgrpc_0", "req_live_authhttp_0"] {
        assert_eq!(get_json_as(&p.server, &format!("/api/v1/lookup/{id}"), &keys.a_read).0, 200, "{id}");
        assert_eq!(get_json_as(&p.server, &format!("/api/v1/lookup/{id}"), &keys.b_read).0, 404, "{id}");
    }
}

#[test]
fn a_browser_signs_in_with_a_read_key_sees_the_evidence_and_signs_out() {
    let (p, keys) = protected_with(&[], two_tenants);
    let question = "Where is parcel QUOKKA-77?";
    assert_eq!(
        post(&p.server, &request(40, "req_browser", "sess_browser", question), Some(&keys.a_ingest)).status().as_u16(),
        200
    );
    let python = std::env::var("TRACEHOUND_PYTHON").unwrap_or_else(|_| "python3".into());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(python)
        .arg(dir.join("python/ui_signin.py"))
        .args(["--base", &p.server.api(""), "--artifacts"])
        .arg(dir.join("artifacts"))
        .args(["--key", &keys.a_read, "--request-id", "req_browser", "--question", question])
        .output()
        .expect("run python (make test installs Selenium, chromium and chromium-driver, and sets TRACEHOUND_PYTHON)");
    assert!(
        output.status.success(),
        "ui_signin.py failed:\n{}{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn the_cli_sends_its_key_from_tracehound_api_key() {
    let (p, keys) = protected_with(&[], two_tenants);
    assert_eq!(
        post(&p.server, &request(41, "req_cli", "sess_cli", "cli words"), Some(&keys.a_ingest)).status().as_u16(),
        200
    );
    let get = |key: Option<&str>| {
        let mut command = Command::new(binary());
        command.args(["get", "req_cli", "--api-url", &p.server.api("")]).env_remove("TRACEHOUND_API_KEY");
        if let Some(key) = key {
            command.env("TRACEHOUND_API_KEY", key);
        }
        command.output().unwrap()
    };
    let without = get(None);
    assert!(!without.status.success());
    assert!(String::from_utf8_lossy(&without.stderr).contains("401"), "{}", String::from_utf8_lossy(&without.stderr));
    let with = get(Some(&keys.a_read));
    assert!(with.status.success(), "{}", String::from_utf8_lossy(&with.stderr));
    assert!(String::from_utf8_lossy(&with.stdout).contains("cli words"));
}

#[test]
fn keys_never_reach_the_log_even_at_trace_level() {
    let dir = tempfile::tempdir().unwrap();
    let keys_file = dir.path().join("keys.json");
    let keys = two_tenants(&keys_file);
    let log_path = dir.path().join("server.log");
    let api_port = free_port();
    let grpc = format!("127.0.0.1:{}", free_port());
    let http_port = free_port();
    let mut child = Command::new(binary())
        .arg("serve")
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--otlp-grpc-addr", &grpc])
        .args(["--otlp-http-addr", &format!("127.0.0.1:{http_port}")])
        .args(["--api-addr", &format!("127.0.0.1:{api_port}")])
        .env("TRACEHOUND_LOG", "trace")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let api = |path: &str| format!("http://127.0.0.1:{api_port}{path}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !reqwest::blocking::get(api("/readyz")).is_ok_and(|r| r.status().is_success()) {
        assert!(Instant::now() < deadline && child.try_wait().unwrap().is_none(), "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let client = reqwest::blocking::Client::new();
    let body = request(50, "req_log", "sess_log", "log words").encode_to_vec();
    for key in [&keys.a_ingest, &keys.a_read] {
        let _ = client
            .post(format!("http://127.0.0.1:{http_port}/v1/traces"))
            .header("content-type", "application/x-protobuf")
            .bearer_auth(key)
            .body(body.clone())
            .send();
        let _ = client.get(api("/api/v1/lookup/req_log")).bearer_auth(key).send();
        let _ = client.post(api("/ui/signin")).form(&[("key", key.as_str()), ("next", "/")]).send();
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mut grpc_client = TraceServiceClient::connect(format!("http://{grpc}")).await.unwrap();
        let mut call = tonic::Request::new(request(51, "req_log2", "sess_log", "log words"));
        call.metadata_mut().insert("authorization", format!("Bearer {}", keys.a_ingest).parse().unwrap());
        grpc_client.export(call).await.unwrap();
    });
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.len() > 1_000, "trace logging produced output");
    for key in [&keys.a_ingest, &keys.a_read] {
        assert!(!log.contains(&key[3..]), "a key is in the log");
    }
}

#[test]
fn over_tls_the_sdk_sends_its_key_and_the_sign_in_cookie_is_secure() {
    let dir = tempfile::tempdir().unwrap();
    let tls = common::tls::TestTls::generate(&dir.path().join("tls"));
    let keys_file = dir.path().join("keys.json");
    let keys = two_tenants(&keys_file);
    let server = Server::start_tls(&dir.path().join("data"), &tls, &["--keys-file", keys_file.to_str().unwrap()]);
    let header = format!("authorization=Bearer {}", keys.a_ingest);
    sdk_export_with_key_trusting("grpc", &server.grpc_endpoint(), "tlsauthgrpc", &header, Some(&tls.ca_path));
    sdk_export_with_key_trusting(
        "http",
        &format!("https://{}", server.http_addr),
        "tlsauthhttp",
        &header,
        Some(&tls.ca_path),
    );
    let client = tls.client();
    for id in ["req_live_tlsauthgrpc_0", "req_live_tlsauthhttp_0"] {
        let url = server.api(&format!("/api/v1/lookup/{id}"));
        assert_eq!(client.get(&url).bearer_auth(&keys.a_read).send().unwrap().status().as_u16(), 200, "{id}");
        assert_eq!(client.get(&url).send().unwrap().status().as_u16(), 401, "{id} without a key");
    }
    let no_redirects = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&tls.ca_pem).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let signed = no_redirects
        .post(server.api("/ui/signin"))
        .form(&[("key", keys.a_read.as_str()), ("next", "/")])
        .send()
        .unwrap();
    assert_eq!(signed.status().as_u16(), 303);
    assert!(signed.headers()["set-cookie"].to_str().unwrap().contains("; Secure"));
}
