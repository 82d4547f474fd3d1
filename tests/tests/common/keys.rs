//! API keys for tests: created and revoked with the real binary's `keys` subcommand, and
//! requests that carry them.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::{binary, Server};

/// Runs `tracehound keys add` and returns what it printed on standard output: the key.
pub fn add_key(keys_file: &Path, tenant: &str, scopes: &[&str]) -> String {
    let mut command = Command::new(binary());
    command.args(["keys", "add", "--tenant", tenant]).arg("--keys-file").arg(keys_file);
    for scope in scopes {
        command.args(["--scope", scope]);
    }
    let output = command.output().expect("run tracehound keys add");
    assert!(output.status.success(), "keys add failed: {}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).expect("utf-8 key");
    assert_eq!(stdout.lines().count(), 1, "keys add prints the key alone: {stdout:?}");
    stdout.trim().to_string()
}

/// Runs a `tracehound keys …` subcommand; returns (success, stdout, stderr).
pub fn keys_cmd(keys_file: &Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(binary())
        .arg("keys")
        .args(args)
        .arg("--keys-file")
        .arg(keys_file)
        .output()
        .expect("run tracehound keys");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// GET an API path with `authorization: Bearer <key>`; the status and the parsed JSON.
pub fn get_json_as(server: &Server, path: &str, key: &str) -> (u16, Value) {
    let resp = reqwest::blocking::Client::new().get(server.api(path)).bearer_auth(key).send().expect("API reachable");
    let status = resp.status().as_u16();
    let body = resp.text().expect("body");
    (status, serde_json::from_str(&body).unwrap_or(Value::String(body)))
}
