//! One replication: the event loop.
//!
//! Time is in minutes after the start (`f64`). Resources are booked in the
//! order their requests come due (first come, first served): a request at
//! time `t` for a room of a kind and named officers starts at the latest of
//! `t` and the moments each is free, and holds them until its drawn duration
//! has passed. Station officers who escort are held by their case from the
//! departure until they have questioned its persons, then drive back; a
//! request that needs an officer held by another case waits for the release.
//!
//! The parts of the loop, one module each:
//!
//! * `events`: the events and their queue's order (earliest first; at the
//!   same instant releases first, dispatch last);
//! * `sim`: the state of a replication, built from the region and the
//!   arrivals, and the loop that hands each event to its handler;
//! * `dispatch`: arrivals and the dispatch policy's calls, and what a plan
//!   makes of a case (its site, escort, officers and each person's steps);
//! * `steps`: the escort's departure, arrival at the site, each person's
//!   steps in rooms, and the release of station officers;
//! * `results`: the figures a replication returns ([`Replication`]);
//! * `measures`: [`peak`] and [`below_minimum`], measures over intervals.

mod dispatch;
mod events;
mod measures;
mod results;
mod sim;
mod steps;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use casehub_model::Region;
use casehub_travel::TravelTable;

use crate::arrivals::{self, Arrival};
use crate::{SimConfig, SimError};
use sim::Sim;

pub use measures::{below_minimum, peak};
pub use results::{CaseRecord, Replication, SiteReplication};

/// Run replication `rep` of `cfg` on an applied layout.
pub fn run(
    region: &Region,
    travel: &TravelTable,
    cfg: &SimConfig,
    rep: u64,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Replication, SimError> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    rng.set_stream(rep);
    let duration = cfg.duration_min();
    let arrivals = arrivals::draw(region, cfg.start, duration, &mut rng);
    run_with_arrivals(region, travel, cfg, rng, arrivals, rep, progress)
}

/// Run one replication on given arrivals (in time order), drawing durations
/// from `rng`.
pub fn run_with_arrivals(
    region: &Region,
    travel: &TravelTable,
    cfg: &SimConfig,
    rng: ChaCha8Rng,
    arrivals: Vec<Arrival>,
    rep: u64,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Replication, SimError> {
    cfg.validate()?;
    for (i, a) in arrivals.iter().enumerate() {
        if region.station(a.case.origin.as_str()).is_none() {
            return Err(SimError::invalid(
                format!("arrivals[{i}].origin"),
                a.case.origin.as_str(),
                "no such station in this region",
            ));
        }
        if !(a.at_min.is_finite() && a.at_min >= 0.0) {
            return Err(SimError::invalid(
                format!("arrivals[{i}].at_min"),
                a.at_min.to_string(),
                "must be a finite number of minutes >= 0",
            ));
        }
    }
    let mut sim = Sim::new(region, travel, cfg, rng, arrivals)?;
    sim.run(progress)?;
    Ok(sim.finish(rep))
}
