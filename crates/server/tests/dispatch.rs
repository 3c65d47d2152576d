//! The replicated state to the engine and back: a plan proposed on the
//! applied state and its replicated region commits whole (`AcceptPlan`,
//! checked against every rule at commit), and the next plan is made around
//! it.

use casehub_model::scenario::parse_region;
use casehub_model::{CaseId, Region};
use casehub_planning::{Method, Settings, generate, plan, validate};
use casehub_server::dispatch::{
    DispatchError, plan_bookings_for, planning_state, region_commands, versions_for,
};
use casehub_store::state::CaseStatus;
use casehub_store::{Command, RegionStatic, Request, Response, SchedulingState};
use casehub_travel::{GreatCircle, TravelTable};
use chrono::{DateTime, Utc};

fn region() -> Region {
    parse_region(
        "region-3-sites.toml",
        include_str!("../../../simulations/sample-county/region-3-sites.toml"),
    )
    .unwrap()
}

fn now() -> DateTime<Utc> {
    "2026-11-27T01:00:00Z".parse().unwrap()
}

struct World {
    state: SchedulingState,
    index: u64,
}

impl World {
    fn apply(&mut self, command: Command) -> Response {
        self.index += 1;
        self.state.apply(
            self.index,
            &Request {
                client_id: "test".into(),
                request_id: self.index,
                actor: "dispatcher".into(),
                site: None,
                time: now(),
                command,
                trace: None,
            },
        )
    }
}

fn loaded(r: &Region) -> World {
    let mut w = World {
        state: SchedulingState::new(),
        index: 0,
    };
    let travel = TravelTable::for_region(&GreatCircle::new(1.35, 45.0).unwrap(), r).unwrap();
    let mut commands = region_commands(r);
    commands.push(Command::SetRegion(Box::new(RegionStatic::of(r, travel))));
    for c in commands {
        let resp = w.apply(c);
        assert!(resp.is_applied(), "{resp:?}");
    }
    w
}

fn settings() -> Settings {
    Settings {
        method: Method::Greedy,
        ..Settings::default()
    }
}

#[test]
fn a_proposed_plan_commits_and_the_next_one_is_made_around_it() {
    let r = region();
    let mut w = loaded(&r);
    let cases = generate::pending_cases(&r, now(), 6, 60, 0, 7);
    for c in &cases[..3] {
        assert!(w.apply(Command::SubmitCase(c.case.clone())).is_applied());
    }
    // Plan the three submitted cases on the replicated state and region.
    let (model, travel, version) = w.state.region_model().unwrap();
    assert_eq!(version, 1);
    let s = planning_state(&w.state, model, &travel.clone(), now(), &[]).unwrap();
    assert_eq!(s.pending.len(), 3);
    let p = plan(&s, &settings()).unwrap();
    assert!(validate(&s, &p).is_empty());
    assert!(!p.cases.is_empty());
    let bookings = plan_bookings_for(&p, &[]);
    let versions = versions_for(&w.state, &bookings);
    assert!(!versions.is_empty());
    let accept = |versions: Vec<_>, region_version| Command::AcceptPlan {
        plans: p.cases.clone(),
        now: now(),
        region_version,
        expected_versions: versions,
        reason: None,
        exceptions: Vec::new(),
    };
    // A plan made from another region version is refused, naming both.
    let resp = w.apply(accept(versions.clone(), 7));
    let Response::Rejected { conflicts, .. } = &resp else {
        panic!("{resp:?}")
    };
    assert_eq!(
        conflicts[0].to_string(),
        "the plan was made from region version 7; the cluster's region is at version 1"
    );
    let resp = w.apply(accept(versions.clone(), 1));
    assert!(resp.is_applied(), "{resp:?}");
    for cp in &p.cases {
        assert_eq!(w.state.cases[&cp.case].value.status, CaseStatus::Planned);
    }
    // The bookings are the plan's.
    let booked: usize = w.state.rooms.values().map(|r| r.bookings.len()).sum();
    let planned = bookings
        .iter()
        .filter(|b| matches!(b.resource, casehub_store::ResourceRef::Room(_)))
        .count();
    assert_eq!(booked, planned);
    // The same commit again is stale: the versions moved.
    let again = w.apply(accept(versions, 1));
    assert!(!again.is_applied());
    // Three more cases: planned around the committed bookings, and the
    // validator, which sees those bookings as the state, finds nothing.
    for c in &cases[3..] {
        assert!(w.apply(Command::SubmitCase(c.case.clone())).is_applied());
    }
    let (model, travel, _) = w.state.region_model().unwrap();
    let s2 = planning_state(&w.state, model, &travel.clone(), now(), &[]).unwrap();
    assert_eq!(s2.pending.len(), 3);
    assert!(!s2.room_bookings.is_empty() && !s2.officer_commitments.is_empty());
    let p2 = plan(&s2, &settings()).unwrap();
    assert!(validate(&s2, &p2).is_empty());
    let resp = w.apply(Command::AcceptPlan {
        plans: p2.cases.clone(),
        now: now(),
        region_version: 1,
        expected_versions: versions_for(&w.state, &plan_bookings_for(&p2, &[])),
        reason: None,
        exceptions: Vec::new(),
    });
    assert!(resp.is_applied(), "{resp:?}");
    // The raw booking command of older rules is refused from version 6.
    let resp = w.apply(Command::CommitPlan {
        bookings: plan_bookings_for(&p2, &[]),
        expected_versions: vec![],
    });
    let Response::Rejected { reason, .. } = &resp else {
        panic!("{resp:?}")
    };
    assert!(reason.contains("AcceptPlan"), "{reason}");
}

#[test]
fn unknown_or_planned_cases_are_refused_by_name() {
    let r = region();
    let w = loaded(&r);
    let (model, travel, _) = w.state.region_model().unwrap();
    let e = planning_state(
        &w.state,
        model,
        travel,
        now(),
        &[CaseId::new("C-404").unwrap()],
    )
    .unwrap_err();
    assert_eq!(
        e,
        DispatchError::UnknownCase {
            field: "case_ids".into(),
            id: "C-404".into()
        }
    );
    assert!(e.to_string().contains("case_ids") && e.to_string().contains("C-404"));
}
