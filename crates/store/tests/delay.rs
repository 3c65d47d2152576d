//! Escort delays: a plan that can slip slips, plans that collide with the
//! slip and have not started are returned to re-planning, and a plan under
//! way that cannot slip is marked broken.

mod common;

use casehub_model::{CaseId, TeamId};
use casehub_store::alerts::{AlertKind, alerts};
use casehub_store::state::CaseStatus;
use casehub_store::{
    Command, Conflict, DelayOutcome, EntityRef, PlannedBooking, ResourceRef, Response,
    SchedulingState,
};
use common::*;

fn ready() -> SchedulingState {
    let mut s = SchedulingState::with_rules(5);
    for (i, c) in setup_commands().into_iter().enumerate() {
        let r = s.apply(i as u64 + 1, &req(i as u64 + 1, c));
        assert!(r.is_applied(), "setup step {i}: {r:?}");
    }
    s
}

fn cid(id: &str) -> CaseId {
    CaseId::new(id).unwrap()
}

fn team_booking(case: &str, from: i64, to: i64) -> PlannedBooking {
    let mut b = room_booking("in1", case, from, to);
    b.resource = ResourceRef::Team(TeamId::new("t1").unwrap());
    b
}

fn commit(s: &mut SchedulingState, n: u64, bookings: Vec<PlannedBooking>) {
    let r = s.apply(
        100 + n,
        &req(
            1000 + n,
            Command::CommitPlan {
                bookings,
                expected_versions: vec![],
            },
        ),
    );
    assert!(r.is_applied(), "commit {n}: {r:?}");
}

fn report(
    n: u64,
    case: &str,
    at_min: i64,
    minutes: u32,
    picked_up: bool,
) -> casehub_store::Request {
    let mut r = req(
        2000 + n,
        Command::ReportDelay {
            case: cid(case),
            team: None,
            minutes,
            picked_up,
            reason: "traffic on the ring road".into(),
        },
    );
    r.time = at(at_min);
    r
}

/// A delay reported before the persons are aboard.
fn delay(s: &mut SchedulingState, n: u64, case: &str, at_min: i64, minutes: u32) -> Response {
    s.apply(200 + n, &report(n, case, at_min, minutes, false))
}

/// A delay reported with the persons aboard.
fn delay_aboard(
    s: &mut SchedulingState,
    n: u64,
    case: &str,
    at_min: i64,
    minutes: u32,
) -> Response {
    s.apply(200 + n, &report(n, case, at_min, minutes, true))
}

/// (resource, start, end) of every booking of a case, in minutes from t0.
fn spans(s: &SchedulingState, case: &str) -> Vec<(ResourceRef, i64, i64)> {
    let mut v: Vec<_> = s
        .case_bookings(&cid(case))
        .into_iter()
        .map(|pb| {
            (
                pb.resource,
                (pb.booking.start - t0()).num_minutes(),
                (pb.booking.end - t0()).num_minutes(),
            )
        })
        .collect();
    v.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    v
}

fn outcome(s: &SchedulingState, case: &str) -> DelayOutcome {
    s.cases[&cid(case)]
        .value
        .delays
        .last()
        .expect("a delay is recorded")
        .outcome
        .clone()
}

fn broken_alerts(s: &SchedulingState, at_min: i64) -> Vec<String> {
    alerts(s, &[], 0, at(at_min))
        .into_iter()
        .filter(|a| a.kind == AlertKind::PlanBroken && !a.key.contains("/late/"))
        .map(|a| a.key)
        .collect()
}

fn team() -> ResourceRef {
    ResourceRef::Team(TeamId::new("t1").unwrap())
}

fn room(id: &str) -> ResourceRef {
    ResourceRef::Room(casehub_model::RoomId::new(id).unwrap())
}

#[test]
fn a_delay_that_fits_slips_the_rest_of_the_plan() {
    let mut s = ready();
    commit(
        &mut s,
        1,
        vec![
            team_booking("c1", 10, 60),
            room_booking("q1", "c1", 60, 120),
        ],
    );
    let r = delay(&mut s, 1, "c1", 20, 15);
    let Response::Applied { versions } = &r else {
        panic!("{r:?}")
    };
    // The escort under way ends later; the questioning ahead moves.
    assert_eq!(
        spans(&s, "c1"),
        vec![(room("q1"), 75, 135), (team(), 10, 75)]
    );
    for e in [
        EntityRef::Team(TeamId::new("t1").unwrap()),
        EntityRef::Room(casehub_model::RoomId::new("q1").unwrap()),
        EntityRef::Case(cid("c1")),
    ] {
        assert!(versions.iter().any(|(v, _)| *v == e), "{e} in {versions:?}");
    }
    let c1 = &s.cases[&cid("c1")].value;
    assert_eq!(c1.status, CaseStatus::Planned);
    assert_eq!(c1.plan_broken, None);
    assert_eq!(c1.delays[0].minutes, 15);
    assert_eq!(
        outcome(&s, "c1"),
        DelayOutcome::Slipped { replanned: vec![] }
    );
    assert!(broken_alerts(&s, 21).is_empty());
    assert!(s.audit.last().unwrap().summary.contains("15 min late"));
}

#[test]
fn plans_that_collide_and_have_not_started_are_returned_to_replanning() {
    let mut s = ready();
    commit(
        &mut s,
        1,
        vec![
            team_booking("c1", 10, 60),
            room_booking("q1", "c1", 60, 120),
        ],
    );
    commit(&mut s, 2, vec![room_booking("q1", "c2", 125, 180)]);
    commit(&mut s, 3, vec![room_booking("q2", "c3", 125, 180)]);
    let replica = s.clone();

    let r = delay(&mut s, 1, "c1", 20, 30);
    assert!(r.is_applied(), "{r:?}");
    assert_eq!(
        spans(&s, "c1"),
        vec![(room("q1"), 90, 150), (team(), 10, 90)]
    );
    assert_eq!(
        outcome(&s, "c1"),
        DelayOutcome::Slipped {
            replanned: vec![cid("c2")]
        }
    );
    // c2 lost its plan and waits to be re-planned, with the reason.
    let c2 = &s.cases[&cid("c2")].value;
    assert_eq!(c2.status, CaseStatus::Submitted);
    assert!(spans(&s, "c2").is_empty());
    let reason = &c2.plan_broken.as_ref().expect("marked").reason;
    assert!(
        reason.contains("c1") && reason.contains("30 min late"),
        "{reason}"
    );
    // c3 did not collide: its accepted plan stays pinned.
    assert_eq!(spans(&s, "c3"), vec![(room("q2"), 125, 180)]);
    assert_eq!(s.cases[&cid("c3")].value.status, CaseStatus::Planned);

    let keys = broken_alerts(&s, 21);
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("plan_broken/c2/"), "{keys:?}");

    // Every replica that applies the same request ends in the same state.
    let mut other = replica;
    delay(&mut other, 1, "c1", 20, 30);
    assert_eq!(
        serde_json::to_string(&other).unwrap(),
        serde_json::to_string(&s).unwrap()
    );

    // A new plan for c2 clears the broken plan and its alert.
    commit(&mut s, 4, vec![room_booking("q2", "c2", 190, 240)]);
    assert_eq!(s.cases[&cid("c2")].value.plan_broken, None);
    assert!(broken_alerts(&s, 21).is_empty());
}

#[test]
fn a_delayed_case_that_has_not_left_is_replanned_and_its_team_held() {
    let mut s = ready();
    // c2 is under way in q1 (its first booking began at 40) and is back in q1 at 165.
    commit(
        &mut s,
        1,
        vec![
            room_booking("q1", "c2", 40, 100),
            room_booking("q1", "c2", 165, 200),
        ],
    );
    commit(
        &mut s,
        2,
        vec![
            team_booking("c1", 60, 90),
            room_booking("q1", "c1", 100, 160),
        ],
    );
    let before_c2 = spans(&s, "c2");

    let r = delay(&mut s, 1, "c1", 50, 20);
    assert!(r.is_applied(), "{r:?}");
    assert_eq!(outcome(&s, "c1"), DelayOutcome::Replanned);
    let c1 = &s.cases[&cid("c1")].value;
    assert_eq!(c1.status, CaseStatus::Submitted);
    assert!(c1.plan_broken.is_some());
    // Only the late team's hold is left: from its planned departure, for the delay.
    assert_eq!(spans(&s, "c1"), vec![(team(), 60, 80)]);
    assert_eq!(spans(&s, "c2"), before_c2);
    assert_eq!(s.cases[&cid("c2")].value.plan_broken, None);
}

#[test]
fn a_case_under_way_that_cannot_slip_is_marked_broken_and_kept() {
    let mut s = ready();
    // c2 began in in1 at 0 and is booked in q1 from 125.
    commit(
        &mut s,
        1,
        vec![
            room_booking("in1", "c2", 0, 30),
            room_booking("q1", "c2", 125, 180),
        ],
    );
    commit(
        &mut s,
        2,
        vec![
            team_booking("c1", 10, 60),
            room_booking("q1", "c1", 60, 120),
        ],
    );
    let before = spans(&s, "c1");

    let r = delay_aboard(&mut s, 1, "c1", 20, 30);
    assert!(r.is_applied(), "the delay is a fact and is recorded: {r:?}");
    let DelayOutcome::Broken { conflicts } = outcome(&s, "c1") else {
        panic!("{:?}", outcome(&s, "c1"))
    };
    assert!(conflicts.iter().any(|c| c.contains("q1")), "{conflicts:?}");
    assert_eq!(spans(&s, "c1"), before, "nothing moved");
    assert_eq!(s.cases[&cid("c2")].value.status, CaseStatus::Planned);
    let keys = broken_alerts(&s, 21);
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("plan_broken/c1/"), "{keys:?}");

    // Releasing the case's rooms (the dispatcher acts) clears it.
    let mut rel = req(
        3000,
        Command::ReleaseRooms {
            case: cid("c1"),
            rooms: vec![],
        },
    );
    rel.time = at(22);
    assert!(s.apply(300, &rel).is_applied());
    assert!(broken_alerts(&s, 23).is_empty());
}

#[test]
fn bad_delay_reports_are_rejected_and_change_nothing() {
    let mut s = ready();
    commit(
        &mut s,
        1,
        vec![
            team_booking("c1", 10, 60),
            room_booking("q1", "c1", 60, 120),
        ],
    );
    let field = |r: &Response| match r {
        Response::Rejected { conflicts, .. } => match &conflicts[0] {
            Conflict::Invalid { field, .. } => field.clone(),
            Conflict::Unknown { entity } => format!("unknown {entity}"),
            other => format!("{other:?}"),
        },
        Response::Applied { .. } => "applied".into(),
    };
    let cases = [
        (
            Command::ReportDelay {
                case: cid("nope"),
                team: None,
                minutes: 10,
                picked_up: false,
                reason: String::new(),
            },
            "unknown case nope",
        ),
        (
            Command::ReportDelay {
                case: cid("c3"),
                team: None,
                minutes: 10,
                picked_up: false,
                reason: String::new(),
            },
            "case",
        ),
        (
            Command::ReportDelay {
                case: cid("c1"),
                team: None,
                minutes: 0,
                picked_up: false,
                reason: String::new(),
            },
            "minutes",
        ),
        (
            Command::ReportDelay {
                case: cid("c1"),
                team: None,
                minutes: 721,
                picked_up: false,
                reason: String::new(),
            },
            "minutes",
        ),
        (
            Command::ReportDelay {
                case: cid("c1"),
                team: Some(TeamId::new("t9").unwrap()),
                minutes: 10,
                picked_up: false,
                reason: String::new(),
            },
            "unknown escort team t9",
        ),
    ];
    for (i, (command, expected)) in cases.into_iter().enumerate() {
        let before = s.clone();
        let mut r = req(4000 + i as u64, command);
        r.time = at(20);
        let response = s.apply(400 + i as u64, &r);
        assert_eq!(field(&response), expected, "{response:?}");
        assert_eq!(s.rooms, before.rooms);
        assert_eq!(s.teams, before.teams);
        assert_eq!(s.cases, before.cases);
    }
    // Everything of c1 has ended by 130: nothing lies ahead to delay.
    let response = delay(&mut s, 9, "c1", 130, 10);
    assert_eq!(field(&response), "case", "{response:?}");
}

/// Pairs of bookings of one team that overlap.
fn team_overlaps(s: &SchedulingState) -> usize {
    s.teams
        .values()
        .map(|t| {
            let b = &t.bookings;
            (0..b.len())
                .flat_map(|i| (i + 1..b.len()).map(move |j| (i, j)))
                .filter(|&(i, j)| b[i].start < b[j].end && b[j].start < b[i].end)
                .count()
        })
        .sum()
}

#[test]
fn a_late_team_is_held_but_never_double_booked_across_replans() {
    let mut s = ready();
    // c2 is under way in q1 and back in q1 at 165: c1's slipped questioning collides.
    commit(
        &mut s,
        1,
        vec![
            room_booking("q1", "c2", 40, 100),
            room_booking("q1", "c2", 165, 200),
        ],
    );
    commit(
        &mut s,
        2,
        vec![
            team_booking("c1", 60, 90),
            room_booking("q1", "c1", 100, 160),
        ],
    );
    // Reported at 65, after the planned departure: the persons are not aboard,
    // so the case is re-planned, and the team is held from now for the delay.
    assert!(delay(&mut s, 1, "c1", 65, 20).is_applied());
    assert_eq!(outcome(&s, "c1"), DelayOutcome::Replanned);
    assert_eq!(spans(&s, "c1"), vec![(team(), 60, 85)]);
    // Planned again with the same team right after the hold, then late again.
    let mut again = req(
        1003,
        Command::CommitPlan {
            bookings: vec![
                team_booking("c1", 85, 110),
                room_booking("q1", "c1", 110, 160),
            ],
            expected_versions: vec![],
        },
    );
    again.time = at(66);
    assert!(s.apply(103, &again).is_applied());
    assert!(delay(&mut s, 2, "c1", 67, 40).is_applied());
    assert_eq!(outcome(&s, "c1"), DelayOutcome::Replanned);
    assert_eq!(team_overlaps(&s), 0, "{:?}", spans(&s, "c1"));
    assert!(!spans(&s, "c1").is_empty(), "the team is still held");
}

#[test]
fn only_the_plans_the_slip_needs_are_dropped() {
    let mut s = ready();
    // Station st1 with four officers of its own (minimum 2: two may be away).
    for (i, o) in ["so1", "so2", "so3", "so4"].into_iter().enumerate() {
        let officer = casehub_model::Officer::new(
            casehub_model::OfficerId::new(o).unwrap(),
            None,
            casehub_model::Gender::Male,
            casehub_model::Post::Station(casehub_model::StationId::new("st1").unwrap()),
            vec![casehub_model::Qualification::Escort],
            casehub_model::ShiftId::new("day").unwrap(),
        )
        .unwrap();
        let n = 50 + i as u64;
        assert!(
            s.apply(n, &req(n, Command::UpsertOfficer(officer)))
                .is_applied()
        );
    }
    assert!(
        s.apply(60, &req(60, Command::SubmitCase(case("c4"))))
            .is_applied()
    );
    commit(&mut s, 1, vec![officer_booking("so1", "c1", 60, 100)]);
    commit(&mut s, 2, vec![officer_booking("so2", "c2", 110, 120)]);
    commit(&mut s, 3, vec![officer_booking("so3", "c3", 112, 118)]);
    // Away with so1 only, once c1 slips: never three away at once.
    commit(&mut s, 4, vec![officer_booking("so4", "c4", 125, 128)]);
    // c1 slips to 90..130: three away from 112 to 118 unless c2 or c3 goes.
    assert!(delay(&mut s, 1, "c1", 50, 30).is_applied());
    let DelayOutcome::Slipped { replanned } = outcome(&s, "c1") else {
        panic!("{:?}", outcome(&s, "c1"))
    };
    assert_eq!(replanned.len(), 1, "{replanned:?}");
    assert!(replanned[0] == cid("c2") || replanned[0] == cid("c3"));
    assert_eq!(s.cases[&cid("c4")].value.status, CaseStatus::Planned);
    assert_eq!(s.cases[&cid("c4")].value.plan_broken, None);
    assert_eq!(spans(&s, "c4").len(), 1, "c4 keeps its plan");
}

#[test]
fn a_slip_that_fits_clears_an_earlier_broken_plan() {
    let mut s = ready();
    commit(
        &mut s,
        1,
        vec![
            room_booking("in1", "c2", 0, 30),
            room_booking("q1", "c2", 125, 180),
        ],
    );
    commit(
        &mut s,
        2,
        vec![
            team_booking("c1", 10, 60),
            room_booking("q1", "c1", 60, 120),
        ],
    );
    assert!(delay_aboard(&mut s, 1, "c1", 20, 30).is_applied());
    assert!(matches!(outcome(&s, "c1"), DelayOutcome::Broken { .. }));
    // c2 leaves, q1 is free: the next delay slips and the plan holds again.
    let mut exit = req(
        3000,
        Command::ExitCase {
            case: cid("c2"),
            disposition: None,
        },
    );
    exit.time = at(21);
    assert!(s.apply(300, &exit).is_applied());
    assert!(delay_aboard(&mut s, 2, "c1", 22, 30).is_applied());
    assert_eq!(
        outcome(&s, "c1"),
        DelayOutcome::Slipped { replanned: vec![] }
    );
    assert_eq!(s.cases[&cid("c1")].value.plan_broken, None);
    assert!(broken_alerts(&s, 23).is_empty());
}

#[test]
fn bookings_stay_within_the_years_time_arithmetic_can_hold() {
    use chrono::TimeZone;
    let mut s = ready();
    // Beyond year 9999: refused at commit, with the field named.
    let mut far = room_booking("q1", "c1", 0, 60);
    far.booking.start = chrono::Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap();
    far.booking.end = far.booking.start + chrono::Duration::hours(1);
    let r = s.apply(
        90,
        &req(
            900,
            Command::CommitPlan {
                bookings: vec![far],
                expected_versions: vec![],
            },
        ),
    );
    let Response::Rejected { conflicts, .. } = &r else {
        panic!("{r:?}")
    };
    assert!(
        conflicts
            .iter()
            .any(|c| matches!(c, Conflict::Invalid { field, .. } if field == "bookings[0].start")),
        "{conflicts:?}"
    );
    // At the very end of year 9999, a delay cannot slip the plan past it:
    // the case is re-planned, and nothing panics.
    let mut last = team_booking("c1", 0, 0);
    last.booking.start = chrono::Utc
        .with_ymd_and_hms(9999, 12, 31, 23, 0, 0)
        .unwrap();
    last.booking.end = last.booking.start + chrono::Duration::minutes(50);
    commit(&mut s, 1, vec![last]);
    let r = delay(&mut s, 1, "c1", 0, 720);
    assert!(r.is_applied(), "{r:?}");
    assert_eq!(outcome(&s, "c1"), DelayOutcome::Replanned);
}
