//! Reading and writing region scenarios, and importing/exporting points as GeoJSON.
//!
//! The format is described in `simulations/README.md`. TOML and JSON carry the
//! same structure. Errors say which file, where (line and column for TOML,
//! and the path of the field in both formats), and why.

use std::fmt;

use serde::de::DeserializeOwned;

use crate::error::ValidationError;
use crate::geo::Location;
use crate::ids::SiteId;
use crate::org::Station;
use crate::region::Region;
use crate::site::CandidateSite;

/// Why a scenario (or a GeoJSON file) could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ScenarioError {
    /// The file name as given by the caller.
    pub file: String,
    /// `line L, column C` where known.
    pub line: Option<(usize, usize)>,
    /// The path of the field, e.g. `stations[3].location.lat`.
    pub path: Option<String>,
    pub reason: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some((l, c)) = self.line {
            write!(f, ":{l}:{c}")?;
        }
        if let Some(p) = &self.path {
            write!(f, " at {p}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl ScenarioError {
    fn from_validation(file: &str, e: ValidationError) -> Self {
        ScenarioError {
            file: file.to_string(),
            line: None,
            path: Some(e.field.clone()),
            reason: format!("{} = {}: {}", e.field, e.value, e.reason),
        }
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, col)
}

fn path_or_none(p: &serde_path_to_error::Path) -> Option<String> {
    let s = p.to_string();
    (s != ".").then_some(s)
}

/// Deserialize any value from TOML text, with file, line and field path in errors.
pub fn from_toml<T: DeserializeOwned>(file: &str, text: &str) -> Result<T, ScenarioError> {
    let de = toml::Deserializer::parse(text).map_err(|e| ScenarioError {
        file: file.to_string(),
        line: e.span().map(|s| line_col(text, s.start)),
        path: None,
        reason: e.message().trim().to_string(),
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = path_or_none(e.path());
        let inner = e.into_inner();
        ScenarioError {
            file: file.to_string(),
            line: inner.span().map(|s| line_col(text, s.start)),
            path,
            reason: inner.message().trim().to_string(),
        }
    })
}

/// Deserialize any value from JSON text, with file, line and JSON path in errors.
pub fn from_json<T: DeserializeOwned>(file: &str, text: &str) -> Result<T, ScenarioError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = path_or_none(e.path());
        let inner = e.into_inner();
        let line = (inner.line() > 0).then(|| (inner.line(), inner.column()));
        // serde_json appends " at line L column C"; we report it separately.
        let mut reason = inner.to_string();
        if let Some(i) = reason.rfind(" at line ") {
            reason.truncate(i);
        }
        ScenarioError {
            file: file.to_string(),
            line,
            path,
            reason,
        }
    })
}

/// Read a region from a scenario file's text; the format follows the file
/// name (`.json` is JSON, anything else TOML).
pub fn parse_region(file: &str, text: &str) -> Result<Region, ScenarioError> {
    if file.ends_with(".json") {
        from_json(file, text)
    } else {
        from_toml(file, text)
    }
}

/// Write a region as TOML.
pub fn region_to_toml(region: &Region) -> String {
    toml::to_string_pretty(region).expect("a validated region always serialises")
}

/// Write a region as JSON.
pub fn region_to_json(region: &Region) -> String {
    serde_json::to_string_pretty(region).expect("a validated region always serialises")
}

/// Stations, site locations and candidate sites read from GeoJSON points.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PointSet {
    pub stations: Vec<Station>,
    /// Existing sites whose location is given (sites need rooms, so they are
    /// defined in the scenario; GeoJSON may move them).
    pub site_locations: Vec<(SiteId, Location)>,
    pub candidate_sites: Vec<CandidateSite>,
}

/// Read a GeoJSON FeatureCollection of Point features. Each feature's
/// properties have `kind` (`station`, `site` or `candidate`) and `id`, plus:
/// stations: `min_on_duty`, optional `name`, `rural`; candidates:
/// `capacity_per_day`, optional `name`, `fixed_cost`. Coordinates are `[lon, lat]`.
pub fn import_geojson(file: &str, text: &str) -> Result<PointSet, ScenarioError> {
    let err = |path: String, reason: String| ScenarioError {
        file: file.to_string(),
        line: None,
        path: Some(path),
        reason,
    };
    let fc: geojson::FeatureCollection =
        text.parse().map_err(|e: geojson::Error| ScenarioError {
            file: file.to_string(),
            line: None,
            path: None,
            reason: format!("not a GeoJSON FeatureCollection: {e}"),
        })?;
    let mut out = PointSet::default();
    for (i, f) in fc.features.iter().enumerate() {
        let at = format!("features[{i}]");
        let Some(geom) = &f.geometry else {
            return Err(err(
                format!("{at}.geometry"),
                "a feature needs a Point geometry".into(),
            ));
        };
        let geojson::GeometryValue::Point { coordinates } = &geom.value else {
            return Err(err(
                format!("{at}.geometry.type"),
                format!("expected Point, found {}", geom.value.type_name()),
            ));
        };
        let c = coordinates.as_slice();
        if c.len() < 2 {
            return Err(err(
                format!("{at}.geometry.coordinates"),
                "a point needs [lon, lat]".into(),
            ));
        }
        let location = Location::new(c[1], c[0]).map_err(|e| {
            let field = if e.field == "lat" {
                "coordinates[1]"
            } else {
                "coordinates[0]"
            };
            err(
                format!("{at}.geometry.{field}"),
                format!("{} = {}: {}", e.field, e.value, e.reason),
            )
        })?;
        let mut props = f.properties.clone().unwrap_or_default();
        let kind = props
            .remove("kind")
            .and_then(|v| v.as_str().map(str::to_string))
            .ok_or_else(|| {
                err(
                    format!("{at}.properties.kind"),
                    "missing; expected \"station\", \"site\" or \"candidate\"".into(),
                )
            })?;
        props.insert(
            "location".into(),
            serde_json::json!({ "lat": location.lat(), "lon": location.lon() }),
        );
        let value = serde_json::Value::Object(props);
        let ctx = |e: serde_json::Error| err(format!("{at}.properties"), e.to_string());
        match kind.as_str() {
            "station" => out
                .stations
                .push(serde_json::from_value(value).map_err(ctx)?),
            "candidate" => out
                .candidate_sites
                .push(serde_json::from_value(value).map_err(ctx)?),
            "site" => {
                let id = value.get("id").and_then(|v| v.as_str()).unwrap_or_default();
                let id = SiteId::new(id)
                    .map_err(|e| err(format!("{at}.properties.id"), e.to_string()))?;
                out.site_locations.push((id, location));
            }
            other => {
                return Err(err(
                    format!("{at}.properties.kind"),
                    format!("{other:?} is not one of \"station\", \"site\", \"candidate\""),
                ));
            }
        }
    }
    Ok(out)
}

impl Region {
    /// Merge points read from GeoJSON: stations and candidate sites with a known id
    /// are replaced, new ones added; existing sites move to the given location.
    /// The result is validated again as a whole.
    pub fn merge_points(&self, file: &str, points: PointSet) -> Result<Region, ScenarioError> {
        let mut r = self.clone();
        for s in points.stations {
            match r.stations.iter_mut().find(|x| x.id == s.id) {
                Some(x) => *x = s,
                None => r.stations.push(s),
            }
        }
        for c in points.candidate_sites {
            match r.candidate_sites.iter_mut().find(|x| x.id == c.id) {
                Some(x) => *x = c,
                None => r.candidate_sites.push(c),
            }
        }
        for (id, loc) in points.site_locations {
            let site = r.sites.iter_mut().find(|s| s.id == id).ok_or_else(|| ScenarioError {
                file: file.to_string(),
                line: None,
                path: Some("properties.id".into()),
                reason: format!("site {id} is not in the scenario; sites need rooms, so add it to the scenario file first"),
            })?;
            site.location = loc;
        }
        Region::new(r).map_err(|e| ScenarioError::from_validation(file, e))
    }

    /// Stations, sites and candidate sites as a GeoJSON FeatureCollection that
    /// [`import_geojson`] reads back.
    pub fn points_geojson(&self) -> String {
        let point = |loc: Location, props: serde_json::Value| {
            serde_json::json!({
                "type": "Feature",
                "geometry": { "type": "Point", "coordinates": [loc.lon(), loc.lat()] },
                "properties": props,
            })
        };
        let mut features = Vec::new();
        for s in &self.stations {
            features.push(point(s.location, serde_json::json!({"kind": "station", "id": s.id, "name": s.name, "min_on_duty": s.min_on_duty, "rural": s.rural})));
        }
        for s in &self.sites {
            features.push(point(
                s.location,
                serde_json::json!({"kind": "site", "id": s.id, "name": s.name}),
            ));
        }
        for c in &self.candidate_sites {
            features.push(point(
                c.location,
                serde_json::json!({"kind": "candidate", "id": c.id, "name": c.name, "fixed_cost": c.fixed_cost, "capacity_per_day": c.capacity_per_day}),
            ));
        }
        serde_json::to_string_pretty(
            &serde_json::json!({"type": "FeatureCollection", "features": features}),
        )
        .expect("JSON values serialise")
    }
}

/// Parse errors from deeper validation: a [`ValidationError`] found after reading.
pub fn validation_error(file: &str, e: ValidationError) -> ScenarioError {
    ScenarioError::from_validation(file, e)
}
