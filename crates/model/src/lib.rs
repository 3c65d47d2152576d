//! The casehub domain model.
//!
//! Everything the scheduler, the simulation and the placement models talk
//! about: sites (the main center and its sub-centers) with their rooms and open
//! hours, police stations with their minimum staffing, officers and their
//! shifts, escort teams, cases with the persons brought in, the processing
//! steps and their durations, and the legal time limits as a policy table.
//!
//! This crate does no IO and is not async. Values that come from outside are
//! validated by their constructors (and by serde, which goes through the same
//! constructors), and a failure is a [`ValidationError`] naming the field and
//! the offending value. A whole region is loaded with [`scenario`].

pub mod case;
pub mod error;
pub mod geo;
pub mod ids;
pub mod legal;
pub mod org;
pub mod region;
pub mod rules;
pub mod scenario;
pub mod site;
pub mod steps;
pub mod time;

pub use case::{Case, Disposition, Gender, LegalCategory, Person};
pub use error::ValidationError;
pub use geo::Location;
pub use ids::{CaseId, GroupId, OfficerId, PersonId, RoomId, ShiftId, SiteId, StationId, TeamId};
pub use legal::{ExceptionType, LegalLimits, Policy};
pub use org::{EscortTeam, Officer, Post, Qualification, Shift, Station};
pub use region::Region;
pub use rules::Rule;
pub use site::{Room, RoomKind, Site, SiteKind};
pub use steps::{DurationDist, Step, StepDurations};
pub use time::{DailyWindow, TimeOfDay};
