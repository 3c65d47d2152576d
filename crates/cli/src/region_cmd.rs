//! `casehub region …`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use casehub_model::{Gender, RoomKind, scenario};

use crate::load;

#[derive(Subcommand)]
pub enum RegionCmd {
    /// Validate a scenario file and print what it contains.
    Check {
        /// The scenario file (TOML, or JSON by its extension).
        file: PathBuf,
        /// GeoJSON points (stations, sites, candidate sites) to merge in.
        #[arg(long)]
        points: Option<PathBuf>,
    },
    /// Print the travel-time summary: each station's nearest site, and per-site figures.
    Travel {
        file: PathBuf,
        #[arg(long)]
        points: Option<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Write the region's points as GeoJSON (for QGIS) to standard output.
    ExportPoints { file: PathBuf },
    /// Write the region, normalised, as TOML (or JSON with --json) to standard output.
    Export {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: RegionCmd) -> Result<ExitCode> {
    match cmd {
        RegionCmd::Check { file, points } => {
            let r = load::region(&file, points.as_deref())?;
            println!(
                "{}: valid (format version {})",
                file.display(),
                casehub_model::region::FORMAT_VERSION
            );
            println!("region      {}", r.info.name);
            for s in &r.sites {
                let count = |k: RoomKind| s.rooms_of(k).count();
                println!(
                    "site        {:<8} {:?}: {} rooms ({} interrogation, {} inquiry, {} holding rooms for {} persons), open {}",
                    s.id.as_str(),
                    s.kind,
                    s.rooms.len(),
                    count(RoomKind::Interrogation),
                    count(RoomKind::Inquiry),
                    count(RoomKind::Holding),
                    s.rooms_of(RoomKind::Holding)
                        .map(|r| r.capacity)
                        .sum::<u32>(),
                    s.open_hours
                );
            }
            for c in &r.candidate_sites {
                println!(
                    "candidate   {:<8} fixed cost {}, {} cases/day",
                    c.id.as_str(),
                    c.fixed_cost,
                    c.capacity_per_day
                );
            }
            let rural = r.stations.iter().filter(|s| s.rural).count();
            println!("stations    {} ({} rural)", r.stations.len(), rural);
            let female = r
                .officers
                .iter()
                .filter(|o| o.gender == Gender::Female)
                .count();
            println!(
                "officers    {} ({} women) on {} shifts",
                r.officers.len(),
                female,
                r.shifts.len()
            );
            println!("teams       {}", r.escort_teams.len());
            println!("caseload    {:.1} cases/day", r.caseload.total_per_day());
            Ok(ExitCode::SUCCESS)
        }
        RegionCmd::Travel { file, points, json } => {
            let r = load::region(&file, points.as_deref())?;
            let model = load::travel_model(&r, &file)?;
            let table = load::station_site_table(&r, model.as_ref())?;
            let summary = table.summary();
            if json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!("travel times by {}", summary.source);
            println!(
                "{:<10} {:<10} {:>8} {:>8}",
                "station", "nearest", "minutes", "km"
            );
            for o in &summary.origins {
                println!(
                    "{:<10} {:<10} {:>8.0} {:>8.1}",
                    o.origin, o.destination, o.minutes, o.km
                );
            }
            println!();
            println!(
                "{:<10} {:>8} {:>8} {:>8}   (minutes from the stations)",
                "site", "min", "mean", "max"
            );
            for d in &summary.destinations {
                println!(
                    "{:<10} {:>8.0} {:>8.0} {:>8.0}",
                    d.id, d.min_minutes, d.mean_minutes, d.max_minutes
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        RegionCmd::ExportPoints { file } => {
            let r = load::region(&file, None)?;
            println!("{}", r.points_geojson());
            Ok(ExitCode::SUCCESS)
        }
        RegionCmd::Export { file, json } => {
            let r = load::region(&file, None)?;
            if json {
                println!("{}", scenario::region_to_json(&r));
            } else {
                print!("{}", scenario::region_to_toml(&r));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
