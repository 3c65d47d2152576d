//! Hand-made cases, one or more per rule: the engine's plans keep each rule
//! (checked directly here, and by the independent validator), and a case no
//! plan can serve is reported with the rule that blocks it.

use chrono::{DateTime, Duration, Utc};

use casehub_model::scenario::parse_region;
use casehub_model::{
    Case, CaseId, Gender, GroupId, LegalCategory, Person, PersonId, Region, RoomKind, StationId,
    Step,
};
use casehub_planning::{
    EscortMode, Method, PendingCase, Plan, Rule, Settings, State, plan, validate,
};
use casehub_travel::{GreatCircle, TravelTable};

const REGION: &str = r#"
format_version = 1
[region]
name = "Test county"
utc_offset_min = 480

[travel]
source = "great_circle"
detour_factor = 1.3
speed_kmh = 50.0

[[shifts]]
id = "all"
window = "00:00-24:00"

[[sites]]
id = "MC"
kind = "main_center"
location = { lat = 30.0, lon = 110.0 }
open_hours = "OPEN_HOURS"
rooms = [
  { id = "in", kind = "intake" },
  { id = "se", kind = "search" },
  { id = "info", kind = "information_collection" },
  { id = "h1", kind = "holding", capacity = 2 },
  { id = "h2", kind = "holding", capacity = 2 },
  { id = "hj", kind = "holding", capacity = 1, juvenile_suitable = true },
  { id = "int", kind = "interrogation", juvenile_suitable = true },
  { id = "inq", kind = "inquiry" },
]

[[stations]]
id = "FAR"
location = { lat = 30.5, lon = 110.3 }
min_on_duty = 2
rural = true

[[stations]]
id = "NEAR"
location = { lat = 30.02, lon = 110.02 }
min_on_duty = 2

[[officers]]
id = "far-1"
gender = "male"
station = "FAR"
qualifications = ["questioning", "escort"]
shift = "all"
[[officers]]
id = "far-2"
gender = "female"
station = "FAR"
qualifications = ["questioning", "escort"]
shift = "all"
[[officers]]
id = "far-3"
gender = "male"
station = "FAR"
qualifications = ["questioning", "escort"]
shift = "all"

[[officers]]
id = "near-1"
gender = "male"
station = "NEAR"
qualifications = ["questioning", "escort"]
shift = "all"
[[officers]]
id = "near-2"
gender = "male"
station = "NEAR"
qualifications = ["questioning", "escort"]
shift = "all"
[[officers]]
id = "near-3"
gender = "female"
station = "NEAR"
qualifications = ["questioning", "escort"]
shift = "all"
[[officers]]
id = "near-4"
gender = "male"
station = "NEAR"
qualifications = ["questioning", "escort"]
shift = "all"
[[officers]]
id = "near-5"
gender = "male"
station = "NEAR"
qualifications = ["questioning", "escort"]
shift = "all"
[[officers]]
id = "near-6"
gender = "male"
station = "NEAR"
qualifications = ["questioning", "escort"]
shift = "all"

[[officers]]
id = "s-m"
gender = "male"
site = "MC"
qualifications = ["search", "intake"]
shift = "all"
[[officers]]
id = "s-f"
gender = "female"
site = "MC"
qualifications = ["search", "intake"]
shift = "all"
[[officers]]
id = "i-1"
gender = "male"
site = "MC"
qualifications = ["questioning"]
shift = "all"
[[officers]]
id = "i-2"
gender = "male"
site = "MC"
qualifications = ["questioning"]
shift = "all"
[[officers]]
id = "i-3"
gender = "female"
site = "MC"
qualifications = ["questioning", "juvenile"]
shift = "all"
[[officers]]
id = "i-4"
gender = "male"
site = "MC"
qualifications = ["questioning"]
shift = "all"
TEAM

[caseload]
hour_profile = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
female_share = 0.2
juvenile_share = 0.1
group_share = 0.1
group_size = { min = 2, max = 3 }
[caseload.mix]
criminal_summons = 1.0
[caseload.cases_per_day]
FAR = 1.0
NEAR = 3.0
"#;

const TEAM: &str = r#"
[[officers]]
id = "e-1"
gender = "male"
site = "MC"
qualifications = ["escort"]
shift = "all"
[[officers]]
id = "e-2"
gender = "female"
site = "MC"
qualifications = ["escort"]
shift = "all"
[[escort_teams]]
id = "team"
site = "MC"
seats = 6
members = ["e-1", "e-2"]
"#;

fn region(open_hours: &str, with_team: bool) -> Region {
    let text = REGION
        .replace("OPEN_HOURS", open_hours)
        .replace("TEAM", if with_team { TEAM } else { "" });
    parse_region("test.toml", &text).unwrap_or_else(|e| panic!("{e}"))
}

/// 10:00 local.
fn now() -> DateTime<Utc> {
    "2026-11-27T02:00:00Z".parse().unwrap()
}

fn person(id: &str, gender: Gender, juvenile: bool, group: Option<&str>) -> Person {
    Person {
        id: PersonId::new(id).unwrap(),
        gender,
        juvenile,
        co_suspect_group: group.map(|g| GroupId::new(g).unwrap()),
    }
}

fn case(
    id: &str,
    station: &str,
    ago_min: i64,
    category: LegalCategory,
    persons: Vec<Person>,
) -> PendingCase {
    let c = Case::new(
        CaseId::new(id).unwrap(),
        StationId::new(station).unwrap(),
        now() - Duration::minutes(ago_min),
        category,
        persons,
    )
    .unwrap();
    PendingCase {
        case: c,
        pinned: None,
        restriction: None,
    }
}

fn state(region: Region, pending: Vec<PendingCase>) -> State {
    let travel = TravelTable::for_region(&GreatCircle::new(1.3, 50.0).unwrap(), &region).unwrap();
    State {
        region,
        travel,
        now: now(),
        room_bookings: vec![],
        room_closures: Vec::new(),
        officer_commitments: vec![],
        team_commitments: vec![],
        pending,
    }
}

/// Plan with both solvers; every plan must pass the validator.
fn both(s: &State) -> Vec<Plan> {
    [Method::Greedy, Method::Milp]
        .into_iter()
        .map(|method| {
            let p = plan(
                s,
                &Settings {
                    method,
                    ..Settings::default()
                },
            )
            .unwrap();
            let v = validate(s, &p);
            assert!(
                v.is_empty(),
                "{} plan breaks rules: {v:#?}",
                p.solver.method
            );
            assert_eq!(p.cases.len() + p.blocked.len(), s.pending.len());
            p
        })
        .collect()
}

fn gender_of(s: &State, officer: &str) -> Gender {
    s.region.officer(officer).unwrap().gender
}

#[test]
fn a_woman_is_escorted_with_a_woman_and_searched_by_a_woman() {
    let s = state(
        region("00:00-24:00", true),
        vec![case(
            "C1",
            "NEAR",
            10,
            LegalCategory::CriminalSummons,
            vec![person("P1", Gender::Female, false, None)],
        )],
    );
    for p in both(&s) {
        let c = &p.cases[0];
        assert!(
            c.escort
                .officers
                .iter()
                .any(|o| gender_of(&s, o.as_str()) == Gender::Female),
            "{:?}",
            c.escort
        );
        let search = c.persons[0]
            .steps
            .iter()
            .find(|b| b.step == Step::Search)
            .unwrap();
        assert!(
            !search.staff.is_empty()
                && search
                    .staff
                    .iter()
                    .all(|o| gender_of(&s, o.as_str()) == Gender::Female)
        );
    }
}

#[test]
fn a_small_station_is_never_stripped_below_its_minimum() {
    // FAR has 3 officers and must keep 2: its own escort (2) is impossible.
    let s = state(
        region("00:00-24:00", true),
        vec![case(
            "C1",
            "FAR",
            10,
            LegalCategory::CriminalSummons,
            vec![person("P1", Gender::Male, false, None)],
        )],
    );
    for p in both(&s) {
        assert_eq!(
            p.cases[0].escort.mode,
            EscortMode::Team,
            "{}",
            p.solver.method
        );
    }
    // Without an escort team nobody can bring the person in: blocked by the station minimum.
    let s = state(region("00:00-24:00", false), s.pending.clone());
    for p in both(&s) {
        assert!(p.cases.is_empty());
        assert_eq!(
            p.blocked[0].rule,
            Rule::StationMinimum,
            "{}",
            p.blocked[0].detail
        );
    }
}

#[test]
fn interrogation_has_two_questioners_and_a_female_juvenile_a_woman_among_them() {
    let s = state(
        region("00:00-24:00", true),
        vec![case(
            "C1",
            "FAR",
            10,
            LegalCategory::CriminalSummons,
            vec![person("P1", Gender::Female, true, None)],
        )],
    );
    for p in both(&s) {
        let q = &p.cases[0].persons[0].questioning_officers;
        assert!(q.len() >= 2);
        assert!(
            q.iter()
                .any(|o| gender_of(&s, o.as_str()) == Gender::Female)
        );
        // A juvenile is held only in a juvenile-suitable room.
        for b in p.cases[0].persons[0]
            .steps
            .iter()
            .filter(|b| b.step == Step::Holding)
        {
            assert_eq!(b.room.as_str(), "hj");
        }
    }
}

#[test]
fn co_suspects_are_never_held_together_and_juveniles_never_with_adults() {
    let group = vec![
        person("A", Gender::Male, false, Some("G")),
        person("B", Gender::Male, false, Some("G")),
        person("C", Gender::Male, false, Some("G")),
    ];
    // One room per step: the third of the group waits an hour before
    // intake, which the policy here allows, and the one team takes the
    // group in one vehicle (those rules are not the point).
    let mut r = region("00:00-24:00", true);
    r.policy.max_intake_wait_min = 120;
    r.policy.separate_vehicles = false;
    let s = state(
        r,
        vec![
            case("C1", "NEAR", 5, LegalCategory::CriminalSummons, group),
            case(
                "C2",
                "NEAR",
                5,
                LegalCategory::CriminalSummons,
                vec![person("J", Gender::Male, true, None)],
            ),
        ],
    );
    for p in both(&s) {
        let holds: Vec<_> = p
            .cases
            .iter()
            .flat_map(|c| c.persons.iter().map(move |pp| (c, pp)))
            .flat_map(|(c, pp)| {
                pp.steps
                    .iter()
                    .filter(|b| b.step == Step::Holding)
                    .map(move |b| (c.case.clone(), pp.person.clone(), b))
            })
            .collect();
        for (i, a) in holds.iter().enumerate() {
            for b in &holds[i + 1..] {
                let overlap = a.2.start < b.2.end && b.2.start < a.2.end;
                if overlap && a.2.room == b.2.room {
                    assert_ne!(
                        a.0, b.0,
                        "co-suspects {} and {} share {}",
                        a.1, b.1, a.2.room
                    );
                }
            }
        }
        // Each co-suspect is questioned at its own time in the one interrogation room.
        let c1 = p
            .cases
            .iter()
            .find(|c| c.case.as_str() == "C1")
            .unwrap_or_else(|| panic!("C1 blocked: {:?}", p.blocked));
        let qs: Vec<_> = c1
            .persons
            .iter()
            .map(|pp| pp.steps.last().unwrap())
            .collect();
        for (i, a) in qs.iter().enumerate() {
            for b in &qs[i + 1..] {
                assert!(a.end <= b.start || b.end <= a.start || a.room != b.room);
            }
        }
    }
}

#[test]
fn rooms_are_never_double_booked() {
    // Three criminal cases at once, one interrogation room.
    let pending = (1..=3)
        .map(|i| {
            case(
                &format!("C{i}"),
                "NEAR",
                5,
                LegalCategory::CriminalSummonsSerious,
                vec![person(&format!("P{i}"), Gender::Male, false, None)],
            )
        })
        .collect();
    let s = state(region("00:00-24:00", true), pending);
    for p in both(&s) {
        assert_eq!(p.cases.len(), 3, "{:?}", p.blocked);
        let mut q: Vec<_> = p
            .cases
            .iter()
            .map(|c| c.persons[0].steps.last().unwrap())
            .collect();
        q.sort_by_key(|b| b.start);
        assert!(q.iter().all(|b| b.room.as_str() == "int"));
        assert!(
            q.windows(2).all(|w| w[0].end <= w[1].start),
            "overlapping questioning"
        );
    }
}

#[test]
fn rooms_are_used_only_in_open_hours_and_for_their_kind() {
    // Open 08:00–18:00 local; it is 10:00.
    let s = state(
        region("08:00-18:00", true),
        vec![case(
            "C1",
            "FAR",
            0,
            LegalCategory::AdministrativeQuestioningDetention,
            vec![person("P1", Gender::Male, false, None)],
        )],
    );
    for p in both(&s) {
        for b in &p.cases[0].persons[0].steps {
            let local = b.start + Duration::minutes(480);
            let h = local.format("%H").to_string().parse::<u32>().unwrap();
            assert!((8..18).contains(&h), "{:?} starts at {h}:00 local", b.step);
            let room = s.region.sites[0]
                .rooms
                .iter()
                .find(|r| r.id == b.room)
                .unwrap();
            assert_eq!(
                room.kind,
                b.step
                    .room_kind(LegalCategory::AdministrativeQuestioningDetention)
            );
        }
        assert_eq!(
            s.region.sites[0]
                .rooms
                .iter()
                .find(|r| r.id == p.cases[0].persons[0].steps.last().unwrap().room)
                .unwrap()
                .kind,
            RoomKind::Inquiry
        );
    }
}

#[test]
fn the_legal_clock_counts_the_escort() {
    // Detained 11 h ago under a 12 h summons at the far station: the drive
    // there and back leaves no time to question.
    let s = state(
        region("00:00-24:00", true),
        vec![case(
            "C1",
            "FAR",
            11 * 60 + 15,
            LegalCategory::CriminalSummons,
            vec![person("P1", Gender::Male, false, None)],
        )],
    );
    for p in both(&s) {
        assert!(p.cases.is_empty());
        assert_eq!(
            p.blocked[0].rule,
            Rule::LegalLimit,
            "{}",
            p.blocked[0].detail
        );
    }
    // The same from the near station fits, with the deadline and slack reported.
    let s = state(
        region("00:00-24:00", true),
        vec![case(
            "C1",
            "NEAR",
            8 * 60,
            LegalCategory::CriminalSummons,
            vec![person("P1", Gender::Male, false, None)],
        )],
    );
    for p in both(&s) {
        let c = &p.cases[0];
        assert_eq!(
            c.deadline,
            s.pending[0].case.clock_started_at + Duration::hours(12)
        );
        assert!(c.slack_min >= 0);
        assert_eq!(
            c.slack_min,
            (c.deadline - c.persons[0].steps.last().unwrap().end).num_minutes()
        );
    }
}

#[test]
fn one_escort_team_makes_one_trip_at_a_time() {
    // Two far cases at once: FAR cannot spare its officers, so both need the one team.
    let pending = vec![
        case(
            "C1",
            "FAR",
            5,
            LegalCategory::CriminalSummonsSerious,
            vec![person("P1", Gender::Male, false, None)],
        ),
        case(
            "C2",
            "FAR",
            5,
            LegalCategory::CriminalSummonsSerious,
            vec![person("P2", Gender::Male, false, None)],
        ),
    ];
    let s = state(region("00:00-24:00", true), pending);
    for p in both(&s) {
        assert_eq!(p.cases.len(), 2, "{:?}", p.blocked);
        let mut trips: Vec<_> = p
            .cases
            .iter()
            .map(|c| (c.escort.depart, c.escort.back, c.escort.team.clone()))
            .collect();
        trips.sort();
        assert!(
            trips
                .iter()
                .all(|t| t.2.as_ref().is_some_and(|t| t.as_str() == "team"))
        );
        assert!(trips[0].1 <= trips[1].0, "team trips overlap: {trips:?}");
    }
}

#[test]
fn holding_rooms_never_exceed_their_capacity() {
    // Seven adults at once: intake spaces them out, and those waiting for the
    // one interrogation room fill the two holding rooms of two places each.
    let pending = (1..=7)
        .map(|i| {
            case(
                &format!("C{i}"),
                "NEAR",
                5,
                LegalCategory::CriminalSummonsSerious,
                vec![person(&format!("P{i}"), Gender::Male, false, None)],
            )
        })
        .collect();
    let s = state(region("00:00-24:00", true), pending);
    for p in both(&s) {
        let stays: Vec<_> = p
            .cases
            .iter()
            .flat_map(|c| c.persons.iter())
            .flat_map(|pp| pp.steps.iter())
            .filter(|b| b.step == Step::Holding)
            .collect();
        for b in &stays {
            let at_once = stays
                .iter()
                .filter(|o| o.room == b.room && o.start <= b.start && b.start < o.end)
                .count();
            let cap = s.region.sites[0]
                .rooms
                .iter()
                .find(|r| r.id == b.room)
                .unwrap()
                .capacity as usize;
            assert!(at_once <= cap, "{} holds {at_once} at {}", b.room, b.start);
        }
    }
}

#[test]
fn times_with_fractions_of_a_second_round_safely() {
    // `now` half a second past a slot boundary, and an existing booking that
    // ends half a second past one: the plan must start after both.
    let mut s = state(
        region("00:00-24:00", true),
        vec![case(
            "C1",
            "NEAR",
            5,
            LegalCategory::CriminalSummons,
            vec![person("P1", Gender::Male, false, None)],
        )],
    );
    s.now += Duration::milliseconds(500);
    s.room_bookings.push(casehub_planning::RoomBooking {
        room: casehub_model::RoomId::new("in").unwrap(),
        case: CaseId::new("C0").unwrap(),
        person: PersonId::new("P0").unwrap(),
        juvenile: false,
        group: None,
        start: now() - Duration::minutes(30),
        end: now() + Duration::minutes(15) + Duration::milliseconds(500),
    });
    for p in both(&s) {
        assert_eq!(p.cases.len(), 1);
        assert!(p.cases[0].escort.depart >= s.now);
    }
}

#[test]
fn a_team_already_out_takes_its_members_with_it() {
    // The team is out all day, and its female member must not be borrowed as a searcher.
    let mut s = state(
        region("00:00-24:00", true),
        vec![case(
            "C1",
            "NEAR",
            5,
            LegalCategory::CriminalSummons,
            vec![person("P1", Gender::Female, false, None)],
        )],
    );
    s.team_commitments.push(casehub_planning::TeamCommitment {
        team: casehub_model::TeamId::new("team").unwrap(),
        start: now() - Duration::hours(1),
        end: now() + Duration::hours(20),
        note: "out".into(),
    });
    for p in both(&s) {
        for c in &p.cases {
            assert!(c.escort.team.is_none());
            for pp in &c.persons {
                for b in &pp.steps {
                    assert!(
                        !b.staff.iter().any(|o| o.as_str() == "e-2"),
                        "team member used as staff"
                    );
                }
            }
        }
    }
}

#[test]
fn co_suspects_are_questioned_in_turn_when_questioners_are_few() {
    // Two co-suspects from FAR (which cannot spare officers): the team brings
    // them (in one vehicle: the one team could not take two, and separate
    // vehicles are not the point here); 4 questioning officers make 2
    // pairs, so they may be questioned at once, but never by the same
    // officer at the same time.
    let mut r = region("00:00-24:00", true);
    r.policy.separate_vehicles = false;
    let s = state(
        r,
        vec![case(
            "C1",
            "FAR",
            5,
            LegalCategory::AdministrativeQuestioning,
            vec![
                person("A", Gender::Male, false, Some("G")),
                person("B", Gender::Male, false, Some("G")),
            ],
        )],
    );
    for p in both(&s) {
        assert_eq!(p.cases.len(), 1, "{:?}", p.blocked);
    }
}

#[test]
fn delays_in_any_order_give_the_same_options() {
    let s = state(
        region("00:00-24:00", true),
        vec![case(
            "C1",
            "NEAR",
            5,
            LegalCategory::CriminalSummons,
            vec![person("P1", Gender::Male, false, None)],
        )],
    );
    let sorted = Settings {
        method: Method::Greedy,
        start_delays: vec![0, 32],
        ..Settings::default()
    };
    let reversed = Settings {
        method: Method::Greedy,
        start_delays: vec![32, 0, 32],
        ..Settings::default()
    };
    let a = plan(&s, &sorted).unwrap();
    let b = plan(&s, &reversed).unwrap();
    assert_eq!(a.cases.len(), 1);
    assert_eq!(a.cases[0].escort, b.cases[0].escort);
}

#[test]
fn no_caseload_generates_no_cases() {
    let mut r = region("00:00-24:00", true);
    for v in r.caseload.cases_per_day.values_mut() {
        *v = 0.0;
    }
    assert!(casehub_planning::generate::pending_cases(&r, now(), 5, 60, 0, 1).is_empty());
}

#[test]
fn an_override_restricts_the_site_the_escort_and_the_start() {
    use casehub_model::SiteId;
    use casehub_planning::Restriction;
    let near = || {
        case(
            "C1",
            "NEAR",
            5,
            LegalCategory::CriminalSummonsSerious,
            vec![person("P1", Gender::Male, false, None)],
        )
    };
    let free = state(region("00:00-24:00", true), vec![near()]);
    let chosen = both(&free)[0].cases[0].escort.mode;
    let other = match chosen {
        EscortMode::Station => EscortMode::Team,
        EscortMode::Team => EscortMode::Station,
    };
    let later = now() + Duration::hours(2);
    let mut c = near();
    c.restriction = Some(Restriction {
        site: Some(SiteId::new("MC").unwrap()),
        escort: Some(other),
        not_before: Some(later),
    });
    for p in both(&state(region("00:00-24:00", true), vec![c])) {
        assert_eq!(p.cases.len(), 1, "{:?}", p.blocked);
        let e = &p.cases[0].escort;
        assert_eq!(e.mode, other, "the overridden escort");
        assert!(e.depart >= later, "departs {} before {later}", e.depart);
    }
    // A site the case cannot go to blocks it, and says so.
    let mut c = near();
    c.restriction = Some(Restriction {
        site: Some(SiteId::new("ELSEWHERE").unwrap()),
        ..Restriction::default()
    });
    for p in both(&state(region("00:00-24:00", true), vec![c])) {
        assert!(p.cases.is_empty());
        assert!(
            p.blocked[0]
                .detail
                .contains("as overridden (site ELSEWHERE"),
            "{}",
            p.blocked[0].detail
        );
    }
}

/// A juvenile is questioned only in a juvenile-suitable room, with a
/// juvenile-trained officer among the questioners; with none trained, the
/// case is blocked by that rule; the policy may turn the rule off.
#[test]
fn a_juvenile_is_questioned_in_a_suitable_room_with_a_trained_officer() {
    let with_plain_room = |r: Region| {
        let mut r = r;
        let mut plain = r.sites[0]
            .rooms
            .iter()
            .find(|x| x.id.as_str() == "int")
            .unwrap()
            .clone();
        plain.id = casehub_model::RoomId::new("int-plain").unwrap();
        plain.juvenile_suitable = false;
        r.sites[0].rooms.insert(0, plain);
        r
    };
    let cases = || {
        vec![case(
            "C1",
            "NEAR",
            10,
            LegalCategory::CriminalSummons,
            vec![person("P1", Gender::Male, true, None)],
        )]
    };
    let s = state(with_plain_room(region("00:00-24:00", true)), cases());
    for p in both(&s) {
        assert!(p.blocked.is_empty(), "{:?}", p.blocked);
        let pp = &p.cases[0].persons[0];
        let q = pp
            .steps
            .iter()
            .find(|b| b.step == Step::Questioning)
            .unwrap();
        assert_eq!(q.room.as_str(), "int", "{pp:?}");
        // Only i-3 is trained (the stations' officers are not): the site's
        // officers question, with her among them.
        assert_eq!(p.cases[0].escort.mode, EscortMode::Team);
        assert!(
            pp.questioning_officers.iter().any(|o| o.as_str() == "i-3"),
            "{pp:?}"
        );
    }
    let mut untrained = s.clone();
    for o in &mut untrained.region.officers {
        o.qualifications
            .retain(|q| *q != casehub_model::Qualification::Juvenile);
    }
    for p in both(&untrained) {
        assert!(p.cases.is_empty(), "{:?}", p.cases);
        assert_eq!(
            p.blocked[0].rule,
            Rule::JuvenileQuestioning,
            "{:?}",
            p.blocked
        );
    }
    untrained.region.policy.juvenile_questioning = false;
    for p in both(&untrained) {
        assert!(p.blocked.is_empty(), "{:?}", p.blocked);
    }
}

/// Each person goes into intake within the policy's longest wait after
/// arriving: with one room per step, the third of a group would wait an
/// hour, so under a 30-minute policy the group cannot be served at all.
#[test]
fn a_person_waits_no_longer_than_the_policy_before_intake() {
    let group = |n: usize| {
        (0..n)
            .map(|i| person(&format!("P{i}"), Gender::Male, false, Some("G")))
            .collect::<Vec<_>>()
    };
    // (The one team takes the group in one vehicle: separate vehicles are
    // not the point here.)
    let mut r = region("00:00-24:00", true);
    r.policy.separate_vehicles = false;
    let two = state(
        r.clone(),
        vec![case(
            "C1",
            "NEAR",
            5,
            LegalCategory::CriminalSummons,
            group(2),
        )],
    );
    for p in both(&two) {
        let cp = &p.cases[0];
        for pp in &cp.persons {
            let intake = pp.steps.iter().find(|b| b.step == Step::Intake).unwrap();
            assert!(
                intake.start - cp.escort.arrive <= Duration::minutes(30),
                "{cp:?}"
            );
        }
    }
    let three = state(
        r,
        vec![case(
            "C1",
            "NEAR",
            5,
            LegalCategory::CriminalSummons,
            group(3),
        )],
    );
    for p in both(&three) {
        assert!(p.cases.is_empty(), "{:?}", p.cases);
        assert_eq!(p.blocked[0].rule, Rule::IntakeWait, "{:?}", p.blocked);
        assert!(p.blocked[0].detail.contains("60 min"), "{:?}", p.blocked);
    }
    let mut longer = three.clone();
    longer.region.policy.max_intake_wait_min = 60;
    for p in both(&longer) {
        assert!(p.blocked.is_empty(), "{:?}", p.blocked);
    }
}

/// Co-suspects ride in separate vehicles, and so do a juvenile and an
/// adult: an escort takes a team per vehicle, each with a woman for a
/// woman; with too few teams the case is blocked by that rule; the policy
/// may let them ride together.
#[test]
fn co_suspects_and_a_juvenile_with_an_adult_ride_apart() {
    let teams = |n: usize| {
        let mut r = region("00:00-24:00", true);
        for k in 2..=n {
            let members: Vec<casehub_model::OfficerId> = (1..=2)
                .map(|m| casehub_model::OfficerId::new(format!("e{k}-{m}")).unwrap())
                .collect();
            for (m, id) in members.iter().enumerate() {
                r.officers.push(
                    casehub_model::Officer::new(
                        id.clone(),
                        None,
                        if m == 0 { Gender::Female } else { Gender::Male },
                        casehub_model::Post::Site(r.sites[0].id.clone()),
                        vec![casehub_model::Qualification::Escort],
                        casehub_model::ShiftId::new("all").unwrap(),
                    )
                    .unwrap(),
                );
            }
            r.escort_teams.push(
                casehub_model::EscortTeam::new(
                    casehub_model::TeamId::new(format!("team-{k}")).unwrap(),
                    r.sites[0].id.clone(),
                    6,
                    members,
                )
                .unwrap(),
            );
        }
        Region::new(r).unwrap()
    };
    let persons = vec![
        person("A", Gender::Female, false, Some("G")),
        person("B", Gender::Male, false, Some("G")),
    ];
    // FAR cannot spare its officers: the teams bring them.
    let s = state(
        teams(3),
        vec![case(
            "C1",
            "FAR",
            5,
            LegalCategory::CriminalSummons,
            persons.clone(),
        )],
    );
    for p in both(&s) {
        assert!(p.blocked.is_empty(), "{:?}", p.blocked);
        let e = &p.cases[0].escort;
        assert_eq!(e.vehicles.len(), 2, "{e:?}");
        let mut teams: Vec<_> = e.teams();
        teams.sort();
        teams.dedup();
        assert_eq!(teams.len(), 2, "{e:?}");
        for v in &e.vehicles {
            let rides = |id: &str| v.persons.iter().any(|p| p.as_str() == id);
            assert!(!(rides("A") && rides("B")), "{e:?}");
            if rides("A") {
                assert!(
                    v.officers
                        .iter()
                        .any(|o| gender_of(&s, o.as_str()) == Gender::Female),
                    "{v:?}"
                );
            }
        }
    }
    // One team: no second vehicle.
    let one = state(
        teams(1),
        vec![case(
            "C1",
            "FAR",
            5,
            LegalCategory::CriminalSummons,
            persons.clone(),
        )],
    );
    for p in both(&one) {
        assert!(p.cases.is_empty(), "{:?}", p.cases);
        assert!(p.blocked[0].detail.contains("vehicles"), "{:?}", p.blocked);
    }
    let mut together = one.clone();
    together.region.policy.separate_vehicles = false;
    for p in both(&together) {
        assert!(p.blocked.is_empty(), "{:?}", p.blocked);
        assert!(p.cases[0].escort.vehicles.is_empty());
    }
    // A juvenile and an adult, not co-suspects, ride apart too.
    let mixed = state(
        teams(3),
        vec![case(
            "C1",
            "FAR",
            5,
            LegalCategory::CriminalSummons,
            vec![
                person("A", Gender::Male, false, None),
                person("J", Gender::Male, true, None),
            ],
        )],
    );
    for p in both(&mixed) {
        assert!(p.blocked.is_empty(), "{:?}", p.blocked);
        assert_eq!(p.cases[0].escort.vehicles.len(), 2);
    }
}
