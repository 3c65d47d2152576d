//! Writes through any node and linearizable reads on any node.
//!
//! A write on the leader is `Raft::client_write`. On a follower, openraft
//! answers `ForwardToLeader` with the leader's id and address; the node then
//! calls the leader's RaftService `ClientWrite` over gRPC and returns its
//! answer. While no leader is known (an election), or the known leader does
//! not answer (it crashed and the others have not noticed yet), the node
//! retries with a growing pause (50 ms to 500 ms) until the request
//! deadline. A leader that answers FAILED_PRECONDITION names its successor,
//! which the next attempt tries.
//!
//! A linearizable read follows the read-index protocol (Raft §6.4): the
//! leader confirms it still leads with a heartbeat to a quorum and takes its
//! commit index as the read index; a follower asks the leader for it
//! (StoreService `ReadIndex`). Either way the node then waits until its own
//! state machine has applied the read index and returns its state.
//!
//! Retrying is safe: the state machine deduplicates requests by
//! `(client_id, request_id)`, so a write whose first attempt was committed
//! but not acknowledged gets the first response back.
//!
//! On the leader, every write (local or forwarded) goes through one
//! [`Proposer`]: openraft 0.9 appends each proposal to the log, with its own
//! synced write, before it takes the next one, so the proposer groups the
//! requests that arrive while earlier groups are being written into one log
//! entry ([`LogPayload::Batch`]). One fsync and one replication round then
//! commit the whole group; each request still gets its own response, and
//! none is acknowledged before the entry holding it is committed.
//!
//! Traces follow the request (see [`crate::telemetry`]): a call forwarded to
//! the leader carries the current span's W3C `traceparent` in its metadata,
//! and the proposer writes the proposing span's into each request it
//! groups, for every node's apply to join.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use casehub_store::{LogPayload, Request, Response, TypeConfig};
use openraft::error::{CheckIsLeaderError, ClientWriteError, RaftError};
use openraft::{BasicNode, LogId, Raft};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::time::Instant;
use tonic::Code;
use tonic::transport::Channel;

use crate::MAX_MESSAGE_SIZE;
use crate::api::{ClusterError, Consistency, ReadState, Written};
use crate::proto::raft_service_client::RaftServiceClient;
use crate::proto::store_service_client::StoreServiceClient;
use crate::proto::{ClientWriteRequest, ReadIndexRequest};
use crate::tls::Tls;
use crate::view::StateView;

type NodeId = u64;

/// The metadata keys naming the leader in a FAILED_PRECONDITION or
/// UNAVAILABLE status.
pub const LEADER_ID_KEY: &str = "casehub-leader-id";
/// See [`LEADER_ID_KEY`].
pub const LEADER_ADDR_KEY: &str = "casehub-leader-addr";

/// The leader named in a status's metadata, if any.
pub fn leader_of(status: &tonic::Status) -> Option<(NodeId, String)> {
    let id = status
        .metadata()
        .get(LEADER_ID_KEY)?
        .to_str()
        .ok()?
        .parse()
        .ok()?;
    let addr = status.metadata().get(LEADER_ADDR_KEY)?.to_str().ok()?;
    Some((id, addr.to_string()))
}

/// The error of a proposal, as `Raft::client_write` returns it.
pub(crate) type ProposeError = RaftError<NodeId, ClientWriteError<NodeId, BasicNode>>;

/// One request's part of a committed proposal: the log id of the entry
/// that holds it, and its own response.
#[derive(Debug, Clone)]
pub(crate) struct Proposed {
    pub(crate) log_id: LogId<NodeId>,
    pub(crate) data: Response,
}

type Pending = (Request, oneshot::Sender<Result<Proposed, ProposeError>>);

/// Groups concurrent writes into one log entry each time openraft is ready
/// for another (see the module docs). Cloning shares the queue.
#[derive(Clone)]
pub(crate) struct Proposer {
    tx: mpsc::UnboundedSender<Pending>,
    raft: Raft<TypeConfig>,
    /// The applied state: a command that needs newer rules than the
    /// cluster applies is refused here, before it reaches the log.
    view: StateView,
}

// The error is openraft's own, as `Raft::client_write` returns it.
#[allow(clippy::result_large_err)]
impl Proposer {
    /// At most this many requests in one entry.
    pub(crate) const MAX_BATCH: usize = 256;
    /// At most this many bytes of JSON requests in one entry (a single
    /// larger request is an entry of its own), so that an AppendEntries of
    /// `max_payload_entries` entries stays within the gRPC message limit.
    pub(crate) const MAX_BATCH_BYTES: usize = 1 << 20;
    /// At most this many proposals handed to openraft and not yet
    /// answered: one being written on the leader while the previous one
    /// replicates. Requests that arrive meanwhile wait and form the next
    /// group.
    pub(crate) const IN_FLIGHT: usize = 2;

    /// A proposer for `raft`; its task runs until every clone is dropped.
    pub(crate) fn new(raft: Raft<TypeConfig>, view: StateView) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(Self::run(raft.clone(), rx));
        Proposer { tx, raft, view }
    }

    async fn run(raft: Raft<TypeConfig>, mut rx: mpsc::UnboundedReceiver<Pending>) {
        let slots = Arc::new(Semaphore::new(Self::IN_FLIGHT));
        // A request taken from the queue that did not fit in the last group.
        let mut carry: Option<Pending> = None;
        loop {
            let first = match carry.take() {
                Some(p) => p,
                None => match rx.recv().await {
                    Some(p) => p,
                    None => return,
                },
            };
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            // Everything queued while waiting for a slot joins this group,
            // up to MAX_BATCH requests and MAX_BATCH_BYTES of JSON.
            let mut bytes = encoded_len(&first.0);
            let mut group = vec![first];
            while group.len() < Self::MAX_BATCH {
                let Ok(next) = rx.try_recv() else { break };
                let len = encoded_len(&next.0);
                if bytes + len > Self::MAX_BATCH_BYTES {
                    carry = Some(next);
                    break;
                }
                bytes += len;
                group.push(next);
            }
            let raft = raft.clone();
            tokio::spawn(async move {
                let (requests, answers): (Vec<Request>, Vec<_>) = group.into_iter().unzip();
                let result = raft.client_write(LogPayload::from(requests)).await;
                drop(slot);
                match result {
                    Ok(resp) => {
                        let mut responses = resp.data.into_iter();
                        for answer in answers {
                            let data = responses.next().unwrap_or_else(|| Response::Rejected {
                                reason: "the state machine gave no response".into(),
                                conflicts: Vec::new(),
                            });
                            let _ = answer.send(Ok(Proposed {
                                log_id: resp.log_id,
                                data,
                            }));
                        }
                    }
                    Err(e) => {
                        for answer in answers {
                            let _ = answer.send(Err(e.clone()));
                        }
                    }
                }
            });
        }
    }

    /// Propose `request` and wait until it is committed and applied on this
    /// node (or refused, e.g. with `ForwardToLeader`).
    ///
    /// The request's [`Request::trace`] becomes the current span's (the
    /// caller's, e.g. `raft.client_write` of a forwarded write), so that its
    /// apply on every node joins this trace; whatever the client put there
    /// is replaced (with nothing when spans are not exported).
    pub(crate) async fn write(&self, mut request: Request) -> Result<Proposed, ProposeError> {
        // Nodes of older builds cannot read a command of newer rules: it is
        // refused before the log, answered as the state machine would.
        if let Err(rejected) = self.view.current().state.check_rules(&request.command) {
            let log_id = self
                .raft
                .metrics()
                .borrow()
                .last_applied
                .unwrap_or_default();
            return Ok(Proposed {
                log_id,
                data: rejected,
            });
        }
        request.trace = crate::telemetry::current_traceparent();
        let (tx, rx) = oneshot::channel();
        let stopped = || RaftError::Fatal(openraft::error::Fatal::Stopped);
        self.tx.send((request, tx)).map_err(|_| stopped())?;
        rx.await.unwrap_or_else(|_| Err(stopped()))
    }
}

/// The length of a request's JSON, without keeping it.
fn encoded_len(request: &Request) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = serde_json::to_writer(&mut count, request);
    count.0
}

/// The parts of a running node that serve writes and reads.
pub(crate) struct Core {
    pub(crate) id: NodeId,
    pub(crate) advertise: String,
    pub(crate) raft: Raft<TypeConfig>,
    pub(crate) proposer: Proposer,
    pub(crate) view: StateView,
    pub(crate) deadline: Duration,
    /// TLS for calls to the other nodes (`None`: plaintext).
    tls: Option<Arc<Tls>>,
    channels: Mutex<HashMap<(NodeId, String), Channel>>,
}

/// What one attempt to reach the leader found.
enum Attempt<T> {
    Done(T),
    /// Try again (after a pause unless `hint` names a new leader).
    Retry {
        hint: Option<(NodeId, String)>,
        error: String,
    },
}

impl Core {
    pub(crate) fn new(
        id: NodeId,
        advertise: String,
        raft: Raft<TypeConfig>,
        proposer: Proposer,
        view: StateView,
        deadline: Duration,
        tls: Option<Arc<Tls>>,
    ) -> Self {
        Core {
            id,
            advertise,
            raft,
            proposer,
            view,
            deadline,
            tls,
            channels: Mutex::default(),
        }
    }

    /// The channel to node `target`'s peer listener at `addr` (kept per
    /// node and address).
    pub(crate) fn channel(&self, target: NodeId, addr: &str) -> Result<Channel, ClusterError> {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        let key = (target, addr.to_string());
        if let Some(ch) = channels.get(&key) {
            return Ok(ch.clone());
        }
        let ch = crate::network::peer_endpoint(self.tls.as_deref(), target, addr)
            .map_err(|e| ClusterError::InvalidAddress {
                addr: addr.to_string(),
                message: e.to_string(),
            })?
            .connect_lazy();
        channels.insert(key, ch.clone());
        Ok(ch)
    }

    fn known_leader(&self) -> Option<(NodeId, String)> {
        let m = self.raft.metrics().borrow().clone();
        let id = m.current_leader?;
        let node = m.membership_config.membership().get_node(&id)?.clone();
        Some((id, node.addr))
    }

    /// Run `attempt` until it is done or the deadline passes, pausing
    /// between attempts unless a new leader was named.
    async fn retry<T, F, Fut>(&self, mut attempt: F) -> Result<T, ClusterError>
    where
        F: FnMut(Option<(NodeId, String)>, Duration) -> Fut,
        Fut: std::future::Future<Output = Result<Attempt<T>, ClusterError>>,
    {
        let started = Instant::now();
        let deadline = started + self.deadline;
        let mut pause = Duration::from_millis(50);
        let mut hint: Option<(NodeId, String)> = None;
        let mut last_leader = self.known_leader();
        let mut last_error = String::from("no attempt finished");
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ClusterError::NoLeader {
                    waited: started.elapsed(),
                    leader: last_leader,
                    last: last_error,
                });
            }
            match tokio::time::timeout(left, attempt(hint.take(), left)).await {
                Ok(Ok(Attempt::Done(v))) => return Ok(v),
                Ok(Err(e)) => return Err(e),
                Ok(Ok(Attempt::Retry { hint: h, error })) => {
                    last_error = error;
                    let new_leader = h.as_ref().is_some_and(|h| Some(h) != last_leader.as_ref());
                    if let Some(h) = &h {
                        last_leader = Some(h.clone());
                    }
                    hint = h;
                    if new_leader {
                        continue;
                    }
                }
                Err(_) => last_error = format!("no answer within {:?}", self.deadline),
            }
            let left = deadline.saturating_duration_since(Instant::now());
            tokio::time::sleep(pause.min(left)).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    /// The leader a `ForwardToLeader` names, or a retry when it names none
    /// (or this node).
    fn forward_target<T>(
        &self,
        leader_id: Option<NodeId>,
        leader: Option<BasicNode>,
    ) -> Result<(NodeId, String), Attempt<T>> {
        match (leader_id, leader) {
            (Some(id), Some(node)) if id != self.id => Ok((id, node.addr)),
            _ => Err(Attempt::Retry {
                hint: None,
                error: format!("node {} knows no leader", self.id),
            }),
        }
    }

    pub(crate) async fn write(&self, request: &Request) -> Result<Written, ClusterError> {
        self.retry(|hint, left| self.write_once(request, hint, left))
            .await
    }

    async fn write_once(
        &self,
        request: &Request,
        hint: Option<(NodeId, String)>,
        left: Duration,
    ) -> Result<Attempt<Written>, ClusterError> {
        // A leader named by the previous attempt's answer goes first; else
        // this node, which knows whether it leads and whom it follows.
        // A follower that knows its leader forwards at once: asking its own
        // Raft would only queue the request behind the follower's log
        // writes to learn the same thing.
        let target = match hint.or_else(|| self.known_leader()) {
            Some(h) if h.0 != self.id => h,
            _ => match self.proposer.write(request.clone()).await {
                Ok(resp) => {
                    return Ok(Attempt::Done(Written {
                        log_index: resp.log_id.index,
                        log_term: resp.log_id.leader_id.term,
                        response: resp.data,
                        leader_id: self.id,
                        forwarded: false,
                    }));
                }
                Err(RaftError::APIError(ClientWriteError::ForwardToLeader(fwd))) => {
                    match self.forward_target(fwd.leader_id, fwd.leader_node) {
                        Ok(target) => target,
                        Err(retry) => return Ok(retry),
                    }
                }
                Err(RaftError::APIError(e)) => {
                    return Err(ClusterError::Refused {
                        node: self.advertise.clone(),
                        code: Code::Internal,
                        message: e.to_string(),
                    });
                }
                Err(RaftError::Fatal(_)) => return Err(ClusterError::Stopped(self.id)),
            },
        };
        let (leader, addr) = target;
        let payload = serde_json::to_vec(request).map_err(|e| ClusterError::Refused {
            node: self.advertise.clone(),
            code: Code::InvalidArgument,
            message: format!("the request does not encode: {e}"),
        })?;
        let mut client = RaftServiceClient::new(self.channel(leader, &addr)?)
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE);
        let mut call = tonic::Request::new(ClientWriteRequest { request: payload });
        call.set_timeout(left);
        // The leader's spans of the write are children of this node's.
        crate::telemetry::inject_context(call.metadata_mut());
        match client.client_write(call).await {
            Ok(reply) => {
                let reply = reply.into_inner();
                let response =
                    serde_json::from_slice(&reply.response).map_err(|e| ClusterError::Decode {
                        from: format!("node {leader} at {addr}"),
                        message: e.to_string(),
                    })?;
                Ok(Attempt::Done(Written {
                    log_index: reply.log_index,
                    log_term: reply.log_term,
                    response,
                    leader_id: leader,
                    forwarded: true,
                }))
            }
            Err(status) => self.after_status(leader, &addr, status),
        }
    }

    /// What a failed call to the leader means: retry (towards the leader the
    /// status names, if any), or give up for a reason a retry does not fix.
    fn after_status<T>(
        &self,
        leader: NodeId,
        addr: &str,
        status: tonic::Status,
    ) -> Result<Attempt<T>, ClusterError> {
        match status.code() {
            Code::FailedPrecondition | Code::Unavailable => Ok(Attempt::Retry {
                hint: leader_of(&status).filter(|(id, _)| *id != leader),
                error: format!("node {leader} at {addr}: {}", status.message()),
            }),
            // A lost connection, a call cut short: the leader may be down.
            Code::DeadlineExceeded | Code::Cancelled | Code::Unknown | Code::Internal => {
                Ok(Attempt::Retry {
                    hint: None,
                    error: format!("node {leader} at {addr}: {}", status.message()),
                })
            }
            code => Err(ClusterError::Refused {
                node: format!("node {leader} at {addr}"),
                code,
                message: status.message().to_string(),
            }),
        }
    }

    pub(crate) fn read_local(&self) -> ReadState {
        ReadState {
            node_id: self.id,
            leader_id: self.raft.metrics().borrow().current_leader,
            consistency: Consistency::Local,
            read_index: None,
            applied: self.view.current(),
        }
    }

    /// The read index, if this node leads (leadership confirmed with a quorum).
    pub(crate) async fn leader_read_index(
        &self,
    ) -> Result<u64, RaftError<NodeId, CheckIsLeaderError<NodeId, BasicNode>>> {
        let (read, _applied) = self.raft.get_read_log_id().await?;
        Ok(read.map_or(0, |l| l.index))
    }

    pub(crate) async fn read_linearizable(&self) -> Result<ReadState, ClusterError> {
        let started = Instant::now();
        let read_index = self
            .retry(|hint, left| self.read_index_once(hint, left))
            .await?;
        let left = self.deadline.saturating_sub(started.elapsed());
        let applied = match tokio::time::timeout(left, self.view.wait_applied(read_index)).await {
            _ if read_index == 0 => self.view.current(),
            Ok(Some(applied)) => applied,
            Ok(None) => return Err(ClusterError::Stopped(self.id)),
            Err(_) => {
                return Err(ClusterError::ApplyTimeout {
                    node: self.id,
                    read_index,
                    applied: self.view.applied_index(),
                    waited: started.elapsed(),
                });
            }
        };
        Ok(ReadState {
            node_id: self.id,
            leader_id: self.raft.metrics().borrow().current_leader,
            consistency: Consistency::Linearizable,
            read_index: Some(read_index),
            applied,
        })
    }

    async fn read_index_once(
        &self,
        hint: Option<(NodeId, String)>,
        left: Duration,
    ) -> Result<Attempt<u64>, ClusterError> {
        let target = match hint {
            Some(h) if h.0 != self.id => h,
            _ => match self.raft.ensure_linearizable().await {
                Ok(read) => return Ok(Attempt::Done(read.map_or(0, |l| l.index))),
                Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(fwd))) => {
                    match self.forward_target(fwd.leader_id, fwd.leader_node) {
                        Ok(target) => target,
                        Err(retry) => return Ok(retry),
                    }
                }
                Err(RaftError::APIError(e)) => {
                    return Ok(Attempt::Retry {
                        hint: None,
                        error: format!("node {}: {e}", self.id),
                    });
                }
                Err(RaftError::Fatal(_)) => return Err(ClusterError::Stopped(self.id)),
            },
        };
        let (leader, addr) = target;
        let mut client = StoreServiceClient::new(self.channel(leader, &addr)?);
        let mut call = tonic::Request::new(ReadIndexRequest {});
        call.set_timeout(left);
        crate::telemetry::inject_context(call.metadata_mut());
        match client.read_index(call).await {
            Ok(reply) => Ok(Attempt::Done(reply.into_inner().read_index)),
            Err(status) => self.after_status(leader, &addr, status),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use casehub_store::{Command, Request, Response};
    use chrono::{TimeZone, Utc};

    use crate::Node;

    fn request(n: u64) -> Request {
        let station = serde_json::from_value(serde_json::json!({
            "id": format!("st-{n}"),
            "name": format!("Station {n}"),
            "location": {"lat": 30.1, "lon": 120.1},
            "min_on_duty": 1
        }))
        .expect("a valid station");
        Request {
            client_id: "proposer-test".into(),
            request_id: n,
            actor: "operator".into(),
            site: None,
            time: Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap(),
            command: Command::UpsertStation(station),
            trace: None,
        }
    }

    /// Concurrent writes, which the proposer may group into shared log
    /// entries, each get their own answer, are applied once, and are all
    /// still there after the node restarts from its directory.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_get_their_own_answers_and_survive_a_restart() {
        let dir = tempfile::TempDir::new().unwrap();
        let node = Node::start(1, "127.0.0.1:0", dir.path()).await.unwrap();
        node.raft()
            .initialize(BTreeMap::from([(1, node.basic_node())]))
            .await
            .unwrap();
        let node = Arc::new(node);
        let mut writes = tokio::task::JoinSet::new();
        for n in 1..=48u64 {
            let node = node.clone();
            writes.spawn(async move { (n, node.write(&request(n)).await.unwrap()) });
        }
        let mut acked = BTreeMap::new();
        while let Some(done) = writes.join_next().await {
            let (n, written) = done.unwrap();
            // Each request's own response: its own station, at version 1.
            let expected = Response::Applied {
                versions: vec![(
                    casehub_store::EntityRef::Station(
                        casehub_model::StationId::new(format!("st-{n}")).unwrap(),
                    ),
                    1,
                )],
            };
            assert_eq!(written.response, expected);
            acked.insert(n, written.log_index);
        }
        // A retry of an acknowledged request gets the first answer back.
        let again = node.write(&request(7)).await.unwrap();
        assert!(again.response.is_applied());
        let Ok(node) = Arc::try_unwrap(node) else {
            panic!("another handle to the node is left");
        };
        node.shutdown().await;

        // The database is closed once openraft's tasks have dropped the
        // store, which may be a moment after `shutdown` returns.
        let mut attempts = 0;
        let node = loop {
            match Node::start(1, "127.0.0.1:0", dir.path()).await {
                Ok(node) => break node,
                Err(e) if attempts < 100 => {
                    attempts += 1;
                    tracing::debug!("reopening: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(e) => panic!("the node does not restart: {e}"),
            }
        };
        let read = node.read_linearizable().await.unwrap();
        let audit: Vec<(u64, u64)> = read
            .state()
            .audit
            .iter()
            // The test's writes (the leader may also have raised the rules
            // version meanwhile, as any new cluster does).
            .filter(|a| a.client_id == "proposer-test")
            .map(|a| (a.request_id, a.index))
            .collect();
        assert_eq!(audit.len(), acked.len(), "{audit:?}");
        for (request_id, index) in audit {
            assert_eq!(acked.get(&request_id), Some(&index));
        }
        assert_eq!(read.state().stations.len(), acked.len());
        node.shutdown().await;
    }
}
