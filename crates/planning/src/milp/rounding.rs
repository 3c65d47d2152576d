//! From the LP relaxation to a plan without branching: rounding the
//! relaxation (the most decided cases first), and a local search that moves
//! single cases while the model objective falls. Together they give HiGHS a
//! warm start close to the optimum, or a plan already within the gap.

use super::*;

/// Round the LP relaxation to a plan: cases whose relaxation is the most
/// decided first, each booked with its first option that fits, trying the
/// options in order of their LP value, then of reduced cost (options the LP
/// did not generate last). Cases left out go first in the next pass, for a
/// few passes; the pass with the lowest model objective wins.
pub(super) fn round(
    ctx: &Context<'_>,
    all: &[CaseOptions],
    active: &[Vec<usize>],
    lp: &Solved,
    objective: impl Fn(&[Option<(Opt, Booking)>]) -> f64,
) -> (Choice, f64) {
    const PASSES: usize = 3;
    let d = lp.duals.as_ref().expect("LP solves return duals");
    let tries: Vec<Vec<usize>> = (0..all.len())
        .map(|ci| {
            let mut t: Vec<(f64, f64, usize)> = (0..all[ci].options.len())
                .map(|oi| {
                    let value = active[ci]
                        .binary_search(&oi)
                        .map_or(-1.0, |j| lp.values[ci][j]);
                    (value, reduced_cost(ctx, all, ci, oi, d), oi)
                })
                .collect();
            t.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.total_cmp(&b.1)));
            t.into_iter().map(|x| x.2).collect()
        })
        .collect();
    let certainty = |ci: usize| lp.values[ci].iter().copied().fold(0.0, f64::max);
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by(|&a, &b| {
        certainty(b).total_cmp(&certainty(a)).then(
            ctx.deadline(&ctx.state.pending[a].case)
                .0
                .cmp(&ctx.deadline(&ctx.state.pending[b].case).0),
        )
    });
    let base = Booker::new(ctx);
    let mut best: Option<(Choice, f64)> = None;
    for _ in 0..PASSES {
        let mut booker = base.clone();
        let mut chosen = vec![None; all.len()];
        for &ci in &order {
            for &oi in &tries[ci] {
                let opt = &all[ci].options[oi];
                if let Ok(b) = booker.book(ctx, opt) {
                    chosen[ci] = Some((opt.clone(), b));
                    break;
                }
            }
        }
        let value = objective(&chosen);
        let left_out: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&ci| chosen[ci].is_none())
            .collect();
        if best.as_ref().is_none_or(|b| value < b.1) {
            best = Some((chosen, value));
        }
        if left_out.is_empty() {
            break;
        }
        order.retain(|ci| !left_out.contains(ci));
        order.splice(0..0, left_out);
    }
    best.expect("at least one pass")
}

/// Improve a choice by moving single cases to other options (or planning a
/// case left out) while the model objective falls, checking the capacity
/// rows by counts exactly as the MILP does. A cheap local search that brings
/// the MILP's warm start close to the optimum, so HiGHS has less to find.
pub(super) fn improve(
    ctx: &Context<'_>,
    all: &[CaseOptions],
    rows: &[(Resource, i64)],
    penalty: f64,
    mut choice: Vec<Option<usize>>,
) -> Vec<Option<usize>> {
    const PASSES: usize = 10;
    let row_of: HashMap<(Resource, i64), usize> =
        rows.iter().enumerate().map(|(i, &k)| (k, i)).collect();
    let cap: Vec<f64> = rows
        .iter()
        .map(|&(r, k)| f64::from(ctx.cap(r, k).max(0)))
        .collect();
    // Each option's uses of the capacity rows, added up per row.
    let uses = |o: &Opt| -> Vec<(usize, f64)> {
        let mut m: HashMap<usize, f64> = HashMap::new();
        for us in &o.usage {
            for k in us.from.max(0)..us.to.min(ctx.slots) {
                if let Some(&r) = row_of.get(&(us.resource, k)) {
                    *m.entry(r).or_default() += f64::from(us.amount);
                }
            }
        }
        m.into_iter().collect()
    };
    let uses: Vec<Vec<Vec<(usize, f64)>>> = all
        .iter()
        .map(|co| co.options.iter().map(uses).collect())
        .collect();
    let persons = |ci: usize| ctx.state.pending[ci].case.persons.len() as f64;
    let mut used = vec![0.0; rows.len()];
    let mut load = vec![0.0; ctx.region.sites.len()];
    for (ci, c) in choice.iter().enumerate() {
        if let Some(oi) = *c {
            for &(r, a) in &uses[ci][oi] {
                used[r] += a;
            }
            load[all[ci].options[oi].site] += persons(ci);
        }
    }
    let w = ctx.settings.weights.imbalance;
    // Options of each case, cheapest first.
    let by_cost: Vec<Vec<usize>> = all
        .iter()
        .map(|co| {
            let mut v: Vec<usize> = (0..co.options.len()).collect();
            v.sort_by(|&a, &b| {
                co.options[a]
                    .cost
                    .total
                    .total_cmp(&co.options[b].cost.total)
            });
            v
        })
        .collect();
    for _ in 0..PASSES {
        let mut moved = false;
        for ci in 0..all.len() {
            let current = choice[ci];
            let (now_cost, now_site) = match current {
                Some(oi) => (
                    all[ci].options[oi].cost.total,
                    Some(all[ci].options[oi].site),
                ),
                None => (penalty, None),
            };
            let base_load = crate::max_load(ctx, &load);
            for &oi in &by_cost[ci] {
                if Some(oi) == current {
                    continue;
                }
                let o = &all[ci].options[oi];
                if o.cost.total >= now_cost + w * base_load {
                    break; // no cheaper option left, even with a lower load
                }
                let mut l = load.clone();
                if let Some(s) = now_site {
                    l[s] -= persons(ci);
                }
                l[o.site] += persons(ci);
                let delta = o.cost.total - now_cost + w * (crate::max_load(ctx, &l) - base_load);
                if delta >= -1e-9 {
                    continue;
                }
                let freed = |r: usize| -> f64 {
                    current.map_or(0.0, |c| {
                        uses[ci][c].iter().filter(|u| u.0 == r).map(|u| u.1).sum()
                    })
                };
                if uses[ci][oi]
                    .iter()
                    .all(|&(r, a)| used[r] - freed(r) + a <= cap[r] + 1e-9)
                {
                    if let Some(c) = current {
                        for &(r, a) in &uses[ci][c] {
                            used[r] -= a;
                        }
                    }
                    for &(r, a) in &uses[ci][oi] {
                        used[r] += a;
                    }
                    load = l;
                    choice[ci] = Some(oi);
                    moved = true;
                    break;
                }
            }
        }
        if !moved {
            break;
        }
    }
    choice
}
