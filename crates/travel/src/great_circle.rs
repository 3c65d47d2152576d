//! Straight-line (great-circle) travel with a detour factor and a constant speed.

use casehub_model::{Location, ValidationError};
use geo::{Distance, Haversine, Point};
use serde::{Deserialize, Serialize};

use crate::{Leg, Place, TravelError, TravelModel};

/// Great-circle distance in km between two positions: the haversine formula
/// on a sphere of the mean Earth radius (6371.0088 km), as `geo::Haversine`.
pub fn great_circle_km(a: &Location, b: &Location) -> f64 {
    let pa = Point::new(a.lon(), a.lat());
    let pb = Point::new(b.lon(), b.lat());
    Haversine.distance(pa, pb) / 1000.0
}

/// Travel along the great circle, lengthened by a detour factor, at a constant speed.
///
/// `km = great_circle_km × detour_factor`, `minutes = km / speed_kmh × 60`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawGreatCircle")]
pub struct GreatCircle {
    detour_factor: f64,
    speed_kmh: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGreatCircle {
    detour_factor: f64,
    speed_kmh: f64,
}

impl TryFrom<RawGreatCircle> for GreatCircle {
    type Error = TravelError;
    fn try_from(raw: RawGreatCircle) -> Result<Self, TravelError> {
        GreatCircle::new(raw.detour_factor, raw.speed_kmh)
    }
}

impl GreatCircle {
    /// `detour_factor` must be finite and at least 1.0 (1.0 = straight line;
    /// 1.2–1.4 is typical for roads); `speed_kmh` finite and above 0.
    pub fn new(detour_factor: f64, speed_kmh: f64) -> Result<Self, TravelError> {
        Ok(Self {
            detour_factor: check_detour("detour_factor", detour_factor)?,
            speed_kmh: check_speed("speed_kmh", speed_kmh)?,
        })
    }

    pub fn detour_factor(&self) -> f64 {
        self.detour_factor
    }

    pub fn speed_kmh(&self) -> f64 {
        self.speed_kmh
    }
}

impl TravelModel for GreatCircle {
    fn leg(&self, from: &Place, to: &Place) -> Result<Leg, TravelError> {
        let km = great_circle_km(&from.location, &to.location) * self.detour_factor;
        Ok(Leg::at_speed(km, self.speed_kmh))
    }

    fn describe(&self) -> String {
        format!(
            "great circle × detour {} at {} km/h",
            self.detour_factor, self.speed_kmh
        )
    }
}

/// A detour factor: finite and at least 1.0.
pub(crate) fn check_detour(field: &str, value: f64) -> Result<f64, ValidationError> {
    if value.is_finite() && value >= 1.0 {
        Ok(value)
    } else {
        Err(ValidationError::new(
            field,
            value,
            "must be a finite number of at least 1.0 (1.0 means straight-line travel)",
        ))
    }
}

/// A speed in km/h: finite and above 0.
pub(crate) fn check_speed(field: &str, value: f64) -> Result<f64, ValidationError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(ValidationError::new(
            field,
            value,
            "must be a finite speed in km/h greater than 0",
        ))
    }
}
