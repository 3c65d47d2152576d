//! Between the replicated scheduling state and the allocation engine: pure
//! conversions, no IO.
//!
//! * [`planning_state`] and [`plan_bookings`] live in the store
//!   ([`casehub_store::plan_view`]), whose commit uses them too; they are
//!   re-exported here.
//! * [`versions_for`]: the versions of every entity a plan books, for the
//!   optimistic commit.
//! * [`region_commands`]: the commands that load a region.

use std::collections::BTreeSet;

use casehub_model::Region;
pub use casehub_store::plan_view::{
    DispatchError, plan_bookings, plan_bookings_for, planning_state,
};
use casehub_store::{EntityRef, PlannedBooking, SchedulingState};

/// The current versions of every room, officer and team the bookings name,
/// and of their cases.
pub fn versions_for(state: &SchedulingState, bookings: &[PlannedBooking]) -> Vec<(EntityRef, u64)> {
    let mut entities: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    let mut push = |e: EntityRef| {
        if entities.insert(format!("{e:?}"))
            && let Some(v) = state.version_of(&e)
        {
            out.push((e, v));
        }
    };
    for b in bookings {
        push(b.resource.entity());
        push(EntityRef::Case(b.booking.case.clone()));
    }
    out
}

/// The commands that register a region's sites, stations, officers and
/// escort teams, and its policy, in an order the state machine accepts
/// (sites and stations before the officers posted there, officers before the
/// teams they form).
pub fn region_commands(region: &Region) -> Vec<casehub_store::Command> {
    use casehub_store::Command;
    let mut v: Vec<Command> = region
        .sites
        .iter()
        .cloned()
        .map(Command::UpsertSite)
        .collect();
    v.extend(region.stations.iter().cloned().map(Command::UpsertStation));
    v.extend(region.officers.iter().cloned().map(Command::UpsertOfficer));
    v.extend(region.escort_teams.iter().cloned().map(Command::UpsertTeam));
    v.push(Command::SetPolicy(region.policy.clone()));
    v
}
