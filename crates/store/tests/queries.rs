//! Availability and alerts: pure queries over the scheduling state.

mod common;

use casehub_model::{
    CaseId, DailyWindow, LegalCategory, OfficerId, PersonId, Post, RoomId, Shift, ShiftId, SiteId,
    StationId, Step, TimeOfDay,
};
use casehub_store::alerts::{AlertKind, alerts};
use casehub_store::availability::{QueryError, availability, daily_intervals, earliest_slot};
use casehub_store::state::{CaseStatus, PersonProgress};
use casehub_store::{Booking, SchedulingState};
use chrono::Duration;
use common::*;

fn ready() -> SchedulingState {
    let mut s = SchedulingState::with_rules(5);
    for (i, c) in setup_commands().into_iter().enumerate() {
        let r = s.apply(i as u64 + 1, &req(i as u64 + 1, c));
        assert!(r.is_applied(), "setup step {i}: {r:?}");
    }
    s
}

fn day_shift() -> Vec<Shift> {
    vec![Shift {
        id: ShiftId::new("day").unwrap(),
        window: DailyWindow::parse("day", "08:00-20:00").unwrap(),
    }]
}

fn booking(case: &str, from: i64, to: i64, person: Option<&str>, step: Option<Step>) -> Booking {
    Booking {
        case: CaseId::new(case).unwrap(),
        start: at(from),
        end: at(to),
        person: person.map(|p| PersonId::new(p).unwrap()),
        step,
    }
}

fn book_room(s: &mut SchedulingState, room: &str, b: Booking) {
    s.rooms
        .get_mut(&RoomId::new(room).unwrap())
        .unwrap()
        .bookings
        .push(b);
}

fn book_officer(s: &mut SchedulingState, officer: &str, b: Booking) {
    s.officers
        .get_mut(&OfficerId::new(officer).unwrap())
        .unwrap()
        .bookings
        .push(b);
}

#[test]
fn a_window_must_end_after_it_starts_and_last_at_most_a_week() {
    let s = ready();
    let e = availability(&s, &day_shift(), 0, None, at(60), at(60)).unwrap_err();
    assert!(matches!(e, QueryError::EmptyWindow { .. }));
    assert!(e.to_string().starts_with("window:"), "{e}");
    let e = availability(&s, &day_shift(), 0, None, at(0), at(0) + Duration::days(8)).unwrap_err();
    assert!(matches!(e, QueryError::WindowTooLong { .. }));
    let e = availability(
        &s,
        &day_shift(),
        0,
        Some(&SiteId::new("nowhere").unwrap()),
        at(0),
        at(60),
    )
    .unwrap_err();
    assert_eq!(e, QueryError::UnknownSite("nowhere".into()));
    assert!(e.to_string().contains("site_id") && e.to_string().contains("nowhere"));
}

#[test]
fn rooms_are_free_between_bookings_and_holding_rooms_until_full() {
    let mut s = ready();
    book_room(
        &mut s,
        "q1",
        booking("c1", 60, 120, Some("p1"), Some(Step::Questioning)),
    );
    book_room(
        &mut s,
        "h1",
        booking("c1", 0, 60, Some("p1"), Some(Step::Holding)),
    );
    book_room(
        &mut s,
        "h1",
        booking("c2", 30, 90, Some("p1"), Some(Step::Holding)),
    );
    let a = availability(&s, &day_shift(), 0, None, at(0), at(240)).unwrap();
    let free = |id: &str| {
        a.rooms
            .iter()
            .find(|r| r.room.as_str() == id)
            .unwrap()
            .free
            .clone()
    };
    assert_eq!(free("q1"), vec![(at(0), at(60)), (at(120), at(240))]);
    assert_eq!(free("q2"), vec![(at(0), at(240))]);
    // Capacity 2: full only while both stays overlap.
    assert_eq!(free("h1"), vec![(at(0), at(30)), (at(60), at(240))]);
}

#[test]
fn officers_are_free_on_shift_and_not_booked() {
    let mut s = ready();
    book_officer(&mut s, "o3", booking("c1", 60, 120, None, None));
    // t0 is 08:00 UTC; the day shift is 08:00-20:00 at UTC+0.
    let a = availability(&s, &day_shift(), 0, None, at(-120), at(840)).unwrap();
    let free = |id: &str| {
        a.officers
            .iter()
            .find(|o| o.officer.as_str() == id)
            .unwrap()
            .free
            .clone()
    };
    assert_eq!(free("o1"), vec![(at(0), at(720))]);
    assert_eq!(free("o3"), vec![(at(0), at(60)), (at(120), at(720))]);
    // An unknown shift is never free.
    let a = availability(&s, &[], 0, None, at(0), at(60)).unwrap();
    assert!(a.officers.iter().all(|o| o.free.is_empty()));
}

#[test]
fn daily_windows_follow_the_utc_offset_and_cross_midnight() {
    let night = DailyWindow::new(
        "night",
        TimeOfDay::from_minutes("night", 20 * 60).unwrap(),
        TimeOfDay::from_minutes("night", 8 * 60).unwrap(),
    )
    .unwrap();
    // At UTC+8, 20:00-08:00 local is 12:00-00:00 UTC. t0 is 08:00 UTC.
    let v = daily_intervals(&night, 480, at(0), at(24 * 60));
    assert_eq!(v, vec![(at(4 * 60), at(16 * 60))]);
    assert_eq!(
        daily_intervals(&DailyWindow::ALWAYS, 480, at(0), at(10)),
        vec![(at(0), at(10))]
    );
}

#[test]
fn the_earliest_slot_is_the_first_free_room_long_enough() {
    let mut s = ready();
    book_room(&mut s, "q1", booking("c1", 0, 60, None, None));
    book_room(&mut s, "q2", booking("c2", 0, 30, None, None));
    book_room(&mut s, "q2", booking("c3", 50, 200, None, None));
    let slot = earliest_slot(
        &s,
        0,
        None,
        Step::Questioning,
        LegalCategory::CriminalSummons,
        45,
        at(0),
    )
    .unwrap()
    .unwrap();
    // q2 has 30..50 (too short); q1 is free from 60.
    assert_eq!(
        (slot.room.as_str(), slot.start, slot.end),
        ("q1", at(60), at(105))
    );
    let slot = earliest_slot(
        &s,
        0,
        None,
        Step::Questioning,
        LegalCategory::CriminalSummons,
        20,
        at(0),
    )
    .unwrap()
    .unwrap();
    assert_eq!((slot.room.as_str(), slot.start), ("q2", at(30)));
    // No inquiry room exists at all.
    assert_eq!(
        earliest_slot(
            &s,
            0,
            None,
            Step::Questioning,
            LegalCategory::AdministrativeQuestioning,
            20,
            at(0)
        )
        .unwrap(),
        None
    );
    assert_eq!(
        earliest_slot(
            &s,
            0,
            None,
            Step::Intake,
            LegalCategory::CriminalSummons,
            0,
            at(0)
        ),
        Err(QueryError::Duration(0))
    );
}

#[test]
fn deadlines_are_alerted_at_each_lead_time_then_as_breached() {
    let mut s = ready();
    // Criminal summons: 12 h from t0, so the limit is at(720). Leads 60 and 30.
    let kinds = |s: &SchedulingState, m: i64| -> Vec<(AlertKind, String)> {
        alerts(s, &day_shift(), 0, at(m))
            .into_iter()
            .filter(|a| a.case.as_ref().is_some_and(|c| c.as_str() == "c1"))
            .map(|a| (a.kind, a.key))
            .collect()
    };
    assert_eq!(kinds(&s, 600), vec![]);
    assert_eq!(
        kinds(&s, 661),
        vec![(AlertKind::DeadlineAtRisk, "deadline_at_risk/c1/60".into())]
    );
    assert_eq!(
        kinds(&s, 695),
        vec![(AlertKind::DeadlineAtRisk, "deadline_at_risk/c1/30".into())]
    );
    assert_eq!(
        kinds(&s, 721),
        vec![(
            AlertKind::LegalLimitBreached,
            "legal_limit_breached/c1".into()
        )]
    );
    let a = alerts(&s, &day_shift(), 0, at(721));
    assert_eq!(
        a.iter()
            .find(|a| a.kind == AlertKind::LegalLimitBreached)
            .unwrap()
            .deadline,
        Some(at(720))
    );
    // An exited case raises nothing.
    s.cases
        .get_mut(&CaseId::new("c1").unwrap())
        .unwrap()
        .value
        .status = CaseStatus::Exited;
    assert_eq!(kinds(&s, 721), vec![]);
}

fn progress(s: &mut SchedulingState, case: &str, current: Option<(Step, i64)>) {
    let entry = s.cases.get_mut(&CaseId::new(case).unwrap()).unwrap();
    entry.value.progress.insert(
        PersonId::new("p1").unwrap(),
        PersonProgress {
            current: current.map(|(st, m)| (st, at(m))),
            completed: vec![],
        },
    );
}

fn of_kind(s: &SchedulingState, m: i64, kind: AlertKind) -> Vec<String> {
    alerts(s, &day_shift(), 0, at(m))
        .into_iter()
        .filter(|a| a.kind == kind)
        .map(|a| a.key)
        .collect()
}

#[test]
fn a_person_held_past_the_policy_is_alerted() {
    let mut s = ready();
    progress(&mut s, "c1", Some((Step::Holding, 0)));
    // The default policy allows 240 min.
    assert!(of_kind(&s, 240, AlertKind::HeldTooLong).is_empty());
    assert_eq!(
        of_kind(&s, 241, AlertKind::HeldTooLong),
        vec!["held_too_long/c1/p1"]
    );
}

#[test]
fn a_questioning_with_one_officer_is_alerted() {
    let mut s = ready();
    book_room(
        &mut s,
        "q1",
        booking("c1", 60, 120, Some("p1"), Some(Step::Questioning)),
    );
    book_officer(
        &mut s,
        "o1",
        booking("c1", 60, 120, Some("p1"), Some(Step::Questioning)),
    );
    assert_eq!(of_kind(&s, 0, AlertKind::TooFewQuestioners).len(), 1);
    book_officer(
        &mut s,
        "o3",
        booking("c1", 60, 120, Some("p1"), Some(Step::Questioning)),
    );
    assert!(of_kind(&s, 0, AlertKind::TooFewQuestioners).is_empty());
    // Past questionings are not alerted.
    let mut s = ready();
    book_room(
        &mut s,
        "q1",
        booking("c1", 60, 120, Some("p1"), Some(Step::Questioning)),
    );
    assert!(of_kind(&s, 130, AlertKind::TooFewQuestioners).is_empty());
}

#[test]
fn a_station_left_below_its_minimum_by_escorts_is_alerted() {
    let mut s = ready();
    // Three station officers on the day shift; the station's minimum is 2.
    for id in ["o1", "o2", "o3"] {
        let o = s.officers.get_mut(&OfficerId::new(id).unwrap()).unwrap();
        o.value.post = Post::Station(StationId::new("st1").unwrap());
    }
    book_officer(&mut s, "o1", booking("c1", 0, 60, None, None));
    assert!(of_kind(&s, 30, AlertKind::StationBelowMinimum).is_empty());
    book_officer(&mut s, "o2", booking("c1", 0, 60, None, None));
    assert_eq!(
        of_kind(&s, 30, AlertKind::StationBelowMinimum),
        vec!["station_below_minimum/st1"]
    );
    // Back after the escort; and off shift nobody counts (no alert at 21:00).
    assert!(of_kind(&s, 61, AlertKind::StationBelowMinimum).is_empty());
}

#[test]
fn late_starts_and_overruns_break_the_plan() {
    let mut s = ready();
    book_room(
        &mut s,
        "in1",
        booking("c1", 0, 30, Some("p1"), Some(Step::Intake)),
    );
    assert!(of_kind(&s, 10, AlertKind::PlanBroken).is_empty());
    assert_eq!(
        of_kind(&s, 20, AlertKind::PlanBroken),
        vec!["plan_broken/late/c1/p1/intake"]
    );
    progress(&mut s, "c1", Some((Step::Intake, 18)));
    assert!(of_kind(&s, 20, AlertKind::PlanBroken).is_empty());
    assert_eq!(
        of_kind(&s, 40, AlertKind::PlanBroken),
        vec!["plan_broken/overrun/c1/p1/intake"]
    );
}

#[test]
fn a_questioning_under_way_in_a_room_that_does_not_record_is_alerted() {
    let mut s = ready();
    book_room(
        &mut s,
        "q1",
        booking("c1", 0, 120, Some("p1"), Some(Step::Questioning)),
    );
    progress(&mut s, "c1", Some((Step::Questioning, 10)));
    // q1 records: no alert.
    assert!(of_kind(&s, 30, AlertKind::UnrecordedQuestioning).is_empty());
    // Its recording is off (the room was changed): alerted while the
    // questioning is under way in it, not after its booking.
    s.rooms
        .get_mut(&RoomId::new("q1").unwrap())
        .unwrap()
        .value
        .room
        .recording = false;
    assert_eq!(
        of_kind(&s, 30, AlertKind::UnrecordedQuestioning),
        vec!["unrecorded_questioning/c1/p1".to_string()]
    );
    assert!(of_kind(&s, 130, AlertKind::UnrecordedQuestioning).is_empty());
    // Another step under way is not a questioning.
    progress(&mut s, "c1", Some((Step::Holding, 10)));
    assert!(of_kind(&s, 30, AlertKind::UnrecordedQuestioning).is_empty());
}
