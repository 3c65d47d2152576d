//! What a write or a read returns, and why one failed: shared by
//! [`crate::Node`] (in process) and [`crate::client::Client`] (over gRPC).

use std::sync::Arc;
use std::time::Duration;

use casehub_store::{Response, SchedulingState};

use crate::view::Applied;

type NodeId = u64;

/// A write committed and applied by the leader.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// The index of the log entry that holds the request.
    pub log_index: u64,
    /// The term of the leader that appended it.
    pub log_term: u64,
    /// The state machine's answer: applied, or rejected with its conflicts.
    pub response: Response,
    /// The node that committed it.
    pub leader_id: NodeId,
    /// Whether the node that received it forwarded it to the leader.
    pub forwarded: bool,
}

/// How fresh a read is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistency {
    /// Reflects every write acknowledged before the read started.
    Linearizable,
    /// The node's applied state as it was: possibly stale.
    Local,
}

/// The scheduling state read from one node.
#[derive(Debug, Clone)]
pub struct ReadState {
    /// The node that served the read.
    pub node_id: NodeId,
    /// The leader that node knew of.
    pub leader_id: Option<NodeId>,
    /// Linearizable or local.
    pub consistency: Consistency,
    /// For a linearizable read, the read index the state reflects at least.
    pub read_index: Option<u64>,
    /// The state with the log index it was applied up to.
    pub applied: Arc<Applied>,
}

impl ReadState {
    /// The last log index applied to the state (`None` before anything was).
    pub fn applied_index(&self) -> Option<u64> {
        self.applied.index
    }

    /// The scheduling state.
    pub fn state(&self) -> &SchedulingState {
        &self.applied.state
    }
}

/// Why a write or a read through the cluster failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No leader answered before the deadline (an election that does not
    /// end, a leader that is down or partitioned away).
    #[error(
        "no leader answered within {waited:?} (last leader known: {}); last error: {last}",
        leader_name(.leader)
    )]
    NoLeader {
        waited: Duration,
        /// The last leader known, with its address.
        leader: Option<(NodeId, String)>,
        last: String,
    },
    /// The node did not apply the read index before the deadline.
    #[error(
        "node {node} had applied up to {applied:?} after {waited:?}, waiting for read index {read_index}"
    )]
    ApplyTimeout {
        node: NodeId,
        read_index: u64,
        applied: Option<u64>,
        waited: Duration,
    },
    /// The leader (or the node called) refused the request for a reason a
    /// retry does not fix, such as a request that does not decode.
    #[error("node {node} refused the request: {message}")]
    Refused {
        node: String,
        code: tonic::Code,
        message: String,
    },
    /// The node is stopping.
    #[error("node {0} is stopping")]
    Stopped(NodeId),
    /// The answer did not decode.
    #[error("the answer from {from} does not decode: {message}")]
    Decode { from: String, message: String },
    /// A client was given an address that is not a valid endpoint.
    #[error("invalid node address {addr:?}: {message}")]
    InvalidAddress { addr: String, message: String },
}

fn leader_name(leader: &Option<(NodeId, String)>) -> String {
    match leader {
        Some((id, addr)) => format!("node {id} at {addr}"),
        None => "none".into(),
    }
}
