//! The MILPs against brute-force enumeration on random tiny instances (up to 6 clients and
//! 5 facilities), for all four models.

use casehub_layout::{Instance, Model, Solution, SolveOptions, SolveStatus, solve};
use proptest::prelude::*;

/// A random instance: integer demands and costs keep the optima exact.
#[derive(Debug, Clone)]
struct Tiny {
    demand: Vec<f64>,
    cost: Vec<Vec<f64>>,
    fixed: Vec<f64>,
    capacity: Vec<f64>,
}

fn tiny() -> impl Strategy<Value = Tiny> {
    (1usize..=6, 1usize..=5).prop_flat_map(|(n, m)| {
        (
            prop::collection::vec(0u32..=10, n),
            prop::collection::vec(prop::collection::vec(0u32..=20, m), n),
            prop::collection::vec(0u32..=30, m),
            prop::collection::vec(0u32..=25, m),
        )
            .prop_map(|(demand, cost, fixed, capacity)| Tiny {
                demand: demand.into_iter().map(f64::from).collect(),
                cost: cost
                    .into_iter()
                    .map(|row| row.into_iter().map(f64::from).collect())
                    .collect(),
                fixed: fixed.into_iter().map(f64::from).collect(),
                capacity: capacity.into_iter().map(f64::from).collect(),
            })
    })
}

impl Tiny {
    fn m(&self) -> usize {
        self.cost[0].len()
    }

    fn instance(&self) -> Instance {
        Instance::new(
            self.demand.clone(),
            self.cost.clone(),
            vec![],
            vec![],
            vec![],
            vec![],
        )
        .unwrap()
    }

    /// Nearest open facility cost per client.
    fn nearest(&self, set: &[usize]) -> Vec<f64> {
        self.cost
            .iter()
            .map(|row| set.iter().map(|&j| row[j]).fold(f64::INFINITY, f64::min))
            .collect()
    }
}

/// All subsets of `0..m` with exactly `p` elements (or every nonempty one when `p` is None).
fn subsets(m: usize, p: Option<usize>) -> Vec<Vec<usize>> {
    (1u32..(1 << m))
        .filter(|mask| p.is_none_or(|p| mask.count_ones() as usize == p))
        .map(|mask| (0..m).filter(|j| mask & (1 << j) != 0).collect())
        .collect()
}

fn options() -> SolveOptions {
    SolveOptions {
        threads: Some(1),
        ..SolveOptions::default()
    }
}

/// Checks what every single-source solution must satisfy.
fn check_single_source(t: &Tiny, solution: &Solution, p: usize) {
    assert_eq!(solution.status, SolveStatus::Optimal);
    assert_eq!(solution.open.len(), p);
    assert!(solution.open.windows(2).all(|w| w[0] < w[1]));
    let near = t.nearest(&solution.open);
    for (i, parts) in solution.assignment.iter().enumerate() {
        assert_eq!(parts.len(), 1);
        let (j, f) = parts[0];
        assert_eq!(f, 1.0);
        assert!(solution.open.contains(&j));
        assert_eq!(t.cost[i][j], near[i]);
    }
}

// --- CFLP brute force: enumerate open sets, solve the transportation problem exactly by a
// --- successive-shortest-path min-cost flow.

struct Edge {
    to: usize,
    cap: f64,
    cost: f64,
    rev: usize,
}

fn add_edge(g: &mut [Vec<Edge>], a: usize, b: usize, cap: f64, cost: f64) {
    let (ra, rb) = (g[b].len(), g[a].len());
    g[a].push(Edge {
        to: b,
        cap,
        cost,
        rev: ra,
    });
    g[b].push(Edge {
        to: a,
        cap: 0.0,
        cost: -cost,
        rev: rb,
    });
}

/// Min-cost flow of `need` units from `s` to `t` (Bellman-Ford shortest paths).
fn min_cost_flow(g: &mut [Vec<Edge>], s: usize, t: usize, need: f64) -> Option<f64> {
    let (mut flow, mut total) = (0.0, 0.0);
    while flow < need - 1e-9 {
        let mut dist = vec![f64::INFINITY; g.len()];
        let mut prev: Vec<Option<(usize, usize)>> = vec![None; g.len()];
        dist[s] = 0.0;
        for _ in 0..g.len() {
            let mut changed = false;
            for u in 0..g.len() {
                if dist[u].is_infinite() {
                    continue;
                }
                for (k, e) in g[u].iter().enumerate() {
                    if e.cap > 1e-12 && dist[u] + e.cost < dist[e.to] - 1e-12 {
                        dist[e.to] = dist[u] + e.cost;
                        prev[e.to] = Some((u, k));
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        if dist[t].is_infinite() {
            return None;
        }
        let mut push = need - flow;
        let mut v = t;
        while let Some((u, k)) = prev[v] {
            push = push.min(g[u][k].cap);
            v = u;
        }
        v = t;
        while let Some((u, k)) = prev[v] {
            g[u][k].cap -= push;
            let r = g[u][k].rev;
            g[v][r].cap += push;
            v = u;
        }
        flow += push;
        total += push * dist[t];
    }
    Some(total)
}

/// Cheapest way to serve everyone from exactly the facilities in `set` (fixed costs excluded).
fn transport(t: &Tiny, set: &[usize], capacitated: bool) -> Option<f64> {
    let n = t.demand.len();
    let (s, sink) = (n + set.len(), n + set.len() + 1);
    let mut g: Vec<Vec<Edge>> = (0..n + set.len() + 2).map(|_| Vec::new()).collect();
    let mut zero_demand_cost = 0.0;
    for i in 0..n {
        if t.demand[i] == 0.0 {
            // No demand: no capacity used, just the cheapest cost.
            zero_demand_cost += set
                .iter()
                .map(|&j| t.cost[i][j])
                .fold(f64::INFINITY, f64::min);
            continue;
        }
        add_edge(&mut g, s, i, t.demand[i], 0.0);
        for (k, &j) in set.iter().enumerate() {
            add_edge(&mut g, i, n + k, f64::INFINITY, t.cost[i][j] / t.demand[i]);
        }
    }
    for (k, &j) in set.iter().enumerate() {
        let cap = if capacitated {
            t.capacity[j]
        } else {
            f64::INFINITY
        };
        add_edge(&mut g, n + k, sink, cap, 0.0);
    }
    let need: f64 = t.demand.iter().sum();
    min_cost_flow(&mut g, s, sink, need).map(|c| c + zero_demand_cost)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn p_median_matches_enumeration(t in tiny(), p_seed in 0usize..5) {
        let p = 1 + p_seed % t.m();
        let best = subsets(t.m(), Some(p))
            .iter()
            .map(|s| t.nearest(s).iter().zip(&t.demand).map(|(c, d)| c * d).sum::<f64>())
            .fold(f64::INFINITY, f64::min);
        let solution = solve(&t.instance(), &Model::PMedian { p }, &options()).unwrap();
        check_single_source(&t, &solution, p);
        prop_assert_eq!(solution.objective, best);
    }

    #[test]
    fn p_center_matches_enumeration(t in tiny(), p_seed in 0usize..5) {
        let p = 1 + p_seed % t.m();
        let best = subsets(t.m(), Some(p))
            .iter()
            .map(|s| t.nearest(s).into_iter().fold(0.0, f64::max))
            .fold(f64::INFINITY, f64::min);
        let solution = solve(&t.instance(), &Model::PCenter { p }, &options()).unwrap();
        check_single_source(&t, &solution, p);
        prop_assert_eq!(solution.objective, best);
        prop_assert_eq!(solution.gap, Some(0.0));
    }

    #[test]
    fn mclp_matches_enumeration(t in tiny(), p_seed in 0usize..5, radius in 0u32..=20) {
        let p = 1 + p_seed % t.m();
        let radius = f64::from(radius);
        let best = subsets(t.m(), Some(p))
            .iter()
            .map(|s| {
                t.nearest(s)
                    .iter()
                    .zip(&t.demand)
                    .filter(|&(&c, _)| c <= radius)
                    .map(|(_, &d)| d)
                    .sum::<f64>()
            })
            .fold(0.0, f64::max);
        let solution = solve(&t.instance(), &Model::Mclp { p, radius }, &options()).unwrap();
        check_single_source(&t, &solution, p);
        prop_assert_eq!(solution.objective, best);
        prop_assert_eq!(solution.covered_demand, Some(best));
    }

    #[test]
    fn cflp_matches_enumeration(mut t in tiny(), capacitated in any::<bool>(), boost in 0usize..5) {
        // Make the instance feasible: top up one facility's capacity if needed.
        let need: f64 = t.demand.iter().sum();
        let have: f64 = t.capacity.iter().sum();
        if have < need {
            let j = boost % t.m();
            t.capacity[j] += need - have;
        }
        let best = subsets(t.m(), None)
            .iter()
            .filter_map(|s| {
                let fixed: f64 = s.iter().map(|&j| t.fixed[j]).sum();
                transport(&t, s, capacitated).map(|c| c + fixed)
            })
            .fold(f64::INFINITY, f64::min);
        let capacity = if capacitated { t.capacity.clone() } else { vec![] };
        let instance = Instance::new(
            t.demand.clone(), t.cost.clone(), t.fixed.clone(), capacity, vec![], vec![],
        ).unwrap();
        let solution = solve(&instance, &Model::Cflp, &options()).unwrap();
        prop_assert_eq!(solution.status, SolveStatus::Optimal);
        prop_assert!(
            (solution.objective - best).abs() <= 1e-6 * best.abs().max(1.0),
            "milp {} brute force {}", solution.objective, best
        );
        let mut load = vec![0.0; t.m()];
        for (i, parts) in solution.assignment.iter().enumerate() {
            let total: f64 = parts.iter().map(|&(_, f)| f).sum();
            prop_assert!((total - 1.0).abs() < 1e-9);
            for &(j, f) in parts {
                prop_assert!(solution.open.contains(&j));
                load[j] += f * t.demand[i];
            }
        }
        if capacitated {
            for (l, u) in load.iter().zip(&t.capacity) {
                prop_assert!(*l <= u + 1e-6);
            }
        }
    }
}
