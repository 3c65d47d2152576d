//! Price-and-branch's pricing: column generation on the LP relaxation.
//! The first restricted set of options, their reduced costs under the
//! LP's duals, and the rounds that add the options with negative reduced
//! cost until none is left (the LP over all options is then solved, and its
//! value bounds every plan) or the time is up.

use super::*;

/// Reduced cost of option `oi` of case `ci` under LP duals: `c − Aᵀy`.
pub(super) fn reduced_cost(
    ctx: &Context<'_>,
    all: &[CaseOptions],
    ci: usize,
    oi: usize,
    d: &Duals,
) -> f64 {
    let o = &all[ci].options[oi];
    let mut rc = o.cost.total - d.case[ci];
    for us in &o.usage {
        for k in us.from.max(0)..us.to.min(ctx.slots) {
            if let Some(y) = d.capacity.get(&(us.resource, k)) {
                rc -= f64::from(us.amount) * y;
            }
        }
    }
    let persons = ctx.state.pending[ci].case.persons.len() as f64;
    rc - persons / questioning_rooms(ctx, o.site) * d.load[o.site]
}

/// The first restricted set: the cheapest few options of each (site, escort)
/// of every case, and the greedy's choice.
pub(super) fn first_columns(all: &[CaseOptions], warm: &[Option<usize>]) -> Vec<Vec<usize>> {
    all.iter()
        .enumerate()
        .map(|(ci, co)| {
            let mut groups: HashMap<(usize, crate::plan::EscortMode, Option<usize>), Vec<usize>> =
                HashMap::new();
            for (oi, o) in co.options.iter().enumerate() {
                groups
                    .entry((o.site, o.mode, o.team_site))
                    .or_default()
                    .push(oi);
            }
            let mut act: Vec<usize> = Vec::new();
            for (_, mut g) in groups {
                g.sort_by(|&a, &b| {
                    co.options[a]
                        .cost
                        .total
                        .total_cmp(&co.options[b].cost.total)
                });
                act.extend(g.into_iter().take(FIRST_PER_GROUP));
            }
            if let Some(w) = warm[ci] {
                act.push(w);
            }
            act.sort_unstable();
            act.dedup();
            act
        })
        .collect()
}

/// The LP relaxation over all options, as the pricing left it.
pub(super) struct Priced {
    /// Its value: a lower bound for the model objective of any plan.
    pub(super) bound: f64,
    /// The last restricted LP, whose columns are the relaxation's solution.
    pub(super) lp: Solved,
}

/// Column generation on the LP relaxation: add options with negative reduced
/// cost until there are none (the LP over *all* options is then solved, and
/// its value is a lower bound for any plan) or the time is up. Returns the
/// bound and the last LP when the bound was proven.
pub(super) fn price(
    ctx: &Context<'_>,
    all: &[CaseOptions],
    active: &mut [Vec<usize>],
    rows: &[(Resource, i64)],
    deadline: Instant,
) -> Result<Option<Priced>, PlanError> {
    loop {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .as_secs_f64();
        if left <= 0.05 {
            return Ok(None);
        }
        let lp = build_and_solve(ctx, all, active, rows, &[], true, left)?;
        if lp.status != "optimal" {
            return Ok(None);
        }
        let d = lp.duals.as_ref().expect("LP solves return duals");
        let mut added = 0;
        for (ci, co) in all.iter().enumerate() {
            let mut neg: Vec<(f64, usize)> = (0..co.options.len())
                .filter(|oi| active[ci].binary_search(oi).is_err())
                .map(|oi| (reduced_cost(ctx, all, ci, oi, d), oi))
                .filter(|&(rc, _)| rc < -1e-6)
                .collect();
            neg.sort_by(|a, b| a.0.total_cmp(&b.0));
            for &(_, oi) in neg.iter().take(ADD_PER_CASE) {
                active[ci].push(oi);
                added += 1;
            }
            active[ci].sort_unstable();
        }
        if added == 0 {
            return Ok(Some(Priced {
                bound: lp.objective,
                lp,
            }));
        }
    }
}
