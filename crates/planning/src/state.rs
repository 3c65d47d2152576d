//! The engine's input: the region, the moment, what is already booked, and the pending cases.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use casehub_model::{Case, CaseId, GroupId, OfficerId, PersonId, Region, RoomId, SiteId, TeamId};
use casehub_travel::TravelTable;

use crate::plan::{CasePlan, EscortMode};

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

/// A room closed over `[start, end)`, for maintenance: nobody is put in it
/// then, whatever its capacity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomClosure {
    pub room: RoomId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Why, for a dispatcher (e.g. `maintenance: 更换录音设备`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
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
    /// A dispatcher's override: plan the case only this way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restriction: Option<Restriction>,
}

/// A dispatcher's restriction of one case's plan (an override): only at
/// this site, only with this kind of escort, not setting off before this
/// time. What is left unset stays the engine's choice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Restriction {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<SiteId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escort: Option<EscortMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<DateTime<Utc>>,
}

impl Restriction {
    /// Whether an option at `site` with escort `mode` is allowed.
    pub fn allows(&self, site: &SiteId, mode: EscortMode) -> bool {
        self.site.as_ref().is_none_or(|s| s == site) && self.escort.is_none_or(|m| m == mode)
    }
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
    /// Rooms closed for a while (maintenance).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub room_closures: Vec<RoomClosure>,
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
    /// Rooms closed for a while (maintenance).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub room_closures: Vec<RoomClosure>,
    #[serde(default)]
    pub officer_commitments: Vec<Commitment>,
    #[serde(default)]
    pub team_commitments: Vec<TeamCommitment>,
}

/// What an accepted case plan holds: its rooms, its officers (escorting
/// station officers away from their station) and its escort team, as the
/// engine's existing bookings. Escorting officers are committed for the
/// whole trip, which covers any questioning they do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Booked {
    pub rooms: Vec<RoomBooking>,
    pub officers: Vec<Commitment>,
    pub teams: Vec<TeamCommitment>,
}

impl Booked {
    /// The bookings of `plan`, a plan for `case`.
    pub fn of(case: &Case, plan: &CasePlan) -> Booked {
        let mut b = Booked::default();
        let mut officer = |officer: &OfficerId, start, end, away, note: String| {
            b.officers.push(Commitment {
                officer: officer.clone(),
                start,
                end,
                away_from_station: away,
                note,
            });
        };
        for pp in &plan.persons {
            let Some(person) = case.persons.iter().find(|x| x.id == pp.person) else {
                continue;
            };
            for step in &pp.steps {
                b.rooms.push(RoomBooking {
                    room: step.room.clone(),
                    case: case.id.clone(),
                    person: person.id.clone(),
                    juvenile: person.juvenile,
                    group: person.co_suspect_group.clone(),
                    start: step.start,
                    end: step.end,
                });
                for o in &step.staff {
                    officer(
                        o,
                        step.start,
                        step.end,
                        false,
                        format!("{} {}", case.id, step.step),
                    );
                }
                if step.step == casehub_model::Step::Questioning {
                    for o in pp
                        .questioning_officers
                        .iter()
                        .filter(|o| !plan.escort.officers.contains(o))
                    {
                        officer(
                            o,
                            step.start,
                            step.end,
                            false,
                            format!("{} questioning", case.id),
                        );
                    }
                }
            }
        }
        let station_escort = plan.escort.mode == EscortMode::Station;
        for o in &plan.escort.officers {
            officer(
                o,
                plan.escort.depart,
                plan.escort.back,
                station_escort,
                format!("{} escort", case.id),
            );
        }
        for t in plan.escort.teams() {
            b.teams.push(TeamCommitment {
                team: t.clone(),
                start: plan.escort.depart,
                end: plan.escort.back,
                note: format!("{} escort", case.id),
            });
        }
        b
    }
}
