//! The house rules that keep a new domain one folder: imports between source folders go one way, and grants
//! are written only by `rewards`. Read from the source, so a change that breaks a rule fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn source_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            source_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// Each file of `src/` with its top-level module (`lottery` for `src/lottery/draw.rs`), tests cut off.
fn modules() -> Vec<(String, PathBuf, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    files
        .into_iter()
        .filter(|path| !path.ends_with("main.rs") || path.parent() != Some(src.as_path()))
        .map(|path| {
            let relative = path.strip_prefix(&src).unwrap().to_path_buf();
            let top = relative
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap().to_owned();
            (top, relative, code)
        })
        .collect()
}

fn folder_imports() -> BTreeMap<String, BTreeSet<String>> {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (top, _, code) in modules() {
        for used in code.split("crate::").skip(1) {
            let target: String = used
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if !target.is_empty() && target != top {
                edges.entry(top.clone()).or_default().insert(target);
            }
        }
    }
    edges
}

#[test]
fn imports_between_source_folders_go_one_way() {
    let edges = folder_imports();
    let reaches = |from: &str, to: &str| {
        let mut seen = BTreeSet::new();
        let mut next = vec![from.to_owned()];
        while let Some(module) = next.pop() {
            for target in edges.get(&module).into_iter().flatten() {
                if target == to {
                    return true;
                }
                if seen.insert(target.clone()) {
                    next.push(target.clone());
                }
            }
        }
        false
    };
    let loops: Vec<String> = edges
        .iter()
        .flat_map(|(from, targets)| targets.iter().map(move |to| (from, to)))
        .filter(|(from, to)| reaches(to, from))
        .map(|(from, to)| format!("{from} -> {to}"))
        .collect();
    assert!(loops.is_empty(), "import loops: {loops:?}");
    // The layers DESIGN.md names: shared primitives and the platform below every domain.
    for low in [
        "calendar", "store", "state", "http", "auth", "wechat", "rewards",
    ] {
        for domain in [
            "lottery",
            "quiz",
            "points",
            "coupons",
            "fulfilment",
            "planning",
        ] {
            assert!(!reaches(low, domain), "{low} must not import {domain}");
        }
    }
}

#[test]
fn only_rewards_writes_a_grant() {
    let grant_rows = [
        "points_ledger::ActiveModel",
        "chance_grants::ActiveModel",
        "user_coupons::ActiveModel {",
    ];
    let writers: Vec<String> = modules()
        .into_iter()
        .filter(|(top, _, code)| {
            top != "rewards" && grant_rows.iter().any(|row| code.contains(row))
        })
        .map(|(_, path, _)| path.display().to_string())
        .collect();
    assert!(
        writers.is_empty(),
        "grant rows written outside rewards: {writers:?}"
    );
}

#[test]
fn only_the_gate_reads_the_pause_switch_for_customer_actions() {
    let readers: Vec<String> = modules()
        .into_iter()
        .filter(|(_, path, code)| {
            !path.starts_with("campaigns")
                && !path.starts_with("store")
                && code.contains("is_paused(")
        })
        .map(|(_, path, _)| path.display().to_string())
        .collect();
    assert!(
        readers.is_empty(),
        "pause checks outside the gate: {readers:?}"
    );
}
