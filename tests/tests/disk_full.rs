//! A full disk: ingest answers a retryable error, nothing stored is damaged, and ingest
//! resumes when space returns. Runs on a small tmpfs of its own (needs root, as CI is).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::otlp::{export_bytes, post_protobuf, text};
use common::Server;
use tracehound_proto::trace::v1::Span;

const MIB: u64 = 1024 * 1024;

/// A tmpfs mounted for the test, unmounted when dropped.
struct SmallDisk {
    mount: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    fn new(size_mib: u64) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let mount = dir.path().join("disk");
        std::fs::create_dir(&mount).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mib}m"), "tmpfs"])
            .arg(&mount)
            .status()
            .expect("run mount");
        assert!(status.success(), "mounting a tmpfs failed: this test needs root (as CI and make test have)");
        SmallDisk { mount, _dir: dir }
    }

    fn free(&self) -> u64 {
        let out = Command::new("df").args(["--output=avail", "-B1"]).arg(&self.mount).output().unwrap();
        String::from_utf8_lossy(&out.stdout).lines().nth(1).and_then(|l| l.trim().parse().ok()).unwrap()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
    }
}

fn export(id: u8) -> Vec<u8> {
    let span = Span {
        trace_id: vec![id; 16],
        span_id: vec![id; 8],
        name: "disk".into(),
        start_time_unix_nano: 1_790_000_000_000_000_000,
        end_time_unix_nano: 1_790_000_000_000_001_000,
        attributes: vec![text("request.id", &format!("req_disk_{id}")), text("input.value", &"x".repeat(10_000))],
        ..Default::default()
    };
    export_bytes(vec![span])
}

fn post(server: &Server, id: u8) -> reqwest::blocking::Response {
    post_protobuf(server, export(id))
}

fn fill(path: &Path, bytes: u64) {
    let chunk = vec![7u8; MIB as usize];
    let mut file = std::fs::File::create(path).unwrap();
    let mut written = 0;
    while written < bytes {
        use std::io::Write;
        if file.write_all(&chunk[..(bytes - written).min(MIB) as usize]).is_err() {
            break;
        }
        written += MIB;
    }
}

#[test]
fn a_full_disk_refuses_retryably_damages_nothing_and_recovers() {
    let disk = SmallDisk::new(48);
    let server = Server::start_with(&disk.mount.join("data"), &["--min-free-disk-bytes", &(8 * MIB).to_string()]);
    assert_eq!(post(&server, 1).status().as_u16(), 200);

    let filler = disk.mount.join("filler");
    fill(&filler, disk.free().saturating_sub(4 * MIB));
    let refused = post(&server, 2);
    assert_eq!(refused.status().as_u16(), 503, "a nearly full disk must refuse, retryably");
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(server.get_json("/api/v1/lookup/req_disk_1").0, 200, "stored data was damaged");

    std::fs::remove_file(&filler).unwrap();
    assert_eq!(post(&server, 2).status().as_u16(), 200, "ingest did not resume when space returned");
    assert_eq!(server.get_json("/api/v1/lookup/req_disk_2").0, 200);
    assert_eq!(server.get_json("/api/v1/stats").1["spans"], 2);
}
