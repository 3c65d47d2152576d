//! Places, legs and the [`TravelModel`] interface.

use std::ops::Add;

use casehub_model::Location;
use serde::{Deserialize, Serialize};

use crate::TravelError;

/// A point travel starts or ends at: a police station or a case-handling site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    /// The station or site id, as used in the scenario and in a travel matrix.
    pub id: String,
    pub location: Location,
}

impl Place {
    pub fn new(id: impl Into<String>, location: Location) -> Self {
        Self {
            id: id.into(),
            location,
        }
    }

    /// Build a place from raw coordinates, validating them.
    pub fn at(id: impl Into<String>, lat: f64, lon: f64) -> Result<Self, TravelError> {
        Ok(Self::new(id, Location::new(lat, lon)?))
    }
}

/// One trip: distance in kilometres and time in minutes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Leg {
    pub km: f64,
    pub minutes: f64,
}

impl Leg {
    /// No distance, no time.
    pub const ZERO: Leg = Leg {
        km: 0.0,
        minutes: 0.0,
    };

    /// A leg of `km` kilometres driven at a constant `speed_kmh`.
    pub fn at_speed(km: f64, speed_kmh: f64) -> Leg {
        Leg {
            km,
            minutes: km / speed_kmh * 60.0,
        }
    }
}

impl Add for Leg {
    type Output = Leg;
    fn add(self, other: Leg) -> Leg {
        Leg {
            km: self.km + other.km,
            minutes: self.minutes + other.minutes,
        }
    }
}

/// A source of travel legs. Implemented by [`GreatCircle`](crate::GreatCircle),
/// [`RoadNetwork`](crate::RoadNetwork) and [`TravelMatrix`](crate::TravelMatrix).
pub trait TravelModel: Send + Sync {
    /// Distance and time from `from` to `to` (directed: a road network with
    /// oneway edges or an imported matrix may differ by direction).
    fn leg(&self, from: &Place, to: &Place) -> Result<Leg, TravelError>;

    /// Legs from one origin to many destinations, in the order of `to`.
    ///
    /// The default calls [`leg`](TravelModel::leg) per pair; a model that can
    /// do better (one Dijkstra run per origin) overrides it. The first failing
    /// destination's error is returned.
    fn legs_from(&self, from: &Place, to: &[Place]) -> Result<Vec<Leg>, TravelError> {
        to.iter().map(|dest| self.leg(from, dest)).collect()
    }

    /// One line saying what this model is and its parameters, for reports.
    fn describe(&self) -> String;
}
