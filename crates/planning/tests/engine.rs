//! The engine on the sample region: both solvers' plans pass the independent
//! validator, and cases no plan can serve are reported with their rule.

use chrono::{DateTime, Duration, Utc};

use casehub_model::scenario::parse_region;
use casehub_model::{LegalCategory, Region};
use casehub_planning::{Method, Rule, Settings, State, generate, plan, validate};
use casehub_travel::{GreatCircle, TravelTable};

fn region() -> Region {
    parse_region(
        "region.toml",
        include_str!("../../../simulations/sample-county/region.toml"),
    )
    .unwrap()
}

fn state(n: usize, seed: u64) -> State {
    let region = region();
    let travel = TravelTable::for_region(&GreatCircle::new(1.35, 45.0).unwrap(), &region).unwrap();
    let now: DateTime<Utc> = "2026-11-27T02:00:00Z".parse().unwrap();
    let pending = generate::pending_cases(&region, now, n, 90, 0, seed);
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

fn settings(method: Method) -> Settings {
    Settings {
        method,
        time_limit: std::time::Duration::from_secs(20),
        ..Settings::default()
    }
}

#[test]
fn greedy_and_milp_plans_pass_the_validator() {
    for seed in 1..=3 {
        let s = state(8, seed);
        let g = plan(&s, &settings(Method::Greedy)).unwrap();
        let m = plan(&s, &settings(Method::Milp)).unwrap();
        for p in [&g, &m] {
            let v = validate(&s, p);
            assert!(v.is_empty(), "seed {seed} {}: {v:#?}", p.solver.method);
            assert_eq!(p.cases.len() + p.blocked.len(), s.pending.len());
        }
        // The MILP never plans fewer cases than its warm start, the greedy.
        assert!(
            m.cases.len() >= g.cases.len(),
            "seed {seed}: milp {} < greedy {}",
            m.cases.len(),
            g.cases.len()
        );
        if m.cases.len() == g.cases.len() {
            assert!(
                m.objective <= g.objective + 1e-6,
                "seed {seed}: milp {} > greedy {}",
                m.objective,
                g.objective
            );
        }
    }
}

#[test]
fn a_case_past_its_deadline_is_blocked_by_the_legal_limit() {
    let mut s = state(3, 7);
    let c = &mut s.pending[0].case;
    c.category = LegalCategory::AdministrativeQuestioning;
    c.clock_started_at = s.now - Duration::hours(7) - Duration::minutes(50);
    let id = c.id.clone();
    for method in [Method::Greedy, Method::Milp] {
        let p = plan(&s, &settings(method)).unwrap();
        let b = p.blocked.iter().find(|b| b.case == id).expect("blocked");
        assert_eq!(b.rule, Rule::LegalLimit, "{}", b.detail);
        assert!(validate(&s, &p).is_empty());
    }
}

#[test]
fn pinned_plans_are_kept_unchanged() {
    let s = state(6, 11);
    let first = plan(&s, &settings(Method::Greedy)).unwrap();
    let kept = first.cases[0].clone();
    let mut s2 = s.clone();
    let pc = s2
        .pending
        .iter_mut()
        .find(|p| p.case.id == kept.case)
        .unwrap();
    pc.pinned = Some(kept.clone());
    let second = plan(&s2, &settings(Method::Milp)).unwrap();
    let again = second.cases.iter().find(|c| c.case == kept.case).unwrap();
    assert!(again.pinned);
    assert_eq!(
        (&again.site, &again.escort, &again.persons),
        (&kept.site, &kept.escort, &kept.persons)
    );
    assert!(
        validate(&s2, &second).is_empty(),
        "{:#?}",
        validate(&s2, &second)
    );
}

#[test]
fn bad_settings_are_refused_with_the_field() {
    let s = state(1, 1);
    let bad = Settings {
        slot_min: 7,
        ..Settings::default()
    };
    let e = plan(&s, &bad).unwrap_err().to_string();
    assert!(e.contains("slot_min") && e.contains('7'), "{e}");
    let bad = Settings {
        mip_rel_gap: f64::NAN,
        ..Settings::default()
    };
    assert!(
        plan(&s, &bad)
            .unwrap_err()
            .to_string()
            .contains("mip_rel_gap")
    );
}

#[test]
fn the_lp_bound_bounds_the_milp_and_a_plan_taken_without_branching_is_within_the_gap() {
    for seed in 1..=4 {
        let s = state(12, seed);
        let set = settings(Method::Milp);
        let m = plan(&s, &set).unwrap();
        assert!(validate(&s, &m).is_empty(), "seed {seed}");
        let (Some(bound), Some(objective)) = (m.solver.lp_bound, m.solver.model_objective) else {
            panic!("seed {seed}: no bound or model objective: {:?}", m.solver);
        };
        // The LP relaxation over all options bounds every plan's model objective.
        assert!(
            bound <= objective + 1e-6 * objective.abs().max(1.0),
            "seed {seed}: bound {bound} above the objective {objective}"
        );
        let note = m.solver.note.clone().unwrap_or_default();
        if note.contains("no branching needed") {
            assert_eq!(m.solver.status, "optimal", "seed {seed}");
            let gap = m.solver.gap.expect("a gap");
            assert!(gap <= set.mip_rel_gap + 1e-12, "seed {seed}: gap {gap}");
            assert!(
                (objective - bound) / objective.abs() <= set.mip_rel_gap + 1e-9,
                "seed {seed}: {objective} against {bound}"
            );
        }
    }
}
