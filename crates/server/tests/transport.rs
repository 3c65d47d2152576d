//! The sending side of the transport against a real node: replies, remote
//! errors and unreachable targets become the right openraft results;
//! AppendEntries goes over one stream, or the unary call to a node without it.

mod common;

use std::time::Duration;

use casehub_server::network::GrpcNetwork;
use casehub_server::proto::raft_service_server::RaftService;
use casehub_server::proto::{
    ClientWriteReply, ClientWriteRequest, RaftPayload, RaftStreamReply, RulesVersionReply,
    RulesVersionRequest,
};
use casehub_store::TypeConfig;
use common::*;
use openraft::error::{InstallSnapshotError, RPCError, RaftError};
use openraft::network::RPCOption;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, VoteRequest,
};
use openraft::{BasicNode, RaftNetwork, RaftNetworkFactory, SnapshotMeta, Vote};

fn lazy_channel(addr: &str) -> tonic::transport::Channel {
    tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy()
}

fn option() -> RPCOption {
    RPCOption::new(Duration::from_secs(5))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replies_and_remote_errors_cross_the_wire() {
    // A lone node, never initialized.
    let cluster = Cluster::start([7], config()).await;
    let target = BasicNode::new(cluster.addrs[&7].clone());
    let mut network = GrpcNetwork::new(9, None);
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
    // The node's build answers its rules version.
    assert_eq!(
        casehub_server::rules::member_version(lazy_channel(&cluster.addrs[&7])).await,
        casehub_store::RULES_VERSION
    );
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
    let mut network = GrpcNetwork::new(1, None);
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

fn heartbeat(term: u64) -> AppendEntriesRequest<TypeConfig> {
    AppendEntriesRequest {
        vote: Vote::new_committed(term, 9),
        prev_log_id: None,
        entries: vec![],
        leader_commit: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn append_entries_stream_answers_each_request_in_order_and_survives_bad_ones() {
    let cluster = Cluster::start([7], config()).await;
    let mut raw = client(&cluster.addrs[&7]).await;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut replies = raw
        .append_entries_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let send = |payload: Vec<u8>| {
        let tx = tx.clone();
        async move { tx.send(RaftPayload { payload }).await.unwrap() }
    };
    // A payload that is not an AppendEntriesRequest: an answer, not the end.
    send(b"{not json".to_vec()).await;
    let bad = replies.message().await.unwrap().unwrap();
    assert_eq!(bad.code, tonic::Code::InvalidArgument as i32, "{bad:?}");
    assert!(bad.message.contains("AppendEntriesRequest"), "{bad:?}");
    // Then two heartbeats from a leader at term 1 and 2, answered in order.
    for term in [1, 2] {
        send(serde_json::to_vec(&heartbeat(term)).unwrap()).await;
        let ok = replies.message().await.unwrap().unwrap();
        assert_eq!(ok.code, 0, "{ok:?}");
        let resp: AppendEntriesResponse<u64> = serde_json::from_slice(&ok.payload).unwrap();
        assert!(resp.is_success(), "term {term}: {resp:?}");
    }
    // The sending side uses the stream too.
    let mut network = GrpcNetwork::new(9, None);
    let mut peer = network
        .new_client(7, &BasicNode::new(cluster.addrs[&7].clone()))
        .await;
    for _ in 0..3 {
        let resp = peer.append_entries(heartbeat(2), option()).await.unwrap();
        assert!(resp.is_success(), "{resp:?}");
    }
    drop(tx);
    assert!(replies.message().await.unwrap().is_none(), "stream ends");
    for (_, node) in cluster.nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_without_the_stream_gets_unary_append_entries() {
    let (addr, server) = serve(OldBuild).await;
    let addr_of_old = addr.clone();
    let mut network = GrpcNetwork::new(9, None);
    let mut peer = network.new_client(7, &BasicNode::new(addr)).await;
    for _ in 0..2 {
        let resp = peer.append_entries(heartbeat(1), option()).await.unwrap();
        assert!(resp.is_success(), "{resp:?}");
    }
    // Nor does it serve RulesVersion: a build before rules versions.
    assert_eq!(
        casehub_server::rules::member_version(lazy_channel(&addr_of_old)).await,
        1
    );
    server.abort();
}

/// Answers each streamed AppendEntries with a `HigherVote` carrying the
/// request's term, after 300 ms for term 1 and at once otherwise.
struct EchoTerm;

#[tonic::async_trait]
impl RaftService for EchoTerm {
    async fn append_entries(
        &self,
        _: tonic::Request<RaftPayload>,
    ) -> Result<tonic::Response<RaftPayload>, tonic::Status> {
        Err(tonic::Status::internal("the stream is expected"))
    }
    type AppendEntriesStreamStream = std::pin::Pin<
        Box<dyn futures_core::Stream<Item = Result<RaftStreamReply, tonic::Status>> + Send>,
    >;
    async fn append_entries_stream(
        &self,
        request: tonic::Request<tonic::Streaming<RaftPayload>>,
    ) -> Result<tonic::Response<Self::AppendEntriesStreamStream>, tonic::Status> {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let mut inbound = request.into_inner();
        tokio::spawn(async move {
            while let Ok(Some(m)) = inbound.message().await {
                let req: AppendEntriesRequest<TypeConfig> =
                    serde_json::from_slice(&m.payload).unwrap();
                let term = req.vote.leader_id().term;
                if term == 1 {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                let resp: AppendEntriesResponse<u64> =
                    AppendEntriesResponse::HigherVote(Vote::new(term, 0));
                let reply = RaftStreamReply {
                    payload: serde_json::to_vec(&resp).unwrap(),
                    ..RaftStreamReply::default()
                };
                if tx.send(Ok(reply)).await.is_err() {
                    break;
                }
            }
        });
        Ok(tonic::Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
    async fn rules_version(
        &self,
        _: tonic::Request<RulesVersionRequest>,
    ) -> Result<tonic::Response<RulesVersionReply>, tonic::Status> {
        Err(tonic::Status::unimplemented("rules_version"))
    }
    async fn vote(
        &self,
        _: tonic::Request<RaftPayload>,
    ) -> Result<tonic::Response<RaftPayload>, tonic::Status> {
        Err(tonic::Status::unimplemented("vote"))
    }
    async fn install_snapshot(
        &self,
        _: tonic::Request<RaftPayload>,
    ) -> Result<tonic::Response<RaftPayload>, tonic::Status> {
        Err(tonic::Status::unimplemented("install_snapshot"))
    }
    async fn client_write(
        &self,
        _: tonic::Request<ClientWriteRequest>,
    ) -> Result<tonic::Response<ClientWriteReply>, tonic::Status> {
        Err(tonic::Status::unimplemented("client_write"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_call_dropped_mid_way_never_hands_its_answer_to_the_next() {
    let (addr, server) = serve(EchoTerm).await;
    let mut network = GrpcNetwork::new(9, None);
    let mut peer = network.new_client(7, &BasicNode::new(addr)).await;
    // openraft times AppendEntries out itself and drops the call.
    let dropped = tokio::time::timeout(
        Duration::from_millis(50),
        peer.append_entries(heartbeat(1), option()),
    )
    .await;
    assert!(dropped.is_err(), "the slow call should have been dropped");
    // The late answer to term 1 arrives meanwhile; each later call still gets its own.
    tokio::time::sleep(Duration::from_millis(400)).await;
    for term in [2, 3] {
        match peer
            .append_entries(heartbeat(term), option())
            .await
            .unwrap()
        {
            AppendEntriesResponse::HigherVote(v) => {
                assert_eq!(v.leader_id().term, term, "answer of another request")
            }
            other => panic!("{other:?}"),
        }
    }
    server.abort();
}
