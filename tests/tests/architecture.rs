//! ARCHITECTURE.md is the code map: every path it names must exist, so that moving a file
//! without updating the map fails here.

use std::path::Path;

/// Backticked spans of the document that name a path of the workspace: they start with a
/// top-level folder of the workspace and a slash (`store/src/model.rs`, `api/assets/`).
fn named_paths(text: &str, root: &Path) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| !span.contains(' ') && span.contains('/'))
        .filter(|span| {
            let first = span.split('/').next().unwrap_or_default();
            !first.is_empty() && root.join(first).is_dir()
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn every_path_the_architecture_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md beside the workspace");
    let named = named_paths(&text, &root);
    assert!(named.len() > 30, "the code map names the crates' files; found only {named:?}");
    let missing: Vec<&String> = named.iter().filter(|path| !root.join(path).exists()).collect();
    assert!(missing.is_empty(), "ARCHITECTURE.md names paths that do not exist: {missing:?}");
}

#[test]
fn every_crate_of_the_workspace_has_a_row_in_the_map() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("workspace manifest");
    let members = manifest
        .lines()
        .find(|line| line.trim_start().starts_with("members"))
        .expect("a members line")
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect::<Vec<_>>();
    assert!(members.len() >= 8, "members read from Cargo.toml: {members:?}");
    for member in members {
        assert!(text.contains(&format!("| `{member}/` |")), "ARCHITECTURE.md has no row for the crate {member}/");
    }
}

/// The `[dependencies]` section of a crate's manifest: the names it depends on.
fn dependencies(manifest: &str) -> Vec<String> {
    let mut in_section = false;
    let mut names = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[dependencies]";
            continue;
        }
        if in_section {
            if let Some((name, _)) = line.split_once('=') {
                names.push(name.trim().to_string());
            }
        }
    }
    names
}

#[test]
fn the_logic_crates_depend_on_no_transport_or_terminal_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for krate in ["proto", "error", "store", "normalize", "query"] {
        let manifest = std::fs::read_to_string(root.join(krate).join("Cargo.toml")).expect("manifest");
        let deps = dependencies(&manifest);
        assert!(!deps.is_empty() || krate == "error", "{krate}: no dependencies read");
        for forbidden in
            ["axum", "tonic", "clap", "reqwest", "hyper", "tracehound-api", "tracehound-cli", "tracehound-collector"]
        {
            assert!(!deps.iter().any(|d| d == forbidden), "{krate}/ depends on {forbidden}");
        }
    }
}
