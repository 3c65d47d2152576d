//! The scheduling state machine, without Raft or RocksDB.

mod common;

use casehub_model::{CaseId, PersonId, RoomId, Step};
use casehub_store::state::CaseStatus;
use casehub_store::{Command, Conflict, EntityRef, ResourceRef, Response, SchedulingState};
use common::*;
use proptest::prelude::*;

fn ready() -> SchedulingState {
    let mut s = SchedulingState::with_rules(5);
    for (i, c) in setup_commands().into_iter().enumerate() {
        let r = s.apply(i as u64 + 1, &req(i as u64 + 1, c));
        assert!(r.is_applied(), "setup step {i}: {r:?}");
    }
    s
}

fn room_ref(id: &str) -> EntityRef {
    EntityRef::Room(RoomId::new(id).unwrap())
}

fn commit(
    s: &mut SchedulingState,
    id: u64,
    bookings: Vec<casehub_store::PlannedBooking>,
) -> Response {
    s.apply(
        100 + id,
        &req(
            1000 + id,
            Command::CommitPlan {
                bookings,
                expected_versions: vec![],
            },
        ),
    )
}

#[test]
fn setup_versions_start_at_one() {
    let s = ready();
    assert_eq!(s.version_of(&room_ref("q1")), Some(1));
    assert_eq!(
        s.version_of(&EntityRef::Case(CaseId::new("c1").unwrap())),
        Some(1)
    );
    assert_eq!(s.audit.len(), setup_commands().len());
    assert!(
        s.audit
            .iter()
            .zip(s.audit.iter().skip(1))
            .all(|(a, b)| a.index < b.index)
    );
}

#[test]
fn unknown_references_are_rejected() {
    let mut s = SchedulingState::with_rules(5);
    let r = s.apply(1, &req(1, Command::UpsertOfficer(officer("o1"))));
    assert!(matches!(
        &r,
        Response::Rejected { conflicts, .. } if conflicts == &[Conflict::Unknown { entity: EntityRef::Site("s1".try_into().unwrap()) }]
    ));
    let r = s.apply(2, &req(2, Command::SubmitCase(case("c1"))));
    assert!(!r.is_applied());
    assert!(s.cases.is_empty() && s.officers.is_empty());
    assert_eq!(s.audit.len(), 2);
    assert!(s.audit.iter().all(|a| a.rejected.is_some()));
}

#[test]
fn overlapping_room_booking_is_rejected_whole() {
    let mut s = ready();
    assert!(commit(&mut s, 1, vec![room_booking("q1", "c1", 0, 60)]).is_applied());
    let before = s.clone();
    // q2 is free, q1 overlaps c1's booking: nothing of this plan is applied.
    let r = commit(
        &mut s,
        2,
        vec![
            room_booking("q2", "c2", 0, 60),
            room_booking("q1", "c2", 30, 90),
        ],
    );
    match r {
        Response::Rejected { conflicts, .. } => assert_eq!(
            conflicts,
            vec![Conflict::Overlap {
                resource: ResourceRef::Room(RoomId::new("q1").unwrap()),
                case: CaseId::new("c1").unwrap(),
                start: at(0),
                end: at(60),
            }]
        ),
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(s.rooms, before.rooms);
    assert_eq!(s.cases, before.cases);
    // Back to back is fine.
    assert!(commit(&mut s, 3, vec![room_booking("q1", "c2", 60, 90)]).is_applied());
}

#[test]
fn holding_room_takes_up_to_its_capacity() {
    let mut s = ready();
    assert!(commit(&mut s, 1, vec![room_booking("h1", "c1", 0, 60)]).is_applied());
    assert!(commit(&mut s, 2, vec![room_booking("h1", "c2", 30, 90)]).is_applied());
    assert!(!commit(&mut s, 3, vec![room_booking("h1", "c3", 45, 50)]).is_applied());
    assert!(commit(&mut s, 4, vec![room_booking("h1", "c3", 60, 120)]).is_applied());
    // Two new bookings in one plan overlapping each other on a one-person room.
    assert!(
        !commit(
            &mut s,
            5,
            vec![
                room_booking("q2", "c1", 0, 10),
                room_booking("q2", "c2", 5, 15)
            ]
        )
        .is_applied()
    );
}

#[test]
fn stale_versions_are_named() {
    let mut s = ready();
    let r = s.apply(
        50,
        &req(
            50,
            Command::CommitPlan {
                bookings: vec![officer_booking("o1", "c1", 0, 30)],
                expected_versions: vec![(EntityRef::Officer("o1".try_into().unwrap()), 7)],
            },
        ),
    );
    assert_eq!(
        r,
        Response::Rejected {
            reason: "the plan was computed against stale versions".into(),
            conflicts: vec![Conflict::StaleVersion {
                entity: EntityRef::Officer("o1".try_into().unwrap()),
                expected: 7,
                actual: 1
            }]
        }
    );
}

#[test]
fn step_room_kind_and_bad_interval_are_invalid() {
    let mut s = ready();
    let mut b = room_booking("in1", "c1", 0, 30);
    b.booking.step = Some(Step::Questioning);
    assert!(!commit(&mut s, 1, vec![b]).is_applied());
    assert!(!commit(&mut s, 2, vec![room_booking("q1", "c1", 30, 30)]).is_applied());
    assert!(!commit(&mut s, 3, vec![room_booking("nope", "c1", 0, 30)]).is_applied());
    assert!(!commit(&mut s, 4, vec![room_booking("q1", "c9", 0, 30)]).is_applied());
    assert!(!commit(&mut s, 5, vec![]).is_applied());
}

#[test]
fn retried_request_returns_the_same_response_and_changes_nothing() {
    let mut s = ready();
    let r1 = s.apply(
        60,
        &req(
            7,
            Command::CommitPlan {
                bookings: vec![room_booking("q1", "c1", 0, 60)],
                expected_versions: vec![],
            },
        ),
    );
    assert!(r1.is_applied());
    let after = s.clone();
    let r2 = s.apply(
        61,
        &req(
            7,
            Command::CommitPlan {
                bookings: vec![room_booking("q1", "c1", 0, 60)],
                expected_versions: vec![],
            },
        ),
    );
    assert_eq!(r1, r2);
    assert_eq!(s, after);
}

#[test]
fn steps_release_and_exit() {
    let mut s = ready();
    assert!(
        commit(
            &mut s,
            1,
            vec![
                room_booking("q1", "c1", 0, 60),
                room_booking("h1", "c1", 60, 120),
                officer_booking("o1", "c1", 0, 60)
            ]
        )
        .is_applied()
    );
    let c1 = CaseId::new("c1").unwrap();
    let p1 = PersonId::new("p1").unwrap();
    let step = |n, cmd| {
        let mut r = req(n, cmd);
        r.time = at(30);
        r
    };
    let start = Command::StartStep {
        case: c1.clone(),
        person: p1.clone(),
        step: Step::Questioning,
    };
    let done = Command::CompleteStep {
        case: c1.clone(),
        person: p1.clone(),
        step: Step::Questioning,
    };
    assert!(
        !s.apply(70, &step(70, done.clone())).is_applied(),
        "not started yet"
    );
    assert!(s.apply(71, &step(71, start.clone())).is_applied());
    assert!(
        !s.apply(72, &step(72, start)).is_applied(),
        "already under way"
    );
    assert!(s.apply(73, &step(73, done)).is_applied());
    assert_eq!(s.cases[&c1].value.progress[&p1].completed.len(), 1);

    // Release q1 at minute 30: its booking ends then; h1 is untouched.
    assert!(
        s.apply(
            74,
            &step(
                74,
                Command::ReleaseRooms {
                    case: c1.clone(),
                    rooms: vec![RoomId::new("q1").unwrap()]
                }
            )
        )
        .is_applied()
    );
    assert_eq!(
        s.bookings_of(&ResourceRef::Room("q1".try_into().unwrap()))
            .unwrap()[0]
            .end,
        at(30)
    );
    assert_eq!(
        s.bookings_of(&ResourceRef::Room("h1".try_into().unwrap()))
            .unwrap()
            .len(),
        1
    );

    // Exit at minute 30: h1's later booking is dropped, o1's ends at 30.
    assert!(
        s.apply(
            75,
            &step(
                75,
                Command::ExitCase {
                    case: c1.clone(),
                    disposition: None
                }
            )
        )
        .is_applied()
    );
    assert!(
        s.bookings_of(&ResourceRef::Room("h1".try_into().unwrap()))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.bookings_of(&ResourceRef::Officer("o1".try_into().unwrap()))
            .unwrap()[0]
            .end,
        at(30)
    );
    assert_eq!(s.cases[&c1].value.status, CaseStatus::Exited);
    assert!(
        !s.apply(
            76,
            &step(
                76,
                Command::ExitCase {
                    case: c1,
                    disposition: None
                }
            )
        )
        .is_applied()
    );
}

#[test]
fn a_booked_room_cannot_be_removed_from_its_site() {
    let mut s = ready();
    assert!(commit(&mut s, 1, vec![room_booking("q2", "c1", 0, 60)]).is_applied());
    let mut smaller = site();
    smaller.rooms.retain(|r| r.id.as_str() != "q2");
    assert!(
        !s.apply(80, &req(80, Command::UpsertSite(smaller.clone())))
            .is_applied()
    );
    smaller.rooms.retain(|r| r.id.as_str() != "q1");
    let mut s2 = ready();
    assert!(
        s2.apply(80, &req(80, Command::UpsertSite(smaller)))
            .is_applied()
    );
    assert!(!s2.rooms.contains_key("q1"));
}

#[test]
fn holding_capacity_cannot_shrink_below_its_bookings() {
    let mut s = ready();
    assert!(commit(&mut s, 1, vec![room_booking("h1", "c1", 0, 60)]).is_applied());
    assert!(commit(&mut s, 2, vec![room_booking("h1", "c2", 0, 60)]).is_applied());
    let mut smaller = site();
    for r in &mut smaller.rooms {
        if r.id.as_str() == "h1" {
            r.capacity = 1;
        }
    }
    let r = s.apply(90, &req(90, Command::UpsertSite(smaller)));
    assert!(
        matches!(&r, Response::Rejected { conflicts, .. } if matches!(&conflicts[..], [Conflict::Invalid { field, .. }] if field == "rooms.h1.capacity")),
        "{r:?}"
    );
    assert_eq!(s.rooms["h1"].value.room.capacity, 2);
}

#[test]
fn requests_need_a_client_and_an_actor() {
    let mut s = SchedulingState::with_rules(5);
    let mut r = req(1, Command::UpsertStation(station()));
    r.actor = " ".into();
    assert!(!s.apply(1, &r).is_applied());
    r.actor = "a".into();
    r.client_id = String::new();
    assert!(!s.apply(2, &r).is_applied());
    assert!(s.stations.is_empty() && s.audit.is_empty());
    // Not recorded: the corrected request goes through.
    r.client_id = "c".into();
    assert!(s.apply(3, &r).is_applied());
}

#[test]
fn audit_is_in_log_order_with_actor_site_and_time() {
    let s = ready();
    let tail = s.audit_from(4);
    assert_eq!(tail.front().unwrap().index, 4);
    assert_eq!(tail.len(), setup_commands().len() - 3);
    let e = &s.audit[0];
    assert_eq!(
        (e.actor.as_str(), e.site.as_ref().unwrap().as_str(), e.time),
        ("operator-1", "s1", t0())
    );
    assert_eq!(e.summary, "upsert site s1 (4 rooms)");
    assert!(s.audit_from(1000).is_empty());
}

#[test]
fn state_round_trips_through_json() {
    let mut s = ready();
    assert!(commit(&mut s, 1, vec![room_booking("q1", "c1", 0, 60)]).is_applied());
    let bytes = serde_json::to_vec(&s).unwrap();
    let back: SchedulingState = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(back, s);
}

/// A plan computed by one of several dispatchers against a snapshot.
#[derive(Debug, Clone)]
struct Attempt {
    /// (room, case, start, length) of each booking of the plan.
    bookings: Vec<(usize, usize, i64, i64)>,
    /// Which earlier state the plan was computed against (0 = now).
    lag: usize,
    retry: bool,
}

fn attempt() -> impl Strategy<Value = Attempt> {
    (
        prop::collection::vec((0..3usize, 0..3usize, 0..240i64, 1..90i64), 1..4),
        0..3usize,
        any::<bool>(),
    )
        .prop_map(|(bookings, lag, retry)| Attempt {
            bookings,
            lag,
            retry,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Whatever the interleaving of plans and versions, no one-person room is
    /// ever double-booked and the holding room never holds more than its capacity.
    #[test]
    fn commits_never_double_book(attempts in prop::collection::vec(attempt(), 1..40)) {
        let rooms = ["q1", "q2", "h1"];
        let mut s = ready();
        let mut history = vec![s.clone()];
        let mut last: Option<(casehub_store::Request, Response)> = None;
        let mut applied = 0;
        for (i, a) in attempts.iter().enumerate() {
            if a.retry && let Some((r, resp)) = &last {
                let before = s.clone();
                let again = s.apply(10_000 + i as u64, r);
                prop_assert_eq!(&again, resp);
                prop_assert_eq!(&s, &before);
                continue;
            }
            let seen = &history[history.len().saturating_sub(1 + a.lag)];
            let mut expected: Vec<(EntityRef, u64)> = Vec::new();
            let mut bookings = Vec::new();
            for &(room, case, start, len) in &a.bookings {
                let room = rooms[room];
                let entity = room_ref(room);
                if !expected.iter().any(|(e, _)| *e == entity) {
                    expected.push((entity.clone(), seen.version_of(&entity).unwrap()));
                }
                bookings.push(room_booking(room, ["c1", "c2", "c3"][case], start, start + len));
            }
            let r = req(
                5_000 + i as u64,
                Command::CommitPlan { bookings, expected_versions: expected },
            );
            let before = s.clone();
            let resp = s.apply(1_000 + i as u64, &r);
            if resp.is_applied() {
                applied += 1;
            } else {
                // All or nothing: a rejected plan leaves every entity as it was.
                prop_assert_eq!(&s.rooms, &before.rooms);
                prop_assert_eq!(&s.cases, &before.cases);
            }
            last = Some((r, resp));
            history.push(s.clone());
        }
        prop_assert_eq!(
            s.rooms.values().map(|e| e.bookings.len()).sum::<usize>() > 0,
            applied > 0
        );
        for room in rooms {
            let entry = &s.rooms[room];
            let cap = entry.value.room.capacity as usize;
            for b in &entry.bookings {
                let at_start = entry.bookings.iter().filter(|o| o.start <= b.start && b.start < o.end).count();
                prop_assert!(at_start <= cap, "room {} over capacity at {}", room, b.start);
            }
        }
    }
}

#[test]
fn a_step_done_early_frees_its_room_and_questioners_early() {
    let mut s = ready();
    let c1 = CaseId::new("c1").unwrap();
    let p1 = PersonId::new("p1").unwrap();
    let tagged = |mut pb: casehub_store::PlannedBooking, step: Step| {
        pb.booking.person = Some(p1.clone());
        pb.booking.step = Some(step);
        pb
    };
    assert!(
        commit(
            &mut s,
            1,
            vec![
                tagged(room_booking("q1", "c1", 0, 90), Step::Questioning),
                tagged(officer_booking("o1", "c1", 0, 90), Step::Questioning),
                tagged(officer_booking("o2", "c1", 0, 90), Step::Questioning),
                // The holding afterwards is another step: it stays booked.
                tagged(room_booking("h1", "c1", 90, 150), Step::Holding),
            ]
        )
        .is_applied()
    );
    let at_min = |n: u64, m: i64, command| {
        let mut r = req(n, command);
        r.time = at(m);
        r
    };
    let step = Step::Questioning;
    let start = Command::StartStep {
        case: c1.clone(),
        person: p1.clone(),
        step,
    };
    let done = Command::CompleteStep {
        case: c1.clone(),
        person: p1.clone(),
        step,
    };
    assert!(s.apply(80, &at_min(80, 0, start)).is_applied());
    let q1 = ResourceRef::Room(RoomId::new("q1").unwrap());
    let v_q1 = s.version_of(&q1.entity()).unwrap();
    let Response::Applied { versions } = s.apply(81, &at_min(81, 40, done)) else {
        panic!("completing the questioning was refused")
    };
    // Done at minute 40 instead of 90: the room and both questioners are free from then.
    assert_eq!(s.bookings_of(&q1).unwrap()[0].end, at(40));
    for o in ["o1", "o2"] {
        let officer = ResourceRef::Officer(casehub_model::OfficerId::new(o).unwrap());
        assert_eq!(s.bookings_of(&officer).unwrap()[0].end, at(40), "{o}");
        assert!(versions.iter().any(|(e, _)| *e == officer.entity()), "{o}");
    }
    assert!(s.version_of(&q1.entity()).unwrap() > v_q1);
    let h1 = ResourceRef::Room(RoomId::new("h1").unwrap());
    assert_eq!(s.bookings_of(&h1).unwrap()[0].end, at(150));
    // The freed time can be booked by another case at once.
    assert!(commit(&mut s, 2, vec![room_booking("q1", "c2", 40, 80)]).is_applied());
}

#[test]
fn an_escorting_questioner_done_early_stays_booked_until_the_drive_back() {
    let mut s = ready();
    let c1 = CaseId::new("c1").unwrap();
    let p1 = PersonId::new("p1").unwrap();
    let questioning = |mut pb: casehub_store::PlannedBooking| {
        pb.booking.person = Some(p1.clone());
        pb.booking.step = Some(Step::Questioning);
        pb
    };
    // o1 escorts (0..60), questions (60..120), then drives back (120..180);
    // o2 only questions.
    assert!(
        commit(
            &mut s,
            1,
            vec![
                questioning(room_booking("q1", "c1", 60, 120)),
                officer_booking("o1", "c1", 0, 60),
                questioning(officer_booking("o1", "c1", 60, 120)),
                officer_booking("o1", "c1", 120, 180),
                questioning(officer_booking("o2", "c1", 60, 120)),
            ]
        )
        .is_applied()
    );
    let at_min = |n: u64, m: i64, command| {
        let mut r = req(n, command);
        r.time = at(m);
        r
    };
    let step = Step::Questioning;
    let (case, person) = (c1.clone(), p1.clone());
    assert!(
        s.apply(
            80,
            &at_min(80, 60, Command::StartStep { case, person, step })
        )
        .is_applied()
    );
    let (case, person) = (c1.clone(), p1.clone());
    assert!(
        s.apply(
            81,
            &at_min(81, 80, Command::CompleteStep { case, person, step })
        )
        .is_applied()
    );
    let ends = |o: &str| -> Vec<(i64, i64)> {
        s.bookings_of(&ResourceRef::Officer(
            casehub_model::OfficerId::new(o).unwrap(),
        ))
        .unwrap()
        .iter()
        .map(|b| ((b.start - t0()).num_minutes(), (b.end - t0()).num_minutes()))
        .collect()
    };
    // o1 waits at the site for the drive back: no gap in its bookings.
    assert_eq!(ends("o1"), vec![(0, 60), (60, 120), (120, 180)]);
    // o2 is free from the completion; the room too.
    assert_eq!(ends("o2"), vec![(60, 80)]);
    let q1 = ResourceRef::Room(RoomId::new("q1").unwrap());
    assert_eq!(s.bookings_of(&q1).unwrap()[0].end, at(80));
    // o1 cannot be booked elsewhere in the would-be gap.
    assert!(!commit(&mut s, 2, vec![officer_booking("o1", "c2", 85, 115)]).is_applied());
}

#[test]
fn new_rules_apply_only_once_the_cluster_raises_its_rules_version() {
    // A state written before rules versions (version 0 = the first rules).
    let mut s = ready();
    s.rules_version = 0;
    let c1 = CaseId::new("c1").unwrap();
    let p1 = PersonId::new("p1").unwrap();
    let mut q = room_booking("q1", "c1", 0, 90);
    q.booking.person = Some(p1.clone());
    q.booking.step = Some(Step::Questioning);
    let booked = commit(
        &mut s,
        1,
        vec![
            q,
            officer_booking("o1", "c1", 0, 90),
            officer_booking("o2", "c1", 0, 90),
        ],
    );
    assert!(booked.is_applied(), "{booked:?}");
    let delay = Command::ReportDelay {
        case: c1.clone(),
        team: None,
        minutes: 10,
        picked_up: false,
        reason: String::new(),
    };
    let r = s.apply(80, &req(80, delay.clone()));
    assert!(
        matches!(&r, Response::Rejected { conflicts, .. }
            if matches!(&conflicts[0], Conflict::Invalid { field, .. } if field == "command")),
        "{r:?}"
    );
    // A step completed early keeps its room by the first rules.
    let step = Step::Questioning;
    let (case, person) = (c1.clone(), p1.clone());
    assert!(
        s.apply(81, &req(81, Command::StartStep { case, person, step }))
            .is_applied()
    );
    let (case, person) = (c1.clone(), p1.clone());
    let mut done = req(82, Command::CompleteStep { case, person, step });
    done.time = at(30);
    assert!(s.apply(82, &done).is_applied());
    let q1 = ResourceRef::Room(RoomId::new("q1").unwrap());
    assert_eq!(s.bookings_of(&q1).unwrap()[0].end, at(90));

    // Never above this build's rules, never lowered.
    let too_new = casehub_store::RULES_VERSION + 1;
    assert!(
        !s.apply(83, &req(83, Command::SetRulesVersion(too_new)))
            .is_applied()
    );
    assert!(
        s.apply(
            84,
            &req(84, Command::SetRulesVersion(casehub_store::RULES_VERSION))
        )
        .is_applied()
    );
    assert!(
        !s.apply(85, &req(85, Command::SetRulesVersion(1)))
            .is_applied()
    );
    assert_eq!(s.rules_version, casehub_store::RULES_VERSION);
    // Now the delay is applied.
    assert!(s.apply(86, &req(86, delay)).is_applied());
}

#[test]
fn an_override_keeps_its_reason_in_the_audit_from_rules_version_5() {
    let override_of = |room: &str| Command::OverridePlan {
        bookings: vec![room_booking(room, "c1", 0, 90)],
        expected_versions: vec![],
        reason: "家属在附近等候".into(),
    };
    // Before version 5: refused, and the entry has no reason field.
    let mut s = ready();
    s.rules_version = 4;
    let r = s.apply(200, &req(200, override_of("q1")));
    assert!(
        matches!(&r, Response::Rejected { conflicts, .. }
            if matches!(&conflicts[0], Conflict::Invalid { field, .. } if field == "command")),
        "{r:?}"
    );
    assert_eq!(s.audit.back().unwrap().reason, None);

    // From version 5: booked like a plan, the reason in its entry, the
    // chain intact, and the entry found as an override.
    let mut s = ready();
    assert!(s.rules_at_least(5));
    let r = s.apply(200, &req(200, override_of("q1")));
    assert!(r.is_applied(), "{r:?}");
    let q1 = ResourceRef::Room(RoomId::new("q1").unwrap());
    assert_eq!(s.bookings_of(&q1).unwrap().len(), 1);
    let e = s.audit.back().unwrap();
    assert_eq!(e.reason.as_deref(), Some("家属在附近等候"));
    assert!(e.is_override(), "{}", e.summary);
    assert!(e.summary.contains("c1"), "{}", e.summary);
    assert!(s.verify_audit().is_ok());
    // The same rules as a plan: a second booking of the room is refused.
    let again = s.apply(201, &req(201, override_of("q1")));
    assert!(!again.is_applied(), "{again:?}");
    // A plain commit is not an override and has no reason.
    let plain = commit(&mut s, 3, vec![room_booking("q2", "c1", 0, 90)]);
    assert!(plain.is_applied(), "{plain:?}");
    let e = s.audit.back().unwrap();
    assert!(!e.is_override() && e.reason.is_none(), "{e:?}");
    // Editing the reason in place breaks the chain.
    let last = s.audit.len() - 2;
    s.audit[last].reason = Some("另一理由".into());
    assert!(s.verify_audit().is_err());
}
