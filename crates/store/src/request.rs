//! A client's write as the log carries it ([`Request`], one or a batch in a
//! [`LogPayload`]), the state machine's answer ([`Response`], with its
//! [`Conflict`]s), and the audit entry each request leaves ([`AuditEntry`]).

use std::fmt;

use casehub_model::{CaseId, Rule, SiteId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::command::*;

use crate::entities::*;

/// A client write. `(client_id, request_id)` identifies it: a retry with the
/// same pair gets the first answer back and changes nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub client_id: String,
    pub request_id: u64,
    /// Who asked (an officer or operator name), for the audit log.
    pub actor: String,
    /// The site the request came from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<SiteId>,
    /// When the request was made: the state machine's only clock.
    pub time: DateTime<Utc>,
    pub command: Command,
    /// The W3C `traceparent` of the span that proposed the request on the
    /// leader, when the node exports traces: each node's apply of the
    /// request joins that trace (see [`crate::rocks::TraceHook`]). Set by
    /// the leader's node, whatever a client sent; the state machine does not
    /// read it. Entries written before it existed decode without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

/// What one Raft log entry carries: one [`Request`], or several applied in
/// order at the same log index (the leader groups the writes that arrive
/// while the previous group is being written, so that one synced log write
/// and one replication round serve them all).
///
/// A single request is encoded as the request itself, as every entry was
/// before batches existed; a batch is a JSON array of requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
// `One` is the common case (a lone write); boxing it would add an allocation
// per entry to save a few bytes.
#[allow(clippy::large_enum_variant)]
pub enum LogPayload {
    One(Request),
    Batch(Vec<Request>),
}

impl LogPayload {
    /// The requests, in the order they are applied.
    pub fn requests(&self) -> &[Request] {
        match self {
            LogPayload::One(r) => std::slice::from_ref(r),
            LogPayload::Batch(rs) => rs,
        }
    }
}

impl From<Request> for LogPayload {
    fn from(request: Request) -> Self {
        LogPayload::One(request)
    }
}

impl From<Vec<Request>> for LogPayload {
    fn from(mut requests: Vec<Request>) -> Self {
        if requests.len() == 1 {
            LogPayload::One(requests.remove(0))
        } else {
            LogPayload::Batch(requests)
        }
    }
}

/// Why a request was rejected, one item per problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conflict {
    /// The request names an entity the store does not know.
    Unknown { entity: EntityRef },
    /// The entity changed since the plan was computed.
    StaleVersion {
        entity: EntityRef,
        expected: u64,
        actual: u64,
    },
    /// The booking overlaps an existing one (or another in the same request)
    /// beyond the resource's capacity.
    Overlap {
        resource: ResourceRef,
        case: CaseId,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
    /// A value that is not acceptable here; `field` names it.
    Invalid { field: String, reason: String },
    /// The request would break a legal rule. `rule` names the rule (the
    /// catalogue, [`Rule`]), `entity` what it concerns (the station, room
    /// or case), `detail` says who, where and when.
    Rule {
        rule: Rule,
        entity: EntityRef,
        detail: String,
    },
    /// The plan was made from another version of the replicated region.
    RegionVersion { expected: u64, actual: u64 },
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conflict::Unknown { entity } => write!(f, "unknown {entity}"),
            Conflict::StaleVersion {
                entity,
                expected,
                actual,
            } => write!(
                f,
                "{entity} is at version {actual}, the plan expected {expected}"
            ),
            Conflict::Overlap {
                resource,
                case,
                start,
                end,
            } => write!(
                f,
                "{} is booked for case {case} from {start} to {end}",
                resource.entity()
            ),
            Conflict::Invalid { field, reason } => write!(f, "invalid {field}: {reason}"),
            Conflict::Rule {
                rule,
                entity,
                detail,
            } => write!(f, "rule {rule} ({entity}): {detail}"),
            Conflict::RegionVersion { expected, actual } => write!(
                f,
                "the plan was made from region version {expected}; the cluster's region is at version {actual}"
            ),
        }
    }
}

/// The answer to a [`Request`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// Applied; the new versions of the entities it changed.
    Applied { versions: Vec<(EntityRef, u64)> },
    /// Not applied; nothing changed.
    Rejected {
        reason: String,
        conflicts: Vec<Conflict>,
    },
}

impl Response {
    pub fn is_applied(&self) -> bool {
        matches!(self, Response::Applied { .. })
    }

    pub(crate) fn rejected(reason: impl Into<String>, conflicts: Vec<Conflict>) -> Self {
        Response::Rejected {
            reason: reason.into(),
            conflicts,
        }
    }
}

/// One applied (or rejected) request, in log order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The Raft log index the request was applied at.
    pub index: u64,
    pub time: DateTime<Utc>,
    pub actor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<SiteId>,
    pub client_id: String,
    pub request_id: u64,
    /// What the command did, in one line.
    pub summary: String,
    /// The reason the actor gave: an override's, or a delay's (rules
    /// version 5; `None` before, and for commands without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `None` when applied, else the rejection reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<String>,
    /// SHA-256 (hex) of this entry and the one before it (rules version 3;
    /// empty before): see [`crate::audit`].
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hash: String,
}

impl AuditEntry {
    /// The entry is an override ([`Command::OverridePlan`]).
    pub fn is_override(&self) -> bool {
        self.summary.starts_with(OVERRIDE_SUMMARY)
    }
}
