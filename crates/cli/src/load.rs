//! Reading scenario files and the travel data they refer to.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};

use casehub_model::Region;
use casehub_model::region::TravelConfig;
use casehub_model::scenario::{import_geojson, parse_region};
use casehub_travel::{GreatCircle, Place, RoadNetwork, TravelMatrix, TravelModel, TravelTable};

pub fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Read and validate a region, merging GeoJSON points if given.
pub fn region(path: &Path, points: Option<&Path>) -> Result<Region> {
    let name = path.display().to_string();
    let mut region = parse_region(&name, &read(path)?).map_err(|e| anyhow!("{e}"))?;
    if let Some(p) = points {
        let pname = p.display().to_string();
        let set = import_geojson(&pname, &read(p)?).map_err(|e| anyhow!("{e}"))?;
        region = region
            .merge_points(&pname, set)
            .map_err(|e| anyhow!("{e}"))?;
    }
    Ok(region)
}

fn beside(scenario: &Path, file: &str) -> PathBuf {
    scenario.parent().unwrap_or(Path::new(".")).join(file)
}

/// The travel model the region's `[travel]` section describes, with its files
/// read relative to the scenario file.
pub fn travel_model(region: &Region, scenario: &Path) -> Result<Box<dyn TravelModel>> {
    Ok(match &region.travel {
        TravelConfig::GreatCircle {
            detour_factor,
            speed_kmh,
        } => Box::new(GreatCircle::new(*detour_factor, *speed_kmh)?),
        TravelConfig::RoadNetwork {
            nodes,
            edges,
            default_speed_kmh,
            access_speed_kmh,
        } => {
            let (np, ep) = (beside(scenario, nodes), beside(scenario, edges));
            let net = RoadNetwork::from_csv(
                &np.display().to_string(),
                &read(&np)?,
                &ep.display().to_string(),
                &read(&ep)?,
                *default_speed_kmh,
            )?;
            Box::new(net.with_access_speed(*access_speed_kmh)?)
        }
        TravelConfig::Matrix { file } => {
            let p = beside(scenario, file);
            Box::new(TravelMatrix::from_csv(
                &p.display().to_string(),
                &read(&p)?,
            )?)
        }
    })
}

/// Stations × sites and candidate sites.
pub fn station_site_table(region: &Region, model: &dyn TravelModel) -> Result<TravelTable> {
    let stations: Vec<Place> = region
        .stations
        .iter()
        .map(|s| Place::new(s.id.as_str(), s.location))
        .collect();
    let sites: Vec<Place> = region
        .sites
        .iter()
        .map(|s| Place::new(s.id.as_str(), s.location))
        .chain(
            region
                .candidate_sites
                .iter()
                .map(|c| Place::new(c.id.as_str(), c.location)),
        )
        .collect();
    Ok(TravelTable::build(model, &stations, &sites)?)
}

/// The table the engine needs: every place to every place where the source
/// has it; a one-directional matrix falls back to stations × sites.
pub fn full_table(region: &Region, model: &dyn TravelModel) -> Result<TravelTable> {
    match TravelTable::for_region(model, region) {
        Ok(t) => Ok(t),
        Err(_) if matches!(region.travel, TravelConfig::Matrix { .. }) => {
            station_site_table(region, model)
        }
        Err(e) => Err(e.into()),
    }
}
