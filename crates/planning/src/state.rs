//! The engine's input: the region, the moment, what is already booked, and the pending cases.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use casehub_model::{Case, CaseId, GroupId, OfficerId, PersonId, Region, RoomId, TeamId};
use casehub_travel::TravelTable;

use crate::plan::CasePlan;

/// A room already booked (by a committed plan or a step in progress).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomBooking {
    pub room: RoomId,
    pub case: CaseId,
    pub person: PersonId,
    /// The person is a juvenile (holding rooms never mix juveniles and adults).
    #[serde(default)]
    pub juvenile: bool,
    /// The person's co-suspect group (never held together).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupId>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// An officer already committed over an interval (escorting, questioning, searching).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commitment {
    pub officer: OfficerId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The officer is away from their station (counts against its minimum).
    #[serde(default)]
    pub away_from_station: bool,
    #[serde(default)]
    pub note: String,
}

/// An escort team already committed over an interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamCommitment {
    pub team: TeamId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    #[serde(default)]
    pub note: String,
}

/// A case to plan. A pinned case keeps its accepted plan unchanged; the
/// engine plans the others around it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingCase {
    pub case: Case,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<CasePlan>,
}

/// Everything the engine knows at `now`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub region: Region,
    /// Travel legs between every pair of stations and sites.
    pub travel: TravelTable,
    pub now: DateTime<Utc>,
    #[serde(default)]
    pub room_bookings: Vec<RoomBooking>,
    #[serde(default)]
    pub officer_commitments: Vec<Commitment>,
    #[serde(default)]
    pub team_commitments: Vec<TeamCommitment>,
    #[serde(default)]
    pub pending: Vec<PendingCase>,
}

/// What a dispatcher hands the engine besides the region: the moment, the
/// pending cases and what is already booked. This is the `--cases` file of
/// `casehub plan` (JSON; see docs/plan-format.md).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatchInput {
    /// Plan as of this moment (default: the time of the run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<DateTime<Utc>>,
    pub cases: Vec<PendingCase>,
    #[serde(default)]
    pub room_bookings: Vec<RoomBooking>,
    #[serde(default)]
    pub officer_commitments: Vec<Commitment>,
    #[serde(default)]
    pub team_commitments: Vec<TeamCommitment>,
}
