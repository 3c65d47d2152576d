//! A casehub node: the store on disk, the Raft instance and the gRPC server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use casehub_store::TypeConfig;
use openraft::error::Fatal;
use openraft::{BasicNode, Config, ConfigError, Raft, StorageError};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;

use crate::MAX_MESSAGE_SIZE;
use crate::network::GrpcNetwork;
use crate::proto::raft_service_server::RaftServiceServer;
use crate::service::RaftGrpc;
use crate::view::{ObservedStateMachine, StateView};

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
}

/// One running node. Stop it with [`Node::shutdown`]: dropping it leaves the
/// Raft tasks and the server running.
pub struct Node {
    id: NodeId,
    addr: SocketAddr,
    raft: Raft<TypeConfig>,
    view: StateView,
    stop: oneshot::Sender<()>,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("id", &self.id)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Node {
    /// The Raft configuration [`Node::start`] uses: heartbeat every 100 ms,
    /// election timeout 400–800 ms, snapshot chunks of at most 1 MiB (a
    /// chunk is sent as JSON, about 4 times its size in bytes).
    pub fn default_config() -> Config {
        Config {
            cluster_name: "casehub".into(),
            heartbeat_interval: 100,
            election_timeout_min: 400,
            election_timeout_max: 800,
            snapshot_max_chunk_size: 1 << 20,
            ..Config::default()
        }
    }

    /// Start node `id` with [`Node::default_config`]: see
    /// [`Node::start_with_config`].
    pub async fn start(
        id: NodeId,
        addr: &str,
        data_dir: impl AsRef<Path>,
    ) -> Result<Node, NodeError> {
        Self::start_with_config(id, addr, data_dir, Self::default_config()).await
    }

    /// Start node `id`: bind `addr` (port 0 picks a free port; see
    /// [`Node::addr`]), open (or create) the RocksDB store in `data_dir`,
    /// build the Raft instance on it and serve `casehub.v1.RaftService`.
    ///
    /// A new cluster still has to be initialized, once, on one node
    /// (`node.raft().initialize(members)`); a node restarted from its data
    /// directory resumes its vote, log and state and needs nothing more.
    pub async fn start_with_config(
        id: NodeId,
        addr: &str,
        data_dir: impl AsRef<Path>,
        config: Config,
    ) -> Result<Node, NodeError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| NodeError::Bind {
                id,
                addr: addr.to_string(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| NodeError::Bind {
            id,
            addr: addr.to_string(),
            source,
        })?;
        let path = data_dir.as_ref().to_path_buf();
        let store_error = |source| NodeError::Store {
            id,
            path: path.clone(),
            source: Box::new(source),
        };
        let (log, sm) = casehub_store::rocks::open(&path)
            .await
            .map_err(store_error)?;
        let (sm, view) = ObservedStateMachine::new(sm).await.map_err(store_error)?;
        let config = config
            .validate()
            .map_err(|source| NodeError::Config { id, source })?;
        let raft = Raft::new(id, Arc::new(config), GrpcNetwork::new(id), log, sm)
            .await
            .map_err(|source| NodeError::Raft { id, source })?;

        let service = RaftServiceServer::new(RaftGrpc::new(raft.clone()))
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE);
        let (stop, stopped) = oneshot::channel::<()>();
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        let server = tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = stopped.await;
                }),
        );
        Ok(Node {
            id,
            addr,
            raft,
            view,
            stop,
            server,
        })
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The address the node listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// This node as a member of a membership: its address.
    pub fn basic_node(&self) -> BasicNode {
        BasicNode::new(self.addr.to_string())
    }

    /// The Raft instance: initialize, membership changes, metrics, waits,
    /// local client writes.
    pub fn raft(&self) -> &Raft<TypeConfig> {
        &self.raft
    }

    /// The scheduling state as applied on this node.
    pub fn state(&self) -> &StateView {
        &self.view
    }

    /// Stop Raft (its storage is dropped and the database closed), then the
    /// server (in-flight calls get UNAVAILABLE; after 5 s the server task is
    /// aborted).
    pub async fn shutdown(self) {
        let _ = self.raft.shutdown().await;
        drop(self.raft);
        let _ = self.stop.send(());
        let mut server = self.server;
        if tokio::time::timeout(Duration::from_secs(5), &mut server)
            .await
            .is_err()
        {
            server.abort();
        }
    }
}
