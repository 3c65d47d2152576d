//! A thin layer over good_lp + HiGHS: build a MILP with good_lp, then drive HiGHS directly so
//! that the time limit, the gap tolerance, a starting solution, the final status, the dual
//! bound and the MIP gap are all under our control (good_lp's own `solve` hides the last three).

use good_lp::solvers::highs::highs;
use good_lp::{Constraint, Expression, ProblemVariables, SolverModel, Variable, variable};
use highs::{HighsModelStatus, HighsSolutionStatus};

use crate::{LayoutError, SolveStatus};

/// A column of the model: the good_lp variable and its HiGHS column index.
///
/// good_lp hands variables to HiGHS in creation order, so the k-th variable created is
/// column k; [`Milp`] counts them to read values back from the raw HiGHS solution.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Col {
    pub var: Variable,
    pub index: usize,
}

/// Optimisation direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sense {
    Minimise,
    Maximise,
}

/// Per-call solver settings (the time limit is what remains of the caller's budget).
#[derive(Debug, Clone, Copy)]
pub(crate) struct MilpOptions {
    pub time_limit: Option<f64>,
    pub mip_rel_gap: f64,
    pub threads: Option<u32>,
    pub verbose: bool,
}

/// What one HiGHS run produced.
#[derive(Debug, Clone)]
pub(crate) enum MilpResult {
    /// A feasible (optimal, or best-at-time-limit) solution.
    Solved {
        values: Vec<f64>,
        status: SolveStatus,
        /// HiGHS's best proven bound (lower for minimisation, upper for maximisation).
        bound: Option<f64>,
        /// HiGHS's relative gap |primal - bound| / |primal|.
        gap: Option<f64>,
        /// The objective HiGHS reports for its primal solution.
        objective: f64,
    },
    /// Proven infeasible.
    Infeasible,
    /// Stopped by the time limit without any feasible solution.
    NoSolution,
}

/// A MILP under construction.
pub(crate) struct Milp {
    vars: ProblemVariables,
    columns: usize,
    constraints: Vec<Constraint>,
}

impl Milp {
    pub fn new() -> Milp {
        Milp {
            vars: ProblemVariables::new(),
            columns: 0,
            constraints: Vec::new(),
        }
    }

    /// A new binary column.
    pub fn binary(&mut self) -> Col {
        self.push(variable().binary())
    }

    /// A new continuous column in `[lo, hi]`.
    pub fn continuous(&mut self, lo: f64, hi: f64) -> Col {
        self.push(variable().min(lo).max(hi))
    }

    fn push(&mut self, def: good_lp::VariableDefinition) -> Col {
        let var = self.vars.add(def);
        let index = self.columns;
        self.columns += 1;
        Col { var, index }
    }

    /// Number of columns created so far.
    pub fn num_columns(&self) -> usize {
        self.columns
    }

    /// Adds a row.
    pub fn add(&mut self, constraint: Constraint) {
        self.constraints.push(constraint);
    }

    /// Solves with HiGHS. `start`, if given, must hold one value per column and be feasible;
    /// HiGHS then uses it as its first incumbent.
    pub fn solve(
        self,
        sense: Sense,
        objective: Expression,
        start: Option<&[f64]>,
        options: &MilpOptions,
    ) -> Result<MilpResult, LayoutError> {
        if options.threads.is_none() {
            return self.solve_here(sense, objective, start, options);
        }
        // HiGHS keeps one worker pool per OS thread, sized by the first run on that thread,
        // and fails any later run asking for a different `threads`. A fresh thread starts
        // without a pool, so an explicit thread count always gets what it asks for.
        std::thread::scope(|scope| {
            scope
                .spawn(move || self.solve_here(sense, objective, start, options))
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    fn solve_here(
        self,
        sense: Sense,
        objective: Expression,
        start: Option<&[f64]>,
        options: &MilpOptions,
    ) -> Result<MilpResult, LayoutError> {
        let unsolved = match sense {
            Sense::Minimise => self.vars.minimise(objective),
            Sense::Maximise => self.vars.maximise(objective),
        };
        let mut problem = unsolved.using(highs);
        for constraint in self.constraints {
            problem.add_constraint(constraint);
        }
        let model = problem
            .try_into_inner()
            .map_err(|e| LayoutError::Solver(e.to_string()))?;
        run_model(model, start, options)
    }
}

/// Solves a model built directly on HiGHS (no good_lp): for large models with a known
/// structure, where building good_lp expressions term by term would cost more than the solve.
/// Same contract as [`Milp::solve`]; column indices are the order of `add_column` calls.
pub(crate) fn solve_raw(
    problem: highs::RowProblem,
    sense: Sense,
    start: Option<&[f64]>,
    options: &MilpOptions,
) -> Result<MilpResult, LayoutError> {
    let here = move || {
        let sense = match sense {
            Sense::Minimise => highs::Sense::Minimise,
            Sense::Maximise => highs::Sense::Maximise,
        };
        let model = problem
            .try_optimise(sense)
            .map_err(|e| LayoutError::Solver(format!("passing the model: {e:?}")))?;
        run_model(model, start, options)
    };
    if options.threads.is_none() {
        return here();
    }
    // See `Milp::solve` on HiGHS's per-thread worker pools.
    std::thread::scope(|scope| {
        scope
            .spawn(here)
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Applies the options and the start, runs HiGHS and reads status, values, bound and gap.
fn run_model(
    mut model: highs::Model,
    start: Option<&[f64]>,
    options: &MilpOptions,
) -> Result<MilpResult, LayoutError> {
    if options.verbose {
        set(&mut model, "output_flag", true)?;
        set(&mut model, "log_to_console", true)?;
    } else {
        model.make_quiet();
    }
    set(&mut model, "mip_rel_gap", options.mip_rel_gap)?;
    if let Some(seconds) = options.time_limit {
        set(&mut model, "time_limit", seconds.max(0.0))?;
    }
    if let Some(threads) = options.threads {
        let threads = i32::try_from(threads).unwrap_or(i32::MAX);
        set(&mut model, "threads", threads)?;
    }
    if let Some(start) = start {
        model
            .try_set_solution(Some(start), None, None, None)
            .map_err(|e| LayoutError::Solver(format!("setting the start solution: {e:?}")))?;
    }
    let solved = model
        .try_solve()
        .map_err(|e| LayoutError::Solver(format!("run failed: {e:?}")))?;

    let has_solution = solved.primal_solution_status() == HighsSolutionStatus::Feasible;
    let status = match solved.status() {
        HighsModelStatus::Optimal
        | HighsModelStatus::ObjectiveBound
        | HighsModelStatus::ObjectiveTarget => SolveStatus::Optimal,
        HighsModelStatus::ReachedTimeLimit
        | HighsModelStatus::ReachedIterationLimit
        | HighsModelStatus::ReachedSolutionLimit
        | HighsModelStatus::ReachedInterrupt
        | HighsModelStatus::ReachedMemoryLimit => SolveStatus::TimeLimit,
        HighsModelStatus::Infeasible | HighsModelStatus::UnboundedOrInfeasible => {
            return Ok(MilpResult::Infeasible);
        }
        other => {
            return Err(LayoutError::Solver(format!(
                "unexpected model status {other:?}"
            )));
        }
    };
    if !has_solution {
        return match status {
            SolveStatus::TimeLimit => Ok(MilpResult::NoSolution),
            SolveStatus::Optimal => Err(LayoutError::Solver(
                "status optimal but no primal solution".into(),
            )),
        };
    }
    let bound = solved
        .double_info_value(c"mip_dual_bound")
        .ok()
        .filter(|b| b.is_finite());
    let gap = solved
        .double_info_value(c"mip_gap")
        .ok()
        .filter(|g| g.is_finite());
    Ok(MilpResult::Solved {
        values: solved.get_solution().columns().to_vec(),
        status,
        bound,
        gap,
        objective: solved.objective_value(),
    })
}

fn set<V: highs::HighsOptionValue>(
    model: &mut highs::Model,
    name: &str,
    value: V,
) -> Result<(), LayoutError> {
    model
        .try_set_option(name, value)
        .map_err(|_| LayoutError::Solver(format!("cannot set option `{name}`")))
}
