//! The allocation engine.
//!
//! A dispatcher asks: "a person was just detained at station S — where do they
//! go, who brings them, which rooms, who questions them?" [`plan`] answers for
//! a set of pending cases at once, given the current [`State`] (existing
//! bookings and commitments), and returns a [`Plan`] that keeps every legal
//! rule, or says which rule blocks which case.
//!
//! * [`capacity`] holds what a planning run knows before it starts: the slot
//!   grid, the region's indices and travel legs, and the capacity each
//!   resource has left per slot after the existing bookings.
//! * [`options`] enumerates, for each case, the ways it could be served: a
//!   destination site, an escort (the station's own officers or an escort
//!   team) and a start time, each with its timeline and cost, on a slot grid
//!   (one option's timeline is built in `timeline`).
//! * [`milp`] picks one option per case with a MILP solved by HiGHS, subject
//!   to room, holding, officer, team and station-minimum capacities per slot.
//! * [`greedy`] is the fast constructive heuristic (nearest site, station
//!   officers escort), used as the baseline, the fallback and a simulation policy.
//! * [`validate`] checks any plan against the rules from scratch; it shares
//!   no code with the two solvers.
//! * [`vehicles`] seats a case's persons in the vehicles its escort takes
//!   (co-suspects, and juveniles and adults, apart).
//!
//! This crate does no IO and is not async.

pub mod assign;
pub mod capacity;
pub mod generate;
pub mod greedy;
pub mod milp;
pub mod options;
pub mod plan;
pub mod settings;
pub mod state;
mod timeline;
pub mod validate;
pub mod vehicles;

pub use plan::{
    Blocked, CasePlan, CostBreakdown, Escort, EscortMode, Explanation, PersonPlan, Plan, Rule,
    SolverReport, StepBooking, Vehicle,
};
pub use settings::{Method, Settings, Weights};
pub use state::{
    Booked, Commitment, DispatchInput, PendingCase, Restriction, RoomBooking, RoomClosure, State,
    TeamCommitment,
};
pub use validate::{Violation, validate};

/// Plan the pending cases of `state` with the method in `settings`.
pub fn plan(state: &State, settings: &Settings) -> Result<Plan, PlanError> {
    match settings.method {
        Method::Greedy => greedy::plan(state, settings),
        Method::Milp => milp::plan(state, settings),
    }
}

/// Why the engine could not produce a plan at all (as opposed to a plan that
/// leaves some cases blocked, which is reported inside the [`Plan`]).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("invalid setting {field} = {value}: {reason}")]
    Setting {
        field: &'static str,
        value: String,
        reason: String,
    },
    #[error("invalid state: {0}")]
    State(String),
    #[error("solver failed: {0}")]
    Solver(String),
}

/// Turn pinned cases into existing bookings and commitments, so that the
/// solvers plan only the others around them. Returns the reduced state and the
/// pinned plans, which go into the output unchanged.
/// Without pinned cases the state is borrowed as it is (no copy of the
/// region and travel table at every call).
pub(crate) fn split_pinned(state: &State) -> (std::borrow::Cow<'_, State>, Vec<CasePlan>) {
    if state.pending.iter().all(|pc| pc.pinned.is_none()) {
        return (std::borrow::Cow::Borrowed(state), Vec::new());
    }
    let mut s = state.clone();
    let mut pinned = Vec::new();
    s.pending.clear();
    for pc in &state.pending {
        let Some(p) = &pc.pinned else {
            s.pending.push(pc.clone());
            continue;
        };
        let mut p = p.clone();
        p.pinned = true;
        let booked = state::Booked::of(&pc.case, &p);
        s.room_bookings.extend(booked.rooms);
        s.officer_commitments.extend(booked.officers);
        s.team_commitments.extend(booked.teams);
        pinned.push(p);
    }
    (std::borrow::Cow::Owned(s), pinned)
}

/// Assemble the plan: case plans, blocked cases with their reasons,
/// explanations, the imbalance term and the objective.
pub(crate) fn finish(
    ctx: &capacity::Context<'_>,
    all: &[options::CaseOptions],
    chosen: &[Option<(options::Opt, assign::Booking)>],
    pinned: Vec<CasePlan>,
    solver: SolverReport,
) -> Plan {
    let region = ctx.region;
    let mut cases = pinned;
    let mut blocked = Vec::new();
    let mut load = vec![0.0f64; region.sites.len()];
    // What the chosen options leave, to say what kept a cheaper alternative
    // out (only when explaining).
    let explained = ctx.settings.explain.then(|| left_after(ctx, chosen));
    for (ci, c) in chosen.iter().enumerate() {
        let case = &ctx.state.pending[ci].case;
        match c {
            Some((opt, b)) => {
                let mut cp = assign::case_plan(ctx, opt, b);
                if let Some(left) = &explained {
                    cp.explanation = explain(ctx, opt, &all[ci].options, left);
                }
                load[opt.site] += case.persons.len() as f64;
                cases.push(cp);
            }
            None => blocked.push(ci),
        }
    }
    // What the chosen options leave, to say what blocks the others (only
    // needed when some case is blocked).
    let left = match (explained, blocked.is_empty()) {
        (_, true) => rustc_hash::FxHashMap::default(),
        (Some(left), false) => left,
        (None, false) => left_after(ctx, chosen),
    };
    let blocked = blocked
        .into_iter()
        .map(|ci| block_reason(ctx, ci, &all[ci], &left))
        .collect();
    let imbalance_cost = max_load(ctx, &load) * ctx.settings.weights.imbalance;
    let objective = cases
        .iter()
        .filter(|c| !c.pinned)
        .map(|c| c.cost.total)
        .sum::<f64>()
        + imbalance_cost;
    Plan {
        now: ctx.state.now,
        region_version: 0,
        cases,
        blocked,
        objective,
        imbalance_cost,
        solver,
    }
}

/// The capacity the chosen options leave, per resource and slot.
fn left_after(
    ctx: &capacity::Context<'_>,
    chosen: &[Option<(options::Opt, assign::Booking)>],
) -> rustc_hash::FxHashMap<capacity::Resource, Vec<i32>> {
    let mut left = ctx.capacity.clone();
    for (opt, _) in chosen.iter().flatten() {
        for u in &opt.usage {
            if let Some(v) = left.get_mut(&u.resource) {
                for k in u.from.max(0)..u.to.min(ctx.slots) {
                    v[k as usize] -= u.amount as i32;
                }
            }
        }
    }
    left
}

/// Persons per questioning room at the busiest site.
pub(crate) fn max_load(ctx: &capacity::Context<'_>, persons_per_site: &[f64]) -> f64 {
    persons_per_site
        .iter()
        .enumerate()
        .map(|(si, &p)| p / questioning_rooms(ctx, si))
        .fold(0.0, f64::max)
}

pub(crate) fn questioning_rooms(ctx: &capacity::Context<'_>, si: usize) -> f64 {
    let site = &ctx.region.sites[si];
    let n = site
        .rooms
        .iter()
        .filter(|r| {
            matches!(
                r.kind,
                casehub_model::RoomKind::Interrogation | casehub_model::RoomKind::Inquiry
            )
        })
        .count();
    n.max(1) as f64
}

fn block_reason(
    ctx: &capacity::Context<'_>,
    ci: usize,
    co: &options::CaseOptions,
    left: &rustc_hash::FxHashMap<capacity::Resource, Vec<i32>>,
) -> Blocked {
    let case = &ctx.state.pending[ci].case;
    if co.options.is_empty() {
        let mut pruned = co.pruned.clone();
        let near = |p: &options::Pruned| {
            ctx.leg(case.origin.as_str(), ctx.region.sites[p.site].id.as_str())
                .map_or(f64::INFINITY, |l| l.1)
        };
        pruned.sort_by(|a, b| near(a).total_cmp(&near(b)));
        let rule = pruned.first().map_or(Rule::Reference, |p| p.rule);
        let detail = if pruned.is_empty() {
            match &ctx.state.pending[ci].restriction {
                Some(r) => format!(
                    "no way to serve it as overridden (site {}, escort {})",
                    r.site.as_ref().map_or("any", |s| s.as_str()),
                    r.escort.map_or("any", mode_name)
                ),
                None => "no site to send the case to".to_string(),
            }
        } else {
            pruned
                .iter()
                .map(|p| {
                    format!(
                        "{} by {}: {} ({})",
                        ctx.region.sites[p.site].id,
                        mode_name(p.mode),
                        p.detail,
                        p.rule
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        return Blocked {
            case: case.id.clone(),
            rule,
            detail,
        };
    }
    // Options existed, but capacity went to other cases: name what the
    // cheapest option lacks.
    let best = co
        .options
        .iter()
        .min_by(|a, b| a.cost.total.total_cmp(&b.cost.total))
        .expect("non-empty");
    let short = best.usage.iter().find_map(|u| {
        let v = left.get(&u.resource)?;
        (u.from.max(0)..u.to.min(ctx.slots))
            .find(|&k| v[k as usize] < u.amount as i32)
            .map(|k| (u.resource, k))
    });
    let (rule, what) = match short {
        Some((r, k)) => (
            capacity::rule_of(r),
            format!(
                "{} are all taken at {}",
                capacity::describe(ctx, r),
                ctx.time_of(k).format("%Y-%m-%d %H:%M UTC")
            ),
        ),
        None => (
            Rule::OfficerUnavailable,
            "no named rooms and officers fit together".to_string(),
        ),
    };
    Blocked {
        case: case.id.clone(),
        rule,
        detail: format!(
            "all {} ways to serve it conflict with other cases; the cheapest (at {} by {}): {what}",
            co.options.len(),
            ctx.region.sites[best.site].id,
            mode_name(best.mode)
        ),
    }
}

fn mode_name(m: EscortMode) -> &'static str {
    match m {
        EscortMode::Station => "station officers",
        EscortMode::Team => "escort team",
    }
}

/// Compare the chosen option with the best option at another site (or, with
/// one site, with the other kind of escort), standing alone.
fn explain(
    ctx: &capacity::Context<'_>,
    chosen: &options::Opt,
    options: &[options::Opt],
    left: &rustc_hash::FxHashMap<capacity::Resource, Vec<i32>>,
) -> Option<Explanation> {
    let other_site = options
        .iter()
        .filter(|o| o.site != chosen.site)
        .min_by(|a, b| a.cost.total.total_cmp(&b.cost.total));
    let alt = other_site.or_else(|| {
        options
            .iter()
            .filter(|o| o.mode != chosen.mode)
            .min_by(|a, b| a.cost.total.total_cmp(&b.cost.total))
    })?;
    let mut reasons = Vec::new();
    let d = alt.drive_min - chosen.drive_min;
    if d.abs() >= 1.0 {
        reasons.push(format!("{:+.0} min escort driving", d));
    }
    if let Some(left) = alt.station_left {
        let station = &ctx.state.pending[alt.case].case.origin;
        reasons.push(format!("station {station} would drop to {left} officers"));
    }
    let h = alt.cost.officer_hours_away - chosen.cost.officer_hours_away;
    if h.abs() >= 0.1 {
        reasons.push(format!("{:+.1} station officer-hours away", h));
    }
    let s = alt.slack_min - chosen.slack_min;
    if s != 0 {
        reasons.push(format!("{:+} min slack to the legal limit", s));
    }
    let w = (alt.cost.waiting_cost - chosen.cost.waiting_cost)
        / ctx.settings.weights.waiting.max(f64::EPSILON);
    if w.abs() >= 1.0 && ctx.settings.weights.waiting > 0.0 {
        reasons.push(format!("{:+.0} min waiting before questioning", w));
    }
    let extra_cost = alt.cost.total - chosen.cost.total;
    // A cheaper alternative lost for a reason the costs do not show: say it.
    if extra_cost < 0.0 {
        reasons.insert(0, binding_reason(ctx, chosen, alt, left));
    }
    Some(Explanation {
        alternative_site: Some(ctx.region.sites[alt.site].id.clone()),
        alternative_escort: Some(alt.mode),
        extra_cost,
        reasons,
    })
}

/// Why the cheaper `alt` was not taken: the first capacity it needs that
/// the other cases' choices leave too little of (this case's own use given
/// back), with when; or, when it would have fitted, that the plan as a whole
/// did better without it.
fn binding_reason(
    ctx: &capacity::Context<'_>,
    chosen: &options::Opt,
    alt: &options::Opt,
    left: &rustc_hash::FxHashMap<capacity::Resource, Vec<i32>>,
) -> String {
    let escort = match alt.mode {
        plan::EscortMode::Team => "an escort team",
        plan::EscortMode::Station => "the station's officers",
    };
    let what = format!(
        "the cheaper alternative at {} with {escort}",
        ctx.region.sites[alt.site].id
    );
    let own = |r: capacity::Resource, k: i64| -> i32 {
        chosen
            .usage
            .iter()
            .filter(|u| u.resource == r && u.from <= k && k < u.to)
            .map(|u| u.amount as i32)
            .sum()
    };
    for u in &alt.usage {
        let Some(v) = left.get(&u.resource) else {
            continue;
        };
        let short: Vec<i64> = (u.from.max(0)..u.to.min(ctx.slots))
            .filter(|&k| v[k as usize] + own(u.resource, k) < u.amount as i32)
            .collect();
        if let (Some(&a), Some(&b)) = (short.first(), short.last()) {
            return format!(
                "{what} was not possible: {} has no capacity left from {} to {}",
                capacity::describe(ctx, u.resource),
                ctx.time_of(a).format("%H:%M"),
                ctx.time_of(b + 1).format("%H:%M")
            );
        }
    }
    format!(
        "{what} fitted the capacity left, but the plan as a whole did better without it \
         (the balance of load across sites, the order in which cases were booked, \
         or the named rooms and officers free then)"
    )
}
