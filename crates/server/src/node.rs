//! A casehub node: the store on disk, the Raft instance and the gRPC server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use casehub_store::{Request, TypeConfig};
use openraft::error::Fatal;
use openraft::{BasicNode, Config, ConfigError, Raft, StorageError};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;

use crate::MAX_MESSAGE_SIZE;
use crate::api::{ClusterError, ReadState, Written};
use crate::auth::AuthLayer;
use crate::forward::{Core, Proposer};
use crate::network::GrpcNetwork;
use crate::pki::Principal;
use crate::proto::raft_service_server::RaftServiceServer;
use crate::proto::store_service_server::StoreServiceServer;
use crate::service::{RaftGrpc, StoreGrpc};
use crate::tls::{Listener, PeerIdentity, Tls};
use crate::view::{ObservedStateMachine, StateView};
use tonic::service::interceptor::InterceptedService;

type NodeId = u64;

/// Why a node did not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The listening address could not be bound.
    #[error("node {id}: cannot listen on {addr}: {source}")]
    Bind {
        id: NodeId,
        addr: String,
        source: std::io::Error,
    },
    /// The RocksDB store could not be opened, or its state does not decode.
    #[error("node {id}: cannot open the store at {}: {source}", path.display())]
    Store {
        id: NodeId,
        path: PathBuf,
        source: Box<StorageError<NodeId>>,
    },
    /// The Raft configuration is invalid.
    #[error("node {id}: invalid Raft configuration: {source}")]
    Config { id: NodeId, source: ConfigError },
    /// openraft failed to start.
    #[error("node {id}: Raft did not start: {source}")]
    Raft { id: NodeId, source: Fatal<NodeId> },
    /// The TLS material does not fit this node.
    #[error("node {id}: {message}")]
    Tls { id: NodeId, message: String },
    /// The particulars key file is inside the data directory.
    #[error("node {id}: particulars key: {message}")]
    Particulars { id: NodeId, message: String },
    /// The API's reflection descriptors did not load.
    #[error("node {id}: the API did not start: {source}")]
    Api {
        id: NodeId,
        source: tonic_reflection::server::Error,
    },
}

/// Everything [`Node::start_with_options`] needs.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// The node's id in the cluster.
    pub id: NodeId,
    /// The peer address to listen on (port 0 picks a free port): Raft, the
    /// forwarding to the leader, the rules-version check and the raw store,
    /// for the other nodes only.
    pub listen: String,
    /// The client address to listen on (port 0 picks a free port): the
    /// casehub API, health and reflection.
    pub client_listen: String,
    /// TLS on both listeners and on calls to other nodes; `None` is
    /// plaintext, for development only (the node logs a warning when it
    /// starts).
    pub tls: Option<Arc<Tls>>,
    /// The peer address the other nodes use to reach this one, if it
    /// differs from the bound address (a NAT, a service name).
    pub advertise: Option<String>,
    /// Where the RocksDB store lives (created if missing).
    pub data_dir: PathBuf,
    /// The Raft configuration.
    pub raft: Config,
    /// How long a write or a linearizable read may take, elections and
    /// forwarding included, before it fails.
    pub request_deadline: Duration,
    /// The casehub API (availability, dispatch, alerts, audit, admin), with
    /// the region's static parts it plans with; `None` serves only Raft and
    /// the store.
    pub api: Option<Arc<crate::grpc_api::ApiContext>>,
    /// The keys that seal and open the persons' particulars (a file
    /// outside `data_dir`); `None`: the API refuses particulars, and shows
    /// the ones in the state as unavailable.
    pub particulars: Option<Arc<crate::particulars::Keys>>,
}

impl NodeOptions {
    /// Node `id` with its peer listener on `listen` and its client listener
    /// on a free port of the same host, its store in `data_dir`, no TLS, the
    /// default Raft configuration and a 10 s request deadline.
    pub fn new(id: NodeId, listen: impl Into<String>, data_dir: impl AsRef<Path>) -> Self {
        let listen = listen.into();
        let host = listen
            .rsplit_once(':')
            .map_or("127.0.0.1", |(h, _)| h)
            .to_string();
        NodeOptions {
            id,
            listen,
            client_listen: format!("{host}:0"),
            tls: None,
            advertise: None,
            data_dir: data_dir.as_ref().to_path_buf(),
            raft: Node::default_config(),
            request_deadline: Node::DEFAULT_REQUEST_DEADLINE,
            api: None,
            particulars: None,
        }
    }
}

/// One running node. Stop it with [`Node::shutdown`]: dropping it leaves the
/// Raft tasks and the server running.
pub struct Node {
    addr: SocketAddr,
    client_addr: SocketAddr,
    core: Arc<Core>,
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<Result<(), tonic::transport::Error>>>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("id", &self.core.id)
            .field("addr", &self.addr)
            .field("client_addr", &self.client_addr)
            .finish_non_exhaustive()
    }
}

impl Node {
    /// The deadline of a write or a linearizable read: 10 s.
    pub const DEFAULT_REQUEST_DEADLINE: Duration = Duration::from_secs(10);

    /// The Raft configuration [`Node::start`] uses: heartbeat every 100 ms,
    /// election timeout 400–800 ms, snapshot chunks of at most 1 MiB (a
    /// chunk is sent as JSON, about 4 times its size in bytes), at most 32
    /// entries per AppendEntries (an entry holds up to 1 MiB of grouped
    /// requests, so that one message stays within the 64 MiB gRPC limit).
    pub fn default_config() -> Config {
        Config {
            cluster_name: "casehub".into(),
            heartbeat_interval: 100,
            election_timeout_min: 400,
            election_timeout_max: 800,
            snapshot_max_chunk_size: 1 << 20,
            max_payload_entries: 32,
            ..Config::default()
        }
    }

    /// Start node `id` with [`Node::default_config`]: see
    /// [`Node::start_with_options`].
    pub async fn start(
        id: NodeId,
        addr: &str,
        data_dir: impl AsRef<Path>,
    ) -> Result<Node, NodeError> {
        Self::start_with_options(NodeOptions::new(id, addr, data_dir)).await
    }

    /// Start node `id` with a Raft configuration: see
    /// [`Node::start_with_options`].
    pub async fn start_with_config(
        id: NodeId,
        addr: &str,
        data_dir: impl AsRef<Path>,
        config: Config,
    ) -> Result<Node, NodeError> {
        Self::start_with_options(NodeOptions {
            raft: config,
            ..NodeOptions::new(id, addr, data_dir)
        })
        .await
    }

    /// Start a node: bind `listen` (port 0 picks a free port; see
    /// [`Node::addr`]), open (or create) the RocksDB store in `data_dir`,
    /// build the Raft instance on it and serve `casehub.v1.RaftService` and
    /// `casehub.v1.StoreService`.
    ///
    /// A new cluster still has to be initialized, once, on one node
    /// (`node.raft().initialize(members)`); a node restarted from its data
    /// directory resumes its vote, log and state and needs nothing more.
    pub async fn start_with_options(options: NodeOptions) -> Result<Node, NodeError> {
        let NodeOptions {
            id,
            listen,
            client_listen,
            tls,
            advertise,
            data_dir,
            raft: config,
            request_deadline,
            api,
            particulars,
        } = options;
        if let Some(keys) = &particulars {
            crate::particulars::check_outside(keys.path(), &data_dir)
                .map_err(|message| NodeError::Particulars { id, message })?;
        }
        match tls.as_ref().map(|t| t.principal()) {
            None => tracing::warn!(
                node_id = id,
                "PLAINTEXT: TLS is off (a development setting): anyone on the network can \
                 read and write this node's traffic and call its peer port"
            ),
            Some(Principal::Node(n)) if n == id => {}
            Some(other) => {
                return Err(NodeError::Tls {
                    id,
                    message: format!(
                        "the node certificate names {other}, not node {id}: \
                         make one with `casehub cert node --id {id}`"
                    ),
                });
            }
        }
        let (listener, addr) = bind(id, &listen).await?;
        let (client_listener, client_addr) = bind(id, &client_listen).await?;
        let path = data_dir;
        let store_error = |source| NodeError::Store {
            id,
            path: path.clone(),
            source: Box::new(source),
        };
        let (log, sm) = casehub_store::rocks::open(&path)
            .await
            .map_err(store_error)?;
        // Each node's apply of a request joins the trace that proposed it.
        let sm = sm.with_trace_hook(crate::telemetry::join_trace);
        let (sm, view) = ObservedStateMachine::new(sm).await.map_err(store_error)?;
        let config = config
            .validate()
            .map_err(|source| NodeError::Config { id, source })?;
        let raft = Raft::new(
            id,
            Arc::new(config),
            GrpcNetwork::new(id, tls.clone()),
            log,
            sm,
        )
        .await
        .map_err(|source| NodeError::Raft { id, source })?;

        let proposer = Proposer::new(raft.clone(), view.clone());
        let core = Arc::new(Core::new(
            id,
            advertise.unwrap_or_else(|| addr.to_string()),
            raft.clone(),
            proposer.clone(),
            view,
            request_deadline,
            tls.clone(),
        ));
        let (stop, stopped) = watch::channel(false);
        crate::rules::spawn(core.clone(), stopped.clone());
        crate::retention::spawn(core.clone(), stopped.clone());
        if let Some(ctx) = &api {
            crate::alert_monitor::spawn(core.clone(), ctx.clone(), stopped.clone());
        }

        // The peer listener: the other nodes only.
        let identity = PeerIdentity { tls: tls.is_some() };
        let raft_service = InterceptedService::new(
            RaftServiceServer::new(RaftGrpc::with_proposer(raft, proposer, stopped.clone()))
                .max_decoding_message_size(MAX_MESSAGE_SIZE)
                .max_encoding_message_size(MAX_MESSAGE_SIZE),
            identity,
        );
        let store_service = InterceptedService::new(
            StoreServiceServer::new(StoreGrpc::new(core.clone()))
                .max_decoding_message_size(crate::MAX_REQUEST_SIZE)
                .max_encoding_message_size(MAX_MESSAGE_SIZE),
            identity,
        );
        let peer_routes = tonic::service::Routes::new(raft_service).add_service(store_service);

        // The client listener: the public API, health and reflection.
        let client_routes = match api {
            Some(ctx) => crate::grpc_api::add_routes(core.clone(), ctx, particulars)
                .await
                .map_err(|source| NodeError::Api { id, source })?,
            None => tonic::service::Routes::new(tonic_health::server::health_reporter().1),
        };
        let servers = vec![
            serve(
                peer_routes,
                listener,
                tls.clone(),
                Listener::Peer,
                AuthLayer::off(),
                stopped.clone(),
            ),
            serve(
                client_routes,
                client_listener,
                tls,
                Listener::Client,
                AuthLayer::new(core.view.clone()),
                stopped,
            ),
        ];
        Ok(Node {
            addr,
            client_addr,
            core,
            stop,
            servers,
        })
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.core.id
    }

    /// The address the node's peer listener is bound to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address the node's client listener (the casehub API) is bound to.
    pub fn client_addr(&self) -> SocketAddr {
        self.client_addr
    }

    /// This node as a member of a membership: its advertised address (the
    /// bound address unless [`NodeOptions::advertise`] says otherwise).
    pub fn basic_node(&self) -> BasicNode {
        BasicNode::new(self.core.advertise.clone())
    }

    /// The Raft instance: initialize, membership changes, metrics, waits,
    /// local client writes.
    pub fn raft(&self) -> &Raft<TypeConfig> {
        &self.core.raft
    }

    /// The scheduling state as applied on this node.
    pub fn state(&self) -> &StateView {
        &self.core.view
    }

    /// The leader this node knows of, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.core.raft.metrics().borrow().current_leader
    }

    /// Submit a request through this node: appended here if this node leads,
    /// else forwarded over gRPC to the leader (RaftService's ClientWrite),
    /// retried while an election is under way, up to the request deadline.
    /// The error names the last leader known and its address.
    ///
    /// A retry with the same `(client_id, request_id)` is safe: the state
    /// machine answers it with the first response.
    pub async fn write(&self, request: &Request) -> Result<Written, ClusterError> {
        self.core.write(request).await
    }

    /// A linearizable read: the state reflects every write acknowledged
    /// before the call. On the leader, a read index confirmed with a quorum
    /// (`Raft::ensure_linearizable`); on a follower, the leader's read index
    /// over gRPC; then this node waits until it has applied that index.
    pub async fn read_linearizable(&self) -> Result<ReadState, ClusterError> {
        self.core.read_linearizable().await
    }

    /// A local read: this node's applied state as it is, possibly stale;
    /// [`ReadState::applied_index`] says how fresh.
    pub fn read_local(&self) -> ReadState {
        self.core.read_local()
    }

    /// Stop Raft (its storage is dropped and the database closed), then the
    /// server (in-flight calls get UNAVAILABLE; after 5 s the server task is
    /// aborted).
    pub async fn shutdown(self) {
        let _ = self.core.raft.shutdown().await;
        let _ = self.stop.send(true);
        for mut server in self.servers {
            if tokio::time::timeout(Duration::from_secs(5), &mut server)
                .await
                .is_err()
            {
                server.abort();
            }
        }
    }
}

async fn bind(id: NodeId, listen: &str) -> Result<(TcpListener, SocketAddr), NodeError> {
    let error = |source| NodeError::Bind {
        id,
        addr: listen.to_string(),
        source,
    };
    let listener = TcpListener::bind(listen).await.map_err(error)?;
    let addr = listener.local_addr().map_err(error)?;
    Ok((listener, addr))
}

/// Serve `routes` on `listener` until `stopped`: over TLS with `tls`'s
/// configuration for `which`, or in plaintext.
fn serve(
    routes: tonic::service::Routes,
    listener: TcpListener,
    tls: Option<Arc<Tls>>,
    which: Listener,
    auth: AuthLayer,
    stopped: watch::Receiver<bool>,
) -> JoinHandle<Result<(), tonic::transport::Error>> {
    let mut until = stopped.clone();
    let shutdown = async move {
        let _ = until.wait_for(|s| *s).await;
    };
    // Browsers (the console) may speak HTTP/1.1 to the client listener.
    let http1 = matches!(which, Listener::Client);
    let server = tonic::transport::Server::builder()
        .accept_http1(http1)
        .layer(crate::telemetry::TraceContextLayer)
        .layer(auth)
        .add_routes(routes);
    match tls {
        Some(tls) => tokio::spawn(server.serve_with_incoming_shutdown(
            crate::tls::incoming(listener, tls, which, stopped),
            shutdown,
        )),
        None => tokio::spawn(server.serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown,
        )),
    }
}
