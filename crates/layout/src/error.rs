//! The crate's one error type.

use thiserror::Error;

/// Everything that can go wrong while building, parsing or solving a placement problem.
///
/// Messages name the offending field, value, line or token so that a CLI can show them
/// to the user as they are.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum LayoutError {
    /// A vector or matrix of the instance has the wrong length.
    #[error("invalid instance: `{field}` has {found} entries, expected {expected}")]
    Dimension {
        /// The field, with indices where useful (`cost[3]`).
        field: String,
        /// The length it should have.
        expected: usize,
        /// The length it has.
        found: usize,
    },
    /// A number of the instance is NaN, infinite or negative.
    #[error("invalid instance: `{field}` = {value} ({reason})")]
    InvalidValue {
        /// The field, with indices (`demand[4]`, `cost[2][7]`).
        field: String,
        /// The offending value.
        value: f64,
        /// Why it is rejected ("negative", "not a number", "not finite").
        reason: &'static str,
    },
    /// The instance as a whole makes no sense (no clients, disconnected graph, ...).
    #[error("invalid instance: {0}")]
    InvalidInstance(String),
    /// The model parameters make no sense (p = 0, negative radius, unknown model name, ...).
    #[error("invalid model: {0}")]
    InvalidModel(String),
    /// The problem has no feasible solution (p larger than the number of candidate
    /// facilities, total capacity below total demand, ...).
    #[error("infeasible: {0}")]
    Infeasible(String),
    /// The time limit was reached before any feasible solution was known.
    #[error("the time limit was reached before any feasible solution was found")]
    NoSolution,
    /// HiGHS reported an error or a status this crate does not expect.
    #[error("HiGHS: {0}")]
    Solver(String),
    /// An OR-Library file could not be parsed.
    #[error("line {line}: expected {expected}, found {found}")]
    Parse {
        /// 1-based line of the offending token (the last line for a premature end of input).
        line: usize,
        /// The offending token, quoted, or `end of input`.
        found: String,
        /// What the parser expected at that point.
        expected: String,
    },
}
