//! The region's static parts, replicated (rules version 6).
//!
//! The sites, stations, officers, escort teams and policy are entities of
//! the state, each with its own version. The rest of a region — its name
//! and UTC offset, the shifts, the step durations, the caseload, the travel
//! source and the travel table computed from it — arrive together in one
//! [`Command::SetRegion`](crate::Command::SetRegion) and form a
//! [`RegionVersion`]: numbered from 1, with the SHA-256 of its content. Every
//! node plans from it, whatever its own files say, and a plan records the
//! version it was made from: the commit refuses a plan made from another.

use serde::{Deserialize, Serialize};

use casehub_model::region::{Caseload, RegionInfo, TravelConfig};
use casehub_model::{Region, Shift, StepDurations};
use casehub_travel::TravelTable;

use crate::state::SchedulingState;

/// The static parts of a region, as [`Command::SetRegion`](crate::Command::SetRegion) carries them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionStatic {
    pub info: RegionInfo,
    pub shifts: Vec<Shift>,
    pub step_durations: StepDurations,
    pub caseload: Caseload,
    /// Where the travel times come from (for the record; the table is what
    /// the engine and the commit use).
    pub travel: TravelConfig,
    /// Every station and site to every site, computed from `travel` by the
    /// client that loaded the region.
    pub table: TravelTable,
}

impl RegionStatic {
    /// The static parts of `region`, with its travel table.
    pub fn of(region: &Region, table: TravelTable) -> RegionStatic {
        RegionStatic {
            info: region.info.clone(),
            shifts: region.shifts.clone(),
            step_durations: region.step_durations.clone(),
            caseload: region.caseload.clone(),
            travel: region.travel.clone(),
            table,
        }
    }

    /// SHA-256 (hex) of the JSON encoding: equal content, equal digest.
    pub fn digest(&self) -> String {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        let d = ring::digest::digest(&ring::digest::SHA256, &bytes);
        d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The replicated region: its version, digest and static parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionVersion {
    /// 1 for the first region loaded, one more at each change.
    pub version: u64,
    /// [`RegionStatic::digest`] of `value`.
    pub digest: String,
    pub value: RegionStatic,
}

/// Why the replicated state cannot be planned from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionError {
    #[error(
        "no region is loaded in the cluster: load one with `casehub cluster load-region --region FILE`"
    )]
    NotLoaded,
    #[error("the replicated state does not form a valid region: {0}")]
    Invalid(String),
}

impl SchedulingState {
    /// The region the cluster plans from: the replicated static parts with
    /// the sites, stations, officers, escort teams and policy of the state,
    /// checked like any region; with its travel table and version.
    pub fn region_model(&self) -> Result<(Region, &TravelTable, u64), RegionError> {
        let Some(rv) = &self.region else {
            return Err(RegionError::NotLoaded);
        };
        let s = &rv.value;
        let region = self.region_with(&Region {
            info: s.info.clone(),
            sites: Vec::new(),
            candidate_sites: Vec::new(),
            stations: Vec::new(),
            shifts: s.shifts.clone(),
            officers: Vec::new(),
            escort_teams: Vec::new(),
            caseload: s.caseload.clone(),
            step_durations: s.step_durations.clone(),
            policy: self.policy.clone(),
            travel: s.travel.clone(),
        })?;
        Ok((region, &s.table, rv.version))
    }

    /// `base` (its static parts) with the sites, stations, officers, escort
    /// teams and policy of the state, checked like any region.
    pub fn region_with(&self, base: &Region) -> Result<Region, RegionError> {
        let mut r = base.clone();
        r.sites = self
            .sites
            .values()
            .map(|v| {
                let mut site = v.value.clone();
                // Rooms out of service (or at a site out of service) are
                // not planned with.
                site.rooms.retain(|room| {
                    self.out_of_service_since(&crate::ResourceRef::Room(room.id.clone()))
                        .is_none()
                });
                site
            })
            .collect();
        r.stations = self.stations.values().map(|v| v.value.clone()).collect();
        r.officers = self.officers.values().map(|v| v.value.clone()).collect();
        r.escort_teams = self.teams.values().map(|v| v.value.clone()).collect();
        r.policy = self.policy.clone();
        Region::new(r).map_err(|e| RegionError::Invalid(e.to_string()))
    }

    /// The replicated region's version, 0 before any is loaded.
    pub fn region_version(&self) -> u64 {
        self.region.as_ref().map_or(0, |r| r.version)
    }
}
