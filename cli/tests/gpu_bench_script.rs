//! `scripts/gpu-bench.sh`, the hardware run of `ndgrad bench`, run as a
//! process on its `--quick` suite with the `ndgrad` binary under test: it
//! must merge every call's JSON into one array and write the tables, on
//! whatever adapter the machine has (lavapipe in CI; GPU rows skipped
//! without one, unless `NDGRAD_REQUIRE_GPU=1`).
#![cfg(unix)]

use std::path::PathBuf;
use std::process::Command;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/gpu-bench.sh")
}

#[test]
fn a_missing_binary_is_one_line_saying_how_to_build_it() {
    let out = Command::new("bash")
        .arg(script())
        .args(["--quick", "--bin", "/nonexistent/ndgrad"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cargo build --release -p ndgrad-cli"), "{err}");
}

#[test]
fn the_quick_suite_writes_one_json_array_and_the_tables() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("skipping: the script merges its JSON with python3, which is absent");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(script())
        .args(["--quick", "--bin", env!("CARGO_BIN_EXE_ndgrad"), "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(dir.path().join("gpu-bench.json")).unwrap()).unwrap();
    let backends: Vec<&str> = records
        .iter()
        .map(|r| r["backend"].as_str().unwrap())
        .collect();
    // Three calls, two spacing forms each, every case with its CPU rows.
    let cases: std::collections::BTreeSet<&str> = records
        .iter()
        .map(|r| r["case"].as_str().unwrap())
        .collect();
    assert_eq!(cases.len(), 6, "{cases:?}");
    assert_eq!(backends.iter().filter(|b| **b == "cpu").count(), 6);
    assert!(backends.contains(&"cpu u16"));
    if std::env::var("NDGRAD_REQUIRE_GPU").is_ok_and(|v| v == "1") {
        for row in [
            "gpu copy kernel",
            "gpu copy_buffer_to_buffer",
            "gpu u16 end to end",
        ] {
            assert_eq!(
                backends.iter().filter(|b| **b == row).count(),
                6,
                "{row}: {backends:?}"
            );
        }
    }
    let table = std::fs::read_to_string(dir.path().join("gpu-bench.txt")).unwrap();
    assert!(table.contains("adapters found") || table.contains("adapter"));
    assert!(table.contains("1d 4096 f32 x e1"), "{table}");
    assert!(table.contains("total wall time"), "{table}");
}
