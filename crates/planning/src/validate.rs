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

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use casehub_model::{
    Case, CaseId, DailyWindow, EscortTeam, Gender, GroupId, Officer, Person, PersonId, Post,
    Qualification, Room, RoomKind, Site, Step,
};

use crate::plan::{CasePlan, EscortMode, Plan, Rule};
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

/// The steps every person goes through (medical and holding are optional).
const REQUIRED_STEPS: [Step; 4] = [
    Step::Intake,
    Step::Search,
    Step::InformationCollection,
    Step::Questioning,
];

/// Days of shift boundaries looked at inside one escort interval, at most.
const MAX_BOUNDARY_DAYS: i64 = 1000;

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

/// A person in a room over `[start, end)`, from the plan or the state.
struct Stay<'a> {
    case: &'a CaseId,
    person: &'a PersonId,
    /// The step, or "existing booking".
    what: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    /// `None` where the person is unknown.
    juvenile: Option<bool>,
    group: Option<&'a GroupId>,
    from_plan: bool,
}

impl Stay<'_> {
    fn describe(&self, c: &Checker<'_>) -> String {
        format!(
            "case {} (person {}, {}) {}",
            self.case,
            self.person,
            self.what,
            c.span(self.start, self.end)
        )
    }

    fn same_person(&self, other: &Stay<'_>) -> bool {
        self.case == other.case && self.person == other.person
    }
}

/// An interval with a description of what happens in it.
type Described = (DateTime<Utc>, DateTime<Utc>, String);

/// A station officer away from the station over `[start, end)`: escorting a
/// plan case (`case`), or by an existing commitment.
struct Away<'a> {
    officer: &'a str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    case: Option<&'a CaseId>,
}

/// Whose an officer's or a team's busy interval is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner<'a> {
    Case(&'a CaseId),
    /// A case plan by its position in `plan.cases` (teams: each escort separately).
    CasePlan(usize),
    /// An existing commitment by its position in the state's list.
    Commitment(usize),
}

struct Busy<'a> {
    owner: Owner<'a>,
    /// The plan case to blame, for plan intervals.
    case: Option<&'a CaseId>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    what: String,
}

impl Busy<'_> {
    fn describe(&self, c: &Checker<'_>) -> String {
        format!("{} {}", self.what, c.span(self.start, self.end))
    }
}

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

    // ------------------------------------------------------------ rule 1

    fn check_references(&mut self) {
        let state = self.state;
        let plan = self.plan;
        let region = &state.region;

        let mut pending_count: BTreeMap<&str, usize> = BTreeMap::new();
        for pc in &state.pending {
            *pending_count.entry(pc.case.id.as_str()).or_default() += 1;
        }
        for (id, n) in &pending_count {
            if *n > 1
                && let Some(pc) = self.pending.get(id).copied()
            {
                self.push(
                    Rule::Reference,
                    Some(&pc.case.id),
                    format!("case {id} is pending {n} times in the state"),
                );
            }
        }

        let mut planned: HashMap<&str, usize> = HashMap::new();
        let mut blocked: HashMap<&str, usize> = HashMap::new();
        for cp in &plan.cases {
            *planned.entry(cp.case.as_str()).or_default() += 1;
            if !self.pending.contains_key(cp.case.as_str()) {
                self.push(
                    Rule::Reference,
                    Some(&cp.case),
                    format!("the plan has case {}, which is not pending", cp.case),
                );
            }
        }
        for b in &plan.blocked {
            *blocked.entry(b.case.as_str()).or_default() += 1;
            if !self.pending.contains_key(b.case.as_str()) {
                self.push(
                    Rule::Reference,
                    Some(&b.case),
                    format!("the plan blocks case {}, which is not pending", b.case),
                );
            }
        }

        let mut seen = HashSet::new();
        for pc in &state.pending {
            let id = &pc.case.id;
            if !seen.insert(id.as_str()) {
                continue;
            }
            let p = planned.get(id.as_str()).copied().unwrap_or(0);
            let b = blocked.get(id.as_str()).copied().unwrap_or(0);
            if p + b == 0 {
                self.push(
                    Rule::Reference,
                    Some(id),
                    format!("pending case {id} is neither planned nor blocked"),
                );
            } else if p + b > 1 {
                self.push(Rule::Reference, Some(id), format!("case {id} appears {} times ({p} planned, {b} blocked); it must appear exactly once", p + b));
            }
            if let Some(pin) = &pc.pinned {
                if p == 0 {
                    self.push(
                        Rule::Reference,
                        Some(id),
                        format!("pinned case {id} is not among the planned cases"),
                    );
                }
                for cp in plan.cases.iter().filter(|cp| &cp.case == id) {
                    let mut differs = Vec::new();
                    if cp.site != pin.site {
                        differs.push(format!("site {} instead of {}", cp.site, pin.site));
                    }
                    if cp.escort != pin.escort {
                        differs.push("escort".to_string());
                    }
                    if cp.persons != pin.persons {
                        differs.push("persons' steps or officers".to_string());
                    }
                    if !differs.is_empty() {
                        self.push(
                            Rule::Reference,
                            Some(id),
                            format!(
                                "pinned case {id} differs from its accepted plan: {}",
                                differs.join(", ")
                            ),
                        );
                    }
                }
            }
        }

        for cp in &plan.cases {
            let cid = &cp.case;
            if region.site(cp.site.as_str()).is_none() {
                self.push(
                    Rule::Reference,
                    Some(cid),
                    format!("site {} does not exist", cp.site),
                );
            }
            if let Some(t) = &cp.escort.team
                && !self.teams.contains_key(t.as_str())
            {
                self.push(
                    Rule::Reference,
                    Some(cid),
                    format!("escort team {t} does not exist"),
                );
            }
            for o in &cp.escort.officers {
                if !self.officers.contains_key(o.as_str()) {
                    self.push(
                        Rule::Reference,
                        Some(cid),
                        format!("escort officer {o} does not exist"),
                    );
                }
            }
            if let Some(case) = self.case_of(cid) {
                for pp in &cp.persons {
                    if !case.persons.iter().any(|p| p.id == pp.person) {
                        self.push(
                            Rule::Reference,
                            Some(cid),
                            format!("person {} is not a person of case {cid}", pp.person),
                        );
                    }
                }
                for person in &case.persons {
                    let n = cp
                        .persons
                        .iter()
                        .filter(|pp| pp.person == person.id)
                        .count();
                    if n != 1 {
                        self.push(
                            Rule::Reference,
                            Some(cid),
                            format!(
                                "person {} of case {cid} has {n} person plans; needs exactly one",
                                person.id
                            ),
                        );
                    }
                }
            }
            for pp in &cp.persons {
                for b in &pp.steps {
                    match self.rooms.get(b.room.as_str()) {
                        None => {
                            self.push(
                                Rule::Reference,
                                Some(cid),
                                format!(
                                    "room {} ({} of person {}) does not exist",
                                    b.room, b.step, pp.person
                                ),
                            );
                        }
                        Some((site, _)) if site.id != cp.site => {
                            let detail = format!(
                                "room {} ({} of person {}) belongs to site {}, not the case's site {}",
                                b.room, b.step, pp.person, site.id, cp.site
                            );
                            self.push(Rule::Reference, Some(cid), detail);
                        }
                        Some(_) => {}
                    }
                    for s in &b.staff {
                        if !self.officers.contains_key(s.as_str()) {
                            self.push(
                                Rule::Reference,
                                Some(cid),
                                format!(
                                    "staff {s} ({} of person {}) does not exist",
                                    b.step, pp.person
                                ),
                            );
                        }
                    }
                }
                for o in &pp.questioning_officers {
                    if !self.officers.contains_key(o.as_str()) {
                        self.push(
                            Rule::Reference,
                            Some(cid),
                            format!(
                                "questioning officer {o} (person {}) does not exist",
                                pp.person
                            ),
                        );
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------ rules 2-4, 9-15 (per case)

    fn check_case(&mut self, cp: &'a CasePlan) {
        let case = self.case_of(&cp.case);
        let pinned = self
            .pending
            .get(cp.case.as_str())
            .is_some_and(|pc| pc.pinned.is_some());
        self.check_steps(cp, pinned);
        self.check_rooms_of_case(cp, case);
        if let Some(case) = case {
            self.check_legal(cp, case);
        }
        self.check_questioning(cp, case);
        self.check_search(cp, case);
        self.check_escort(cp, case);
    }

    /// Rule 2: step order, no gaps, escort times.
    fn check_steps(&mut self, cp: &'a CasePlan, pinned: bool) {
        let cid = &cp.case;
        let e = &cp.escort;
        if !(e.depart <= e.pickup && e.pickup <= e.arrive && e.arrive <= e.back) {
            let detail = format!(
                "escort times out of order: depart {}, pickup {}, arrive {}, back {} (need depart <= pickup <= arrive <= back)",
                self.at(e.depart),
                self.at(e.pickup),
                self.at(e.arrive),
                self.at(e.back)
            );
            self.push(Rule::StepSequence, Some(cid), detail);
        }
        if !pinned && e.depart < self.state.now {
            let detail = format!(
                "escort departs at {}, before now ({})",
                self.at(e.depart),
                self.at(self.state.now)
            );
            self.push(Rule::StepSequence, Some(cid), detail);
        }
        for pp in &cp.persons {
            let p = &pp.person;
            let Some(first) = pp
                .steps
                .iter()
                .find(|b| b.step == Step::Intake)
                .or(pp.steps.first())
            else {
                self.push(
                    Rule::StepSequence,
                    Some(cid),
                    format!("person {p} has no steps"),
                );
                continue;
            };
            if first.start < e.arrive {
                let detail = format!(
                    "person {p}: {} starts at {}, before the escort arrives at {}",
                    first.step,
                    self.at(first.start),
                    self.at(e.arrive)
                );
                self.push(Rule::StepSequence, Some(cid), detail);
            }
            for b in &pp.steps {
                if b.start >= b.end {
                    let detail = format!(
                        "person {p}: {} in room {} starts at {} but ends at {}",
                        b.step,
                        b.room,
                        self.at(b.start),
                        self.at(b.end)
                    );
                    self.push(Rule::StepSequence, Some(cid), detail);
                }
            }
            for w in pp.steps.windows(2) {
                let (a, b) = (&w[0], &w[1]);
                if b.step == a.step {
                    self.push(
                        Rule::StepSequence,
                        Some(cid),
                        format!("person {p}: step {} twice", a.step),
                    );
                } else if b.step < a.step {
                    let detail = format!(
                        "person {p}: {} after {} (the order is intake, search, information_collection, medical, holding, questioning)",
                        b.step, a.step
                    );
                    self.push(Rule::StepSequence, Some(cid), detail);
                }
                if b.start != a.end {
                    let detail = format!(
                        "person {p}: {} ends at {} but {} starts at {} (a person goes straight from room to room)",
                        a.step,
                        self.at(a.end),
                        b.step,
                        self.at(b.start)
                    );
                    self.push(Rule::StepSequence, Some(cid), detail);
                }
            }
            for req in REQUIRED_STEPS {
                if !pp.steps.iter().any(|b| b.step == req) {
                    self.push(
                        Rule::StepSequence,
                        Some(cid),
                        format!("person {p} has no {req} step"),
                    );
                }
            }
        }
    }

    /// Rules 3 and 4: room kind, recording, open hours.
    fn check_rooms_of_case(&mut self, cp: &'a CasePlan, case: Option<&'a Case>) {
        let cid = &cp.case;
        for pp in &cp.persons {
            for b in &pp.steps {
                let Some(&(site, room)) = self.rooms.get(b.room.as_str()) else {
                    continue;
                };
                if let Some(case) = case {
                    let want = b.step.room_kind(case.category);
                    if room.kind != want {
                        let detail = format!(
                            "person {}: {} in room {}, a {} room; a {} case needs a {want} room",
                            pp.person, b.step, room.id, room.kind, case.category
                        );
                        self.push(Rule::RoomKind, Some(cid), detail);
                    }
                }
                if !room.recording {
                    let detail = format!(
                        "person {}: {} in room {}, which has no audio/video recording",
                        pp.person, b.step, room.id
                    );
                    self.push(Rule::Recording, Some(cid), detail);
                }
                if b.start < b.end
                    && !site
                        .open_hours
                        .covers(self.local_min(b.start), self.local_min(b.end))
                {
                    let detail = format!(
                        "person {}: {} in room {} {} is outside site {}'s open hours {}",
                        pp.person,
                        b.step,
                        room.id,
                        self.span(b.start, b.end),
                        site.id,
                        site.open_hours
                    );
                    self.push(Rule::OpenHours, Some(cid), detail);
                }
            }
        }
    }

    /// Rule 9: deadline, questioning within it, slack.
    fn check_legal(&mut self, cp: &'a CasePlan, case: &'a Case) {
        let cid = &cp.case;
        let limit = self
            .state
            .region
            .policy
            .legal_limits
            .limit_min(case.category);
        let legal = case
            .clock_started_at
            .checked_add_signed(TimeDelta::minutes(i64::from(limit)));
        match legal {
            Some(d) if d != cp.deadline => {
                let detail = format!(
                    "deadline {} but the clock started at {} and the {} limit is {} min, so the deadline is {}",
                    self.at(cp.deadline),
                    self.at(case.clock_started_at),
                    case.category,
                    limit,
                    self.at(d)
                );
                self.push(Rule::LegalLimit, Some(cid), detail);
            }
            Some(_) => {}
            None => {
                let detail = format!(
                    "the clock started at {} and the deadline {limit} min later cannot be represented",
                    self.at(case.clock_started_at)
                );
                self.push(Rule::LegalLimit, Some(cid), detail);
            }
        }
        let deadline = legal.unwrap_or(cp.deadline);
        let mut latest: Option<DateTime<Utc>> = None;
        for pp in &cp.persons {
            for b in pp.steps.iter().filter(|b| b.step == Step::Questioning) {
                latest = Some(latest.map_or(b.end, |l| l.max(b.end)));
                if b.end > deadline {
                    let detail = format!(
                        "person {}: questioning ends at {}, after the legal deadline {}",
                        pp.person,
                        self.at(b.end),
                        self.at(deadline)
                    );
                    self.push(Rule::LegalLimit, Some(cid), detail);
                }
            }
        }
        if let Some(latest) = latest {
            let diff = deadline.signed_duration_since(latest);
            let truncated = diff.num_minutes();
            let floored = diff.num_seconds().div_euclid(60);
            if cp.slack_min != truncated && cp.slack_min != floored {
                let detail = format!(
                    "slack_min is {} but the last questioning ends at {}, {} min before the deadline {}",
                    cp.slack_min,
                    self.at(latest),
                    floored,
                    self.at(deadline)
                );
                self.push(Rule::LegalLimit, Some(cid), detail);
            }
        }
    }

    /// Rules 10 and 11: questioning officers.
    fn check_questioning(&mut self, cp: &'a CasePlan, case: Option<&'a Case>) {
        let cid = &cp.case;
        let min = self.state.region.policy.min_questioning_officers;
        for pp in &cp.persons {
            let distinct: BTreeSet<&str> =
                pp.questioning_officers.iter().map(|o| o.as_str()).collect();
            let mut qualified = 0u32;
            for id in &distinct {
                let Some(o) = self.officers.get(id).copied() else {
                    continue;
                };
                if o.can(Qualification::Questioning) {
                    qualified += 1;
                } else {
                    let detail = format!(
                        "officer {id} questions person {} without the questioning qualification",
                        pp.person
                    );
                    self.push(Rule::QuestioningOfficers, Some(cid), detail);
                }
            }
            if qualified < min {
                let detail = format!(
                    "person {} is questioned by {}: {qualified} distinct qualified officers, the policy needs {min}",
                    pp.person,
                    ids(&pp.questioning_officers)
                );
                self.push(Rule::QuestioningOfficers, Some(cid), detail);
            }
            if let Some(person) = self.person_of(case, &pp.person)
                && person.gender == Gender::Female
                && person.juvenile
                && !distinct.iter().any(|id| {
                    self.officers
                        .get(id)
                        .is_some_and(|o| o.gender == Gender::Female)
                })
            {
                let detail = format!(
                    "female juvenile {} is questioned by {} with no female officer",
                    pp.person,
                    ids(&pp.questioning_officers)
                );
                self.push(Rule::FemaleJuvenileQuestioning, Some(cid), detail);
            }
        }
    }

    /// Rule 12: who searches.
    fn check_search(&mut self, cp: &'a CasePlan, case: Option<&'a Case>) {
        let cid = &cp.case;
        for pp in &cp.persons {
            let female = self
                .person_of(case, &pp.person)
                .is_some_and(|p| p.gender == Gender::Female);
            for b in pp.steps.iter().filter(|b| b.step == Step::Search) {
                let known: Vec<&'a Officer> = b
                    .staff
                    .iter()
                    .filter_map(|s| self.officers.get(s.as_str()).copied())
                    .collect();
                if known.is_empty() {
                    let detail = format!(
                        "the search of person {} in room {} names no existing staff ({})",
                        pp.person,
                        b.room,
                        ids(&b.staff)
                    );
                    self.push(Rule::FemaleSearch, Some(cid), detail);
                }
                for o in known {
                    let s = &o.id;
                    if !o.can(Qualification::Search) {
                        self.push(
                            Rule::FemaleSearch,
                            Some(cid),
                            format!(
                                "{s} searches person {} without the search qualification",
                                pp.person
                            ),
                        );
                    }
                    if female && o.gender != Gender::Female {
                        self.push(
                            Rule::FemaleSearch,
                            Some(cid),
                            format!("female person {} is searched by male staff {s}", pp.person),
                        );
                    }
                }
            }
        }
    }

    /// Rules 13, 14 and the seat part of 15.
    fn check_escort(&mut self, cp: &'a CasePlan, case: Option<&'a Case>) {
        let cid = &cp.case;
        let e = &cp.escort;
        let min = self.state.region.policy.min_escort_officers;
        let distinct: BTreeSet<&str> = e.officers.iter().map(|o| o.as_str()).collect();
        let mut qualified = 0u32;
        for id in &distinct {
            let Some(o) = self.officers.get(id).copied() else {
                continue;
            };
            if o.can(Qualification::Escort) {
                qualified += 1;
            } else {
                self.push(
                    Rule::EscortOfficers,
                    Some(cid),
                    format!("escort officer {id} lacks the escort qualification"),
                );
            }
        }
        if qualified < min {
            let detail = format!(
                "escort by {}: {qualified} distinct qualified officers, the policy needs {min}",
                ids(&e.officers)
            );
            self.push(Rule::EscortOfficers, Some(cid), detail);
        }
        match e.mode {
            EscortMode::Team => match &e.team {
                None => self.push(
                    Rule::EscortOfficers,
                    Some(cid),
                    "a team escort names no team".to_string(),
                ),
                Some(t) => {
                    if let Some(team) = self.teams.get(t.as_str()) {
                        let members: BTreeSet<&str> =
                            team.members.iter().map(|m| m.as_str()).collect();
                        if members != distinct {
                            let detail = format!(
                                "team escort by {} but team {t}'s members are {}",
                                ids(&e.officers),
                                ids(&team.members)
                            );
                            self.push(Rule::EscortOfficers, Some(cid), detail);
                        }
                    }
                }
            },
            EscortMode::Station => {
                if let Some(t) = &e.team {
                    self.push(
                        Rule::EscortOfficers,
                        Some(cid),
                        format!("a station escort names team {t}"),
                    );
                }
                if let Some(case) = case {
                    let home = Post::Station(case.origin.clone());
                    for id in &distinct {
                        if let Some(o) = self.officers.get(id).copied()
                            && o.post != home
                        {
                            let detail = format!(
                                "station escort officer {id} is not posted to the case's station {}",
                                case.origin
                            );
                            self.push(Rule::EscortOfficers, Some(cid), detail);
                        }
                    }
                }
            }
        }
        if let Some(case) = case
            && case.persons.iter().any(|p| p.gender == Gender::Female)
            && !distinct.iter().any(|id| {
                self.officers
                    .get(id)
                    .is_some_and(|o| o.gender == Gender::Female)
            })
        {
            self.push(
                Rule::FemaleEscort,
                Some(cid),
                format!(
                    "a woman is escorted by {} with no female officer",
                    ids(&e.officers)
                ),
            );
        }
        if let Some(t) = &e.team
            && let Some(team) = self.teams.get(t.as_str())
        {
            let persons = case.map_or(cp.persons.len(), |c| c.persons.len());
            let seats = team
                .seats
                .saturating_sub(u32::try_from(team.members.len()).unwrap_or(u32::MAX));
            if persons > seats as usize {
                self.push(
                    Rule::TeamUnavailable,
                    Some(cid),
                    format!("team {t}'s vehicle has {seats} passenger seats for {persons} persons"),
                );
            }
        }
    }

    // ------------------------------------------------------------ rules 5-8

    fn check_rooms(&mut self) {
        let mut by_room: HashMap<&str, Vec<Stay<'a>>> = HashMap::new();
        for cp in &self.plan.cases {
            let case = self.case_of(&cp.case);
            for pp in &cp.persons {
                let person = self.person_of(case, &pp.person);
                for b in &pp.steps {
                    if b.start >= b.end || !self.rooms.contains_key(b.room.as_str()) {
                        continue;
                    }
                    by_room.entry(b.room.as_str()).or_default().push(Stay {
                        case: &cp.case,
                        person: &pp.person,
                        what: b.step.to_string(),
                        start: b.start,
                        end: b.end,
                        juvenile: person.map(|p| p.juvenile),
                        group: person.and_then(|p| p.co_suspect_group.as_ref()),
                        from_plan: true,
                    });
                }
            }
        }
        for rb in &self.state.room_bookings {
            if rb.start >= rb.end || !self.rooms.contains_key(rb.room.as_str()) {
                continue;
            }
            by_room.entry(rb.room.as_str()).or_default().push(Stay {
                case: &rb.case,
                person: &rb.person,
                what: "existing booking".to_string(),
                start: rb.start,
                end: rb.end,
                juvenile: Some(rb.juvenile),
                group: rb.group.as_ref(),
                from_plan: false,
            });
        }
        let region = &self.state.region;
        for site in &region.sites {
            for room in &site.rooms {
                let Some(mut stays) = by_room.remove(room.id.as_str()) else {
                    continue;
                };
                if !stays.iter().any(|s| s.from_plan) {
                    continue;
                }
                stays.sort_by(|a, b| a.start.cmp(&b.start).then(a.end.cmp(&b.end)));
                if room.kind == RoomKind::Holding {
                    self.check_holding(room, &stays);
                } else {
                    self.check_single(room, &stays);
                }
            }
        }
    }

    /// Rule 5 (and 8 for co-suspects in one room): one person at a time.
    fn check_single(&mut self, room: &Room, stays: &[Stay<'a>]) {
        for i in 0..stays.len() {
            for j in i + 1..stays.len() {
                let (a, b) = (&stays[i], &stays[j]);
                if b.start >= a.end {
                    break;
                }
                if !(a.from_plan || b.from_plan)
                    || a.same_person(b)
                    || !overlaps(a.start, a.end, b.start, b.end)
                {
                    continue;
                }
                let blame = if a.from_plan { a.case } else { b.case };
                let detail = format!(
                    "room {} booked by {} and {}",
                    room.id,
                    a.describe(self),
                    b.describe(self)
                );
                self.push(Rule::RoomDoubleBooked, Some(blame), detail);
                if let (Some(ga), Some(gb)) = (a.group, b.group)
                    && ga == gb
                {
                    let detail = format!(
                        "co-suspects {} and {} (group {ga}) are in room {} at overlapping times: {} and {}",
                        a.person,
                        b.person,
                        room.id,
                        a.describe(self),
                        b.describe(self)
                    );
                    self.push(Rule::CoSuspectSeparation, Some(blame), detail);
                }
            }
        }
    }

    /// Rules 6, 7 and 8 in a holding room, checked at every stay's start.
    fn check_holding(&mut self, room: &Room, stays: &[Stay<'a>]) {
        let mut last_over: Option<Vec<usize>> = None;
        let mut reported_pairs: HashSet<(usize, usize, Rule)> = HashSet::new();
        let points: BTreeSet<DateTime<Utc>> = stays.iter().map(|s| s.start).collect();
        for t in points {
            let present: Vec<usize> = (0..stays.len())
                .filter(|&i| stays[i].start <= t && t < stays[i].end)
                .collect();
            if !present.iter().any(|&i| stays[i].from_plan) {
                continue;
            }
            let blame = present
                .iter()
                .find(|&&i| stays[i].from_plan)
                .map(|&i| stays[i].case);
            // Distinct persons present.
            let mut persons: Vec<usize> = Vec::new();
            for &i in &present {
                if !persons.iter().any(|&k| stays[k].same_person(&stays[i])) {
                    persons.push(i);
                }
            }
            if persons.len() > room.capacity as usize {
                if last_over.as_ref() != Some(&persons) {
                    let who: Vec<String> =
                        persons.iter().map(|&i| stays[i].describe(self)).collect();
                    let detail = format!(
                        "holding room {} (capacity {}) holds {} persons at {}: {}",
                        room.id,
                        room.capacity,
                        persons.len(),
                        self.at(t),
                        who.join("; ")
                    );
                    self.push(Rule::HoldingCapacity, blame, detail);
                    last_over = Some(persons.clone());
                }
            } else {
                last_over = None;
            }
            for (x, &i) in persons.iter().enumerate() {
                for &j in &persons[x + 1..] {
                    let (a, b) = (&stays[i], &stays[j]);
                    if !(a.from_plan || b.from_plan) {
                        continue;
                    }
                    let blame = if a.from_plan { a.case } else { b.case };
                    let key = (i.min(j), i.max(j));
                    if let (Some(ja), Some(jb)) = (a.juvenile, b.juvenile)
                        && ja != jb
                        && reported_pairs.insert((key.0, key.1, Rule::JuvenileSeparation))
                    {
                        let (juv, adult) = if ja { (a, b) } else { (b, a) };
                        let detail = format!(
                            "holding room {} holds juvenile {} with adult {}: {} and {}",
                            room.id,
                            juv.person,
                            adult.person,
                            juv.describe(self),
                            adult.describe(self)
                        );
                        self.push(Rule::JuvenileSeparation, Some(blame), detail);
                    }
                    if let (Some(ga), Some(gb)) = (a.group, b.group)
                        && ga == gb
                        && reported_pairs.insert((key.0, key.1, Rule::CoSuspectSeparation))
                    {
                        let detail = format!(
                            "holding room {} holds co-suspects {} and {} (group {ga}) together: {} and {}",
                            room.id,
                            a.person,
                            b.person,
                            a.describe(self),
                            b.describe(self)
                        );
                        self.push(Rule::CoSuspectSeparation, Some(blame), detail);
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------ rule 16

    fn check_officers(&mut self) {
        // Plan intervals per officer, per case.
        let mut plan_busy: HashMap<&str, BTreeMap<&'a CaseId, Vec<Described>>> = HashMap::new();
        for cp in &self.plan.cases {
            let cid = &cp.case;
            let e = &cp.escort;
            for o in &e.officers {
                plan_busy
                    .entry(o.as_str())
                    .or_default()
                    .entry(cid)
                    .or_default()
                    .push((e.depart, e.back, format!("escort of case {cid}")));
            }
            for pp in &cp.persons {
                for b in &pp.steps {
                    if b.step == Step::Questioning {
                        for o in &pp.questioning_officers {
                            let what = format!("questioning of person {} (case {cid})", pp.person);
                            plan_busy
                                .entry(o.as_str())
                                .or_default()
                                .entry(cid)
                                .or_default()
                                .push((b.start, b.end, what));
                        }
                    }
                    for s in &b.staff {
                        let what = format!("{} of person {} (case {cid})", b.step, pp.person);
                        plan_busy
                            .entry(s.as_str())
                            .or_default()
                            .entry(cid)
                            .or_default()
                            .push((b.start, b.end, what));
                    }
                }
            }
        }
        let region = &self.state.region;
        for o in &region.officers {
            let Some(by_case) = plan_busy.remove(o.id.as_str()) else {
                continue;
            };
            let window = self.shift_window(o);
            let mut blocks: Vec<Busy<'a>> = Vec::new();
            for (cid, items) in by_case {
                if let Some(w) = window {
                    for (s, e, what) in &items {
                        if s < e && !w.covers(self.local_min(*s), self.local_min(*e)) {
                            let detail = format!(
                                "officer {}: {what} {} is outside their shift {} ({w})",
                                o.id,
                                self.span(*s, *e),
                                o.shift
                            );
                            self.push(Rule::OfficerUnavailable, Some(cid), detail);
                        }
                    }
                }
                // Within one case an officer may escort and question on the
                // same trip, but never do two tasks (questionings, searches) at once.
                // (The same task named twice is QuestioningOfficers' business.)
                let mut tasks: Vec<&Described> = items
                    .iter()
                    .filter(|(_, _, what)| !what.starts_with("escort of case"))
                    .collect();
                tasks.sort();
                tasks.dedup();
                for (i, a) in tasks.iter().enumerate() {
                    for b in &tasks[i + 1..] {
                        if a.0 < b.1 && b.0 < a.1 {
                            let detail = format!(
                                "officer {} has two tasks at once: {} {} and {} {}",
                                o.id,
                                a.2,
                                self.span(a.0, a.1),
                                b.2,
                                self.span(b.0, b.1)
                            );
                            self.push(Rule::OfficerUnavailable, Some(cid), detail);
                        }
                    }
                }
                for (s, e, what) in merge(items) {
                    blocks.push(Busy {
                        owner: Owner::Case(cid),
                        case: Some(cid),
                        start: s,
                        end: e,
                        what,
                    });
                }
            }
            for (k, c) in self.state.officer_commitments.iter().enumerate() {
                if c.officer == o.id && c.start < c.end {
                    let note = if c.note.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", c.note)
                    };
                    blocks.push(Busy {
                        owner: Owner::Commitment(k),
                        case: None,
                        start: c.start,
                        end: c.end,
                        what: format!("existing commitment{note}"),
                    });
                }
            }
            // A member of a team that is already out is busy with it.
            let n = self.state.officer_commitments.len();
            for (k, c) in self.state.team_commitments.iter().enumerate() {
                let member = region
                    .escort_teams
                    .iter()
                    .any(|t| t.id == c.team && t.members.contains(&o.id));
                if member && c.start < c.end {
                    blocks.push(Busy {
                        owner: Owner::Commitment(n + k),
                        case: None,
                        start: c.start,
                        end: c.end,
                        what: format!("existing commitment of team {}", c.team),
                    });
                }
            }
            self.report_overlaps(
                Rule::OfficerUnavailable,
                &format!("officer {}", o.id),
                blocks,
            );
        }
    }

    /// Report every overlapping pair of different owners, at least one from the plan.
    fn report_overlaps(&mut self, rule: Rule, who: &str, mut blocks: Vec<Busy<'a>>) {
        blocks.sort_by(|a, b| a.start.cmp(&b.start).then(a.end.cmp(&b.end)));
        for i in 0..blocks.len() {
            for j in i + 1..blocks.len() {
                let (a, b) = (&blocks[i], &blocks[j]);
                if b.start >= a.end {
                    break;
                }
                if a.owner == b.owner
                    || (a.case.is_none() && b.case.is_none())
                    || !overlaps(a.start, a.end, b.start, b.end)
                {
                    continue;
                }
                let detail = format!("{who}: {} overlaps {}", a.describe(self), b.describe(self));
                self.push(rule, a.case.or(b.case), detail);
            }
        }
    }

    // ------------------------------------------------------------ rule 15

    fn check_teams(&mut self) {
        let region = &self.state.region;
        for team in &region.escort_teams {
            let mut blocks: Vec<Busy<'a>> = Vec::new();
            for (k, cp) in self.plan.cases.iter().enumerate() {
                let e = &cp.escort;
                if e.team.as_ref() == Some(&team.id) && e.depart < e.back {
                    blocks.push(Busy {
                        owner: Owner::CasePlan(k),
                        case: Some(&cp.case),
                        start: e.depart,
                        end: e.back,
                        what: format!("escort of case {}", cp.case),
                    });
                }
            }
            if blocks.is_empty() {
                continue;
            }
            for (k, c) in self.state.team_commitments.iter().enumerate() {
                if c.team == team.id && c.start < c.end {
                    let note = if c.note.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", c.note)
                    };
                    blocks.push(Busy {
                        owner: Owner::Commitment(k),
                        case: None,
                        start: c.start,
                        end: c.end,
                        what: format!("existing commitment{note}"),
                    });
                }
            }
            self.report_overlaps(Rule::TeamUnavailable, &format!("team {}", team.id), blocks);
        }
    }

    // ------------------------------------------------------------ rule 17

    fn check_stations(&mut self) {
        let region = &self.state.region;
        for station in &region.stations {
            let home = Post::Station(station.id.clone());
            let posted: Vec<&Officer> = region.officers.iter().filter(|o| o.post == home).collect();
            let mut away: Vec<Away<'_>> = Vec::new();
            for cp in &self.plan.cases {
                let e = &cp.escort;
                if e.depart >= e.back {
                    continue;
                }
                let distinct: BTreeSet<&str> = e.officers.iter().map(|o| o.as_str()).collect();
                for id in distinct {
                    if posted.iter().any(|o| o.id.as_str() == id) {
                        away.push(Away {
                            officer: id,
                            start: e.depart,
                            end: e.back,
                            case: Some(&cp.case),
                        });
                    }
                }
            }
            if away.is_empty() {
                continue;
            }
            for c in &self.state.officer_commitments {
                if c.away_from_station
                    && c.start < c.end
                    && posted.iter().any(|o| o.id == c.officer)
                {
                    away.push(Away {
                        officer: c.officer.as_str(),
                        start: c.start,
                        end: c.end,
                        case: None,
                    });
                }
            }
            // Check at every start, and where a shift changes during a plan escort.
            let mut points: BTreeSet<DateTime<Utc>> = away.iter().map(|a| a.start).collect();
            let windows: BTreeSet<(u32, i64)> = posted
                .iter()
                .filter_map(|o| self.shift_window(o))
                .filter(|w| !w.is_always())
                .map(|w| (w.start().minutes(), w.len_min()))
                .collect();
            for a in away.iter().filter(|a| a.case.is_some()) {
                let (s, e) = (a.start, a.end);
                let (ls, le) = (self.local_min(s), self.local_min(e));
                for &(ws, len) in &windows {
                    let ws = i64::from(ws);
                    let first = (ls - ws).div_euclid(1440) - 1;
                    let last = ((le - ws).div_euclid(1440) + 1).min(first + MAX_BOUNDARY_DAYS);
                    for day in first..=last {
                        let open = day * 1440 + ws;
                        for b in [open, open + len] {
                            if let Some(t) = self.instant_of_local(b)
                                && s <= t
                                && t < e
                            {
                                points.insert(t);
                            }
                        }
                    }
                }
            }
            let mut last_reported: Option<Vec<&str>> = None;
            for t in points {
                let lm = self.local_min(t);
                let on_shift: Vec<&Officer> = posted
                    .iter()
                    .copied()
                    .filter(|o| self.shift_window(o).is_some_and(|w| w.contains(lm)))
                    .collect();
                let now_away: Vec<&Away<'_>> = away
                    .iter()
                    .filter(|a| {
                        a.start <= t
                            && t < a.end
                            && on_shift.iter().any(|o| o.id.as_str() == a.officer)
                    })
                    .collect();
                let Some(blame) = now_away.iter().find_map(|a| a.case) else {
                    last_reported = None;
                    continue;
                };
                let away_ids: BTreeSet<&str> = now_away.iter().map(|a| a.officer).collect();
                let left = on_shift.len().saturating_sub(away_ids.len());
                if left >= station.min_on_duty as usize {
                    last_reported = None;
                    continue;
                }
                let key: Vec<&str> = away_ids.iter().copied().collect();
                if last_reported.as_ref() == Some(&key) {
                    continue;
                }
                let why: Vec<String> = away_ids
                    .iter()
                    .map(|id| {
                        let reasons: BTreeSet<String> = now_away
                            .iter()
                            .filter(|a| a.officer == *id)
                            .map(|a| match a.case {
                                Some(c) => format!("escorting case {c}"),
                                None => "existing commitment".to_string(),
                            })
                            .collect();
                        format!(
                            "{id} {}",
                            reasons.into_iter().collect::<Vec<_>>().join(" and ")
                        )
                    })
                    .collect();
                let detail = format!(
                    "station {} at {}: {} officers on shift, {} away ({}), {left} left; the minimum on duty is {}",
                    station.id,
                    self.at(t),
                    on_shift.len(),
                    away_ids.len(),
                    why.join("; "),
                    station.min_on_duty
                );
                self.push(Rule::StationMinimum, Some(blame), detail);
                last_reported = Some(key);
            }
        }
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
