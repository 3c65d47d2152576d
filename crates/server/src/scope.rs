//! Site scopes: which cases a site-scoped user (a dispatcher's or a
//! site's) sees and acts on.
//!
//! A case belongs to its **home site**, the site nearest its origin station
//! by travel time (by straight-line distance when the travel table lacks
//! one of the pairs), and to every site it is booked at (its rooms' and escort
//! teams' sites). A user whose site-scoped roles name sites sees and acts
//! on the cases of those sites only; a user without sites acts for the
//! whole region (the main center's control room). A user with a role that
//! is not site-scoped and grants the permission (a supervisor's reads, a
//! planner's pseudonymous case list) is not limited.
//!
//! [`crate::grpc_api::Api::write`] checks every case command here before
//! it is proposed; the case reads filter here. Out of scope is NOT_FOUND,
//! as for a case that does not exist: a scoped user learns nothing of the
//! cases of other sites.

use std::collections::{BTreeMap, BTreeSet};

use casehub_model::{CaseId, SiteId, StationId};
use casehub_store::{Command, SchedulingState};
use casehub_travel::TravelTable;
use tonic::Status;

use crate::auth::{Caller, Permission, grants};

/// The sites a caller's use of `permission` is limited to; `None`: every site.
pub fn limit(caller: &Caller, permission: Permission) -> Option<&BTreeSet<SiteId>> {
    let unlimited = caller
        .roles
        .iter()
        .any(|r| !r.site_scoped() && grants(*r).contains(&permission));
    if unlimited || caller.sites.is_empty() {
        None
    } else {
        Some(&caller.sites)
    }
}

/// The site nearest `station` by travel time, if there is a site.
pub fn home_site(
    state: &SchedulingState,
    travel: &TravelTable,
    station: &StationId,
) -> Option<SiteId> {
    let from = state.stations.get(station)?;
    let minutes: Option<Vec<(f64, &SiteId)>> = state
        .sites
        .keys()
        .map(|id| {
            travel
                .leg(station.as_str(), id.as_str())
                .map(|l| (l.minutes, id))
        })
        .collect();
    // Where the table lacks a pair, every site by straight-line distance.
    let cost = minutes.unwrap_or_else(|| {
        state
            .sites
            .iter()
            .map(|(id, site)| {
                let km =
                    casehub_travel::great_circle_km(&from.value.location, &site.value.location);
                (km, id)
            })
            .collect()
    });
    cost.into_iter()
        .min_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, id)| id.clone())
}

/// The sites of a case: its home site and the sites it is booked at.
pub fn case_sites(
    state: &SchedulingState,
    travel: &TravelTable,
    case: &CaseId,
) -> BTreeSet<SiteId> {
    sites_of(state, travel, |c| c == case)
        .remove(case)
        .unwrap_or_default()
}

/// [`case_sites`] of every case, in one pass over the bookings (for the
/// reads that look at many cases).
pub fn sites_by_case(
    state: &SchedulingState,
    travel: &TravelTable,
) -> BTreeMap<CaseId, BTreeSet<SiteId>> {
    sites_of(state, travel, |_| true)
}

/// The sites of the cases `which` selects.
fn sites_of(
    state: &SchedulingState,
    travel: &TravelTable,
    which: impl Fn(&CaseId) -> bool,
) -> BTreeMap<CaseId, BTreeSet<SiteId>> {
    let mut homes: BTreeMap<&StationId, Option<SiteId>> = BTreeMap::new();
    let mut out: BTreeMap<CaseId, BTreeSet<SiteId>> = BTreeMap::new();
    for (id, entry) in state.cases.iter().filter(|(id, _)| which(id)) {
        let origin = &entry.value.case.origin;
        let home = homes
            .entry(origin)
            .or_insert_with(|| home_site(state, travel, origin));
        out.insert(id.clone(), home.iter().cloned().collect());
    }
    let booked = state
        .rooms
        .values()
        .map(|r| (&r.value.site, &r.bookings))
        .chain(state.teams.values().map(|t| (&t.value.site, &t.bookings)));
    for (site, bookings) in booked {
        for b in bookings {
            if let Some(sites) = out.get_mut(&b.case) {
                sites.insert(site.clone());
            }
        }
    }
    out
}

/// Whether a caller limited to `limit` may see or act on a case of `sites`.
pub fn allows(limit: Option<&BTreeSet<SiteId>>, sites: &BTreeSet<SiteId>) -> bool {
    limit.is_none_or(|l| !l.is_disjoint(sites))
}

/// The cases a command acts on, with, for a new case, its origin station.
fn command_cases(command: &Command) -> (Vec<&CaseId>, Option<&StationId>) {
    match command {
        Command::SubmitCase(c) | Command::SubmitCaseWithParticulars { case: c, .. } => {
            (Vec::new(), Some(&c.origin))
        }
        Command::CommitPlan { bookings, .. } | Command::OverridePlan { bookings, .. } => {
            let mut cases: Vec<&CaseId> = bookings.iter().map(|b| &b.booking.case).collect();
            cases.sort();
            cases.dedup();
            (cases, None)
        }
        Command::AcceptPlan { plans, .. } => {
            let mut cases: Vec<&CaseId> = plans.iter().map(|cp| &cp.case).collect();
            cases.sort();
            cases.dedup();
            (cases, None)
        }
        Command::StartStep { case, .. }
        | Command::RequestException { case, .. }
        | Command::CompleteStep { case, .. }
        | Command::ReleaseRooms { case, .. }
        | Command::ExitCase { case, .. }
        | Command::ReportDelay { case, .. } => (vec![case], None),
        _ => (Vec::new(), None),
    }
}

/// NOT_FOUND unless `caller` may act on every case `command` names, for
/// `permission`.
pub fn check_command(
    caller: &Caller,
    permission: Permission,
    state: &SchedulingState,
    travel: &TravelTable,
    command: &Command,
) -> Result<(), Status> {
    let Some(limit) = limit(caller, permission) else {
        return Ok(());
    };
    let (cases, origin) = command_cases(command);
    if let Some(station) = origin {
        let home: BTreeSet<SiteId> = home_site(state, travel, station).into_iter().collect();
        if !allows(Some(limit), &home) {
            return Err(Status::permission_denied(format!(
                "case.origin_station_id: station {station} belongs to site {}, outside {}'s sites ({})",
                home.iter().next().map_or("(none)", |s| s.as_str()),
                caller.name,
                names(limit)
            )));
        }
    }
    for case in cases {
        if state.cases.contains_key(case) && !allows(Some(limit), &case_sites(state, travel, case))
        {
            return Err(Status::not_found(format!("no case {case}")));
        }
    }
    Ok(())
}

fn names(sites: &BTreeSet<SiteId>) -> String {
    sites
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
