//! The independent validator: a hand-made valid plan passes, and breaking each
//! rule on its own is reported under that rule (and, where practical, only it).
//! Random mutations of a plan never make the validator panic.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;

use casehub_model::scenario::parse_region;
use casehub_model::{
    Case, CaseId, DailyWindow, Gender, GroupId, LegalCategory, LegalLimits, OfficerId, Person,
    PersonId, Region, RoomId, Shift, ShiftId, SiteId, StationId, Step, TeamId,
};
use casehub_planning::{
    Blocked, CasePlan, Commitment, CostBreakdown, Escort, EscortMode, PendingCase, PersonPlan,
    Plan, RoomBooking, Rule, SolverReport, State, StepBooking, TeamCommitment, Vehicle, Violation,
    validate,
};
use casehub_travel::{GreatCircle, TravelTable};

/// A tiny region, UTC+8: a main center open all day, a small sub-center, one
/// station of four officers (one woman) that must keep two, center staff, and
/// one escort team of two (one woman) with five seats.
const REGION: &str = r#"
format_version = 1

[region]
name = "Validator test county"
utc_offset_min = 480

[[shifts]]
id = "day"
window = "08:00-20:00"

[[shifts]]
id = "always"
window = "00:00-24:00"

[[sites]]
id = "MC"
kind = "main_center"
location = { lat = 27.80, lon = 112.90 }
open_hours = "00:00-24:00"
rooms = [
  { id = "MC-intake-1", kind = "intake" },
  { id = "MC-search-1", kind = "search" },
  { id = "MC-info-1", kind = "information_collection" },
  { id = "MC-hold-1", kind = "holding", capacity = 2 },
  { id = "MC-hold-2", kind = "holding", capacity = 1, juvenile_suitable = true },
  { id = "MC-int-1", kind = "interrogation" },
  { id = "MC-int-2", kind = "interrogation" },
  { id = "MC-inq-1", kind = "inquiry", juvenile_suitable = true },
]

[[sites]]
id = "SC"
kind = "sub_center"
location = { lat = 28.10, lon = 113.20 }
rooms = [
  { id = "SC-intake-1", kind = "intake" },
  { id = "SC-hold-1", kind = "holding", capacity = 2 },
]

[[stations]]
id = "S1"
location = { lat = 27.95, lon = 113.05 }
min_on_duty = 2
rural = true

[[officers]]
id = "S1-o1"
gender = "female"
station = "S1"
qualifications = ["questioning", "escort", "search", "juvenile"]
shift = "day"

[[officers]]
id = "S1-o2"
gender = "male"
station = "S1"
qualifications = ["questioning", "escort", "search"]
shift = "day"

[[officers]]
id = "S1-o3"
gender = "male"
station = "S1"
qualifications = ["questioning", "escort", "search"]
shift = "day"

[[officers]]
id = "S1-o4"
gender = "male"
station = "S1"
qualifications = ["questioning", "escort", "search"]
shift = "day"

[[officers]]
id = "MC-srch-f"
gender = "female"
site = "MC"
qualifications = ["search", "intake"]
shift = "day"

[[officers]]
id = "MC-srch-m"
gender = "male"
site = "MC"
qualifications = ["search", "intake"]
shift = "day"

[[officers]]
id = "MC-inv-f"
gender = "female"
site = "MC"
qualifications = ["questioning", "juvenile"]
shift = "day"

[[officers]]
id = "MC-inv-m1"
gender = "male"
site = "MC"
qualifications = ["questioning"]
shift = "day"

[[officers]]
id = "MC-inv-m2"
gender = "male"
site = "MC"
qualifications = ["questioning"]
shift = "day"

[[officers]]
id = "MC-esc-f"
gender = "female"
site = "MC"
qualifications = ["escort"]
shift = "day"

[[officers]]
id = "MC-esc-m"
gender = "male"
site = "MC"
qualifications = ["escort"]
shift = "day"

[[escort_teams]]
id = "T1"
site = "MC"
seats = 5
members = ["MC-esc-f", "MC-esc-m"]

[[officers]]
id = "MC-esc2-m1"
gender = "male"
site = "MC"
qualifications = ["escort"]
shift = "day"

[[officers]]
id = "MC-esc2-m2"
gender = "male"
site = "MC"
qualifications = ["escort"]
shift = "day"

[[escort_teams]]
id = "T2"
site = "MC"
seats = 5
members = ["MC-esc2-m1", "MC-esc2-m2"]

[caseload]
hour_profile = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
female_share = 0.2
juvenile_share = 0.1
group_share = 0.1
group_size = { min = 2, max = 3 }

[caseload.mix]
criminal_summons = 0.5
administrative_questioning = 0.5

[caseload.cases_per_day]
S1 = 2.0
"#;

// ---------------------------------------------------------------- fixture helpers

/// Local time (UTC+8) on 2025-03-03.
fn lt(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 3, h, m, 0).unwrap() - TimeDelta::hours(8)
}

fn cid(s: &str) -> CaseId {
    CaseId::new(s).unwrap()
}
fn pid(s: &str) -> PersonId {
    PersonId::new(s).unwrap()
}
fn oid(s: &str) -> OfficerId {
    OfficerId::new(s).unwrap()
}
fn rid(s: &str) -> RoomId {
    RoomId::new(s).unwrap()
}
fn oids(list: &[&str]) -> Vec<OfficerId> {
    list.iter().map(|s| oid(s)).collect()
}

/// The test region. Its hand-made plans carry each case in one vehicle:
/// separate vehicles are off here, and tested on their own with the policy
/// on ([`riding_apart`]).
fn region() -> Region {
    let mut r = parse_region("test.toml", REGION).unwrap_or_else(|e| panic!("{e}"));
    r.policy.separate_vehicles = false;
    r
}

/// The test state with the policy's separate vehicles on.
fn riding_apart() -> State {
    let mut st = state();
    st.region.policy.separate_vehicles = true;
    st
}

fn travel(region: &Region) -> TravelTable {
    TravelTable::for_region(&GreatCircle::new(1.3, 50.0).unwrap(), region).unwrap()
}

fn person(id: &str, gender: Gender, juvenile: bool, group: Option<&str>) -> Person {
    Person {
        id: pid(id),
        gender,
        juvenile,
        co_suspect_group: group.map(|g| GroupId::new(g).unwrap()),
    }
}

/// C1: two co-suspects (a woman and a man), criminal summons, clock 08:30.
/// C2: a female juvenile, administrative questioning, clock 08:45.
fn cases() -> Vec<Case> {
    let s1 = StationId::new("S1").unwrap();
    vec![
        Case::new(
            cid("C1"),
            s1.clone(),
            lt(8, 30),
            LegalCategory::CriminalSummons,
            vec![
                person("A1", Gender::Female, false, Some("G1")),
                person("A2", Gender::Male, false, Some("G1")),
            ],
        )
        .unwrap(),
        Case::new(
            cid("C2"),
            s1,
            lt(8, 45),
            LegalCategory::AdministrativeQuestioning,
            vec![person("B1", Gender::Female, true, None)],
        )
        .unwrap(),
    ]
}

fn state() -> State {
    let region = region();
    let travel = travel(&region);
    State {
        region,
        travel,
        now: lt(8, 55),
        room_bookings: Vec::new(),
        room_closures: Vec::new(),
        officer_commitments: Vec::new(),
        team_commitments: Vec::new(),
        pending: cases()
            .into_iter()
            .map(|case| PendingCase {
                case,
                pinned: None,
                restriction: None,
            })
            .collect(),
    }
}

fn bk(
    step: Step,
    room: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    staff: &[&str],
) -> StepBooking {
    StepBooking {
        step,
        room: rid(room),
        start,
        end,
        staff: oids(staff),
    }
}

/// The hand-made valid plan.
///
/// C1 (team T1): depart 09:00, pickup 09:30, arrive 10:00, back 10:00.
///   A1 intake 10:00, search 10:10 (MC-srch-f), info 10:20, holding 10:40 (MC-hold-1),
///      questioning 11:00-13:00 in MC-int-1 by MC-inv-f and MC-inv-m1.
///   A2 intake 10:20, search 10:30 (MC-srch-m), info 10:40, holding 11:00 (MC-hold-2),
///      questioning 13:00-15:00 in MC-int-2 by MC-inv-m1 and MC-inv-m2.
///   Deadline 20:30, slack 330 min.
/// C2 (station officers S1-o1, S1-o2): depart 09:00, pickup 09:00, arrive 09:40, back 12:40.
///   B1 intake 09:40, search 09:50 (MC-srch-f), info 10:00, holding 10:20-11:00 (MC-hold-2),
///      questioning 11:00-12:00 in MC-inq-1 by S1-o1 and S1-o2.
///   Deadline 16:45, slack 285 min.
fn valid_plan() -> Plan {
    let mc = SiteId::new("MC").unwrap();
    let c1 = CasePlan {
        case: cid("C1"),
        site: mc.clone(),
        escort: Escort {
            mode: EscortMode::Team,
            team: Some(TeamId::new("T1").unwrap()),
            officers: oids(&["MC-esc-f", "MC-esc-m"]),
            depart: lt(9, 0),
            pickup: lt(9, 30),
            arrive: lt(10, 0),
            back: lt(10, 0),
            drive_min: 60.0,
            km: 45.0,
            vehicles: Vec::new(),
        },
        persons: vec![
            PersonPlan {
                person: pid("A1"),
                steps: vec![
                    bk(Step::Intake, "MC-intake-1", lt(10, 0), lt(10, 10), &[]),
                    bk(
                        Step::Search,
                        "MC-search-1",
                        lt(10, 10),
                        lt(10, 20),
                        &["MC-srch-f"],
                    ),
                    bk(
                        Step::InformationCollection,
                        "MC-info-1",
                        lt(10, 20),
                        lt(10, 40),
                        &[],
                    ),
                    bk(Step::Holding, "MC-hold-1", lt(10, 40), lt(11, 0), &[]),
                    bk(Step::Questioning, "MC-int-1", lt(11, 0), lt(13, 0), &[]),
                ],
                questioning_officers: oids(&["MC-inv-f", "MC-inv-m1"]),
            },
            PersonPlan {
                person: pid("A2"),
                steps: vec![
                    bk(Step::Intake, "MC-intake-1", lt(10, 20), lt(10, 30), &[]),
                    bk(
                        Step::Search,
                        "MC-search-1",
                        lt(10, 30),
                        lt(10, 40),
                        &["MC-srch-m"],
                    ),
                    bk(
                        Step::InformationCollection,
                        "MC-info-1",
                        lt(10, 40),
                        lt(11, 0),
                        &[],
                    ),
                    bk(Step::Holding, "MC-hold-2", lt(11, 0), lt(13, 0), &[]),
                    bk(Step::Questioning, "MC-int-2", lt(13, 0), lt(15, 0), &[]),
                ],
                questioning_officers: oids(&["MC-inv-m1", "MC-inv-m2"]),
            },
        ],
        deadline: lt(20, 30),
        slack_min: 330,
        pinned: false,
        cost: CostBreakdown::default(),
        explanation: None,
        deferred: None,
    };
    let c2 = CasePlan {
        case: cid("C2"),
        site: mc,
        escort: Escort {
            mode: EscortMode::Station,
            team: None,
            officers: oids(&["S1-o1", "S1-o2"]),
            depart: lt(9, 0),
            pickup: lt(9, 0),
            arrive: lt(9, 40),
            back: lt(12, 40),
            drive_min: 80.0,
            km: 60.0,
            vehicles: Vec::new(),
        },
        persons: vec![PersonPlan {
            person: pid("B1"),
            steps: vec![
                bk(Step::Intake, "MC-intake-1", lt(9, 40), lt(9, 50), &[]),
                bk(
                    Step::Search,
                    "MC-search-1",
                    lt(9, 50),
                    lt(10, 0),
                    &["MC-srch-f"],
                ),
                bk(
                    Step::InformationCollection,
                    "MC-info-1",
                    lt(10, 0),
                    lt(10, 20),
                    &[],
                ),
                bk(Step::Holding, "MC-hold-2", lt(10, 20), lt(11, 0), &[]),
                bk(Step::Questioning, "MC-inq-1", lt(11, 0), lt(12, 0), &[]),
            ],
            questioning_officers: oids(&["S1-o1", "S1-o2"]),
        }],
        deadline: lt(16, 45),
        slack_min: 285,
        pinned: false,
        cost: CostBreakdown::default(),
        explanation: None,
        deferred: None,
    };
    Plan {
        now: lt(8, 55),
        region_version: 0,
        cases: vec![c1, c2],
        blocked: Vec::new(),
        objective: 0.0,
        imbalance_cost: 0.0,
        solver: SolverReport {
            method: "hand".into(),
            status: "test".into(),
            seconds: 0.0,
            gap: None,
            lp_bound: None,
            model_objective: None,
            options: 0,
            note: None,
        },
    }
}

fn rules(v: &[Violation]) -> BTreeSet<Rule> {
    v.iter().map(|x| x.rule).collect()
}

fn show(v: &[Violation]) -> String {
    v.iter().map(|x| format!("\n  {x}")).collect()
}

/// The violations include `rule`.
#[track_caller]
fn assert_has(v: &[Violation], rule: Rule) {
    assert!(
        v.iter().any(|x| x.rule == rule),
        "expected a {rule} violation, got:{}",
        show(v)
    );
}

/// The violations are all, and at least one, of `rule`.
#[track_caller]
fn assert_only(v: &[Violation], rule: Rule) {
    assert_has(v, rule);
    assert_eq!(
        rules(v),
        BTreeSet::from([rule]),
        "expected only {rule}, got:{}",
        show(v)
    );
}

fn room_booking(
    room: &str,
    case: &str,
    person: &str,
    juvenile: bool,
    group: Option<&str>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> RoomBooking {
    RoomBooking {
        room: rid(room),
        case: cid(case),
        person: pid(person),
        juvenile,
        group: group.map(|g| GroupId::new(g).unwrap()),
        start,
        end,
    }
}

fn commitment(officer: &str, start: DateTime<Utc>, end: DateTime<Utc>, away: bool) -> Commitment {
    Commitment {
        officer: oid(officer),
        start,
        end,
        away_from_station: away,
        note: "test".into(),
    }
}

fn step_mut(plan: &mut Plan, case: usize, person: usize, step: Step) -> &mut StepBooking {
    plan.cases[case].persons[person]
        .steps
        .iter_mut()
        .find(|b| b.step == step)
        .unwrap()
}

// ---------------------------------------------------------------- the valid plan

#[test]
fn hand_made_plan_is_valid() {
    let v = validate(&state(), &valid_plan());
    assert!(
        v.is_empty(),
        "the hand-made plan should be valid, got:{}",
        show(&v)
    );
}

#[test]
fn violations_serialise_with_rule_names() {
    let mut plan = valid_plan();
    plan.cases[0].slack_min = 1;
    let v = validate(&state(), &plan);
    let json = serde_json::to_string(&v).unwrap();
    assert!(json.contains("\"legal_limit\""), "{json}");
    let back: Vec<Violation> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, v);
}

// ---------------------------------------------------------------- 1. Reference

#[test]
fn reference_case_left_out() {
    let mut plan = valid_plan();
    plan.cases.remove(1);
    let v = validate(&state(), &plan);
    assert_only(&v, Rule::Reference);
    assert_eq!(v[0].case, Some(cid("C2")));
}

#[test]
fn reference_blocked_case_counts_as_present() {
    let mut plan = valid_plan();
    plan.cases.remove(1);
    plan.blocked.push(Blocked {
        case: cid("C2"),
        rule: Rule::StationMinimum,
        detail: "test".into(),
    });
    assert!(validate(&state(), &plan).is_empty());
}

#[test]
fn reference_case_both_planned_and_blocked() {
    let mut plan = valid_plan();
    plan.blocked.push(Blocked {
        case: cid("C2"),
        rule: Rule::StationMinimum,
        detail: "test".into(),
    });
    assert_only(&validate(&state(), &plan), Rule::Reference);
}

#[test]
fn reference_unknown_case() {
    let mut plan = valid_plan();
    plan.blocked.push(Blocked {
        case: cid("C99"),
        rule: Rule::LegalLimit,
        detail: "test".into(),
    });
    let v = validate(&state(), &plan);
    assert_only(&v, Rule::Reference);
    assert!(v[0].detail.contains("C99"), "{}", show(&v));
}

#[test]
fn reference_unknown_site() {
    let mut plan = valid_plan();
    plan.cases[1].site = SiteId::new("NOWHERE").unwrap();
    // Its rooms now belong to another site than the case's, also a reference error.
    assert_only(&validate(&state(), &plan), Rule::Reference);
}

#[test]
fn reference_unknown_room() {
    let mut plan = valid_plan();
    step_mut(&mut plan, 0, 0, Step::Holding).room = rid("MC-hold-99");
    let v = validate(&state(), &plan);
    assert_only(&v, Rule::Reference);
    assert!(v[0].detail.contains("MC-hold-99"), "{}", show(&v));
}

#[test]
fn reference_room_of_another_site() {
    let mut plan = valid_plan();
    step_mut(&mut plan, 0, 0, Step::Intake).room = rid("SC-intake-1");
    let v = validate(&state(), &plan);
    assert_only(&v, Rule::Reference);
    assert!(v[0].detail.contains("SC"), "{}", show(&v));
}

#[test]
fn reference_unknown_team_and_officer() {
    let mut plan = valid_plan();
    plan.cases[0].escort.team = Some(TeamId::new("T9").unwrap());
    assert_only(&validate(&state(), &plan), Rule::Reference);

    let mut plan = valid_plan();
    step_mut(&mut plan, 0, 1, Step::Search).staff = oids(&["MC-ghost"]);
    let v = validate(&state(), &plan);
    assert_has(&v, Rule::Reference);
    // Nobody real searches A2 either.
    assert_eq!(
        rules(&v),
        BTreeSet::from([Rule::Reference, Rule::FemaleSearch]),
        "{}",
        show(&v)
    );
}

#[test]
fn reference_unknown_and_missing_persons() {
    let mut plan = valid_plan();
    plan.cases[0].persons[1].person = pid("A9");
    let v = validate(&state(), &plan);
    assert_only(&v, Rule::Reference);
    assert!(v.iter().any(|x| x.detail.contains("A9")), "{}", show(&v));
    assert!(v.iter().any(|x| x.detail.contains("A2")), "{}", show(&v));

    let mut plan = valid_plan();
    let dup = plan.cases[1].persons[0].clone();
    plan.cases[1].persons.push(dup);
    assert_has(&validate(&state(), &plan), Rule::Reference);
}

#[test]
fn reference_pinned_case_must_keep_its_plan() {
    let mut st = state();
    let plan = valid_plan();
    let mut accepted = plan.cases[1].clone();
    accepted.pinned = true;
    st.pending[1].pinned = Some(accepted.clone());
    // Unchanged: valid, even though the pinned escort left before now.
    st.now = lt(9, 30);
    let mut later = plan.clone();
    later.now = st.now;
    later.cases[0].escort.depart = lt(9, 30); // C1 is not pinned: it may not leave before now
    later.cases[0].escort.pickup = lt(9, 45);
    let v = validate(&st, &later);
    assert!(v.is_empty(), "{}", show(&v));

    // Changed: its questioning names staff the accepted plan did not.
    let mut changed = later.clone();
    step_mut(&mut changed, 1, 0, Step::Questioning).staff = oids(&["S1-o3"]);
    let v = validate(&st, &changed);
    assert_only(&v, Rule::Reference);
    assert!(v[0].detail.contains("pinned"), "{}", show(&v));

    // Blocked instead of planned.
    let mut dropped = later.clone();
    dropped.cases.remove(1);
    dropped.blocked.push(Blocked {
        case: cid("C2"),
        rule: Rule::LegalLimit,
        detail: "test".into(),
    });
    assert_only(&validate(&st, &dropped), Rule::Reference);
}

// ---------------------------------------------------------------- 2. StepSequence

#[test]
fn step_sequence_missing_step() {
    let mut plan = valid_plan();
    // Drop A2's information collection and stretch the search so there is no gap.
    plan.cases[0].persons[1]
        .steps
        .retain(|b| b.step != Step::InformationCollection);
    step_mut(&mut plan, 0, 1, Step::Search).end = lt(11, 0);
    let v = validate(&state(), &plan);
    assert_only(&v, Rule::StepSequence);
    assert!(
        v[0].detail.contains("information_collection"),
        "{}",
        show(&v)
    );

    // B1 without intake: it starts with the search, after the escort arrives.
    let mut plan = valid_plan();
    plan.cases[1].persons[0]
        .steps
        .retain(|b| b.step != Step::Intake);
    let v = validate(&state(), &plan);
    assert_only(&v, Rule::StepSequence);
    assert!(v[0].detail.contains("intake"), "{}", show(&v));
}

#[test]
fn step_sequence_gap_between_steps() {
    let mut plan = valid_plan();
    step_mut(&mut plan, 1, 0, Step::Holding).start = lt(10, 30);
    let v = validate(&state(), &plan);
    assert_only(&v, Rule::StepSequence);
}

#[test]
fn step_sequence_out_of_order() {
    let mut plan = valid_plan();
    // B1: search first, then intake, same times.
    let steps = &mut plan.cases[1].persons[0].steps;
    steps[0].step = Step::Search;
    steps[0].room = rid("MC-search-1");
    steps[1].step = Step::Intake;
    steps[1].room = rid("MC-intake-1");
    steps[1].staff.clear();
    steps[0].staff = oids(&["MC-srch-f"]);
    let v = validate(&state(), &plan);
    assert_only(&v, Rule::StepSequence);
}

#[test]
fn step_sequence_step_twice() {
    let mut plan = valid_plan();
    // A2 holds twice: 11:00-12:00 and 12:00-13:00.
    let steps = &mut plan.cases[0].persons[1].steps;
    steps[3].end = lt(12, 0);
    let mut again = steps[3].clone();
    again.start = lt(12, 0);
    again.end = lt(13, 0);
    steps.insert(4, again);
    let v = validate(&state(), &plan);
    assert_only(&v, Rule::StepSequence);
    assert!(v[0].detail.contains("twice"), "{}", show(&v));
}

#[test]
fn step_sequence_end_before_start() {
    let mut plan = valid_plan();
    let b = step_mut(&mut plan, 0, 0, Step::Intake);
    b.end = b.start;
    assert_has(&validate(&state(), &plan), Rule::StepSequence);
}

#[test]
fn step_sequence_intake_before_arrival() {
    let mut plan = valid_plan();
    plan.cases[1].escort.arrive = lt(9, 45);
    let v = validate(&state(), &plan);
    assert_only(&v, Rule::StepSequence);
    assert!(
        v[0].detail.contains("before the escort arrives"),
        "{}",
        show(&v)
    );
}

#[test]
fn step_sequence_escort_times_out_of_order() {
    let mut plan = valid_plan();
    plan.cases[0].escort.back = lt(9, 50);
    assert_only(&validate(&state(), &plan), Rule::StepSequence);
}

#[test]
fn step_sequence_departs_before_now() {
    let mut st = state();
    st.now = lt(9, 10);
    let v = validate(&st, &valid_plan());
    assert_only(&v, Rule::StepSequence);
    assert_eq!(v.len(), 2, "both escorts leave at 09:00:{}", show(&v));
}

// ---------------------------------------------------------------- 3. RoomKind

#[test]
fn room_kind_wrong_kind_of_room() {
    let mut plan = valid_plan();
    // An administrative case questioned in an interrogation room (free 11:00-12:00).
    step_mut(&mut plan, 1, 0, Step::Questioning).room = rid("MC-int-2");
    // (MC-int-2 is not juvenile-suitable either: that rule is left out here.)
    let mut st = state();
    st.region.policy.juvenile_questioning = false;
    let v = validate(&st, &plan);
    assert_only(&v, Rule::RoomKind);
    assert!(v[0].detail.contains("MC-int-2"), "{}", show(&v));
}

#[test]
fn recording_required() {
    let mut st = state();
    st.region.sites[0]
        .rooms
        .iter_mut()
        .find(|r| r.id.as_str() == "MC-int-1")
        .unwrap()
        .recording = false;
    let v = validate(&st, &valid_plan());
    assert_only(&v, Rule::Recording);
    assert!(v[0].detail.contains("recording"), "{}", show(&v));
}

// ---------------------------------------------------------------- 4. OpenHours

#[test]
fn open_hours() {
    let mut st = state();
    st.region.sites[0].open_hours = DailyWindow::parse("open_hours", "10:00-14:00").unwrap();
    let v = validate(&st, &valid_plan());
    assert_only(&v, Rule::OpenHours);
    // B1 starts at 09:40, A2 questions until 15:00; A1 11:00-13:00 is fine.
    assert!(v.iter().any(|x| x.detail.contains("B1")), "{}", show(&v));
    assert!(
        v.iter()
            .any(|x| x.detail.contains("A2") && x.detail.contains("questioning")),
        "{}",
        show(&v)
    );
    assert!(
        !v.iter()
            .any(|x| x.detail.contains("A1") && x.detail.contains("questioning")),
        "{}",
        show(&v)
    );
}

#[test]
fn open_hours_across_midnight() {
    let mut st = state();
    st.region.sites[0].open_hours = DailyWindow::parse("open_hours", "09:00-02:00").unwrap();
    assert!(validate(&st, &valid_plan()).is_empty());
    st.region.sites[0].open_hours = DailyWindow::parse("open_hours", "20:00-09:45").unwrap();
    assert_only(&validate(&st, &valid_plan()), Rule::OpenHours);
}

// ---------------------------------------------------------------- 5. RoomDoubleBooked

#[test]
fn room_double_booked_with_existing_booking() {
    let mut st = state();
    st.room_bookings.push(room_booking(
        "MC-int-1",
        "C7",
        "X1",
        false,
        None,
        lt(12, 0),
        lt(14, 0),
    ));
    let v = validate(&st, &valid_plan());
    assert_only(&v, Rule::RoomDoubleBooked);
    let d = &v[0].detail;
    assert!(
        d.contains("MC-int-1")
            && d.contains("C1")
            && d.contains("C7")
            && d.contains("11:00-13:00")
            && d.contains("12:00-14:00"),
        "{d}"
    );
    assert_eq!(v[0].case, Some(cid("C1")));
}

#[test]
fn room_double_booked_inside_the_plan() {
    let mut plan = valid_plan();
    // B1's information collection overlaps A1's: B1 in MC-info-1 10:00-10:30.
    step_mut(&mut plan, 1, 0, Step::InformationCollection).end = lt(10, 30);
    step_mut(&mut plan, 1, 0, Step::Holding).start = lt(10, 30);
    let v = validate(&state(), &plan);
    assert_only(&v, Rule::RoomDoubleBooked);
}

#[test]
fn room_double_booked_touching_is_fine_and_old_conflicts_are_not_the_plans() {
    let mut st = state();
    // Existing bookings that touch the plan's, and two that clash only with each other.
    st.room_bookings.push(room_booking(
        "MC-int-1",
        "C7",
        "X1",
        false,
        None,
        lt(13, 0),
        lt(14, 0),
    ));
    st.room_bookings.push(room_booking(
        "MC-int-1",
        "C8",
        "X2",
        false,
        None,
        lt(16, 0),
        lt(17, 0),
    ));
    st.room_bookings.push(room_booking(
        "MC-int-1",
        "C9",
        "X3",
        false,
        None,
        lt(16, 30),
        lt(17, 30),
    ));
    let v = validate(&st, &valid_plan());
    assert!(v.is_empty(), "{}", show(&v));
}

// ---------------------------------------------------------------- 6. HoldingCapacity

#[test]
fn holding_capacity() {
    let mut st = state();
    // Two more adults in MC-hold-1 (capacity 2) while A1 waits there.
    st.room_bookings.push(room_booking(
        "MC-hold-1",
        "C7",
        "X1",
        false,
        None,
        lt(10, 30),
        lt(11, 30),
    ));
    st.room_bookings.push(room_booking(
        "MC-hold-1",
        "C7",
        "X2",
        false,
        None,
        lt(10, 30),
        lt(11, 30),
    ));
    let v = validate(&st, &valid_plan());
    assert_only(&v, Rule::HoldingCapacity);
    assert_eq!(v.len(), 1, "{}", show(&v));
    assert!(
        v[0].detail.contains("A1") && v[0].detail.contains("X1") && v[0].detail.contains("X2"),
        "{}",
        show(&v)
    );
}

#[test]
fn holding_capacity_up_to_capacity_is_fine() {
    let mut st = state();
    st.room_bookings.push(room_booking(
        "MC-hold-1",
        "C7",
        "X1",
        false,
        None,
        lt(10, 30),
        lt(11, 30),
    ));
    assert!(validate(&st, &valid_plan()).is_empty());
}

// ---------------------------------------------------------------- 7. JuvenileSeparation

#[test]
fn juvenile_separation() {
    let mut st = state();
    st.room_bookings.push(room_booking(
        "MC-hold-1",
        "C7",
        "J1",
        true,
        None,
        lt(10, 30),
        lt(10, 50),
    ));
    let v = validate(&st, &valid_plan());
    assert_only(&v, Rule::JuvenileSeparation);
    assert!(
        v[0].detail.contains("J1") && v[0].detail.contains("A1"),
        "{}",
        show(&v)
    );
}

#[test]
fn juvenile_separation_in_the_plan() {
    let mut plan = valid_plan();
    // B1 (juvenile) waits in MC-hold-1 with A1 (adult), capacity 2.
    step_mut(&mut plan, 1, 0, Step::Holding).room = rid("MC-hold-1");
    assert_only(&validate(&state(), &plan), Rule::JuvenileSeparation);
}

// ---------------------------------------------------------------- 8. CoSuspectSeparation

#[test]
fn co_suspects_held_together() {
    let mut plan = valid_plan();
    // A2 waits 11:00-13:00 in MC-hold-1, and A1 is kept there until 11:00 — touching, fine...
    step_mut(&mut plan, 0, 1, Step::Holding).room = rid("MC-hold-1");
    assert!(validate(&state(), &plan).is_empty());
    // ...but overlapping is not: a third group member already waits there.
    let mut st = state();
    st.room_bookings.push(room_booking(
        "MC-hold-1",
        "C1x",
        "A3",
        false,
        Some("G1"),
        lt(10, 30),
        lt(10, 50),
    ));
    let v = validate(&st, &valid_plan());
    assert_only(&v, Rule::CoSuspectSeparation);
    assert!(v[0].detail.contains("G1"), "{}", show(&v));
}

#[test]
fn co_suspects_questioned_in_one_room_at_once() {
    let mut st = state();
    st.room_bookings.push(room_booking(
        "MC-int-2",
        "C1x",
        "A3",
        false,
        Some("G1"),
        lt(14, 0),
        lt(15, 30),
    ));
    let v = validate(&st, &valid_plan());
    assert_eq!(
        rules(&v),
        BTreeSet::from([Rule::RoomDoubleBooked, Rule::CoSuspectSeparation]),
        "{}",
        show(&v)
    );
}

// ---------------------------------------------------------------- 9. LegalLimit

#[test]
fn legal_limit_wrong_deadline() {
    let mut plan = valid_plan();
    plan.cases[1].deadline = lt(17, 45);
    plan.cases[1].slack_min = 345;
    let v = validate(&state(), &plan);
    assert_only(&v, Rule::LegalLimit);
    assert!(v[0].detail.contains("16:45"), "{}", show(&v));
}

#[test]
fn legal_limit_questioning_after_deadline() {
    let mut st = state();
    // A 6 h policy limit for criminal summons: C1's deadline is 14:30, A2 questions until 15:00.
    st.region.policy.legal_limits =
        LegalLimits::with_overrides_h(&BTreeMap::from([(LegalCategory::CriminalSummons, 6.0)]))
            .unwrap();
    let mut plan = valid_plan();
    plan.cases[0].deadline = lt(14, 30);
    plan.cases[0].slack_min = -30;
    let v = validate(&st, &plan);
    assert_only(&v, Rule::LegalLimit);
    assert_eq!(v.len(), 1, "{}", show(&v));
    assert!(
        v[0].detail.contains("A2") && v[0].detail.contains("15:00"),
        "{}",
        show(&v)
    );
}

#[test]
fn legal_limit_wrong_slack() {
    let mut plan = valid_plan();
    plan.cases[0].slack_min = 360;
    assert_only(&validate(&state(), &plan), Rule::LegalLimit);
}

// ---------------------------------------------------------------- 10. QuestioningOfficers

#[test]
fn questioning_officers_too_few() {
    let mut plan = valid_plan();
    plan.cases[0].persons[0].questioning_officers = oids(&["MC-inv-f"]);
    assert_only(&validate(&state(), &plan), Rule::QuestioningOfficers);
    // The same officer twice is still one.
    plan.cases[0].persons[0].questioning_officers = oids(&["MC-inv-f", "MC-inv-f"]);
    assert_only(&validate(&state(), &plan), Rule::QuestioningOfficers);
}

#[test]
fn questioning_officers_must_be_qualified() {
    let mut plan = valid_plan();
    // MC-srch-m is free 11:00-13:00 but may not question.
    plan.cases[0].persons[0].questioning_officers = oids(&["MC-inv-f", "MC-srch-m"]);
    let v = validate(&state(), &plan);
    assert_only(&v, Rule::QuestioningOfficers);
    assert!(
        v.iter().any(|x| x.detail.contains("MC-srch-m")),
        "{}",
        show(&v)
    );
}

// ---------------------------------------------------------------- 11. FemaleJuvenileQuestioning

#[test]
fn female_juvenile_questioned_without_a_woman() {
    let mut plan = valid_plan();
    // S1-o1 still escorts; MC-inv-m2 is free 11:00-12:00.
    plan.cases[1].persons[0].questioning_officers = oids(&["S1-o2", "MC-inv-m2"]);
    // (Neither is juvenile-trained: that rule is left out here.)
    let mut st = state();
    st.region.policy.juvenile_questioning = false;
    let v = validate(&st, &plan);
    assert_only(&v, Rule::FemaleJuvenileQuestioning);
    assert_eq!(v[0].case, Some(cid("C2")));
}

// ---------------------------------------------------------------- JuvenileQuestioning

#[test]
fn juvenile_questioned_without_a_juvenile_trained_officer() {
    // B1 is questioned by S1-o1 (juvenile-trained) and S1-o2.
    let plan = valid_plan();
    assert!(validate(&state(), &plan).is_empty());
    let mut untrained = state();
    for o in &mut untrained.region.officers {
        o.qualifications
            .retain(|q| *q != casehub_model::Qualification::Juvenile);
    }
    let v = validate(&untrained, &plan);
    assert_only(&v, Rule::JuvenileQuestioning);
    assert!(v[0].detail.contains("B1"), "{}", show(&v));
    // The policy may turn the rule off.
    untrained.region.policy.juvenile_questioning = false;
    assert!(validate(&untrained, &plan).is_empty());
}

#[test]
fn juvenile_questioned_in_a_room_not_suitable_for_juveniles() {
    let plan = valid_plan();
    let mut st = state();
    for r in &mut st.region.sites[0].rooms {
        if r.id.as_str() == "MC-inq-1" {
            r.juvenile_suitable = false;
        }
    }
    let v = validate(&st, &plan);
    assert_only(&v, Rule::JuvenileQuestioning);
    assert!(v[0].detail.contains("MC-inq-1"), "{}", show(&v));
    st.region.policy.juvenile_questioning = false;
    assert!(validate(&st, &plan).is_empty());
}

// ---------------------------------------------------------------- 12. FemaleSearch

#[test]
fn female_search_by_a_man() {
    let mut plan = valid_plan();
    step_mut(&mut plan, 0, 0, Step::Search).staff = oids(&["MC-srch-m"]);
    let v = validate(&state(), &plan);
    assert_only(&v, Rule::FemaleSearch);
    assert!(
        v[0].detail.contains("A1") && v[0].detail.contains("MC-srch-m"),
        "{}",
        show(&v)
    );
}

#[test]
fn female_search_needs_named_qualified_staff() {
    let mut plan = valid_plan();
    step_mut(&mut plan, 0, 1, Step::Search).staff.clear();
    assert_only(&validate(&state(), &plan), Rule::FemaleSearch);

    let mut plan = valid_plan();
    // MC-inv-f (female, free at 10:10) has no search qualification.
    step_mut(&mut plan, 0, 0, Step::Search).staff = oids(&["MC-inv-f"]);
    assert_only(&validate(&state(), &plan), Rule::FemaleSearch);
}

// ---------------------------------------------------------------- 13. EscortOfficers

#[test]
fn escort_officers_too_few() {
    let mut plan = valid_plan();
    plan.cases[1].escort.officers = oids(&["S1-o1"]);
    // S1-o2 still questions B1; that is not an escort.
    let v = validate(&state(), &plan);
    assert_only(&v, Rule::EscortOfficers);
}

#[test]
fn escort_officers_team_must_be_the_team() {
    let mut plan = valid_plan();
    plan.cases[0].escort.officers = oids(&["MC-esc-f", "S1-o3"]);
    let v = validate(&state(), &plan);
    assert_has(&v, Rule::EscortOfficers);
    assert!(v.iter().any(|x| x.detail.contains("T1")), "{}", show(&v));
    // S1-o3 is away from S1 then: 4 on shift, 3 away.
    assert_eq!(
        rules(&v),
        BTreeSet::from([Rule::EscortOfficers, Rule::StationMinimum]),
        "{}",
        show(&v)
    );

    let mut plan = valid_plan();
    plan.cases[0].escort.team = None;
    assert_only(&validate(&state(), &plan), Rule::EscortOfficers);
}

#[test]
fn escort_officers_station_mode_from_the_station() {
    let mut plan = valid_plan();
    plan.cases[1].escort.team = Some(TeamId::new("T1").unwrap());
    let v = validate(&state(), &plan);
    assert!(
        v.iter()
            .any(|x| x.rule == Rule::EscortOfficers && x.detail.contains("T1")),
        "{}",
        show(&v)
    );

    let mut plan = valid_plan();
    // MC-esc-f may escort but is posted to the center, not to S1.
    plan.cases[1].escort.officers = oids(&["S1-o1", "S1-o2", "MC-esc-f"]);
    let v = validate(&state(), &plan);
    assert_has(&v, Rule::EscortOfficers);
    assert!(
        v.iter().any(|x| x.rule == Rule::EscortOfficers
            && x.detail.contains("MC-esc-f")
            && x.detail.contains("S1")),
        "{}",
        show(&v)
    );
}

#[test]
fn escort_officers_must_be_qualified() {
    let mut st = state();
    let o2 = st
        .region
        .officers
        .iter_mut()
        .find(|o| o.id.as_str() == "S1-o2")
        .unwrap();
    o2.qualifications
        .retain(|&q| q != casehub_model::Qualification::Escort);
    assert_only(&validate(&st, &valid_plan()), Rule::EscortOfficers);
}

// ---------------------------------------------------------------- 14. FemaleEscort

#[test]
fn female_escort() {
    let mut plan = valid_plan();
    // S1-o1 still questions (free for that), S1-o2 and S1-o3 escort.
    plan.cases[1].escort.officers = oids(&["S1-o2", "S1-o3"]);
    let v = validate(&state(), &plan);
    assert_only(&v, Rule::FemaleEscort);
    assert_eq!(v[0].case, Some(cid("C2")));
}

// ---------------------------------------------------------------- 15. TeamUnavailable

#[test]
fn team_already_committed() {
    let mut st = state();
    st.team_commitments.push(TeamCommitment {
        team: TeamId::new("T1").unwrap(),
        start: lt(9, 30),
        end: lt(10, 30),
        note: "C5 escort".into(),
    });
    let v = validate(&st, &valid_plan());
    // The team is out, and so are its members.
    assert_eq!(
        rules(&v),
        BTreeSet::from([Rule::TeamUnavailable, Rule::OfficerUnavailable]),
        "{}",
        show(&v)
    );
    let team = v.iter().find(|x| x.rule == Rule::TeamUnavailable).unwrap();
    assert!(
        team.detail.contains("T1") && team.detail.contains("C5 escort"),
        "{}",
        show(&v)
    );
}

#[test]
fn team_seats() {
    let mut st = state();
    // 3 seats for 2 members leaves one passenger seat for C1's two persons.
    st.region.escort_teams[0].seats = 3;
    let v = validate(&st, &valid_plan());
    assert_only(&v, Rule::TeamUnavailable);
    assert!(v[0].detail.contains("seat"), "{}", show(&v));
}

#[test]
fn team_double_booked_in_the_plan() {
    let st = state();
    let mut plan = valid_plan();
    let mut c3 = plan.cases[0].clone();
    c3.case = cid("C3");
    plan.cases.push(c3);
    let v = validate(&st, &plan);
    // C3 is not pending (reference) and double-books everything; the team is among it.
    assert_has(&v, Rule::TeamUnavailable);
}

// ---------------------------------------------------------------- 16. OfficerUnavailable

#[test]
fn officer_already_committed() {
    let mut st = state();
    st.officer_commitments
        .push(commitment("MC-inv-f", lt(12, 0), lt(12, 30), false));
    let v = validate(&st, &valid_plan());
    assert_only(&v, Rule::OfficerUnavailable);
    assert!(v[0].detail.contains("MC-inv-f"), "{}", show(&v));
}

#[test]
fn officer_in_two_cases_at_once() {
    let mut plan = valid_plan();
    // MC-inv-f questions A1 (C1) 11:00-13:00 and B1 (C2) 11:00-12:00.
    plan.cases[1].persons[0].questioning_officers = oids(&["S1-o1", "MC-inv-f"]);
    let v = validate(&state(), &plan);
    assert_only(&v, Rule::OfficerUnavailable);
    assert!(
        v[0].detail.contains("C1") && v[0].detail.contains("C2"),
        "{}",
        show(&v)
    );
}

#[test]
fn officer_escorting_and_questioning_one_case_is_fine() {
    // The valid plan already has S1-o1 and S1-o2 escort 09:00-12:40 and question 11:00-12:00;
    // an existing commitment right after they are back is fine as well.
    let mut st = state();
    st.officer_commitments
        .push(commitment("S1-o1", lt(12, 40), lt(14, 0), true));
    assert!(validate(&st, &valid_plan()).is_empty());
}

#[test]
fn officer_off_shift() {
    let mut st = state();
    st.region.shifts.push(Shift {
        id: ShiftId::new("early").unwrap(),
        window: DailyWindow::parse("w", "06:00-14:00").unwrap(),
    });
    st.region
        .officers
        .iter_mut()
        .find(|o| o.id.as_str() == "MC-inv-m2")
        .unwrap()
        .shift = ShiftId::new("early").unwrap();
    let v = validate(&st, &valid_plan());
    assert_only(&v, Rule::OfficerUnavailable);
    assert!(
        v[0].detail.contains("MC-inv-m2") && v[0].detail.contains("shift"),
        "{}",
        show(&v)
    );
}

// ---------------------------------------------------------------- 17. StationMinimum

#[test]
fn station_minimum() {
    let mut st = state();
    // S1-o3 is already away 09:00-10:00: with the escort, 3 of 4 are away.
    st.officer_commitments
        .push(commitment("S1-o3", lt(9, 0), lt(10, 0), true));
    let v = validate(&st, &valid_plan());
    assert_only(&v, Rule::StationMinimum);
    assert_eq!(v.len(), 1, "{}", show(&v));
    assert_eq!(v[0].case, Some(cid("C2")));
    assert!(
        v[0].detail.contains("S1") && v[0].detail.contains("1 left"),
        "{}",
        show(&v)
    );
}

#[test]
fn station_minimum_not_the_plans_fault() {
    let mut st = state();
    // Three away 13:00-14:00 by existing commitments alone; the escort is back at 12:40.
    for o in ["S1-o1", "S1-o3", "S1-o4"] {
        st.officer_commitments
            .push(commitment(o, lt(13, 0), lt(14, 0), true));
    }
    let v = validate(&st, &valid_plan());
    assert!(v.is_empty(), "{}", show(&v));
}

#[test]
fn station_minimum_checks_shift_changes_during_an_escort() {
    let mut st = state();
    // S1-o3 and S1-o4 go off duty at 10:00, during the 09:00-12:40 escort.
    st.region.shifts.push(Shift {
        id: ShiftId::new("early").unwrap(),
        window: DailyWindow::parse("w", "06:00-10:00").unwrap(),
    });
    for o in st
        .region
        .officers
        .iter_mut()
        .filter(|o| ["S1-o3", "S1-o4"].contains(&o.id.as_str()))
    {
        o.shift = ShiftId::new("early").unwrap();
    }
    let v = validate(&st, &valid_plan());
    assert_only(&v, Rule::StationMinimum);
    assert!(v[0].detail.contains("10:00"), "{}", show(&v));
}

// ---------------------------------------------------------------- robustness

fn shift(t: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
    TimeDelta::try_minutes(minutes)
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(t)
}

const ROOMS: [&str; 11] = [
    "MC-intake-1",
    "MC-search-1",
    "MC-info-1",
    "MC-hold-1",
    "MC-hold-2",
    "MC-int-1",
    "MC-int-2",
    "MC-inq-1",
    "SC-intake-1",
    "SC-hold-1",
    "NOPE",
];
const OFFICERS: [&str; 7] = [
    "S1-o1",
    "S1-o2",
    "MC-srch-f",
    "MC-inv-f",
    "MC-esc-m",
    "MC-esc-f",
    "GHOST",
];

/// Apply one mutation, picked by `op`, to the plan or the state.
fn mutate(plan: &mut Plan, st: &mut State, op: u8, a: usize, minutes: i64) {
    let extreme = |a: usize| {
        if a.is_multiple_of(2) {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        }
    };
    let n = plan.cases.len();
    match op % 16 {
        0..=2 => {
            if n == 0 {
                return;
            }
            let cp = &mut plan.cases[a % n];
            let np = cp.persons.len();
            if np == 0 {
                return;
            }
            let pp = &mut cp.persons[a % np];
            let ns = pp.steps.len();
            if ns == 0 {
                return;
            }
            let b = &mut pp.steps[(a / 3) % ns];
            match op % 3 {
                0 => b.start = shift(b.start, minutes),
                1 => b.end = shift(b.end, minutes),
                _ => b.room = rid(ROOMS[a % ROOMS.len()]),
            }
        }
        3 => {
            if n > 0 {
                let cp = &mut plan.cases[a % n];
                let np = cp.persons.len().max(1);
                if let Some(pp) = cp.persons.get_mut(a % np)
                    && !pp.steps.is_empty()
                {
                    let i = a % pp.steps.len();
                    pp.steps.remove(i);
                }
            }
        }
        4 => {
            if n > 0 {
                let cp = &mut plan.cases[a % n];
                for pp in &mut cp.persons {
                    pp.questioning_officers = (0..a % 4)
                        .map(|k| oid(OFFICERS[(a + k) % OFFICERS.len()]))
                        .collect();
                }
            }
        }
        5 => {
            if n > 0 {
                let e = &mut plan.cases[a % n].escort;
                match a % 4 {
                    0 => e.depart = shift(e.depart, minutes),
                    1 => e.pickup = shift(e.pickup, minutes),
                    2 => e.arrive = shift(e.arrive, minutes),
                    _ => e.back = shift(e.back, minutes),
                }
            }
        }
        6 => {
            if n > 0 {
                let e = &mut plan.cases[a % n].escort;
                e.mode = if a.is_multiple_of(2) {
                    EscortMode::Team
                } else {
                    EscortMode::Station
                };
                e.team = match a % 3 {
                    0 => None,
                    1 => Some(TeamId::new("T1").unwrap()),
                    _ => Some(TeamId::new("T9").unwrap()),
                };
                e.officers = (0..a % 4)
                    .map(|k| oid(OFFICERS[(a + k) % OFFICERS.len()]))
                    .collect();
            }
        }
        7 => {
            if n > 0 {
                if a.is_multiple_of(2) {
                    plan.cases.remove(a % n);
                } else {
                    let c = plan.cases[a % n].clone();
                    plan.cases.push(c);
                }
            }
        }
        8 => {
            if n > 0 {
                let cp = &mut plan.cases[a % n];
                let np = cp.persons.len().max(1);
                if let Some(pp) = cp.persons.get_mut(a % np) {
                    pp.person = pid(["A1", "A2", "B1", "Z9"][a % 4]);
                }
            }
        }
        9 => {
            if n > 0 {
                let cp = &mut plan.cases[a % n];
                match a % 5 {
                    0 => cp.escort.depart = extreme(a / 5),
                    1 => cp.escort.back = extreme(a / 5),
                    2 => cp.deadline = extreme(a / 5),
                    _ => {
                        if let Some(b) = cp
                            .persons
                            .iter_mut()
                            .flat_map(|p| p.steps.iter_mut())
                            .nth(a % 7)
                        {
                            if a.is_multiple_of(2) {
                                b.start = extreme(a / 5);
                            } else {
                                b.end = extreme(a / 5);
                            }
                        }
                    }
                }
            }
        }
        10 => {
            if n > 0 {
                let cp = &mut plan.cases[a % n];
                cp.deadline = shift(cp.deadline, minutes);
                cp.slack_min = minutes.wrapping_mul(a as i64);
            }
        }
        11 => {
            if n > 0 {
                let cp = &mut plan.cases[a % n];
                if a.is_multiple_of(2) {
                    cp.persons.clear();
                } else {
                    for pp in &mut cp.persons {
                        pp.steps.clear();
                    }
                }
            }
        }
        12 => plan.blocked.push(Blocked {
            case: cid(["C1", "C2", "C9"][a % 3]),
            rule: Rule::Reference,
            detail: String::new(),
        }),
        13 => {
            let start = if a.is_multiple_of(5) {
                extreme(a)
            } else {
                shift(lt(9, 0), minutes)
            };
            st.officer_commitments.push(commitment(
                OFFICERS[a % OFFICERS.len()],
                start,
                shift(start, (a % 300) as i64),
                a.is_multiple_of(2),
            ));
            st.team_commitments.push(TeamCommitment {
                team: TeamId::new(["T1", "T9"][a % 2]).unwrap(),
                start,
                end: shift(start, 90),
                note: String::new(),
            });
        }
        14 => {
            let start = if a.is_multiple_of(5) {
                extreme(a)
            } else {
                shift(lt(10, 0), minutes)
            };
            st.room_bookings.push(room_booking(
                ROOMS[a % ROOMS.len()],
                "C7",
                "X1",
                a.is_multiple_of(2),
                a.is_multiple_of(3).then_some("G1"),
                start,
                shift(start, 120),
            ));
        }
        _ => {
            if n > 0 {
                let cp = &mut plan.cases[a % n];
                if let Some(b) = cp
                    .persons
                    .iter_mut()
                    .flat_map(|p| p.steps.iter_mut())
                    .nth(a % 11)
                {
                    b.step = Step::ALL[a % Step::ALL.len()];
                    b.staff = (0..a % 3)
                        .map(|k| oid(OFFICERS[(a + k) % OFFICERS.len()]))
                        .collect();
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_mutations_never_panic(ops in proptest::collection::vec((any::<u8>(), any::<usize>(), prop_oneof![-600i64..600, -10_000_000i64..10_000_000]), 0..12)) {
        let mut plan = valid_plan();
        let mut st = state();
        for &(op, a, minutes) in &ops {
            mutate(&mut plan, &mut st, op, a, minutes);
        }
        let v = validate(&st, &plan);
        // Every violation names something.
        for x in &v {
            prop_assert!(!x.detail.is_empty());
        }
        if ops.is_empty() {
            prop_assert!(v.is_empty());
        }
    }
}

// ---------------------------------------------------------------- SeparateVehicles

#[test]
fn separate_vehicles_co_suspects_in_one_vehicle() {
    // C1's co-suspects A1 and A2 ride together in T1.
    let v = validate(&riding_apart(), &valid_plan());
    assert_only(&v, Rule::SeparateVehicles);
    assert_eq!(v.len(), 1, "{}", show(&v));
    assert!(
        v[0].detail.contains("A1") && v[0].detail.contains("A2"),
        "{}",
        show(&v)
    );
}

/// C1 in two vehicles: A1 (a woman) with T1, A2 with T2 (two men).
fn two_vehicles() -> Plan {
    let mut plan = valid_plan();
    let e = &mut plan.cases[0].escort;
    e.officers = oids(&["MC-esc-f", "MC-esc-m", "MC-esc2-m1", "MC-esc2-m2"]);
    e.vehicles = vec![
        Vehicle {
            team: Some(TeamId::new("T1").unwrap()),
            officers: oids(&["MC-esc-f", "MC-esc-m"]),
            persons: vec![pid("A1")],
        },
        Vehicle {
            team: Some(TeamId::new("T2").unwrap()),
            officers: oids(&["MC-esc2-m1", "MC-esc2-m2"]),
            persons: vec![pid("A2")],
        },
    ];
    plan
}

#[test]
fn separate_vehicles_each_vehicle_keeps_the_escort_rules() {
    let st = riding_apart();
    let v = validate(&st, &two_vehicles());
    assert!(v.is_empty(), "{}", show(&v));
    // The woman in the vehicle of two men.
    let mut plan = two_vehicles();
    let e = &mut plan.cases[0].escort;
    e.vehicles[0].persons = vec![pid("A2")];
    e.vehicles[1].persons = vec![pid("A1")];
    let v = validate(&st, &plan);
    assert_only(&v, Rule::FemaleEscort);
    assert!(v[0].detail.contains("vehicle 2"), "{}", show(&v));
    // One team for both vehicles: double-booked.
    let mut plan = two_vehicles();
    let e = &mut plan.cases[0].escort;
    e.vehicles[1].team = Some(TeamId::new("T1").unwrap());
    e.vehicles[1].officers = oids(&["MC-esc-f", "MC-esc-m"]);
    e.officers = oids(&["MC-esc-f", "MC-esc-m"]);
    let v = validate(&st, &plan);
    assert!(
        v.iter().any(|v| v.rule == Rule::TeamUnavailable),
        "{}",
        show(&v)
    );
    // A person in no vehicle, and officers the vehicles do not carry.
    let mut plan = two_vehicles();
    let e = &mut plan.cases[0].escort;
    e.vehicles[1].persons.clear();
    e.officers.pop();
    let v = validate(&st, &plan);
    assert!(
        v.iter()
            .any(|v| v.rule == Rule::Reference && v.detail.contains("A2")),
        "{}",
        show(&v)
    );
    assert!(
        v.iter().any(|v| v.rule == Rule::EscortOfficers),
        "{}",
        show(&v)
    );
}
