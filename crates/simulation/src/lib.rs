//! Discrete-event simulation of a region's case handling, for planners.
//!
//! Given a region, a [`Layout`] (which sites are open, with their rooms,
//! staff and escort teams), a dispatch [`Policy`] (the allocation engine's
//! greedy, or its MILP on a rolling horizon), a simulated duration and a
//! number of replications with a seed, [`simulate`] replays arrivals drawn
//! from the caseload ([`arrivals`]) through the engine's decisions and
//! returns KPIs with 95% confidence intervals across replications.
//!
//! What one replication does ([`engine`]):
//!
//! * cases are detained at stations (Poisson with the hour-of-day profile,
//!   the category mix, women, juveniles and co-suspect groups); the legal
//!   clock starts at the detention;
//! * the policy (casehub-planning's `plan`, with the bookings of the cases it
//!   already dispatched) decides the site, the escort, its departure and who
//!   questions; a case it cannot place is retried every `retry_min` until its
//!   legal limit has passed;
//! * escorts drive on the region's travel times; station officers who
//!   escort are away from their station until they have questioned and
//!   driven back; escort teams until they are back at their site;
//! * at the site each person queues for an intake, search, information
//!   collection (and, with the medical share, medical) room, then waits in
//!   holding for a questioning room and the named questioning officers; step
//!   durations are drawn from their distributions, so reality drifts from
//!   the plan and queues form where the plan was too tight.
//!
//! Same seed, same output: each replication has its own ChaCha8 stream
//! (seed, replication), and replications run in parallel with rayon.
//!
//! This crate does no IO and is not async; [`report`] renders the HTML
//! report as a string.

pub mod arrivals;
pub mod engine;
pub mod export;
pub mod layout;
pub mod placement;
pub mod report;
pub mod stats;

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use casehub_model::Region;
use casehub_travel::TravelTable;

pub use engine::{CaseRecord, Replication, SiteReplication};
pub use layout::{Layout, SubCenterTemplate};
pub use rand_chacha::ChaCha8Rng;
pub use stats::Estimate;

/// Errors: bad input (naming the field and value) or an engine failure.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{0}")]
    Invalid(String),
    #[error("the dispatch policy failed: {0}")]
    Policy(String),
}

impl SimError {
    pub fn invalid(
        field: impl AsRef<str>,
        value: impl AsRef<str>,
        reason: impl AsRef<str>,
    ) -> Self {
        SimError::Invalid(format!(
            "invalid {} = {}: {}",
            field.as_ref(),
            value.as_ref(),
            reason.as_ref()
        ))
    }
}

/// How cases are dispatched.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum Policy {
    /// casehub-planning's greedy, called at each arrival (`interval_min` 0)
    /// or every `interval_min` minutes with the cases detained since.
    Greedy { interval_min: u32 },
    /// casehub-planning's MILP on a rolling horizon: every `interval_min`
    /// minutes the cases detained since are planned together, each solve
    /// stopped after `time_limit_s` seconds.
    Milp {
        interval_min: u32,
        time_limit_s: f64,
    },
}

impl Policy {
    pub fn name(&self) -> String {
        match *self {
            Policy::Greedy { interval_min: 0 } => "greedy".into(),
            Policy::Greedy { interval_min } => format!("greedy every {interval_min} min"),
            Policy::Milp { interval_min, .. } => format!("milp every {interval_min} min"),
        }
    }
}

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimConfig {
    /// The first simulated instant.
    pub start: DateTime<Utc>,
    /// Simulated days of arrivals (cases in process at the end are followed to their exit).
    pub days: f64,
    pub replications: u32,
    pub seed: u64,
    pub policy: Policy,
    /// A case the policy could not place is tried again after this many minutes.
    pub retry_min: u32,
    /// The engine's slot (minutes) and horizon (hours). The defaults (30 min,
    /// 12 h) are coarser than a dispatcher's (15 min, 24 h): every engine
    /// call builds its capacity grid for the horizon plus 48 h, and this is
    /// most of a simulation's time.
    pub slot_min: u32,
    pub horizon_h: u32,
    /// Which quantile of each step's duration the policy plans with (the
    /// simulation draws the actual durations).
    pub duration_quantile: f64,
    /// Keep every case's timeline in the replication (for audits and tests).
    pub keep_cases: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            start: DateTime::parse_from_rfc3339("2026-01-01T00:00:00+08:00")
                .expect("constant")
                .with_timezone(&Utc),
            days: 365.0,
            replications: 10,
            seed: 1,
            policy: Policy::Greedy { interval_min: 0 },
            retry_min: 30,
            slot_min: 30,
            horizon_h: 12,
            duration_quantile: 0.5,
            keep_cases: false,
        }
    }
}

impl SimConfig {
    /// Check every setting; errors name the setting and the value.
    pub fn validate(&self) -> Result<(), SimError> {
        if !(self.days.is_finite() && self.days > 0.0 && self.days <= 3660.0) {
            return Err(SimError::invalid(
                "days",
                self.days.to_string(),
                "must be more than 0 and at most 3660",
            ));
        }
        if !(1..=10_000).contains(&self.replications) {
            return Err(SimError::invalid(
                "replications",
                self.replications.to_string(),
                "must be 1 to 10000",
            ));
        }
        if !(1..=1440).contains(&self.retry_min) {
            return Err(SimError::invalid(
                "retry_min",
                self.retry_min.to_string(),
                "must be 1 to 1440 minutes",
            ));
        }
        match self.policy {
            Policy::Greedy { interval_min } if interval_min > 1440 => {
                return Err(SimError::invalid(
                    "interval_min",
                    interval_min.to_string(),
                    "must be 0 to 1440 minutes",
                ));
            }
            Policy::Milp {
                interval_min,
                time_limit_s,
            } => {
                if !(1..=1440).contains(&interval_min) {
                    return Err(SimError::invalid(
                        "interval_min",
                        interval_min.to_string(),
                        "the MILP plans in batches: 1 to 1440 minutes",
                    ));
                }
                if !(time_limit_s.is_finite() && time_limit_s > 0.0 && time_limit_s <= 3600.0) {
                    return Err(SimError::invalid(
                        "time_limit_s",
                        time_limit_s.to_string(),
                        "must be more than 0 and at most 3600 seconds",
                    ));
                }
            }
            _ => {}
        }
        self.engine_settings()
            .validate()
            .map_err(|e| SimError::Invalid(e.to_string()))
    }

    /// The allocation engine's settings for this policy.
    pub fn engine_settings(&self) -> casehub_planning::Settings {
        let (method, time_limit) = match self.policy {
            Policy::Greedy { .. } => (casehub_planning::Method::Greedy, 10.0),
            Policy::Milp { time_limit_s, .. } => (casehub_planning::Method::Milp, time_limit_s),
        };
        casehub_planning::Settings {
            method,
            slot_min: self.slot_min,
            horizon_h: self.horizon_h,
            time_limit: std::time::Duration::from_secs_f64(time_limit.clamp(0.001, 3600.0)),
            explain: false,
            duration_quantile: self.duration_quantile,
            ..casehub_planning::Settings::default()
        }
    }

    pub fn duration_min(&self) -> f64 {
        self.days * 1440.0
    }
}

/// A KPI table: the headline figures, each a mean with its 95% CI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kpis {
    /// Officer-hours spent escorting (station officers and team members), per replication.
    pub escort_officer_hours: Estimate,
    /// The part of it spent by station officers away from their stations.
    pub station_officer_hours_away: Estimate,
    /// Kilometres driven by escorts.
    pub escort_km: Estimate,
    /// Minutes from detention to the start of questioning, mean over persons.
    pub wait_mean_min: Estimate,
    /// The same, 95th percentile over persons.
    pub wait_p95_min: Estimate,
    /// Cases whose questioning ended after the legal limit (or never started in time).
    pub breaches: Estimate,
    /// Breaches as a share of the cases detained (0–1).
    pub breach_share: Estimate,
    /// Station-minutes below the minimum on duty, all stations together.
    pub below_min_station_minutes: Estimate,
    /// The same for the worst station of each replication.
    pub below_min_worst_station_minutes: Estimate,
    /// The highest number of persons in holding at once at any site.
    pub peak_holding: Estimate,
    /// Cases detained.
    pub cases: Estimate,
    /// Cases the policy never placed before their legal limit passed.
    pub unplaced: Estimate,
}

/// Per-site KPIs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteKpis {
    pub site: String,
    pub name: String,
    /// Questioning rooms (interrogation and inquiry) busy, share of their time (0–1).
    pub room_utilisation: Estimate,
    pub peak_holding: Estimate,
    pub cases: Estimate,
}

/// Per-station figures, for the map and the CSV.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StationKpis {
    pub station: String,
    pub below_min_minutes: Estimate,
    /// Mean cases sent from this station to each site over the run.
    pub cases_to_site: BTreeMap<String, f64>,
}

/// The result of simulating one layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayoutResult {
    pub layout: Layout,
    pub policy: String,
    pub config: SimConfig,
    pub kpis: Kpis,
    pub sites: Vec<SiteKpis>,
    pub stations: Vec<StationKpis>,
    pub replications: Vec<Replication>,
    /// Discrete events processed in all, and per second of wall time.
    pub events: u64,
    pub events_per_second: f64,
    pub wall_seconds: f64,
}

/// Simulate `layout` on `region` (whose travel table is `travel`, built for
/// the region with its candidate sites) with `cfg`. `progress` is called
/// with the number of simulated days just completed, from any thread.
pub fn simulate(
    region: &Region,
    travel: &TravelTable,
    layout: &Layout,
    cfg: &SimConfig,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<LayoutResult, SimError> {
    cfg.validate()?;
    let applied = layout.apply(region)?;
    for s in applied.stations.iter() {
        for site in &applied.sites {
            if travel.leg(s.id.as_str(), site.id.as_str()).is_none() {
                return Err(SimError::invalid(
                    "travel",
                    format!("{} -> {}", s.id, site.id),
                    "no travel leg between this station and site",
                ));
            }
        }
    }
    let started = Instant::now();
    let reps: Vec<Replication> = (0..cfg.replications)
        .into_par_iter()
        .map(|r| engine::run(&applied, travel, cfg, u64::from(r), progress))
        .collect::<Result<_, _>>()?;
    let wall = started.elapsed().as_secs_f64();
    Ok(aggregate(&applied, layout, cfg, reps, wall))
}

fn aggregate(
    region: &Region,
    layout: &Layout,
    cfg: &SimConfig,
    reps: Vec<Replication>,
    wall: f64,
) -> LayoutResult {
    let col = |f: &dyn Fn(&Replication) -> f64| -> Estimate {
        Estimate::of(&reps.iter().map(f).collect::<Vec<_>>())
    };
    let kpis = Kpis {
        escort_officer_hours: col(&|r| r.escort_officer_hours),
        station_officer_hours_away: col(&|r| r.station_officer_hours_away),
        escort_km: col(&|r| r.escort_km),
        wait_mean_min: col(&|r| r.wait_mean_min),
        wait_p95_min: col(&|r| r.wait_p95_min),
        breaches: col(&|r| r.breaches as f64),
        breach_share: col(&|r| {
            if r.cases == 0 {
                f64::NAN
            } else {
                r.breaches as f64 / r.cases as f64
            }
        }),
        below_min_station_minutes: col(&|r| r.below_min_minutes.iter().sum()),
        below_min_worst_station_minutes: col(&|r| {
            r.below_min_minutes.iter().copied().fold(0.0, f64::max)
        }),
        peak_holding: col(&|r| {
            r.sites
                .iter()
                .map(|s| f64::from(s.peak_holding))
                .fold(0.0, f64::max)
        }),
        cases: col(&|r| r.cases as f64),
        unplaced: col(&|r| r.unplaced as f64),
    };
    let sites = region
        .sites
        .iter()
        .enumerate()
        .map(|(k, s)| SiteKpis {
            site: s.id.to_string(),
            name: s.name.clone(),
            room_utilisation: col(&|r| r.sites[k].room_utilisation),
            peak_holding: col(&|r| f64::from(r.sites[k].peak_holding)),
            cases: col(&|r| r.sites[k].cases as f64),
        })
        .collect();
    let n = reps.len().max(1) as f64;
    let stations = region
        .stations
        .iter()
        .enumerate()
        .map(|(i, st)| StationKpis {
            station: st.id.to_string(),
            below_min_minutes: col(&|r| r.below_min_minutes[i]),
            cases_to_site: region
                .sites
                .iter()
                .enumerate()
                .map(|(k, s)| {
                    let total: u64 = reps.iter().map(|r| r.flows[i][k]).sum();
                    (s.id.to_string(), total as f64 / n)
                })
                .collect(),
        })
        .collect();
    let events: u64 = reps.iter().map(|r| r.events).sum();
    LayoutResult {
        layout: layout.clone(),
        policy: cfg.policy.name(),
        config: cfg.clone(),
        kpis,
        sites,
        stations,
        events,
        events_per_second: if wall > 0.0 {
            events as f64 / wall
        } else {
            0.0
        },
        wall_seconds: wall,
        replications: reps,
    }
}
