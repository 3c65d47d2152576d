//! All-pairs travel table, computed once and looked up by id.

use std::collections::HashMap;
use std::fmt;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{Leg, Place, TravelError, TravelModel};

/// Legs from every origin (typically the police stations) to every
/// destination (typically the candidate or existing sites), computed once.
///
/// Lookups by id are O(1). Serialises as `{source, origins, destinations,
/// legs}` where `legs[i][j]` is origin `i` → destination `j`; deserialising
/// checks the same invariants as [`TravelTable::new`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "TableData")]
pub struct TravelTable {
    source: String,
    origins: Vec<Place>,
    destinations: Vec<Place>,
    legs: Vec<Vec<Leg>>,
    #[serde(skip)]
    origin_index: HashMap<String, usize>,
    #[serde(skip)]
    destination_index: HashMap<String, usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableData {
    source: String,
    origins: Vec<Place>,
    destinations: Vec<Place>,
    legs: Vec<Vec<Leg>>,
}

impl TryFrom<TableData> for TravelTable {
    type Error = TravelError;
    fn try_from(data: TableData) -> Result<Self, TravelError> {
        TravelTable::new(data.source, data.origins, data.destinations, data.legs)
    }
}

impl TravelTable {
    /// Every place of a region (stations, sites, candidate sites) to every
    /// place, as the allocation engine needs it.
    pub fn for_region(
        model: &dyn TravelModel,
        region: &casehub_model::Region,
    ) -> Result<TravelTable, TravelError> {
        let places: Vec<Place> = region
            .places()
            .map(|(id, loc)| Place::new(id, loc))
            .collect();
        TravelTable::build(model, &places, &places)
    }

    /// Compute every origin → destination leg with `model`, one
    /// [`TravelModel::legs_from`] call per origin, origins in parallel.
    ///
    /// Fails on empty lists, duplicate ids within a list, or the first (in
    /// origin order) error of the model, e.g. an unreachable pair.
    pub fn build(
        model: &dyn TravelModel,
        origins: &[Place],
        destinations: &[Place],
    ) -> Result<TravelTable, TravelError> {
        // Check the places before the (possibly long) computation.
        index_of("origins", origins)?;
        index_of("destinations", destinations)?;
        let rows: Vec<Result<Vec<Leg>, TravelError>> = origins
            .par_iter()
            .map(|origin| model.legs_from(origin, destinations))
            .collect();
        let legs = rows.into_iter().collect::<Result<Vec<_>, _>>()?;
        TravelTable::new(
            model.describe(),
            origins.to_vec(),
            destinations.to_vec(),
            legs,
        )
    }

    /// Assemble a table from legs computed elsewhere. `legs[i][j]` is
    /// `origins[i]` → `destinations[j]`; every figure must be finite and ≥ 0.
    pub fn new(
        source: String,
        origins: Vec<Place>,
        destinations: Vec<Place>,
        legs: Vec<Vec<Leg>>,
    ) -> Result<TravelTable, TravelError> {
        let origin_index = index_of("origins", &origins)?;
        let destination_index = index_of("destinations", &destinations)?;
        let invalid = |reason: String| TravelError::InvalidTable { reason };
        if legs.len() != origins.len() {
            return Err(invalid(format!(
                "{} rows of legs for {} origins",
                legs.len(),
                origins.len()
            )));
        }
        for (origin, row) in origins.iter().zip(&legs) {
            if row.len() != destinations.len() {
                return Err(invalid(format!(
                    "origin {} has {} legs for {} destinations",
                    origin.id,
                    row.len(),
                    destinations.len()
                )));
            }
            for (destination, leg) in destinations.iter().zip(row) {
                let ok = |x: f64| x.is_finite() && x >= 0.0;
                if !ok(leg.km) || !ok(leg.minutes) {
                    return Err(invalid(format!(
                        "leg {} -> {} has km = {}, minutes = {}; both must be finite and not negative",
                        origin.id, destination.id, leg.km, leg.minutes
                    )));
                }
            }
        }
        Ok(TravelTable {
            source,
            origins,
            destinations,
            legs,
            origin_index,
            destination_index,
        })
    }

    /// The leg from origin `from_id` to destination `to_id`, if both are in the table.
    pub fn leg(&self, from_id: &str, to_id: &str) -> Option<Leg> {
        let i = *self.origin_index.get(from_id)?;
        let j = *self.destination_index.get(to_id)?;
        Some(self.legs[i][j])
    }

    /// The leg by position: `origins()[origin]` → `destinations()[destination]`.
    ///
    /// # Panics
    /// If either index is out of range.
    pub fn leg_at(&self, origin: usize, destination: usize) -> Leg {
        self.legs[origin][destination]
    }

    /// All legs, one row per origin, one column per destination.
    pub fn legs(&self) -> &[Vec<Leg>] {
        &self.legs
    }

    pub fn origins(&self) -> &[Place] {
        &self.origins
    }

    pub fn destinations(&self) -> &[Place] {
        &self.destinations
    }

    /// Position of an origin id in [`origins`](Self::origins).
    pub fn origin_index(&self, id: &str) -> Option<usize> {
        self.origin_index.get(id).copied()
    }

    /// Position of a destination id in [`destinations`](Self::destinations).
    pub fn destination_index(&self, id: &str) -> Option<usize> {
        self.destination_index.get(id).copied()
    }

    /// What model computed the table ([`TravelModel::describe`]).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Per-destination min/mean/max minutes over all origins, and each
    /// origin's nearest destination by minutes (ties: the one listed first).
    pub fn summary(&self) -> TableSummary {
        let destinations = self
            .destinations
            .iter()
            .enumerate()
            .map(|(j, dest)| {
                let minutes = || self.legs.iter().map(|row| row[j].minutes);
                DestinationStats {
                    id: dest.id.clone(),
                    min_minutes: minutes().fold(f64::INFINITY, f64::min),
                    mean_minutes: minutes().sum::<f64>() / self.origins.len() as f64,
                    max_minutes: minutes().fold(f64::NEG_INFINITY, f64::max),
                }
            })
            .collect();
        let origins = self
            .origins
            .iter()
            .zip(&self.legs)
            .map(|(origin, row)| {
                let (j, leg) = row
                    .iter()
                    .enumerate()
                    .fold(None, |best: Option<(usize, &Leg)>, (j, leg)| match best {
                        Some((_, b)) if b.minutes <= leg.minutes => best,
                        _ => Some((j, leg)),
                    })
                    .expect("a travel table has at least one destination");
                NearestDestination {
                    origin: origin.id.clone(),
                    destination: self.destinations[j].id.clone(),
                    minutes: leg.minutes,
                    km: leg.km,
                }
            })
            .collect();
        TableSummary {
            source: self.source.clone(),
            destinations,
            origins,
        }
    }
}

/// Map ids to positions; the list must be non-empty with unique ids.
fn index_of(list: &'static str, places: &[Place]) -> Result<HashMap<String, usize>, TravelError> {
    if places.is_empty() {
        return Err(TravelError::InvalidTable {
            reason: format!("no {list}: a travel table needs at least one"),
        });
    }
    let mut index = HashMap::with_capacity(places.len());
    for (i, place) in places.iter().enumerate() {
        if index.insert(place.id.clone(), i).is_some() {
            return Err(TravelError::DuplicatePlace {
                list,
                id: place.id.clone(),
            });
        }
    }
    Ok(index)
}

/// Figures about a [`TravelTable`] for a report; `Display` prints two aligned tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableSummary {
    /// What model computed the table.
    pub source: String,
    /// One entry per destination, in table order.
    pub destinations: Vec<DestinationStats>,
    /// One entry per origin, in table order.
    pub origins: Vec<NearestDestination>,
}

/// Minutes from all origins to one destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DestinationStats {
    pub id: String,
    pub min_minutes: f64,
    pub mean_minutes: f64,
    pub max_minutes: f64,
}

/// The destination an origin reaches fastest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NearestDestination {
    pub origin: String,
    pub destination: String,
    pub minutes: f64,
    pub km: f64,
}

impl fmt::Display for TableSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "travel source: {}", self.source)?;
        writeln!(f)?;
        let w = self
            .destinations
            .iter()
            .map(|d| d.id.len())
            .chain(["destination".len()])
            .max()
            .unwrap_or(0);
        writeln!(
            f,
            "{:<w$}  {:>8}  {:>8}  {:>8}   (minutes from the {} origins)",
            "destination",
            "min",
            "mean",
            "max",
            self.origins.len()
        )?;
        for d in &self.destinations {
            writeln!(
                f,
                "{:<w$}  {:>8.1}  {:>8.1}  {:>8.1}",
                d.id, d.min_minutes, d.mean_minutes, d.max_minutes
            )?;
        }
        writeln!(f)?;
        let wo = self
            .origins
            .iter()
            .map(|o| o.origin.len())
            .chain(["origin".len()])
            .max()
            .unwrap_or(0);
        let wd = self
            .origins
            .iter()
            .map(|o| o.destination.len())
            .chain(["nearest".len()])
            .max()
            .unwrap_or(0);
        writeln!(
            f,
            "{:<wo$}  {:<wd$}  {:>8}  {:>8}",
            "origin", "nearest", "minutes", "km"
        )?;
        for o in &self.origins {
            writeln!(
                f,
                "{:<wo$}  {:<wd$}  {:>8.1}  {:>8.1}",
                o.origin, o.destination, o.minutes, o.km
            )?;
        }
        Ok(())
    }
}
