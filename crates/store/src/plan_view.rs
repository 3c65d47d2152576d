//! The replicated state as the allocation engine and its validator see it.
//!
//! * [`planning_state`]: the engine's [`State`] from the applied
//!   [`SchedulingState`] and a region (see
//!   [`SchedulingState::region_model`]): every booking becomes a room
//!   booking, an officer commitment or a team commitment; submitted cases
//!   are pending.
//! * [`plan_bookings`]: a plan's case as the store's bookings, each tagged
//!   with its person and step, so that the store and its alerts know who is
//!   questioned by whom. An escorting officer who also questions has the
//!   escort cut around the questioning.
//!
//! The commit ([`Command::AcceptPlan`](crate::Command::AcceptPlan)) uses
//! both: the plan is checked by the planner's validator on
//! [`planning_state`], then booked as [`plan_bookings`].

use chrono::{DateTime, Utc};

use casehub_model::{CaseId, OfficerId, Post, Region, Step};
use casehub_planning::{
    CasePlan, Commitment, EscortMode, PendingCase, Plan, RoomBooking, RoomClosure, State,
    TeamCommitment,
};
use casehub_travel::TravelTable;

use crate::region::RegionError;
use crate::state::{CaseStatus, SchedulingState};
use crate::{Booking, PlannedBooking, ResourceRef};

/// Why the replicated state could not be turned into the engine's input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Region(#[from] RegionError),
    #[error("{field}: no case {id:?}")]
    UnknownCase { field: String, id: String },
    #[error("{field}: case {id} is {status}, not submitted")]
    NotSubmitted {
        field: String,
        id: String,
        status: &'static str,
    },
}

fn status_name(s: CaseStatus) -> &'static str {
    match s {
        CaseStatus::Submitted => "submitted",
        CaseStatus::Planned => "planned",
        CaseStatus::InProgress => "in progress",
        CaseStatus::Exited => "exited",
    }
}

/// The engine's input at `now`: everything booked, and the submitted cases
/// (those named in `cases`, or all of them when it is empty) as pending.
pub fn planning_state(
    state: &SchedulingState,
    region: Region,
    travel: &TravelTable,
    now: DateTime<Utc>,
    cases: &[CaseId],
) -> Result<State, DispatchError> {
    for id in cases {
        match state.cases.get(id) {
            None => {
                return Err(DispatchError::UnknownCase {
                    field: "case_ids".into(),
                    id: id.to_string(),
                });
            }
            Some(c) if c.value.status != CaseStatus::Submitted => {
                return Err(DispatchError::NotSubmitted {
                    field: "case_ids".into(),
                    id: id.to_string(),
                    status: status_name(c.value.status),
                });
            }
            Some(_) => {}
        }
    }
    // Out of service: till long after any planning horizon.
    let forever = now + chrono::Duration::days(3650);
    // History: a booking of a case that exited, ended by now. No plan made
    // at `now` can newly conflict with it (every plan's own past steps were
    // checked against it when they were committed), and leaving it out
    // keeps the engine's input the size of the open cases, not of the
    // retention period.
    let history = |b: &Booking| {
        b.end <= now
            && state
                .cases
                .get(&b.case)
                .is_some_and(|e| e.value.status == CaseStatus::Exited)
    };
    let mut room_bookings = Vec::new();
    // A room out of service (or at a site out of service) is not in the
    // region planned from (see `SchedulingState::region_with`): neither are
    // its bookings.
    let mut room_closures = Vec::new();
    for (id, r) in &state.rooms {
        if state
            .out_of_service_since(&ResourceRef::Room(id.clone()))
            .is_some()
        {
            continue;
        }
        // A room's absence (maintenance): closed, whatever its capacity.
        for a in &r.absences {
            room_closures.push(RoomClosure {
                room: id.clone(),
                start: a.start,
                end: a.end,
                note: if a.note.is_empty() {
                    a.kind.to_string()
                } else {
                    format!("{}: {}", a.kind, a.note)
                },
            });
        }

        for b in r.bookings.iter().filter(|b| !history(b)) {
            let Some(entry) = state.cases.get(&b.case) else {
                continue;
            };
            let persons = &entry.value.case.persons;
            // A booking without a person holds the room for the case's first.
            let person = b
                .person
                .as_ref()
                .and_then(|p| persons.iter().find(|x| &x.id == p))
                .or(persons.first());
            let Some(person) = person else { continue };
            room_bookings.push(RoomBooking {
                room: r.value.room.id.clone(),
                case: b.case.clone(),
                person: person.id.clone(),
                juvenile: person.juvenile,
                group: person.co_suspect_group.clone(),
                start: b.start,
                end: b.end,
            });
        }
    }
    let mut officer_commitments = Vec::new();
    for (id, o) in &state.officers {
        let at_station = matches!(o.value.post, Post::Station(_));
        for b in o.bookings.iter().filter(|b| !history(b)) {
            officer_commitments.push(Commitment {
                officer: id.clone(),
                start: b.start,
                end: b.end,
                away_from_station: at_station,
                note: format!("{} {}", b.case, b.step.map_or("escort", |s| s.as_str())),
            });
        }
        // Away or out of service: not at the station either.
        let since = state.out_of_service_since(&ResourceRef::Officer(id.clone()));
        for (start, end, note) in away(o, since, forever) {
            officer_commitments.push(Commitment {
                officer: id.clone(),
                start,
                end,
                away_from_station: at_station,
                note,
            });
        }
    }
    let mut team_commitments = Vec::new();
    for (id, t) in &state.teams {
        for b in t.bookings.iter().filter(|b| !history(b)) {
            team_commitments.push(TeamCommitment {
                team: id.clone(),
                start: b.start,
                end: b.end,
                note: format!("{} escort", b.case),
            });
        }
        let since = state.out_of_service_since(&ResourceRef::Team(id.clone()));
        for (start, end, note) in away(t, since, forever) {
            team_commitments.push(TeamCommitment {
                team: id.clone(),
                start,
                end,
                note,
            });
        }
    }
    let pending = state
        .cases
        .values()
        .filter(|c| c.value.status == CaseStatus::Submitted)
        .filter(|c| cases.is_empty() || cases.contains(&c.value.case.id))
        .map(|c| PendingCase {
            case: c.value.case.clone(),
            pinned: None,
            restriction: None,
        })
        .collect();
    Ok(State {
        region,
        travel: travel.clone(),
        now,
        room_bookings,
        room_closures,
        officer_commitments,
        team_commitments,
        pending,
    })
}

fn booking(
    resource: ResourceRef,
    case: &CaseId,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    person: Option<&casehub_model::PersonId>,
    step: Option<Step>,
) -> PlannedBooking {
    PlannedBooking {
        resource,
        booking: Booking {
            case: case.clone(),
            start,
            end,
            person: person.cloned(),
            step,
        },
    }
}

/// The store's bookings for one case of a plan: a room per step of each
/// person (with the searcher, when named), the questioners over each
/// questioning, the escort team, and the escorting officers from departure
/// to return — cut around the questionings they carry out themselves.
pub fn plan_bookings(cp: &CasePlan) -> Vec<PlannedBooking> {
    let case = &cp.case;
    let mut out = Vec::new();
    // (officer, start, end, person) of every questioning.
    let mut questioning: Vec<(
        OfficerId,
        DateTime<Utc>,
        DateTime<Utc>,
        &casehub_model::PersonId,
    )> = Vec::new();
    for pp in &cp.persons {
        for s in &pp.steps {
            out.push(booking(
                ResourceRef::Room(s.room.clone()),
                case,
                s.start,
                s.end,
                Some(&pp.person),
                Some(s.step),
            ));
            for o in &s.staff {
                if !cp.escort.officers.contains(o) {
                    out.push(booking(
                        ResourceRef::Officer(o.clone()),
                        case,
                        s.start,
                        s.end,
                        Some(&pp.person),
                        Some(s.step),
                    ));
                }
            }
            if s.step == Step::Questioning {
                for o in &pp.questioning_officers {
                    questioning.push((o.clone(), s.start, s.end, &pp.person));
                }
            }
        }
    }
    for (o, start, end, person) in &questioning {
        out.push(booking(
            ResourceRef::Officer(o.clone()),
            case,
            *start,
            *end,
            Some(person),
            Some(Step::Questioning),
        ));
    }
    let e = &cp.escort;
    if e.mode == EscortMode::Team {
        // One team per vehicle.
        for t in e.teams() {
            out.push(booking(
                ResourceRef::Team(t.clone()),
                case,
                e.depart,
                e.back,
                None,
                None,
            ));
        }
    }
    for o in &e.officers {
        // The escort, minus this officer's own questionings.
        let mut cuts: Vec<(DateTime<Utc>, DateTime<Utc>)> = questioning
            .iter()
            .filter(|q| &q.0 == o)
            .map(|q| (q.1, q.2))
            .collect();
        cuts.sort();
        let mut from = e.depart;
        for (a, b) in cuts {
            if a > from {
                out.push(booking(
                    ResourceRef::Officer(o.clone()),
                    case,
                    from,
                    a.min(e.back),
                    None,
                    None,
                ));
            }
            from = from.max(b);
        }
        if from < e.back {
            out.push(booking(
                ResourceRef::Officer(o.clone()),
                case,
                from,
                e.back,
                None,
                None,
            ));
        }
    }
    out
}

/// The bookings of every case of `plan` (or only those in `cases`, when
/// not empty), in case order.
pub fn plan_bookings_for(plan: &Plan, cases: &[CaseId]) -> Vec<PlannedBooking> {
    plan.cases
        .iter()
        .filter(|cp| !cp.pinned && (cases.is_empty() || cases.contains(&cp.case)))
        .flat_map(plan_bookings)
        .collect()
}

/// A resource's absences, and its time out of service (`since`, its own or
/// its site's) until `forever`, as `(start, end, note)`.
fn away<T>(
    entry: &crate::state::Bookable<T>,
    since: Option<DateTime<Utc>>,
    forever: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>, String)> {
    let mut out: Vec<_> = entry
        .absences
        .iter()
        .map(|a| (a.start, a.end, format!("away: {}", a.kind)))
        .collect();
    if let Some(since) = since {
        out.push((since, forever.max(since), "out of service".to_string()));
    }
    out
}
