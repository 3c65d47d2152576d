//! The fast constructive heuristic: roughly what dispatchers do today.
//!
//! Cases are taken by legal deadline, earliest first. For each, the sites are
//! tried nearest first; at each site the station's own officers escort if the
//! station can spare them, otherwise an escort team; the earliest start that
//! can be booked wins. No look-ahead and no trade-offs: it is the baseline the
//! MILP is measured against, its fallback, and a policy for the simulation.

use std::time::Instant;

use crate::assign::Booker;
use crate::capacity::Context;
use crate::options::{CaseOptions, Opt, case_options};
use crate::plan::{EscortMode, Plan, SolverReport};
use crate::settings::Settings;
use crate::state::State;
use crate::{PlanError, finish};

/// Order a case's options the way a dispatcher would try them.
pub fn dispatcher_order(ctx: &Context<'_>, opts: &mut [Opt]) {
    // Stable, by drive to the site (in `f64::total_cmp`'s order), station
    // officers before teams, departure, end of questioning.
    opts.sort_by_cached_key(|o| {
        (
            total_order_key(o.drive_to_site(ctx)),
            o.mode == EscortMode::Team,
            o.depart,
            o.questioning_end,
        )
    });
}

/// An integer that orders like `f64::total_cmp` (the same bit trick).
fn total_order_key(x: f64) -> i64 {
    let bits = x.to_bits() as i64;
    bits ^ (((bits >> 63) as u64) >> 1) as i64
}

impl Opt {
    /// Minutes from the case's station to this option's site.
    pub fn drive_to_site(&self, ctx: &Context<'_>) -> f64 {
        let case = &ctx.state.pending[self.case].case;
        match ctx.station_index.get(case.origin.as_str()) {
            Some(&sti) => ctx.leg_station_site(sti, self.site),
            None => ctx.leg(
                case.origin.as_str(),
                ctx.region.sites[self.site].id.as_str(),
            ),
        }
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
    let mut chosen = choose(&ctx, &mut all, &mut booker);
    crate::assign::serve_later(&ctx, &mut chosen);
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

#[cfg(test)]
mod tests {
    use super::total_order_key;

    #[test]
    fn total_order_key_orders_like_total_cmp() {
        let xs = [
            f64::NEG_INFINITY,
            -3.5,
            -0.0,
            0.0,
            1e-300,
            2.0,
            7.25,
            f64::INFINITY,
            f64::NAN,
            -f64::NAN,
        ];
        for a in xs {
            for b in xs {
                assert_eq!(total_order_key(a).cmp(&total_order_key(b)), a.total_cmp(&b));
            }
        }
    }
}
