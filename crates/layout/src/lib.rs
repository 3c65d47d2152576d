//! Exact facility-location models for deciding where casehub sub-centers go.
//!
//! An [`Instance`] holds `n` clients (police stations or townships that send cases, with a
//! demand each), `m` candidate facilities (sites for a sub-center), and a cost matrix
//! `cost[client][facility]`. [`solve`] builds a mixed-integer linear program for the chosen
//! [`Model`] with `good_lp` and solves it to proven optimality with HiGHS (within
//! [`SolveOptions::mip_rel_gap`]) unless the time limit stops it first.
//!
//! # The models
//!
//! Throughout, `y_j` is 1 when facility `j` is opened, `d_i` is the demand of client `i` and
//! `c_ij` is `cost[i][j]`.
//!
//! * **p-median** ([`Model::PMedian`]): open exactly `p` facilities and send every client to
//!   one of them so that total demand-weighted cost `sum_i sum_j d_i c_ij x_ij` is least.
//!   The MILP is the classical one: `x_ij` (in `[0, 1]`, the share of client `i` served by
//!   `j`) sums to 1 over `j` for every client and may only be positive where `y_j = 1`
//!   (`x_ij <= y_j`, one row per pair, which makes the LP relaxation tight). Continuous `x` is
//!   enough: once `y` is fixed, sending each client to its nearest open facility is optimal.
//!   The reported assignment is exactly that. Before HiGHS sees it, a greedy + Teitz–Bart
//!   interchange incumbent and a Lagrangian bound (subgradient on the assignment rows, as
//!   strong as the LP) often prove the incumbent optimal outright; otherwise reduced-cost
//!   fixing closes (or opens) every facility that cannot be part of a better solution, and
//!   HiGHS solves the classical MILP over the facilities left, built directly on HiGHS.
//! * **p-center** ([`Model::PCenter`]): open exactly `p` facilities so that the largest
//!   client-to-nearest-open-facility cost is least (every client counts, whatever its
//!   demand). Solved exactly by binary search over the sorted distinct values of the cost
//!   matrix, bracketed by a lower bound (each client's cheapest facility) and a greedy upper
//!   bound. Each step asks a small set-covering MILP "can `p` facilities put every client
//!   within `r`?" (`sum y = p`, and for each client the sum of `y_j` over facilities with
//!   `c_ij <= r` at least 1); the smallest feasible `r` is the optimum.
//! * **MCLP**, maximal covering ([`Model::Mclp`]): open exactly `p` facilities to maximise the
//!   demand of clients that have an open facility within `radius` (inclusive: `c_ij <= radius`).
//!   `z_i <= sum of y_j over facilities within radius`, maximise `sum d_i z_i`; `z` may be
//!   continuous because it is integral at the optimum once `y` is. Every client, covered or
//!   not, is assigned to its nearest open facility; [`Solution::covered_demand`] is the
//!   objective.
//! * **CFLP**, multi-source capacitated facility location with fixed costs ([`Model::Cflp`]):
//!   open any number of facilities, paying `fixed_cost[j]` for each, and split each client's
//!   demand over open facilities: `x_ij` in `[0, 1]`, `sum_j x_ij = 1`, `x_ij <= y_j`
//!   (redundant but strengthening), `sum_i d_i x_ij <= capacity_j y_j`; minimise
//!   `sum f_j y_j + sum c_ij x_ij`. Here `c_ij` is the cost of serving *all* of client `i`'s
//!   demand from `j`, as in the OR-Library `cap` files. Empty `fixed_cost` means free
//!   facilities, empty `capacity` means uncapacitated.
//!
//! Before solving, the obvious infeasibilities are reported as [`LayoutError::Infeasible`]
//! (`p` larger than the number of candidate facilities, total capacity below total demand).
//! The MILP solves start from a greedy solution, so HiGHS always has an incumbent (for
//! p-median, when the incumbent is compatible with the fixings; otherwise the incumbent is
//! kept aside and the better of the two is returned).
//!
//! # Status, gap and bound
//!
//! [`Solution::status`] is [`SolveStatus::Optimal`] when HiGHS proved the solution optimal
//! within the relative tolerance [`SolveOptions::mip_rel_gap`] (default `1e-6`), and
//! [`SolveStatus::TimeLimit`] when [`SolveOptions::time_limit`] stopped it first; the solution
//! is then the best one found (at worst the greedy start) and may not be optimal.
//! [`Solution::bound`] is the best proven bound on the optimum (a lower bound when
//! minimising, an upper bound for MCLP) and [`Solution::gap`] is
//! `|objective - bound| / |objective|`, HiGHS's definition of the relative MIP gap: the
//! optimum is guaranteed to be within that fraction of the reported objective. At
//! `Optimal` the gap is at most `mip_rel_gap` (usually 0). For p-center the bound comes from
//! the binary search: the smallest radius not yet proven infeasible.
//!
//! # OR-Library files
//!
//! [`orlib`] parses J. E. Beasley's classic benchmark files from text (no file IO here):
//!
//! * `pmed1`..`pmed40` ([`orlib::parse_pmed`]): a first line `n m p` (vertices, edges,
//!   medians), then `m` lines `i j cost` of undirected edges between 1-based vertices. When
//!   an edge is listed twice the last listing counts. Costs are all-pairs shortest-path
//!   distances; every vertex is a client of demand 1 and a candidate facility.
//! * `cap41`..`cap134`, `capa`..`capc` ([`orlib::parse_cap`]): a first line `m n`
//!   (warehouses, customers), `m` lines `capacity fixed_cost`, then per customer its demand
//!   and the `m` costs of serving all of it from each warehouse, wrapped over lines at will.
//!   `capa`..`capc` write the word `capacity` instead of a number: the caller supplies it.
//!
//! Parse errors name the line, the token and what was expected; see [`orlib`] for details.
//!
//! # Example
//!
//! ```
//! use casehub_layout::{Instance, Model, SolveOptions, SolveStatus, solve};
//!
//! // Three stations on a line at 0, 4 and 10 km; candidate sites at the same places.
//! let at = [0.0_f64, 4.0, 10.0];
//! let cost: Vec<Vec<f64>> = at.iter().map(|a| at.iter().map(|b| (a - b).abs()).collect()).collect();
//! let instance = Instance::new(vec![5.0, 1.0, 2.0], cost, vec![], vec![], vec![], vec![])?;
//! let solution = solve(&instance, &Model::PMedian { p: 1 }, &SolveOptions::default())?;
//! assert_eq!(solution.open, vec![0]); // 1*4 + 2*10 = 24 beats 5*4 + 2*6 = 32
//! assert_eq!(solution.objective, 24.0);
//! assert_eq!(solution.status, SolveStatus::Optimal);
//! # Ok::<(), casehub_layout::LayoutError>(())
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

mod error;
mod instance;
mod milp;
mod models;
pub mod orlib;
mod pmedian;

pub use error::LayoutError;
pub use instance::Instance;

/// Which model to solve, with its parameters.
///
/// Serialised with a `model` tag: `{"model":"p-median","p":5}`, `{"model":"cflp"}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "kebab-case")]
pub enum Model {
    /// Open `p` facilities minimising total demand-weighted cost.
    PMedian {
        /// Number of facilities to open.
        p: usize,
    },
    /// Open `p` facilities minimising the largest client-to-facility cost.
    PCenter {
        /// Number of facilities to open.
        p: usize,
    },
    /// Open `p` facilities maximising the demand within `radius` of an open facility.
    Mclp {
        /// Number of facilities to open.
        p: usize,
        /// Coverage radius, in cost units (inclusive).
        radius: f64,
    },
    /// Capacitated facility location with fixed opening costs (multi-source).
    Cflp,
}

/// The model names without parameters, for command lines: `p-median`, `p-center`, `mclp`,
/// `cflp` (parsed case-insensitively, `_` accepted for `-`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// [`Model::PMedian`].
    PMedian,
    /// [`Model::PCenter`].
    PCenter,
    /// [`Model::Mclp`].
    Mclp,
    /// [`Model::Cflp`].
    Cflp,
}

impl ModelKind {
    /// All kinds, in documentation order.
    pub const ALL: [ModelKind; 4] = [
        ModelKind::PMedian,
        ModelKind::PCenter,
        ModelKind::Mclp,
        ModelKind::Cflp,
    ];

    /// The name used by [`FromStr`] and [`fmt::Display`].
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::PMedian => "p-median",
            ModelKind::PCenter => "p-center",
            ModelKind::Mclp => "mclp",
            ModelKind::Cflp => "cflp",
        }
    }

    /// Attaches the parameters: `p` is required by p-median, p-center and MCLP, `radius` by
    /// MCLP; a parameter the model does not use is an error too (it is probably a mistake).
    pub fn with_params(self, p: Option<usize>, radius: Option<f64>) -> Result<Model, LayoutError> {
        let need_p = || p.ok_or_else(|| LayoutError::InvalidModel(format!("{self} needs p")));
        let model = match self {
            ModelKind::PMedian => Model::PMedian { p: need_p()? },
            ModelKind::PCenter => Model::PCenter { p: need_p()? },
            ModelKind::Mclp => Model::Mclp {
                p: need_p()?,
                radius: radius
                    .ok_or_else(|| LayoutError::InvalidModel("mclp needs a radius".into()))?,
            },
            ModelKind::Cflp => Model::Cflp,
        };
        if p.is_some() && self == ModelKind::Cflp {
            return Err(LayoutError::InvalidModel(
                "cflp takes no p: it decides how many facilities to open".into(),
            ));
        }
        if radius.is_some() && self != ModelKind::Mclp {
            return Err(LayoutError::InvalidModel(format!(
                "{self} takes no radius (only mclp does)"
            )));
        }
        Ok(model)
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = LayoutError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('_', "-");
        ModelKind::ALL
            .into_iter()
            .find(|k| k.name() == wanted)
            .ok_or_else(|| {
                LayoutError::InvalidModel(format!(
                    "unknown model `{s}`: expected one of p-median, p-center, mclp, cflp"
                ))
            })
    }
}

impl Model {
    /// The model's kind.
    pub fn kind(&self) -> ModelKind {
        match self {
            Model::PMedian { .. } => ModelKind::PMedian,
            Model::PCenter { .. } => ModelKind::PCenter,
            Model::Mclp { .. } => ModelKind::Mclp,
            Model::Cflp => ModelKind::Cflp,
        }
    }

    /// Checks the parameters against the instance: `p >= 1` (else
    /// [`LayoutError::InvalidModel`]), `p <= m` and, for CFLP, total capacity >= total demand
    /// (else [`LayoutError::Infeasible`]), a finite non-negative radius.
    pub fn check(&self, instance: &Instance) -> Result<(), LayoutError> {
        let m = instance.num_facilities();
        let check_p = |p: usize| {
            if p == 0 {
                Err(LayoutError::InvalidModel(format!(
                    "{}: p must be at least 1",
                    self.kind()
                )))
            } else if p > m {
                Err(LayoutError::Infeasible(format!(
                    "{}: p = {p} facilities requested but the instance has only {m} candidate \
                     facilities",
                    self.kind()
                )))
            } else {
                Ok(())
            }
        };
        match *self {
            Model::PMedian { p } | Model::PCenter { p } => check_p(p),
            Model::Mclp { p, radius } => {
                check_p(p)?;
                if radius.is_finite() && radius >= 0.0 {
                    Ok(())
                } else {
                    Err(LayoutError::InvalidModel(format!(
                        "mclp: radius must be finite and non-negative, got {radius}"
                    )))
                }
            }
            Model::Cflp => {
                if instance.capacity.is_empty() {
                    return Ok(());
                }
                let supply: f64 = instance.capacity.iter().sum();
                let demand = instance.total_demand();
                if supply + 1e-9 * demand.max(1.0) < demand {
                    Err(LayoutError::Infeasible(format!(
                        "cflp: total capacity {supply} is less than total demand {demand}"
                    )))
                } else {
                    Ok(())
                }
            }
        }
    }
}

/// Solver settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SolveOptions {
    /// Wall-clock limit for the whole solve (all HiGHS runs of a p-center search together).
    /// `None`: no limit.
    pub time_limit: Option<Duration>,
    /// HiGHS `mip_rel_gap`: stop, reporting [`SolveStatus::Optimal`], once
    /// `|objective - bound| / |objective|` is at most this. Default `1e-6` (HiGHS's own default
    /// is `1e-4`, too loose to reproduce published optima).
    pub mip_rel_gap: f64,
    /// HiGHS `threads`. `None` runs HiGHS on the calling thread with the worker pool HiGHS
    /// keeps for that thread (created on first use with one worker per core). `Some(k)` runs
    /// the solve on a fresh thread with exactly `k` workers; prefer `Some(1)` when many
    /// solves run in parallel (rayon), to avoid one pool per core per thread.
    pub threads: Option<u32>,
    /// Let HiGHS print its log to the console.
    pub verbose: bool,
}

impl Default for SolveOptions {
    fn default() -> Self {
        SolveOptions {
            time_limit: None,
            mip_rel_gap: 1e-6,
            threads: None,
            verbose: false,
        }
    }
}

/// How the solve ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SolveStatus {
    /// Proven optimal within [`SolveOptions::mip_rel_gap`].
    Optimal,
    /// Stopped by [`SolveOptions::time_limit`]; the solution is feasible, maybe not optimal.
    TimeLimit,
}

/// A solved placement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Solution {
    /// The model that was solved.
    pub model: Model,
    /// Indices of the opened facilities, ascending.
    pub open: Vec<usize>,
    /// Per client, `(facility, fraction of its demand)`. One entry with fraction 1 (the
    /// nearest open facility) except for CFLP, where demand may be split.
    pub assignment: Vec<Vec<(usize, f64)>>,
    /// Objective value re-evaluated from `open` and `assignment`: total weighted cost
    /// (p-median), largest cost (p-center), covered demand (MCLP), fixed + assignment cost
    /// (CFLP).
    pub objective: f64,
    /// Optimal, or stopped by the time limit.
    pub status: SolveStatus,
    /// Relative gap `|objective - bound| / |objective|`, when known.
    pub gap: Option<f64>,
    /// Best proven bound on the optimal objective, when known.
    pub bound: Option<f64>,
    /// MCLP only: demand within the radius of an open facility (equals `objective`).
    pub covered_demand: Option<f64>,
    /// Wall-clock time of the solve, in seconds.
    pub solve_seconds: f64,
}

/// Solves `model` on `instance`.
///
/// Validates the instance, the options and the model first, so every error comes out as a
/// [`LayoutError`] naming what is wrong; see the [crate docs](crate) for the formulations
/// and for what [`Solution::status`], [`Solution::gap`] and [`Solution::bound`] mean.
pub fn solve(
    instance: &Instance,
    model: &Model,
    options: &SolveOptions,
) -> Result<Solution, LayoutError> {
    let started = Instant::now();
    instance.validate()?;
    if !(options.mip_rel_gap.is_finite() && options.mip_rel_gap >= 0.0) {
        return Err(LayoutError::InvalidModel(format!(
            "mip_rel_gap must be finite and non-negative, got {}",
            options.mip_rel_gap
        )));
    }
    if options.threads == Some(0) {
        return Err(LayoutError::InvalidModel(
            "threads must be at least 1 (or None for automatic)".into(),
        ));
    }
    model.check(instance)?;
    let budget = models::Budget::new(options.time_limit);
    let mut solution = match *model {
        Model::PMedian { p } => pmedian::p_median(instance, p, options, &budget),
        Model::PCenter { p } => models::p_center(instance, p, options, &budget),
        Model::Mclp { p, radius } => models::mclp(instance, p, radius, options, &budget),
        Model::Cflp => models::cflp(instance, options, &budget),
    }?;
    solution.solve_seconds = started.elapsed().as_secs_f64();
    Ok(solution)
}
