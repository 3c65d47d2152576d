//! `AcceptPlan` (rules version 6): the commit checks every rule of the
//! catalogue, and agrees with the planner's validator on every plan, valid
//! or broken: accept or refuse, and the same rule names.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

use casehub_model::{CaseId, Region, Rule};
use casehub_planning::{CasePlan, EscortMode, Plan, generate, validate};
use casehub_store::plan_view::{plan_bookings, planning_state};
use casehub_store::{Command, Conflict, EntityRef, RegionStatic, Response, SchedulingState};
use casehub_travel::{GreatCircle, TravelTable};

mod common;
use common::region::*;

/// What the validator says of `plans`, with their cases as the pending ones.
fn validator_rules(
    state: &SchedulingState,
    plans: &[CasePlan],
    now: DateTime<Utc>,
) -> BTreeSet<Rule> {
    let (model, travel, version) = state.region_model().unwrap();
    let mut ids: Vec<CaseId> = plans.iter().map(|c| c.case.clone()).collect();
    ids.sort();
    ids.dedup();
    let s = planning_state(state, model, travel, now, &ids).unwrap();
    let p = Plan {
        now,
        region_version: version,
        cases: plans.to_vec(),
        blocked: Vec::new(),
        objective: 0.0,
        imbalance_cost: 0.0,
        solver: propose_report(),
    };
    validate(&s, &p).into_iter().map(|v| v.rule).collect()
}

fn propose_report() -> casehub_planning::SolverReport {
    serde_json::from_value(serde_json::json!({
        "method": "test", "status": "test", "seconds": 0.0, "options": 0
    }))
    .unwrap()
}

fn commit_rules(r: &Response) -> Option<BTreeSet<Rule>> {
    match r {
        Response::Applied { .. } => None,
        Response::Rejected { conflicts, .. } => Some(
            conflicts
                .iter()
                .map(|c| match c {
                    Conflict::Rule { rule, .. } => *rule,
                    other => panic!("not a rule: {other:?}"),
                })
                .collect(),
        ),
    }
}

fn minutes(n: i64) -> Duration {
    Duration::minutes(n)
}

/// One change to a plan, picked and sized by `(kind, k)`.
fn mutate(plans: &mut [CasePlan], r: &Region, kind: u8, k: u64) {
    let rooms: Vec<_> = r.sites.iter().flat_map(|s| s.rooms.iter()).collect();
    let n_cases = plans.len();
    let cp = &mut plans[(k as usize) % n_cases];
    let pick = |len: usize, salt: u64| ((k >> 8).wrapping_add(salt) as usize) % len.max(1);
    let shift = (k % 181) as i64 - 90;
    match kind {
        // A step moved in time.
        0 => {
            let pi = pick(cp.persons.len(), 1);
            let si = pick(cp.persons[pi].steps.len(), 2);
            let s = &mut cp.persons[pi].steps[si];
            s.start += minutes(shift);
            s.end += minutes(shift);
        }
        // A step in another room.
        1 => {
            let pi = pick(cp.persons.len(), 1);
            let si = pick(cp.persons[pi].steps.len(), 2);
            cp.persons[pi].steps[si].room = rooms[pick(rooms.len(), 3)].id.clone();
        }
        // A questioning officer replaced, or dropped.
        2 => {
            let pi = pick(cp.persons.len(), 1);
            let q = &mut cp.persons[pi].questioning_officers;
            if !q.is_empty() {
                let qi = pick(q.len(), 4);
                q[qi] = r.officers[pick(r.officers.len(), 5)].id.clone();
            }
        }
        3 => {
            let pi = pick(cp.persons.len(), 1);
            cp.persons[pi].questioning_officers.pop();
        }
        // Another escort team, or other escort officers.
        4 => {
            cp.escort.team = Some(r.escort_teams[pick(r.escort_teams.len(), 6)].id.clone());
            cp.escort.mode = EscortMode::Team;
        }
        5 if !cp.escort.officers.is_empty() => {
            let oi = pick(cp.escort.officers.len(), 7);
            cp.escort.officers[oi] = r.officers[pick(r.officers.len(), 8)].id.clone();
        }
        6 => {
            cp.escort.officers.pop();
        }
        // The escort moved in time.
        7 => {
            cp.escort.depart += minutes(shift);
            cp.escort.pickup += minutes(shift);
            cp.escort.arrive += minutes(shift);
        }
        // Another site.
        8 => cp.site = r.sites[pick(r.sites.len(), 9)].id.clone(),
        // A step left out.
        9 => {
            let pi = pick(cp.persons.len(), 1);
            if !cp.persons[pi].steps.is_empty() {
                let si = pick(cp.persons[pi].steps.len(), 2);
                cp.persons[pi].steps.remove(si);
            }
        }
        // Searcher or other staff replaced.
        10 => {
            let pi = pick(cp.persons.len(), 1);
            let si = pick(cp.persons[pi].steps.len(), 2);
            cp.persons[pi].steps[si].staff =
                vec![r.officers[pick(r.officers.len(), 10)].id.clone()];
        }
        // Everything later: past the legal limit, sooner or later.
        11 => {
            let hours = (k % 30) as i64;
            for p in &mut cp.persons {
                for s in &mut p.steps {
                    s.start += Duration::hours(hours);
                    s.end += Duration::hours(hours);
                }
            }
            cp.slack_min -= hours * 60;
        }
        // The deadline or the slack misstated.
        12 => cp.slack_min += shift,
        // Unchanged.
        _ => {}
    }
}

#[test]
fn a_valid_plan_commits_and_its_bookings_are_the_plans() {
    let r = region();
    let now: DateTime<Utc> = "2026-11-27T02:00:00Z".parse().unwrap();
    let mut w = loaded(&r, now);
    for pc in generate::pending_cases(&r, now, 4, 60, 0, 11) {
        assert!(w.apply(Command::SubmitCase(pc.case)).is_applied());
    }
    let p = propose(&w.state, now);
    assert!(!p.cases.is_empty());
    let resp = w.apply(accept(p.cases.clone(), now, 1));
    assert!(resp.is_applied(), "{resp:?}");
    let mut want: Vec<_> = p.cases.iter().flat_map(plan_bookings).collect();
    let mut got = Vec::new();
    for (id, room) in &w.state.rooms {
        for b in &room.bookings {
            got.push((EntityRef::Room(id.clone()), b.clone()));
        }
    }
    want.retain(|b| matches!(b.resource, casehub_store::ResourceRef::Room(_)));
    let mut want: Vec<_> = want
        .into_iter()
        .map(|b| (b.resource.entity(), b.booking))
        .collect();
    want.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    got.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    assert_eq!(got, want);
    // The audit says what was committed.
    assert!(
        w.state
            .audit
            .back()
            .unwrap()
            .summary
            .starts_with("commit plan:")
    );
}

#[test]
fn a_plan_is_refused_without_a_region_or_from_another_version() {
    let r = region();
    let now: DateTime<Utc> = "2026-11-27T02:00:00Z".parse().unwrap();
    let mut w = loaded(&r, now);
    for pc in generate::pending_cases(&r, now, 2, 60, 0, 3) {
        assert!(w.apply(Command::SubmitCase(pc.case)).is_applied());
    }
    let p = propose(&w.state, now);
    // Another version: refused, naming both.
    let resp = w.apply(accept(p.cases.clone(), now, 2));
    let Response::Rejected { conflicts, .. } = &resp else {
        panic!("{resp:?}")
    };
    assert_eq!(
        conflicts,
        &vec![Conflict::RegionVersion {
            expected: 2,
            actual: 1
        }]
    );
    // The same region again keeps its version; a changed one is the next.
    let table = TravelTable::for_region(&GreatCircle::new(1.35, 45.0).unwrap(), &r).unwrap();
    assert!(
        w.apply(Command::SetRegion(Box::new(RegionStatic::of(
            &r,
            table.clone()
        ))))
        .is_applied()
    );
    assert_eq!(w.state.region_version(), 1);
    let mut changed = r.clone();
    changed.info.name = "renamed".into();
    assert!(
        w.apply(Command::SetRegion(Box::new(RegionStatic::of(
            &changed, table
        ))))
        .is_applied()
    );
    assert_eq!(w.state.region_version(), 2);
    assert!(!w.apply(accept(p.cases.clone(), now, 1)).is_applied());
    assert!(w.apply(accept(p.cases.clone(), now, 2)).is_applied());

    // No region loaded at all.
    let mut bare = World {
        state: SchedulingState::new(),
        index: 0,
        now,
    };
    let resp = bare.apply(accept(p.cases, now, 0));
    let Response::Rejected { reason, .. } = &resp else {
        panic!("{resp:?}")
    };
    assert!(reason.contains("no region is loaded"), "{reason}");
}

#[test]
fn a_travel_table_that_misses_a_station_is_refused() {
    let r = region();
    let now: DateTime<Utc> = "2026-11-27T02:00:00Z".parse().unwrap();
    let mut w = loaded(&r, now);
    let mut smaller = r.clone();
    smaller.stations.pop();
    let table = TravelTable::for_region(&GreatCircle::new(1.35, 45.0).unwrap(), &smaller).unwrap();
    let resp = w.apply(Command::SetRegion(Box::new(RegionStatic::of(&r, table))));
    let Response::Rejected { reason, .. } = &resp else {
        panic!("{resp:?}")
    };
    let missing = r.stations.last().unwrap().id.to_string();
    assert!(reason.contains(&missing), "{reason}");
    assert_eq!(w.state.region_version(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random cases, some already booked; the engine's plan for the rest,
    /// changed in random ways: the commit accepts exactly the plans the
    /// validator finds nothing in, and refuses the others naming the same
    /// rules.
    #[test]
    fn the_commit_and_the_validator_agree(
        seed in any::<u64>(),
        n in 2usize..7,
        hour in 0i64..24,
        changes in prop::collection::vec(
            prop::collection::vec((0u8..16, any::<u64>()), 1..4),
            40,
        ),
    ) {
        let r = region();
        let now: DateTime<Utc> =
            "2026-11-27T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::hours(hour);
        let mut w = loaded(&r, now);
        let cases = generate::pending_cases(&r, now, n, 120, 0, seed);
        // The first half is planned and committed: bookings to clash with.
        let half = n / 2;
        for pc in &cases[..half] {
            prop_assert!(w.apply(Command::SubmitCase(pc.case.clone())).is_applied());
        }
        let first = propose(&w.state, now);
        if !first.cases.is_empty() {
            let resp = w.apply(accept(first.cases.clone(), now, 1));
            prop_assert!(resp.is_applied(), "{:?}", resp);
        }
        for pc in &cases[half..] {
            prop_assert!(w.apply(Command::SubmitCase(pc.case.clone())).is_applied());
        }
        let p = propose(&w.state, now);
        prop_assume!(!p.cases.is_empty());
        let mut accepted = 0;
        let mut refused = 0;
        for change in &changes {
            let mut plans = p.cases.clone();
            for &(kind, k) in change {
                mutate(&mut plans, &r, kind, k);
            }
            let want = validator_rules(&w.state, &plans, now);
            let mut state = w.state.clone();
            let got = state.apply(w.index + 1, &request(w.index + 1, now, accept(plans.clone(), now, 1)));
            match commit_rules(&got) {
                None => {
                    prop_assert!(want.is_empty(), "committed, but the validator finds {:?}", want);
                    accepted += 1;
                }
                Some(rules) => {
                    prop_assert_eq!(&rules, &want, "{:?}", got);
                    refused += 1;
                }
            }
        }
        // Both answers happen: the mutations are not all harmless or all fatal.
        prop_assert!(refused > 0, "no change was refused");
        let _ = accepted;
    }
}

/// The policy's juvenile questioning is a rule at commit from rules version
/// 8 on: a juvenile questioned by the station's untrained officers (the
/// plan of a policy without the rule) is refused, naming it; a cluster of
/// version 7 commits it as its nodes did.
#[test]
fn juvenile_questioning_is_checked_at_commit_from_rules_version_8() {
    let r = region();
    let now: DateTime<Utc> = "2026-11-27T02:00:00Z".parse().unwrap();
    let mut w = loaded(&r, now);
    let mut off = r.policy.clone();
    off.juvenile_questioning = false;
    assert!(w.apply(Command::SetPolicy(off)).is_applied());
    let mut pc = generate::pending_cases(&r, now, 1, 60, 0, 5).remove(0);
    pc.case.persons.truncate(1);
    pc.case.persons[0].juvenile = true;
    pc.case.persons[0].co_suspect_group = None;
    assert!(w.apply(Command::SubmitCase(pc.case.clone())).is_applied());
    let p = propose(&w.state, now);
    assert_eq!(p.cases.len(), 1, "{:?}", p.blocked);
    assert!(validator_rules(&w.state, &p.cases, now).is_empty());
    assert!(w.apply(Command::SetPolicy(r.policy.clone())).is_applied());
    let broken = validator_rules(&w.state, &p.cases, now);
    assert_eq!(
        broken,
        BTreeSet::from([Rule::JuvenileQuestioning]),
        "the greedy's plan without the rule breaks it: {:?}",
        p.cases[0]
    );
    let mut v7 = World {
        state: w.state.clone(),
        index: w.index,
        now,
    };
    v7.state.rules_version = 7;
    let resp = w.apply(accept(p.cases.clone(), now, 1));
    assert_eq!(commit_rules(&resp), Some(broken), "{resp:?}");
    assert!(v7.apply(accept(p.cases, now, 1)).is_applied());
}
