//! The replicated store of casehub: the only crate that knows openraft and
//! RocksDB.
//!
//! * [`TypeConfig`]: the openraft (0.9, `storage-v2`) type configuration —
//!   node ids are `u64`, nodes are [`openraft::BasicNode`]s, a log entry
//!   carries a [`LogPayload`] (one [`Request`], or a batch of them applied in
//!   order at the entry's index) and the state machine answers each request
//!   with a [`Response`].
//! * [`state`]: the scheduling state machine, [`SchedulingState`], pure and
//!   deterministic (no IO, no clock: a request carries its own time).
//! * [`rocks`]: the RocksDB-backed Raft log store ([`rocks::LogStore`]) and
//!   state machine ([`rocks::StateMachineStore`]), opened with [`rocks::open`].
//!
//! # Commands
//!
//! Every [`Command`] is validated inside the state machine and is
//! all-or-nothing: a rejected command changes no entity and no booking, and
//! its [`Response::Rejected`] names each problem as a [`Conflict`].
//!
//! | command | what it does |
//! |---|---|
//! | `UpsertSite` | register or update a site and its rooms (a room id is unique in the region; a booked room cannot be removed) |
//! | `UpsertStation` | register or update a police station |
//! | `UpsertOfficer` | register or update an officer (site or station must be known) |
//! | `UpsertTeam` | register or update an escort team (site and members must be known) |
//! | `SetPolicy` | replace the policy |
//! | `SubmitCase` | a new case (new id, known origin station) |
//! | `SetRegion` | the region's static parts — shifts, step durations, caseload, UTC offset, travel source and table — as the next region version ([`region`]; rules version 6) |
//! | `AcceptPlan` | a plan's cases, checked against every rule of the catalogue by the planner's validator on the state at this index, then booked; the plan's region version and `expected_versions` must be current; an override carries its reason into the audit (rules version 6; [`accept`]) |
//! | `CommitPlan` | before rules version 6: book rooms, officers and teams for cases over intervals, with the checks below; refused from version 6 |
//! | `OverridePlan` | before rules version 6: `CommitPlan` for a plan the dispatcher changed, with the reason kept in the audit entry (rules version 5) |
//! | `AlertSweep` | the leader's alerts: raise the new, resolve the cleared, escalate the unacknowledged ([`alert_records`]; rules version 5; reserved for the nodes) |
//! | `AcknowledgeAlert` | a user acknowledges an open alert |
//! | `StartStep` / `CompleteStep` | a person's step starts or ends, one step at a time |
//! | `ReleaseRooms` | the case's room bookings end at the request's time (later ones are dropped) |
//! | `ExitCase` | every booking of the case is released and the case is closed, with its disposition (released, criminal or administrative detention, bail, handed over; rules version 5) |
//! | `UpsertUser` / `RemoveUser` | a user: name, roles, site scope (known sites), argon2 password hash ([`users`]) |
//! | `RecordLogin` | a login's outcome: failures in a row lock the account for the security policy's minutes |
//! | `SetSecurityPolicy` | lockout and token lifetime |
//! | `SetTokenKey` | the key login tokens are signed with; only the first is kept |
//!
//! # Legal rules at commit
//!
//! From rules version 6 a plan is committed with `AcceptPlan`, and the
//! state machine checks it with the planner's own validator
//! ([`casehub_planning::validate`]) on the state at the plan's log index:
//! every rule of the catalogue ([`Rule`], listed in `docs/domain.md`) is
//! kept at commit, and a rejection is a [`Conflict::Rule`] per violation,
//! naming the rule as the planner does, the case, and who, where and when.
//!
//! Under rules version 5 and before, `CommitPlan` was checked against the
//! rules the state machine could decide from its bookings alone; a log
//! written then is replayed by them (and a delay's slip is still checked by
//! them, [`state`]):
//!
//! | rule | entity | what |
//! |---|---|---|
//! | `station_minimum` | station | the officers posted to a station minus those booked away at any moment stay at least its `min_on_duty` (every posted officer counts as on duty) |
//! | `questioning_officers` | case | a room booking whose step is questioning has at least the policy's `min_questioning_officers` distinct officers, qualified to question, booked for the same case (and person, or none) over the whole questioning |
//! | `holding_capacity` | room | a holding room never holds more persons than its capacity |
//! | `juvenile_separation` | room | a juvenile and an adult are never in one room at once |
//! | `co_suspect_separation` | room | two persons of one co-suspect group are never in one room at once |
//!
//! Every entity has a version: 1 when registered, one more at each change of
//! it or of its bookings. A plan names the versions it was computed against;
//! any difference rejects the whole plan with [`Conflict::StaleVersion`].
//!
//! A request is identified by `(client_id, request_id)`: a retry gets the
//! first response back and changes nothing. Every request applied for the first
//! time, accepted or rejected, appends an [`AuditEntry`] (log index, time,
//! actor, site, summary, outcome) to [`SchedulingState::audit`], in log order.
//!
//! # On disk
//!
//! One RocksDB database, five column families; values are JSON.
//!
//! | column family | key | value |
//! |---|---|---|
//! | `log_meta` | `vote`, `committed`, `last_purged` | the vote, the last committed log id, the last purged log id |
//! | `logs` | log index, 8 bytes big-endian | an `openraft::Entry<TypeConfig>`; a normal entry's payload is a [`LogPayload`]: one request, or a JSON array of requests |
//! | `state_machine` | `last_applied`, `last_membership`, `state` | the last installed snapshot's log id, membership and [`SchedulingState`] (applying does not write them) |
//! | `snapshot` | `meta`, `data` | the current snapshot's `SnapshotMeta`, and its data: a serialized [`SchedulingState`] |
//! | `archive` | `a` + log index + position, or `c` + case id | an archived [`AuditEntry`], or an [`ArchivedCase`] (see [`archive`]; never in a snapshot) |
//!
//! Applying a batch of entries writes nothing but what a
//! [`Command::Archive`] moved out of the live state (one synced batch to
//! `archive`, before the next request is applied): the entries are
//! already in the synced log. At [`rocks::open`] the state machine starts from the
//! newest of the stored snapshot and the `state_machine` values, and openraft
//! re-applies the committed log after it (the log is never purged beyond the
//! stored snapshot), so a restart loses no applied entry and the state
//! machine's per-batch cost does not grow with the state.
//!
//! All writes but one are synced (`fsync`) before openraft is told they are
//! done: `LogFlushed` is called after the log batch is synced (the synced
//! write runs on tokio's blocking pool, so that the node's other tasks go on
//! during the fsync). The exception is `committed`, a hint of how far to
//! re-apply the log at start: it reaches disk with the next synced write,
//! and a stale value only means that the node re-applies the rest once the
//! leader's commit index reaches it again. Log compaction is
//! openraft's: it builds a snapshot, then purges the log up to it (one synced
//! batch: `last_purged` and a range delete). A value that does not decode is
//! a `StorageError` naming the column family and the key, never a panic.
//!
//! # Building
//!
//! `rocksdb` is pinned to `=0.20.1` without default features and links to
//! Debian's RocksDB 7.8.3 instead of building the bundled C++:
//!
//! ```text
//! apt-get install -y librocksdb-dev libclang-dev
//! export ROCKSDB_LIB_DIR=/usr/lib/x86_64-linux-gnu ROCKSDB_INCLUDE_DIR=/usr/include
//! ```

pub mod absence;
pub mod accept;
pub mod alert_records;
pub mod alerts;
pub mod archive;
pub mod audit;
pub mod availability;
mod command;
mod delay;
mod entities;
pub mod exceptions;
pub mod figures;
mod legacy_rules;
pub mod particulars;
pub mod plan_view;
pub mod region;
mod request;
pub mod rocks;
pub mod staffing;
pub mod state;
pub mod users;

use std::io::Cursor;

/// The persistent collections of [`SchedulingState`] (`audit`,
/// `applied_requests`), re-exported for readers that name their types.
pub use imbl;

pub use archive::{ArchiveMark, Archived, ArchivedCase};
/// The catalogue of rules, as conflicts name them.
pub use casehub_model::Rule;
pub use particulars::{PersonRecord, Sealed};
pub use region::{RegionStatic, RegionVersion};
pub use state::{
    AuditEntry, Booking, Command, Conflict, Delay, DelayOutcome, EntityRef, LogPayload, PlanBroken,
    PlannedBooking, RULES_VERSION, Request, ResourceRef, Response, SchedulingState,
};
pub use users::{Role, SecurityPolicy, User, UserEntry};

openraft::declare_raft_types!(
    /// The openraft type configuration of casehub: nodes are numbered `u64`s
    /// with a [`openraft::BasicNode`] address, a log entry carries a
    /// [`LogPayload`] (one [`Request`] or a batch) and the state machine answers
    /// it with one [`Response`] per request, in order. A snapshot is the
    /// serialized [`SchedulingState`] in memory.
    pub TypeConfig:
        D = LogPayload,
        R = Vec<Response>,
        NodeId = u64,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);
