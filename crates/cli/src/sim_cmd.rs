//! `casehub sim …`: simulate layouts and write the planner's report.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use casehub_model::Region;
use casehub_simulation::report::{Provenance, fmt_num, kpi_rows};
use casehub_simulation::{
    Layout, LayoutResult, Policy, SimConfig, SubCenterTemplate, export, report, simulate,
};
use casehub_travel::TravelTable;

use crate::load;

#[derive(Subcommand)]
pub enum SimCmd {
    /// Simulate one layout (default: the region as it is) and write the report.
    Run(RunArgs),
    /// Simulate several layouts side by side on the same arrivals.
    Compare(CompareArgs),
}

#[derive(Clone, Copy, ValueEnum)]
pub enum PolicyArg {
    /// The engine's greedy, at each arrival (or every --interval-min).
    Greedy,
    /// The engine's MILP on a rolling horizon, every --interval-min.
    Milp,
}

/// Flags shared by `sim run`, `sim compare` and `layout optimise`.
#[derive(Args, Clone)]
pub struct SimFlags {
    /// Simulated days of arrivals.
    #[arg(long, default_value_t = 365.0)]
    pub days: f64,
    /// Independent replications (run in parallel).
    #[arg(long, default_value_t = 10)]
    pub replications: u32,
    /// Random seed: the same seed gives the same output.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, value_enum, default_value = "greedy")]
    pub policy: PolicyArg,
    /// Plan the cases detained in the last N minutes together (0: at each
    /// arrival; the MILP default is 60).
    #[arg(long)]
    pub interval_min: Option<u32>,
    /// Time limit of each MILP solve, seconds.
    #[arg(long, default_value_t = 5.0)]
    pub milp_time_limit: f64,
    /// The first simulated instant (RFC 3339).
    #[arg(long, default_value = "2026-01-01T00:00:00+08:00")]
    pub start: DateTime<Utc>,
    /// The engine's slot, minutes.
    #[arg(long, default_value_t = 30)]
    pub slot_min: u32,
    /// The engine's horizon, hours.
    #[arg(long, default_value_t = 12)]
    pub horizon_h: u32,
    /// Retry a case the policy could not place after this many minutes.
    #[arg(long, default_value_t = 30)]
    pub retry_min: u32,
    /// Rooms, staff and teams of each candidate site opened (TOML; see README).
    #[arg(long)]
    pub template: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Args)]
pub struct RunArgs {
    /// The region scenario.
    #[arg(long)]
    region: PathBuf,
    /// Open sites, comma-separated site or candidate ids (the main center is
    /// always open); default: the region's sites as they are.
    #[arg(long)]
    layout: Option<String>,
    #[command(flatten)]
    sim: SimFlags,
    /// Directory for report.html, results.json, kpis.csv, replications.csv and layout.geojson.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the results as JSON instead of the table.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct CompareArgs {
    #[arg(long)]
    region: PathBuf,
    /// A layout to compare: comma-separated open sites, or `as-is`. Repeat it.
    #[arg(long = "layout")]
    layouts: Vec<String>,
    /// Layouts from a JSON file (`casehub layout optimise --out`).
    #[arg(long)]
    layouts_file: Option<PathBuf>,
    #[command(flatten)]
    sim: SimFlags,
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: SimCmd) -> Result<ExitCode> {
    match cmd {
        SimCmd::Run(a) => {
            let ctx = Ctx::load(&a.region, &a.sim)?;
            let layout = match &a.layout {
                Some(spec) => parse_layout(&ctx.region, spec, &ctx.template)?,
                None => Layout {
                    template: ctx.template.clone(),
                    ..Layout::from_region(&ctx.region)
                },
            };
            let results = ctx.simulate_all(&[layout])?;
            finish(&ctx, &results, a.out.as_deref(), a.json)
        }
        SimCmd::Compare(a) => {
            let ctx = Ctx::load(&a.region, &a.sim)?;
            let mut layouts = Vec::new();
            for spec in &a.layouts {
                layouts.push(parse_layout(&ctx.region, spec, &ctx.template)?);
            }
            if let Some(p) = &a.layouts_file {
                let text = load::read(p)?;
                let list: Vec<Layout> = serde_json::from_str(&text)
                    .map_err(|e| anyhow!("{}: not a list of layouts: {e}", p.display()))?;
                layouts.extend(list);
            }
            if layouts.len() < 2 {
                bail!(
                    "invalid --layout: {} layouts given; compare needs at least 2 (repeat --layout or give --layouts-file)",
                    layouts.len()
                );
            }
            let results = ctx.simulate_all(&layouts)?;
            finish(&ctx, &results, a.out.as_deref(), a.json)
        }
    }
}

/// A loaded region with its travel table and the run's settings.
pub struct Ctx {
    pub path: PathBuf,
    pub region: Region,
    pub travel: TravelTable,
    pub cfg: SimConfig,
    pub template: SubCenterTemplate,
    pub quiet: bool,
    pub digest: String,
}

impl Ctx {
    pub fn load(path: &Path, f: &SimFlags) -> Result<Ctx> {
        let cfg = config(f)?;
        let template = match &f.template {
            Some(p) => {
                let text = load::read(p)?;
                let t: SubCenterTemplate =
                    toml::from_str(&text).map_err(|e| anyhow!("{}: {e}", p.display()))?;
                t.validate().map_err(|e| anyhow!("{}: {e}", p.display()))?;
                t
            }
            None => SubCenterTemplate::default(),
        };
        let region = load::region(path, None)?;
        let model = load::travel_model(&region, path)?;
        let travel = load::full_table(&region, model.as_ref())?;
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        Ok(Ctx {
            path: path.to_path_buf(),
            region,
            travel,
            cfg,
            template,
            quiet: f.quiet,
            digest: fnv1a(&bytes),
        })
    }

    pub fn simulate_all(&self, layouts: &[Layout]) -> Result<Vec<LayoutResult>> {
        let total = (self.cfg.days.ceil() as u64) * u64::from(self.cfg.replications);
        let mut results = Vec::new();
        for (i, layout) in layouts.iter().enumerate() {
            let bar = if self.quiet {
                ProgressBar::hidden()
            } else {
                ProgressBar::new(total)
            };
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix:>24} [{bar:30}] {pos}/{len} simulated days ({eta} left)",
                )
                .expect("constant template")
                .progress_chars("=> "),
            );
            bar.set_prefix(format!("{}/{} {}", i + 1, layouts.len(), layout.name));
            let r = simulate(&self.region, &self.travel, layout, &self.cfg, &|d| {
                bar.inc(d)
            })
            .map_err(|e| anyhow!("layout {}: {e}", layout.name))?;
            bar.finish_and_clear();
            results.push(r);
        }
        Ok(results)
    }
}

/// FNV-1a, 64 bits: tells scenario versions apart in the provenance.
fn fnv1a(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("fnv1a-64:{h:016x}")
}

pub fn config(f: &SimFlags) -> Result<SimConfig> {
    if !(f.days.is_finite() && f.days > 0.0 && f.days <= 3660.0) {
        bail!(
            "invalid --days {}: must be more than 0 and at most 3660",
            f.days
        );
    }
    if !(1..=10_000).contains(&f.replications) {
        bail!(
            "invalid --replications {}: must be 1 to 10000",
            f.replications
        );
    }
    if !(f.milp_time_limit.is_finite() && f.milp_time_limit > 0.0 && f.milp_time_limit <= 3600.0) {
        bail!(
            "invalid --milp-time-limit {}: must be more than 0 and at most 3600 seconds",
            f.milp_time_limit
        );
    }
    if !(1..=240).contains(&f.slot_min) || 1440 % f.slot_min != 0 {
        bail!(
            "invalid --slot-min {}: must divide a day evenly and be 1 to 240 minutes",
            f.slot_min
        );
    }
    if !(1..=168).contains(&f.horizon_h) {
        bail!(
            "invalid --horizon-h {}: must be 1 to 168 hours",
            f.horizon_h
        );
    }
    if !(1..=1440).contains(&f.retry_min) {
        bail!(
            "invalid --retry-min {}: must be 1 to 1440 minutes",
            f.retry_min
        );
    }
    let policy = match f.policy {
        PolicyArg::Greedy => {
            let i = f.interval_min.unwrap_or(0);
            if i > 1440 {
                bail!("invalid --interval-min {i}: must be 0 to 1440 minutes");
            }
            Policy::Greedy { interval_min: i }
        }
        PolicyArg::Milp => {
            let i = f.interval_min.unwrap_or(60);
            if !(1..=1440).contains(&i) {
                bail!("invalid --interval-min {i}: the MILP plans in batches of 1 to 1440 minutes");
            }
            Policy::Milp {
                interval_min: i,
                time_limit_s: f.milp_time_limit,
            }
        }
    };
    let cfg = SimConfig {
        start: f.start,
        days: f.days,
        replications: f.replications,
        seed: f.seed,
        policy,
        retry_min: f.retry_min,
        slot_min: f.slot_min,
        horizon_h: f.horizon_h,
        ..SimConfig::default()
    };
    cfg.validate().map_err(|e| anyhow!("{e}"))?;
    Ok(cfg)
}

/// `as-is`, or comma-separated site and candidate ids.
pub fn parse_layout(region: &Region, spec: &str, template: &SubCenterTemplate) -> Result<Layout> {
    let spec = spec.trim();
    if spec == "as-is" {
        return Ok(Layout {
            template: template.clone(),
            ..Layout::from_region(region)
        });
    }
    let ids: Vec<&str> = spec
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if ids.is_empty() {
        bail!("invalid --layout {spec:?}: give comma-separated site ids, or as-is");
    }
    for id in &ids {
        let known = region.site(id).is_some()
            || region.candidate_sites.iter().any(|c| c.id.as_str() == *id);
        if !known {
            let mut all: Vec<&str> = region.sites.iter().map(|s| s.id.as_str()).collect();
            all.extend(region.candidate_sites.iter().map(|c| c.id.as_str()));
            bail!(
                "invalid --layout {spec:?}: no site or candidate site {id} in this region (it has {})",
                all.join(", ")
            );
        }
    }
    Layout::with_sites(region, &ids, template.clone()).map_err(|e| anyhow!("--layout: {e}"))
}

fn finish(ctx: &Ctx, results: &[LayoutResult], out: Option<&Path>, json: bool) -> Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(results)?);
    } else {
        print_table(results);
    }
    if let Some(dir) = out {
        write_outputs(ctx, results, dir)?;
        if !json {
            println!("wrote {}", dir.join("report.html").display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The layout ranked first: fewest breaches, then fewest escort officer-hours.
pub fn best(results: &[LayoutResult]) -> usize {
    let mut idx: Vec<usize> = (0..results.len()).collect();
    idx.sort_by(|&a, &b| {
        let (x, y) = (&results[a].kpis, &results[b].kpis);
        x.breaches.mean.total_cmp(&y.breaches.mean).then(
            x.escort_officer_hours
                .mean
                .total_cmp(&y.escort_officer_hours.mean),
        )
    });
    idx[0]
}

pub fn write_outputs(ctx: &Ctx, results: &[LayoutResult], dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))
    };
    let prov = Provenance {
        scenario: ctx.path.display().to_string(),
        scenario_digest: ctx.digest.clone(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        version: format!("casehub {}", env!("CARGO_PKG_VERSION")),
    };
    write("report.html", &report::html(&ctx.region, results, &prov))?;
    write("results.json", &serde_json::to_string_pretty(results)?)?;
    write("kpis.csv", &export::kpis_csv(results))?;
    write("replications.csv", &export::replications_csv(results))?;
    let chosen = &results[best(results)];
    write(
        "layout.geojson",
        &export::layout_geojson(&ctx.region, chosen),
    )?;
    if results.len() > 1 {
        for r in results {
            let name: String = r
                .layout
                .name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            write(
                &format!("layout-{name}.geojson"),
                &export::layout_geojson(&ctx.region, r),
            )?;
        }
    }
    Ok(())
}

pub fn print_table(results: &[LayoutResult]) {
    if let Some(r) = results.first() {
        println!(
            "{} days x {} replications, seed {}, policy {}; mean ± 95% CI half-width",
            fmt_num(r.config.days),
            r.config.replications,
            r.config.seed,
            r.policy
        );
    }
    let w = 38;
    let cw = results
        .iter()
        .map(|r| r.layout.name.len())
        .max()
        .unwrap_or(0)
        .max(20);
    print!("{:<w$}", "KPI");
    for r in results {
        print!("  {:>cw$}", r.layout.name);
    }
    println!();
    let cell = |e: &casehub_simulation::Estimate| {
        if e.half_width > 0.0 {
            format!("{} ± {}", fmt_num(e.mean), fmt_num(e.half_width))
        } else {
            fmt_num(e.mean)
        }
    };
    for row in kpi_rows() {
        print!("{:<w$}", format!("{} ({})", row.label, row.unit));
        for r in results {
            print!("  {:>cw$}", cell(&(row.get)(r)));
        }
        println!();
    }
    for r in results {
        for s in &r.sites {
            println!(
                "{:<w$}  {}: {} cases, questioning rooms {}% busy, peak holding {}",
                format!("site {}", s.site),
                r.layout.name,
                cell(&s.cases),
                fmt_num(s.room_utilisation.mean * 100.0),
                fmt_num(s.peak_holding.mean)
            );
        }
    }
    let events: u64 = results.iter().map(|r| r.events).sum();
    let secs: f64 = results.iter().map(|r| r.wall_seconds).sum();
    println!(
        "{events} events in {:.1} s ({:.0} events/s)",
        secs,
        if secs > 0.0 {
            events as f64 / secs
        } else {
            0.0
        }
    );
}
