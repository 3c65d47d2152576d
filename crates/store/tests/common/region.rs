//! The sample county loaded into a state with its region replicated, and
//! plans made and committed on it.

use chrono::{DateTime, Utc};

use casehub_model::Region;
use casehub_model::scenario::parse_region;
use casehub_planning::{CasePlan, Method, Plan, Settings, plan};
use casehub_store::plan_view::planning_state;
use casehub_store::{Command, RegionStatic, Request, Response, SchedulingState};
use casehub_travel::{GreatCircle, TravelTable};

pub fn region() -> Region {
    parse_region(
        "region-3-sites.toml",
        include_str!("../../../../simulations/sample-county/region-3-sites.toml"),
    )
    .unwrap()
}

pub struct World {
    pub state: SchedulingState,
    pub index: u64,
    pub now: DateTime<Utc>,
}

impl World {
    pub fn apply(&mut self, command: Command) -> Response {
        self.index += 1;
        self.state
            .apply(self.index, &request(self.index, self.now, command))
    }
}

pub fn request(index: u64, now: DateTime<Utc>, command: Command) -> Request {
    Request {
        client_id: "test".into(),
        request_id: index,
        actor: "dispatcher".into(),
        site: None,
        time: now,
        command,
        trace: None,
    }
}

/// The sample county's three sites loaded, with its region replicated.
pub fn loaded(r: &Region, now: DateTime<Utc>) -> World {
    let mut w = World {
        state: SchedulingState::new(),
        index: 0,
        now,
    };
    let table = TravelTable::for_region(&GreatCircle::new(1.35, 45.0).unwrap(), r).unwrap();
    let mut commands: Vec<Command> = r.sites.iter().cloned().map(Command::UpsertSite).collect();
    commands.extend(r.stations.iter().cloned().map(Command::UpsertStation));
    commands.extend(r.officers.iter().cloned().map(Command::UpsertOfficer));
    commands.extend(r.escort_teams.iter().cloned().map(Command::UpsertTeam));
    commands.push(Command::SetPolicy(r.policy.clone()));
    commands.push(Command::SetRegion(Box::new(RegionStatic::of(r, table))));
    for c in commands {
        let resp = w.apply(c);
        assert!(resp.is_applied(), "{resp:?}");
    }
    w
}

pub fn accept(plans: Vec<CasePlan>, now: DateTime<Utc>, region_version: u64) -> Command {
    Command::AcceptPlan {
        plans,
        now,
        region_version,
        expected_versions: Vec::new(),
        reason: None,
        exceptions: Vec::new(),
    }
}

/// The engine's plan for the submitted cases, on the replicated state.
pub fn propose(state: &SchedulingState, now: DateTime<Utc>) -> Plan {
    let (model, travel, _) = state.region_model().unwrap();
    let s = planning_state(state, model, travel, now, &[]).unwrap();
    let settings = Settings {
        method: Method::Greedy,
        ..Settings::default()
    };
    plan(&s, &settings).unwrap()
}
