//! The client subcommands against three `casehub node` processes: cluster
//! status and load-region, availability, submit and accept, delay, alerts, audit.

mod support;

use std::process::Command;

use support::Nodes;

const REGION: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../simulations/sample-county/region-3-sites.toml"
);

/// The cluster CA's certificate file, which the commands verify nodes with,
/// and the operator's certificate and key files.
static CA: std::sync::OnceLock<String> = std::sync::OnceLock::new();
static USER: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();

/// Run `casehub ARGS` (with CASEHUB_CA set) until it succeeds (the cluster
/// may still be electing), and return its standard output.
fn casehub(args: &[&str]) -> String {
    let deadline = std::time::Instant::now() + support::DEADLINE;
    loop {
        let out = Command::new(env!("CARGO_BIN_EXE_casehub"))
            .args(args)
            .env("CASEHUB_CA", CA.get().unwrap())
            .env("CASEHUB_CERT", &USER.get().unwrap().0)
            .env("CASEHUB_KEY", &USER.get().unwrap().1)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        if out.status.success() {
            return stdout;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "casehub {args:?}: {stdout}\n{stderr}"
        );
        // Only errors a retry may fix are retried: an election, a node that
        // has not applied the operator's user yet.
        assert!(
            stderr.contains("Unavailable")
                || stderr.contains("cannot reach")
                || stderr.contains("Unauthenticated"),
            "casehub {args:?} failed: {stderr}"
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

#[test]
fn the_client_commands_drive_a_running_cluster() {
    let dir = tempfile::TempDir::new().unwrap();
    // One particulars key for the three nodes, beside their data.
    let key = dir.path().join("particulars.key");
    let out = Command::new(env!("CARGO_BIN_EXE_casehub"))
        .args(["key", "new", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // It is not overwritten without --force.
    let again = Command::new(env!("CARGO_BIN_EXE_casehub"))
        .args(["key", "new", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(!again.status.success());
    let mut nodes = Nodes::start_three(
        dir.path(),
        format!("region = {REGION:?}\nparticulars_key = {key:?}\n"),
    );
    CA.set(nodes.ca()).unwrap();
    USER.set(nodes.bootstrap_user("操作员")).unwrap();
    let a1 = nodes.client_addrs[&1].clone();
    let a2 = nodes.client_addrs[&2].clone();

    // Without the CA the node cannot be verified: a clear error, no call.
    let out = Command::new(env!("CARGO_BIN_EXE_casehub"))
        .args(["cluster", "status", "--addr", &a1])
        .env_remove("CASEHUB_CA")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--ca is not set"), "{stderr}");
    // A node's peer port is not the API: refused.
    let out = Command::new(env!("CARGO_BIN_EXE_casehub"))
        .args([
            "cluster",
            "status",
            "--addr",
            &nodes.addrs[&1],
            "--ca",
            &nodes.ca(),
        ])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let loaded = casehub(&[
        "cluster",
        "load-region",
        "--addr",
        &a2,
        "--region",
        REGION,
        "--request-id",
        "100",
    ]);
    assert!(loaded.contains("requests applied"), "{loaded}");
    let status = casehub(&["cluster", "status", "--addr", &a1]);
    assert_eq!(status.matches(" voter").count(), 3, "{status}");

    let free = casehub(&["availability", "--addr", &a1, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&free).unwrap();
    assert!(!v["rooms"].as_array().unwrap().is_empty());

    let case = dir.path().join("case.json");
    let clock = (chrono::Utc::now() - chrono::Duration::minutes(15)).to_rfc3339();
    std::fs::write(
        &case,
        serde_json::json!({
            "id": "C-CLI-1", "origin": "S03", "clock_started_at": clock,
            "category": "criminal_summons",
            "persons": [{"id": "P1", "gender": "female", "juvenile": false}]
        })
        .to_string(),
    )
    .unwrap();
    let proposal = dir.path().join("proposal.json");
    let submitted = casehub(&[
        "submit",
        "--addr",
        &a2,
        "--request-id",
        "1",
        "--case",
        case.to_str().unwrap(),
        "--name",
        "P1=欧阳娜娜",
        "--id-number",
        "P1=11010519491231002X",
        "--proposal-out",
        proposal.to_str().unwrap(),
    ]);
    assert!(submitted.starts_with("C-CLI-1: to "), "{submitted}");
    // The operator (a dispatcher) reads the name back.
    let cases = casehub(&["cases", "--addr", &a1, "--case", "C-CLI-1"]);
    assert!(
        cases.contains("C-CLI-1\tsubmitted\tS03")
            && cases.contains("P1 欧阳娜娜 11010519491231002X"),
        "{cases}"
    );
    // A flag naming no person of the case is refused before any call.
    let out = Command::new(env!("CARGO_BIN_EXE_casehub"))
        .args(["submit", "--addr", &a1, "--case"])
        .arg(&case)
        .args(["--name", "P9=某人"])
        .env("CASEHUB_CA", nodes.ca())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no person \"P9\""));
    let accepted = casehub(&[
        "accept",
        "--addr",
        &a1,
        "--request-id",
        "2",
        "--proposal",
        proposal.to_str().unwrap(),
    ]);
    assert!(accepted.starts_with("committed at log index"), "{accepted}");
    // The same request again: a retry, committed once.
    let again = casehub(&[
        "accept",
        "--addr",
        &a2,
        "--request-id",
        "2",
        "--proposal",
        proposal.to_str().unwrap(),
    ]);
    assert!(again.contains("a retry"), "{again}");

    // The escort runs late; nothing else is booked, so the plan slips.
    let delayed = casehub(&[
        "delay",
        "--addr",
        &a2,
        "--request-id",
        "3",
        "--case",
        "C-CLI-1",
        "--minutes",
        "20",
        "--reason",
        "traffic",
    ]);
    assert!(
        delayed.starts_with("delay recorded at log index"),
        "{delayed}"
    );
    assert!(
        delayed.contains("case C-CLI-1: the rest of its plan slipped by 20 min"),
        "{delayed}"
    );

    let audit = casehub(&["audit", "--addr", &a1, "--from", "1"]);
    assert!(audit.contains("submit case C-CLI-1"), "{audit}");
    // The audit names who acted: the node that wrote the first admin, then
    // the authenticated user.
    assert!(
        audit.contains("node 1") && audit.contains("upsert user 操作员"),
        "{audit}"
    );
    // The hash chain verifies, and node 2 holds the same chain.
    let verified = casehub(&["audit", "verify", "--addr", &a1, "--also", &a2]);
    assert!(verified.contains("hashed entries verify"), "{verified}");
    assert!(
        verified.contains("the same chain at log index")
            || verified.contains("has not applied log index"),
        "{verified}"
    );
    let submit_line = audit
        .lines()
        .find(|l| l.contains("submit case C-CLI-1"))
        .unwrap();
    assert!(submit_line.contains("操作员"), "{submit_line}");
    // The admin adds a planner; the planner may read availability but not
    // submit, and the refusal says why.
    let added = casehub(&[
        "user",
        "add",
        "--addr",
        &a1,
        "--name",
        "规划员",
        "--role",
        "planner",
    ]);
    assert!(added.starts_with("user 规划员 written"), "{added}");
    let users = casehub(&["user", "list", "--addr", &a1]);
    assert!(users.contains("规划员\troles planner"), "{users}");
    let out = Command::new(env!("CARGO_BIN_EXE_casehub"))
        .args(["cert", "user", "--ca-dir"])
        .arg(nodes.tls_dir())
        .arg("--out")
        .arg(nodes.tls_dir())
        .args(["--name", "规划员"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let planner = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_casehub"))
            .args(args)
            .env("CASEHUB_CA", nodes.ca())
            .env("CASEHUB_CERT", nodes.tls_dir().join("user-规划员.pem"))
            .env("CASEHUB_KEY", nodes.tls_dir().join("user-规划员-key.pem"))
            .output()
            .unwrap()
    };
    assert!(planner(&["availability", "--addr", &a1]).status.success());
    // A planner sees the case, with a pseudonym instead of the name.
    let out = planner(&["cases", "--addr", &a1, "--json"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && listed.contains("\"withheld\""),
        "{listed}"
    );
    assert!(
        !listed.contains("欧阳娜娜") && listed.contains("人员-"),
        "{listed}"
    );
    let out = planner(&[
        "submit",
        "--addr",
        &a1,
        "--case",
        case.to_str().unwrap(),
        "--request-id",
        "77",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("PermissionDenied"), "{stderr}");
    assert!(
        audit.contains("escort of case C-CLI-1 20 min late: traffic"),
        "{audit}"
    );
    let alerts = casehub(&["alerts", "--addr", &a1]);
    assert!(!alerts.is_empty());

    // The security policy: shown, and changed field by field.
    let policy = casehub(&["user", "policy", "--addr", &a1]);
    assert!(
        policy.contains("particulars kept 30 days after exit"),
        "{policy}"
    );
    let policy = casehub(&[
        "user",
        "policy",
        "--addr",
        &a1,
        "--particulars-retention-days",
        "7",
        "--request-id",
        "500",
    ]);
    assert!(
        policy.contains("particulars kept 7 days after exit"),
        "{policy}"
    );
    assert!(policy.contains("lock after 5 failed logins"), "{policy}");

    // Rotation: a new key first, the old one kept; the nodes reload it on
    // SIGHUP and the name sealed under the old key still opens.
    let out = Command::new(env!("CARGO_BIN_EXE_casehub"))
        .args(["key", "rotate", "--file"])
        .arg(&key)
        .args(["--id", "k2"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&key).unwrap();
    let ids: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(ids, ["k2", "k1"]);
    for id in 1..=3 {
        nodes.signal(id, "HUP");
    }
    for id in 1..=3 {
        let deadline = std::time::Instant::now() + support::DEADLINE;
        while !nodes.log(id).contains("particulars keys reloaded") {
            assert!(
                std::time::Instant::now() < deadline,
                "node {id}: {}",
                nodes.log(id)
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert!(nodes.log(id).contains("k2"), "node {id} seals with k2");
    }
    let cases = casehub(&["cases", "--addr", &a2, "--case", "C-CLI-1"]);
    assert!(cases.contains("欧阳娜娜"), "{cases}");

    // A bad flag is named, exit 2.
    let out = Command::new(env!("CARGO_BIN_EXE_casehub"))
        .args(["availability", "--addr", &a1, "--hours", "0"])
        .env("CASEHUB_CA", nodes.ca())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--hours 0"));
    let out = Command::new(env!("CARGO_BIN_EXE_casehub"))
        .args([
            "delay",
            "--addr",
            &a1,
            "--case",
            "C-CLI-1",
            "--minutes",
            "0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--minutes"));
    for id in 1..=3 {
        assert!(nodes.terminate(id).success());
    }
}
