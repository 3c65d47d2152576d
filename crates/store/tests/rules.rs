//! The legal rules the state machine re-checked when a plan was committed
//! with `CommitPlan`, under rules version 5 and before (a log written then
//! is replayed by them): each rejection names the rule and the entity.
//! From version 6 a plan is committed with `AcceptPlan` and checked against
//! the whole catalogue (`accept_plan.rs`).

mod common;

use casehub_model::{
    Case, CaseId, Gender, GroupId, LegalCategory, Officer, OfficerId, Person, PersonId, Policy,
    Post, Qualification, RoomId, ShiftId, StationId, Step,
};
use casehub_store::{
    Booking, Command, Conflict, EntityRef, PlannedBooking, ResourceRef, Response, Rule,
    SchedulingState,
};
use common::*;

fn person(id: &str, juvenile: bool, group: Option<&str>) -> Person {
    Person {
        id: PersonId::new(id).unwrap(),
        gender: Gender::Male,
        juvenile,
        co_suspect_group: group.map(|g| GroupId::new(g).unwrap()),
    }
}

fn case_of(id: &str, persons: Vec<Person>) -> Case {
    Case::new(
        CaseId::new(id).unwrap(),
        StationId::new("st1").unwrap(),
        t0(),
        LegalCategory::CriminalSummons,
        persons,
    )
    .unwrap()
}

fn station_officer(id: &str) -> Officer {
    Officer::new(
        OfficerId::new(id).unwrap(),
        None,
        Gender::Male,
        Post::Station(StationId::new("st1").unwrap()),
        vec![Qualification::Questioning, Qualification::Escort],
        ShiftId::new("day").unwrap(),
    )
    .unwrap()
}

/// The common setup, station officers so1–so3 (st1 keeps 2 on duty), an
/// officer o4 who may not question, and cases: `adult` (p1), `juv` (a
/// juvenile p1), `pair` (co-suspects a and b in group g1), `other` (x, also
/// in group g1).
fn ready() -> SchedulingState {
    let mut commands = setup_commands();
    for o in ["so1", "so2", "so3"] {
        commands.push(Command::UpsertOfficer(station_officer(o)));
    }
    commands.push(Command::UpsertOfficer(
        Officer::new(
            OfficerId::new("o4").unwrap(),
            None,
            Gender::Male,
            Post::Site(casehub_model::SiteId::new("s1").unwrap()),
            vec![Qualification::Custody],
            ShiftId::new("day").unwrap(),
        )
        .unwrap(),
    ));
    commands.push(Command::SubmitCase(case_of(
        "adult",
        vec![person("p1", false, None)],
    )));
    commands.push(Command::SubmitCase(case_of(
        "juv",
        vec![person("p1", true, None)],
    )));
    commands.push(Command::SubmitCase(case_of(
        "pair",
        vec![
            person("a", false, Some("g1")),
            person("b", false, Some("g1")),
        ],
    )));
    commands.push(Command::SubmitCase(case_of(
        "other",
        vec![person("x", false, Some("g1"))],
    )));
    let mut s = SchedulingState::with_rules(5);
    for (i, c) in commands.into_iter().enumerate() {
        let r = s.apply(i as u64 + 1, &req(i as u64 + 1, c));
        assert!(r.is_applied(), "setup step {i}: {r:?}");
    }
    s
}

fn stay(
    resource: ResourceRef,
    case: &str,
    person: Option<&str>,
    step: Option<Step>,
    from: i64,
    to: i64,
) -> PlannedBooking {
    PlannedBooking {
        resource,
        booking: Booking {
            case: CaseId::new(case).unwrap(),
            start: at(from),
            end: at(to),
            person: person.map(|p| PersonId::new(p).unwrap()),
            step,
        },
    }
}

fn room(id: &str) -> ResourceRef {
    ResourceRef::Room(RoomId::new(id).unwrap())
}

fn officer(id: &str) -> ResourceRef {
    ResourceRef::Officer(OfficerId::new(id).unwrap())
}

fn held(room_id: &str, case: &str, person: &str, from: i64, to: i64) -> PlannedBooking {
    stay(
        room(room_id),
        case,
        Some(person),
        Some(Step::Holding),
        from,
        to,
    )
}

fn commit(s: &mut SchedulingState, bookings: Vec<PlannedBooking>) -> Response {
    let n = s.audit.len() as u64 + 1000;
    s.apply(
        n,
        &req(
            n,
            Command::CommitPlan {
                bookings,
                expected_versions: vec![],
            },
        ),
    )
}

/// The one rule conflict of a rejection: its rule, entity and detail.
#[track_caller]
fn broken_rule(r: &Response) -> (Rule, EntityRef, String) {
    let Response::Rejected { reason, conflicts } = r else {
        panic!("applied: {r:?}");
    };
    assert_eq!(reason, "the plan breaks a legal rule");
    match &conflicts[..] {
        [
            Conflict::Rule {
                rule,
                entity,
                detail,
            },
        ] => (*rule, entity.clone(), detail.clone()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_escort_never_takes_a_station_below_its_minimum() {
    let mut s = ready();
    // Three posted, two must stay: one may go.
    assert!(
        commit(
            &mut s,
            vec![stay(officer("so1"), "adult", None, None, 0, 60)]
        )
        .is_applied()
    );
    let before = s.clone();
    let r = commit(
        &mut s,
        vec![stay(officer("so2"), "juv", None, None, 30, 90)],
    );
    let (rule, entity, detail) = broken_rule(&r);
    assert_eq!(rule, Rule::StationMinimum);
    assert_eq!(entity, EntityRef::Station(StationId::new("st1").unwrap()));
    assert!(detail.contains("so1") && detail.contains("so2"), "{detail}");
    assert!(detail.contains("minimum on duty is 2"), "{detail}");
    assert_eq!(s.officers, before.officers);
    // Back to back is fine.
    assert!(
        commit(
            &mut s,
            vec![stay(officer("so2"), "juv", None, None, 60, 90)]
        )
        .is_applied()
    );
    // Two at once in one plan is not.
    let r = commit(
        &mut s,
        vec![
            stay(officer("so2"), "pair", None, None, 200, 260),
            stay(officer("so3"), "pair", None, None, 200, 260),
        ],
    );
    assert_eq!(broken_rule(&r).0, Rule::StationMinimum);
    // Site officers do not count against the station.
    assert!(
        commit(
            &mut s,
            vec![
                stay(officer("o1"), "pair", None, None, 0, 60),
                stay(officer("o2"), "pair", None, None, 0, 60),
            ]
        )
        .is_applied()
    );
}

#[test]
fn questioning_needs_the_policys_number_of_qualified_officers() {
    let mut s = ready();
    let q = |from, to| {
        stay(
            room("q1"),
            "adult",
            Some("p1"),
            Some(Step::Questioning),
            from,
            to,
        )
    };
    let by = |o: &str, from, to| stay(officer(o), "adult", None, Some(Step::Questioning), from, to);
    // One officer: rejected, naming the case.
    let r = commit(&mut s, vec![q(0, 60), by("o1", 0, 60)]);
    let (rule, entity, detail) = broken_rule(&r);
    assert_eq!(rule, Rule::QuestioningOfficers);
    assert_eq!(entity, EntityRef::Case(CaseId::new("adult").unwrap()));
    assert!(
        detail.contains("1 qualified officer(s) booked (o1)"),
        "{detail}"
    );
    // A second officer who may not question does not count.
    let r = commit(&mut s, vec![q(0, 60), by("o1", 0, 60), by("o4", 0, 60)]);
    assert_eq!(broken_rule(&r).0, Rule::QuestioningOfficers);
    // One who leaves before the end does not count either.
    let r = commit(&mut s, vec![q(0, 60), by("o1", 0, 60), by("o2", 0, 30)]);
    assert_eq!(broken_rule(&r).0, Rule::QuestioningOfficers);
    // Two qualified officers over the whole questioning: applied.
    assert!(commit(&mut s, vec![q(0, 60), by("o1", 0, 60), by("o2", 0, 60)]).is_applied());
    // Officers booked earlier for the case count too.
    assert!(commit(&mut s, vec![by("o1", 100, 200), by("o2", 100, 200)]).is_applied());
    assert!(commit(&mut s, vec![q(120, 180)]).is_applied());
    // A policy of three.
    let policy = Policy {
        min_questioning_officers: 3,
        ..Policy::default()
    };
    let n = s.audit.len() as u64 + 500;
    assert!(s.apply(n, &req(n, Command::SetPolicy(policy))).is_applied());
    let r = commit(
        &mut s,
        vec![q(300, 360), by("o1", 300, 360), by("o2", 300, 360)],
    );
    let (_, _, detail) = broken_rule(&r);
    assert!(detail.contains("the policy requires 3"), "{detail}");
    assert!(
        commit(
            &mut s,
            vec![
                q(300, 360),
                by("o1", 300, 360),
                by("o2", 300, 360),
                by("o3", 300, 360)
            ]
        )
        .is_applied()
    );
}

#[test]
fn a_holding_room_never_holds_more_than_its_capacity() {
    let mut s = ready();
    assert!(commit(&mut s, vec![held("h1", "adult", "p1", 0, 60)]).is_applied());
    assert!(commit(&mut s, vec![held("h1", "pair", "a", 10, 60)]).is_applied());
    let r = commit(&mut s, vec![held("h1", "c1", "p1", 30, 40)]);
    let (rule, entity, detail) = broken_rule_or_capacity(&r);
    assert_eq!(rule, Rule::HoldingCapacity);
    assert_eq!(entity, EntityRef::Room(RoomId::new("h1").unwrap()));
    assert!(detail.contains("capacity 2"), "{detail}");
    assert!(commit(&mut s, vec![held("h1", "c1", "p1", 60, 90)]).is_applied());
}

/// Holding capacity is found by the capacity check, before the other rules.
#[track_caller]
fn broken_rule_or_capacity(r: &Response) -> (Rule, EntityRef, String) {
    let Response::Rejected { conflicts, .. } = r else {
        panic!("applied: {r:?}");
    };
    match &conflicts[..] {
        [
            Conflict::Rule {
                rule,
                entity,
                detail,
            },
        ] => (*rule, entity.clone(), detail.clone()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn juveniles_are_never_held_with_adults() {
    let mut s = ready();
    assert!(commit(&mut s, vec![held("h1", "adult", "p1", 0, 60)]).is_applied());
    let r = commit(&mut s, vec![held("h1", "juv", "p1", 30, 90)]);
    let (rule, entity, detail) = broken_rule(&r);
    assert_eq!(rule, Rule::JuvenileSeparation);
    assert_eq!(entity, EntityRef::Room(RoomId::new("h1").unwrap()));
    assert!(
        detail.contains("juvenile p1 of case juv") && detail.contains("adult p1 of case adult"),
        "{detail}"
    );
    // After the adult has left, the juvenile may be held there.
    assert!(commit(&mut s, vec![held("h1", "juv", "p1", 60, 90)]).is_applied());
    // Two adults together are fine.
    assert!(commit(&mut s, vec![held("h1", "c1", "p1", 0, 30)]).is_applied());
}

#[test]
fn co_suspects_are_never_in_one_room_at_once() {
    let mut s = ready();
    // Both in one plan.
    let r = commit(
        &mut s,
        vec![
            held("h1", "pair", "a", 0, 60),
            held("h1", "pair", "b", 30, 90),
        ],
    );
    let (rule, entity, detail) = broken_rule(&r);
    assert_eq!(rule, Rule::CoSuspectSeparation);
    assert_eq!(entity, EntityRef::Room(RoomId::new("h1").unwrap()));
    assert!(detail.contains("group g1"), "{detail}");
    // Across cases, against an existing booking.
    assert!(commit(&mut s, vec![held("h1", "pair", "a", 0, 60)]).is_applied());
    let r = commit(&mut s, vec![held("h1", "other", "x", 59, 70)]);
    assert_eq!(broken_rule(&r).0, Rule::CoSuspectSeparation);
    // Not at the same time: fine. Someone outside the group: fine.
    assert!(commit(&mut s, vec![held("h1", "other", "x", 60, 70)]).is_applied());
    assert!(commit(&mut s, vec![held("h1", "adult", "p1", 0, 60)]).is_applied());
    // The same person in two bookings of one room is not a pair.
    assert!(commit(&mut s, vec![held("h1", "pair", "b", 100, 110)]).is_applied());
}

#[test]
fn rule_conflicts_display_the_rule_and_the_entity() {
    let c = Conflict::Rule {
        rule: Rule::JuvenileSeparation,
        entity: EntityRef::Room(RoomId::new("h1").unwrap()),
        detail: "x".into(),
    };
    assert_eq!(c.to_string(), "rule juvenile_separation (room h1): x");
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["rule"]["rule"], "juvenile_separation");
    // A conflict an older build wrote, with the rule's old name, still reads.
    let old = serde_json::json!({"rule": {"rule": "juveniles_apart", "entity": {"room": "h1"}, "detail": "x"}});
    assert_eq!(serde_json::from_value::<Conflict>(old).unwrap(), c);
}
