//! The `casehub` binary end to end: exit codes, output and error messages.

use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn casehub(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_casehub"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn region_check_accepts_the_sample_and_names_bad_values() {
    let out = casehub(&["region", "check", "simulations/sample-county/region.toml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("valid"));

    let dir = std::env::temp_dir().join(format!("casehub-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    let sample =
        std::fs::read_to_string(root().join("simulations/sample-county/region.toml")).unwrap();
    std::fs::write(
        &bad,
        sample.replacen("min_on_duty = 4", "min_on_duty = -4", 1),
    )
    .unwrap();
    let out = casehub(&["region", "check", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("bad.toml:") && err.contains("min_on_duty"),
        "{err}"
    );

    let out = casehub(&["region", "check", "no/such/file.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no/such/file.toml"));
}

#[test]
fn layout_solve_ends_with_the_objective() {
    let out = casehub(&[
        "layout",
        "solve",
        "--model",
        "p-median",
        "--orlib",
        "crates/layout/tests/fixtures/pmed1.txt",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().last(), Some("objective: 5819"), "{stdout}");

    let out = casehub(&[
        "layout",
        "solve",
        "--model",
        "cflp",
        "--orlib",
        "crates/layout/tests/fixtures/cap71.txt",
    ]);
    assert_eq!(
        text(&out.stdout).lines().last(),
        Some("objective: 932615.75")
    );

    let out = casehub(&[
        "layout",
        "solve",
        "--model",
        "mclp",
        "--orlib",
        "crates/layout/tests/fixtures/pmed1.txt",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("radius"));
}

#[test]
fn plan_prints_a_valid_plan_and_refuses_bad_flags() {
    let out = casehub(&[
        "plan",
        "--region",
        "simulations/sample-county/region-3-sites.toml",
        "--generate",
        "6",
        "--now",
        "2026-11-27T10:00:00+08:00",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let n = plan["cases"].as_array().unwrap().len() + plan["blocked"].as_array().unwrap().len();
    assert_eq!(n, 6);

    let out = casehub(&[
        "plan",
        "--region",
        "simulations/sample-county/region.toml",
        "--generate",
        "3",
        "--time-limit",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--time-limit"));
}
