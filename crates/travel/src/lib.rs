//! Travel distance and time between police stations and case-handling sites.
//!
//! An escort from a police station to a case-handling center (or one of its
//! sub-centers) takes officers away from the station; how long it takes drives
//! both where sub-centers should go and how cases are scheduled. This crate
//! answers one question, "how far and how long from place A to place B", behind
//! one interface, [`TravelModel`], with three sources:
//!
//! 1. [`GreatCircle`]: the haversine distance on a sphere with the mean Earth
//!    radius (6371.0088 km, `geo`'s `Haversine`), multiplied by a detour factor
//!    (≥ 1.0; road distance over straight-line distance), driven at a constant
//!    speed. Needs no data; good for a first look.
//! 2. [`RoadNetwork`]: a road graph read from two CSV texts (nodes and edges).
//!    Each place is attached to its nearest road node (by great-circle
//!    distance) with a straight access leg at an access speed (default
//!    30 km/h); between nodes the fastest path is found with Dijkstra
//!    (petgraph), and the km along that path is reported.
//! 3. [`TravelMatrix`]: a table imported from an external router (OSRM,
//!    Valhalla, a GIS desktop tool ...), one row per ordered pair of place ids.
//!
//! A [`TravelTable`] computes all origin × destination legs once (in parallel)
//! and answers lookups by id in O(1); it is serde-serialisable so the layout
//! and simulation crates can consume it, and [`TravelTable::summary`] gives the
//! per-site and per-station figures a command-line tool prints.
//!
//! # Units
//!
//! Distances are kilometres (`km`), times are minutes (`minutes`), speeds are
//! km/h (`speed_kmh`), coordinates are WGS 84 decimal degrees (`lat`, `lon`).
//!
//! # CSV formats
//!
//! All files are UTF-8 CSV with a required header row (line 1). Columns are
//! found by header name, so their order is free; unknown column names are
//! rejected (a misspelt `speed` must not silently fall back to a default).
//! Cells are trimmed; blank lines and lines starting with `#` are skipped.
//! Every parse error names the file, the 1-based line number (the header is
//! line 1), the column and the offending value, e.g.
//! `roads_edges.csv line 7: column km: "-3" must not be negative`.
//!
//! **Road nodes** — header `id,lat,lon`:
//!
//! ```text
//! id,lat,lon
//! n1,39.9087,116.3975
//! n2,39.9150,116.4040
//! ```
//!
//! `id` is non-empty and unique; `lat` in [-90, 90], `lon` in [-180, 180].
//!
//! **Road edges** — header `from,to,km,speed_kmh,oneway` (`km`, `speed_kmh`
//! and `oneway` may be left out of the header entirely):
//!
//! ```text
//! from,to,km,speed_kmh,oneway
//! n1,n2,1.2,50,
//! n2,n3,,,true
//! ```
//!
//! `from`/`to` must be node ids from the nodes file and differ. An empty `km`
//! is the great-circle length between the two nodes; an empty `speed_kmh` is
//! the network's default speed; `oneway` is `true`/`yes`/`1` (only
//! `from` → `to`) or empty/`false`/`no`/`0` (both ways). `km` ≥ 0,
//! `speed_kmh` > 0, both finite.
//!
//! **Travel matrix** — header `from,to,minutes,km` (`km` optional):
//!
//! ```text
//! from,to,minutes,km
//! station-01,site-main,34.5,21.7
//! station-02,site-main,51,
//! ```
//!
//! `from`/`to` are place ids ([`Place::id`]); pairs are directed and must not
//! repeat; `minutes` and `km` are finite and ≥ 0. Where `km` is empty it is
//! filled, at lookup, with the great-circle distance between the two places
//! times a fallback detour factor (default 1.0, see
//! [`TravelMatrix::with_fallback_detour`]).
//!
//! This crate does no file or network IO and is not async: callers read the
//! files and pass the text in.

mod csv_input;
mod error;
mod great_circle;
mod matrix;
mod model;
mod road;
mod table;

pub use error::TravelError;
pub use great_circle::{GreatCircle, great_circle_km};
pub use matrix::TravelMatrix;
pub use model::{Leg, Place, TravelModel};
pub use road::{DEFAULT_ACCESS_SPEED_KMH, RoadNetwork};
pub use table::{DestinationStats, NearestDestination, TableSummary, TravelTable};

pub use casehub_model::{Location, ValidationError};
