//! The MILP: choose one option per case (or leave it blocked, at a large
//! penalty) so that no capacity is exceeded in any slot, minimising the sum
//! of option costs plus the weighted load of the busiest site.
//!
//! ```text
//! min  Σ_o cost_o·x_o + M·Σ_c u_c + w_imb·L      (M: twice the dearest option, plus 1000)
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
use crate::capacity::{Context, Resource};
use crate::options::{CaseOptions, Opt, case_options};
use crate::plan::{Plan, SolverReport};
use crate::settings::Settings;
use crate::state::State;
use crate::{PlanError, finish, greedy, questioning_rooms};

mod pricing;
mod rounding;

use pricing::*;
use rounding::*;

/// Penalty per case left unplanned: larger than any option's cost, so that a
/// case is left out only when no option fits; not much larger, so that the
/// relative gap stays meaningful.
fn unplanned_penalty(ctx: &Context<'_>, all: &[CaseOptions]) -> f64 {
    let max = all
        .iter()
        .flat_map(|c| c.options.iter())
        .map(|o| o.cost.total)
        .fold(0.0, f64::max);
    // Planning a case may also raise the busiest site's load.
    let persons = ctx
        .state
        .pending
        .iter()
        .map(|p| p.case.persons.len())
        .max()
        .unwrap_or(1) as f64;
    let rooms = (0..ctx.region.sites.len())
        .map(|si| questioning_rooms(ctx, si))
        .fold(f64::INFINITY, f64::min)
        .max(1.0);
    2.0 * max + ctx.settings.weights.imbalance * persons / rooms + 1000.0
}

/// HiGHS's cut pool size (its default is 10 000); see [`build_and_solve`].
const MIP_POOL_SOFT_LIMIT: i32 = 300;
/// Options per (case, site, escort) in the first restricted model.
const FIRST_PER_GROUP: usize = 1;
/// Columns added per case and pricing round, at most.
const ADD_PER_CASE: usize = 2;

struct Solved {
    /// Chosen option index per case (into the case's full option list).
    choice: Vec<Option<usize>>,
    status: String,
    objective: f64,
    gap: Option<f64>,
    /// Column values per case, one per active option.
    values: Vec<Vec<f64>>,
    /// Row duals of the LP relaxation: per case, per capacity row, per site load row.
    duals: Option<Duals>,
}

struct Duals {
    case: Vec<f64>,
    capacity: HashMap<(Resource, i64), f64>,
    load: Vec<f64>,
}

/// The capacity rows worth writing: every (resource, slot) the options of all
/// cases together could overflow. Computed once from all options, so that a
/// restricted model has the same rows as the full one.
fn capacity_rows(ctx: &Context<'_>, all: &[CaseOptions]) -> Vec<(Resource, i64)> {
    let mut worst: HashMap<(Resource, i64), f64> = HashMap::new();
    for co in all {
        // A case uses at most one option: count its largest use per row,
        // an option's uses of a row added up (several persons at once).
        let mut mine: HashMap<(Resource, i64), f64> = HashMap::new();
        for o in &co.options {
            let mut this: HashMap<(Resource, i64), f64> = HashMap::new();
            for u in &o.usage {
                for k in u.from.max(0)..u.to.min(ctx.slots) {
                    *this.entry((u.resource, k)).or_default() += f64::from(u.amount);
                }
            }
            for (key, v) in this {
                let e = mine.entry(key).or_default();
                *e = e.max(v);
            }
        }
        for (key, v) in mine {
            *worst.entry(key).or_default() += v;
        }
    }
    let mut rows: Vec<_> = worst
        .into_iter()
        .filter(|&(key, w)| w > f64::from(ctx.cap(key.0, key.1).max(0)))
        .map(|(key, _)| key)
        .collect();
    rows.sort();
    rows
}

/// Build the model over the `active` options of each case and solve it with
/// HiGHS: as a MILP, or (`relax`) as its LP relaxation, returning row duals.
#[allow(clippy::too_many_arguments)]
fn build_and_solve(
    ctx: &Context<'_>,
    all: &[CaseOptions],
    active: &[Vec<usize>],
    rows: &[(Resource, i64)],
    warm: &[Option<usize>],
    relax: bool,
    time_limit: f64,
) -> Result<Solved, PlanError> {
    let penalty = unplanned_penalty(ctx, all);
    let mut vars = ProblemVariables::new();
    let x: Vec<Vec<Variable>> = active
        .iter()
        .map(|act| {
            act.iter()
                .map(|_| {
                    vars.add(if relax {
                        variable().min(0.0).max(1.0)
                    } else {
                        variable().binary()
                    })
                })
                .collect()
        })
        .collect();
    let u: Vec<Variable> = all
        .iter()
        .map(|_| vars.add(variable().min(0.0).max(1.0)))
        .collect();
    let l = vars.add(variable().min(0.0));
    let mut objective = Expression::from(0.0);
    for (ci, act) in active.iter().enumerate() {
        for (j, &oi) in act.iter().enumerate() {
            objective += all[ci].options[oi].cost.total * x[ci][j];
        }
        objective += penalty * u[ci];
    }
    objective += ctx.settings.weights.imbalance * l;
    let mut problem = vars.minimise(objective).using(highs);

    // Rows, in this order: one per case, one per capacity row, one per site.
    for (ci, xs) in x.iter().enumerate() {
        let mut e = Expression::from(u[ci]);
        for &v in xs {
            e += v;
        }
        problem.add_constraint(e.eq(1.0));
    }
    let row_of: HashMap<(Resource, i64), usize> =
        rows.iter().enumerate().map(|(i, &k)| (k, i)).collect();
    let mut terms: Vec<Vec<(Variable, f64)>> = vec![Vec::new(); rows.len()];
    for (ci, act) in active.iter().enumerate() {
        for (j, &oi) in act.iter().enumerate() {
            for us in &all[ci].options[oi].usage {
                for k in us.from.max(0)..us.to.min(ctx.slots) {
                    if let Some(&r) = row_of.get(&(us.resource, k)) {
                        terms[r].push((x[ci][j], f64::from(us.amount)));
                    }
                }
            }
        }
    }
    for (r, key) in rows.iter().enumerate() {
        let mut e = Expression::from(0.0);
        for &(v, a) in &terms[r] {
            e += a * v;
        }
        problem.add_constraint(e.leq(f64::from(ctx.cap(key.0, key.1).max(0))));
    }
    let persons = |ci: usize| ctx.state.pending[ci].case.persons.len() as f64;
    for si in 0..ctx.region.sites.len() {
        let mut e = Expression::from(0.0);
        let q = questioning_rooms(ctx, si);
        for (ci, act) in active.iter().enumerate() {
            for (j, &oi) in act.iter().enumerate() {
                if all[ci].options[oi].site == si {
                    e += (persons(ci) / q) * x[ci][j];
                }
            }
        }
        problem.add_constraint(e.leq(l));
    }

    let mut model = problem.into_inner();
    model.make_quiet();
    model.set_option("time_limit", time_limit.max(0.01));
    model.set_option("mip_rel_gap", ctx.settings.mip_rel_gap);
    // A small cut pool: on the 50-case bench instance the root node's cut
    // loop otherwise takes most of the time (5 000 to 7 000 cuts for a gap
    // HiGHS's sub-MIP heuristic then closes anyway); 300 halves the solve.
    model.set_option("mip_pool_soft_limit", MIP_POOL_SOFT_LIMIT);
    if !relax {
        // Warm start from the greedy's choices.
        let n_cols = active.iter().map(Vec::len).sum::<usize>() + all.len() + 1;
        let mut start = vec![0.0; n_cols];
        let mut idx = 0;
        let mut load = vec![0.0; ctx.region.sites.len()];
        for (ci, act) in active.iter().enumerate() {
            match warm[ci].and_then(|w| act.iter().position(|&oi| oi == w)) {
                Some(j) => {
                    start[idx + j] = 1.0;
                    load[all[ci].options[act[j]].site] +=
                        ctx.state.pending[ci].case.persons.len() as f64;
                }
                None => start[active.iter().map(Vec::len).sum::<usize>() + ci] = 1.0,
            }
            idx += act.len();
        }
        // The load of the busiest site, so that the start is feasible as given.
        start[n_cols - 1] = crate::max_load(ctx, &load);
        let _ = model.try_set_solution(Some(&start), None, None, None);
    }
    let solved = model
        .try_solve()
        .map_err(|e| PlanError::Solver(format!("HiGHS: {e:?}")))?;
    let status = match solved.status() {
        HighsModelStatus::Optimal => "optimal",
        HighsModelStatus::ReachedTimeLimit => "time_limit",
        HighsModelStatus::Infeasible => {
            return Err(PlanError::Solver("the assignment model is infeasible (should never happen: every case may stay unplanned)".into()));
        }
        other => {
            return Err(PlanError::Solver(format!(
                "HiGHS stopped with status {other:?}"
            )));
        }
    };
    let solution = solved.get_solution();
    let cols = solution.columns();
    if cols.is_empty() {
        return Err(PlanError::Solver(
            "HiGHS found no solution within the time limit".into(),
        ));
    }
    let mut choice = Vec::new();
    let mut values = Vec::new();
    let mut idx = 0;
    for act in active {
        let pick = (0..act.len())
            .max_by(|&a, &b| cols[idx + a].total_cmp(&cols[idx + b]))
            .filter(|&j| cols[idx + j] > 0.5)
            .map(|j| act[j]);
        choice.push(pick);
        values.push(cols[idx..idx + act.len()].to_vec());
        idx += act.len();
    }
    let duals = relax.then(|| {
        let y = solution.dual_rows();
        let n = all.len();
        Duals {
            case: y[..n].to_vec(),
            capacity: rows
                .iter()
                .enumerate()
                .map(|(r, &key)| (key, y[n + r]))
                .collect(),
            load: y[n + rows.len()..].to_vec(),
        }
    });
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
        values,
        duals,
    })
}

/// The LP-relaxation bound of the assignment model over all options (for
/// benchmarks: how far any plan's objective could possibly be improved).
pub fn lp_bound(state: &State, settings: &Settings) -> Result<f64, PlanError> {
    let (state, _) = crate::split_pinned(state);
    let ctx = Context::new(&state, settings)?;
    let all: Vec<CaseOptions> = (0..state.pending.len())
        .map(|ci| case_options(&ctx, ci))
        .collect();
    let rows = capacity_rows(&ctx, &all);
    let active: Vec<Vec<usize>> = all.iter().map(|c| (0..c.options.len()).collect()).collect();
    Ok(build_and_solve(
        &ctx,
        &all,
        &active,
        &rows,
        &[],
        true,
        settings.time_limit.as_secs_f64(),
    )?
    .objective)
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
    let warm = indices(&all, &greedy_choice);

    // Price-and-branch: generate the columns the LP relaxation wants, within
    // half the time limit; round the relaxation to a plan and improve it by local search (or
    // the greedy's, when better), and when that plan
    // is not already within the relative gap of the bound, solve the MILP
    // over the generated columns, warm-started from the better of the
    // rounded plan and the greedy's.
    let rows = capacity_rows(&ctx, &all);
    let mut active = first_columns(&all, &warm);
    let budget = started + settings.time_limit.mul_f64(0.5);
    let priced_at = Instant::now();
    let priced = price(&ctx, &all, &mut active, &rows, budget);
    let penalty = unplanned_penalty(&ctx, &all);
    let model_objective = |c: &[Option<(Opt, Booking)>]| -> f64 {
        let (planned, cost) = score(&ctx, c);
        cost + penalty * (c.len() - planned) as f64
    };
    let greedy_objective = model_objective(&greedy_choice);
    let mut warm = warm;
    let mut rounded = None;
    if let Ok(Some(p)) = &priced {
        let (r, objective) = round(&ctx, &all, &active, &p.lp, model_objective);
        let (start, start_objective) = if objective < greedy_objective {
            (r, objective)
        } else {
            (greedy_choice.clone(), greedy_objective)
        };
        let better = improve(&ctx, &all, &rows, penalty, indices(&all, &start));
        let (b, _) = book_choice(&ctx, &all, &better);
        let b_objective = model_objective(&b);
        let (r, objective) = if b_objective < start_objective {
            (b, b_objective)
        } else {
            (start, start_objective)
        };
        if objective < greedy_objective {
            warm = indices(&all, &r);
            for (ci, w) in warm.iter().enumerate() {
                if let Some(oi) = *w
                    && let Err(at) = active[ci].binary_search(&oi)
                {
                    active[ci].insert(at, oi);
                }
            }
        }
        rounded = Some((r, objective, p.bound));
    }
    let columns: usize = active.iter().map(Vec::len).sum();
    let timing = format!(
        "options and greedy {:.2} s, pricing and rounding {:.2} s",
        (priced_at - started).as_secs_f64(),
        priced_at.elapsed().as_secs_f64()
    );
    if let Some((r, objective, bound)) = &rounded {
        let gap = relative_gap(*objective, *bound);
        if gap <= settings.mip_rel_gap {
            let report = SolverReport {
                method: "milp".into(),
                status: "optimal".into(),
                seconds: started.elapsed().as_secs_f64(),
                gap: Some(gap),
                lp_bound: Some(*bound),
                model_objective: Some(*objective),
                options: n_options,
                note: Some(format!(
                    "{columns} of {n_options} options generated; {timing}; \
                     the LP relaxation rounded to a plan within the relative gap of its bound: no branching needed"
                )),
            };
            return Ok(best_of(
                &ctx,
                &all,
                vec![(r.clone(), report)],
                &greedy_choice,
                pinned,
            ));
        }
    }
    let timing = match &rounded {
        Some((r, objective, bound)) => format!(
            "{timing} (rounded: {} planned, {objective:.1} against the bound {bound:.1})",
            r.iter().flatten().count()
        ),
        None => timing,
    };
    let milp_at = Instant::now();
    let left = settings.time_limit.as_secs_f64() - started.elapsed().as_secs_f64();
    let bound = priced
        .as_ref()
        .ok()
        .and_then(|p| p.as_ref().map(|p| p.bound));
    let solved = priced
        .and_then(|_| build_and_solve(&ctx, &all, &active, &rows, &warm, false, left))
        .and_then(|s| {
            // HiGHS can report an optimum found in its presolved space while
            // handing back the start's columns, worth more: solve again
            // without the start when the two disagree.
            let got = choice_objective(&ctx, &all, penalty, &s.choice);
            if got - s.objective > 1e-6 * s.objective.abs().max(1.0) {
                let left = settings.time_limit.as_secs_f64() - started.elapsed().as_secs_f64();
                let cold = vec![None; all.len()];
                build_and_solve(&ctx, &all, &active, &rows, &cold, false, left)
            } else {
                Ok(s)
            }
        });
    let solved = match solved {
        Ok(s) => s,
        Err(e) => {
            let report = SolverReport {
                method: "milp".into(),
                status: "greedy_fallback".into(),
                seconds: started.elapsed().as_secs_f64(),
                gap: None,
                lp_bound: None,
                model_objective: None,
                options: n_options,
                note: Some(format!("MILP failed ({e}); greedy plan used")),
            };
            let mut chosen = greedy_choice;
            crate::assign::serve_later(&ctx, &mut chosen);
            return Ok(finish(&ctx, &all, &chosen, pinned, report));
        }
    };
    let (chosen, note) = book_choice(&ctx, &all, &solved.choice);
    // `gap` is HiGHS's relative MIP gap over the generated columns;
    // `lp_bound` the LP relaxation over all options, when the pricing finished.
    // When some of the MILP's cases did not fit the named rooms and officers
    // and were booked after the others, the plan is no longer the MILP's:
    // the report says so, with the final plan's objective and its gap to
    // the bound, not the solver's.
    let report = match note {
        None => SolverReport {
            method: "milp".into(),
            status: solved.status,
            seconds: started.elapsed().as_secs_f64(),
            gap: solved.gap,
            lp_bound: bound,
            model_objective: Some(solved.objective),
            options: n_options,
            note: Some(format!(
                "{columns} of {n_options} options generated; {timing}; MILP and booking {:.2} s",
                milp_at.elapsed().as_secs_f64(),
            )),
        },
        Some(rebooked) => {
            let objective = model_objective(&chosen);
            SolverReport {
                method: "milp".into(),
                status: "rebooked".into(),
                seconds: started.elapsed().as_secs_f64(),
                gap: bound.map(|b| relative_gap(objective, b)),
                lp_bound: bound,
                model_objective: Some(objective),
                options: n_options,
                note: Some(format!(
                    "{columns} of {n_options} options generated; {timing}; MILP and booking {:.2} s; \
                     the MILP's plan ({}, objective {:.1}{}) did not fit the named rooms and officers as a whole: {rebooked}",
                    milp_at.elapsed().as_secs_f64(),
                    solved.status,
                    solved.objective,
                    solved
                        .gap
                        .map(|g| format!(", gap {:.2}%", g * 100.0))
                        .unwrap_or_default(),
                )),
            }
        }
    };
    let mut candidates = vec![(chosen, report.clone())];
    if let Some((r, objective, _)) = rounded {
        let report = SolverReport {
            status: "rounded_better".into(),
            gap: bound.map(|b| relative_gap(objective, b)),
            model_objective: Some(objective),
            note: Some(format!(
                "{}; the rounded LP relaxation beat the MILP's plan within the time limit and was used",
                report.note.as_deref().unwrap_or_default()
            )),
            ..report
        };
        candidates.push((r, report));
    }
    Ok(best_of(&ctx, &all, candidates, &greedy_choice, pinned))
}

/// Book the chosen options, resource by resource in order of time. A
/// choice that cannot be booked with named rooms and officers (the counts
/// allowed it, the names do not fit) is set aside, and its case booked
/// afterwards with its cheapest option that still fits, as are the cases the
/// choice leaves out. Returns the bookings and a note naming the set-aside cases.
fn book_choice(
    ctx: &Context<'_>,
    all: &[CaseOptions],
    choice: &[Option<usize>],
) -> (Choice, Option<String>) {
    let mut picked: Vec<usize> = (0..all.len()).filter(|&ci| choice[ci].is_some()).collect();
    let mut set_aside: Vec<String> = Vec::new();
    let mut chosen: Choice = vec![None; all.len()];
    let mut booker = Booker::new(ctx);
    loop {
        let opts: Vec<&Opt> = picked
            .iter()
            .map(|&ci| &all[ci].options[choice[ci].expect("filtered")])
            .collect();
        match booker.book_all(ctx, &opts) {
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
    for ci in 0..all.len() {
        if chosen[ci].is_none() {
            let mut by_cost: Vec<&Opt> = all[ci].options.iter().collect();
            by_cost.sort_by(|a, b| a.cost.total.total_cmp(&b.cost.total));
            chosen[ci] = by_cost
                .into_iter()
                .find_map(|o| booker.book(ctx, o).ok().map(|b| (o.clone(), b)));
        }
    }
    let note = (!set_aside.is_empty()).then(|| {
        format!(
            "booked after the others, with their best option that still fits: {}",
            set_aside.join(", ")
        )
    });
    (chosen, note)
}

/// The index of each case's chosen option in its option list.
fn indices(all: &[CaseOptions], c: &[Option<(Opt, Booking)>]) -> Vec<Option<usize>> {
    c.iter()
        .enumerate()
        .map(|(ci, c)| {
            c.as_ref()
                .and_then(|(o, _)| all[ci].options.iter().position(|x| x == o))
        })
        .collect()
}

/// The model objective of a choice of option indices: their costs, the
/// penalty for each case left out, and the weighted load of the busiest site.
fn choice_objective(
    ctx: &Context<'_>,
    all: &[CaseOptions],
    penalty: f64,
    choice: &[Option<usize>],
) -> f64 {
    let mut load = vec![0.0; ctx.region.sites.len()];
    let mut cost = 0.0;
    for (ci, c) in choice.iter().enumerate() {
        match c {
            Some(oi) => {
                let o = &all[ci].options[*oi];
                cost += o.cost.total;
                load[o.site] += ctx.state.pending[ci].case.persons.len() as f64;
            }
            None => cost += penalty,
        }
    }
    cost + ctx.settings.weights.imbalance * crate::max_load(ctx, &load)
}

/// The chosen option and its booking per case.
type Choice = Vec<Option<(Opt, Booking)>>;

/// Relative gap of an objective to a lower bound, as HiGHS reports it.
fn relative_gap(objective: f64, bound: f64) -> f64 {
    ((objective - bound) / objective.abs().max(1e-9)).max(0.0)
}

/// Cases planned, and the plan's cost with the imbalance term.
fn score(ctx: &Context<'_>, c: &[Option<(Opt, Booking)>]) -> (usize, f64) {
    let mut load = vec![0.0; ctx.region.sites.len()];
    let mut cost = 0.0;
    for (o, _) in c.iter().flatten() {
        load[o.site] += ctx.state.pending[o.case].case.persons.len() as f64;
        cost += o.cost.total;
    }
    let imbalance = crate::max_load(ctx, &load) * ctx.settings.weights.imbalance;
    (c.iter().flatten().count(), cost + imbalance)
}

/// The first of the candidates that plans the most cases at the lowest cost;
/// never worse than the greedy (the warm start), whose plan is used when it
/// beats them all.
fn best_of(
    ctx: &Context<'_>,
    all: &[CaseOptions],
    candidates: Vec<(Choice, SolverReport)>,
    greedy_choice: &[Option<(Opt, Booking)>],
    pinned: Vec<crate::plan::CasePlan>,
) -> Plan {
    let better = |a: (usize, f64), b: (usize, f64)| a.0 > b.0 || (a.0 == b.0 && a.1 < b.1 - 1e-9);
    let mut best: Option<(Choice, SolverReport, (usize, f64))> = None;
    for (c, report) in candidates {
        let s = score(ctx, &c);
        if best.as_ref().is_none_or(|b| better(s, b.2)) {
            best = Some((c, report, s));
        }
    }
    let (chosen, report, s) = best.expect("at least one candidate");
    let greedy = score(ctx, greedy_choice);
    let penalty = unplanned_penalty(ctx, all);
    let (mut chosen, report) = if better(greedy, s) {
        // The greedy's plan, with its own objective and gap, not the MILP's.
        let objective = greedy.1 + penalty * (greedy_choice.len() - greedy.0) as f64;
        let report = SolverReport {
            status: "greedy_better".into(),
            gap: report.lp_bound.map(|b| relative_gap(objective, b)),
            model_objective: Some(objective),
            note: Some("the MILP's best plan within the time limit was worse than the greedy's; greedy plan used".into()),
            ..report
        };
        (greedy_choice.to_vec(), report)
    } else {
        (chosen, report)
    };
    // Cases no option of the model could serve beside the others may still
    // leave later: the plan is then no longer the model's, and says so.
    let served = crate::assign::serve_later(ctx, &mut chosen);
    let report = if served.is_empty() {
        report
    } else {
        let (planned, cost) = score(ctx, &chosen);
        let names: Vec<&str> = served
            .iter()
            .map(|&ci| ctx.state.pending[ci].case.id.as_str())
            .collect();
        SolverReport {
            status: "served_later".into(),
            gap: None,
            model_objective: Some(cost + penalty * (chosen.len() - planned) as f64),
            note: Some(format!(
                "{}; then {} left out by the {} plan were served by departures the model did not have: {}",
                report.note.as_deref().unwrap_or_default(),
                if served.len() == 1 {
                    "one case"
                } else {
                    "cases"
                },
                report.status,
                names.join(", ")
            )),
            ..report
        }
    };
    finish(ctx, all, &chosen, pinned, report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use casehub_model::scenario::parse_region;
    use casehub_travel::{GreatCircle, TravelTable};

    fn state(n: usize, seed: u64) -> State {
        let region = parse_region(
            "region-3-sites.toml",
            include_str!("../../../../simulations/sample-county/region-3-sites.toml"),
        )
        .unwrap();
        let travel =
            TravelTable::for_region(&GreatCircle::new(1.35, 45.0).unwrap(), &region).unwrap();
        let now = "2026-11-27T06:00:00Z".parse().unwrap();
        let pending = crate::generate::pending_cases(&region, now, n, 60, 720, seed);
        State {
            region,
            travel,
            now,
            room_bookings: vec![],
            room_closures: Vec::new(),
            officer_commitments: vec![],
            team_commitments: vec![],
            pending,
        }
    }

    #[test]
    fn local_search_never_raises_the_objective_nor_overfills_a_row() {
        let mut improved = 0;
        for seed in 1..=3 {
            let s = state(30, seed);
            let settings = Settings::default();
            let ctx = Context::new(&s, &settings).unwrap();
            let mut all: Vec<CaseOptions> = (0..s.pending.len())
                .map(|ci| case_options(&ctx, ci))
                .collect();
            let mut booker = Booker::new(&ctx);
            let greedy = greedy::choose(&ctx, &mut all, &mut booker);
            let rows = capacity_rows(&ctx, &all);
            let penalty = unplanned_penalty(&ctx, &all);
            let objective = |c: &[Option<usize>]| choice_objective(&ctx, &all, penalty, c);
            let start = indices(&all, &greedy);
            let better = improve(&ctx, &all, &rows, penalty, start.clone());
            assert!(
                objective(&better) <= objective(&start) + 1e-9,
                "seed {seed}: {} > {}",
                objective(&better),
                objective(&start)
            );
            if objective(&better) < objective(&start) - 1e-9 {
                improved += 1;
            }
            // Every capacity row holds, counted from scratch.
            for &(r, k) in &rows {
                let used: i64 = better
                    .iter()
                    .enumerate()
                    .filter_map(|(ci, c)| c.map(|oi| &all[ci].options[oi]))
                    .flat_map(|o| o.usage.iter())
                    .filter(|u| u.resource == r && u.from <= k && k < u.to)
                    .map(|u| i64::from(u.amount))
                    .sum();
                assert!(
                    used <= i64::from(ctx.cap(r, k).max(0)),
                    "seed {seed}: {r:?} slot {k}"
                );
            }
        }
        // The greedy leaves much to gain: the search finds some of it.
        assert!(improved > 0, "no seed improved");
    }
}
