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
    /// Propose layouts with every placement model (p-median, p-center, MCLP,
    /// CFLP), simulate each, and print the best; `--out` writes them as JSON
    /// for `casehub sim compare --layouts-file`.
    Optimise(OptimiseArgs),
}

#[derive(Args)]
pub struct OptimiseArgs {
    /// The region scenario (its sites and candidate sites are the facilities).
    #[arg(long)]
    region: PathBuf,
    /// Numbers of open sites to try, comma-separated (main center included when chosen).
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    p: Vec<usize>,
    /// MCLP coverage radius in travel minutes (leave out to skip MCLP).
    #[arg(long)]
    radius: Option<f64>,
    /// Leave out CFLP.
    #[arg(long)]
    no_cflp: bool,
    /// How many layouts to keep.
    #[arg(long, default_value_t = 3)]
    best: usize,
    /// Time limit of each placement solve, seconds.
    #[arg(long, default_value_t = 30.0)]
    solve_time_limit: f64,
    #[command(flatten)]
    sim: crate::sim_cmd::SimFlags,
    /// Write the best layouts (JSON) here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also write the report of the best layouts to this directory.
    #[arg(long)]
    report: Option<PathBuf>,
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
        LayoutCmd::Optimise(a) => optimise_cmd(a),
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
    Ok(casehub_simulation::placement::instance_with(
        &region, &table, capacity,
    )?)
}

fn optimise_cmd(a: OptimiseArgs) -> Result<ExitCode> {
    use casehub_simulation::placement::{ProposalSpec, propose};

    if a.best == 0 {
        bail!("invalid --best 0: keep at least one layout");
    }
    if let Some(r) = a.radius.filter(|r| !(r.is_finite() && *r >= 0.0)) {
        bail!("invalid --radius {r}: must be a finite number of minutes >= 0");
    }
    if !(a.solve_time_limit.is_finite() && a.solve_time_limit > 0.0) {
        bail!(
            "invalid --solve-time-limit {}: must be a positive number of seconds",
            a.solve_time_limit
        );
    }
    let ctx = crate::sim_cmd::Ctx::load(&a.region, &a.sim)?;
    let m = ctx.region.sites.len() + ctx.region.candidate_sites.len();
    if let Some(&p) = a.p.iter().find(|&&p| p == 0 || p > m) {
        bail!("invalid --p {p}: must be 1 to {m} (the region's sites and candidate sites)");
    }
    let spec = ProposalSpec {
        ps: a.p.clone(),
        mclp_radius_min: a.radius,
        cflp: !a.no_cflp,
        time_limit_s: a.solve_time_limit,
    };
    let proposals =
        propose(&ctx.region, &ctx.travel, &spec, &ctx.template).map_err(|e| anyhow!("{e}"))?;
    println!("{} distinct layouts proposed:", proposals.len());
    for p in &proposals {
        println!("  {:<28} from {}", p.layout.name, p.source);
    }
    let layouts: Vec<_> = proposals.iter().map(|p| p.layout.clone()).collect();
    let results = ctx.simulate_all(&layouts)?;
    // Rank: fewest breaches, then fewest station-minutes below minimum, then escort officer-hours.
    let mut order: Vec<usize> = (0..results.len()).collect();
    order.sort_by(|&x, &y| {
        let (p, q) = (&results[x].kpis, &results[y].kpis);
        p.breaches
            .mean
            .total_cmp(&q.breaches.mean)
            .then(
                p.below_min_station_minutes
                    .mean
                    .total_cmp(&q.below_min_station_minutes.mean),
            )
            .then(
                p.escort_officer_hours
                    .mean
                    .total_cmp(&q.escort_officer_hours.mean),
            )
    });
    order.truncate(a.best);
    println!(
        "best {} (fewest breaches, then station-minutes below minimum, then escort officer-hours):",
        order.len()
    );
    for (rank, &i) in order.iter().enumerate() {
        println!(
            "  {}. {:<28} from {}",
            rank + 1,
            results[i].layout.name,
            proposals[i].source
        );
    }
    let kept: Vec<_> = order.iter().map(|&i| results[i].clone()).collect();
    crate::sim_cmd::print_table(&kept);
    if let Some(path) = &a.out {
        let list: Vec<_> = kept.iter().map(|r| r.layout.clone()).collect();
        std::fs::write(path, serde_json::to_string_pretty(&list)?)
            .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    if let Some(dir) = &a.report {
        crate::sim_cmd::write_outputs(&ctx, &kept, dir)?;
        println!("wrote {}", dir.join("report.html").display());
    }
    Ok(ExitCode::SUCCESS)
}
