//! The receiving side of the Raft transport: the `casehub.v1.RaftService`
//! gRPC service, handing each call to the local [`openraft::Raft`].
//!
//! A payload that does not decode is answered INVALID_ARGUMENT with the rpc,
//! the expected type and serde's message; the node keeps serving. A Raft
//! error is answered with a status (see `proto/casehub/v1/raft.proto`) whose
//! details carry the error as JSON.

use casehub_store::{Request, TypeConfig};
use openraft::error::{ClientWriteError, RaftError};
use openraft::{BasicNode, Raft};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tonic::metadata::MetadataValue;
use tonic::{Code, Status};

use crate::proto::raft_service_server::RaftService;
use crate::proto::{ClientWriteReply, ClientWriteRequest, RaftPayload};

type NodeId = u64;

/// The gRPC service of one node.
#[derive(Clone)]
pub struct RaftGrpc {
    raft: Raft<TypeConfig>,
}

impl RaftGrpc {
    /// The service answering for `raft`.
    pub fn new(raft: Raft<TypeConfig>) -> Self {
        Self { raft }
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

#[tonic::async_trait]
impl RaftService for RaftGrpc {
    async fn append_entries(
        &self,
        request: tonic::Request<RaftPayload>,
    ) -> Result<tonic::Response<RaftPayload>, Status> {
        const RPC: &str = "AppendEntries";
        let req = decode(RPC, "AppendEntriesRequest", &request.into_inner().payload)?;
        let resp = self
            .raft
            .append_entries(req)
            .await
            .map_err(|e| raft_status(RPC, &e, Code::Internal))?;
        Ok(tonic::Response::new(RaftPayload {
            payload: encode(RPC, &resp)?,
        }))
    }

    async fn vote(
        &self,
        request: tonic::Request<RaftPayload>,
    ) -> Result<tonic::Response<RaftPayload>, Status> {
        const RPC: &str = "Vote";
        let req = decode(RPC, "VoteRequest", &request.into_inner().payload)?;
        let resp = self
            .raft
            .vote(req)
            .await
            .map_err(|e| raft_status(RPC, &e, Code::Internal))?;
        Ok(tonic::Response::new(RaftPayload {
            payload: encode(RPC, &resp)?,
        }))
    }

    async fn install_snapshot(
        &self,
        request: tonic::Request<RaftPayload>,
    ) -> Result<tonic::Response<RaftPayload>, Status> {
        const RPC: &str = "InstallSnapshot";
        let req = decode(RPC, "InstallSnapshotRequest", &request.into_inner().payload)?;
        let resp = self
            .raft
            .install_snapshot(req)
            .await
            .map_err(|e| raft_status(RPC, &e, Code::FailedPrecondition))?;
        Ok(tonic::Response::new(RaftPayload {
            payload: encode(RPC, &resp)?,
        }))
    }

    async fn client_write(
        &self,
        request: tonic::Request<ClientWriteRequest>,
    ) -> Result<tonic::Response<ClientWriteReply>, Status> {
        const RPC: &str = "ClientWrite";
        let req: Request = decode(RPC, "casehub_store::Request", &request.into_inner().request)?;
        match self.raft.client_write(req).await {
            Ok(resp) => Ok(tonic::Response::new(ClientWriteReply {
                log_index: resp.log_id.index,
                log_term: resp.log_id.leader_id.term,
                response: encode(RPC, &resp.data)?,
            })),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(fwd))) => {
                Err(not_leader(fwd.leader_id, fwd.leader_node.as_ref()))
            }
            Err(e) => Err(raft_status(RPC, &e, Code::Internal)),
        }
    }
}

/// FAILED_PRECONDITION naming the leader in the message and in the metadata
/// `casehub-leader-id` and `casehub-leader-addr`; UNAVAILABLE if no leader
/// is known.
fn not_leader(leader_id: Option<NodeId>, leader: Option<&BasicNode>) -> Status {
    let Some(id) = leader_id else {
        return Status::unavailable(
            "ClientWrite: this node is not the leader and no leader is known yet; retry later",
        );
    };
    let addr = leader.map(|n| n.addr.as_str()).unwrap_or("");
    let mut status = Status::failed_precondition(format!(
        "ClientWrite: this node is not the leader; the leader is node {id} at {addr:?}"
    ));
    status
        .metadata_mut()
        .insert("casehub-leader-id", MetadataValue::from(id));
    if let Ok(v) = addr.parse() {
        status.metadata_mut().insert("casehub-leader-addr", v);
    }
    status
}
