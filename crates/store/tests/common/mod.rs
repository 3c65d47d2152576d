//! Fixtures shared by the integration tests.
#![allow(dead_code)]

pub mod region;

use casehub_model::{
    Case, CaseId, DailyWindow, EscortTeam, Gender, LegalCategory, Location, Officer, OfficerId,
    Person, PersonId, Post, Qualification, Room, RoomId, RoomKind, ShiftId, Site, SiteId, SiteKind,
    Station, StationId, TeamId,
};
use casehub_store::{Booking, Command, PlannedBooking, Request, ResourceRef};
use chrono::{DateTime, Duration, TimeZone, Utc};

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap()
}

pub fn at(minutes: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(minutes)
}

pub fn room(id: &str, kind: RoomKind, capacity: u32) -> Room {
    Room::new(RoomId::new(id).unwrap(), kind, Some(capacity), true, false).unwrap()
}

/// Site `s1`: intake `in1`, holding `h1` (capacity 2), interrogation `q1`, `q2`.
pub fn site() -> Site {
    Site::new(
        SiteId::new("s1").unwrap(),
        "Main".into(),
        SiteKind::MainCenter,
        Location::new(30.0, 120.0).unwrap(),
        DailyWindow::ALWAYS,
        vec![
            room("in1", RoomKind::Intake, 1),
            room("h1", RoomKind::Holding, 2),
            room("q1", RoomKind::Interrogation, 1),
            room("q2", RoomKind::Interrogation, 1),
        ],
    )
    .unwrap()
}

pub fn station() -> Station {
    serde_json::from_value(serde_json::json!({
        "id": "st1", "location": {"lat": 30.1, "lon": 120.1}, "min_on_duty": 2
    }))
    .unwrap()
}

pub fn officer(id: &str) -> Officer {
    Officer::new(
        OfficerId::new(id).unwrap(),
        None,
        Gender::Female,
        Post::Site(SiteId::new("s1").unwrap()),
        vec![Qualification::Questioning, Qualification::Escort],
        ShiftId::new("day").unwrap(),
    )
    .unwrap()
}

pub fn team() -> EscortTeam {
    EscortTeam::new(
        TeamId::new("t1").unwrap(),
        SiteId::new("s1").unwrap(),
        5,
        vec![OfficerId::new("o1").unwrap(), OfficerId::new("o2").unwrap()],
    )
    .unwrap()
}

pub fn case(id: &str) -> Case {
    Case::new(
        CaseId::new(id).unwrap(),
        StationId::new("st1").unwrap(),
        t0(),
        LegalCategory::CriminalSummons,
        vec![Person {
            id: PersonId::new("p1").unwrap(),
            gender: Gender::Male,
            juvenile: false,
            co_suspect_group: None,
        }],
    )
    .unwrap()
}

pub fn req(request_id: u64, command: Command) -> Request {
    Request {
        client_id: "test".into(),
        request_id,
        actor: "operator-1".into(),
        site: Some(SiteId::new("s1").unwrap()),
        time: t0(),
        command,
        trace: None,
    }
}

/// The commands that set up site s1, station st1, officers o1–o3, team t1
/// and cases c1–c3.
pub fn setup_commands() -> Vec<Command> {
    let mut v = vec![
        Command::UpsertSite(site()),
        Command::UpsertStation(station()),
        Command::UpsertOfficer(officer("o1")),
        Command::UpsertOfficer(officer("o2")),
        Command::UpsertOfficer(officer("o3")),
        Command::UpsertTeam(team()),
    ];
    for c in ["c1", "c2", "c3"] {
        v.push(Command::SubmitCase(case(c)));
    }
    v
}

pub fn room_booking(room: &str, case: &str, from: i64, to: i64) -> PlannedBooking {
    PlannedBooking {
        resource: ResourceRef::Room(RoomId::new(room).unwrap()),
        booking: Booking {
            case: CaseId::new(case).unwrap(),
            start: at(from),
            end: at(to),
            person: None,
            step: None,
        },
    }
}

pub fn officer_booking(officer: &str, case: &str, from: i64, to: i64) -> PlannedBooking {
    PlannedBooking {
        resource: ResourceRef::Officer(OfficerId::new(officer).unwrap()),
        booking: Booking {
            case: CaseId::new(case).unwrap(),
            start: at(from),
            end: at(to),
            person: None,
            step: None,
        },
    }
}
