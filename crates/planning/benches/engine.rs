//! Bench binary for the allocation engine: greedy against MILP over sizes.
//!
//! `cargo bench -p casehub-planning --bench engine` prints one markdown row per
//! instance: cases, sites, rooms, escort teams, options, the greedy's and the
//! MILP's planned cases (and of them how many deferred, leaving later than
//! the regular departure delays), blocked cases, objectives and times, the LP-relaxation bound over
//! all options and the MILP model's gap to it (both count a blocked case at
//! the unplanned penalty), and the improvement over the greedy.
//! Every plan is checked by the validator. `-- --quick` runs the 50-case
//! instances only.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use casehub_model::scenario::parse_region;
use casehub_model::{
    EscortTeam, Officer, OfficerId, Post, Qualification, Region, Room, RoomId, Site, SiteId,
    SiteKind, TeamId,
};
use casehub_planning::{Method, Settings, State, generate, milp, plan, validate};
use casehub_travel::{GreatCircle, TravelTable};

/// The 3-site sample, or a 6-site variant with three more sub-centers (at
/// the stations S25, S26 and S10) and more escort teams.
fn region(sites: usize) -> Region {
    let mut r = parse_region(
        "region-3-sites.toml",
        include_str!("../../../simulations/sample-county/region-3-sites.toml"),
    )
    .expect("sample region");
    if sites == 3 {
        return r;
    }
    let template = r
        .sites
        .iter()
        .find(|s| s.id.as_str() == "SC-NE")
        .expect("SC-NE")
        .clone();
    let staff: Vec<Officer> = r
        .officers
        .iter()
        .filter(|o| o.post == Post::Site(template.id.clone()))
        .cloned()
        .collect();
    for (name, at) in [("SC-E", "S25"), ("SC-W", "S26"), ("SC-SE", "S10")] {
        let id = SiteId::new(name).unwrap();
        let rename = |s: &str| s.replacen("SC-NE", name, 1);
        let rooms = template
            .rooms
            .iter()
            .map(|x| {
                Room::new(
                    RoomId::new(rename(x.id.as_str())).unwrap(),
                    x.kind,
                    Some(x.capacity),
                    x.recording,
                    x.juvenile_suitable,
                )
                .unwrap()
            })
            .collect();
        let location = r.station(at).expect("station").location;
        r.sites.push(
            Site::new(
                id.clone(),
                format!("{name} sub-center"),
                SiteKind::SubCenter,
                location,
                template.open_hours,
                rooms,
            )
            .unwrap(),
        );
        for o in &staff {
            r.officers.push(
                Officer::new(
                    OfficerId::new(rename(o.id.as_str())).unwrap(),
                    None,
                    o.gender,
                    Post::Site(id.clone()),
                    o.qualifications.clone(),
                    o.shift.clone(),
                )
                .unwrap(),
            );
        }
        for t in r
            .escort_teams
            .clone()
            .iter()
            .filter(|t| t.site == template.id)
        {
            let members = t
                .members
                .iter()
                .map(|m| OfficerId::new(rename(m.as_str())).unwrap())
                .collect();
            r.escort_teams.push(
                EscortTeam::new(
                    TeamId::new(rename(t.id.as_str())).unwrap(),
                    id.clone(),
                    t.seats,
                    members,
                )
                .unwrap(),
            );
        }
    }
    // Four more day teams at every sub-center and the main center: about 30 in all.
    let day_sites: Vec<SiteId> = r.sites.iter().map(|s| s.id.clone()).collect();
    for site in day_sites.iter().take(4) {
        for k in 1..=3 {
            let members: Vec<OfficerId> = (1..=3)
                .map(|m| OfficerId::new(format!("{site}-xesc{k}{m}")).unwrap())
                .collect();
            for (m, id) in members.iter().enumerate() {
                let gender = if m == 0 {
                    casehub_model::Gender::Female
                } else {
                    casehub_model::Gender::Male
                };
                r.officers.push(
                    Officer::new(
                        id.clone(),
                        None,
                        gender,
                        Post::Site(site.clone()),
                        vec![Qualification::Escort, Qualification::Search],
                        casehub_model::ShiftId::new("day").unwrap(),
                    )
                    .unwrap(),
                );
            }
            r.escort_teams.push(
                EscortTeam::new(
                    TeamId::new(format!("{site}-xteam-{k}")).unwrap(),
                    site.clone(),
                    7,
                    members,
                )
                .unwrap(),
            );
        }
    }
    Region::new(r).expect("6-site variant is valid")
}

fn state(region: Region, n: usize, now: DateTime<Utc>) -> State {
    let travel = TravelTable::for_region(&GreatCircle::new(1.35, 45.0).unwrap(), &region).unwrap();
    let pending = generate::pending_cases(&region, now, n, 60, 12 * 60, 1);
    State {
        region,
        travel,
        now,
        room_bookings: vec![],
        room_closures: Vec::new(),
        officer_commitments: vec![],
        team_commitments: vec![],
        pending,
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let now: DateTime<Utc> = "2026-11-27T00:00:00Z".parse().unwrap();
    let sizes: &[usize] = if quick { &[50] } else { &[10, 50, 200] };
    println!(
        "| cases | sites | rooms | teams | options | greedy planned | deferred | blocked | greedy objective | greedy s | MILP planned | deferred | blocked | MILP objective | MILP s | status | MIP gap | LP bound | gap to LP bound | better than greedy |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut notes = Vec::new();
    for &sites in &[3usize, 6] {
        let region = region(sites);
        let rooms: usize = region.sites.iter().map(|s| s.rooms.len()).sum();
        let teams = region.escort_teams.len();
        for &n in sizes {
            let s = state(region.clone(), n, now);
            let limit = Duration::from_secs(if n >= 200 { 30 } else { 10 });
            let g_set = Settings {
                method: Method::Greedy,
                ..Settings::default()
            };
            let m_set = Settings {
                method: Method::Milp,
                time_limit: limit,
                ..Settings::default()
            };
            let t = Instant::now();
            let g = plan(&s, &g_set).expect("greedy");
            let g_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let m = plan(&s, &m_set).expect("milp");
            let m_s = t.elapsed().as_secs_f64();
            for p in [&g, &m] {
                let v = validate(&s, p);
                assert!(v.is_empty(), "{} plan breaks rules: {v:?}", p.solver.method);
            }
            let lp = milp::lp_bound(
                &s,
                &Settings {
                    time_limit: Duration::from_secs(120),
                    ..m_set.clone()
                },
            )
            .ok();
            let gap = m
                .solver
                .gap
                .map_or("-".to_string(), |g| format!("{:.2}%", g * 100.0));
            // The LP bound counts a case it cannot serve whole at the unplanned
            // penalty: compare only when the MILP blocked nothing.
            let lp_gap = match (lp, m.solver.model_objective) {
                (Some(b), Some(z)) => format!("{:.2}%", (z - b) / z * 100.0),
                _ => "-".to_string(),
            };
            let better = if m.cases.len() == g.cases.len() {
                format!("{:.1}%", (g.objective - m.objective) / g.objective * 100.0)
            } else {
                format!(
                    "{} more cases planned",
                    m.cases.len() as i64 - g.cases.len() as i64
                )
            };
            let deferred = |p: &casehub_planning::Plan| {
                p.cases.iter().filter(|c| c.deferred.is_some()).count()
            };
            println!(
                "| {n} | {sites} | {rooms} | {teams} | {} | {} | {} | {} | {:.1} | {g_s:.2} | {} | {} | {} | {:.1} | {m_s:.2} | {} | {gap} | {} | {lp_gap} | {better} |",
                m.solver.options,
                g.cases.len(),
                deferred(&g),
                g.blocked.len(),
                g.objective,
                m.cases.len(),
                deferred(&m),
                m.blocked.len(),
                m.objective,
                m.solver.status,
                lp.map_or("-".into(), |b| format!("{b:.1}")),
            );
            notes.push(format!(
                "{n} cases, {sites} sites: {}",
                m.solver.note.clone().unwrap_or_default()
            ));
        }
    }
    println!();
    for n in notes {
        println!("- {n}");
    }
}
