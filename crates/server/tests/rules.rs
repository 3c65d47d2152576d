//! Rules versions across builds: while a member runs a build before rules
//! versions, the cluster keeps the first rules and a command of newer rules
//! is refused before it reaches the log; clients cannot raise the version
//! themselves.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use casehub_model::CaseId;
use casehub_server::proto::raft_service_server::{RaftService, RaftServiceServer};
use casehub_server::proto::store_service_client::StoreServiceClient;
use casehub_server::proto::{
    ClientWriteReply, ClientWriteRequest, RaftPayload, RaftStreamReply, RulesVersionReply,
    RulesVersionRequest, WriteRequest,
};
use casehub_store::{Command, Conflict, Response, TypeConfig};
use common::*;
use openraft::BasicNode;
use openraft::raft::AppendEntriesResponse;

/// A member of an older build: it takes every AppendEntries (unary only)
/// and serves nothing newer.
struct OldBuild;

#[tonic::async_trait]
impl RaftService for OldBuild {
    async fn append_entries(
        &self,
        request: tonic::Request<RaftPayload>,
    ) -> Result<tonic::Response<RaftPayload>, tonic::Status> {
        // It decodes what it is sent, as an old node would have to.
        let _: openraft::raft::AppendEntriesRequest<TypeConfig> =
            serde_json::from_slice(&request.into_inner().payload)
                .map_err(|e| tonic::Status::invalid_argument(e.to_string()))?;
        let resp: AppendEntriesResponse<u64> = AppendEntriesResponse::Success;
        Ok(tonic::Response::new(RaftPayload {
            payload: serde_json::to_vec(&resp).unwrap(),
        }))
    }
    type AppendEntriesStreamStream = std::pin::Pin<
        Box<dyn futures_core::Stream<Item = Result<RaftStreamReply, tonic::Status>> + Send>,
    >;
    async fn append_entries_stream(
        &self,
        _: tonic::Request<tonic::Streaming<RaftPayload>>,
    ) -> Result<tonic::Response<Self::AppendEntriesStreamStream>, tonic::Status> {
        Err(tonic::Status::unimplemented("an older build"))
    }
    async fn rules_version(
        &self,
        _: tonic::Request<RulesVersionRequest>,
    ) -> Result<tonic::Response<RulesVersionReply>, tonic::Status> {
        Err(tonic::Status::unimplemented("an older build"))
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
async fn an_older_member_keeps_the_first_rules_and_newer_commands_out_of_the_log() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let old_addr = listener.local_addr().unwrap().to_string();
    let old = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(RaftServiceServer::new(OldBuild))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let cluster = Cluster::start(1..=3, config()).await;
    let mut members: BTreeMap<u64, BasicNode> = cluster
        .nodes
        .iter()
        .map(|(id, n)| (*id, n.basic_node()))
        .collect();
    members.insert(4, BasicNode::new(old_addr));
    cluster.nodes[&1].raft().initialize(members).await.unwrap();
    let leader = cluster.leader().await;
    let setup = [
        Command::UpsertSite(site()),
        Command::UpsertStation(station("st1")),
        Command::SubmitCase(case("c1", "st1")),
    ];
    for command in setup {
        let (_, response) = cluster.write(command).await;
        assert!(response.is_applied(), "{response:?}");
    }
    // Long enough for many checks of the members: the rules stay the first.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let node = &cluster.nodes[&leader];
    assert_eq!(node.read_local().state().rules_version, 0);

    // A delay report needs rules 2: refused before the log.
    let last = node.raft().metrics().borrow().last_log_index;
    let (_, response) = cluster
        .write(Command::ReportDelay {
            case: CaseId::new("c1").unwrap(),
            team: None,
            minutes: 10,
            picked_up: false,
            reason: String::new(),
        })
        .await;
    let Response::Rejected { conflicts, .. } = &response else {
        panic!("{response:?}")
    };
    assert!(
        matches!(&conflicts[0], Conflict::Invalid { field, reason }
            if field == "command" && reason.contains("version 2")),
        "{conflicts:?}"
    );
    assert_eq!(node.raft().metrics().borrow().last_log_index, last);

    // Clients cannot raise the version, nor use the nodes' client id.
    let mut store = StoreServiceClient::connect(format!("http://{}", cluster.addrs[&leader]))
        .await
        .unwrap();
    for request in [
        req(Command::SetRulesVersion(casehub_store::RULES_VERSION)),
        casehub_store::Request {
            client_id: casehub_server::rules::RULES_CLIENT.into(),
            ..req(Command::UpsertStation(station("st9")))
        },
    ] {
        let status = store
            .write(WriteRequest {
                request: serde_json::to_vec(&request).unwrap(),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    }
    assert_eq!(node.read_local().state().rules_version, 0);
    for (_, node) in cluster.nodes {
        node.shutdown().await;
    }
    old.abort();
}
