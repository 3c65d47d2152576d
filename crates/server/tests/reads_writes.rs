//! Writes through any node (forwarded to the leader), linearizable and local
//! reads, in process and over gRPC, on real clusters.

mod common;

use std::time::Duration;

use casehub_model::StationId;
use casehub_server::client::Client;
use casehub_server::proto::store_service_client::StoreServiceClient;
use casehub_server::proto::{ReadIndexRequest, ReadRequest, WriteRequest};
use casehub_server::{ClusterError, Consistency, leader_of};
use casehub_store::Command;
use common::*;
use tonic::Code;

fn has_station(s: &casehub_store::SchedulingState, id: &str) -> bool {
    s.stations.contains_key(&StationId::new(id).unwrap())
}

async fn shutdown(cluster: Cluster) {
    for (_, node) in cluster.nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_node_accepts_writes_and_followers_forward_them() {
    let cluster = Cluster::voters(3, config()).await;
    let leader = cluster.leader().await;
    let mut last = 0;
    for (id, node) in &cluster.nodes {
        let written = node
            .write(&req(Command::UpsertStation(station(&format!("via{id}")))))
            .await
            .unwrap();
        assert!(written.response.is_applied(), "{written:?}");
        assert_eq!(written.leader_id, leader);
        assert_eq!(written.forwarded, *id != leader, "{written:?}");
        assert!(written.log_index > last);
        last = written.log_index;
    }
    // A linearizable read on any node sees every acknowledged write.
    for node in cluster.nodes.values() {
        let read = node.read_linearizable().await.unwrap();
        assert_eq!(read.consistency, Consistency::Linearizable);
        assert!(read.read_index.unwrap() >= last, "{:?}", read.read_index);
        assert!(read.applied_index().unwrap() >= read.read_index.unwrap());
        for id in cluster.nodes.keys() {
            assert!(has_station(read.state(), &format!("via{id}")));
        }
    }
    shutdown(cluster).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_follower_read_waits_for_the_leaders_read_index() {
    let cluster = Cluster::voters(3, config()).await;
    let leader = cluster.leader().await;
    let followers: Vec<u64> = cluster
        .nodes
        .keys()
        .copied()
        .filter(|id| *id != leader)
        .collect();
    for i in 0..20 {
        // Written on the leader, then read at once on a follower that may
        // not have applied it yet: the read must still see it.
        let name = format!("rw{i}");
        let written = cluster.nodes[&leader]
            .write(&req(Command::UpsertStation(station(&name))))
            .await
            .unwrap();
        let follower = &cluster.nodes[&followers[i % 2]];
        let read = follower.read_linearizable().await.unwrap();
        assert_eq!(read.node_id, follower.id());
        assert!(read.read_index.unwrap() >= written.log_index);
        assert!(
            has_station(read.state(), &name),
            "{name} missing on a follower"
        );
    }
    shutdown(cluster).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_local_read_is_served_without_a_quorum_and_says_how_stale_it_is() {
    let mut cluster = Cluster::start([], config()).await;
    cluster.request_deadline = Duration::from_secs(2);
    for id in [1, 2, 3] {
        cluster.start_node(id).await;
    }
    let members = cluster
        .nodes
        .iter()
        .map(|(id, n)| (*id, n.basic_node()))
        .collect::<std::collections::BTreeMap<_, _>>();
    cluster.nodes[&1].raft().initialize(members).await.unwrap();
    let leader = cluster.leader().await;
    cluster.rules_current().await;
    let written = cluster.nodes[&leader]
        .write(&req(Command::UpsertStation(station("before"))))
        .await
        .unwrap();
    cluster.applied_everywhere(written.log_index).await;

    // Two nodes stop: the survivor has no quorum.
    let survivor = *cluster.nodes.keys().find(|id| **id != leader).unwrap();
    let others: Vec<u64> = cluster
        .nodes
        .keys()
        .copied()
        .filter(|id| *id != survivor)
        .collect();
    for id in others {
        cluster.stop_node(id).await;
    }
    let node = &cluster.nodes[&survivor];
    let local = node.read_local();
    assert_eq!(local.consistency, Consistency::Local);
    assert_eq!(local.read_index, None);
    assert!(local.applied_index().unwrap() >= written.log_index);
    assert!(has_station(local.state(), "before"));
    for a in &local.state().audit {
        assert!(a.index <= local.applied_index().unwrap());
    }

    // A linearizable read and a write both fail within the deadline, and say why.
    let err = node.read_linearizable().await.unwrap_err();
    assert!(matches!(err, ClusterError::NoLeader { .. }), "{err:?}");
    let err = node
        .write(&req(Command::UpsertStation(station("lost"))))
        .await
        .unwrap_err();
    let ClusterError::NoLeader { leader: known, .. } = &err else {
        panic!("{err:?}");
    };
    let message = err.to_string();
    assert!(message.contains("no leader answered"), "{message}");
    if let Some((id, addr)) = known {
        assert!(
            message.contains(&format!("node {id} at {addr}")),
            "{message}"
        );
    }
    // Over gRPC: the local read still answers, the write is UNAVAILABLE.
    let client = Client::connect(&cluster.addrs[&survivor])
        .unwrap()
        .with_deadline(Duration::from_secs(4));
    let read = client.read_local().await.unwrap();
    assert_eq!(read.applied_index(), local.applied_index());
    assert!(has_station(read.state(), "before"));
    let err = client
        .write(&req(Command::UpsertStation(station("lost"))))
        .await
        .unwrap_err();
    assert!(matches!(err, ClusterError::NoLeader { .. }), "{err:?}");
    // Nothing was applied.
    assert!(!has_station(node.read_local().state(), "lost"));
    shutdown(cluster).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_through_a_follower_survives_the_leaders_loss() {
    let mut cluster = Cluster::voters(3, config()).await;
    let old = cluster.leader().await;
    let follower = *cluster.nodes.keys().find(|id| **id != old).unwrap();
    cluster.stop_node(old).await;
    // Sent at once: the follower still believes in the old leader, then an
    // election runs; the write is retried until a leader commits it.
    let written = cluster.nodes[&follower]
        .write(&req(Command::UpsertStation(station("during-election"))))
        .await
        .unwrap();
    assert!(written.response.is_applied());
    assert_ne!(written.leader_id, old);
    for s in cluster.applied_everywhere(written.log_index).await {
        assert!(has_station(&s, "during-election"));
    }
    shutdown(cluster).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_grpc_client_writes_and_reads_through_any_node() {
    let mut cluster = Cluster::voters(3, config()).await;
    let leader = cluster.leader().await;
    let addrs: Vec<String> = cluster.addrs.values().cloned().collect();
    let client = Client::connect_any(&addrs).unwrap();
    let written = client
        .write(&req(Command::UpsertStation(station("grpc"))))
        .await
        .unwrap();
    assert!(written.response.is_applied());
    assert_eq!(written.leader_id, leader);
    let read = client.read_linearizable().await.unwrap();
    assert!(read.applied_index().unwrap() >= written.log_index);
    assert!(has_station(read.state(), "grpc"));
    assert_eq!(read.leader_id, Some(leader));

    // The same request again: the first answer, nothing applied twice.
    let request = req(Command::UpsertStation(station("once")));
    let first = client.write(&request).await.unwrap();
    let again = client.write(&request).await.unwrap();
    assert_eq!(first.response, again.response);
    let read = client.read_linearizable().await.unwrap();
    let audited = read
        .state()
        .audit
        .iter()
        .filter(|a| a.request_id == request.request_id && a.client_id == request.client_id)
        .count();
    assert_eq!(audited, 1);

    // The node the client uses goes away: it moves on to another.
    let first_addr = &addrs[0];
    let first_id = *cluster
        .addrs
        .iter()
        .find(|(_, a)| *a == first_addr)
        .unwrap()
        .0;
    cluster.stop_node(first_id).await;
    let written = client
        .write(&req(Command::UpsertStation(station("after-stop"))))
        .await
        .unwrap();
    assert!(written.response.is_applied());
    let read = client.read_linearizable().await.unwrap();
    assert!(has_station(read.state(), "after-stop"));
    assert_ne!(read.node_id, first_id);
    shutdown(cluster).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_service_errors_name_the_problem() {
    let cluster = Cluster::voters(3, config()).await;
    let leader = cluster.leader().await;
    let follower = *cluster.nodes.keys().find(|id| **id != leader).unwrap();
    let mut c = StoreServiceClient::connect(format!("http://{}", cluster.addrs[&follower]))
        .await
        .unwrap();
    let status = c
        .write(WriteRequest {
            request: b"{\"client_id\": 1}".to_vec(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("casehub_store::Request"),
        "{status:?}"
    );
    let status = c.read(ReadRequest { consistency: 9 }).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("consistency 9"), "{status:?}");
    // ReadIndex is the leader's alone; a follower names the leader.
    let status = c.read_index(ReadIndexRequest {}).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(
        leader_of(&status),
        Some((leader, cluster.addrs[&leader].clone()))
    );
    let mut l = StoreServiceClient::connect(format!("http://{}", cluster.addrs[&leader]))
        .await
        .unwrap();
    let reply = l
        .read_index(ReadIndexRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.leader_id, leader);
    assert!(reply.read_index >= 1);
    // The node still serves.
    let read = c
        .read(ReadRequest { consistency: 2 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.node_id, follower);
    assert!(read.applied_index >= 1);
    shutdown(cluster).await;
}
