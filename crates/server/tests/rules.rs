//! Rules versions across builds: while a member runs a build before rules
//! versions, the cluster keeps the first rules and a command of newer rules
//! is refused before it reaches the log; clients cannot raise the version
//! themselves.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use casehub_model::CaseId;
use casehub_server::proto::WriteRequest;
use casehub_server::proto::store_service_client::StoreServiceClient;
use casehub_store::{Command, Conflict, Response};
use common::*;
use openraft::BasicNode;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_older_member_keeps_the_first_rules_and_newer_commands_out_of_the_log() {
    let (old_addr, old) = serve(OldBuild).await;
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
        // Nor through Raft's ClientWrite without a node's certificate.
        let status = common::client_write(&cluster.addrs[&leader], &request)
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains("reserved"), "{status:?}");
    }
    assert_eq!(node.read_local().state().rules_version, 0);
    for (_, node) in cluster.nodes {
        node.shutdown().await;
    }
    old.abort();
}
