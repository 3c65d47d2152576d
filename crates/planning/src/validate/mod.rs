//! The independent plan validator.
//!
//! [`validate`] checks a [`Plan`] against the rules from scratch, directly on
//! time intervals (`DateTime<Utc>`, half-open `[start, end)`), and shares no
//! code with the solvers: a solver bug cannot hide behind the same bug here.
//! It never panics, whatever the plan holds (unknown ids, empty lists,
//! intervals that end before they start, instants at the edge of the
//! calendar): anything odd is reported as a [`Violation`].
//!
//! What counts:
//!
//! * the plan's own bookings (rooms, officers, teams) are checked against each
//!   other and against what the [`State`] already holds (`room_bookings`,
//!   `officer_commitments`, `team_commitments`);
//! * a conflict among the state's existing bookings alone is not the plan's
//!   fault and is not reported: every resource violation involves the plan;
//! * open hours and shifts are local times of day: the local minute of an
//!   instant is `unix_seconds.div_euclid(60) + region.info.utc_offset_min`.
//!
//! Times in [`Violation::detail`] are local (`YYYY-MM-DD HH:MM`).
//!
//! Choices where the rules leave room:
//!
//! * something unknown (room, officer, team, person, case) is a
//!   [`Rule::Reference`] violation and is left out of the other checks; an
//!   unknown officer does not count towards a minimum (so too few known
//!   questioners is also [`Rule::QuestioningOfficers`]);
//! * a pinned case may depart before `now`; only its site, escort and person
//!   plans must equal the accepted plan (not its cost or `pinned` flag);
//! * every step's named staff are busy during the step, not only searchers;
//! * a station officer is away from the station during any plan escort
//!   `[depart, back)` they are part of, whatever the escort mode;
//! * two bookings of the same person (same case and person id) never clash
//!   with each other in a room; order and gaps are [`Rule::StepSequence`]'s;
//! * co-suspect groups are compared by group id across cases and existing
//!   bookings;
//! * `slack_min` may be the minutes truncated or floored (they differ only
//!   for instants off the minute).
//!
//! [`validate`] builds a `Checker` and runs its checks, one module per
//! family of rules:
//!
//! * `references`: rule 1, everything named exists and every pending case
//!   appears once;
//! * `timeline`: rules 2 and 9, each person's steps in order without gaps,
//!   and questioning within the legal limit; the policy's longest hold and
//!   longest wait before intake (not for pinned plans);
//! * `rooms`: rules 3 to 8, room kind, recording and open hours, no room
//!   double-booked, holding capacity, juveniles apart from adults and
//!   co-suspects apart;
//! * `questioning`: rules 10 and 11, the questioning officers (a woman among
//!   them for a female juvenile), and the policy's juvenile questioning (a
//!   juvenile-suitable room and a juvenile-trained officer; not for pinned
//!   plans, accepted perhaps before the rule);
//! * `search`: rule 12, who searches;
//! * `escort`: rules 13, 14 and the seats of 15, the escort officers (a woman
//!   among them for a woman);
//! * `availability`: rules 15 and 16, no officer or team double-booked, and
//!   officers only on shift;
//! * `station`: rule 17, no station below its minimum on duty.

mod availability;
mod escort;
mod questioning;
mod references;
mod rooms;
mod search;
mod station;
mod timeline;

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use casehub_model::{Case, CaseId, DailyWindow, EscortTeam, Officer, Person, PersonId, Room, Site};

use crate::plan::{CasePlan, Plan, Rule};
use crate::state::{PendingCase, State};

/// One broken rule: which rule, which case (where one case is to blame) and
/// the people, rooms and times involved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    pub rule: Rule,
    pub case: Option<CaseId>,
    /// E.g. "room MC-int-1 booked by case C3 (person P1, questioning)
    /// 2025-03-03 10:00-12:00 and case C7 (person P9, existing booking)
    /// 2025-03-03 11:00-12:30".
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.case {
            Some(c) => write!(f, "[{}] case {}: {}", self.rule, c, self.detail),
            None => write!(f, "[{}] {}", self.rule, self.detail),
        }
    }
}

/// Check `plan` against every rule, given the `state` it was planned for.
/// An empty result means the plan is valid.
pub fn validate(state: &State, plan: &Plan) -> Vec<Violation> {
    let mut c = Checker::new(state, plan);
    c.check_references();
    for cp in &plan.cases {
        c.check_case(cp);
    }
    c.check_rooms();
    c.check_officers();
    c.check_teams();
    c.check_stations();
    c.out
}

struct Checker<'a> {
    state: &'a State,
    plan: &'a Plan,
    offset_min: i64,
    rooms: HashMap<&'a str, (&'a Site, &'a Room)>,
    officers: HashMap<&'a str, &'a Officer>,
    teams: HashMap<&'a str, &'a EscortTeam>,
    pending: HashMap<&'a str, &'a PendingCase>,
    out: Vec<Violation>,
}

/// An interval with a description of what happens in it.
type Described = (DateTime<Utc>, DateTime<Utc>, String);

fn overlaps(
    a_start: DateTime<Utc>,
    a_end: DateTime<Utc>,
    b_start: DateTime<Utc>,
    b_end: DateTime<Utc>,
) -> bool {
    a_start < b_end && b_start < a_end
}

fn ids<T: fmt::Display>(list: impl IntoIterator<Item = T>) -> String {
    let v: Vec<String> = list.into_iter().map(|x| x.to_string()).collect();
    format!("[{}]", v.join(", "))
}

/// Merge intervals (given with descriptions) into a union of disjoint ones;
/// touching intervals merge too. Empty or reversed intervals are dropped.
fn merge(mut items: Vec<Described>) -> Vec<Described> {
    items.retain(|(s, e, _)| s < e);
    items.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut out: Vec<Described> = Vec::new();
    for (s, e, what) in items {
        match out.last_mut() {
            Some(last) if s <= last.1 => {
                if e > last.1 {
                    last.1 = e;
                }
                if !last.2.split(" + ").any(|w| w == what) {
                    last.2.push_str(" + ");
                    last.2.push_str(&what);
                }
            }
            _ => out.push((s, e, what)),
        }
    }
    out
}

impl<'a> Checker<'a> {
    fn new(state: &'a State, plan: &'a Plan) -> Self {
        let region = &state.region;
        let mut rooms = HashMap::new();
        for site in &region.sites {
            for room in &site.rooms {
                rooms.entry(room.id.as_str()).or_insert((site, room));
            }
        }
        let mut officers = HashMap::new();
        for o in &region.officers {
            officers.entry(o.id.as_str()).or_insert(o);
        }
        let mut teams = HashMap::new();
        for t in &region.escort_teams {
            teams.entry(t.id.as_str()).or_insert(t);
        }
        let mut pending = HashMap::new();
        for pc in &state.pending {
            pending.entry(pc.case.id.as_str()).or_insert(pc);
        }
        Checker {
            state,
            plan,
            offset_min: i64::from(region.info.utc_offset_min),
            rooms,
            officers,
            teams,
            pending,
            out: Vec::new(),
        }
    }

    fn push(&mut self, rule: Rule, case: Option<&CaseId>, detail: String) {
        self.out.push(Violation {
            rule,
            case: case.cloned(),
            detail,
        });
    }

    /// The local minute of an instant.
    fn local_min(&self, t: DateTime<Utc>) -> i64 {
        t.timestamp().div_euclid(60) + self.offset_min
    }

    /// The instant at the start of a local minute, if representable.
    fn instant_of_local(&self, local_min: i64) -> Option<DateTime<Utc>> {
        let secs = local_min.checked_sub(self.offset_min)?.checked_mul(60)?;
        DateTime::from_timestamp(secs, 0)
    }

    fn local(&self, t: DateTime<Utc>) -> Option<chrono::NaiveDateTime> {
        t.checked_add_signed(TimeDelta::minutes(self.offset_min))
            .map(|l| l.naive_utc())
    }

    /// An instant as local `YYYY-MM-DD HH:MM`.
    fn at(&self, t: DateTime<Utc>) -> String {
        match self.local(t) {
            Some(l) => l.format("%Y-%m-%d %H:%M").to_string(),
            None => format!("{t} (UTC)"),
        }
    }

    /// An interval as local `YYYY-MM-DD HH:MM-HH:MM` (or `... to ...` across days).
    fn span(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> String {
        match (self.local(start), self.local(end)) {
            (Some(a), Some(b)) if a.date() == b.date() => {
                format!("{}-{}", a.format("%Y-%m-%d %H:%M"), b.format("%H:%M"))
            }
            _ => format!("{} to {}", self.at(start), self.at(end)),
        }
    }

    fn case_of(&self, id: &CaseId) -> Option<&'a Case> {
        self.pending.get(id.as_str()).map(|pc| &pc.case)
    }

    fn person_of(&self, case: Option<&'a Case>, id: &PersonId) -> Option<&'a Person> {
        case?.persons.iter().find(|p| &p.id == id)
    }

    fn shift_window(&self, o: &Officer) -> Option<DailyWindow> {
        self.state.region.shift(o.shift.as_str()).map(|s| s.window)
    }
    /// The checks of one case plan on its own: rules 2-4 and 9-15.
    fn check_case(&mut self, cp: &'a CasePlan) {
        let case = self.case_of(&cp.case);
        let pinned = self
            .pending
            .get(cp.case.as_str())
            .is_some_and(|pc| pc.pinned.is_some());
        self.check_steps(cp, pinned);
        if !pinned {
            self.check_holding_time(cp);
            self.check_intake_wait(cp);
            self.check_juvenile_questioning(cp, case);
        }
        self.check_rooms_of_case(cp, case);
        if let Some(case) = case {
            self.check_legal(cp, case);
        }
        self.check_questioning(cp, case);
        self.check_search(cp, case);
        self.check_escort(cp, case);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn validate_merge_joins_overlapping_and_touching_intervals() {
        let m = merge(vec![
            (
                t("2025-03-03T02:00:00Z"),
                t("2025-03-03T03:00:00Z"),
                "b".into(),
            ),
            (
                t("2025-03-03T01:00:00Z"),
                t("2025-03-03T02:00:00Z"),
                "a".into(),
            ),
            (
                t("2025-03-03T02:30:00Z"),
                t("2025-03-03T02:45:00Z"),
                "c".into(),
            ),
            (
                t("2025-03-03T05:00:00Z"),
                t("2025-03-03T04:00:00Z"),
                "reversed".into(),
            ),
            (
                t("2025-03-03T06:00:00Z"),
                t("2025-03-03T07:00:00Z"),
                "d".into(),
            ),
        ]);
        assert_eq!(m.len(), 2, "{m:?}");
        assert_eq!(
            (m[0].0, m[0].1),
            (t("2025-03-03T01:00:00Z"), t("2025-03-03T03:00:00Z"))
        );
        assert_eq!(m[0].2, "a + b + c");
        assert_eq!(m[1].2, "d");
    }

    #[test]
    fn validate_overlap_is_half_open() {
        let (a, b, c) = (
            t("2025-03-03T01:00:00Z"),
            t("2025-03-03T02:00:00Z"),
            t("2025-03-03T03:00:00Z"),
        );
        assert!(!overlaps(a, b, b, c));
        assert!(overlaps(a, c, b, c));
        assert!(!overlaps(a, a, a, c));
    }

    #[test]
    fn validate_ids_lists() {
        assert_eq!(ids(["a", "b"]), "[a, b]");
        assert_eq!(ids(Vec::<String>::new()), "[]");
    }
}
