//! The fast constructive heuristic: roughly what dispatchers do today.
//!
//! Cases are taken by legal deadline, earliest first. For each, the sites are
//! tried nearest first; at each site the station's own officers escort if the
//! station can spare them, otherwise an escort team; the earliest start that
//! can be booked wins. No look-ahead and no trade-offs: it is the baseline the
//! MILP is measured against, its fallback, and a policy for the simulation.

use std::time::Instant;

use crate::assign::Booker;
use crate::options::{CaseOptions, Context, Opt, case_options};
use crate::plan::{EscortMode, Plan, SolverReport};
use crate::settings::Settings;
use crate::state::State;
use crate::{PlanError, finish};

/// Order a case's options the way a dispatcher would try them.
pub fn dispatcher_order(ctx: &Context<'_>, opts: &mut [Opt]) {
    opts.sort_by(|a, b| {
        let da = a.drive_to_site(ctx);
        let db = b.drive_to_site(ctx);
        da.total_cmp(&db)
            .then((a.mode == EscortMode::Team).cmp(&(b.mode == EscortMode::Team)))
            .then(a.depart.cmp(&b.depart))
            .then(a.questioning_end.cmp(&b.questioning_end))
    });
}

impl Opt {
    /// Minutes from the case's station to this option's site.
    pub fn drive_to_site(&self, ctx: &Context<'_>) -> f64 {
        let case = &ctx.state.pending[self.case].case;
        ctx.leg(
            case.origin.as_str(),
            ctx.region.sites[self.site].id.as_str(),
        )
        .map_or(f64::INFINITY, |l| l.1)
    }
}

/// Book options case by case; returns the chosen option per case (or none).
pub fn choose(
    ctx: &Context<'_>,
    all: &mut [CaseOptions],
    booker: &mut Booker,
) -> Vec<Option<(Opt, crate::assign::Booking)>> {
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by_key(|&ci| ctx.deadline(&ctx.state.pending[ci].case).0);
    let mut chosen = vec![None; all.len()];
    for ci in order {
        dispatcher_order(ctx, &mut all[ci].options);
        for opt in &all[ci].options {
            if let Ok(b) = booker.book(ctx, opt) {
                chosen[ci] = Some((opt.clone(), b));
                break;
            }
        }
    }
    chosen
}

/// Plan with the greedy heuristic alone.
pub fn plan(state: &State, settings: &Settings) -> Result<Plan, PlanError> {
    let started = Instant::now();
    let (state, pinned) = crate::split_pinned(state);
    let ctx = Context::new(&state, settings)?;
    let mut all: Vec<CaseOptions> = (0..state.pending.len())
        .map(|ci| case_options(&ctx, ci))
        .collect();
    let n_options = all.iter().map(|c| c.options.len()).sum();
    let mut booker = Booker::new(&ctx);
    let chosen = choose(&ctx, &mut all, &mut booker);
    let report = SolverReport {
        method: "greedy".into(),
        status: "greedy".into(),
        seconds: started.elapsed().as_secs_f64(),
        gap: None,
        lp_bound: None,
        model_objective: None,
        options: n_options,
        note: None,
    };
    Ok(finish(&ctx, &all, &chosen, pinned, report))
}
