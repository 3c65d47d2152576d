//! What the scheduling state holds: the entities with their versions, their
//! bookings and absences, and the cases with their progress, delays and
//! broken plans.

use std::collections::BTreeMap;
use std::fmt;

use casehub_model::{
    Case, CaseId, Disposition, OfficerId, PersonId, Room, RoomId, SiteId, StationId, Step, TeamId,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::absence::Absence;
use crate::particulars::PersonRecord;

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
