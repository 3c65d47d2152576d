//! The receiving side of the Raft transport: the `casehub.v1.RaftService`
//! gRPC service, handing each call to the local [`openraft::Raft`].
//! `AppendEntriesStream` answers each request of the stream in order, an
//! error as an answer; it ends when the sender closes it or the node stops.
//!
//! A payload that does not decode is answered INVALID_ARGUMENT with the rpc,
//! the expected type and serde's message; the node keeps serving. A Raft
//! error is answered with a status (see `proto/casehub/v1/raft.proto`) whose
//! details carry the error as JSON.

use std::sync::Arc;

use casehub_store::{Request, TypeConfig};
use openraft::error::{CheckIsLeaderError, ClientWriteError, RaftError};
use openraft::{BasicNode, Raft};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tonic::metadata::MetadataValue;
use tonic::{Code, Status};
use tracing::Instrument;

use crate::api::{ClusterError, Consistency as ApiConsistency, ReadState};
use crate::forward::{Core, LEADER_ADDR_KEY, LEADER_ID_KEY, Proposer};
use crate::proto::raft_service_server::RaftService;
use crate::proto::store_service_server::StoreService;
use crate::proto::{
    ClientWriteReply, ClientWriteRequest, Consistency, RaftPayload, RaftStreamReply,
    ReadIndexReply, ReadIndexRequest, ReadReply, ReadRequest, RulesVersionReply,
    RulesVersionRequest, WriteReply, WriteRequest,
};
use crate::tls::PeerNode;
use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};

type NodeId = u64;

/// The gRPC service of one node.
#[derive(Clone)]
pub struct RaftGrpc {
    raft: Raft<TypeConfig>,
    proposer: Proposer,
    /// Turns true when the node stops (or its sender is dropped): open
    /// AppendEntriesStreams end.
    stopped: watch::Receiver<bool>,
}

impl RaftGrpc {
    /// The service answering for `raft`, proposing writes through the
    /// node's `proposer` (shared with its local writes).
    pub(crate) fn with_proposer(
        raft: Raft<TypeConfig>,
        proposer: Proposer,
        stopped: watch::Receiver<bool>,
    ) -> Self {
        Self {
            raft,
            proposer,
            stopped,
        }
    }
}

/// Decode a JSON payload, or INVALID_ARGUMENT naming the rpc and the type.
fn decode<T: DeserializeOwned>(rpc: &str, what: &str, bytes: &[u8]) -> Result<T, Status> {
    serde_json::from_slice(bytes).map_err(|e| {
        Status::invalid_argument(format!("{rpc}: the payload is not a JSON {what}: {e}"))
    })
}

fn encode<T: Serialize>(rpc: &str, value: &T) -> Result<Vec<u8>, Status> {
    serde_json::to_vec(value)
        .map_err(|e| Status::internal(format!("{rpc}: the reply does not encode: {e}")))
}

/// A Raft error as a status: UNAVAILABLE if the node is stopping, `api_code`
/// for an API error; the details carry the error as JSON.
fn raft_status<E>(rpc: &str, err: &RaftError<NodeId, E>, api_code: Code) -> Status
where
    E: std::error::Error + Serialize,
{
    let code = match err {
        RaftError::Fatal(_) => Code::Unavailable,
        RaftError::APIError(_) => api_code,
    };
    let details = serde_json::to_vec(err).unwrap_or_default();
    Status::with_details(code, format!("{rpc}: {err}"), details.into())
}

/// Refuse a Raft message that claims to come from node `claimed` when the
/// caller's node certificate (see [`PeerNode`]) names another: one node
/// cannot speak for another.
fn check_sender(rpc: &str, peer: Option<PeerNode>, claimed: NodeId) -> Result<(), Status> {
    match peer {
        Some(PeerNode(id)) if id != claimed => Err(Status::permission_denied(format!(
            "{rpc}: the caller's certificate names node {id}, but the message claims node {claimed}"
        ))),
        _ => Ok(()),
    }
}

/// INVALID_ARGUMENT for a request with the nodes' reserved client id or
/// `SetRulesVersion`: only the nodes raise the rules version.
fn reserved_for_nodes(rpc: &str, req: &Request) -> Result<(), Status> {
    if req.client_id == crate::rules::RULES_CLIENT
        || req.client_id == crate::retention::RETENTION_CLIENT
        || req.client_id == crate::retention::ARCHIVE_CLIENT
        || req.client_id == crate::alert_monitor::ALERTS_CLIENT
        || matches!(
            req.command,
            casehub_store::Command::SetRulesVersion(_)
                | casehub_store::Command::PurgeParticulars { .. }
                | casehub_store::Command::Archive { .. }
                | casehub_store::Command::AlertSweep { .. }
        )
    {
        return Err(Status::invalid_argument(format!(
            "{rpc}: client ids {:?}, {:?}, {:?} and {:?}, SetRulesVersion, PurgeParticulars, Archive and AlertSweep are reserved for the nodes themselves",
            crate::rules::RULES_CLIENT,
            crate::retention::RETENTION_CLIENT,
            crate::retention::ARCHIVE_CLIENT,
            crate::alert_monitor::ALERTS_CLIENT
        )));
    }
    Ok(())
}

/// One AppendEntries, unary or streamed: decode the request, check that the
/// caller's certificate names its leader, hand it to `raft`, encode the
/// answer. Also whether Raft has stopped (a fatal error).
async fn append_entries(
    raft: &Raft<TypeConfig>,
    rpc: &str,
    peer: Option<PeerNode>,
    payload: &[u8],
) -> (Result<Vec<u8>, Status>, bool) {
    let req: AppendEntriesRequest<TypeConfig> = match decode(rpc, "AppendEntriesRequest", payload) {
        Ok(req) => req,
        Err(status) => return (Err(status), false),
    };
    if let Err(status) = check_sender(rpc, peer, req.vote.leader_id().voted_for().unwrap_or(0)) {
        return (Err(status), false);
    }
    match raft.append_entries(req).await {
        Ok(resp) => (encode(rpc, &resp), false),
        Err(e) => (
            Err(raft_status(rpc, &e, Code::Internal)),
            matches!(e, RaftError::Fatal(_)),
        ),
    }
}

#[tonic::async_trait]
impl RaftService for RaftGrpc {
    #[tracing::instrument(
        name = "casehub.v1.RaftService/AppendEntries",
        level = "debug",
        skip_all
    )]
    async fn append_entries(
        &self,
        request: tonic::Request<RaftPayload>,
    ) -> Result<tonic::Response<RaftPayload>, Status> {
        let peer = request.extensions().get::<PeerNode>().copied();
        let (answer, _) = append_entries(
            &self.raft,
            "AppendEntries",
            peer,
            &request.into_inner().payload,
        )
        .await;
        Ok(tonic::Response::new(RaftPayload { payload: answer? }))
    }

    type AppendEntriesStreamStream = std::pin::Pin<
        Box<dyn futures_core::Stream<Item = Result<RaftStreamReply, Status>> + Send + 'static>,
    >;

    #[tracing::instrument(
        name = "casehub.v1.RaftService/AppendEntriesStream",
        level = "debug",
        skip_all
    )]
    async fn append_entries_stream(
        &self,
        request: tonic::Request<tonic::Streaming<RaftPayload>>,
    ) -> Result<tonic::Response<Self::AppendEntriesStreamStream>, Status> {
        const RPC: &str = "AppendEntriesStream";
        let peer = request.extensions().get::<PeerNode>().copied();
        let inbound = request.into_inner();
        let raft = self.raft.clone();
        // Each request is handled as the reply stream is polled: in order,
        // one at a time, with no task of its own.
        // A node that is stopping answers once more (UNAVAILABLE), then ends
        // the stream, so that its server can stop and the sender reconnects.
        let replies = futures_util::stream::unfold(
            (inbound, raft, self.stopped.clone(), false),
            move |(mut inbound, raft, mut stopped, stopping)| async move {
                if stopping || *stopped.borrow() {
                    return None;
                }
                let message = tokio::select! {
                    m = inbound.message() => m,
                    // The node stops (or its sender is gone): end the
                    // stream, so that its server can stop.
                    _ = stopped.wait_for(|s| *s) => return None,
                };
                let payload = match message {
                    Ok(Some(m)) => m.payload,
                    // The sender closed the stream, or it broke.
                    Ok(None) | Err(_) => return None,
                };
                // One span per request, named as the unary call's.
                let span =
                    tracing::debug_span!("casehub.v1.RaftService/AppendEntries", stream = true);
                let (answer, stopping) = append_entries(&raft, RPC, peer, &payload)
                    .instrument(span)
                    .await;
                let reply = match answer {
                    Ok(payload) => RaftStreamReply {
                        payload,
                        ..RaftStreamReply::default()
                    },
                    Err(status) => RaftStreamReply {
                        payload: Vec::new(),
                        code: status.code() as i32,
                        message: status.message().to_string(),
                        details: status.details().to_vec(),
                    },
                };
                Some((Ok(reply), (inbound, raft, stopped, stopping)))
            },
        );
        Ok(tonic::Response::new(Box::pin(replies)))
    }

    async fn rules_version(
        &self,
        _: tonic::Request<RulesVersionRequest>,
    ) -> Result<tonic::Response<RulesVersionReply>, Status> {
        Ok(tonic::Response::new(RulesVersionReply {
            version: casehub_store::RULES_VERSION,
        }))
    }

    #[tracing::instrument(name = "casehub.v1.RaftService/Vote", level = "debug", skip_all)]
    async fn vote(
        &self,
        request: tonic::Request<RaftPayload>,
    ) -> Result<tonic::Response<RaftPayload>, Status> {
        const RPC: &str = "Vote";
        let peer = request.extensions().get::<PeerNode>().copied();
        let req: VoteRequest<NodeId> = decode(RPC, "VoteRequest", &request.into_inner().payload)?;
        check_sender(RPC, peer, req.vote.leader_id().voted_for().unwrap_or(0))?;
        let resp = self
            .raft
            .vote(req)
            .await
            .map_err(|e| raft_status(RPC, &e, Code::Internal))?;
        Ok(tonic::Response::new(RaftPayload {
            payload: encode(RPC, &resp)?,
        }))
    }

    #[tracing::instrument(name = "casehub.v1.RaftService/InstallSnapshot", skip_all)]
    async fn install_snapshot(
        &self,
        request: tonic::Request<RaftPayload>,
    ) -> Result<tonic::Response<RaftPayload>, Status> {
        const RPC: &str = "InstallSnapshot";
        let peer = request.extensions().get::<PeerNode>().copied();
        let req: InstallSnapshotRequest<TypeConfig> =
            decode(RPC, "InstallSnapshotRequest", &request.into_inner().payload)?;
        check_sender(RPC, peer, req.vote.leader_id().voted_for().unwrap_or(0))?;
        let resp = self
            .raft
            .install_snapshot(req)
            .await
            .map_err(|e| raft_status(RPC, &e, Code::FailedPrecondition))?;
        Ok(tonic::Response::new(RaftPayload {
            payload: encode(RPC, &resp)?,
        }))
    }

    #[tracing::instrument(name = "casehub.v1.RaftService/ClientWrite", skip_all)]
    async fn client_write(
        &self,
        request: tonic::Request<ClientWriteRequest>,
    ) -> Result<tonic::Response<ClientWriteReply>, Status> {
        const RPC: &str = "ClientWrite";
        // A node forwards its own requests (a rules-version raise whose
        // leader changed); nobody else may use the nodes' reserved id.
        let from_node = request.extensions().get::<PeerNode>().is_some();
        let bytes = request.into_inner().request;
        // One request size for every way in (RaftService itself takes Raft's
        // larger messages).
        if bytes.len() > crate::MAX_REQUEST_SIZE {
            return Err(Status::out_of_range(format!(
                "{RPC}: a request of {} bytes is over the limit of {} bytes",
                bytes.len(),
                crate::MAX_REQUEST_SIZE
            )));
        }
        let req: Request = decode(RPC, "casehub_store::Request", &bytes)?;
        if !from_node {
            reserved_for_nodes(RPC, &req)?;
        }
        let span = tracing::info_span!(
            "raft.client_write",
            client_id = %req.client_id,
            request_id = req.request_id
        );
        match tracing::Instrument::instrument(self.proposer.write(req), span).await {
            Ok(resp) => Ok(tonic::Response::new(ClientWriteReply {
                log_index: resp.log_id.index,
                log_term: resp.log_id.leader_id.term,
                response: encode(RPC, &resp.data)?,
            })),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(fwd))) => {
                Err(not_leader(RPC, fwd.leader_id, fwd.leader_node.as_ref()))
            }
            Err(e) => Err(raft_status(RPC, &e, Code::Internal)),
        }
    }
}

/// FAILED_PRECONDITION naming the leader in the message and in the metadata
/// `casehub-leader-id` and `casehub-leader-addr`; UNAVAILABLE if no leader
/// is known.
fn not_leader(rpc: &str, leader_id: Option<NodeId>, leader: Option<&BasicNode>) -> Status {
    let Some(id) = leader_id else {
        return Status::unavailable(format!(
            "{rpc}: this node is not the leader and no leader is known yet; retry later"
        ));
    };
    let addr = leader.map(|n| n.addr.as_str()).unwrap_or("");
    let mut status = Status::failed_precondition(format!(
        "{rpc}: this node is not the leader; the leader is node {id} at {addr:?}"
    ));
    name_leader(&mut status, id, addr);
    status
}

fn name_leader(status: &mut Status, id: NodeId, addr: &str) {
    status
        .metadata_mut()
        .insert(LEADER_ID_KEY, MetadataValue::from(id));
    if let Ok(v) = addr.parse() {
        status.metadata_mut().insert(LEADER_ADDR_KEY, v);
    }
}

/// A [`ClusterError`] as a status (see `proto/casehub/v1/store.proto`).
pub(crate) fn cluster_status(rpc: &str, err: &ClusterError) -> Status {
    let message = format!("{rpc}: {err}");
    match err {
        ClusterError::NoLeader { leader, .. } => {
            let mut status = Status::unavailable(message);
            if let Some((id, addr)) = leader {
                name_leader(&mut status, *id, addr.as_str());
            }
            status
        }
        ClusterError::ApplyTimeout { .. } => Status::deadline_exceeded(message),
        ClusterError::Stopped(_) => Status::unavailable(message),
        ClusterError::Refused { code, .. } => Status::new(*code, message),
        ClusterError::Decode { .. } | ClusterError::InvalidAddress { .. } => {
            Status::internal(message)
        }
    }
}

/// The client side of the store, `casehub.v1.StoreService`: writes through
/// any node, reads linearizable or local, and the leader's read index.
#[derive(Clone)]
pub struct StoreGrpc {
    core: Arc<Core>,
}

impl StoreGrpc {
    pub(crate) fn new(core: Arc<Core>) -> Self {
        Self { core }
    }
}

fn read_reply(rpc: &str, read: &ReadState) -> Result<ReadReply, Status> {
    Ok(ReadReply {
        applied_index: read.applied_index().unwrap_or(0),
        read_index: read.read_index.unwrap_or(0),
        state: encode(rpc, read.state())?,
        node_id: read.node_id,
        leader_id: read.leader_id.unwrap_or(0),
        consistency: match read.consistency {
            ApiConsistency::Linearizable => Consistency::Linearizable,
            ApiConsistency::Local => Consistency::Local,
        } as i32,
    })
}

#[tonic::async_trait]
impl StoreService for StoreGrpc {
    #[tracing::instrument(name = "casehub.v1.StoreService/Write", skip_all)]
    async fn write(
        &self,
        request: tonic::Request<WriteRequest>,
    ) -> Result<tonic::Response<WriteReply>, Status> {
        const RPC: &str = "Write";
        let peer = request.extensions().get::<PeerNode>().copied();
        let mut req: Request =
            decode(RPC, "casehub_store::Request", &request.into_inner().request)?;
        reserved_for_nodes(RPC, &req)?;
        // The audit names who wrote: the node whose certificate called.
        if let Some(PeerNode(id)) = peer {
            req.actor = format!("node {id}");
        }
        let written = self
            .core
            .write(&req)
            .await
            .map_err(|e| cluster_status(RPC, &e))?;
        Ok(tonic::Response::new(WriteReply {
            log_index: written.log_index,
            log_term: written.log_term,
            response: encode(RPC, &written.response)?,
            leader_id: written.leader_id,
            forwarded: written.forwarded,
        }))
    }

    #[tracing::instrument(name = "casehub.v1.StoreService/Read", skip_all)]
    async fn read(
        &self,
        request: tonic::Request<ReadRequest>,
    ) -> Result<tonic::Response<ReadReply>, Status> {
        const RPC: &str = "Read";
        let consistency = request.into_inner().consistency;
        let read = match Consistency::try_from(consistency) {
            Ok(Consistency::Local) => self.core.read_local(),
            Ok(Consistency::Linearizable | Consistency::Unspecified) => self
                .core
                .read_linearizable()
                .await
                .map_err(|e| cluster_status(RPC, &e))?,
            Err(_) => {
                return Err(Status::invalid_argument(format!(
                    "{RPC}: consistency {consistency} is not LINEARIZABLE (1) or LOCAL (2)"
                )));
            }
        };
        Ok(tonic::Response::new(read_reply(RPC, &read)?))
    }

    #[tracing::instrument(name = "casehub.v1.StoreService/ReadIndex", skip_all)]
    async fn read_index(
        &self,
        _request: tonic::Request<ReadIndexRequest>,
    ) -> Result<tonic::Response<ReadIndexReply>, Status> {
        const RPC: &str = "ReadIndex";
        match self.core.leader_read_index().await {
            Ok(read_index) => Ok(tonic::Response::new(ReadIndexReply {
                read_index,
                leader_id: self.core.id,
            })),
            Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(fwd))) => {
                Err(not_leader(RPC, fwd.leader_id, fwd.leader_node.as_ref()))
            }
            Err(RaftError::APIError(e)) => Err(Status::unavailable(format!("{RPC}: {e}"))),
            Err(e @ RaftError::Fatal(_)) => Err(Status::unavailable(format!("{RPC}: {e}"))),
        }
    }
}
