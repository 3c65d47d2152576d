//! p-median, exactly: a Lagrangian bound and reduced-cost fixing around a greedy +
//! interchange incumbent, then HiGHS on what is left.
//!
//! 1. **Incumbent.** Greedy construction, then Teitz–Bart interchange (swap an open facility
//!    for a closed one while that lowers the cost).
//! 2. **Lagrangian bound.** Relaxing "every client fully assigned" (`sum_j x_ij = 1`) with
//!    multipliers `l_i` leaves `sum_i l_i + min { sum_j r_j y_j : sum_j y_j = p }` with
//!    `r_j = sum_i min(0, d_i c_ij - l_i)`: open the `p` facilities of least `r_j`. Its
//!    maximum over `l` equals the LP bound of the classical formulation (which is often the
//!    optimum on these instances); subgradient steps approach it. Every Lagrangian solution
//!    is also a set of `p` facilities, i.e. a candidate incumbent. When the bound meets the
//!    incumbent (for integral data, when it exceeds the incumbent minus one), the incumbent
//!    is optimal.
//! 3. **Reduced-cost fixing.** At any `l`, forcing a facility the Lagrangian solution leaves
//!    closed open costs at least `r_j - r_(p)` more (`r_(p)` the `p`-th smallest), and forcing
//!    one it opens closed costs at least `r_(p+1) - r_j` more. When that bound cannot beat
//!    the incumbent, no strictly better solution opens (closes) that facility, and it is
//!    fixed closed (open) for the rest of the solve.
//! 4. **MILP.** The classical formulation (`x_ij <= y_j`, `sum_j x_ij = 1`, `sum_j y_j = p`)
//!    over the facilities still free, each client's columns limited to the facilities no
//!    farther than its `(m' - p + 1)`-th nearest (some open facility always is), built
//!    directly on HiGHS and warm-started with the incumbent when it fits. The optimum is the
//!    better of that MILP's and the incumbent.

use highs::RowProblem;

use crate::milp::{MilpResult, Sense, solve_raw};
use crate::models::{Budget, greedy, median_cost, nearest, relative_gap, single_source};
use crate::{Instance, LayoutError, Model, Solution, SolveOptions, SolveStatus};

/// Distinct Lagrangian solutions improved by interchange at most.
const MAX_LOCAL_SEARCHES: usize = 20;
/// Subgradient iterations at most.
const MAX_ITERATIONS: usize = 3000;
/// Iterations without a better bound before the step size is halved.
const PATIENCE: usize = 30;
/// The subgradient stops once the step factor falls below this.
const MIN_STEP: f64 = 1e-4;

/// What the Lagrangian phase learnt.
struct Relaxation {
    /// Best Lagrangian lower bound, as a value the optimum cannot be below (rounded up for
    /// integral data).
    bound: f64,
    /// Facilities no strictly better solution than the incumbent opens.
    closed: Vec<bool>,
    /// Facilities every strictly better solution than the incumbent opens.
    open: Vec<bool>,
}

/// The weighted costs `d_i c_ij`, row-major, and whether they (hence every solution's cost)
/// are whole numbers small enough to add exactly.
fn weighted_costs(instance: &Instance) -> (Vec<f64>, bool) {
    let mut integral = true;
    let mut w = Vec::with_capacity(instance.num_clients() * instance.num_facilities());
    for (row, &d) in instance.cost.iter().zip(&instance.demand) {
        for &c in row {
            let v = d * c;
            integral &= v.fract() == 0.0 && v < 1e12;
            w.push(v);
        }
    }
    (w, integral)
}

/// The least value a solution whose cost is proven at least `bound` can have: `bound` itself,
/// or for integral data the next whole number (after allowing for rounding in the sums).
fn floor_of(bound: f64, integral: bool) -> f64 {
    if integral {
        (bound - 1e-7 * bound.abs().max(1.0)).ceil()
    } else {
        bound
    }
}

/// Cost of opening `open`, from the weighted costs.
fn cost_of(w: &[f64], m: usize, open: &[usize]) -> f64 {
    w.chunks_exact(m)
        .map(|row| open.iter().map(|&j| row[j]).fold(f64::INFINITY, f64::min))
        .sum()
}

/// Subgradient optimisation of the Lagrangian bound, improving `best` on the way and fixing
/// facilities by reduced cost. Stops early once the bound proves `best` optimal (`proven`).
#[allow(clippy::too_many_arguments)]
fn relax(
    instance: &Instance,
    p: usize,
    w: &[f64],
    integral: bool,
    best: &mut Vec<usize>,
    best_cost: &mut f64,
    proven: impl Fn(f64, f64) -> bool,
    budget: &Budget,
) -> Relaxation {
    let (n, m) = (instance.num_clients(), instance.num_facilities());
    let mut relaxation = Relaxation {
        bound: f64::NEG_INFINITY,
        closed: vec![false; m],
        open: vec![false; m],
    };
    // Start from the prices the incumbent pays.
    let mut lambda: Vec<f64> = w
        .chunks_exact(m)
        .map(|row| best.iter().map(|&j| row[j]).fold(f64::INFINITY, f64::min))
        .collect();
    let mut rho = vec![0.0; m];
    let mut ranked: Vec<usize> = (0..m).collect();
    let mut g = vec![0.0; n];
    let mut step = 2.0;
    let mut since_better = 0;
    let mut best_raw = f64::NEG_INFINITY;
    let mut tried: Vec<Vec<usize>> = Vec::new();
    for iteration in 0..MAX_ITERATIONS {
        if iteration % 64 == 63 && budget.exhausted() {
            break;
        }
        rho.iter_mut().for_each(|r| *r = 0.0);
        for (row, &l) in w.chunks_exact(m).zip(&lambda) {
            for (r, &v) in rho.iter_mut().zip(row) {
                if v < l {
                    *r += v - l;
                }
            }
        }
        ranked.select_nth_unstable_by(p - 1, |&a, &b| rho[a].total_cmp(&rho[b]));
        let (set, rest) = ranked.split_at_mut(p);
        let pth = set
            .iter()
            .map(|&j| rho[j])
            .fold(f64::NEG_INFINITY, f64::max);
        let next = rest.iter().map(|&j| rho[j]).fold(f64::INFINITY, f64::min);
        let value: f64 = lambda.iter().sum::<f64>() + set.iter().map(|&j| rho[j]).sum::<f64>();

        // The Lagrangian solution's facilities, as a primal solution.
        let mut open: Vec<usize> = set.to_vec();
        open.sort_unstable();
        let cost = cost_of(w, m, &open);
        if cost < *best_cost {
            *best = open.clone();
            *best_cost = cost;
        }
        // Interchange from the promising ones (a few per cent from the incumbent).
        if cost <= *best_cost * 1.02 && tried.len() < MAX_LOCAL_SEARCHES && !tried.contains(&open) {
            tried.push(open.clone());
            let improved = interchange(instance, open);
            let cost = cost_of(w, m, &improved);
            if cost < *best_cost {
                *best = improved;
                *best_cost = cost;
            }
        }

        if value > best_raw {
            if value > best_raw + 1e-9 * value.abs().max(1.0) {
                since_better = 0;
            }
            best_raw = value;
            relaxation.bound = relaxation.bound.max(floor_of(value, integral));
        }
        since_better += 1;
        if since_better > PATIENCE {
            step /= 2.0;
            since_better = 0;
        }
        // Reduced-cost fixing at these multipliers.
        for &j in set.iter() {
            if floor_of(value - rho[j] + next, integral) >= *best_cost {
                relaxation.open[j] = true;
            }
        }
        for &j in rest.iter() {
            if floor_of(value + rho[j] - pth, integral) >= *best_cost {
                relaxation.closed[j] = true;
            }
        }
        if proven(relaxation.bound, *best_cost) || step < MIN_STEP {
            break;
        }

        // Subgradient: 1 - (number of open facilities the client is assigned to).
        let mut norm = 0.0;
        for ((gi, row), &l) in g.iter_mut().zip(w.chunks_exact(m)).zip(&lambda) {
            let assigned = set.iter().filter(|&&j| row[j] < l).count();
            *gi = 1.0 - assigned as f64;
            norm += *gi * *gi;
        }
        if norm == 0.0 {
            // Every client is assigned once: the Lagrangian solution is feasible, its value
            // (already the bound) is its cost, and `best` is no worse than it: optimal.
            break;
        }
        let t = step * (*best_cost - value).max(1e-9 * best_cost.abs().max(1.0)) / norm;
        for (l, &gi) in lambda.iter_mut().zip(&g) {
            *l += t * gi;
        }
    }
    relaxation
}

/// The classical formulation over the facilities in `free` (those in `forced` fixed open),
/// built directly on HiGHS.
#[allow(clippy::too_many_arguments)]
fn restricted(
    instance: &Instance,
    p: usize,
    w: &[f64],
    free: &[usize],
    forced: &[bool],
    start: Option<&[usize]>,
    options: &SolveOptions,
    budget: &Budget,
) -> Result<Outcome, LayoutError> {
    let m = instance.num_facilities();
    let k = free.len();
    if k < p || free.iter().filter(|&&j| forced[j]).count() > p {
        return Ok(Outcome::Infeasible);
    }
    let mut problem = RowProblem::default();
    let y: Vec<highs::Col> = free
        .iter()
        .map(|&j| {
            let lo = if forced[j] { 1.0 } else { 0.0 };
            problem.add_integer_column(0.0, lo..=1.0)
        })
        .collect();
    let mut values = vec![0.0; k];
    let start_open: Vec<usize> = start.map(<[usize]>::to_vec).unwrap_or_default();
    for (slot, &j) in free.iter().enumerate() {
        if start_open.contains(&j) {
            values[slot] = 1.0;
        }
    }
    let ones: Vec<(highs::Col, f64)> = y.iter().map(|&c| (c, 1.0)).collect();
    problem.add_row(p as f64..=p as f64, &ones);
    let mut order: Vec<usize> = (0..k).collect();
    let mut assign: Vec<(highs::Col, f64)> = Vec::with_capacity(k);
    for (i, row) in w.chunks_exact(m).enumerate() {
        if instance.demand[i] <= 0.0 {
            continue;
        }
        let costs = &instance.cost[i];
        order.sort_by(|&a, &b| costs[free[a]].total_cmp(&costs[free[b]]));
        let cap = costs[free[order[k - p]]];
        // In the start, the client goes to its nearest open facility.
        let target = order
            .iter()
            .copied()
            .find(|&slot| values[slot] > 0.5 && start.is_some());
        assign.clear();
        for &slot in order.iter().take_while(|&&s| costs[free[s]] <= cap) {
            let x = problem.add_column(row[free[slot]], 0.0..=1.0);
            values.push(if target == Some(slot) { 1.0 } else { 0.0 });
            problem.add_row(..=0.0, [(x, 1.0), (y[slot], -1.0)]);
            assign.push((x, 1.0));
        }
        problem.add_row(1.0..=1.0, &assign);
    }
    let result = solve_raw(
        problem,
        Sense::Minimise,
        start.map(|_| values.as_slice()),
        &budget.milp_options(options),
    )?;
    Ok(match result {
        MilpResult::Solved {
            values,
            status,
            bound,
            ..
        } => {
            let open: Vec<usize> = (0..k)
                .filter(|&slot| values[slot] > 0.5)
                .map(|slot| free[slot])
                .collect();
            Outcome::Found(open, status, bound)
        }
        MilpResult::Infeasible => Outcome::Infeasible,
        MilpResult::NoSolution => Outcome::NoSolution,
    })
}

/// What the MILP over the free facilities ended with.
enum Outcome {
    /// Its best open set, HiGHS's status and bound.
    Found(Vec<usize>, SolveStatus, Option<f64>),
    /// No `p` free facilities (with the forced ones open) exist.
    Infeasible,
    /// The time ran out before HiGHS had a solution.
    NoSolution,
}

/// Teitz–Bart interchange with Whitaker's fast swap evaluation: swap an open facility for a
/// closed one while that lowers the demand-weighted cost.
fn interchange(instance: &Instance, mut open: Vec<usize>) -> Vec<usize> {
    let (n, m) = (instance.num_clients(), instance.num_facilities());
    if open.len() >= m {
        return open;
    }
    let cost = &instance.cost;
    let demand = &instance.demand;
    let mut is_open = vec![false; m];
    for &j in &open {
        is_open[j] = true;
    }
    let mut first = vec![(0usize, 0.0f64); n];
    let mut second = vec![f64::INFINITY; n];
    let mut extra = vec![0.0; m];
    loop {
        for i in 0..n {
            let (mut b1, mut c1, mut c2) = (usize::MAX, f64::INFINITY, f64::INFINITY);
            for &j in &open {
                let c = cost[i][j];
                if c < c1 || (c == c1 && j < b1) {
                    c2 = c1;
                    b1 = j;
                    c1 = c;
                } else if c < c2 {
                    c2 = c;
                }
            }
            first[i] = (b1, c1);
            second[i] = c2;
        }
        let current: f64 = (0..n).map(|i| demand[i] * first[i].1).sum();
        let tolerance = 1e-9 * current.abs().max(1.0);
        let mut swap: Option<(f64, usize, usize)> = None;
        for candidate in (0..m).filter(|&j| !is_open[j]) {
            // Change when `candidate` opens and `out` closes: `common` whatever `out` is,
            // plus `extra[out]` for the clients whose nearest open facility is `out`.
            let mut common = 0.0;
            for &j in &open {
                extra[j] = 0.0;
            }
            for i in 0..n {
                let c = cost[i][candidate];
                let (b1, c1) = first[i];
                if c < c1 {
                    common += demand[i] * (c - c1);
                } else {
                    extra[b1] += demand[i] * (c.min(second[i]) - c1);
                }
            }
            for &out in &open {
                let delta = common + extra[out];
                if delta < -tolerance && swap.is_none_or(|(best, _, _)| delta < best) {
                    swap = Some((delta, out, candidate));
                }
            }
        }
        let Some((_, out, candidate)) = swap else {
            break;
        };
        is_open[out] = false;
        is_open[candidate] = true;
        for j in open.iter_mut() {
            if *j == out {
                *j = candidate;
            }
        }
    }
    open.sort_unstable();
    open
}

/// p-median; see the module docs.
pub(crate) fn p_median(
    instance: &Instance,
    p: usize,
    options: &SolveOptions,
    budget: &Budget,
) -> Result<Solution, LayoutError> {
    let m = instance.num_facilities();
    let weighted = |t: &[f64]| t.iter().zip(&instance.demand).map(|(c, d)| c * d).sum();
    let mut best = interchange(instance, greedy(instance, p, weighted));
    let (w, integral) = weighted_costs(instance);
    let mut best_cost = cost_of(&w, m, &best);
    let gap_ok = |bound: f64, cost: f64| cost - bound <= options.mip_rel_gap * cost.abs();

    let mut status = SolveStatus::TimeLimit;
    let mut bound = None;
    if p == m {
        // Only one solution.
        status = SolveStatus::Optimal;
        bound = Some(best_cost);
    } else if !budget.exhausted() {
        let relaxation = relax(
            instance,
            p,
            &w,
            integral,
            &mut best,
            &mut best_cost,
            gap_ok,
            budget,
        );
        bound = Some(relaxation.bound.min(best_cost));
        if gap_ok(relaxation.bound, best_cost) {
            status = SolveStatus::Optimal;
        } else if !budget.exhausted() {
            let free: Vec<usize> = (0..m).filter(|&j| !relaxation.closed[j]).collect();
            let fits = best.iter().all(|&j| !relaxation.closed[j])
                && (0..m).all(|j| !relaxation.open[j] || best.contains(&j));
            let incumbent = best_cost;
            match restricted(
                instance,
                p,
                &w,
                &free,
                &relaxation.open,
                fits.then_some(best.as_slice()),
                options,
                budget,
            )? {
                Outcome::Found(open, run_status, run_bound) => {
                    let cost = cost_of(&w, m, &open);
                    if cost < best_cost {
                        best = open;
                        best_cost = cost;
                    }
                    status = run_status;
                    // Outside the free facilities nothing beats the incumbent.
                    if let Some(b) = run_bound {
                        let b = floor_of(b, integral).min(incumbent).min(best_cost);
                        bound = bound.map(|old| old.max(b));
                    }
                }
                Outcome::Infeasible => {
                    // No strictly better solution exists.
                    status = SolveStatus::Optimal;
                    bound = Some(best_cost);
                }
                Outcome::NoSolution => {}
            }
        }
    }

    let near = nearest(instance, &best);
    let objective = median_cost(instance, &near);
    Ok(Solution {
        model: Model::PMedian { p },
        open: best,
        assignment: single_source(&near),
        objective,
        status,
        gap: bound.and_then(|b| relative_gap(objective, b)),
        bound,
        covered_demand: None,
        solve_seconds: 0.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (no dependency needed for this).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self, below: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % below
        }
    }

    fn random_instance(rng: &mut Lcg, fractional: bool) -> Instance {
        let n = 2 + rng.next(9) as usize;
        let m = 1 + rng.next(7) as usize;
        let scale = if fractional { 0.37 } else { 1.0 };
        let demand = (0..n).map(|_| rng.next(4) as f64 * scale).collect();
        let cost = (0..n)
            .map(|_| (0..m).map(|_| rng.next(20) as f64 * scale).collect())
            .collect();
        Instance::new(demand, cost, vec![], vec![], vec![], vec![]).unwrap()
    }

    fn enumerate(instance: &Instance, p: usize) -> f64 {
        let m = instance.num_facilities();
        (0u32..1 << m)
            .filter(|mask| mask.count_ones() as usize == p)
            .map(|mask| {
                let open: Vec<usize> = (0..m).filter(|j| mask & (1 << j) != 0).collect();
                median_cost(instance, &nearest(instance, &open))
            })
            .fold(f64::INFINITY, f64::min)
    }

    /// The whole pipeline, the Lagrangian bound and the classical MILP over every facility
    /// (no fixing, no start) agree with enumeration.
    #[test]
    fn bound_fixing_and_plain_milp_agree_with_enumeration() {
        let mut rng = Lcg(7);
        let options = SolveOptions::default();
        for case in 0..300 {
            let instance = random_instance(&mut rng, case % 2 == 1);
            let m = instance.num_facilities();
            let p = 1 + rng.next(m as u64) as usize;
            let optimum = enumerate(&instance, p);
            let tolerance = 1e-9 * optimum.max(1.0);

            let budget = Budget::new(None);
            let solution = p_median(&instance, p, &options, &budget).unwrap();
            assert_eq!(solution.status, SolveStatus::Optimal, "case {case}");
            assert!(
                (solution.objective - optimum).abs() <= tolerance,
                "case {case}"
            );
            let bound = solution.bound.unwrap();
            assert!(bound <= optimum + tolerance, "case {case}: bound {bound}");

            let free: Vec<usize> = (0..m).collect();
            let (w, integral) = weighted_costs(&instance);
            let outcome = restricted(
                &instance,
                p,
                &w,
                &free,
                &vec![false; m],
                None,
                &options,
                &budget,
            )
            .unwrap();
            let Outcome::Found(open, status, _) = outcome else {
                panic!("case {case}: the plain MILP found nothing");
            };
            assert_eq!(status, SolveStatus::Optimal);
            assert_eq!(open.len(), p);
            assert!(
                (cost_of(&w, m, &open) - optimum).abs() <= tolerance,
                "case {case}"
            );

            if p < m {
                let mut best = greedy(&instance, p, |t| {
                    t.iter().zip(&instance.demand).map(|(c, d)| c * d).sum()
                });
                let mut best_cost = cost_of(&w, m, &best);
                let relaxation = relax(
                    &instance,
                    p,
                    &w,
                    integral,
                    &mut best,
                    &mut best_cost,
                    |_, _| false,
                    &budget,
                );
                assert!(relaxation.bound <= optimum + tolerance, "case {case}");
                assert!(best_cost >= optimum - tolerance);
                // Fixing never removes every optimal solution better than the incumbent.
                if best_cost > optimum + tolerance {
                    let free: Vec<usize> = (0..m).filter(|&j| !relaxation.closed[j]).collect();
                    match restricted(
                        &instance,
                        p,
                        &w,
                        &free,
                        &relaxation.open,
                        None,
                        &options,
                        &budget,
                    )
                    .unwrap()
                    {
                        Outcome::Found(open, _, _) => {
                            assert!((cost_of(&w, m, &open) - optimum).abs() <= tolerance)
                        }
                        _ => panic!("case {case}: fixing cut off the optimum"),
                    }
                }
            }
        }
    }
}
