//! `casehub layout …`

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use clap::{Args, Subcommand};

use casehub_layout::{Instance, ModelKind, SolveOptions, SolveStatus, orlib, solve};

use crate::load;

#[derive(Subcommand)]
pub enum LayoutCmd {
    /// Solve one facility-location instance to proven optimality (or to the
    /// time limit). Prints the chosen facilities; the last line is
    /// `objective: <value>`, preceded by `gap: <value>` when it stopped early.
    Solve(SolveArgs),
}

#[derive(Args)]
pub struct SolveArgs {
    /// p-median, p-center, mclp or cflp.
    #[arg(long)]
    model: ModelKind,
    /// An OR-Library file: pmed*.txt for p-median, p-center and mclp; cap*.txt for cflp.
    #[arg(long, conflicts_with = "region", required_unless_present = "region")]
    orlib: Option<PathBuf>,
    /// A region scenario: its stations (demand: cases per day) against its sites
    /// and candidate sites, with the region's travel minutes as costs.
    #[arg(long)]
    region: Option<PathBuf>,
    /// Facilities to open (p-median, p-center, mclp); default: the pmed file's p.
    #[arg(short, long)]
    p: Option<usize>,
    /// Coverage radius for mclp, in cost units (minutes for --region).
    #[arg(long)]
    radius: Option<f64>,
    /// Capacity of every facility, for capa/capb/capc, whose files leave it to the user.
    #[arg(long)]
    capacity: Option<f64>,
    /// Stop after this many seconds with the best solution found.
    #[arg(long)]
    time_limit: Option<f64>,
}

pub fn run(cmd: LayoutCmd) -> Result<ExitCode> {
    match cmd {
        LayoutCmd::Solve(a) => solve_cmd(a),
    }
}

fn solve_cmd(a: SolveArgs) -> Result<ExitCode> {
    let time_limit = match a.time_limit {
        Some(t) if !(t.is_finite() && t > 0.0) => {
            bail!("invalid --time-limit {t}: must be a positive number of seconds")
        }
        Some(t) => Some(Duration::from_secs_f64(t)),
        None => None,
    };
    if let Some(c) = a.capacity.filter(|c| !(c.is_finite() && *c > 0.0)) {
        bail!("invalid --capacity {c}: must be a positive number");
    }
    let (instance, file_p) = match (&a.orlib, &a.region) {
        (Some(path), _) => {
            let text = load::read(path)?;
            let ctx = |e: casehub_layout::LayoutError| anyhow!("{}: {e}", path.display());
            if a.model == ModelKind::Cflp {
                (orlib::parse_cap(&text, a.capacity).map_err(ctx)?, None)
            } else {
                let f = orlib::parse_pmed(&text).map_err(ctx)?;
                (f.instance, Some(f.p))
            }
        }
        (None, Some(path)) => (region_instance(path, a.capacity)?, None),
        (None, None) => bail!("give --orlib FILE or --region FILE"),
    };
    let p = a.p.or(file_p);
    let model = a
        .model
        .with_params(p, a.radius)
        .map_err(|e| anyhow!("{e}"))?;
    let options = SolveOptions {
        time_limit,
        ..SolveOptions::default()
    };
    let sol = solve(&instance, &model, &options).map_err(|e| anyhow!("{e}"))?;
    println!("model: {}", a.model.name());
    println!("open: {}", sol.open.len());
    for &j in &sol.open {
        println!("facility {}", instance.facility_names[j]);
    }
    println!(
        "status: {}",
        if sol.status == SolveStatus::Optimal {
            "optimal"
        } else {
            "time_limit"
        }
    );
    println!("seconds: {:.3}", sol.solve_seconds);
    if sol.status == SolveStatus::TimeLimit {
        println!(
            "gap: {}",
            sol.gap.map_or("unknown".to_string(), |g| format!("{g}"))
        );
    }
    println!("objective: {}", sol.objective);
    Ok(ExitCode::SUCCESS)
}

/// Stations against sites and candidate sites, costs in travel minutes.
/// Demand is cases per day; for cflp the cost of serving a station is its
/// daily demand × minutes, fixed costs and capacities come from the candidates
/// (existing sites: no fixed cost; capacity `--capacity`, or unbounded).
fn region_instance(path: &std::path::Path, capacity: Option<f64>) -> Result<Instance> {
    let region = load::region(path, None)?;
    let model = load::travel_model(&region, path)?;
    let table = load::station_site_table(&region, model.as_ref())?;
    let stations = &region.stations;
    let demand: Vec<f64> = stations
        .iter()
        .map(|s| {
            region
                .caseload
                .cases_per_day
                .get(&s.id)
                .copied()
                .unwrap_or(0.0)
        })
        .collect();
    let facilities: Vec<String> = table.destinations().iter().map(|p| p.id.clone()).collect();
    let cost: Vec<Vec<f64>> = stations
        .iter()
        .map(|s| {
            facilities
                .iter()
                .map(|f| {
                    table
                        .leg(s.id.as_str(), f)
                        .map_or(f64::INFINITY, |l| l.minutes)
                })
                .collect()
        })
        .collect();
    let fixed: Vec<f64> = facilities
        .iter()
        .map(|f| {
            region
                .candidate_sites
                .iter()
                .find(|c| c.id.as_str() == f)
                .map_or(0.0, |c| c.fixed_cost)
        })
        .collect();
    let total: f64 = demand.iter().sum();
    let cap: Vec<f64> = facilities
        .iter()
        .map(|f| {
            region
                .candidate_sites
                .iter()
                .find(|c| c.id.as_str() == f)
                .map_or(capacity.unwrap_or(total.max(1.0)), |c| c.capacity_per_day)
        })
        .collect();
    Ok(Instance::new(
        demand,
        cost,
        fixed,
        cap,
        stations.iter().map(|s| s.id.to_string()).collect(),
        facilities,
    )?)
}
