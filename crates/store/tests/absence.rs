//! Resources that change: an officer's leave or a team's repairs as
//! windows, and rooms, officers and teams taken out of service. The engine,
//! the commit and the availability queries keep to them, and accepted plans
//! they break go back to re-planning.

mod common;

use chrono::{DateTime, Duration, Utc};

use casehub_model::{OfficerId, Rule, Step};
use casehub_planning::generate;
use casehub_store::absence::{Absence, AbsenceKind};
use casehub_store::availability::availability;
use casehub_store::state::CaseStatus;
use casehub_store::{Command, Conflict, EntityRef, ResourceRef, Response};

use common::region::*;

fn now() -> DateTime<Utc> {
    "2026-11-27T02:00:00Z".parse().unwrap()
}

/// The sample county with one case planned and committed; the case's plan.
fn one_planned() -> (World, casehub_planning::CasePlan) {
    let r = region();
    let mut w = loaded(&r, now());
    let pc = generate::pending_cases(&r, now(), 1, 30, 0, 5).remove(0);
    assert!(w.apply(Command::SubmitCase(pc.case)).is_applied());
    let p = propose(&w.state, now());
    assert_eq!(p.cases.len(), 1, "{:?}", p.blocked);
    let resp = w.apply(accept(p.cases.clone(), now(), 1));
    assert!(resp.is_applied(), "{resp:?}");
    (w, p.cases[0].clone())
}

fn leave(officer: &OfficerId, start: DateTime<Utc>, end: DateTime<Utc>) -> Command {
    Command::AddAbsence {
        resource: ResourceRef::Officer(officer.clone()),
        absence: Absence {
            start,
            end,
            kind: AbsenceKind::Leave,
            note: "年假".into(),
        },
    }
}

#[test]
fn leave_over_a_questioning_returns_the_case_to_planning_and_the_next_plan_avoids_it() {
    let (mut w, cp) = one_planned();
    let q = &cp.persons[0]
        .steps
        .iter()
        .find(|s| s.step == Step::Questioning)
        .unwrap();
    let officer = cp.persons[0].questioning_officers[0].clone();
    let resp = w.apply(leave(&officer, q.start, q.end));
    assert!(resp.is_applied(), "{resp:?}");
    let entry = &w.state.cases[&cp.case].value;
    assert_eq!(entry.status, CaseStatus::Submitted);
    let broken = entry.plan_broken.as_ref().expect("the case says why");
    assert!(
        broken.reason.contains(officer.as_str()) && broken.reason.contains("leave"),
        "{}",
        broken.reason
    );
    assert!(w.state.officers[&officer].bookings.is_empty());
    assert!(w.state.audit.back().unwrap().summary.contains("年假"));

    // The old plan is refused at commit: the officer is away.
    let resp = w.apply(accept(vec![cp.clone()], now(), 1));
    let Response::Rejected { conflicts, .. } = &resp else {
        panic!("{resp:?}")
    };
    assert!(
        conflicts.iter().any(|c| matches!(c,
            Conflict::Rule { rule: Rule::OfficerUnavailable, detail, .. } if detail.contains(officer.as_str()))),
        "{conflicts:?}"
    );
    // A new plan keeps the officer out of that window, and commits.
    let p = propose(&w.state, now());
    assert_eq!(p.cases.len(), 1);
    for pp in &p.cases[0].persons {
        for s in pp.steps.iter().filter(|s| s.step == Step::Questioning) {
            let overlaps = s.start < q.end && q.start < s.end;
            assert!(
                !(overlaps && pp.questioning_officers.contains(&officer)),
                "{officer} questions during the leave"
            );
        }
    }
    assert!(w.apply(accept(p.cases, now(), 1)).is_applied());

    // Removed, the absence no longer counts; a second one at the same start
    // is refused while the first stands.
    let again = w.apply(leave(&officer, q.start, q.end + Duration::hours(1)));
    assert!(!again.is_applied());
    let resp = w.apply(Command::RemoveAbsence {
        resource: ResourceRef::Officer(officer.clone()),
        start: q.start,
    });
    assert!(resp.is_applied(), "{resp:?}");
    assert!(w.state.officers[&officer].absences.is_empty());
}

#[test]
fn a_case_under_way_keeps_its_bookings_and_is_marked_broken() {
    let (mut w, cp) = one_planned();
    let person = cp.persons[0].person.clone();
    let started = w.apply(Command::StartStep {
        case: cp.case.clone(),
        person,
        step: Step::Intake,
    });
    assert!(started.is_applied(), "{started:?}");
    let officer = cp.persons[0].questioning_officers[0].clone();
    let booked = w.state.officers[&officer].bookings.clone();
    assert!(!booked.is_empty());
    let resp = w.apply(Command::SetActive {
        resource: EntityRef::Officer(officer.clone()),
        active: false,
    });
    assert!(resp.is_applied(), "{resp:?}");
    let entry = &w.state.cases[&cp.case].value;
    assert_eq!(entry.status, CaseStatus::InProgress);
    assert!(entry.plan_broken.is_some());
    assert_eq!(w.state.officers[&officer].bookings, booked);
    assert_eq!(
        w.state
            .inactive_since(&ResourceRef::Officer(officer.clone())),
        Some(now())
    );
}

#[test]
fn a_room_out_of_service_is_neither_planned_nor_free_until_it_is_back() {
    let r = region();
    let mut w = loaded(&r, now());
    let pc = generate::pending_cases(&r, now(), 1, 30, 0, 5).remove(0);
    assert!(w.apply(Command::SubmitCase(pc.case)).is_applied());
    let p = propose(&w.state, now());
    let room = p.cases[0].persons[0]
        .steps
        .iter()
        .find(|s| s.step == Step::Questioning)
        .unwrap()
        .room
        .clone();
    let off = ResourceRef::Room(room.clone());
    assert!(
        w.apply(Command::SetActive {
            resource: off.entity(),
            active: false
        })
        .is_applied()
    );
    // The engine plans around it; the old plan is refused at commit.
    let again = propose(&w.state, now());
    assert!(
        again.cases[0]
            .persons
            .iter()
            .all(|pp| pp.steps.iter().all(|s| s.room != room))
    );
    let resp = w.apply(accept(p.cases.clone(), now(), 1));
    let Response::Rejected { conflicts, .. } = &resp else {
        panic!("{resp:?}")
    };
    assert!(
        conflicts
            .iter()
            .any(|c| matches!(c, Conflict::Rule { rule: Rule::Reference, detail, .. } if detail.contains(room.as_str()))),
        "{conflicts:?}"
    );
    // Availability shows it with no free time.
    let site = w.state.rooms[&room].value.site.clone();
    let a = availability(
        &w.state,
        &r.shifts,
        480,
        Some(&site),
        now(),
        now() + Duration::hours(4),
    )
    .unwrap();
    let free = &a.rooms.iter().find(|x| x.room == room).unwrap().free;
    assert!(free.is_empty(), "{free:?}");
    // Back in service, it is planned with again.
    assert!(
        w.apply(Command::SetActive {
            resource: off.entity(),
            active: true
        })
        .is_applied()
    );
    assert!(w.apply(accept(p.cases, now(), 1)).is_applied());
}

#[test]
fn a_team_in_the_workshop_is_not_booked() {
    let (mut w, _) = one_planned();
    let r = region();
    // Every team of every site away for the day: no team escort is planned.
    for t in &r.escort_teams {
        let resp = w.apply(Command::AddAbsence {
            resource: ResourceRef::Team(t.id.clone()),
            absence: Absence {
                start: now() - Duration::hours(1),
                end: now() + Duration::hours(30),
                kind: AbsenceKind::Maintenance,
                note: String::new(),
            },
        });
        assert!(resp.is_applied(), "{resp:?}");
    }
    let pc = generate::pending_cases(&r, now(), 3, 30, 0, 9);
    for c in pc {
        let mut case = c.case;
        case.id = casehub_model::CaseId::new(format!("W-{}", case.id)).unwrap();
        assert!(w.apply(Command::SubmitCase(case)).is_applied());
    }
    let p = propose(&w.state, now());
    for cp in &p.cases {
        assert_eq!(cp.escort.team, None, "{}", cp.case);
    }
}

#[test]
fn bad_absences_are_refused_by_field() {
    let (mut w, cp) = one_planned();
    let officer = cp.persons[0].questioning_officers[0].clone();
    let field_of = |r: &Response| match r {
        Response::Rejected { conflicts, .. } => match &conflicts[0] {
            Conflict::Invalid { field, .. } => field.clone(),
            other => format!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    let r = w.apply(leave(&officer, now(), now()));
    assert_eq!(field_of(&r), "absence.end");
    let room = cp.persons[0].steps[0].room.clone();
    let r = w.apply(Command::AddAbsence {
        resource: ResourceRef::Room(room),
        absence: Absence {
            start: now(),
            end: now() + Duration::hours(1),
            kind: AbsenceKind::Sickness,
            note: String::new(),
        },
    });
    // A room is away for maintenance only.
    assert_eq!(field_of(&r), "resource");
    let mut long = leave(&officer, now(), now() + Duration::hours(1));
    if let Command::AddAbsence { absence, .. } = &mut long {
        absence.note = "x".repeat(201);
    }
    assert_eq!(field_of(&w.apply(long)), "absence.note");
    let r = w.apply(leave(
        &OfficerId::new("nobody").unwrap(),
        now(),
        now() + Duration::hours(1),
    ));
    assert!(
        matches!(&r, Response::Rejected { conflicts, .. } if matches!(conflicts[0], Conflict::Unknown { .. })),
        "{r:?}"
    );
    let r = w.apply(Command::RemoveAbsence {
        resource: ResourceRef::Officer(officer),
        start: now(),
    });
    assert_eq!(field_of(&r), "start");
}

#[test]
fn a_room_closed_for_maintenance_is_planned_around_and_refused_at_commit() {
    let r = region();
    let mut w = loaded(&r, now());
    let pc = generate::pending_cases(&r, now(), 1, 30, 0, 5).remove(0);
    assert!(w.apply(Command::SubmitCase(pc.case)).is_applied());
    let p = propose(&w.state, now());
    let q = p.cases[0].persons[0]
        .steps
        .iter()
        .find(|s| s.step == Step::Questioning)
        .unwrap()
        .clone();
    let room = ResourceRef::Room(q.room.clone());
    // Closed over the questioning, with a note in Chinese.
    let closure = Command::AddAbsence {
        resource: room.clone(),
        absence: Absence {
            start: q.start - Duration::minutes(30),
            end: q.end + Duration::minutes(30),
            kind: AbsenceKind::Maintenance,
            note: "更换录音设备".into(),
        },
    };
    // A room is away for maintenance only.
    let Command::AddAbsence { absence, .. } = &closure else {
        unreachable!()
    };
    let leave = w.apply(Command::AddAbsence {
        resource: room.clone(),
        absence: Absence {
            kind: AbsenceKind::Leave,
            ..absence.clone()
        },
    });
    assert!(!leave.is_applied(), "{leave:?}");
    assert!(format!("{leave:?}").contains("maintenance"), "{leave:?}");
    let resp = w.apply(closure.clone());
    assert!(resp.is_applied(), "{resp:?}");

    // The old plan is refused at commit, naming the closure.
    let resp = w.apply(accept(p.cases.clone(), now(), 1));
    let Response::Rejected { conflicts, .. } = &resp else {
        panic!("{resp:?}")
    };
    assert!(
        conflicts.iter().any(|c| matches!(c,
            Conflict::Rule { rule: Rule::RoomDoubleBooked, detail, .. }
                if detail.contains("closed") && detail.contains("更换录音设备"))),
        "{conflicts:?}"
    );
    // The engine keeps out of the room while it is closed, and commits.
    let again = propose(&w.state, now());
    assert_eq!(again.cases.len(), 1, "{:?}", again.blocked);
    for pp in &again.cases[0].persons {
        for s in pp.steps.iter().filter(|s| s.room == q.room) {
            assert!(
                s.end <= absence.start || absence.end <= s.start,
                "{} used while closed: {s:?}",
                q.room
            );
        }
    }
    assert!(w.apply(accept(again.cases, now(), 1)).is_applied());
    // Availability shows no free time in the closure.
    let site = w.state.rooms[&q.room].value.site.clone();
    let a = availability(
        &w.state,
        &r.shifts,
        480,
        Some(&site),
        absence.start,
        absence.end,
    )
    .unwrap();
    let free = &a.rooms.iter().find(|x| x.room == q.room).unwrap().free;
    assert!(free.is_empty(), "{free:?}");
}

#[test]
fn a_site_out_of_service_takes_its_rooms_teams_and_officers_and_a_station_sends_no_case() {
    let (mut w, cp) = one_planned();
    let site = cp.site.clone();
    let resp = w.apply(Command::SetActive {
        resource: EntityRef::Site(site.clone()),
        active: false,
    });
    assert!(resp.is_applied(), "{resp:?}");
    // The accepted plan went back to planning, saying why.
    let entry = &w.state.cases[&cp.case].value;
    assert_eq!(entry.status, CaseStatus::Submitted);
    assert!(
        entry
            .plan_broken
            .as_ref()
            .is_some_and(|b| b.reason.contains(site.as_str())),
        "{:?}",
        entry.plan_broken
    );
    // Nothing at the site is planned with or free.
    let p = propose(&w.state, now());
    assert!(p.cases.iter().all(|c| c.site != site), "{:?}", p.cases);
    for (id, room) in &w.state.rooms {
        if room.value.site == site {
            assert!(
                w.state
                    .out_of_service_since(&ResourceRef::Room(id.clone()))
                    .is_some()
            );
        }
    }
    let a = availability(
        &w.state,
        &region().shifts,
        480,
        Some(&site),
        now(),
        now() + Duration::hours(4),
    )
    .unwrap();
    assert!(a.rooms.iter().all(|r| r.free.is_empty()));
    assert!(a.teams.iter().all(|t| t.free.is_empty()));
    // An upsert of the site keeps it out of service; back in service, it is
    // planned with again.
    let again = w.apply(Command::UpsertSite(w.state.sites[&site].value.clone()));
    assert!(again.is_applied(), "{again:?}");
    assert!(w.state.sites[&site].inactive_since.is_some());
    assert!(
        w.apply(Command::SetActive {
            resource: EntityRef::Site(site.clone()),
            active: true,
        })
        .is_applied()
    );
    assert!(
        w.state
            .out_of_service_since(&ResourceRef::Team(
                w.state
                    .teams
                    .keys()
                    .find(|t| w.state.teams[*t].value.site == site)
                    .unwrap()
                    .clone()
            ))
            .is_none()
    );

    // A station out of service sends no case; back, it does.
    let station = w.state.cases[&cp.case].value.case.origin.clone();
    let resp = w.apply(Command::SetActive {
        resource: EntityRef::Station(station.clone()),
        active: false,
    });
    assert!(resp.is_applied(), "{resp:?}");
    let mut case = w.state.cases[&cp.case].value.case.clone();
    case.id = casehub_model::CaseId::new("C-NEW").unwrap();
    let refused = w.apply(Command::SubmitCase(case.clone()));
    assert!(
        format!("{refused:?}").contains("out of service"),
        "{refused:?}"
    );
    assert!(
        w.apply(Command::SetActive {
            resource: EntityRef::Station(station),
            active: true,
        })
        .is_applied()
    );
    assert!(w.apply(Command::SubmitCase(case)).is_applied());
    // A case is not taken out of service.
    let resp = w.apply(Command::SetActive {
        resource: EntityRef::Case(cp.case.clone()),
        active: false,
    });
    assert!(!resp.is_applied());
}
