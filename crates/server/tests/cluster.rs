//! Clusters of real nodes: RocksDB on disk, gRPC on loopback.

mod common;

use std::collections::BTreeSet;

use casehub_model::{CaseId, StationId};
use casehub_store::{Command, Response};
use common::*;
use tonic::Code;

/// Site s1, station st1 and case c1.
fn setup() -> Vec<Command> {
    vec![
        Command::UpsertSite(site()),
        Command::UpsertStation(station("st1")),
        Command::SubmitCase(case("c1", "st1")),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_replicate_client_writes() {
    let cluster = Cluster::voters(3, config()).await;
    let mut last = 0;
    for command in setup() {
        let (reply, response) = cluster.write(command).await;
        assert!(response.is_applied(), "{response:?}");
        assert!(reply.log_index > last);
        last = reply.log_index;
    }
    let states = cluster.applied_everywhere(last).await;
    for s in &states {
        assert!(s.stations.contains_key(&StationId::new("st1").unwrap()));
        assert!(s.cases.contains_key(&CaseId::new("c1").unwrap()));
        // The leader's rules version, then the three writes.
        assert_eq!(s.audit.len(), 4);
        assert_eq!(s.audit[0].client_id, casehub_server::rules::RULES_CLIENT);
        assert_eq!(s.rules_version, casehub_store::RULES_VERSION);
        assert_eq!(s, &states[0]);
    }

    // A follower refuses client writes and names the leader.
    let leader = cluster.leader().await;
    let follower = *cluster.nodes.keys().find(|id| **id != leader).unwrap();
    let status = client_write(
        &cluster.addrs[&follower],
        &req(Command::UpsertStation(station("st2"))),
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    let meta = status.metadata();
    assert_eq!(
        meta.get("casehub-leader-id").unwrap().to_str().unwrap(),
        leader.to_string()
    );
    assert_eq!(
        meta.get("casehub-leader-addr").unwrap().to_str().unwrap(),
        cluster.addrs[&leader]
    );

    // A rejected command is committed and audited everywhere, and changes nothing.
    let (reply, response) = cluster
        .write(Command::SubmitCase(case("c2", "nowhere")))
        .await;
    assert!(
        matches!(response, Response::Rejected { .. }),
        "{response:?}"
    );
    for s in cluster.applied_everywhere(reply.log_index).await {
        assert_eq!(s.audit.len(), 5);
        assert!(!s.cases.contains_key(&CaseId::new("c2").unwrap()));
    }
    for (_, node) in cluster.nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_leader_keeps_every_acknowledged_write() {
    let mut cluster = Cluster::voters(3, config()).await;
    let mut acked = vec![];
    let first = req(Command::UpsertStation(station("first")));
    let (reply, first_response) = cluster.write_request(&first).await;
    assert!(first_response.is_applied());
    acked.push(reply.log_index);
    for command in setup() {
        let (reply, response) = cluster.write(command).await;
        assert!(response.is_applied());
        acked.push(reply.log_index);
    }
    for i in 0..5 {
        let (reply, response) = cluster
            .write(Command::UpsertStation(station(&format!("sta{i}"))))
            .await;
        assert!(response.is_applied());
        acked.push(reply.log_index);
    }

    let old = cluster.leader().await;
    cluster.stop_node(old).await;
    let new = cluster.leader().await;
    assert_ne!(new, old);

    // Every acknowledged write is on both survivors.
    for s in cluster.applied_everywhere(*acked.last().unwrap()).await {
        assert!(s.cases.contains_key(&CaseId::new("c1").unwrap()));
        for i in 0..5 {
            assert!(
                s.stations
                    .contains_key(&StationId::new(format!("sta{i}")).unwrap())
            );
        }
    }
    // A client retrying an acknowledged request on the new leader gets the
    // first response back, and nothing is applied twice.
    let (_, retried) = cluster.write_request(&first).await;
    assert_eq!(retried, first_response);
    let audits = |s: &casehub_store::SchedulingState| {
        s.audit
            .iter()
            .filter(|a| a.client_id == first.client_id && a.request_id == first.request_id)
            .count()
    };
    for s in cluster.applied_everywhere(*acked.last().unwrap()).await {
        assert_eq!(audits(&s), 1);
    }

    // And the two survivors still commit.
    let (reply, response) = cluster
        .write(Command::UpsertStation(station("after")))
        .await;
    assert!(response.is_applied());
    for s in cluster.applied_everywhere(reply.log_index).await {
        assert!(s.stations.contains_key(&StationId::new("after").unwrap()));
    }
    for (_, node) in cluster.nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restarted_node_catches_up_from_its_directory() {
    let mut cluster = Cluster::voters(3, config()).await;
    for command in setup() {
        cluster.write(command).await;
    }
    let leader = cluster.leader().await;
    let follower = *cluster.nodes.keys().find(|id| **id != leader).unwrap();
    let before = cluster.nodes[&follower].state().applied_index();
    cluster.stop_node(follower).await;

    let mut last = 0;
    for i in 0..10 {
        let (reply, _) = cluster
            .write(Command::UpsertStation(station(&format!("late{i}"))))
            .await;
        last = reply.log_index;
    }
    cluster.start_node(follower).await;
    // It restarts from disk with what it had applied...
    assert!(cluster.nodes[&follower].state().applied_index() >= before);
    // ...and catches up with what it missed.
    let states = cluster.applied_everywhere(last).await;
    let restarted = wait_applied(cluster.nodes[&follower].state(), last).await;
    for i in 0..10 {
        assert!(
            restarted
                .stations
                .contains_key(&StationId::new(format!("late{i}")).unwrap())
        );
    }
    assert!(states.iter().all(|s| s.stations == restarted.stations));
    for (_, node) in cluster.nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bad_payload_is_invalid_argument_and_the_node_keeps_serving() {
    let cluster = Cluster::voters(1, config()).await;
    let addr = cluster.addrs[&1].clone();
    let mut c = client(&addr).await;
    use casehub_server::proto::{ClientWriteRequest, RaftPayload};

    let bad = || RaftPayload {
        payload: b"{not json".to_vec(),
    };
    let status = c.append_entries(bad()).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("AppendEntriesRequest"),
        "{status:?}"
    );
    let status = c.vote(bad()).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("VoteRequest"), "{status:?}");
    let status = c.install_snapshot(bad()).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("InstallSnapshotRequest"),
        "{status:?}"
    );
    // Valid JSON of the wrong shape.
    let status = c
        .append_entries(RaftPayload {
            payload: br#"{"vote": 1, "entries": "none"}"#.to_vec(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("AppendEntries"), "{status:?}");
    let status = c
        .client_write(ClientWriteRequest {
            request: br#"{"client_id": 3}"#.to_vec(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("casehub_store::Request"),
        "{status:?}"
    );

    // The node still serves.
    let (reply, response) = cluster.write(Command::UpsertStation(station("st1"))).await;
    assert!(response.is_applied());
    wait_applied(cluster.nodes[&1].state(), reply.log_index).await;
    for (_, node) in cluster.nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lagging_node_receives_a_snapshot() {
    let config = openraft::Config {
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(10),
        max_in_snapshot_log_to_keep: 0,
        purge_batch_size: 1,
        // Small chunks: the snapshot crosses the wire in many InstallSnapshot calls.
        snapshot_max_chunk_size: 512,
        ..config()
    };
    let mut cluster = Cluster::voters(3, config).await;
    for command in setup() {
        cluster.write(command).await;
    }
    let leader = cluster.leader().await;
    let lagging = *cluster.nodes.keys().find(|id| **id != leader).unwrap();
    let stopped_at = cluster.nodes[&lagging].state().applied_index().unwrap_or(0);
    cluster.stop_node(lagging).await;

    let mut last = 0;
    for i in 0..30 {
        let (reply, response) = cluster
            .write(Command::UpsertStation(station(&format!("snap{i}"))))
            .await;
        assert!(response.is_applied());
        last = reply.log_index;
    }
    // The leader has built a snapshot and purged the log the lagging node
    // would need: it can only catch up by receiving the snapshot.
    let m = cluster.nodes[&leader]
        .raft()
        .wait(Some(TIMEOUT))
        .metrics(
            |m| m.purged.is_some_and(|p| p.index > stopped_at + 1),
            "the leader purges its log",
        )
        .await
        .unwrap();
    assert!(m.snapshot.is_some());

    cluster.start_node(lagging).await;
    let restarted = wait_applied(cluster.nodes[&lagging].state(), last).await;
    let installed = cluster.nodes[&lagging]
        .raft()
        .wait(Some(TIMEOUT))
        .metrics(|m| m.snapshot.is_some(), "the lagging node has a snapshot")
        .await
        .unwrap();
    assert!(installed.snapshot.unwrap().index > stopped_at);
    let states = cluster.applied_everywhere(last).await;
    for i in 0..30 {
        assert!(
            restarted
                .stations
                .contains_key(&StationId::new(format!("snap{i}")).unwrap())
        );
    }
    assert!(states.iter().all(|s| s.stations == restarted.stations));
    for (_, node) in cluster.nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn membership_changes_under_writes() {
    let mut cluster = Cluster::voters(3, config()).await;
    for command in setup() {
        cluster.write(command).await;
    }
    cluster.start_node(4).await;
    let leader = cluster.leader().await;
    let removed = *cluster.nodes.keys().find(|id| **id != leader).unwrap();

    let writes = async {
        let mut last = 0;
        for i in 0..20 {
            let (reply, response) = cluster
                .write(Command::UpsertStation(station(&format!("m{i}"))))
                .await;
            assert!(response.is_applied());
            last = reply.log_index;
        }
        last
    };
    let changes = async {
        cluster.add_learner(4).await;
        cluster
            .change_membership(BTreeSet::from([1, 2, 3, 4]))
            .await;
        let remaining: BTreeSet<u64> = [1, 2, 3, 4]
            .into_iter()
            .filter(|id| *id != removed)
            .collect();
        cluster.change_membership(remaining.clone()).await;
        remaining
    };
    let (last, remaining) = tokio::join!(writes, changes);
    cluster.stop_node(removed).await;

    let leader = cluster.leader().await;
    let voters: BTreeSet<u64> = cluster.nodes[&leader]
        .raft()
        .metrics()
        .borrow()
        .membership_config
        .membership()
        .voter_ids()
        .collect();
    assert_eq!(voters, remaining);
    // One more write after the changes, committed by the new configuration.
    let (reply, _) = cluster
        .write(Command::UpsertStation(station("final")))
        .await;
    assert!(reply.log_index > last);
    let states = cluster.applied_everywhere(reply.log_index).await;
    for s in &states {
        for i in 0..20 {
            assert!(
                s.stations
                    .contains_key(&StationId::new(format!("m{i}")).unwrap())
            );
        }
        assert_eq!(s, &states[0]);
    }
    for (_, node) in cluster.nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_whole_cluster_restarts_from_disk() {
    let mut cluster = Cluster::voters(3, config()).await;
    let mut last = 0;
    for command in setup() {
        let (reply, _) = cluster.write(command).await;
        last = reply.log_index;
    }
    let before = cluster.applied_everywhere(last).await;
    for id in [1, 2, 3] {
        cluster.stop_node(id).await;
    }
    for id in [1, 2, 3] {
        cluster.start_node(id).await;
    }
    // No initialize: the membership, log and state come back from disk.
    cluster.leader().await;
    let (reply, response) = cluster
        .write(Command::UpsertStation(station("after-restart")))
        .await;
    assert!(response.is_applied());
    for s in cluster.applied_everywhere(reply.log_index).await {
        assert_eq!(s.cases, before[0].cases);
        assert!(
            s.stations
                .contains_key(&StationId::new("after-restart").unwrap())
        );
    }
    for (_, node) in cluster.nodes {
        node.shutdown().await;
    }
}
