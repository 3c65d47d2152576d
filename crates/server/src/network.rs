//! The sending side of the Raft transport: openraft's [`RaftNetworkFactory`]
//! and [`RaftNetwork`] over the `casehub.v1.RaftService` gRPC client.
//!
//! The factory keeps one tonic [`Channel`] per target node (keyed by node id
//! and address, so that a node that moved gets a new channel). Channels
//! connect lazily and reconnect by themselves; creating a client never fails.
//! Each call carries openraft's hard TTL as its gRPC deadline.
//!
//! AppendEntries, the message of every replication round and heartbeat, goes
//! over one long-lived `AppendEntriesStream` per target: a request out, its
//! answer back, one at a time (openraft keeps one in flight per follower).
//! That spares a gRPC call's setup, headers and trailers per message, which
//! measured as most of the cost of a commit (BENCHMARKS.md). Any failure,
//! timeout or error answer, or a call dropped before its answer (openraft
//! times AppendEntries out itself), drops the stream and the next call opens
//! a new one, so an answer is never taken for another request's; a target that
//! answers UNIMPLEMENTED (an older node) gets the unary AppendEntries.
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
use crate::proto::raft_service_client::RaftServiceClient;
use crate::proto::{RaftPayload, RaftStreamReply};
use crate::tls::Tls;

type NodeId = u64;

/// The endpoint of node `target` at `addr`: over TLS with `tls`, verifying
/// that the server's certificate names node `target`; plaintext without.
pub(crate) fn peer_endpoint(
    tls: Option<&Tls>,
    target: NodeId,
    addr: &str,
) -> Result<Endpoint, tonic::transport::Error> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut endpoint = Endpoint::from_shared(format!("{scheme}://{addr}"))?
        .connect_timeout(Duration::from_secs(1))
        .tcp_nodelay(true);
    if let Some(tls) = tls {
        endpoint = endpoint.tls_config(tls.client_config(&crate::pki::node_dns_name(target)))?;
    }
    Ok(endpoint)
}

/// Creates a [`PeerClient`] per target node, sharing one channel per target.
#[derive(Debug, Clone)]
pub struct GrpcNetwork {
    id: NodeId,
    tls: Option<Arc<Tls>>,
    channels: Arc<Mutex<HashMap<(NodeId, String), Channel>>>,
}

impl GrpcNetwork {
    /// The network of node `id` (used to name the sender in errors), over
    /// TLS with `tls` (`None`: plaintext, development only).
    pub fn new(id: NodeId, tls: Option<Arc<Tls>>) -> Self {
        Self {
            id,
            tls,
            channels: Arc::default(),
        }
    }

    fn channel(&self, target: NodeId, addr: &str) -> Result<Channel, String> {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(ch) = channels.get(&(target, addr.to_string())) {
            return Ok(ch.clone());
        }
        let ch = peer_endpoint(self.tls.as_deref(), target, addr)
            .map_err(|e| format!("node {target} has an invalid address {addr:?}: {e}"))?
            .connect_lazy();
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
            stream: None,
            unary_only: false,
        }
    }
}

/// The connection from one node to one target node.
#[derive(Debug)]
pub struct PeerClient {
    id: NodeId,
    target: NodeId,
    /// `Err` if the target's address is not a valid URI authority: every
    /// call then fails as unreachable.
    client: Result<RaftServiceClient<Channel>, String>,
    /// The open AppendEntriesStream, if any: opened at the first
    /// AppendEntries, dropped on any failure (the next call opens another).
    stream: Option<EntriesStream>,
    /// The target answered UNIMPLEMENTED to AppendEntriesStream: use the
    /// unary AppendEntries.
    unary_only: bool,
}

/// One AppendEntriesStream: requests go out on `tx`, answers come back on
/// `rx` in the same order.
#[derive(Debug)]
struct EntriesStream {
    tx: tokio::sync::mpsc::Sender<RaftPayload>,
    rx: tonic::Streaming<RaftStreamReply>,
    /// A request was sent and its answer not read yet. Still set when a call
    /// starts, the previous call was dropped mid-way (openraft times out
    /// AppendEntries itself): its answer may still come, so the stream is
    /// dropped rather than read.
    awaiting: bool,
}

/// The most JSON an AppendEntries carries when it holds more than one
/// entry: openraft times every AppendEntries out after the heartbeat
/// interval, so a message of many multi-MiB entries would never arrive in
/// time, and its retries would carry as many (the followers would then
/// elect). One entry is always sent, whatever its size (at most
/// [`crate::MAX_REQUEST_SIZE`]).
pub const ENTRIES_BUDGET: usize = 1 << 20;

/// How many of the leading `entries` fit in `budget` bytes of JSON (at
/// least one). Counts without keeping the bytes, and stops past the budget.
pub fn entries_within<T: Serialize>(entries: &[T], budget: usize) -> usize {
    struct Counter {
        n: usize,
        limit: usize,
    }
    impl std::io::Write for Counter {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.n += b.len();
            if self.n > self.limit {
                Err(std::io::Error::other("over the budget"))
            } else {
                Ok(b.len())
            }
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut used = 0usize;
    for (i, e) in entries.iter().enumerate() {
        let mut c = Counter {
            n: 0,
            limit: budget.saturating_sub(used),
        };
        if serde_json::to_writer(&mut c, e).is_err() {
            return i.max(1);
        }
        used += c.n;
    }
    entries.len()
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
            Ok(reply) => self.decode_reply(kind, &reply.into_inner().payload),
            Err(status) => Err(self.status_error(kind, ttl, status)),
        }
    }

    /// A reply's JSON payload, or a network error naming the rpc and the node.
    // The error is openraft's own, as `RaftNetwork` returns it.
    #[allow(clippy::result_large_err)]
    fn decode_reply<Resp, E>(&self, kind: RPCTypes, payload: &[u8]) -> RpcResult<Resp, E>
    where
        Resp: DeserializeOwned,
        E: std::error::Error,
    {
        serde_json::from_slice(payload).map_err(|e| {
            RPCError::Network(NetworkError::new(&AnyError::error(format!(
                "{kind} reply from node {} does not decode: {e}",
                self.target
            ))))
        })
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
            tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => self.timeout(kind, ttl),
            _ => match serde_json::from_slice::<RaftError<NodeId, E>>(status.details()) {
                Ok(remote) => RPCError::RemoteError(RemoteError::new(self.target, remote)),
                Err(_) => RPCError::Network(NetworkError::new(&status)),
            },
        }
    }
}

impl PeerClient {
    /// AppendEntries on the stream (opened if needed). `Ok(None)` when the
    /// target does not serve the stream: the caller falls back to the unary
    /// call. Any failure drops the stream, so that an answer can never be
    /// taken for another request's.
    async fn append_on_stream(
        &mut self,
        rpc: &AppendEntriesRequest<TypeConfig>,
        option: &RPCOption,
    ) -> RpcResult<Option<AppendEntriesResponse<NodeId>>> {
        let kind = RPCTypes::AppendEntries;
        let ttl = option.hard_ttl();
        let payload =
            serde_json::to_vec(rpc).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        if self.stream.as_ref().is_some_and(|s| s.awaiting) {
            self.stream = None;
        }
        if self.stream.is_none() {
            let Ok(client) = &mut self.client else {
                return Ok(None);
            };
            let (tx, requests) = tokio::sync::mpsc::channel(4);
            let opened = tokio::time::timeout(
                ttl,
                client.append_entries_stream(tokio_stream::wrappers::ReceiverStream::new(requests)),
            )
            .await;
            match opened {
                Ok(Ok(rx)) => {
                    self.stream = Some(EntriesStream {
                        tx,
                        rx: rx.into_inner(),
                        awaiting: false,
                    })
                }
                Ok(Err(status)) if status.code() == tonic::Code::Unimplemented => {
                    self.unary_only = true;
                    return Ok(None);
                }
                Ok(Err(status)) => return Err(self.status_error(kind, ttl, status)),
                Err(_) => return Err(self.timeout(kind, ttl)),
            }
        }
        let Some(stream) = self.stream.as_mut() else {
            return Ok(None);
        };
        stream.awaiting = true;
        let answer = tokio::time::timeout(ttl, async {
            stream
                .tx
                .send(RaftPayload { payload })
                .await
                .map_err(|_| tonic::Status::unavailable("the AppendEntries stream closed"))?;
            stream.rx.message().await
        })
        .await;
        stream.awaiting = false;
        let reply = match answer {
            Ok(Ok(Some(reply))) if reply.code == tonic::Code::Ok as i32 => reply,
            failed => {
                // Any failure or error answer drops the stream: the next
                // call opens a new one (a stopping node ends this one after
                // its answer).
                self.stream = None;
                return Err(match failed {
                    Ok(Ok(Some(reply))) => {
                        let status = tonic::Status::with_details(
                            tonic::Code::from_i32(reply.code),
                            reply.message,
                            reply.details.into(),
                        );
                        self.status_error(kind, ttl, status)
                    }
                    Ok(Ok(None)) => {
                        let status = tonic::Status::unavailable("the AppendEntries stream ended");
                        self.status_error(kind, ttl, status)
                    }
                    Ok(Err(status)) => self.status_error(kind, ttl, status),
                    Err(_) => self.timeout(kind, ttl),
                });
            }
        };
        let decoded = self.decode_reply(kind, &reply.payload);
        if decoded.is_err() {
            self.stream = None;
        }
        decoded.map(Some)
    }

    fn timeout<E>(
        &self,
        kind: RPCTypes,
        ttl: Duration,
    ) -> RPCError<NodeId, BasicNode, RaftError<NodeId, E>>
    where
        E: std::error::Error,
    {
        RPCError::Timeout(Timeout {
            action: kind,
            id: self.id,
            target: self.target,
            timeout: ttl,
        })
    }
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>> {
        // Many large entries in one message would not cross within the
        // heartbeat's timeout: ask openraft to send fewer at once.
        let fit = entries_within(&rpc.entries, ENTRIES_BUDGET);
        if fit < rpc.entries.len() {
            return Err(RPCError::PayloadTooLarge(
                openraft::error::PayloadTooLarge::new_entries_hint(fit as u64),
            ));
        }
        if !self.unary_only
            && let Some(resp) = self.append_on_stream(&rpc, &option).await?
        {
            return Ok(resp);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_entries_are_sent_a_few_at_a_time_and_one_always_goes() {
        let big = "x".repeat(400_000);
        let entries = vec![big.clone(), big.clone(), big.clone(), big];
        // Two strings of 400,002 bytes of JSON fit in 1 MiB, not three.
        assert_eq!(entries_within(&entries, ENTRIES_BUDGET), 2);
        let huge = vec!["y".repeat(4 << 20), "z".into()];
        assert_eq!(entries_within(&huge, ENTRIES_BUDGET), 1);
        let small: Vec<u32> = (0..1000).collect();
        assert_eq!(entries_within(&small, ENTRIES_BUDGET), 1000);
        assert_eq!(entries_within::<u32>(&[], ENTRIES_BUDGET), 0);
    }
}
