//! What a new user reads in the server's log: the addresses to use at start-up, in plain
//! text when the log goes to a file, without the storage engine's chatter; and a line when
//! an export is sent to the wrong port.

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

struct Started {
    child: Child,
    log: std::path::PathBuf,
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `tracehound serve` with its log in a file and no `TRACEHOUND_LOG`, and waits
/// until it answers `/readyz`.
fn start(data: &std::path::Path, log: std::path::PathBuf, api_port: u16) -> Started {
    start_with_ports(data, log, api_port, free_port(), free_port())
}

/// As [`start`], with the OTLP ports chosen by the caller.
fn start_with_ports(
    data: &std::path::Path,
    log: std::path::PathBuf,
    api_port: u16,
    grpc_port: u16,
    http_port: u16,
) -> Started {
    let file = std::fs::File::create(&log).expect("log file");
    let child = Command::new(common::binary())
        .args(["serve", "--retention-days", "0", "--data-dir"])
        .arg(data)
        .args(["--otlp-grpc-addr", &format!("127.0.0.1:{grpc_port}")])
        .args(["--otlp-http-addr", &format!("127.0.0.1:{http_port}")])
        .args(["--api-addr", &format!("127.0.0.1:{api_port}")])
        .env_remove("TRACEHOUND_LOG")
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .expect("start tracehound");
    let started = Started { child, log };
    let url = format!("http://127.0.0.1:{api_port}/readyz");
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::blocking::get(&url).map(|r| r.status().as_u16()).ok() != Some(200) {
        assert!(Instant::now() < deadline, "the server did not become ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    started
}

/// Stops the server with SIGTERM (a clean shutdown), and returns its log.
fn stop(mut started: Started) -> String {
    let pid = started.child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
    let _ = started.child.wait();
    std::fs::read_to_string(&started.log).expect("log")
}

#[test]
fn the_start_up_log_names_the_urls_in_plain_text_without_storage_chatter() {
    let dir = tempfile::tempdir().expect("temp dir");
    let api_port = free_port();
    let first = stop(start(&dir.path().join("data"), dir.path().join("first.log"), api_port));
    // A restart recovers the journal, which the storage engine used to narrate line by line.
    let again = stop(start(&dir.path().join("data"), dir.path().join("again.log"), api_port));
    for log in [&first, &again] {
        assert!(!log.contains('\u{1b}'), "colour codes in a log file:\n{log}");
        assert!(!log.contains("lsm_tree") && !log.contains("fjall::"), "storage chatter:\n{log}");
        assert!(log.contains(&format!("web UI          http://127.0.0.1:{api_port}/")), "{log}");
        assert!(log.contains("/v1/traces"), "{log}");
    }
}

#[test]
fn a_second_server_on_the_same_data_directory_says_it_is_in_use() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let first = start(&data, dir.path().join("first.log"), free_port());
    let second = Command::new(common::binary())
        .args(["serve", "--retention-days", "0", "--data-dir"])
        .arg(&data)
        .args(["--otlp-grpc-addr", &format!("127.0.0.1:{}", free_port())])
        .args(["--otlp-http-addr", &format!("127.0.0.1:{}", free_port())])
        .args(["--api-addr", &format!("127.0.0.1:{}", free_port())])
        .stdout(Stdio::null())
        .output()
        .expect("run a second server");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "a second server started on the same data directory");
    assert!(stderr.contains("is in use by another process"), "{stderr}");
    assert!(stderr.contains("--data-dir"), "{stderr}");
    drop(first);
}

#[test]
fn exports_to_the_wrong_port_are_logged_naming_the_right_one_once_a_minute() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (api_port, grpc_port, http_port) = (free_port(), free_port(), free_port());
    let started =
        start_with_ports(&dir.path().join("data"), dir.path().join("server.log"), api_port, grpc_port, http_port);
    let client = reqwest::blocking::Client::builder().http1_only().build().expect("client");
    for _ in 0..3 {
        let answer = client.post(format!("http://127.0.0.1:{grpc_port}/v1/traces")).body("x").send().expect("answered");
        assert_eq!(answer.status().as_u16(), 404);
    }
    let answer = client.post(format!("http://127.0.0.1:{api_port}/v1/traces")).body("x").send().expect("answered");
    assert_eq!(answer.status().as_u16(), 404);
    let log = stop(started);
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("OTLP/gRPC port")).collect();
    assert_eq!(lines.len(), 1, "one line for three misdirected exports:\n{log}");
    assert!(lines[0].contains("4318"), "{log}");
    assert!(log.lines().any(|l| l.contains("on the API port") && l.contains("4318")), "{log}");
}
