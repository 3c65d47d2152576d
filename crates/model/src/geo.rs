//! Geographic positions (WGS 84).

use serde::{Deserialize, Serialize};

use crate::error::{Result, ValidationError, finite};

/// A validated WGS 84 position: latitude in [-90, 90], longitude in [-180, 180], both finite.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawLocation")]
pub struct Location {
    lat: f64,
    lon: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLocation {
    lat: f64,
    lon: f64,
}

impl TryFrom<RawLocation> for Location {
    type Error = ValidationError;
    fn try_from(raw: RawLocation) -> Result<Self> {
        Location::new(raw.lat, raw.lon)
    }
}

impl Location {
    /// Validate and build a position. Field names in errors are `lat` and `lon`.
    pub fn new(lat: f64, lon: f64) -> Result<Self> {
        let lat = finite("lat", lat)?;
        let lon = finite("lon", lon)?;
        if !(-90.0..=90.0).contains(&lat) {
            return Err(ValidationError::new(
                "lat",
                lat,
                "latitude must be between -90 and 90",
            ));
        }
        if !(-180.0..=180.0).contains(&lon) {
            return Err(ValidationError::new(
                "lon",
                lon,
                "longitude must be between -180 and 180",
            ));
        }
        Ok(Self { lat, lon })
    }

    pub fn lat(&self) -> f64 {
        self.lat
    }

    pub fn lon(&self) -> f64 {
        self.lon
    }
}
