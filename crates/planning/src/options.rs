//! The ways each case could be served ("options"), on a slot grid.
//!
//! An option fixes a destination site, an escort (the station's own officers,
//! or a pool of interchangeable escort teams of one site), a departure delay
//! and a questioning delay. From these follow the whole timeline: departure,
//! pickup, arrival, each person's intake → search → information collection →
//! holding → questioning, and the escort's return. Each option lists the
//! capacity it uses per slot (rooms of a kind, holding places, questioning officers,
//! searchers, teams, station officers away) and its cost.
//!
//! Options that break a rule on their own (the legal limit, a station's
//! minimum, a woman without a female escort, no officer on shift for the whole
//! job...) are never generated; the reason is recorded so that a case with no
//! option left can say which rule blocks it.
//!
//! This module holds the option types and [`case_options`], which enumerates
//! a case's options. The capacities they draw on are in [`crate::capacity`];
//! one option's timeline, usage and cost are built in `timeline`.

use casehub_model::{Gender, Officer, Qualification, RoomKind, Step};

use crate::plan::{CostBreakdown, EscortMode, Rule};
use crate::timeline::{CaseFrame, Why, build_option};
use crate::vehicles::{female_vehicles, seating};

// The capacity context used to live here; kept at its old paths.
pub use crate::capacity::{Context, Leg, Legs, Resource, ceil_minute, describe, rule_of};

/// A use of `amount` units of a resource over slots `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    pub resource: Resource,
    pub from: i64,
    pub to: i64,
    pub amount: u32,
}

/// One person's timeline in an option (slot indices, half-open).
#[derive(Debug, Clone, PartialEq)]
pub struct PersonTimeline {
    pub person: usize,
    /// (step, from, to) in order; holding only when there is a wait.
    pub steps: Vec<(Step, i64, i64)>,
}

/// One way to serve a case.
#[derive(Debug, Clone, PartialEq)]
pub struct Opt {
    pub case: usize,
    pub site: usize,
    pub mode: EscortMode,
    /// The site whose teams escort, for team mode.
    pub team_site: Option<usize>,
    pub depart: i64,
    pub pickup: i64,
    pub arrive: i64,
    pub back: i64,
    pub drive_min: f64,
    pub km: f64,
    pub persons: Vec<PersonTimeline>,
    pub usage: Vec<Usage>,
    /// Slot at which the last questioning ends.
    pub questioning_end: i64,
    pub slack_min: i64,
    /// For station escorts: the fewest officers left at the station meanwhile.
    pub station_left: Option<i32>,
    pub cost: CostBreakdown,
    /// Leaves later than any of the settings' departure delays, because
    /// none of them (nor any slot between them) could serve the case: why
    /// not.
    pub deferred: Option<String>,
    /// The persons (indices into the case's) per vehicle of the escort.
    pub vehicles: Vec<Vec<usize>>,
}

/// Why a (site, escort) combination produced no option for a case.
#[derive(Debug, Clone, PartialEq)]
pub struct Pruned {
    pub site: usize,
    pub mode: EscortMode,
    pub rule: Rule,
    pub detail: String,
}

/// The options of one case, and the reasons for what was left out.
#[derive(Debug, Default)]
pub struct CaseOptions {
    pub options: Vec<Opt>,
    pub pruned: Vec<Pruned>,
}

/// Why a juvenile cannot be questioned at site `si` with this escort at
/// all: no juvenile-suitable questioning room there, or no juvenile-trained
/// officer among those who would question (the station's crew, or the
/// site's questioning officers).
fn juvenile_reason(
    ctx: &Context<'_>,
    si: usize,
    sti: usize,
    mode: EscortMode,
    q_kind: RoomKind,
) -> Option<(Rule, Why)> {
    let region = ctx.region;
    let site = &region.sites[si];
    let why = if !site
        .rooms
        .iter()
        .any(|r| r.kind == q_kind && r.recording && r.juvenile_suitable)
    {
        format!("no juvenile-suitable {q_kind} room at {}", site.id)
    } else {
        match mode {
            EscortMode::Station
                if !ctx
                    .station_crew(sti)
                    .any(|(_, o)| o.can(Qualification::Juvenile)) =>
            {
                format!(
                    "station {} has no juvenile-trained officer to question a juvenile",
                    region.stations[sti].id
                )
            }
            EscortMode::Team
                if !ctx.site_questioners[si]
                    .iter()
                    .any(|&oi| region.officers[oi].can(Qualification::Juvenile)) =>
            {
                format!("no juvenile-trained questioning officer at {}", site.id)
            }
            _ => return None,
        }
    };
    Some((Rule::JuvenileQuestioning, Why::Text(why)))
}

/// Enumerate the options of case `ci` (an index into `state.pending`), at
/// the settings' departure and questioning delays.
pub fn case_options(ctx: &Context<'_>, ci: usize) -> CaseOptions {
    let mut start_delays = ctx.settings.start_delays.clone();
    start_delays.sort_unstable();
    start_delays.dedup();
    let mut questioning_delays = ctx.settings.questioning_delays.clone();
    questioning_delays.sort_unstable();
    questioning_delays.dedup();
    let (out, _) = options_at(ctx, ci, &start_delays, &questioning_delays, true, false);
    if !out.options.is_empty() {
        return out;
    }
    // Nothing with the teams of the site or the main center: the teams of
    // any site.
    let (wider, _) = options_at(ctx, ci, &start_delays, &questioning_delays, true, true);
    if wider.options.is_empty() { out } else { wider }
}

/// The options of case `ci` that leave exactly `delay` slots after its
/// earliest start, at the settings' questioning delays, cheapest first; and
/// whether every later departure is bound to miss the legal deadline too.
/// Used for a case that none of its regular options could serve: it may
/// still leave later, beyond the settings' delays, when a shift starts or a
/// room frees up.
pub fn options_leaving_at(ctx: &Context<'_>, ci: usize, delay: u32) -> (Vec<Opt>, bool) {
    let mut questioning_delays = ctx.settings.questioning_delays.clone();
    questioning_delays.sort_unstable();
    questioning_delays.dedup();
    let (mut out, exhausted) = options_at(ctx, ci, &[delay], &questioning_delays, false, true);
    out.options
        .sort_by(|a, b| a.cost.total.total_cmp(&b.cost.total));
    (out.options, exhausted)
}

/// The options of case `ci` at the given delays (sorted, without repeats);
/// and whether the search stopped everywhere because even the earliest of
/// them misses the legal deadline. With `later`, a site and escort that no
/// delay could serve get their earliest departure at another slot. With
/// `any_team_site`, the escort teams of every site are tried, not only the
/// destination's and the main center's.
fn options_at(
    ctx: &Context<'_>,
    ci: usize,
    start_delays: &[u32],
    questioning_delays: &[u32],
    later: bool,
    any_team_site: bool,
) -> (CaseOptions, bool) {
    let region = ctx.region;
    let policy = &region.policy;
    let case = &ctx.state.pending[ci].case;
    let restriction = ctx.state.pending[ci].restriction.as_ref();
    let mut out = CaseOptions::default();
    let Some(&sti) = ctx.station_index.get(case.origin.as_str()) else {
        out.pruned.push(Pruned {
            site: 0,
            mode: EscortMode::Station,
            rule: Rule::Reference,
            detail: format!("origin station {} does not exist", case.origin),
        });
        return (out, true);
    };
    let station = &region.stations[sti];
    let any_juvenile = policy.juvenile_questioning && case.persons.iter().any(|p| p.juvenile);
    let (deadline_at, deadline) = ctx.deadline(case);
    let deadline_min = deadline_at.timestamp().div_euclid(60) - ctx.t0_min;
    let not_before = restriction
        .and_then(|r| r.not_before)
        .map_or(ctx.state.now, |t| t.max(ctx.state.now));
    let earliest = ctx
        .slot_of_ceil(case.clock_started_at.max(not_before))
        .max(0);
    let k_escort = policy.min_escort_officers as usize;
    let k_q = policy.min_questioning_officers as usize;
    let pre: Vec<(Step, i64)> = [Step::Intake, Step::Search, Step::InformationCollection]
        .into_iter()
        .map(|s| (s, ctx.step_slots(s, case)))
        .collect();
    let q_len = ctx.step_slots(Step::Questioning, case);
    // Delays in increasing order: the search stops at the first that is too late.
    let mut exhausted = true;
    // Sites and escorts that no delay served but a later departure might.
    let mut retry = Vec::new();
    let q_kind = case.category.questioning_room();
    let frame = CaseFrame {
        ci,
        sti,
        pre: &pre,
        q_len,
        q_kind,
        deadline,
        deadline_min,
    };

    for (si, site) in region.sites.iter().enumerate() {
        let Some((to_site, to_site_min, to_site_km)) = ctx.leg_station_site(sti, si) else {
            out.pruned.push(Pruned {
                site: si,
                mode: EscortMode::Station,
                rule: Rule::Reference,
                detail: format!("no travel time from {} to {}", station.id, site.id),
            });
            continue;
        };
        // Escorts: the station's own officers, or the teams of this site or of the main center.
        let mut escorts: Vec<(EscortMode, Option<usize>)> = vec![(EscortMode::Station, None)];
        let main = ctx.site_index[region.main_center().id.as_str()];
        let team_sites: Vec<usize> = if any_team_site {
            std::iter::once(si)
                .chain(std::iter::once(main))
                .chain(0..region.sites.len())
                .collect()
        } else {
            vec![si, main]
        };
        for ts in team_sites {
            if escorts.iter().all(|e| e.1 != Some(ts))
                && region
                    .escort_teams
                    .iter()
                    .any(|t| t.site == region.sites[ts].id)
            {
                escorts.push((EscortMode::Team, Some(ts)));
            }
        }
        if let Some(r) = restriction {
            escorts.retain(|&(mode, _)| r.allows(&site.id, mode));
        }
        for (mode, team_site) in escorts {
            let mut reason: Option<(Rule, Why)> = None;
            let mut made = 0;
            // Static checks for the escort.
            match mode {
                EscortMode::Station => {
                    let crew: Vec<(usize, &Officer)> = ctx.station_crew(sti).collect();
                    let vehicles = seating(&case.persons, policy.separate_vehicles, None);
                    let needed = (k_escort * vehicles.len().max(1)).max(k_q);
                    let female_vehicles = female_vehicles(&case.persons, &vehicles);
                    let women = crew
                        .iter()
                        .filter(|(_, o)| o.gender == Gender::Female)
                        .count();
                    if crew.len() < needed {
                        reason = Some((
                            Rule::EscortOfficers,
                            Why::Text(format!(
                                "station {} has {} officers who may escort and question, {needed} needed{}",
                                station.id,
                                crew.len(),
                                if vehicles.len() > 1 {
                                    format!(" for {} vehicles", vehicles.len())
                                } else {
                                    String::new()
                                }
                            )),
                        ));
                    } else if women < female_vehicles {
                        reason = Some((
                            Rule::FemaleEscort,
                            Why::Text(if women == 0 {
                                format!(
                                    "station {} has no female officer to escort a woman",
                                    station.id
                                )
                            } else {
                                format!(
                                    "station {} has {women} female officers, {female_vehicles} vehicles carry a woman",
                                    station.id
                                )
                            }),
                        ));
                    }
                }
                EscortMode::Team => {
                    let ts = team_site.expect("team mode has a team site");
                    let teams: Vec<_> = region
                        .escort_teams
                        .iter()
                        .filter(|t| t.site == region.sites[ts].id)
                        .collect();
                    let seats = teams.first().map_or(0, |t| t.passenger_seats() as usize);
                    let vehicles = seating(&case.persons, policy.separate_vehicles, Some(seats));
                    let female_vehicles = female_vehicles(&case.persons, &vehicles);
                    let female_teams = ctx.site_teams[ts]
                        .iter()
                        .filter(|&&ti| {
                            ctx.team_members[ti]
                                .iter()
                                .any(|&m| region.officers[m].gender == Gender::Female)
                        })
                        .count();
                    if seats == 0 {
                        reason = Some((
                            Rule::TeamUnavailable,
                            Why::Text(format!(
                                "no team of {} has a free seat",
                                region.sites[ts].id
                            )),
                        ));
                    } else if teams.iter().any(|t| t.passenger_seats() as usize != seats) {
                        reason = Some((
                            Rule::TeamUnavailable,
                            Why::Text(format!(
                                "teams of {} differ in seats; only uniform pools are planned",
                                region.sites[ts].id
                            )),
                        ));
                    } else if teams.len() < vehicles.len() {
                        reason = Some((
                            if policy.separate_vehicles {
                                Rule::SeparateVehicles
                            } else {
                                Rule::TeamUnavailable
                            },
                            Why::Text(format!(
                                "{} has {} escort teams, the case needs {} vehicles",
                                region.sites[ts].id,
                                teams.len(),
                                vehicles.len()
                            )),
                        ));
                    } else if female_teams < female_vehicles {
                        reason = Some((
                            Rule::FemaleEscort,
                            Why::Text(if female_teams == 0 {
                                format!("no team of {} has a female officer", region.sites[ts].id)
                            } else {
                                format!(
                                    "{} teams of {} have a female officer, {female_vehicles} vehicles carry a woman",
                                    female_teams, region.sites[ts].id
                                )
                            }),
                        ));
                    } else if teams.iter().any(|t| t.members.len() < k_escort) {
                        reason = Some((
                            Rule::EscortOfficers,
                            Why::Text(format!(
                                "a team of {} has fewer than {k_escort} officers",
                                region.sites[ts].id
                            )),
                        ));
                    }
                }
            }
            if reason.is_none() && any_juvenile {
                reason = juvenile_reason(ctx, si, sti, mode, q_kind);
            }
            // A combination that cannot be staffed at all, or whose
            // earliest delay already misses the deadline, has no later option.
            let mut stopped = reason.is_some();
            if reason.is_some() {
                // The escort cannot be staffed; but if even the earliest start
                // would miss the deadline, that is what blocks the case.
                let legs = (to_site, to_site_min, to_site_km);
                let earliest_try =
                    build_option(ctx, &frame, si, mode, team_site, earliest, 0, legs);
                if let Err((Rule::LegalLimit, detail, _)) = earliest_try {
                    reason = Some((Rule::LegalLimit, detail));
                }
            } else {
                let legs = (to_site, to_site_min, to_site_km);
                let try_at = |depart: i64, qd: u32| {
                    build_option(
                        ctx,
                        &frame,
                        si,
                        mode,
                        team_site,
                        depart,
                        i64::from(qd),
                        legs,
                    )
                };
                out.options
                    .reserve(start_delays.len() * questioning_delays.len());
                'delays: for &dd in start_delays {
                    for &qd in questioning_delays {
                        match try_at(earliest + i64::from(dd), qd) {
                            Ok(opt) => {
                                made += 1;
                                out.options.push(opt);
                            }
                            Err((rule, detail, stop)) => {
                                if reason.is_none() || rule != Rule::LegalLimit {
                                    reason = Some((rule, detail));
                                }
                                if stop {
                                    stopped = true;
                                    break 'delays;
                                }
                            }
                        }
                    }
                }
                if made == 0 && !stopped && later {
                    retry.push((si, mode, team_site, legs));
                }
            }
            if made > 0 || !stopped {
                exhausted = false;
            }
            if made == 0 {
                let (rule, detail) = reason.map_or_else(
                    || (Rule::LegalLimit, "no start time within the horizon".into()),
                    |(rule, why)| (rule, why.text(ctx)),
                );
                out.pruned.push(Pruned {
                    site: si,
                    mode,
                    rule,
                    detail,
                });
            }
        }
    }
    // No option at all at the delays: the earliest departure at any other
    // slot up to the horizon (between the delays, or after them: a shift
    // that starts, a room that frees up), with why none leaves sooner.
    if out.options.is_empty() {
        for (si, mode, team_site, legs) in retry {
            let mut found = Vec::new();
            let others = (earliest..ctx.settings.horizon_slots()).filter(|&d| {
                start_delays
                    .binary_search(&u32::try_from(d - earliest).unwrap_or(u32::MAX))
                    .is_err()
            });
            'later: for depart in others {
                for &qd in questioning_delays {
                    match build_option(
                        ctx,
                        &frame,
                        si,
                        mode,
                        team_site,
                        depart,
                        i64::from(qd),
                        legs,
                    ) {
                        Ok(opt) => found.push(opt),
                        Err((_, _, true)) => break 'later,
                        Err(_) => {}
                    }
                }
                if !found.is_empty() {
                    break;
                }
            }
            let why = out
                .pruned
                .iter()
                .find(|p| p.site == si && p.mode == mode)
                .map_or_else(|| "no earlier start".to_string(), |p| p.detail.clone());
            let last = start_delays.last().map_or(0, |&d| i64::from(d));
            for mut o in found {
                if o.depart - earliest > last {
                    o.deferred = Some(why.clone());
                }
                out.options.push(o);
            }
        }
    }
    (out, exhausted)
}
