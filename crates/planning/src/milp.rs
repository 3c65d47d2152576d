//! The MILP: choose one option per case (or leave it blocked, at a large
//! penalty) so that no capacity is exceeded in any slot, minimising the sum
//! of option costs plus the weighted load of the busiest site.
//!
//! ```text
//! min  Σ_o cost_o·x_o + M·Σ_c u_c + w_imb·L
//! s.t. Σ_{o∈c} x_o + u_c = 1                          every case c
//!      Σ_o use_o(r,k)·x_o ≤ cap(r,k)                  every resource r and slot k it could overflow
//!      L ≥ Σ_{o at s} persons_o / questioning_rooms_s  every site s
//!      x binary, 0 ≤ u ≤ 1, L ≥ 0
//! ```
//!
//! Built with good_lp, solved by HiGHS with a time limit and a relative gap,
//! warm-started from the greedy. Capacities are counts; the chosen options are
//! then booked with named rooms, officers and teams ([`crate::assign`]). If a
//! choice cannot be booked exactly, its case is set aside and booked last with
//! its cheapest option that still fits.

use std::collections::HashMap;
use std::time::Instant;

use good_lp::solvers::highs::highs;
use good_lp::{Expression, ProblemVariables, SolverModel, Variable, variable};
use highs::HighsModelStatus;

use crate::assign::{Booker, Booking};
use crate::options::{CaseOptions, Context, Opt, Resource, case_options};
use crate::plan::{Plan, SolverReport};
use crate::settings::Settings;
use crate::state::State;
use crate::{PlanError, finish, greedy, questioning_rooms};

/// Penalty per case left unplanned: larger than any option's cost.
const UNPLANNED: f64 = 1.0e6;

struct Solved {
    /// Chosen option index per case.
    choice: Vec<Option<usize>>,
    status: String,
    objective: f64,
    gap: Option<f64>,
}

fn build_and_solve(
    ctx: &Context<'_>,
    all: &[CaseOptions],
    warm: &[Option<usize>],
    relax: bool,
    time_limit: f64,
) -> Result<Solved, PlanError> {
    let mut vars = ProblemVariables::new();
    let mut x: Vec<Vec<Variable>> = Vec::new();
    for co in all {
        x.push(
            co.options
                .iter()
                .map(|_| {
                    vars.add(if relax {
                        variable().min(0.0).max(1.0)
                    } else {
                        variable().binary()
                    })
                })
                .collect(),
        );
    }
    let u: Vec<Variable> = all
        .iter()
        .map(|_| vars.add(variable().min(0.0).max(1.0)))
        .collect();
    let l = vars.add(variable().min(0.0));
    let mut objective = Expression::from(0.0);
    for (ci, co) in all.iter().enumerate() {
        for (oi, o) in co.options.iter().enumerate() {
            objective += o.cost.total * x[ci][oi];
        }
        objective += UNPLANNED * u[ci];
    }
    objective += ctx.settings.weights.imbalance * l;
    let mut problem = vars.minimise(objective).using(highs);

    // Assignment rows.
    for (ci, co) in all.iter().enumerate() {
        let mut e = Expression::from(u[ci]);
        for (oi, _) in co.options.iter().enumerate() {
            e += x[ci][oi];
        }
        problem.add_constraint(e.eq(1.0));
    }
    // Capacity rows, only where the options could overflow.
    let mut rows: HashMap<(Resource, i64), Vec<(Variable, f64)>> = HashMap::new();
    for (ci, co) in all.iter().enumerate() {
        for (oi, o) in co.options.iter().enumerate() {
            for us in &o.usage {
                for k in us.from.max(0)..us.to.min(ctx.slots) {
                    rows.entry((us.resource, k))
                        .or_default()
                        .push((x[ci][oi], f64::from(us.amount)));
                }
            }
        }
    }
    let mut keys: Vec<_> = rows.keys().copied().collect();
    keys.sort();
    for key in keys {
        let terms = &rows[&key];
        let cap = f64::from(ctx.cap(key.0, key.1).max(0));
        let worst: f64 = terms.iter().map(|t| t.1).sum();
        if worst <= cap {
            continue;
        }
        let mut e = Expression::from(0.0);
        for &(v, a) in terms {
            e += a * v;
        }
        problem.add_constraint(e.leq(cap));
    }
    // Load of the busiest site.
    for si in 0..ctx.region.sites.len() {
        let mut e = Expression::from(0.0);
        let q = questioning_rooms(ctx, si);
        for (ci, co) in all.iter().enumerate() {
            let persons = ctx.state.pending[ci].case.persons.len() as f64;
            for (oi, o) in co.options.iter().enumerate() {
                if o.site == si {
                    e += (persons / q) * x[ci][oi];
                }
            }
        }
        problem.add_constraint(e.leq(l));
    }

    let mut model = problem.into_inner();
    model.make_quiet();
    if std::env::var_os("CASEHUB_SOLVER_LOG").is_some() {
        // HiGHS's own log on standard output, for tuning.
        model.set_option("output_flag", true);
        model.set_option("log_to_console", true);
    }
    model.set_option("time_limit", time_limit.max(0.01));
    model.set_option("mip_rel_gap", ctx.settings.mip_rel_gap);
    model.set_option("threads", 1);
    if !relax {
        // Warm start from the greedy's choices.
        let n_cols = all.iter().map(|c| c.options.len()).sum::<usize>() + all.len() + 1;
        let mut start = vec![0.0; n_cols];
        let mut idx = 0;
        for (ci, co) in all.iter().enumerate() {
            if let Some(w) = warm[ci] {
                start[idx + w] = 1.0;
            }
            idx += co.options.len();
        }
        for (ci, w) in warm.iter().enumerate() {
            if w.is_none() {
                start[idx + ci] = 1.0;
            }
        }
        let _ = model.try_set_solution(Some(&start), None, None, None);
    }
    let solved = model
        .try_solve()
        .map_err(|e| PlanError::Solver(format!("HiGHS: {e:?}")))?;
    let status = match solved.status() {
        HighsModelStatus::Optimal => "optimal",
        HighsModelStatus::ReachedTimeLimit => "time_limit",
        HighsModelStatus::Infeasible => return Err(PlanError::Solver("the assignment model is infeasible (should never happen: every case may stay unplanned)".into())),
        other => return Err(PlanError::Solver(format!("HiGHS stopped with status {other:?}"))),
    };
    let solution = solved.get_solution();
    let cols = solution.columns();
    if cols.is_empty() {
        return Err(PlanError::Solver(
            "HiGHS found no solution within the time limit".into(),
        ));
    }
    let mut choice = Vec::new();
    let mut idx = 0;
    for co in all {
        let pick = (0..co.options.len())
            .max_by(|&a, &b| cols[idx + a].total_cmp(&cols[idx + b]))
            .filter(|&o| cols[idx + o] > 0.5);
        choice.push(pick);
        idx += co.options.len();
    }
    let gap = if relax {
        None
    } else {
        Some(solved.mip_gap()).filter(|g| g.is_finite())
    };
    Ok(Solved {
        choice,
        status: status.into(),
        objective: solved.objective_value(),
        gap,
    })
}

/// The LP-relaxation bound of the assignment model (for benchmarks: how far
/// any plan's objective could possibly be improved).
pub fn lp_bound(state: &State, settings: &Settings) -> Result<f64, PlanError> {
    let (state, _) = crate::split_pinned(state);
    let ctx = Context::new(&state, settings)?;
    let all: Vec<CaseOptions> = (0..state.pending.len())
        .map(|ci| case_options(&ctx, ci))
        .collect();
    let warm = vec![None; all.len()];
    Ok(build_and_solve(&ctx, &all, &warm, true, settings.time_limit.as_secs_f64())?.objective)
}

/// Plan with the MILP, falling back to the greedy when HiGHS fails.
pub fn plan(state: &State, settings: &Settings) -> Result<Plan, PlanError> {
    let started = Instant::now();
    let (state, pinned) = crate::split_pinned(state);
    let ctx = Context::new(&state, settings)?;
    let mut all: Vec<CaseOptions> = (0..state.pending.len())
        .map(|ci| case_options(&ctx, ci))
        .collect();
    let n_options: usize = all.iter().map(|c| c.options.len()).sum();

    // The greedy's answer: the warm start, and the fallback.
    let mut greedy_booker = Booker::new(&ctx);
    for co in &mut all {
        greedy::dispatcher_order(&ctx, &mut co.options);
    }
    let greedy_choice = greedy::choose(&ctx, &mut all, &mut greedy_booker);
    let warm: Vec<Option<usize>> = greedy_choice
        .iter()
        .enumerate()
        .map(|(ci, c)| {
            c.as_ref()
                .and_then(|(o, _)| all[ci].options.iter().position(|x| x == o))
        })
        .collect();

    let left = settings.time_limit.as_secs_f64() - started.elapsed().as_secs_f64();
    let solved = match build_and_solve(&ctx, &all, &warm, false, left) {
        Ok(s) => s,
        Err(e) => {
            let report = SolverReport {
                method: "milp".into(),
                status: "greedy_fallback".into(),
                seconds: started.elapsed().as_secs_f64(),
                gap: None,
                lp_bound: None,
                options: n_options,
                note: Some(format!("MILP failed ({e}); greedy plan used")),
            };
            return Ok(finish(&ctx, &all, &greedy_choice, pinned, report));
        }
    };
    let mut note = None;
    // Book the chosen options, resource by resource in order of time. A
    // choice that cannot be booked with named rooms and officers (the
    // counts allowed it, the names do not fit) is set aside, and its case
    // booked afterwards with its best option that still fits.
    let mut picked: Vec<usize> = (0..all.len())
        .filter(|&ci| solved.choice[ci].is_some())
        .collect();
    let mut set_aside: Vec<String> = Vec::new();
    let mut chosen: Vec<Option<(Opt, Booking)>> = vec![None; all.len()];
    let mut booker = Booker::new(&ctx);
    loop {
        let opts: Vec<&Opt> = picked
            .iter()
            .map(|&ci| &all[ci].options[solved.choice[ci].expect("filtered")])
            .collect();
        match booker.book_all(&ctx, &opts) {
            Ok(bookings) => {
                for ((&ci, opt), b) in picked.iter().zip(opts).zip(bookings) {
                    chosen[ci] = Some((opt.clone(), b));
                }
                break;
            }
            Err((i, why)) => {
                let ci = picked.remove(i);
                set_aside.push(format!("{} ({why:?})", ctx.state.pending[ci].case.id));
            }
        }
    }
    if !set_aside.is_empty() {
        note = Some(format!(
            "booked after the others, with their best option that still fits: {}",
            set_aside.join(", ")
        ));
    }
    // Cases the MILP left out or set aside: their cheapest option that still fits.
    for ci in 0..all.len() {
        if chosen[ci].is_none() {
            all[ci]
                .options
                .sort_by(|a, b| a.cost.total.total_cmp(&b.cost.total));
            chosen[ci] = all[ci]
                .options
                .iter()
                .find_map(|o| booker.book(&ctx, o).ok().map(|b| (o.clone(), b)));
        }
    }
    let report = SolverReport {
        method: "milp".into(),
        status: solved.status,
        seconds: started.elapsed().as_secs_f64(),
        gap: solved.gap,
        lp_bound: None,
        options: n_options,
        note,
    };
    // Never worse than the warm start: more cases planned, then a lower objective.
    let score = |c: &[Option<(Opt, Booking)>]| -> (usize, f64) {
        let mut load = vec![0.0; ctx.region.sites.len()];
        let mut cost = 0.0;
        for (o, _) in c.iter().flatten() {
            load[o.site] += ctx.state.pending[o.case].case.persons.len() as f64;
            cost += o.cost.total;
        }
        let imbalance = crate::max_load(&ctx, &load) * ctx.settings.weights.imbalance;
        (c.iter().flatten().count(), cost + imbalance)
    };
    let (mp, mc) = score(&chosen);
    let (gp, gc) = score(&greedy_choice);
    if gp > mp || (gp == mp && gc < mc - 1e-9) {
        let report = SolverReport {
            status: "greedy_better".into(),
            note: Some("the MILP's best plan within the time limit was worse than the greedy's; greedy plan used".into()),
            ..report
        };
        return Ok(finish(&ctx, &all, &greedy_choice, pinned, report));
    }
    Ok(finish(&ctx, &all, &chosen, pinned, report))
}
