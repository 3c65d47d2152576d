//! A cluster of real nodes on loopback, each with its RocksDB store in a
//! temporary directory, and the commands the tests write.
#![allow(dead_code)]

pub mod api;
pub mod browser;
pub mod prereq;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use casehub_model::{
    Case, CaseId, DailyWindow, Gender, LegalCategory, Location, Person, PersonId, Room, RoomId,
    RoomKind, Site, SiteId, SiteKind, Station, StationId,
};
use casehub_server::proto::raft_service_client::RaftServiceClient;
use casehub_server::proto::raft_service_server::{RaftService, RaftServiceServer};
use casehub_server::proto::{
    ClientWriteReply, ClientWriteRequest, RaftPayload, RaftStreamReply, RulesVersionReply,
    RulesVersionRequest,
};
use casehub_server::{Node, NodeOptions, StateView};
use casehub_store::{Command, Request, Response, SchedulingState, TypeConfig};
use chrono::{DateTime, TimeZone, Utc};
use openraft::error::{ClientWriteError, RaftError};
use openraft::raft::AppendEntriesResponse;
use openraft::{BasicNode, Config, RaftMetrics};
use tempfile::TempDir;
use tonic::Code;

pub const TIMEOUT: Duration = Duration::from_secs(20);

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap()
}

pub fn site() -> Site {
    Site::new(
        SiteId::new("s1").unwrap(),
        "Main".into(),
        SiteKind::MainCenter,
        Location::new(30.0, 120.0).unwrap(),
        DailyWindow::ALWAYS,
        vec![
            Room::new(
                RoomId::new("in1").unwrap(),
                RoomKind::Intake,
                Some(1),
                true,
                false,
            )
            .unwrap(),
            Room::new(
                RoomId::new("h1").unwrap(),
                RoomKind::Holding,
                Some(2),
                true,
                false,
            )
            .unwrap(),
            Room::new(
                RoomId::new("q1").unwrap(),
                RoomKind::Interrogation,
                Some(1),
                true,
                false,
            )
            .unwrap(),
        ],
    )
    .unwrap()
}

pub fn station(id: &str) -> Station {
    serde_json::from_value(serde_json::json!({
        "id": id, "location": {"lat": 30.1, "lon": 120.1}, "min_on_duty": 2
    }))
    .unwrap()
}

pub fn case(id: &str, station: &str) -> Case {
    Case::new(
        CaseId::new(id).unwrap(),
        StationId::new(station).unwrap(),
        t0(),
        LegalCategory::CriminalSummons,
        vec![Person {
            id: PersonId::new("p1").unwrap(),
            gender: Gender::Male,
            juvenile: false,
            co_suspect_group: None,
        }],
    )
    .unwrap()
}

static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

/// A request with a fresh request id.
pub fn req(command: Command) -> Request {
    Request {
        client_id: "cluster-test".into(),
        request_id: NEXT_REQUEST.fetch_add(1, Ordering::Relaxed),
        actor: "operator-1".into(),
        site: Some(SiteId::new("s1").unwrap()),
        time: t0(),
        command,
        trace: None,
    }
}

/// The config of the test clusters: fast elections.
pub fn config() -> Config {
    Config {
        heartbeat_interval: 50,
        election_timeout_min: 300,
        election_timeout_max: 600,
        ..Node::default_config()
    }
}

pub struct Cluster {
    pub dir: TempDir,
    pub config: Config,
    /// The request deadline of the nodes started from now on.
    pub request_deadline: Duration,
    pub nodes: BTreeMap<u64, Node>,
    /// The address each node ever had: a restarted node takes it back.
    pub addrs: BTreeMap<u64, String>,
}

impl Cluster {
    /// Nodes `ids`, started, not initialized.
    pub async fn start(ids: impl IntoIterator<Item = u64>, config: Config) -> Cluster {
        let mut c = Cluster {
            dir: TempDir::new().unwrap(),
            config,
            request_deadline: Node::DEFAULT_REQUEST_DEADLINE,
            nodes: BTreeMap::new(),
            addrs: BTreeMap::new(),
        };
        for id in ids {
            c.start_node(id).await;
        }
        c
    }

    /// `n` nodes (1..=n), initialized as voters, with a leader.
    pub async fn voters(n: u64, config: Config) -> Cluster {
        let c = Cluster::start(1..=n, config).await;
        let members: BTreeMap<u64, BasicNode> = c
            .nodes
            .iter()
            .map(|(id, node)| (*id, node.basic_node()))
            .collect();
        c.nodes[&1].raft().initialize(members).await.unwrap();
        c.leader().await;
        c.rules_current().await;
        c
    }

    /// Wait until every node applies this build's rules.
    pub async fn rules_current(&self) {
        rules_current(self.nodes.values()).await;
    }

    /// Start node `id` from its directory, on its former address if it had one.
    pub async fn start_node(&mut self, id: u64) {
        let path = self.dir.path().join(format!("node-{id}"));
        let addr = self
            .addrs
            .get(&id)
            .cloned()
            .unwrap_or_else(|| "127.0.0.1:0".into());
        // A restarted node may find the database still locked for a moment
        // while the old instance's tasks finish.
        let deadline = Instant::now() + Duration::from_secs(10);
        let node = loop {
            let options = NodeOptions {
                raft: self.config.clone(),
                request_deadline: self.request_deadline,
                ..NodeOptions::new(id, addr.clone(), &path)
            };
            match Node::start_with_options(options).await {
                Ok(node) => break node,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("retrying start: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("{e}"),
            }
        };
        self.addrs.insert(id, node.addr().to_string());
        self.nodes.insert(id, node);
    }

    pub async fn stop_node(&mut self, id: u64) {
        self.nodes.remove(&id).unwrap().shutdown().await;
    }

    /// The one running node in the leader state, once every running voter
    /// of its membership follows it (waits for that).
    pub async fn leader(&self) -> u64 {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let metrics: BTreeMap<u64, RaftMetrics<u64, BasicNode>> = self
                .nodes
                .iter()
                .map(|(id, n)| (*id, n.raft().metrics().borrow().clone()))
                .collect();
            let leaders: Vec<u64> = metrics
                .iter()
                .filter(|(_, m)| m.state.is_leader())
                .map(|(id, _)| *id)
                .collect();
            if let [l] = leaders[..] {
                let followed = metrics[&l]
                    .membership_config
                    .membership()
                    .voter_ids()
                    .filter(|v| metrics.contains_key(v))
                    .all(|v| metrics[&v].current_leader == Some(l));
                if followed {
                    return l;
                }
            }
            assert!(Instant::now() < deadline, "no leader: {leaders:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Write through gRPC to the leader, following FAILED_PRECONDITION's
    /// leader metadata and retrying UNAVAILABLE.
    pub async fn write(&self, command: Command) -> (ClientWriteReply, Response) {
        self.write_request(&req(command)).await
    }

    /// [`Cluster::write`] of a given request (a retry keeps its ids).
    pub async fn write_request(&self, request: &Request) -> (ClientWriteReply, Response) {
        let mut target = self.addrs[&self.leader().await].clone();
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match client_write(&target, request).await {
                Ok(reply) => {
                    let response = serde_json::from_slice(&reply.response).unwrap();
                    return (reply, response);
                }
                Err(status) if Instant::now() < deadline => match status.code() {
                    Code::FailedPrecondition => {
                        target = status
                            .metadata()
                            .get("casehub-leader-addr")
                            .unwrap()
                            .to_str()
                            .unwrap()
                            .to_string()
                    }
                    Code::Unavailable => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        target = self.addrs[&self.leader().await].clone();
                    }
                    _ => panic!("write failed: {status:?}"),
                },
                Err(status) => panic!("write failed: {status:?}"),
            }
        }
    }

    /// Add `id` as a learner, through whichever node leads (retried if the
    /// leadership moves meanwhile).
    pub async fn add_learner(&self, id: u64) {
        let node = self.nodes[&id].basic_node();
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let leader = self.leader().await;
            match self.nodes[&leader]
                .raft()
                .add_learner(id, node.clone(), true)
                .await
            {
                Ok(_) => return,
                Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_)))
                    if Instant::now() < deadline => {}
                Err(e) => panic!("add_learner({id}): {e}"),
            }
        }
    }

    /// Make `voters` the voters, through whichever node leads.
    pub async fn change_membership(&self, voters: BTreeSet<u64>) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let leader = self.leader().await;
            match self.nodes[&leader]
                .raft()
                .change_membership(voters.clone(), false)
                .await
            {
                Ok(_) => return,
                Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_)))
                    if Instant::now() < deadline => {}
                Err(e) => panic!("change_membership({voters:?}): {e}"),
            }
        }
    }

    /// Wait until every running node has applied `index`; return their states.
    pub async fn applied_everywhere(&self, index: u64) -> Vec<SchedulingState> {
        let mut out = vec![];
        for node in self.nodes.values() {
            out.push(wait_applied(node.state(), index).await);
        }
        out
    }
}

pub async fn client(addr: &str) -> RaftServiceClient<tonic::transport::Channel> {
    RaftServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap()
}

pub async fn client_write(
    addr: &str,
    request: &Request,
) -> Result<ClientWriteReply, tonic::Status> {
    let mut c = match RaftServiceClient::connect(format!("http://{addr}")).await {
        Ok(c) => c,
        Err(e) => return Err(tonic::Status::unavailable(e.to_string())),
    };
    c.client_write(ClientWriteRequest {
        request: serde_json::to_vec(request).unwrap(),
    })
    .await
    .map(|r| r.into_inner())
}

/// Wait until the view shows `index` applied; return the state.
pub async fn wait_applied(view: &StateView, index: u64) -> SchedulingState {
    match tokio::time::timeout(TIMEOUT, view.wait_applied(index)).await {
        Ok(Some(applied)) => applied.state.clone(),
        Ok(None) => panic!("the node stopped before applying {index}"),
        Err(_) => panic!(
            "applied index {:?} after {TIMEOUT:?}, waiting for {index}",
            view.applied_index()
        ),
    }
}

/// Serve `service` as the Raft service of a fake node on a free loopback
/// port: its address, and the server task (abort it when done).
pub async fn serve<S: RaftService>(service: S) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(RaftServiceServer::new(service))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await;
    });
    (addr, server)
}

/// A node of a build before the AppendEntries stream and rules versions: it
/// takes every AppendEntries (unary only) and serves nothing newer.
pub struct OldBuild;

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

/// Wait until every one of `nodes` applies this build's rules (the leader
/// raises a new cluster's rules version right after its election).
pub async fn rules_current<'a>(nodes: impl Iterator<Item = &'a Node> + Clone) {
    let deadline = Instant::now() + TIMEOUT;
    while !nodes
        .clone()
        .all(|n| n.read_local().state().rules_version == casehub_store::RULES_VERSION)
    {
        assert!(
            Instant::now() < deadline,
            "the rules version was not raised"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
