//! Escort delays: what a late team does to the accepted plans.
//!
//! A delay is a fact, so [`Command::ReportDelay`](crate::Command::ReportDelay)
//! is always recorded on its case once it is valid. What it does to the
//! plans is decided here, deterministically, on a trial copy of the state:
//!
//! 1. Every booking of the case that has not ended slips by the delay: one
//!    under way ends later, one ahead starts and ends later.
//! 2. If the slipped bookings pass every check a commit passes (capacity
//!    and the legal rules), they replace the old ones: the plan holds, later.
//! 3. If not, a case that collides with the slip and has not begun (an
//!    accepted plan, no step started, no booking begun by the clock) has
//!    its plan dropped, one case at a time, the latest-starting first, until
//!    the slip fits. Then every dropped case whose plan still fits beside
//!    the slip gets it back (the last dropped first), so only the plans the
//!    slip really needs are dropped; the others wait to be re-planned.
//! 4. If the slip still collides with bookings that cannot move, nothing
//!    moves. A delayed case that has not left its station (the report says
//!    the persons are not aboard, and no step of it started) has its own
//!    plan dropped and is re-planned; a late team stays booked for the
//!    delay (from its planned departure, or from now if it has set off). A
//!    case that has left keeps its bookings and is marked with a broken plan
//!    for a dispatcher to decide.
//!
//! Every other accepted plan stays as it is. A case whose plan was dropped
//! is `submitted` again, with [`PlanBroken`] saying why, so the engine
//! proposes a new plan for it. A delay that would move a booking out of
//! the times chrono can represent is rejected.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use casehub_model::{CaseId, Post, Rule};

use crate::state::{
    Booking, CaseEntry, CaseStatus, Command, Conflict, Delay, DelayOutcome, EntityRef,
    MAX_DELAY_MIN, MAX_REASON_CHARS, PlanBroken, PlannedBooking, Request, ResourceRef, Response,
    SchedulingState, invalid, unknown,
};

type Outcome = Result<Vec<(EntityRef, u64)>, Response>;

impl SchedulingState {
    /// Every booking of `case`, with its resource, in resource order.
    pub fn case_bookings(&self, case: &CaseId) -> Vec<PlannedBooking> {
        self.resources()
            .flat_map(|(resource, _, bookings)| {
                bookings
                    .iter()
                    .filter(|b| &b.case == case)
                    .map(move |b| PlannedBooking {
                        resource: resource.clone(),
                        booking: b.clone(),
                    })
            })
            .collect()
    }

    /// Whether `case` has an accepted plan of which nothing has begun: no
    /// step started and every booking ahead of `now`.
    fn not_started(&self, case: &CaseId, now: DateTime<Utc>) -> bool {
        self.cases
            .get(case)
            .is_some_and(|e| e.value.status == CaseStatus::Planned)
            && !self.any_step_started(case)
            && self
                .case_bookings(case)
                .iter()
                .all(|pb| pb.booking.start > now)
    }

    /// Drop the bookings of `case` that `drop` selects, bumping the version
    /// of every resource that changed.
    fn drop_bookings(&mut self, case: &CaseId, drop: impl Fn(&Booking) -> bool) {
        for (_, version, bookings) in self.resources_mut() {
            let before = bookings.len();
            bookings.retain(|b| !(&b.case == case && drop(b)));
            if bookings.len() != before {
                *version += 1;
            }
        }
    }

    /// Drop every booking of `case` that has not ended at `at` and return
    /// the case to re-planning.
    pub(crate) fn unplan(&mut self, case: &CaseId, at: DateTime<Utc>, reason: String) {
        self.drop_bookings(case, |b| b.end > at);
        if let Some(e) = self.cases.get_mut(case) {
            e.value.status = CaseStatus::Submitted;
            e.value.plan_broken = Some(PlanBroken { at, reason });
            e.version += 1;
        }
    }

    /// The version of every room, officer, team and case.
    fn all_versions(&self) -> BTreeMap<EntityRef, u64> {
        let cases = self
            .cases
            .iter()
            .map(|(id, e)| (EntityRef::Case(id.clone()), e.version));
        self.resources()
            .map(|(resource, version, _)| (resource.entity(), version))
            .chain(cases)
            .collect()
    }

    /// A case other than `case` that has not started and takes part in one
    /// of `conflicts` of the slipped bookings: the latest-starting one of the
    /// first conflict that has one.
    fn culprit(
        &self,
        case: &CaseId,
        slipped: &[PlannedBooking],
        conflicts: &[Conflict],
        now: DateTime<Utc>,
    ) -> Option<CaseId> {
        // Of the other cases' bookings on `resources` that `on` accepts, the
        // case of the latest-starting one that has not started.
        let latest = |resources: &[ResourceRef], on: &dyn Fn(&ResourceRef, &Booking) -> bool| {
            resources
                .iter()
                .flat_map(|r| {
                    self.bookings_of(r)
                        .unwrap_or(&[])
                        .iter()
                        .map(move |b| (r, b))
                })
                .filter(|(r, b)| &b.case != case && on(r, b) && self.not_started(&b.case, now))
                .map(|(_, b)| (b.start, b.case.clone()))
                .max()
                .map(|(_, c)| c)
        };
        // A booking that overlaps a slipped booking of the same resource.
        let meets_slip = |r: &ResourceRef, b: &Booking| {
            slipped
                .iter()
                .any(|pb| &pb.resource == r && pb.booking.start < b.end && b.start < pb.booking.end)
        };
        conflicts.iter().find_map(|c| match c {
            Conflict::Overlap { resource, .. } => {
                latest(std::slice::from_ref(resource), &meets_slip)
            }
            Conflict::Rule {
                entity: EntityRef::Room(room),
                ..
            } => latest(&[ResourceRef::Room(room.clone())], &meets_slip),
            Conflict::Rule {
                rule,
                entity: EntityRef::Station(station),
                ..
            } if *rule == Rule::StationMinimum => {
                let posted: Vec<ResourceRef> = self
                    .officers
                    .iter()
                    .filter(|(_, e)| e.value.post == Post::Station(station.clone()))
                    .map(|(id, _)| ResourceRef::Officer(id.clone()))
                    .collect();
                // Any officer of the station away while the slipped
                // bookings of its officers run counts.
                let window = slipped.iter().filter(|pb| posted.contains(&pb.resource));
                let from = window.clone().map(|pb| pb.booking.start).min()?;
                let to = window.map(|pb| pb.booking.end).max()?;
                latest(&posted, &|_, b| b.start < to && from < b.end)
            }
            _ => None,
        })
    }

    /// Whether a step of `case` has started.
    pub(crate) fn any_step_started(&self, case: &CaseId) -> bool {
        self.cases.get(case).is_some_and(|e| {
            e.value
                .progress
                .values()
                .any(|p| p.current.is_some() || !p.completed.is_empty())
        })
    }

    /// Apply [`Command::ReportDelay`](crate::Command::ReportDelay) at log
    /// index `index`; see the module documentation.
    pub(crate) fn report_delay(&mut self, index: u64, request: &Request) -> Outcome {
        let Command::ReportDelay {
            case,
            team,
            minutes,
            picked_up,
            reason,
        } = &request.command
        else {
            return Err(invalid("command", "not a delay report"));
        };
        let (minutes, picked_up, now) = (*minutes, *picked_up, request.time);
        let entry = self.open_case_mut(case)?;
        if entry.value.status == CaseStatus::Submitted {
            return Err(invalid(
                "case",
                format!("case {case} has no accepted plan to delay"),
            ));
        }
        if minutes == 0 || minutes > MAX_DELAY_MIN {
            return Err(invalid(
                "minutes",
                format!("{minutes} is not between 1 and {MAX_DELAY_MIN}"),
            ));
        }
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(invalid(
                "reason",
                format!("longer than {MAX_REASON_CHARS} characters"),
            ));
        }
        if let Some(t) = team {
            let Some(e) = self.teams.get(t) else {
                return Err(unknown(EntityRef::Team(t.clone())));
            };
            if !e.bookings.iter().any(|b| &b.case == case && b.end > now) {
                return Err(invalid(
                    "team",
                    format!("escort team {t} has no booking of case {case} that has not ended"),
                ));
            }
        }
        let ahead: Vec<PlannedBooking> = self
            .case_bookings(case)
            .into_iter()
            .filter(|pb| pb.booking.end > now)
            .collect();
        if ahead.is_empty() {
            return Err(invalid(
                "case",
                format!("no booking of case {case} lies ahead to delay"),
            ));
        }
        let d = Duration::minutes(i64::from(minutes));
        let later = |t: DateTime<Utc>| {
            t.checked_add_signed(d).ok_or_else(|| {
                invalid(
                    "minutes",
                    format!("{minutes} min after {t} is beyond the times this store can hold"),
                )
            })
        };
        let mut slipped = Vec::with_capacity(ahead.len());
        for pb in &ahead {
            let mut b = pb.clone();
            if b.booking.start > now {
                b.booking.start = later(b.booking.start)?;
            }
            b.booking.end = later(b.booking.end)?;
            slipped.push(b);
        }
        // The late team's hold, should the case be re-planned: from its
        // planned departure for the delay, or from now if it has set off.
        // Only the team named, when the report names one.
        let mut holds = Vec::new();
        for pb in ahead.iter().filter(|pb| match (&pb.resource, team) {
            (ResourceRef::Team(t), Some(named)) => t == named,
            (ResourceRef::Team(_), None) => true,
            _ => false,
        }) {
            let mut original = pb.clone();
            original.booking.person = None;
            original.booking.step = None;
            let mut hold = original.clone();
            hold.booking.end = later(hold.booking.start.max(now))?;
            holds.push((hold, original));
        }

        let before = self.all_versions();
        let late = if reason.is_empty() {
            format!("{minutes} min late")
        } else {
            format!("{minutes} min late ({reason})")
        };
        let mut trial = self.clone();
        trial.drop_bookings(case, |b| b.end > now);
        // The cases dropped, with their bookings and what they were before.
        let mut dropped: Vec<(CaseId, Vec<PlannedBooking>, CaseEntry)> = Vec::new();
        let fits = loop {
            let conflicts = match trial.check_plan(&slipped) {
                Ok(()) => break Ok(()),
                Err(Response::Rejected { conflicts, .. }) => conflicts,
                Err(Response::Applied { .. }) => Vec::new(),
            };
            match trial.culprit(case, &slipped, &conflicts, now) {
                Some(other) => {
                    let bookings = trial.case_bookings(&other);
                    let was = trial.cases[&other].value.clone();
                    trial.unplan(
                        &other,
                        now,
                        format!(
                            "the escort of case {case} is {late}, and its delayed plan collides with this one"
                        ),
                    );
                    dropped.push((other, bookings, was));
                }
                None => break Err(conflicts),
            }
        };

        let outcome = match fits {
            Ok(()) => {
                trial.book(&slipped);
                // Give back every dropped plan that still fits, the last
                // dropped first: only the plans the slip needs stay dropped.
                let mut replanned = Vec::new();
                for (other, bookings, was) in dropped.into_iter().rev() {
                    if !bookings.is_empty() && trial.check_plan(&bookings).is_ok() {
                        trial.book(&bookings);
                        if let Some(e) = trial.cases.get_mut(&other) {
                            e.value.status = was.status;
                            e.value.plan_broken = was.plan_broken;
                            e.version += 1;
                        }
                    } else {
                        replanned.push(other);
                    }
                }
                replanned.reverse();
                // The plan holds again, later.
                if let Some(e) = trial.cases.get_mut(case) {
                    e.value.plan_broken = None;
                }
                *self = trial;
                DelayOutcome::Slipped { replanned }
            }
            Err(_) if !picked_up && !self.any_step_started(case) => {
                let mut next = self.clone();
                next.unplan(
                    case,
                    now,
                    format!("its escort is {late} and the delayed plan does not fit"),
                );
                // Each hold is checked with the ones booked before it; where
                // it does not fit, the team keeps its old booking if that
                // fits, else nothing.
                for (hold, original) in holds {
                    for candidate in [hold, original] {
                        let one = std::slice::from_ref(&candidate);
                        if next.check_plan(one).is_ok() {
                            next.book(one);
                            break;
                        }
                    }
                }
                *self = next;
                DelayOutcome::Replanned
            }
            Err(conflicts) => {
                let conflicts: Vec<String> = conflicts.iter().map(|c| c.to_string()).collect();
                if let Some(e) = self.cases.get_mut(case) {
                    e.value.plan_broken = Some(PlanBroken {
                        at: now,
                        reason: format!(
                            "its escort is {late}, and the delayed plan collides with bookings that cannot move: {}",
                            conflicts.join("; ")
                        ),
                    });
                }
                DelayOutcome::Broken { conflicts }
            }
        };
        let entry = self
            .cases
            .get_mut(case)
            .expect("checked above: the case exists");
        entry.value.delays.push(Delay {
            index,
            client_id: request.client_id.clone(),
            request_id: request.request_id,
            reported_at: now,
            team: team.clone(),
            minutes,
            picked_up,
            reason: reason.clone(),
            outcome,
        });
        entry.version += 1;
        let after = self.all_versions();
        Ok(after
            .into_iter()
            .filter(|(e, v)| before.get(e) != Some(v))
            .collect())
    }
}
