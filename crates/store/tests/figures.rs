//! A day's figures: limits kept, near misses and breaches, the waits
//! before questioning, and the escorts, in all and per site.

mod common;

use casehub_model::{CaseId, PersonId, Step, TeamId};
use casehub_store::figures::figures;
use casehub_store::{Booking, Command, PlannedBooking, ResourceRef, SchedulingState};
use chrono::Duration;
use common::*;

fn at_req(n: u64, minutes: i64, command: Command) -> casehub_store::Request {
    let mut r = req(n, command);
    r.time = at(minutes);
    r
}

#[test]
fn a_days_figures_count_limits_near_misses_breaches_waits_and_escorts() {
    let mut s = SchedulingState::with_rules(5);
    let mut n = 0u64;
    let mut apply = |s: &mut SchedulingState, minutes: i64, c: Command| {
        n += 1;
        let r = s.apply(n, &at_req(n, minutes, c));
        assert!(r.is_applied(), "{r:?}");
    };
    for c in setup_commands() {
        apply(&mut s, 0, c);
    }
    let case = |id: &str| CaseId::new(id).unwrap();
    let p1 = PersonId::new("p1").unwrap();
    // c1 at site s1, escorted by team t1 from minute 10.
    apply(
        &mut s,
        0,
        Command::CommitPlan {
            bookings: vec![
                room_booking("q1", "c1", 30, 60),
                PlannedBooking {
                    resource: ResourceRef::Team(TeamId::new("t1").unwrap()),
                    booking: Booking {
                        case: case("c1"),
                        start: at(10),
                        end: at(30),
                        person: None,
                        step: None,
                    },
                },
            ],
            expected_versions: vec![],
        },
    );
    // c1's person: intake at 0, questioning at 30 (a wait of 30 minutes).
    for (m, cmd) in [
        (
            0,
            Command::StartStep {
                case: case("c1"),
                person: p1.clone(),
                step: Step::Intake,
            },
        ),
        (
            5,
            Command::CompleteStep {
                case: case("c1"),
                person: p1.clone(),
                step: Step::Intake,
            },
        ),
        (
            30,
            Command::StartStep {
                case: case("c1"),
                person: p1.clone(),
                step: Step::Questioning,
            },
        ),
        (
            60,
            Command::CompleteStep {
                case: case("c1"),
                person: p1.clone(),
                step: Step::Questioning,
            },
        ),
    ] {
        apply(&mut s, m, cmd);
    }
    // c1 exits after an hour (kept); c2 40 minutes before its 12-hour
    // limit (a near miss); c3 stays open past it (a breach).
    apply(
        &mut s,
        60,
        Command::ExitCase {
            case: case("c1"),
            disposition: None,
        },
    );
    apply(
        &mut s,
        12 * 60 - 40,
        Command::ExitCase {
            case: case("c2"),
            disposition: None,
        },
    );

    // Before c3's limit, no breach yet.
    let early = figures(&s, at(0), at(0) + Duration::days(1), at(11 * 60));
    assert_eq!(early[&None].breaches, 0);
    let day = figures(&s, at(0), at(0) + Duration::days(1), at(24 * 60));
    let all = &day[&None];
    assert_eq!(all.exited, 2);
    assert_eq!(all.limits_kept, 2);
    assert_eq!(all.near_misses, 1);
    assert_eq!(all.breaches, 1, "c3 open past its limit");
    assert_eq!(all.waits_min, vec![30]);
    assert_eq!(all.wait_quantile(0.5), 30);
    assert_eq!((all.team_escorts, all.station_escorts), (1, 0));
    // Per site: only c1 is booked at s1.
    let s1 = &day[&Some(casehub_model::SiteId::new("s1").unwrap())];
    assert_eq!((s1.exited, s1.team_escorts), (1, 1));
    // Another day has none of it.
    let next = figures(
        &s,
        at(0) + Duration::days(2),
        at(0) + Duration::days(3),
        at(0) + Duration::days(3),
    );
    let all = next.get(&None).cloned().unwrap_or_default();
    assert_eq!((all.exited, all.team_escorts), (0, 0));
    assert_eq!(all.breaches, 0, "c3 was past its limit before this day");
}
