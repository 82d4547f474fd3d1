//! The Makefile is one of the two set-up commands: it must build and run where cargo builds.

use std::path::Path;
use std::process::Command;

/// The commands `make -n TARGET` would run, with `CARGO_TARGET_DIR` set to `dir`.
fn planned(target: &str, dir: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new("make")
        .args(["-n", "-C"])
        .arg(&root)
        .arg(target)
        .env("CARGO_TARGET_DIR", dir)
        .output()
        .expect("make runs");
    assert!(out.status.success(), "make -n {target}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn make_run_starts_the_binary_cargo_built_under_cargo_target_dir() {
    let plan = planned("run", "/elsewhere/build");
    assert!(plan.contains("/elsewhere/build/release/tracehound serve"), "{plan}");
    assert!(!plan.contains("./target/"), "{plan}");
}

#[test]
fn make_run_says_the_first_build_takes_long() {
    assert!(planned("run", "/elsewhere/build").contains("about 10 minutes"));
}
