//! Property tests: random states of the sample county give plans with zero
//! violations from both solvers, and cases that cannot be served come back
//! blocked with a reason.

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

use casehub_model::Region;
use casehub_model::scenario::parse_region;
use casehub_planning::{Method, Rule, Settings, State, generate, plan, validate};
use casehub_travel::{GreatCircle, TravelTable};

fn base() -> (Region, TravelTable) {
    let region = parse_region(
        "region-3-sites.toml",
        include_str!("../../../simulations/sample-county/region-3-sites.toml"),
    )
    .unwrap();
    let travel = TravelTable::for_region(&GreatCircle::new(1.35, 45.0).unwrap(), &region).unwrap();
    (region, travel)
}

fn settings(method: Method) -> Settings {
    Settings {
        method,
        time_limit: std::time::Duration::from_secs(10),
        ..Settings::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn random_states_give_valid_plans(n in 1usize..10, seed in any::<u64>(), hour in 0i64..24, past_h in 0i64..6, future_h in 0i64..10) {
        let (region, travel) = base();
        let now: DateTime<Utc> = "2026-11-27T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::hours(hour);
        let pending = generate::pending_cases(&region, now, n, past_h * 60, future_h * 60, seed);
        let s = State { region, travel, now, room_bookings: vec![], room_closures: vec![], officer_commitments: vec![], team_commitments: vec![], pending };
        for method in [Method::Greedy, Method::Milp] {
            let p = plan(&s, &settings(method)).unwrap();
            let v = validate(&s, &p);
            prop_assert!(v.is_empty(), "{:?}: {:#?}", method, v);
            prop_assert_eq!(p.cases.len() + p.blocked.len(), n);
            for b in &p.blocked {
                prop_assert!(!b.detail.is_empty());
            }
        }
    }

    #[test]
    fn cases_past_their_limit_are_blocked_with_the_legal_limit(n in 1usize..6, seed in any::<u64>(), late in 1usize..4) {
        let (region, travel) = base();
        let now: DateTime<Utc> = "2026-11-27T02:00:00Z".parse().unwrap();
        let mut pending = generate::pending_cases(&region, now, n + late, 60, 0, seed);
        // The last `late` cases: the clock started more than 48 h ago, past every limit.
        for pc in pending.iter_mut().skip(n) {
            pc.case.clock_started_at = now - Duration::hours(49);
        }
        let s = State { region, travel, now, room_bookings: vec![], room_closures: vec![], officer_commitments: vec![], team_commitments: vec![], pending };
        for method in [Method::Greedy, Method::Milp] {
            let p = plan(&s, &settings(method)).unwrap();
            prop_assert!(validate(&s, &p).is_empty());
            for pc in s.pending.iter().skip(n) {
                let b = p.blocked.iter().find(|b| b.case == pc.case.id);
                prop_assert!(b.is_some_and(|b| b.rule == Rule::LegalLimit), "{:?}", b);
            }
        }
    }
}
