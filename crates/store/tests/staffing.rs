//! Who is where now: a station's officers present against its minimum,
//! and the escorts under way (a team, and a station's own officers).

mod common;

use casehub_model::{
    DailyWindow, Gender, Officer, OfficerId, Post, Qualification, Shift, ShiftId, StationId,
};
use casehub_store::staffing::{escorts, stations};
use casehub_store::{Booking, Command, PlannedBooking, ResourceRef, SchedulingState};
use common::*;

fn station_officer(id: &str, shift: &str) -> Officer {
    Officer::new(
        OfficerId::new(id).unwrap(),
        None,
        Gender::Male,
        Post::Station(StationId::new("st1").unwrap()),
        vec![Qualification::Questioning, Qualification::Escort],
        ShiftId::new(shift).unwrap(),
    )
    .unwrap()
}

fn booking(resource: ResourceRef, case: &str, from: i64, to: i64) -> PlannedBooking {
    PlannedBooking {
        resource,
        booking: Booking {
            case: casehub_model::CaseId::new(case).unwrap(),
            start: at(from),
            end: at(to),
            person: None,
            step: None,
        },
    }
}

#[test]
fn stations_count_officers_on_shift_and_out_and_escorts_are_found() {
    let mut s = SchedulingState::with_rules(5);
    let mut commands = setup_commands();
    // Three station officers on the day shift, one on the night shift.
    for (id, shift) in [
        ("s-a", "day"),
        ("s-b", "day"),
        ("s-c", "day"),
        ("s-n", "night"),
    ] {
        commands.push(Command::UpsertOfficer(station_officer(id, shift)));
    }
    // c1: team t1 out from minute 0 to 60; c2: station officers s-a and s-b
    // out from minute 10 to 90.
    let officer = |id: &str| ResourceRef::Officer(OfficerId::new(id).unwrap());
    commands.push(Command::CommitPlan {
        bookings: vec![
            booking(
                ResourceRef::Team(casehub_model::TeamId::new("t1").unwrap()),
                "c1",
                0,
                60,
            ),
            room_booking("q1", "c1", 60, 120),
            booking(officer("s-a"), "c2", 10, 90),
            booking(officer("s-b"), "c2", 10, 90),
            room_booking("q2", "c2", 40, 90),
        ],
        expected_versions: vec![],
    });
    for (i, c) in commands.into_iter().enumerate() {
        let r = s.apply(i as u64 + 1, &req(i as u64 + 1, c));
        assert!(r.is_applied(), "{r:?}");
    }
    let shifts = vec![
        Shift {
            id: ShiftId::new("day").unwrap(),
            window: "08:00-20:00".parse::<DailyWindow>().unwrap(),
        },
        Shift {
            id: ShiftId::new("night").unwrap(),
            window: "20:00-08:00".parse::<DailyWindow>().unwrap(),
        },
    ];
    // t0 is 08:00 UTC; the region is at UTC here.
    let now = at(20);
    let st = stations(&s, &shifts, 0, now);
    assert_eq!(st.len(), 1);
    assert_eq!((st[0].on_duty, st[0].away, st[0].min_on_duty), (3, 2, 2));
    assert_eq!(st[0].present(), 1);
    assert!(st[0].below_minimum());
    // Before the station officers left: at the minimum is not below it.
    let before = &stations(&s, &shifts, 0, at(5))[0];
    assert_eq!((before.on_duty, before.away), (3, 0));
    assert!(!before.below_minimum());

    let mut e = escorts(&s, now);
    e.sort_by(|a, b| a.case.cmp(&b.case));
    assert_eq!(e.len(), 2, "{e:?}");
    assert_eq!(e[0].case.as_str(), "c1");
    assert_eq!(e[0].team.as_ref().map(|t| t.as_str()), Some("t1"));
    assert_eq!(e[0].officers, 2);
    assert_eq!(e[0].site.as_ref().map(|s| s.as_str()), Some("s1"));
    assert_eq!(e[1].case.as_str(), "c2");
    assert_eq!(e[1].team, None);
    assert_eq!(e[1].officers, 2);
    assert_eq!(e[1].station.as_str(), "st1");
    // After the team is back, only the station's officers are out.
    assert_eq!(escorts(&s, at(70)).len(), 1);
    assert!(escorts(&s, at(200)).is_empty());
}
