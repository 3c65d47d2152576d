//! The four formulations, their greedy starting solutions, and the p-center binary search.

use std::time::{Duration, Instant};

use good_lp::Expression;

use crate::milp::{Col, Milp, MilpOptions, MilpResult, Sense};
use crate::{Instance, LayoutError, Model, Solution, SolveOptions, SolveStatus};

/// The wall-clock budget shared by every HiGHS call of one [`crate::solve`].
pub(crate) struct Budget {
    start: Instant,
    limit: Option<Duration>,
}

impl Budget {
    pub fn new(limit: Option<Duration>) -> Budget {
        Budget {
            start: Instant::now(),
            limit,
        }
    }

    fn remaining(&self) -> Option<Duration> {
        self.limit
            .map(|limit| limit.saturating_sub(self.start.elapsed()))
    }

    pub(crate) fn exhausted(&self) -> bool {
        self.remaining().is_some_and(|r| r.is_zero())
    }

    pub(crate) fn milp_options(&self, options: &SolveOptions) -> MilpOptions {
        MilpOptions {
            time_limit: self.remaining().map(|r| r.as_secs_f64()),
            mip_rel_gap: options.mip_rel_gap,
            threads: options.threads,
            verbose: options.verbose,
        }
    }
}

/// One finished MILP run: column values plus what HiGHS said about them.
struct Run {
    values: Vec<f64>,
    status: SolveStatus,
    bound: Option<f64>,
    gap: Option<f64>,
    /// The objective HiGHS reports for `values` (`None` when `values` is the start).
    objective: Option<f64>,
}

/// Solves a MILP that has a feasible `start`; if HiGHS stops at the time limit before it has
/// any incumbent of its own, the start itself is returned (status `TimeLimit`, no bound).
fn run(
    milp: Milp,
    sense: Sense,
    objective: Expression,
    start: Vec<f64>,
    options: &SolveOptions,
    budget: &Budget,
) -> Result<Run, LayoutError> {
    run_with(milp, sense, objective, start, true, options, budget)
}

/// [`run`], with the start given to HiGHS (`warm`) or kept only as the fallback.
fn run_with(
    milp: Milp,
    sense: Sense,
    objective: Expression,
    start: Vec<f64>,
    warm: bool,
    options: &SolveOptions,
    budget: &Budget,
) -> Result<Run, LayoutError> {
    match milp.solve(
        sense,
        objective,
        warm.then_some(start.as_slice()),
        &budget.milp_options(options),
    )? {
        MilpResult::Solved {
            values,
            status,
            bound,
            gap,
            objective,
        } => Ok(Run {
            values,
            status,
            bound,
            gap,
            objective: Some(objective),
        }),
        MilpResult::Infeasible => Err(LayoutError::Infeasible(
            "HiGHS proved the model infeasible".into(),
        )),
        MilpResult::NoSolution => Ok(Run {
            values: start,
            status: SolveStatus::TimeLimit,
            bound: None,
            gap: None,
            objective: None,
        }),
    }
}

/// |primal - bound| / |primal|, as HiGHS defines the MIP gap; `None` when undefined.
pub(crate) fn relative_gap(primal: f64, bound: f64) -> Option<f64> {
    let diff = (primal - bound).abs();
    if diff == 0.0 {
        Some(0.0)
    } else if primal != 0.0 {
        Some(diff / primal.abs())
    } else {
        None
    }
}

/// The gap to report: recomputed from our (re-evaluated) objective and HiGHS's bound when
/// there is a bound, else whatever HiGHS reported.
fn report_gap(objective: f64, run: &Run) -> Option<f64> {
    run.bound
        .and_then(|b| relative_gap(objective, b))
        .or(run.gap)
}

/// The assignment rows of CFLP: every client fully assigned (`sum_j x_ij = 1`), only to
/// open facilities (`x_ij <= y_j`); adds `weight(i) * c_ij * x_ij` to the objective.
fn assignment_rows(
    milp: &mut Milp,
    instance: &Instance,
    x: &[Vec<Col>],
    y: &[Col],
    weight: impl Fn(usize) -> f64,
    objective: &mut Expression,
) {
    for (i, (row, costs)) in x.iter().zip(&instance.cost).enumerate() {
        milp.add(sum_of(row).eq(1.0));
        for ((xij, yj), &c) in row.iter().zip(y).zip(costs) {
            milp.add((xij.var - yj.var).leq(0.0));
            objective.add_mul(weight(i) * c, xij.var);
        }
    }
}

fn sum_of<'a>(cols: impl IntoIterator<Item = &'a Col>) -> Expression {
    let mut e = Expression::default();
    for c in cols {
        e.add_mul(1.0, c.var);
    }
    e
}

/// The facilities whose binary is set. Every model forces at least one open facility, so an
/// empty set means HiGHS returned something unexpected.
fn open_from(values: &[f64], y: &[Col]) -> Result<Vec<usize>, LayoutError> {
    let open: Vec<usize> = y
        .iter()
        .enumerate()
        .filter(|(_, c)| values[c.index] > 0.5)
        .map(|(j, _)| j)
        .collect();
    if open.is_empty() {
        Err(LayoutError::Solver("solution opens no facility".into()))
    } else {
        Ok(open)
    }
}

/// For each client, the cheapest open facility (lowest index on ties) and its cost.
pub(crate) fn nearest(instance: &Instance, open: &[usize]) -> Vec<(usize, f64)> {
    instance
        .cost
        .iter()
        .map(|row| {
            let mut best = (open[0], row[open[0]]);
            for &j in &open[1..] {
                if row[j] < best.1 {
                    best = (j, row[j]);
                }
            }
            best
        })
        .collect()
}

pub(crate) fn single_source(near: &[(usize, f64)]) -> Vec<Vec<(usize, f64)>> {
    near.iter().map(|&(j, _)| vec![(j, 1.0)]).collect()
}

/// Greedy construction: open `p` facilities one at a time, each time the one that gives the
/// lowest `score` of the per-client nearest-open-facility costs.
pub(crate) fn greedy(instance: &Instance, p: usize, score: impl Fn(&[f64]) -> f64) -> Vec<usize> {
    let (n, m) = (instance.num_clients(), instance.num_facilities());
    let mut nearest = vec![f64::INFINITY; n];
    let mut trial = vec![0.0; n];
    let mut is_open = vec![false; m];
    let mut open = Vec::with_capacity(p);
    for _ in 0..p {
        let mut best: Option<(f64, usize)> = None;
        for j in (0..m).filter(|&j| !is_open[j]) {
            for i in 0..n {
                trial[i] = nearest[i].min(instance.cost[i][j]);
            }
            let s = score(&trial);
            if best.is_none_or(|(b, _)| s < b) {
                best = Some((s, j));
            }
        }
        let Some((_, j)) = best else { break };
        is_open[j] = true;
        open.push(j);
        for (near, row) in nearest.iter_mut().zip(&instance.cost) {
            *near = near.min(row[j]);
        }
    }
    open.sort_unstable();
    open
}

pub(crate) fn median_cost(instance: &Instance, near: &[(usize, f64)]) -> f64 {
    near.iter()
        .zip(&instance.demand)
        .map(|(&(_, c), &d)| d * c)
        .sum()
}

fn max_cost(near: &[(usize, f64)]) -> f64 {
    near.iter().map(|&(_, c)| c).fold(0.0, f64::max)
}

fn covered_demand(instance: &Instance, near: &[(usize, f64)], radius: f64) -> f64 {
    near.iter()
        .zip(&instance.demand)
        .filter(|&(&(_, c), _)| c <= radius)
        .map(|(_, &d)| d)
        .sum()
}

/// MCLP: y_j binary, z_i in [0,1] (integral at the optimum once y is); sum y = p;
/// z_i <= sum of y_j over facilities within `radius` of i; maximise sum d_i z_i.
pub(crate) fn mclp(
    instance: &Instance,
    p: usize,
    radius: f64,
    options: &SolveOptions,
    budget: &Budget,
) -> Result<Solution, LayoutError> {
    let (n, m) = (instance.num_clients(), instance.num_facilities());
    let mut milp = Milp::new();
    let y: Vec<Col> = (0..m).map(|_| milp.binary()).collect();
    milp.add(sum_of(&y).eq(p as f64));
    let mut objective = Expression::default();
    let mut z: Vec<Option<Col>> = vec![None; n];
    for ((row, &demand), z) in instance.cost.iter().zip(&instance.demand).zip(&mut z) {
        let within: Vec<&Col> = (0..m)
            .filter(|&j| row[j] <= radius)
            .map(|j| &y[j])
            .collect();
        // A client with no demand or no facility in range can never add to the objective.
        if demand > 0.0 && !within.is_empty() {
            let zi = milp.continuous(0.0, 1.0);
            milp.add((zi.var - sum_of(within)).leq(0.0));
            objective.add_mul(demand, zi.var);
            *z = Some(zi);
        }
    }

    let greedy_open = greedy(instance, p, |t| {
        -t.iter()
            .zip(&instance.demand)
            .filter(|&(&c, _)| c <= radius)
            .map(|(_, &d)| d)
            .sum::<f64>()
    });
    let mut start = vec![0.0; milp.num_columns()];
    for &j in &greedy_open {
        start[y[j].index] = 1.0;
    }
    for (zi, &(_, c)) in z.iter().zip(&nearest(instance, &greedy_open)) {
        if let Some(zi) = zi {
            start[zi.index] = if c <= radius { 1.0 } else { 0.0 };
        }
    }

    let run = run(milp, Sense::Maximise, objective, start, options, budget)?;
    let open = open_from(&run.values, &y)?;
    let near = nearest(instance, &open);
    let covered = covered_demand(instance, &near, radius);
    Ok(Solution {
        model: Model::Mclp { p, radius },
        open,
        assignment: single_source(&near),
        objective: covered,
        status: run.status,
        gap: report_gap(covered, &run),
        bound: run.bound,
        covered_demand: Some(covered),
        solve_seconds: 0.0,
    })
}

/// Multi-source CFLP: y_j binary, x_ij in [0,1]; sum_j x_ij = 1; x_ij <= y_j;
/// sum_i d_i x_ij <= u_j y_j; minimise sum f_j y_j + sum c_ij x_ij.
pub(crate) fn cflp(
    instance: &Instance,
    options: &SolveOptions,
    budget: &Budget,
) -> Result<Solution, LayoutError> {
    let solution = cflp_with(instance, options, budget, true)?;
    if solution.1 {
        Ok(solution.0)
    } else {
        // HiGHS can report an optimum found in its presolved space while the
        // columns it hands back are the start's, whose objective is worse
        // (seen on small capacitated instances). Solve again without the start.
        Ok(cflp_with(instance, options, budget, false)?.0)
    }
}

/// The CFLP MILP, warm-started from the greedy or not. Returns the solution and
/// whether its objective agrees with the one HiGHS reported for it.
fn cflp_with(
    instance: &Instance,
    options: &SolveOptions,
    budget: &Budget,
    warm: bool,
) -> Result<(Solution, bool), LayoutError> {
    let (n, m) = (instance.num_clients(), instance.num_facilities());
    let mut milp = Milp::new();
    let y: Vec<Col> = (0..m).map(|_| milp.binary()).collect();
    let x: Vec<Vec<Col>> = (0..n)
        .map(|_| (0..m).map(|_| milp.continuous(0.0, 1.0)).collect())
        .collect();
    let mut objective = Expression::default();
    for (j, yj) in y.iter().enumerate() {
        objective.add_mul(instance.fixed_cost_of(j), yj.var);
    }
    assignment_rows(&mut milp, instance, &x, &y, |_| 1.0, &mut objective);
    // Empty `capacity` (uncapacitated) zips to nothing.
    for (j, (yj, &capacity)) in y.iter().zip(&instance.capacity).enumerate() {
        let mut load = Expression::default();
        for (xi, &demand) in x.iter().zip(&instance.demand) {
            load.add_mul(demand, xi[j].var);
        }
        load.add_mul(-capacity, yj.var);
        milp.add(load.leq(0.0));
    }

    let mut start = vec![0.0; milp.num_columns()];
    for (i, row) in cflp_greedy(instance).into_iter().enumerate() {
        for (j, fraction) in row {
            start[x[i][j].index] = fraction;
            start[y[j].index] = 1.0;
        }
    }

    let run = run_with(
        milp,
        Sense::Minimise,
        objective,
        start,
        warm,
        options,
        budget,
    )?;
    let open = open_from(&run.values, &y)?;
    let assignment: Vec<Vec<(usize, f64)>> = x
        .iter()
        .map(|row| {
            let parts: Vec<(usize, f64)> = row
                .iter()
                .enumerate()
                .map(|(j, c)| (j, run.values[c.index].clamp(0.0, 1.0)))
                .filter(|&(_, v)| v > 1e-9)
                .collect();
            let total: f64 = parts.iter().map(|&(_, v)| v).sum();
            parts.into_iter().map(|(j, v)| (j, v / total)).collect()
        })
        .collect();
    let objective = open.iter().map(|&j| instance.fixed_cost_of(j)).sum::<f64>()
        + assignment
            .iter()
            .enumerate()
            .flat_map(|(i, row)| row.iter().map(move |&(j, v)| instance.cost[i][j] * v))
            .sum::<f64>();
    let agrees = run
        .objective
        .is_none_or(|claimed| (claimed - objective).abs() <= 1e-6 * claimed.abs().max(1.0));
    Ok((
        Solution {
            model: Model::Cflp,
            open,
            assignment,
            objective,
            status: run.status,
            gap: report_gap(objective, &run),
            bound: run.bound,
            covered_demand: None,
            solve_seconds: 0.0,
        },
        agrees,
    ))
}

/// A feasible CFLP start: every facility may be used; each client takes its demand from its
/// cheapest facilities (per unit) that still have room. Feasible whenever total capacity
/// covers total demand, which [`crate::solve`] checks first.
fn cflp_greedy(instance: &Instance) -> Vec<Vec<(usize, f64)>> {
    let m = instance.num_facilities();
    let mut room: Vec<f64> = if instance.capacity.is_empty() {
        vec![f64::INFINITY; m]
    } else {
        instance.capacity.clone()
    };
    let mut assignment = Vec::with_capacity(instance.num_clients());
    for (i, row) in instance.cost.iter().enumerate() {
        let demand = instance.demand[i];
        let mut order: Vec<usize> = (0..m).collect();
        order.sort_by(|&a, &b| row[a].total_cmp(&row[b]));
        let mut parts = Vec::new();
        if demand <= 0.0 {
            parts.push((order[0], 1.0));
        } else {
            let mut left = 1.0_f64;
            for j in order {
                if left <= 0.0 {
                    break;
                }
                let take = left.min(room[j] / demand);
                if take > 0.0 {
                    parts.push((j, take));
                    room[j] -= take * demand;
                    left -= take;
                }
            }
            if left > 1e-12 {
                // Rounding left a sliver: put it where the cheapest share went.
                if let Some(first) = parts.first_mut() {
                    first.1 += left;
                }
            }
        }
        assignment.push(parts);
    }
    assignment
}

/// p-center, exactly: binary search over the sorted distinct cost values r, asking each
/// time the set-covering question "can p facilities put every client within r?" as a small
/// MILP (y_j binary, sum y = p, for every client sum of y_j with c_ij <= r at least 1).
/// The smallest feasible r is the optimum.
pub(crate) fn p_center(
    instance: &Instance,
    p: usize,
    options: &SolveOptions,
    budget: &Budget,
) -> Result<Solution, LayoutError> {
    // Upper bound: the greedy solution. Lower bound: every client needs some facility.
    let mut best_open = greedy(instance, p, |t| t.iter().copied().fold(0.0, f64::max));
    let mut upper = max_cost(&nearest(instance, &best_open));
    let lower = instance
        .cost
        .iter()
        .map(|row| row.iter().copied().fold(f64::INFINITY, f64::min))
        .fold(0.0, f64::max);

    let mut candidates: Vec<f64> = instance
        .cost
        .iter()
        .flatten()
        .copied()
        .filter(|&c| c >= lower && c <= upper)
        .collect();
    candidates.sort_by(f64::total_cmp);
    candidates.dedup();
    // Invariant: candidates[hi] == upper is achieved by best_open; every candidate below
    // candidates[lo] is proven infeasible.
    let mut lo = 0;
    let mut hi = candidates.len() - 1;
    let mut status = SolveStatus::Optimal;
    while lo < hi {
        if budget.exhausted() {
            status = SolveStatus::TimeLimit;
            break;
        }
        let mid = lo + (hi - lo) / 2;
        match cover(instance, p, candidates[mid], options, budget)? {
            Cover::Feasible(open) => {
                // The cover may be better than asked for: jump straight to its radius.
                upper = max_cost(&nearest(instance, &open));
                best_open = open;
                hi = candidates.partition_point(|&c| c < upper);
            }
            Cover::Infeasible => lo = mid + 1,
            Cover::Unknown => {
                status = SolveStatus::TimeLimit;
                break;
            }
        }
    }

    let near = nearest(instance, &best_open);
    let objective = max_cost(&near);
    let bound = candidates[lo];
    Ok(Solution {
        model: Model::PCenter { p },
        open: best_open,
        assignment: single_source(&near),
        objective,
        status,
        gap: relative_gap(objective, bound),
        bound: Some(bound),
        covered_demand: None,
        solve_seconds: 0.0,
    })
}

/// The answer of one set-covering question.
enum Cover {
    /// These facilities serve every client within the radius.
    Feasible(Vec<usize>),
    /// No `p` facilities can.
    Infeasible,
    /// The time limit came first.
    Unknown,
}

/// The set-covering feasibility MILP of [`p_center`]: can `p` facilities serve every client
/// within `radius`?
fn cover(
    instance: &Instance,
    p: usize,
    radius: f64,
    options: &SolveOptions,
    budget: &Budget,
) -> Result<Cover, LayoutError> {
    let m = instance.num_facilities();
    let mut milp = Milp::new();
    let y: Vec<Col> = (0..m).map(|_| milp.binary()).collect();
    milp.add(sum_of(&y).eq(p as f64));
    for row in &instance.cost {
        let within = (0..m).filter(|&j| row[j] <= radius).map(|j| &y[j]);
        milp.add(sum_of(within).geq(1.0));
    }
    // No objective: any feasible point answers the question, and HiGHS stops at the first.
    match milp.solve(
        Sense::Minimise,
        Expression::default(),
        None,
        &budget.milp_options(options),
    )? {
        MilpResult::Solved { values, .. } => Ok(Cover::Feasible(open_from(&values, &y)?)),
        MilpResult::Infeasible => Ok(Cover::Infeasible),
        MilpResult::NoSolution => Ok(Cover::Unknown),
    }
}
