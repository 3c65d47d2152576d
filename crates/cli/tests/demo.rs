//! `casehub demo`: a real 3-node cluster on loopback, loaded with the sample
//! region, dispatching simulated cases through the API; a rerun reuses it.

use std::net::TcpListener;
use std::process::Command;

/// A base port whose peer ports (base + 1..3) and client ports (base +
/// 11..13) are free now.
fn free_base() -> u16 {
    for base in (21_000..40_000).step_by(97) {
        if [1, 2, 3, 11, 12, 13]
            .iter()
            .all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok())
        {
            return base;
        }
    }
    panic!("no free ports");
}

fn demo(dir: &std::path::Path, base: u16, seed: u64) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_casehub"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .args([
            "demo",
            "--cases",
            "2",
            "--interval-ms",
            "0",
            "--exit-after-replay",
        ])
        .arg("--data-dir")
        .arg(dir)
        .args([
            "--base-port",
            &base.to_string(),
            "--seed",
            &seed.to_string(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn the_demo_dispatches_cases_on_a_local_cluster_and_a_rerun_reuses_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let base = free_base();
    let first = demo(dir.path(), base, 1);
    assert!(
        first.contains("initialized a new cluster of 3 nodes"),
        "{first}"
    );
    for id in 1..=3 {
        assert!(dir.path().join(format!("node-{id}")).is_dir());
    }
    // TLS by default, with the development CA kept for the rerun and the key
    // readable by its owner only.
    assert!(first.contains("TLS is on"), "{first}");
    // The console's address and the demo users' password, kept in the
    // data directory (owner-only) and the same on the second run.
    let password = std::fs::read_to_string(dir.path().join("console-password.txt")).unwrap();
    assert!(
        first.contains("/console/") && first.contains(password.trim()),
        "{first}"
    );
    assert!(first.contains("persons' particulars are sealed"), "{first}");
    let key = dir.path().join("tls").join("ca-key.pem");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", key.display());
    // Two cases, each planned and accepted (or blocked with its rule).
    let planned = first.matches("  plan: ").count();
    let accepted = first.matches("  accepted at log index").count();
    let blocked = first.matches("  BLOCKED").count();
    assert_eq!(planned + blocked, 2, "{first}");
    assert_eq!(accepted, planned, "{first}");
    // The first accepted case's escort reports a delay, and its outcome is shown.
    if accepted > 0 {
        assert!(first.contains("  delay: "), "{first}");
        assert!(!first.contains("delay not recorded"), "{first}");
    }
    let last_index = |s: &str| -> u64 {
        s.lines()
            .filter_map(|l| l.trim().strip_prefix("accepted at log index "))
            .filter_map(|n| n.parse().ok())
            .max()
            .unwrap_or(0)
    };
    let second = demo(dir.path(), base, 2);
    assert!(second.contains("reusing the cluster"), "{second}");
    // The log goes on where the first run left it.
    assert!(
        last_index(&second) > last_index(&first),
        "{first}\n{second}"
    );
}
