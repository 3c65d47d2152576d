//! The sending side of the Raft transport: openraft's [`RaftNetworkFactory`]
//! and [`RaftNetwork`] over the `casehub.v1.RaftService` gRPC client.
//!
//! The factory keeps one tonic [`Channel`] per target node (keyed by node id
//! and address, so that a node that moved gets a new channel). Channels
//! connect lazily and reconnect by themselves; creating a client never fails.
//! Each call carries openraft's hard TTL as its gRPC deadline.
//!
//! A failed call becomes an [`RPCError`]:
//!
//! | outcome | `RPCError` |
//! |---|---|
//! | status UNAVAILABLE (connection refused, node stopping) | `Unreachable`: openraft backs off |
//! | status DEADLINE_EXCEEDED, or CANCELLED (the client's deadline) | `Timeout` |
//! | status carrying a `RaftError` in its details | `RemoteError` |
//! | any other status, or a reply that does not decode | `Network` |

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use casehub_store::TypeConfig;
use openraft::RPCTypes;
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Timeout, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{AnyError, BasicNode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tonic::transport::{Channel, Endpoint};

use crate::MAX_MESSAGE_SIZE;
use crate::proto::RaftPayload;
use crate::proto::raft_service_client::RaftServiceClient;

type NodeId = u64;

/// Creates a [`PeerClient`] per target node, sharing one channel per target.
#[derive(Debug, Clone)]
pub struct GrpcNetwork {
    id: NodeId,
    channels: Arc<Mutex<HashMap<(NodeId, String), Channel>>>,
}

impl GrpcNetwork {
    /// The network of node `id` (used to name the sender in errors).
    pub fn new(id: NodeId) -> Self {
        Self {
            id,
            channels: Arc::default(),
        }
    }

    fn channel(&self, target: NodeId, addr: &str) -> Result<Channel, String> {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(ch) = channels.get(&(target, addr.to_string())) {
            return Ok(ch.clone());
        }
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| format!("node {target} has an invalid address {addr:?}: {e}"))?
            .connect_timeout(Duration::from_secs(1))
            .tcp_nodelay(true);
        let ch = endpoint.connect_lazy();
        channels.retain(|(id, _), _| *id != target);
        channels.insert((target, addr.to_string()), ch.clone());
        Ok(ch)
    }
}

impl RaftNetworkFactory<TypeConfig> for GrpcNetwork {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> PeerClient {
        let client = self.channel(target, &node.addr).map(|ch| {
            RaftServiceClient::new(ch)
                .max_decoding_message_size(MAX_MESSAGE_SIZE)
                .max_encoding_message_size(MAX_MESSAGE_SIZE)
        });
        PeerClient {
            id: self.id,
            target,
            client,
        }
    }
}

/// The connection from one node to one target node.
#[derive(Debug, Clone)]
pub struct PeerClient {
    id: NodeId,
    target: NodeId,
    /// `Err` if the target's address is not a valid URI authority: every
    /// call then fails as unreachable.
    client: Result<RaftServiceClient<Channel>, String>,
}

type RpcResult<T, E = openraft::error::Infallible> =
    Result<T, RPCError<NodeId, BasicNode, RaftError<NodeId, E>>>;

impl PeerClient {
    async fn call<Req, Resp, E>(
        &mut self,
        kind: RPCTypes,
        req: &Req,
        option: &RPCOption,
    ) -> RpcResult<Resp, E>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let client = match &mut self.client {
            Ok(c) => c,
            Err(msg) => {
                return Err(RPCError::Unreachable(Unreachable::new(&AnyError::error(
                    msg.clone(),
                ))));
            }
        };
        let payload =
            serde_json::to_vec(req).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let mut request = tonic::Request::new(RaftPayload { payload });
        let ttl = option.hard_ttl();
        request.set_timeout(ttl);
        let reply = match kind {
            RPCTypes::AppendEntries => client.append_entries(request).await,
            RPCTypes::Vote => client.vote(request).await,
            RPCTypes::InstallSnapshot => client.install_snapshot(request).await,
        };
        match reply {
            Ok(reply) => serde_json::from_slice(&reply.into_inner().payload).map_err(|e| {
                RPCError::Network(NetworkError::new(&AnyError::error(format!(
                    "{kind} reply from node {} does not decode: {e}",
                    self.target
                ))))
            }),
            Err(status) => Err(self.status_error(kind, ttl, status)),
        }
    }

    fn status_error<E>(
        &self,
        kind: RPCTypes,
        ttl: Duration,
        status: tonic::Status,
    ) -> RPCError<NodeId, BasicNode, RaftError<NodeId, E>>
    where
        E: std::error::Error + DeserializeOwned,
    {
        match status.code() {
            tonic::Code::Unavailable => RPCError::Unreachable(Unreachable::new(&status)),
            // DEADLINE_EXCEEDED from the server, CANCELLED when the client's
            // own deadline (the same TTL) expired first.
            tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => RPCError::Timeout(Timeout {
                action: kind,
                id: self.id,
                target: self.target,
                timeout: ttl,
            }),
            _ => match serde_json::from_slice::<RaftError<NodeId, E>>(status.details()) {
                Ok(remote) => RPCError::RemoteError(RemoteError::new(self.target, remote)),
                Err(_) => RPCError::Network(NetworkError::new(&status)),
            },
        }
    }
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>> {
        self.call(RPCTypes::AppendEntries, &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
        self.call(RPCTypes::InstallSnapshot, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<NodeId>> {
        self.call(RPCTypes::Vote, &rpc, &option).await
    }
}
