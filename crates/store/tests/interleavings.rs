//! Random interleavings of dispatchers' plans (computed against states of
//! different ages), releases, exits and escort delays: whatever the order, the applied state
//! never double-books a room, an officer or an escort team, never puts
//! juveniles with adults or co-suspects together, and never leaves a station
//! below its minimum on duty.

mod common;

use casehub_model::{
    Case, CaseId, Gender, GroupId, LegalCategory, Officer, OfficerId, Person, PersonId, Post,
    Qualification, RoomId, ShiftId, StationId, TeamId,
};
use casehub_store::{
    Booking, Command, EntityRef, PlannedBooking, Request, ResourceRef, SchedulingState,
};
use common::*;
use proptest::prelude::*;

const ROOMS: [&str; 3] = ["q1", "q2", "h1"];
const OFFICERS: [&str; 5] = ["o1", "o2", "o3", "so1", "so2"];
/// A person: id, juvenile, co-suspect group.
type PersonSpec = (&'static str, bool, Option<&'static str>);
/// (case, persons).
const CASES: [(&str, &[PersonSpec]); 4] = [
    ("k1", &[("p1", false, Some("g1"))]),
    ("k2", &[("p1", false, Some("g1")), ("p2", false, None)]),
    ("k3", &[("p1", true, None)]),
    ("k4", &[("p1", true, Some("g2")), ("p2", true, Some("g2"))]),
];

fn ready() -> SchedulingState {
    let mut commands = setup_commands();
    for o in ["so1", "so2"] {
        commands.push(Command::UpsertOfficer(
            Officer::new(
                OfficerId::new(o).unwrap(),
                None,
                Gender::Male,
                Post::Station(StationId::new("st1").unwrap()),
                vec![Qualification::Escort],
                ShiftId::new("day").unwrap(),
            )
            .unwrap(),
        ));
    }
    // Station st1 keeps 2 on duty; with so1, so2 and so3 posted, one may go.
    commands.push(Command::UpsertOfficer(
        Officer::new(
            OfficerId::new("so3").unwrap(),
            None,
            Gender::Male,
            Post::Station(StationId::new("st1").unwrap()),
            vec![Qualification::Escort],
            ShiftId::new("day").unwrap(),
        )
        .unwrap(),
    ));
    for (id, persons) in CASES {
        let persons = persons
            .iter()
            .map(|(p, juvenile, group)| Person {
                id: PersonId::new(*p).unwrap(),
                gender: Gender::Male,
                juvenile: *juvenile,
                co_suspect_group: group.map(|g| GroupId::new(g).unwrap()),
            })
            .collect();
        commands.push(Command::SubmitCase(
            Case::new(
                CaseId::new(id).unwrap(),
                StationId::new("st1").unwrap(),
                t0(),
                LegalCategory::CriminalSummons,
                persons,
            )
            .unwrap(),
        ));
    }
    let mut s = SchedulingState::with_rules(5);
    for (i, c) in commands.into_iter().enumerate() {
        let r = s.apply(i as u64 + 1, &req(i as u64 + 1, c));
        assert!(r.is_applied(), "setup step {i}: {r:?}");
    }
    s
}

#[derive(Debug, Clone)]
enum Op {
    /// A plan: (resource, case, person, start, length) per booking,
    /// computed against the state `lag` steps back, with or without
    /// expected versions.
    Commit {
        bookings: Vec<(usize, usize, usize, i64, i64)>,
        lag: usize,
        versions: bool,
    },
    /// Release a case's rooms at a minute.
    Release { case: usize, at: i64 },
    /// A case exits at a minute.
    Exit { case: usize, at: i64 },
    /// A case's escort reports a delay at a minute.
    Delay {
        case: usize,
        at: i64,
        minutes: u32,
        picked_up: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (
            prop::collection::vec((0..9usize, 0..4usize, 0..2usize, 0..240i64, 1..90i64), 1..4),
            0..3usize,
            any::<bool>(),
        )
            .prop_map(|(bookings, lag, versions)| Op::Commit { bookings, lag, versions }),
        1 => (0..4usize, 0..300i64).prop_map(|(case, at)| Op::Release { case, at }),
        1 => (0..4usize, 0..300i64).prop_map(|(case, at)| Op::Exit { case, at }),
        2 => (0..4usize, 0..300i64, 1..120u32, any::<bool>())
            .prop_map(|(case, at, minutes, picked_up)| Op::Delay { case, at, minutes, picked_up }),
    ]
}

/// Resource `i`: the rooms, then the officers, then team t1.
fn resource(i: usize) -> ResourceRef {
    if i < ROOMS.len() {
        ResourceRef::Room(RoomId::new(ROOMS[i]).unwrap())
    } else if i < ROOMS.len() + OFFICERS.len() {
        ResourceRef::Officer(OfficerId::new(OFFICERS[i - ROOMS.len()]).unwrap())
    } else {
        ResourceRef::Team(TeamId::new("t1").unwrap())
    }
}

fn request(n: u64, at_min: i64, command: Command) -> Request {
    Request {
        client_id: format!("dispatcher-{}", n % 3),
        request_id: n,
        time: at(at_min),
        ..req(n, command)
    }
}

/// Every invariant of the applied state.
fn check(s: &SchedulingState) -> Result<(), TestCaseError> {
    let under_way = |bs: &[Booking], t| bs.iter().filter(|o| o.start <= t && t < o.end).count();
    for (id, e) in &s.rooms {
        let cap = e.value.room.capacity as usize;
        for b in &e.bookings {
            prop_assert!(b.start < b.end);
            prop_assert!(
                under_way(&e.bookings, b.start) <= cap,
                "room {} over capacity at {}",
                id,
                b.start
            );
        }
        // Persons who must be apart never overlap in one room.
        let person = |b: &Booking| {
            let case = &s.cases[&b.case].value.case;
            b.person
                .as_ref()
                .and_then(|p| case.persons.iter().find(|x| &x.id == p))
        };
        for (i, a) in e.bookings.iter().enumerate() {
            for b in &e.bookings[i + 1..] {
                if !(a.start < b.end && b.start < a.end)
                    || (a.case == b.case && a.person == b.person)
                {
                    continue;
                }
                if let (Some(pa), Some(pb)) = (person(a), person(b)) {
                    prop_assert_eq!(pa.juvenile, pb.juvenile, "juvenile with adult in {}", id);
                    prop_assert!(
                        pa.co_suspect_group.is_none() || pa.co_suspect_group != pb.co_suspect_group,
                        "co-suspects together in {}",
                        id
                    );
                }
            }
        }
    }
    for (id, e) in &s.officers {
        for b in &e.bookings {
            prop_assert!(
                under_way(&e.bookings, b.start) <= 1,
                "officer {} double-booked",
                id
            );
        }
    }
    for (id, e) in &s.teams {
        for b in &e.bookings {
            prop_assert!(
                under_way(&e.bookings, b.start) <= 1,
                "team {} double-booked",
                id
            );
        }
    }
    // Station st1: 3 posted, 2 on duty at all times.
    let posted: Vec<&[Booking]> = s
        .officers
        .values()
        .filter(|e| matches!(&e.value.post, Post::Station(_)))
        .map(|e| e.bookings.as_slice())
        .collect();
    for bs in &posted {
        for b in *bs {
            let away = posted.iter().filter(|o| under_way(o, b.start) > 0).count();
            prop_assert!(
                posted.len() - away >= 2,
                "station below its minimum at {}",
                b.start
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_interleaving_double_books_or_breaks_a_rule(ops in prop::collection::vec(op(), 1..40)) {
        let mut s = ready();
        let mut history = vec![s.clone()];
        for (i, op) in ops.iter().enumerate() {
            let n = 1_000 + i as u64;
            let r = match op {
                Op::Commit { bookings, lag, versions } => {
                    let seen = &history[history.len().saturating_sub(1 + lag)];
                    let mut expected: Vec<(EntityRef, u64)> = Vec::new();
                    let planned: Vec<PlannedBooking> = bookings
                        .iter()
                        .map(|&(res, case, person, start, len)| {
                            let resource = resource(res);
                            let entity = resource.entity();
                            if *versions && !expected.iter().any(|(e, _)| *e == entity) {
                                expected.push((entity.clone(), seen.version_of(&entity).unwrap()));
                            }
                            let (case_id, persons) = CASES[case];
                            let person = matches!(resource, ResourceRef::Room(_))
                                .then(|| PersonId::new(persons[person % persons.len()].0).unwrap());
                            PlannedBooking {
                                resource,
                                booking: Booking {
                                    case: CaseId::new(case_id).unwrap(),
                                    start: at(start),
                                    end: at(start + len),
                                    person,
                                    step: None,
                                },
                            }
                        })
                        .collect();
                    request(n, 0, Command::CommitPlan { bookings: planned, expected_versions: expected })
                }
                Op::Release { case, at } => request(
                    n,
                    *at,
                    Command::ReleaseRooms { case: CaseId::new(CASES[*case].0).unwrap(), rooms: vec![] },
                ),
                Op::Exit { case, at } => request(
                    n,
                    *at,
                    Command::ExitCase { case: CaseId::new(CASES[*case].0).unwrap(), disposition: None },
                ),
                Op::Delay { case, at, minutes, picked_up } => request(
                    n,
                    *at,
                    Command::ReportDelay {
                        case: CaseId::new(CASES[*case].0).unwrap(),
                        team: None,
                        minutes: *minutes,
                        picked_up: *picked_up,
                        reason: "traffic".into(),
                    },
                ),
            };
            let before = s.clone();
            let response = s.apply(n, &r);
            if !response.is_applied() {
                // All or nothing.
                prop_assert_eq!(&s.rooms, &before.rooms);
                prop_assert_eq!(&s.officers, &before.officers);
                prop_assert_eq!(&s.teams, &before.teams);
                prop_assert_eq!(&s.cases, &before.cases);
            }
            check(&s)?;
            history.push(s.clone());
        }
        prop_assert_eq!(s.audit.len(), history[0].audit.len() + ops.len());
    }
}
