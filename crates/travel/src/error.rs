//! The one error type of this crate.

use casehub_model::ValidationError;

/// Everything that can go wrong computing or loading travel legs.
///
/// Messages are meant to be shown to the person who supplied the data: they
/// name the file, line, column, value or place ids involved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TravelError {
    /// A parameter (detour factor, speed, coordinate) is out of range.
    #[error(transparent)]
    Invalid(#[from] ValidationError),

    /// A CSV text could not be read. `line` is 1-based; the header is line 1.
    #[error("{file} line {line}: {reason}")]
    Parse {
        file: String,
        line: u64,
        reason: String,
    },

    /// The road network has no path between the nodes nearest to the places.
    #[error(
        "no road route from {from} to {to}: the road nodes nearest to them are not connected \
         (check oneway edges and missing links in the edges file)"
    )]
    Unreachable { from: String, to: String },

    /// The imported travel matrix has no row for this ordered pair.
    #[error(
        "the travel matrix has no entry from {from} to {to}: add a row `{from},{to},<minutes>,<km>`"
    )]
    MissingPair { from: String, to: String },

    /// Two places in the same list share an id, so lookups by id would be ambiguous.
    #[error("place id {id:?} appears more than once in the {list}: place ids must be unique")]
    DuplicatePlace { list: &'static str, id: String },

    /// A travel table is empty or its rows do not match its places.
    #[error("invalid travel table: {reason}")]
    InvalidTable { reason: String },
}
