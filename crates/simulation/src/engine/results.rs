//! What a replication returns: [`Replication`], with per-site figures and,
//! when asked, every case's timeline; built from the final state.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::measures::{below_minimum, peak};
use super::sim::Sim;
use crate::stats::quantile;

/// The raw figures of one replication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replication {
    pub index: u64,
    pub cases: u64,
    pub persons: u64,
    /// Cases the policy placed (the others passed their legal limit unplaced).
    pub placed: u64,
    pub unplaced: u64,
    pub breaches: u64,
    pub escort_officer_hours: f64,
    /// The part of it spent by station officers, away from their stations.
    pub station_officer_hours_away: f64,
    pub escort_km: f64,
    pub wait_mean_min: f64,
    pub wait_p95_min: f64,
    /// Per station (the region's order): minutes below the minimum on duty.
    pub below_min_minutes: Vec<f64>,
    /// Per site (the layout's order).
    pub sites: Vec<SiteReplication>,
    /// `flows[station][site]`: cases sent.
    pub flows: Vec<Vec<u64>>,
    pub events: u64,
    pub policy_calls: u64,
    /// Attempts the policy could not place, by the rule that blocked them
    /// (a case is tried again every `retry_min` until its limit passes).
    pub blocked_attempts: BTreeMap<String, u64>,
    /// Simulated minutes until the last person left.
    pub end_min: f64,
    /// Every case's timeline, when `keep_cases` is set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub case_log: Vec<CaseRecord>,
}

/// One case's timeline, minutes after the start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseRecord {
    pub case: String,
    pub station: String,
    pub category: String,
    pub detained_min: f64,
    /// The site it went to; `None` when the policy never placed it.
    pub site: Option<String>,
    pub escort: Option<String>,
    pub depart_min: Option<f64>,
    /// Per person: questioning start and end.
    pub questioning: Vec<(f64, f64)>,
    pub breach: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteReplication {
    pub site: String,
    pub cases: u64,
    pub room_utilisation: f64,
    pub peak_holding: u32,
}

impl<'a> Sim<'a> {
    pub(super) fn finish(mut self, rep: u64) -> Replication {
        let end = self.last_t.max(self.cfg.duration_min());
        let below = self.below_minimum(end);
        let n_persons: usize = self.persons.iter().map(|p| p.len()).sum();
        let wait_mean = if self.waits.is_empty() {
            f64::NAN
        } else {
            self.waits.iter().sum::<f64>() / self.waits.len() as f64
        };
        let wait_p95 = quantile(&mut self.waits, 0.95);
        let duration = self.cfg.duration_min();
        let sites = self
            .region
            .sites
            .iter()
            .enumerate()
            .map(|(k, s)| SiteReplication {
                site: s.id.to_string(),
                cases: self.site_cases[k],
                room_utilisation: if self.questioning_rooms[k] == 0 {
                    0.0
                } else {
                    self.busy[k] / (self.questioning_rooms[k] as f64 * duration)
                },
                peak_holding: peak(&self.holding[k]),
            })
            .collect();
        let placed = self.cases.iter().filter(|c| c.plan.is_some()).count() as u64;
        let case_log = if self.cfg.keep_cases {
            self.cases
                .iter()
                .zip(&self.persons)
                .map(|(c, ps)| CaseRecord {
                    case: c.case.id.to_string(),
                    station: c.case.origin.to_string(),
                    category: c.case.category.to_string(),
                    detained_min: c.at,
                    site: c.plan.as_ref().map(|p| p.site.to_string()),
                    escort: c.plan.as_ref().map(|p| {
                        let teams = p.escort.teams();
                        if teams.is_empty() {
                            "station".to_string()
                        } else {
                            teams
                                .iter()
                                .map(|t| t.as_str())
                                .collect::<Vec<_>>()
                                .join("+")
                        }
                    }),
                    depart_min: c.plan.as_ref().map(|_| c.depart),
                    questioning: ps.iter().filter_map(|p| p.questioning).collect(),
                    breach: c.breach,
                })
                .collect()
        } else {
            Vec::new()
        };
        Replication {
            index: rep,
            cases: self.cases.len() as u64,
            persons: n_persons as u64,
            placed,
            unplaced: self.cases.len() as u64 - placed,
            breaches: self.cases.iter().filter(|c| c.breach).count() as u64,
            escort_officer_hours: self.escort_hours,
            station_officer_hours_away: self.station_hours,
            escort_km: self.escort_km,
            wait_mean_min: wait_mean,
            wait_p95_min: wait_p95,
            below_min_minutes: below,
            sites,
            flows: self.flows,
            events: self.events,
            policy_calls: self.policy_calls,
            blocked_attempts: std::mem::take(&mut self.blocked),
            end_min: end,
            case_log,
        }
    }

    /// Minutes each station spent with fewer officers on duty (on shift and
    /// not away escorting) than its minimum, over `[0, end)`.
    fn below_minimum(&self, end: f64) -> Vec<f64> {
        below_minimum(self.region, self.cfg.start, end, &self.away)
    }
}
