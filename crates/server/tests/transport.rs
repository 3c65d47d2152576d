//! The sending side of the transport against a real node: replies, remote
//! errors and unreachable targets become the right openraft results.

mod common;

use std::time::Duration;

use casehub_server::network::GrpcNetwork;
use casehub_store::TypeConfig;
use common::*;
use openraft::error::{InstallSnapshotError, RPCError, RaftError};
use openraft::network::RPCOption;
use openraft::raft::{InstallSnapshotRequest, VoteRequest};
use openraft::{BasicNode, RaftNetwork, RaftNetworkFactory, SnapshotMeta, Vote};

fn option() -> RPCOption {
    RPCOption::new(Duration::from_secs(5))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replies_and_remote_errors_cross_the_wire() {
    // A lone node, never initialized.
    let cluster = Cluster::start([7], config()).await;
    let target = BasicNode::new(cluster.addrs[&7].clone());
    let mut network = GrpcNetwork::new(9);
    let mut peer = network.new_client(7, &target).await;

    // A vote request from node 9 at term 1 is granted by the empty node.
    let resp = peer
        .vote(VoteRequest::new(Vote::new(1, 9), None), option())
        .await
        .unwrap();
    assert!(resp.vote_granted, "{resp:?}");

    // A snapshot chunk at offset 10 of a snapshot never started: the
    // receiver's SnapshotMismatch comes back as a remote error.
    let chunk = InstallSnapshotRequest::<TypeConfig> {
        vote: Vote::new_committed(1, 9),
        meta: SnapshotMeta {
            snapshot_id: "never-started".into(),
            ..SnapshotMeta::default()
        },
        offset: 10,
        data: vec![1, 2, 3],
        done: false,
    };
    match peer.install_snapshot(chunk, option()).await {
        Err(RPCError::RemoteError(remote)) => {
            assert_eq!(remote.target, 7);
            assert!(
                matches!(
                    remote.source,
                    RaftError::APIError(InstallSnapshotError::SnapshotMismatch(_))
                ),
                "{remote:?}"
            );
        }
        other => panic!("expected a remote SnapshotMismatch, got {other:?}"),
    }
    // A client write to a node that knows no leader: UNAVAILABLE.
    let status = client_write(
        &cluster.addrs[&7],
        &req(casehub_store::Command::UpsertStation(station("st1"))),
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(status.message().contains("no leader"), "{status:?}");
    for (_, node) in cluster.nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_closed_port_is_unreachable_and_a_bad_address_does_not_panic() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    drop(listener);
    let mut network = GrpcNetwork::new(1);
    let mut peer = network.new_client(2, &BasicNode::new(addr)).await;
    let err = peer
        .vote(VoteRequest::new(Vote::new(1, 1), None), option())
        .await
        .unwrap_err();
    assert!(matches!(err, RPCError::Unreachable(_)), "{err:?}");

    let mut peer = network
        .new_client(3, &BasicNode::new("not an address"))
        .await;
    let err = peer
        .vote(VoteRequest::new(Vote::new(1, 1), None), option())
        .await
        .unwrap_err();
    assert!(matches!(err, RPCError::Unreachable(_)), "{err:?}");
    assert!(err.to_string().contains("invalid address"), "{err}");
}
