//! The simulation end to end: reproducibility, arrivals, the legal clock,
//! station minimums, layouts and the aggregation across replications.

use chrono::{Duration, Timelike};
use rand::SeedableRng;

use casehub_model::scenario::parse_region;
use casehub_model::{
    Case, CaseId, DurationDist, Gender, LegalCategory, Person, PersonId, Post, Region, StationId,
};
use casehub_simulation::arrivals::{Arrival, draw};
use casehub_simulation::engine::{below_minimum, peak, run_with_arrivals};
use casehub_simulation::{
    ChaCha8Rng, Layout, Policy, SimConfig, SimError, SubCenterTemplate, simulate,
};
use casehub_travel::{GreatCircle, TravelTable};

fn sample() -> Region {
    parse_region(
        "region.toml",
        include_str!("../../../simulations/sample-county/region.toml"),
    )
    .expect("sample region")
}

fn tiny() -> Region {
    parse_region("tiny.toml", include_str!("fixtures_tiny.toml")).expect("tiny region")
}

fn table(region: &Region, detour: f64, speed: f64) -> TravelTable {
    TravelTable::for_region(&GreatCircle::new(detour, speed).unwrap(), region).unwrap()
}

fn short(days: f64, reps: u32, seed: u64) -> SimConfig {
    SimConfig {
        days,
        replications: reps,
        seed,
        ..SimConfig::default()
    }
}

#[test]
fn same_seed_same_output_different_seed_different() {
    let region = sample();
    let travel = table(&region, 1.35, 45.0);
    let layout = Layout::from_region(&region);
    let a = simulate(&region, &travel, &layout, &short(2.0, 3, 11), &|_| {}).unwrap();
    let b = simulate(&region, &travel, &layout, &short(2.0, 3, 11), &|_| {}).unwrap();
    let c = simulate(&region, &travel, &layout, &short(2.0, 3, 12), &|_| {}).unwrap();
    let json = |r: &casehub_simulation::LayoutResult| {
        (
            serde_json::to_string(&r.kpis).unwrap(),
            serde_json::to_string(&r.replications).unwrap(),
        )
    };
    assert_eq!(json(&a), json(&b), "same seed, same KPIs and replications");
    assert_ne!(json(&a).1, json(&c).1, "another seed draws other cases");
    // Replications of one run differ from each other (their own streams).
    assert_ne!(
        a.replications[0].cases_detail(),
        a.replications[1].cases_detail()
    );
    assert!(a.kpis.cases.mean > 20.0, "{:?}", a.kpis.cases);
    assert_eq!(a.kpis.cases.n, 3);
}

trait Detail {
    fn cases_detail(&self) -> (u64, u64, String);
}
impl Detail for casehub_simulation::Replication {
    fn cases_detail(&self) -> (u64, u64, String) {
        (self.cases, self.persons, format!("{:.6}", self.escort_km))
    }
}

#[test]
fn arrivals_follow_the_caseload() {
    let region = sample();
    let start = SimConfig::default().start;
    let days = 365.0;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let arrivals = draw(&region, start, days * 1440.0, &mut rng);
    let cl = &region.caseload;
    let n = arrivals.len() as f64;
    let expected = cl.total_per_day() * days;
    // Poisson: sd = sqrt(mean); allow 4.5 sd.
    assert!(
        (n - expected).abs() < 4.5 * expected.sqrt(),
        "{n} arrivals, expected {expected}"
    );
    // One station's rate.
    let s01 = arrivals
        .iter()
        .filter(|a| a.case.origin.as_str() == "S01")
        .count() as f64;
    let e01 = cl.cases_per_day[&StationId::new("S01").unwrap()] * days;
    assert!((s01 - e01).abs() < 4.5 * e01.sqrt(), "S01: {s01} vs {e01}");
    // The hour-of-day profile, in local time.
    let total_w: f64 = cl.hour_profile.iter().sum();
    let off = Duration::minutes(i64::from(region.info.utc_offset_min));
    for hour in [3usize, 10, 19] {
        let got = arrivals
            .iter()
            .filter(|a| (a.case.clock_started_at + off).hour() as usize == hour)
            .count() as f64
            / n;
        let want = cl.hour_profile[hour] / total_w;
        let sd = (want * (1.0 - want) / n).sqrt();
        assert!(
            (got - want).abs() < 4.5 * sd,
            "hour {hour}: {got} vs {want}"
        );
    }
    // Daily counts are Poisson: variance close to the mean.
    let mut per_day = vec![0f64; days as usize];
    for a in &arrivals {
        per_day[(a.at_min / 1440.0) as usize] += 1.0;
    }
    let mean = per_day.iter().sum::<f64>() / days;
    let var = per_day.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (days - 1.0);
    assert!(
        (0.75..1.3).contains(&(var / mean)),
        "dispersion {}",
        var / mean
    );
    // Mix, groups, women.
    let groups = arrivals.iter().filter(|a| a.case.persons.len() > 1).count() as f64;
    let sd = (cl.group_share * (1.0 - cl.group_share) / n).sqrt();
    assert!((groups / n - cl.group_share).abs() < 4.5 * sd);
    let persons: Vec<&Person> = arrivals.iter().flat_map(|a| &a.case.persons).collect();
    let women = persons
        .iter()
        .filter(|p| p.gender == Gender::Female)
        .count() as f64;
    let np = persons.len() as f64;
    let sd = (cl.female_share * (1.0 - cl.female_share) / np).sqrt();
    assert!((women / np - cl.female_share).abs() < 4.5 * sd);
    let crim = arrivals
        .iter()
        .filter(|a| a.case.category == LegalCategory::CriminalSummons)
        .count() as f64;
    let w: f64 = cl.mix.values().sum();
    let want = cl.mix[&LegalCategory::CriminalSummons] / w;
    let sd = (want * (1.0 - want) / n).sqrt();
    assert!((crim / n - want).abs() < 4.5 * sd);
    // Sorted in time, clocks match the minutes.
    assert!(arrivals.windows(2).all(|w| w[0].at_min <= w[1].at_min));
    let a = &arrivals[10];
    let back = (a.case.clock_started_at - start).num_milliseconds() as f64 / 60_000.0;
    assert!((back - a.at_min).abs() < 1e-9);
}

fn case(n: usize, at_min: f64, start: chrono::DateTime<chrono::Utc>) -> Arrival {
    let ms = (at_min * 60_000.0).round() as i64;
    Arrival {
        at_min: ms as f64 / 60_000.0,
        case: Case::new(
            CaseId::new(format!("C{n}")).unwrap(),
            StationId::new("S1").unwrap(),
            start + Duration::milliseconds(ms),
            LegalCategory::AdministrativeQuestioning,
            vec![Person {
                id: PersonId::new(format!("C{n}-P1")).unwrap(),
                gender: Gender::Male,
                juvenile: false,
                co_suspect_group: None,
            }],
        )
        .unwrap(),
    }
}

fn tiny_cfg() -> SimConfig {
    SimConfig {
        days: 1.0,
        replications: 1,
        slot_min: 5,
        keep_cases: true,
        ..SimConfig::default()
    }
}

#[test]
fn breaches_are_counted_against_the_clock_on_hand_made_cases() {
    // Station next to the site: no drive. Intake, search and information
    // collection 10 min each, inquiry fixed 80 min, the policy's limit 2 h.
    // Two cases detained at once share the one inquiry room: the first ends
    // at 110 min, the second could only end at 190 min, so the policy cannot
    // place it and it breaches.
    let mut region = tiny();
    region.step_durations.inquiry = DurationDist::fixed(80.0).unwrap();
    let travel = table(&region, 1.0, 60.0);
    let cfg = tiny_cfg();
    let arrivals = vec![case(1, 0.0, cfg.start), case(2, 0.0, cfg.start)];
    let rng = ChaCha8Rng::seed_from_u64(1);
    let r = run_with_arrivals(&region, &travel, &cfg, rng, arrivals, 0, &|_| {}).unwrap();
    assert_eq!(
        (r.cases, r.placed, r.unplaced, r.breaches),
        (2, 1, 1, 1),
        "{:?}",
        r.blocked_attempts
    );
    let first = r.case_log.iter().find(|c| c.site.is_some()).unwrap();
    assert!(!first.breach);
    let (qs, qe) = first.questioning[0];
    assert!(
        (qs - 30.0).abs() < 1e-6 && (qe - 110.0).abs() < 1e-6,
        "{qs} {qe}"
    );
    assert!(r.wait_mean_min > 29.99 && r.wait_mean_min < 30.01);

    // Three hours apart, both fit.
    let arrivals = vec![case(1, 0.0, cfg.start), case(2, 180.0, cfg.start)];
    let rng = ChaCha8Rng::seed_from_u64(1);
    let r = run_with_arrivals(&region, &travel, &cfg, rng, arrivals, 0, &|_| {}).unwrap();
    assert_eq!((r.placed, r.breaches), (2, 0));
}

#[test]
fn breaches_from_durations_longer_than_planned() {
    // The policy plans the inquiry at its minimum (60 min, quantile 0) but it
    // takes 60-200 min: it ends after the 2 h limit when it takes more than 90.
    let region = tiny();
    let travel = table(&region, 1.0, 60.0);
    let cfg = SimConfig {
        days: 20.0,
        duration_quantile: 0.0,
        ..tiny_cfg()
    };
    let arrivals: Vec<Arrival> = (0..40)
        .map(|i| case(i + 1, i as f64 * 600.0, cfg.start))
        .collect();
    let rng = ChaCha8Rng::seed_from_u64(3);
    let r = run_with_arrivals(&region, &travel, &cfg, rng, arrivals, 0, &|_| {}).unwrap();
    assert_eq!(r.placed, 40, "{:?}", r.blocked_attempts);
    let limit = 120.0;
    let counted = r
        .case_log
        .iter()
        .filter(|c| {
            c.questioning
                .iter()
                .any(|&(_, e)| e > c.detained_min + limit)
        })
        .count() as u64;
    assert_eq!(r.breaches, counted);
    assert!(counted > 5 && counted < 40, "{counted} of 40");
    for c in &r.case_log {
        let (s, e) = c.questioning[0];
        assert!((s - c.detained_min - 30.0).abs() < 1e-6, "{c:?}");
        assert!((60.0..=200.0).contains(&(e - s)), "{c:?}");
    }
}

#[test]
fn station_minutes_below_minimum() {
    let region = tiny();
    let start = SimConfig::default().start;
    let idx = |id: &str| {
        region
            .officers
            .iter()
            .position(|o| o.id.as_str() == id)
            .unwrap()
    };
    let mut away = vec![Vec::new(); region.officers.len()];
    // Four officers, minimum 2: below only while three are away, [20, 40).
    away[idx("S1-o1")].push((10.0, 40.0));
    away[idx("S1-o2")].push((20.0, 50.0));
    away[idx("S1-o3")].push((15.0, 40.0));
    let below = below_minimum(&region, start, 100.0, &away);
    assert_eq!(below.len(), 1);
    assert!((below[0] - 20.0).abs() < 1e-9, "{below:?}");

    // On the sample, a day-shift station below its minimum at night would show.
    let s = sample();
    let none = vec![Vec::new(); s.officers.len()];
    let base = below_minimum(&s, start, 2880.0, &none);
    assert!(base.iter().all(|&m| m == 0.0), "{base:?}");
    let s01: Vec<usize> = s
        .officers
        .iter()
        .enumerate()
        .filter(|(_, o)| o.post == Post::Station(StationId::new("S01").unwrap()))
        .map(|(i, _)| i)
        .collect();
    let mut away = none.clone();
    for &o in &s01 {
        away[o].push((0.0, 60.0));
    }
    let b = below_minimum(&s, start, 2880.0, &away);
    assert!((b[0] - 60.0).abs() < 1e-9, "{:?}", b[0]);
}

#[test]
fn peak_counts_overlaps() {
    assert_eq!(peak(&[]), 0);
    assert_eq!(peak(&[(0.0, 10.0), (5.0, 15.0), (10.0, 20.0)]), 2);
    assert_eq!(peak(&[(0.0, 10.0), (1.0, 9.0), (2.0, 8.0), (9.5, 9.6)]), 3);
}

#[test]
fn layouts_build_and_close_sites() {
    let region = sample();
    let l = Layout::with_sites(&region, &["CAND-NE"], SubCenterTemplate::default()).unwrap();
    assert_eq!(l.name, "MC+CAND-NE");
    let r = l.apply(&region).unwrap();
    assert_eq!(r.sites.len(), 2);
    let ne = r.site("CAND-NE").unwrap();
    assert_eq!(
        ne.rooms_of(casehub_model::RoomKind::Interrogation).count(),
        3
    );
    assert_eq!(r.escort_teams.iter().filter(|t| t.site == ne.id).count(), 2);
    let staff = r
        .officers
        .iter()
        .filter(|o| o.post == Post::Site(ne.id.clone()))
        .count();
    assert_eq!(staff, 4 + 2 + 4 + 2 + 2 * 3);
    assert!(r.candidate_sites.iter().all(|c| c.id.as_str() != "CAND-NE"));

    // Closing the sub-centers of the 3-site sample removes their staff and teams.
    let three = parse_region(
        "region-3-sites.toml",
        include_str!("../../../simulations/sample-county/region-3-sites.toml"),
    )
    .unwrap();
    let only_mc = Layout::with_sites(&three, &[], SubCenterTemplate::default())
        .unwrap()
        .apply(&three)
        .unwrap();
    assert_eq!(only_mc.sites.len(), 1);
    assert!(only_mc.escort_teams.iter().all(|t| t.site.as_str() == "MC"));
    assert_eq!(only_mc.officers.len(), region.officers.len());

    let e = Layout::with_sites(&region, &["NOWHERE"], SubCenterTemplate::default()).unwrap_err();
    assert!(e.to_string().contains("open[0] = NOWHERE"), "{e}");
    let bad = SubCenterTemplate {
        team_seats: 3,
        ..SubCenterTemplate::default()
    };
    let e = Layout::with_sites(&region, &["CAND-SW"], bad)
        .unwrap()
        .apply(&region)
        .unwrap_err();
    assert!(e.to_string().contains("template.team_seats = 3"), "{e}");
}

#[test]
fn kpis_are_consistent_across_layouts() {
    let region = sample();
    let travel = table(&region, 1.35, 45.0);
    let cfg = short(3.0, 2, 21);
    let one = simulate(
        &region,
        &travel,
        &Layout::from_region(&region),
        &cfg,
        &|_| {},
    )
    .unwrap();
    let three = Layout::with_sites(
        &region,
        &["CAND-NE", "CAND-SW"],
        SubCenterTemplate::default(),
    )
    .unwrap();
    let more = simulate(&region, &travel, &three, &cfg, &|_| {}).unwrap();
    for res in [&one, &more] {
        for rep in &res.replications {
            let sent: u64 = rep.flows.iter().flatten().sum();
            assert_eq!(sent, rep.placed);
            assert_eq!(rep.sites.iter().map(|s| s.cases).sum::<u64>(), rep.placed);
            assert!(rep.breaches <= rep.cases);
            assert!(rep.wait_p95_min >= rep.wait_mean_min * 0.5);
            for s in &rep.sites {
                assert!((0.0..=1.0).contains(&s.room_utilisation), "{s:?}");
            }
        }
        assert!(res.kpis.escort_km.mean > 0.0);
        for rep in &res.replications {
            assert!(rep.station_officer_hours_away <= rep.escort_officer_hours + 1e-9);
        }
        assert!(res.kpis.breach_share.mean <= 1.0);
        assert!(res.events > 0);
    }
    assert_eq!(more.sites.len(), 3);
    // Same seed, same arrivals: both layouts see the same cases.
    assert_eq!(one.kpis.cases.mean, more.kpis.cases.mean);
    // Sub-centers near the rural stations shorten the escorts.
    assert!(
        more.kpis.escort_km.mean < one.kpis.escort_km.mean,
        "{} vs {}",
        more.kpis.escort_km.mean,
        one.kpis.escort_km.mean
    );
}

#[test]
fn bad_settings_are_named() {
    let region = sample();
    let travel = table(&region, 1.35, 45.0);
    let layout = Layout::from_region(&region);
    for (cfg, want) in [
        (
            SimConfig {
                days: -1.0,
                ..SimConfig::default()
            },
            "days = -1",
        ),
        (
            SimConfig {
                replications: 0,
                ..SimConfig::default()
            },
            "replications = 0",
        ),
        (
            SimConfig {
                policy: Policy::Milp {
                    interval_min: 0,
                    time_limit_s: 1.0,
                },
                ..SimConfig::default()
            },
            "interval_min = 0",
        ),
        (
            SimConfig {
                slot_min: 7,
                ..SimConfig::default()
            },
            "slot_min",
        ),
    ] {
        let e: SimError = simulate(&region, &travel, &layout, &cfg, &|_| {}).unwrap_err();
        assert!(e.to_string().contains(want), "{e}");
    }
}

#[test]
fn milp_policy_runs_on_a_rolling_horizon() {
    let region = sample();
    let travel = table(&region, 1.35, 45.0);
    let cfg = SimConfig {
        days: 0.5,
        replications: 1,
        seed: 2,
        policy: Policy::Milp {
            interval_min: 60,
            time_limit_s: 2.0,
        },
        ..SimConfig::default()
    };
    let r = simulate(
        &region,
        &travel,
        &Layout::from_region(&region),
        &cfg,
        &|_| {},
    )
    .unwrap();
    let rep = &r.replications[0];
    assert!(rep.cases > 0);
    assert!(rep.placed > 0);
    // Batches: at most one engine call per hour plus retries.
    assert!(
        rep.policy_calls <= 12 + rep.cases * 2,
        "{}",
        rep.policy_calls
    );
    assert_eq!(r.policy, "milp every 60 min");
}

#[test]
fn placement_models_propose_layouts_with_the_main_center() {
    use casehub_simulation::placement::{ProposalSpec, instance, propose};
    let region = sample();
    let travel = table(&region, 1.35, 45.0);
    let inst = instance(&region, &travel).unwrap();
    assert_eq!(inst.num_facilities(), 3);
    assert_eq!(inst.facility_names, vec!["MC", "CAND-NE", "CAND-SW"]);
    let spec = ProposalSpec {
        ps: vec![1, 3],
        mclp_radius_min: Some(60.0),
        cflp: true,
        time_limit_s: 30.0,
    };
    let props = propose(&region, &travel, &spec, &SubCenterTemplate::default()).unwrap();
    assert!(
        props[0].source.starts_with("region as is"),
        "{}",
        props[0].source
    );
    // p = 3 opens everything: one layout with all three sites.
    let all = props
        .iter()
        .find(|p| p.layout.open.len() == 3)
        .expect("p = 3 opens all sites");
    assert!(all.source.contains("p-median p=3"), "{}", all.source);
    for p in &props {
        assert_eq!(p.layout.open[0].as_str(), "MC", "{:?}", p.layout);
        p.layout.apply(&region).unwrap();
    }
    // Distinct open sets only.
    let mut keys: Vec<Vec<String>> = props
        .iter()
        .map(|p| {
            let mut k: Vec<String> = p.layout.open.iter().map(|s| s.to_string()).collect();
            k.sort();
            k
        })
        .collect();
    let n = keys.len();
    keys.dedup();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n);
    let e = propose(
        &region,
        &travel,
        &ProposalSpec {
            ps: vec![4],
            ..spec
        },
        &SubCenterTemplate::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("p = 4"), "{e}");
}
