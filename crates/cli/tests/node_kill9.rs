//! Three `casehub node` processes on loopback, each with its own data
//! directory: the leader process is killed with SIGKILL while a client
//! writes; a new leader takes over with every acknowledged write, and the
//! killed node, restarted from its directory, catches up.

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use support::{DEADLINE, Nodes, eventually};

use casehub_model::{Location, Station, StationId};
use casehub_server::ClusterError;
use casehub_server::client::Client;
use casehub_store::{Command as StoreCommand, Request, SchedulingState};
use chrono::{TimeZone, Utc};

fn station(id: &str) -> Station {
    serde_json::from_value(serde_json::json!({
        "id": id,
        "location": Location::new(30.0, 120.0).unwrap(),
        "min_on_duty": 1
    }))
    .unwrap()
}

fn request(n: u64) -> Request {
    Request {
        client_id: "kill9-test".into(),
        request_id: n,
        actor: "operator-1".into(),
        site: None,
        time: Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap(),
        command: StoreCommand::UpsertStation(station(&format!("w{n}"))),
        trace: None,
    }
}

fn has(state: &SchedulingState, n: u64) -> bool {
    state
        .stations
        .contains_key(&StationId::new(format!("w{n}")).unwrap())
}

async fn leader_of(client: &Client) -> Option<u64> {
    client.read_linearizable().await.ok()?.leader_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_the_leader_loses_no_acknowledged_write_and_it_catches_up() {
    let dir = tempfile::TempDir::new().unwrap();
    let mut nodes = Nodes::start_three(dir.path(), String::new());
    let addrs: Vec<String> = nodes.addrs.values().cloned().collect();
    let client = Client::connect_any_tls(&addrs, nodes.peer_tls()).unwrap();
    let leader = eventually("a leader", || leader_of(&client)).await;

    // Writes through the API, each acknowledged before the next.
    let mut acked: Vec<(u64, u64)> = Vec::new();
    for n in 1..=20 {
        let w = client.write(&request(n)).await.unwrap();
        assert!(w.response.is_applied(), "{w:?}");
        acked.push((n, w.log_index));
    }

    // A writer keeps going while the leader is killed.
    let progress = std::sync::Arc::new(AtomicU64::new(0));
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let writer = {
        let client = Client::connect_any_tls(&addrs, nodes.peer_tls()).unwrap();
        let progress = progress.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut failed = Vec::new();
            let mut n = 20;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                match client.write(&request(n)).await {
                    Ok(w) if w.response.is_applied() => {
                        acked.push((n, w.log_index));
                        progress.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(w) => panic!("write {n} rejected: {w:?}"),
                    // Not acknowledged: it may or may not be there.
                    Err(e) => failed.push((n, e.to_string())),
                }
            }
            (acked, failed)
        })
    };
    // Kill once the writer is under way; stop it once it has had ten more
    // writes acknowledged after the kill (by the new leader).
    let at_least = |count: u64| {
        let progress = progress.clone();
        async move {
            let deadline = Instant::now() + DEADLINE;
            while progress.load(Ordering::SeqCst) < count {
                assert!(
                    Instant::now() < deadline,
                    "the writer is stuck below {count}"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    };
    at_least(5).await;
    nodes.kill9(leader);
    let acked_before_kill = progress.load(Ordering::SeqCst);
    at_least(acked_before_kill + 10).await;
    stop.store(true, Ordering::SeqCst);

    let (more, failed) = writer.await.unwrap();
    let after_kill = more.len() as u64 - acked_before_kill;
    acked.extend(more);
    assert!(after_kill >= 10);
    eprintln!(
        "{acked_before_kill} writes acknowledged before the kill, {after_kill} after; {} failed",
        failed.len()
    );

    // A new leader among the survivors.
    let survivors: Vec<String> = nodes
        .addrs
        .iter()
        .filter(|(id, _)| **id != leader)
        .map(|(_, a)| a.clone())
        .collect();
    let survivor_client = Client::connect_any_tls(&survivors, nodes.peer_tls()).unwrap();
    let new_leader = eventually("a new leader", || async {
        leader_of(&survivor_client).await.filter(|l| *l != leader)
    })
    .await;
    assert_ne!(new_leader, leader);

    // Every acknowledged write is there, on the new leader's side...
    let read = survivor_client.read_linearizable().await.unwrap();
    for (n, index) in &acked {
        assert!(
            has(read.state(), *n),
            "acknowledged write {n} (index {index}) lost"
        );
    }
    // ...and the survivors still commit.
    let w = survivor_client.write(&request(100)).await.unwrap();
    assert!(w.response.is_applied());
    assert_eq!(w.leader_id, new_leader);

    // The killed node restarts from its data directory and catches up.
    nodes.start(leader);
    let restarted = Client::connect_any_tls([&nodes.addrs[&leader]], nodes.peer_tls()).unwrap();
    let caught_up = eventually("the restarted node to catch up", || async {
        match restarted.read_local().await {
            Ok(r) if r.applied_index() >= Some(w.log_index) => Some(r),
            Ok(_) | Err(ClusterError::NoLeader { .. }) => None,
            Err(e) => panic!("{e}"),
        }
    })
    .await;
    for (n, _) in &acked {
        assert!(
            has(caught_up.state(), *n),
            "write {n} missing after restart"
        );
    }
    assert!(has(caught_up.state(), 100));
    // It serves linearizable reads again, through the cluster's leader.
    let read = restarted.read_linearizable().await.unwrap();
    assert_eq!(read.node_id, leader);
    assert!(read.read_index.unwrap() >= w.log_index);

    // SIGTERM stops every node cleanly.
    for id in 1..=3 {
        let status = nodes.terminate(id);
        assert!(status.success(), "node {id}: {status:?}\n{}", nodes.logs());
    }
    assert!(Path::new(&nodes.dir.join("data-1")).exists());
}

#[test]
fn a_bad_configuration_is_refused_naming_the_key_and_the_value() {
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("node.toml");
    std::fs::write(
        &file,
        "node_id = 1\nsite = \"main\"\nlisten = \"nowhere\"\ndata_dir = \"/tmp/x\"\n",
    )
    .unwrap();
    let run = |extra: &[&str], env: &[(&str, &str)]| {
        let out = Command::new(env!("CARGO_BIN_EXE_casehub"))
            .arg("node")
            .arg("--config")
            .arg(&file)
            .args(extra)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&[], &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("listen = \"nowhere\""), "{err}");
    // TLS is required: without certificates the node does not start...
    let (code, err) = run(&["--check"], &[("CASEHUB_LISTEN", "127.0.0.1:7999")]);
    assert_eq!(code, Some(2));
    assert!(err.contains("tls.ca is not set"), "{err}");
    // ...unless plaintext is asked for. The environment overrides the file,
    // a flag overrides the environment.
    let (code, err) = run(
        &["--check"],
        &[
            ("CASEHUB_LISTEN", "127.0.0.1:7999"),
            ("CASEHUB_INSECURE_PLAINTEXT", "true"),
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = run(
        &["--check", "--listen", "bad:port"],
        &[("CASEHUB_LISTEN", "127.0.0.1:7999")],
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("listen = \"bad:port\""), "{err}");
    let (code, err) = run(&["--check"], &[("CASEHUB_NODE_ID", "one")]);
    assert_eq!(code, Some(2));
    assert!(err.contains("CASEHUB_NODE_ID = \"one\""), "{err}");
}
