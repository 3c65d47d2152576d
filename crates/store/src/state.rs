//! The scheduling state machine: pure, deterministic, no IO.
//!
//! [`SchedulingState::apply`] takes a log index and a [`Request`] and returns a
//! [`Response`]. It never reads a clock (the request carries its time), never
//! panics on a request, and is all-or-nothing: a rejected request changes no
//! entity and no booking. Every map is ordered (`BTreeMap`, or `imbl::OrdMap`
//! for the parts that grow with every request), so that two replicas that
//! applied the same log serialize to the same bytes.
//!
//! The audit log and the deduplication table grow with every request. They
//! are persistent structures (`imbl::Vector`, `imbl::OrdMap`): cloning the
//! state shares them instead of copying them, so publishing a copy of the
//! state after each applied batch costs the same at any length of history.
//! They serialize exactly like a `Vec` and a `BTreeMap`.

use std::collections::BTreeMap;
use std::fmt;

use casehub_model::{
    Case, CaseId, Disposition, EscortTeam, Officer, OfficerId, PersonId, Policy, Post, Room,
    RoomId, Rule, Site, SiteId, Station, StationId, Step, TeamId,
};
use chrono::{DateTime, Utc};
use imbl::{OrdMap, Vector};
use serde::{Deserialize, Serialize};

use crate::absence::Absence;
use crate::alert_records::AlertRecords;
pub use crate::command::*;
use crate::exceptions::Exceptions;
use crate::particulars::PersonRecord;
use crate::region::RegionVersion;
use crate::users::Users;

/// A reference to one versioned entity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityRef {
    Site(SiteId),
    Room(RoomId),
    Station(StationId),
    Officer(OfficerId),
    Team(TeamId),
    Case(CaseId),
}

impl fmt::Display for EntityRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntityRef::Site(id) => write!(f, "site {id}"),
            EntityRef::Room(id) => write!(f, "room {id}"),
            EntityRef::Station(id) => write!(f, "station {id}"),
            EntityRef::Officer(id) => write!(f, "officer {id}"),
            EntityRef::Team(id) => write!(f, "escort team {id}"),
            EntityRef::Case(id) => write!(f, "case {id}"),
        }
    }
}

/// A resource that can be booked for an interval.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceRef {
    Room(RoomId),
    Officer(OfficerId),
    Team(TeamId),
}

impl ResourceRef {
    pub fn entity(&self) -> EntityRef {
        match self {
            ResourceRef::Room(id) => EntityRef::Room(id.clone()),
            ResourceRef::Officer(id) => EntityRef::Officer(id.clone()),
            ResourceRef::Team(id) => EntityRef::Team(id.clone()),
        }
    }
}

/// A booking of a resource for the half-open interval `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    pub case: CaseId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The person it serves, when it serves one (a room step), else `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonId>,
    /// The step it serves, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<Step>,
}

impl Booking {
    pub(crate) fn overlaps(&self, other: &Booking) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// One booking in a [`Command::CommitPlan`]: which resource, and the booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedBooking {
    pub resource: ResourceRef,
    #[serde(flatten)]
    pub booking: Booking,
}

/// An entity with its version. Versions start at 1 and grow by one at every
/// change of the entity or of its bookings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versioned<T> {
    pub version: u64,
    pub value: T,
    /// A site or station out of service since then (rules version 7; see
    /// [`crate::absence`]); never set for a case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactive_since: Option<DateTime<Utc>>,
}

/// A bookable entity: versioned, with its bookings sorted by start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bookable<T> {
    pub version: u64,
    pub value: T,
    #[serde(default)]
    pub bookings: Vec<Booking>,
    /// Windows in which it cannot be booked, by start (rules version 6;
    /// see [`crate::absence`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub absences: Vec<Absence>,
    /// Out of service since then (rules version 6): never booked again
    /// until made active; its history stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactive_since: Option<DateTime<Utc>>,
}

impl<T> Bookable<T> {
    /// A new entry: version 0 (the caller bumps it), no bookings.
    pub(crate) fn new(value: T) -> Self {
        Bookable {
            version: 0,
            value,
            bookings: Vec::new(),
            absences: Vec::new(),
            inactive_since: None,
        }
    }
}

/// A room and the site it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomEntry {
    pub site: SiteId,
    pub room: Room,
}

/// Where a case is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Submitted,
    Planned,
    InProgress,
    Exited,
}

/// Step progress of one person.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonProgress {
    /// The step under way and when it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<(Step, DateTime<Utc>)>,
    /// Completed steps with their start and end, in order.
    #[serde(default)]
    pub completed: Vec<(Step, DateTime<Utc>, DateTime<Utc>)>,
}

/// A case in the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseEntry {
    pub case: Case,
    pub status: CaseStatus,
    pub submitted_at: DateTime<Utc>,
    #[serde(default)]
    pub progress: BTreeMap<PersonId, PersonProgress>,
    /// Every escort delay reported for the case, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delays: Vec<Delay>,
    /// Set when a late event broke the case's accepted plan; cleared when a
    /// new plan for the case is committed, or its rooms are released.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_broken: Option<PlanBroken>,
    /// Each person's pseudonym and sealed particulars, when the case came
    /// with them (rules version 4; see [`crate::particulars`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub person_records: BTreeMap<PersonId, PersonRecord>,
    /// When the case exited (rules version 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exited_at: Option<DateTime<Utc>>,
    /// How it exited (rules version 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<Disposition>,
}

/// An escort delay reported for a case (see [`Command::ReportDelay`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delay {
    /// The Raft log index the report was applied at.
    pub index: u64,
    /// The request that reported it.
    pub client_id: String,
    pub request_id: u64,
    pub reported_at: DateTime<Utc>,
    /// The escort team that is late, when the report names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<TeamId>,
    pub minutes: u32,
    /// The escort had the persons aboard.
    #[serde(default)]
    pub picked_up: bool,
    pub reason: String,
    pub outcome: DelayOutcome,
}

/// What a delay did to the plans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DelayOutcome {
    /// The rest of the case's plan moved later by the delay. The plans of
    /// `replanned` (cases that had not begun) collided with it and were
    /// returned to re-planning.
    Slipped { replanned: Vec<CaseId> },
    /// The delayed plan did not fit and the case had not left its station:
    /// its plan was dropped (a late team stays booked for the delay) and the
    /// case waits to be re-planned.
    Replanned,
    /// The case has left its station and its delayed plan collides with
    /// bookings that cannot move: nothing moved, the case's plan is broken
    /// and a dispatcher must decide. The conflicts, in words.
    Broken { conflicts: Vec<String> },
}

/// Why a case's accepted plan no longer holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanBroken {
    pub at: DateTime<Utc>,
    pub reason: String,
}

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

    fn rejected(reason: impl Into<String>, conflicts: Vec<Conflict>) -> Self {
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

/// The whole replicated scheduling state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SchedulingState {
    pub sites: BTreeMap<SiteId, Versioned<Site>>,
    pub rooms: BTreeMap<RoomId, Bookable<RoomEntry>>,
    pub stations: BTreeMap<StationId, Versioned<Station>>,
    pub officers: BTreeMap<OfficerId, Bookable<Officer>>,
    pub teams: BTreeMap<TeamId, Bookable<EscortTeam>>,
    pub cases: BTreeMap<CaseId, Versioned<CaseEntry>>,
    pub policy: Policy,
    /// client id → request id → the response it got.
    pub applied_requests: OrdMap<String, OrdMap<u64, Response>>,
    /// One entry per request applied, in log order.
    pub audit: Vector<AuditEntry>,
    /// The version of the rules the cluster applies commands by (see
    /// [`RULES_VERSION`]); 0 in a state written before versions existed,
    /// which applies them as version 1.
    #[serde(default)]
    pub rules_version: u32,
    /// Users, roles and the security policy (rules version 3).
    #[serde(default)]
    pub users: Users,
    /// The alerts with their lifecycle (rules version 5).
    #[serde(default, skip_serializing_if = "AlertRecords::is_empty")]
    pub alerts: AlertRecords,
    /// The region's static parts every node plans from (rules version 6;
    /// see [`crate::region`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<RegionVersion>,
    /// The exceptions asked for, by id (rules version 6; see
    /// [`crate::exceptions`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub exceptions: Exceptions,
    /// What has left the live state for the archive (rules version 7; see
    /// [`crate::archive`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<crate::archive::ArchiveMark>,
    /// What left the live state and the storage has not yet written to the
    /// archive ([`SchedulingState::take_archived`]); never serialised.
    #[serde(skip)]
    pub outbox: Vec<crate::archive::Archived>,
}

/// The version of the state machine's rules this build applies: 1, the
/// first; 2 adds [`Command::ReportDelay`], a step completed early freeing
/// its room and questioners early, and bookings bounded to the years of
/// [`BOOKING_TIMES`]; 3 adds users, roles and the security policy
/// ([`crate::users`]); 4 adds the persons' sealed particulars, their
/// purge and the exit time of a case ([`crate::particulars`]); 5 adds
/// [`Command::OverridePlan`] and the reason in the audit
/// ([`AuditEntry::reason`]), and the alerts kept with their lifecycle
/// ([`crate::alert_records`]); 6 adds the replicated region
/// ([`Command::SetRegion`]) and [`Command::AcceptPlan`], which checks a
/// plan against every rule of the catalogue at commit and replaces
/// `CommitPlan` and `OverridePlan`; 7 adds [`Command::Archive`], which
/// moves what ended before the retention period out of the live state
/// ([`crate::archive`]). A cluster applies the rules of its
/// [`SchedulingState::rules_version`], raised by
/// [`Command::SetRulesVersion`] once every node runs a build that has them,
/// so that nodes of two builds never apply one log differently.
pub const RULES_VERSION: u32 = 7;

pub(crate) type Outcome = Result<Vec<(EntityRef, u64)>, Response>;

pub(crate) fn reject_if(conflicts: Vec<Conflict>, reason: &str) -> Result<(), Response> {
    if conflicts.is_empty() {
        Ok(())
    } else {
        Err(Response::rejected(reason, conflicts))
    }
}

pub(crate) fn unknown(entity: EntityRef) -> Response {
    Response::rejected(
        format!("unknown {entity}"),
        vec![Conflict::Unknown { entity }],
    )
}

pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Response {
    let (field, reason) = (field.into(), reason.into());
    Response::rejected(
        format!("invalid {field}: {reason}"),
        vec![Conflict::Invalid { field, reason }],
    )
}

/// Insert or bump: version 1 for a new entry, else one more than before.
fn next_version(old: Option<u64>) -> u64 {
    old.map_or(1, |v| v + 1)
}

/// Truncate `bookings` of `case` at `at`: those under way end at `at`, later
/// ones are dropped. Returns whether anything changed.
fn release(bookings: &mut Vec<Booking>, case: &CaseId, at: DateTime<Utc>) -> bool {
    release_where(bookings, at, |b| b.case == *case)
}

/// [`release`] for the bookings `which` selects.
fn release_where(
    bookings: &mut Vec<Booking>,
    at: DateTime<Utc>,
    which: impl Fn(&Booking) -> bool,
) -> bool {
    let before = bookings.clone();
    bookings.retain(|b| !(which(b) && b.start >= at));
    for b in bookings.iter_mut() {
        if which(b) && b.end > at {
            b.end = at;
        }
    }
    *bookings != before
}

/// The most bookings of `bookings` under way at one moment of `within`.
pub(crate) fn max_concurrency(bookings: &[&Booking], within: &Booking) -> usize {
    // The maximum over an interval is reached at its start or at a booking's start.
    bookings
        .iter()
        .map(|b| {
            let at = b.start.max(within.start);
            bookings
                .iter()
                .filter(|o| o.start <= at && at < o.end)
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// The most of `bookings` under way at one moment.
fn peak(bookings: &[Booking]) -> usize {
    bookings
        .iter()
        .map(|b| {
            bookings
                .iter()
                .filter(|o| o.start <= b.start && b.start < o.end)
                .count()
        })
        .max()
        .unwrap_or(0)
}

impl SchedulingState {
    /// A new, empty state with the default policy, at this build's
    /// [`RULES_VERSION`]. (The `Default` state, what a node starts from
    /// before it has applied anything, is at version 0, so that a log
    /// written by older nodes is replayed by their rules.)
    pub fn new() -> Self {
        Self {
            rules_version: RULES_VERSION,
            ..Self::default()
        }
    }

    /// An empty state that applies the rules of `version` (at most this
    /// build's): to replay, or to test, what an older version did.
    pub fn with_rules(version: u32) -> Self {
        Self {
            rules_version: version.min(RULES_VERSION),
            ..Self::default()
        }
    }

    /// The rules version the cluster applies (a state written before
    /// versions, at 0, applies version 1).
    pub fn applied_rules(&self) -> u32 {
        self.rules_version.max(1)
    }

    /// Whether the cluster applies the rules of `version` or later.
    pub fn rules_at_least(&self, version: u32) -> bool {
        self.applied_rules() >= version
    }

    /// `Ok` if the cluster applies the rules `command` needs, else its
    /// rejection. The state machine checks it at apply; the leader checks it
    /// before proposing, so that nodes of older builds never see it.
    pub fn check_rules(&self, command: &Command) -> Result<(), Response> {
        let needed = command.rules_needed();
        if self.rules_at_least(needed) {
            return Ok(());
        }
        Err(invalid(
            "command",
            format!(
                "this command needs the rules of version {needed}; the cluster applies version {} until every node runs a build that has them",
                self.applied_rules()
            ),
        ))
    }

    /// The current version of an entity, if it exists.
    pub fn version_of(&self, entity: &EntityRef) -> Option<u64> {
        match entity {
            EntityRef::Site(id) => self.sites.get(id).map(|e| e.version),
            EntityRef::Room(id) => self.rooms.get(id).map(|e| e.version),
            EntityRef::Station(id) => self.stations.get(id).map(|e| e.version),
            EntityRef::Officer(id) => self.officers.get(id).map(|e| e.version),
            EntityRef::Team(id) => self.teams.get(id).map(|e| e.version),
            EntityRef::Case(id) => self.cases.get(id).map(|e| e.version),
        }
    }

    /// The bookings of a resource, or `None` if it is unknown.
    pub fn bookings_of(&self, resource: &ResourceRef) -> Option<&[Booking]> {
        match resource {
            ResourceRef::Room(id) => self.rooms.get(id).map(|e| e.bookings.as_slice()),
            ResourceRef::Officer(id) => self.officers.get(id).map(|e| e.bookings.as_slice()),
            ResourceRef::Team(id) => self.teams.get(id).map(|e| e.bookings.as_slice()),
        }
    }

    /// Every bookable resource (rooms, then officers, then escort teams)
    /// with its version and bookings.
    pub(crate) fn resources(&self) -> impl Iterator<Item = (ResourceRef, u64, &[Booking])> {
        let rooms = self
            .rooms
            .iter()
            .map(|(id, e)| (ResourceRef::Room(id.clone()), e.version, &e.bookings[..]));
        let officers = self
            .officers
            .iter()
            .map(|(id, e)| (ResourceRef::Officer(id.clone()), e.version, &e.bookings[..]));
        let teams = self
            .teams
            .iter()
            .map(|(id, e)| (ResourceRef::Team(id.clone()), e.version, &e.bookings[..]));
        rooms.chain(officers).chain(teams)
    }

    /// [`Self::resources`], to change.
    pub(crate) fn resources_mut(
        &mut self,
    ) -> impl Iterator<Item = (ResourceRef, &mut u64, &mut Vec<Booking>)> {
        let rooms = self.rooms.iter_mut().map(|(id, e)| {
            (
                ResourceRef::Room(id.clone()),
                &mut e.version,
                &mut e.bookings,
            )
        });
        let officers = self.officers.iter_mut().map(|(id, e)| {
            (
                ResourceRef::Officer(id.clone()),
                &mut e.version,
                &mut e.bookings,
            )
        });
        let teams = self.teams.iter_mut().map(|(id, e)| {
            (
                ResourceRef::Team(id.clone()),
                &mut e.version,
                &mut e.bookings,
            )
        });
        rooms.chain(officers).chain(teams)
    }

    fn bookings_mut(&mut self, resource: &ResourceRef) -> Option<(&mut u64, &mut Vec<Booking>)> {
        match resource {
            ResourceRef::Room(id) => self
                .rooms
                .get_mut(id)
                .map(|e| (&mut e.version, &mut e.bookings)),
            ResourceRef::Officer(id) => self
                .officers
                .get_mut(id)
                .map(|e| (&mut e.version, &mut e.bookings)),
            ResourceRef::Team(id) => self
                .teams
                .get_mut(id)
                .map(|e| (&mut e.version, &mut e.bookings)),
        }
    }

    pub(crate) fn capacity_of(&self, resource: &ResourceRef) -> usize {
        match resource {
            ResourceRef::Room(id) => self
                .rooms
                .get(id)
                .map_or(1, |e| e.value.room.capacity as usize),
            ResourceRef::Officer(_) | ResourceRef::Team(_) => 1,
        }
    }

    /// The response an earlier request with this id got, if any.
    pub fn earlier_response(&self, client_id: &str, request_id: u64) -> Option<&Response> {
        self.applied_requests.get(client_id)?.get(&request_id)
    }

    /// The log index at which the request `(client_id, request_id)` was first
    /// applied, from its audit entry.
    pub fn applied_at(&self, client_id: &str, request_id: u64) -> Option<u64> {
        self.audit
            .iter()
            .rev()
            .find(|a| a.client_id == client_id && a.request_id == request_id)
            .map(|a| a.index)
    }

    /// The audit entries from log index `index` on, in log order (shared
    /// with the state, not copied).
    pub fn audit_from(&self, index: u64) -> Vector<AuditEntry> {
        let start = self
            .audit
            .binary_search_by(|a| {
                if a.index < index {
                    std::cmp::Ordering::Less
                } else {
                    std::cmp::Ordering::Greater
                }
            })
            .unwrap_or_else(|i| i);
        self.audit.skip(start)
    }

    /// Apply one request at log index `index`. Deterministic and all-or-nothing.
    ///
    /// A request whose `(client_id, request_id)` was applied before gets the
    /// earlier response back, whatever its command, and changes nothing. A
    /// request without a client id or an actor is rejected without being
    /// recorded for deduplication.
    pub fn apply(&mut self, index: u64, request: &Request) -> Response {
        if let Some(earlier) = self.earlier_response(&request.client_id, request.request_id) {
            return earlier.clone();
        }
        for (field, value) in [("client_id", &request.client_id), ("actor", &request.actor)] {
            if value.trim().is_empty() {
                return invalid(field, "must not be empty");
            }
        }
        let response = match self.execute(index, request) {
            Ok(versions) => Response::Applied { versions },
            Err(rejected) => rejected,
        };
        let mut entry = AuditEntry {
            index,
            time: request.time,
            actor: request.actor.clone(),
            site: request.site.clone(),
            client_id: request.client_id.clone(),
            request_id: request.request_id,
            summary: request.command.summary(),
            reason: if self.rules_at_least(5) {
                request.command.reason().map(str::to_string)
            } else {
                None
            },
            hash: String::new(),
            rejected: match &response {
                Response::Applied { .. } => None,
                Response::Rejected { reason, .. } => Some(reason.clone()),
            },
        };
        if self.rules_at_least(3) {
            entry.hash = crate::audit::entry_hash(&self.audit_head(), &entry);
        }
        self.audit.push_back(entry);
        self.applied_requests
            .entry(request.client_id.clone())
            .or_default()
            .insert(request.request_id, response.clone());
        response
    }

    /// Validate, then change. Every check happens before the first change.
    fn execute(&mut self, index: u64, request: &Request) -> Outcome {
        self.check_rules(&request.command)?;
        let now = request.time;
        match &request.command {
            Command::UpsertSite(site) => self.upsert_site(site),
            Command::UpsertStation(station) => {
                let old = self.stations.get(&station.id);
                let v = next_version(old.map(|e| e.version));
                let inactive_since = old.and_then(|e| e.inactive_since);
                self.stations.insert(
                    station.id.clone(),
                    Versioned {
                        version: v,
                        value: station.clone(),
                        inactive_since,
                    },
                );
                Ok(vec![(EntityRef::Station(station.id.clone()), v)])
            }
            Command::UpsertOfficer(officer) => {
                match &officer.post {
                    Post::Site(s) if !self.sites.contains_key(s) => {
                        return Err(unknown(EntityRef::Site(s.clone())));
                    }
                    Post::Station(s) if !self.stations.contains_key(s) => {
                        return Err(unknown(EntityRef::Station(s.clone())));
                    }
                    _ => {}
                }
                let entry = self
                    .officers
                    .entry(officer.id.clone())
                    .or_insert(Bookable::new(officer.clone()));
                entry.version += 1;
                entry.value = officer.clone();
                Ok(vec![(
                    EntityRef::Officer(officer.id.clone()),
                    entry.version,
                )])
            }
            Command::UpsertTeam(team) => {
                let mut conflicts = Vec::new();
                if !self.sites.contains_key(&team.site) {
                    conflicts.push(Conflict::Unknown {
                        entity: EntityRef::Site(team.site.clone()),
                    });
                }
                for m in &team.members {
                    if !self.officers.contains_key(m) {
                        conflicts.push(Conflict::Unknown {
                            entity: EntityRef::Officer(m.clone()),
                        });
                    }
                }
                reject_if(conflicts, "the escort team names unknown entities")?;
                let entry = self
                    .teams
                    .entry(team.id.clone())
                    .or_insert(Bookable::new(team.clone()));
                entry.version += 1;
                entry.value = team.clone();
                Ok(vec![(EntityRef::Team(team.id.clone()), entry.version)])
            }
            Command::SetPolicy(policy) => {
                self.policy = policy.clone();
                Ok(Vec::new())
            }
            Command::SetRulesVersion(version) => {
                if *version > RULES_VERSION {
                    return Err(invalid(
                        "version",
                        format!("{version} is newer than this node's rules ({RULES_VERSION})"),
                    ));
                }
                if *version < self.rules_version {
                    return Err(invalid(
                        "version",
                        format!(
                            "{version} is older than the cluster's rules ({})",
                            self.rules_version
                        ),
                    ));
                }
                self.rules_version = *version;
                Ok(Vec::new())
            }
            Command::UpsertUser(user) => self.upsert_user(user).map(|()| Vec::new()),
            Command::RemoveUser { name } => self.remove_user(name).map(|()| Vec::new()),
            Command::RecordLogin { name, succeeded } => self
                .record_login(name, *succeeded, now)
                .map(|()| Vec::new()),
            Command::SetSecurityPolicy(p) => self.set_security_policy(p).map(|()| Vec::new()),
            Command::SetTokenKey { key } => self.set_token_key(key).map(|()| Vec::new()),
            Command::SubmitCase(case) => self.submit_case(case, BTreeMap::new(), now),
            Command::SubmitCaseWithParticulars { case, particulars } => {
                self.check_person_records(case, particulars)?;
                self.submit_case(case, particulars.clone(), now)
            }
            Command::PurgeParticulars { exited_before } => self.purge_particulars(*exited_before),
            Command::Archive { before } => self.archive(index, *before),
            Command::AlertSweep {
                raised,
                resolved,
                escalated,
            } => self.apply_sweep(raised, resolved, escalated, now),
            Command::AcknowledgeAlert { key } => self.acknowledge(key, &request.actor, now),
            Command::CommitPlan {
                bookings,
                expected_versions,
            }
            | Command::OverridePlan {
                bookings,
                expected_versions,
                ..
            } => {
                if self.rules_at_least(6) {
                    return Err(invalid(
                        "command",
                        "plans are committed with AcceptPlan, which checks every rule, since rules version 6",
                    ));
                }
                self.commit_plan(bookings, expected_versions)
            }
            Command::SetRegion(r) => self.set_region(r),
            Command::AddAbsence { resource, absence } => self.add_absence(resource, absence, now),
            Command::RemoveAbsence { resource, start } => self.remove_absence(resource, *start),
            Command::SetActive { resource, active } => self.set_active(resource, *active, now),
            Command::AcceptPlan {
                plans,
                now,
                region_version,
                expected_versions,
                exceptions,
                ..
            } => self.accept_plan(plans, *now, *region_version, expected_versions, exceptions),
            Command::RequestException { case, kind, reason } => {
                self.request_exception(index, case, kind, reason, &request.actor, now)
            }
            Command::DecideException { id, approve, note } => {
                self.decide_exception(*id, *approve, note, &request.actor, now)
            }
            Command::StartStep { case, person, step } => {
                let entry = self.open_case_mut(case)?;
                let Some(progress) = entry.value.progress.get_mut(person) else {
                    return Err(invalid(
                        "person",
                        format!("{person} is not a person of case {case}"),
                    ));
                };
                if let Some((current, _)) = progress.current {
                    return Err(invalid(
                        "step",
                        format!("{person} is still in {current}; complete it first"),
                    ));
                }
                if progress.completed.iter().any(|(s, _, _)| s == step) {
                    return Err(invalid(
                        "step",
                        format!("{person} has already completed {step}"),
                    ));
                }
                progress.current = Some((*step, now));
                entry.value.status = CaseStatus::InProgress;
                entry.version += 1;
                Ok(vec![(EntityRef::Case(case.clone()), entry.version)])
            }
            Command::CompleteStep { case, person, step } => {
                let entry = self.open_case_mut(case)?;
                let Some(progress) = entry.value.progress.get_mut(person) else {
                    return Err(invalid(
                        "person",
                        format!("{person} is not a person of case {case}"),
                    ));
                };
                match progress.current {
                    Some((current, started)) if current == *step => {
                        progress.current = None;
                        progress.completed.push((*step, started, now));
                    }
                    Some((current, _)) => {
                        return Err(invalid(
                            "step",
                            format!("{person} is in {current}, not in {step}"),
                        ));
                    }
                    None => {
                        return Err(invalid("step", format!("{person} has not started {step}")));
                    }
                }
                entry.version += 1;
                let mut changed = vec![(EntityRef::Case(case.clone()), entry.version)];
                if !self.rules_at_least(2) {
                    return Ok(changed);
                }
                // The rooms and officers booked for this step of this person
                // free up now: a step done early frees them early. An
                // officer with a later booking of the case (an escorting
                // questioner who drives the persons back) stays booked: the
                // gap would count them back at their post while they wait.
                let this_step = |b: &Booking| {
                    b.case == *case && b.person.as_ref() == Some(person) && b.step == Some(*step)
                };
                for (id, e) in self.rooms.iter_mut() {
                    if release_where(&mut e.bookings, now, this_step) {
                        e.version += 1;
                        changed.push((EntityRef::Room(id.clone()), e.version));
                    }
                }
                for (id, e) in self.officers.iter_mut() {
                    let step_end = e
                        .bookings
                        .iter()
                        .filter(|b| this_step(b))
                        .map(|b| b.end)
                        .max();
                    let goes_on = step_end.is_some_and(|end| {
                        e.bookings
                            .iter()
                            .any(|b| b.case == *case && !this_step(b) && b.start >= end)
                    });
                    if !goes_on && release_where(&mut e.bookings, now, this_step) {
                        e.version += 1;
                        changed.push((EntityRef::Officer(id.clone()), e.version));
                    }
                }
                Ok(changed)
            }
            Command::ReleaseRooms { case, rooms } => {
                self.open_case_mut(case)?;
                let conflicts: Vec<Conflict> = rooms
                    .iter()
                    .filter(|r| !self.rooms.contains_key(*r))
                    .map(|r| Conflict::Unknown {
                        entity: EntityRef::Room(r.clone()),
                    })
                    .collect();
                reject_if(conflicts, "unknown rooms")?;
                let mut changed = Vec::new();
                for (id, entry) in self.rooms.iter_mut() {
                    if (rooms.is_empty() || rooms.contains(id))
                        && release(&mut entry.bookings, case, now)
                    {
                        entry.version += 1;
                        changed.push((EntityRef::Room(id.clone()), entry.version));
                    }
                }
                let entry = self.open_case_mut(case)?;
                if entry.value.plan_broken.take().is_some() {
                    entry.version += 1;
                    changed.push((EntityRef::Case(case.clone()), entry.version));
                }
                Ok(changed)
            }
            Command::ReportDelay { .. } => self.report_delay(index, request),
            Command::ExitCase { case, disposition } => {
                self.open_case_mut(case)?;
                let mut changed = Vec::new();
                for (resource, version, bookings) in self.resources_mut() {
                    if release(bookings, case, now) {
                        *version += 1;
                        changed.push((resource.entity(), *version));
                    }
                }
                let v4 = self.rules_at_least(4);
                let entry = self.open_case_mut(case)?;
                entry.value.status = CaseStatus::Exited;
                if v4 {
                    entry.value.exited_at = Some(now);
                }
                entry.value.disposition = *disposition;
                entry.version += 1;
                changed.push((EntityRef::Case(case.clone()), entry.version));
                Ok(changed)
            }
        }
    }

    /// A new case, with its persons' records (empty when it came without
    /// particulars).
    fn submit_case(
        &mut self,
        case: &Case,
        person_records: BTreeMap<PersonId, PersonRecord>,
        now: DateTime<Utc>,
    ) -> Outcome {
        if self.cases.contains_key(&case.id) {
            return Err(invalid(
                "case.id",
                format!("case {} was already submitted", case.id),
            ));
        }
        let Some(origin) = self.stations.get(&case.origin) else {
            return Err(unknown(EntityRef::Station(case.origin.clone())));
        };
        if let Some(since) = origin.inactive_since {
            return Err(invalid(
                "case.origin",
                format!("station {} is out of service since {since}", case.origin),
            ));
        }
        let progress = case
            .persons
            .iter()
            .map(|p| (p.id.clone(), PersonProgress::default()))
            .collect();
        self.cases.insert(
            case.id.clone(),
            Versioned {
                version: 1,
                inactive_since: None,
                value: CaseEntry {
                    case: case.clone(),
                    status: CaseStatus::Submitted,
                    submitted_at: now,
                    progress,
                    delays: Vec::new(),
                    plan_broken: None,
                    person_records,
                    exited_at: None,
                    disposition: None,
                },
            },
        );
        Ok(vec![(EntityRef::Case(case.id.clone()), 1)])
    }

    /// A known case that has not exited.
    pub(crate) fn open_case_mut(
        &mut self,
        case: &CaseId,
    ) -> Result<&mut Versioned<CaseEntry>, Response> {
        match self.cases.get_mut(case) {
            None => Err(unknown(EntityRef::Case(case.clone()))),
            Some(e) if e.value.status == CaseStatus::Exited => {
                Err(invalid("case", format!("case {case} has exited")))
            }
            Some(e) => Ok(e),
        }
    }

    fn upsert_site(&mut self, site: &Site) -> Outcome {
        let mut conflicts = Vec::new();
        for room in &site.rooms {
            if let Some(e) = self.rooms.get(&room.id)
                && e.value.site != site.id
            {
                conflicts.push(Conflict::Invalid {
                    field: format!("rooms.{}", room.id),
                    reason: format!("room {} belongs to site {}", room.id, e.value.site),
                });
            }
        }
        // A room's capacity may not fall below what it already holds at once.
        for room in &site.rooms {
            if let Some(e) = self.rooms.get(&room.id) {
                let held = peak(&e.bookings);
                if held > room.capacity as usize {
                    conflicts.push(Conflict::Invalid {
                        field: format!("rooms.{}.capacity", room.id),
                        reason: format!(
                            "room {} holds {held} persons at once in its bookings; capacity {} is too small",
                            room.id, room.capacity
                        ),
                    });
                }
            }
        }
        // Rooms removed from the site must have no bookings.
        for (id, e) in &self.rooms {
            if e.value.site == site.id
                && !site.rooms.iter().any(|r| &r.id == id)
                && let Some(b) = e.bookings.first()
            {
                conflicts.push(Conflict::Overlap {
                    resource: ResourceRef::Room(id.clone()),
                    case: b.case.clone(),
                    start: b.start,
                    end: b.end,
                });
            }
        }
        reject_if(conflicts, "the site update conflicts with rooms in use")?;

        let mut changed = Vec::new();
        let old = self.sites.get(&site.id);
        let v = next_version(old.map(|e| e.version));
        let inactive_since = old.and_then(|e| e.inactive_since);
        self.sites.insert(
            site.id.clone(),
            Versioned {
                version: v,
                value: site.clone(),
                inactive_since,
            },
        );
        changed.push((EntityRef::Site(site.id.clone()), v));
        self.rooms
            .retain(|id, e| e.value.site != site.id || site.rooms.iter().any(|r| &r.id == id));
        for room in &site.rooms {
            let entry = self
                .rooms
                .entry(room.id.clone())
                .or_insert(Bookable::new(RoomEntry {
                    site: site.id.clone(),
                    room: room.clone(),
                }));
            if entry.version == 0 || entry.value.room != *room {
                entry.version += 1;
                entry.value.room = room.clone();
                changed.push((EntityRef::Room(room.id.clone()), entry.version));
            }
        }
        Ok(changed)
    }

    fn commit_plan(
        &mut self,
        bookings: &[PlannedBooking],
        expected_versions: &[(EntityRef, u64)],
    ) -> Outcome {
        if bookings.is_empty() {
            return Err(invalid("bookings", "a plan books at least one resource"));
        }
        self.check_versions(expected_versions)?;
        self.check_plan(bookings)?;
        let mut changed = self.book(bookings);
        let mut cases: Vec<&CaseId> = bookings.iter().map(|b| &b.booking.case).collect();
        cases.sort();
        cases.dedup();
        for case in cases {
            if let Some(v) = self.mark_planned(case) {
                changed.push((EntityRef::Case(case.clone()), v));
            }
        }
        Ok(changed)
    }

    /// Add checked bookings to their resources; the new versions of the
    /// resources. Only after [`Self::check_plan`] passed.
    pub(crate) fn book(&mut self, bookings: &[PlannedBooking]) -> Vec<(EntityRef, u64)> {
        let mut by_resource: BTreeMap<&ResourceRef, Vec<&Booking>> = BTreeMap::new();
        for pb in bookings {
            by_resource
                .entry(&pb.resource)
                .or_default()
                .push(&pb.booking);
        }
        let mut changed = Vec::new();
        for (resource, new) in by_resource {
            let (version, list) = self
                .bookings_mut(resource)
                .expect("checked before: the resource exists");
            list.extend(new.into_iter().cloned());
            list.sort_by_key(|b| (b.start, b.end));
            *version += 1;
            changed.push((resource.entity(), *version));
        }
        changed
    }
}
