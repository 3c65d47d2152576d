//! A whole region: sites, stations, people, caseload, durations, policy and
//! how travel times are obtained. [`Region::new`] checks every cross-reference.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::case::LegalCategory;
use crate::error::{Result, ValidationError, non_negative, positive, probability};
use crate::geo::Location;
use crate::ids::{OfficerId, SiteId, StationId};
use crate::legal::Policy;
use crate::org::{EscortTeam, Officer, Post, Qualification, Shift, Station};
use crate::site::{CandidateSite, Site, SiteKind};
use crate::steps::StepDurations;

/// The scenario format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// Where the region's travel times come from. File paths are relative to the
/// scenario file; the caller reads them (this crate does no IO).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case", deny_unknown_fields)]
pub enum TravelConfig {
    /// Great-circle distance × detour factor ÷ speed.
    GreatCircle {
        #[serde(default = "default_detour")]
        detour_factor: f64,
        #[serde(default = "default_speed")]
        speed_kmh: f64,
    },
    /// Shortest paths on a road network: `nodes` CSV (`id,lat,lon`) and
    /// `edges` CSV (`from,to,km,speed_kmh,oneway`).
    RoadNetwork {
        nodes: String,
        edges: String,
        #[serde(default = "default_speed")]
        default_speed_kmh: f64,
        #[serde(default = "default_access_speed")]
        access_speed_kmh: f64,
    },
    /// A station × site matrix from an external router: CSV `from,to,minutes,km`.
    Matrix { file: String },
}

fn default_detour() -> f64 {
    1.3
}
fn default_speed() -> f64 {
    50.0
}
fn default_access_speed() -> f64 {
    30.0
}

impl Default for TravelConfig {
    fn default() -> Self {
        TravelConfig::GreatCircle {
            detour_factor: default_detour(),
            speed_kmh: default_speed(),
        }
    }
}

impl TravelConfig {
    fn validate(&self) -> Result<()> {
        match *self {
            TravelConfig::GreatCircle {
                detour_factor,
                speed_kmh,
            } => {
                let d = positive("detour_factor", detour_factor)?;
                if d < 1.0 {
                    return Err(ValidationError::new(
                        "detour_factor",
                        d,
                        "roads are never shorter than the straight line: use 1.0 or more",
                    ));
                }
                positive("speed_kmh", speed_kmh)?;
            }
            TravelConfig::RoadNetwork {
                default_speed_kmh,
                access_speed_kmh,
                ..
            } => {
                positive("default_speed_kmh", default_speed_kmh)?;
                positive("access_speed_kmh", access_speed_kmh)?;
            }
            TravelConfig::Matrix { .. } => {}
        }
        Ok(())
    }
}

/// How many persons a co-suspect case brings in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSize {
    pub min: u32,
    pub max: u32,
}

/// The caseload: arrivals per station and the make-up of cases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Caseload {
    /// Mean cases per day brought in from each station (a Poisson rate).
    pub cases_per_day: BTreeMap<StationId, f64>,
    /// Relative arrival intensity for each local hour 0–23 (any scale).
    pub hour_profile: Vec<f64>,
    /// Relative share of each legal category (any scale).
    pub mix: BTreeMap<LegalCategory, f64>,
    /// Share of persons who are women.
    pub female_share: f64,
    /// Share of persons who are juveniles.
    pub juvenile_share: f64,
    /// Share of cases that bring in a co-suspect group rather than one person.
    pub group_share: f64,
    pub group_size: GroupSize,
}

impl Caseload {
    fn validate(&self) -> Result<()> {
        for (station, &rate) in &self.cases_per_day {
            non_negative(&format!("cases_per_day.{station}"), rate)?;
        }
        if self.hour_profile.len() != 24 {
            return Err(ValidationError::new(
                "hour_profile",
                format!("{} values", self.hour_profile.len()),
                "needs exactly 24 values, one per hour",
            ));
        }
        for (h, &w) in self.hour_profile.iter().enumerate() {
            non_negative(&format!("hour_profile[{h}]"), w)?;
        }
        if self.hour_profile.iter().sum::<f64>() <= 0.0 {
            return Err(ValidationError::new(
                "hour_profile",
                "all zero",
                "at least one hour must have arrivals",
            ));
        }
        for (c, &w) in &self.mix {
            non_negative(&format!("mix.{c}"), w)?;
        }
        if self.mix.values().sum::<f64>() <= 0.0 {
            return Err(ValidationError::new(
                "mix",
                format!("{:?}", self.mix),
                "at least one category must have a positive share",
            ));
        }
        probability("female_share", self.female_share)?;
        probability("juvenile_share", self.juvenile_share)?;
        probability("group_share", self.group_share)?;
        let g = self.group_size;
        if g.min < 2 || g.max < g.min {
            return Err(ValidationError::new(
                "group_size",
                format!("{}..{}", g.min, g.max),
                "a group has min >= 2 and max >= min persons",
            ));
        }
        Ok(())
    }

    /// Total cases per day over all stations.
    pub fn total_per_day(&self) -> f64 {
        self.cases_per_day.values().sum()
    }
}

/// Descriptive fields of a region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionInfo {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Local time = UTC + this many minutes (China: +480).
    pub utc_offset_min: i32,
    /// Where the numbers come from.
    #[serde(default)]
    pub provenance: Vec<String>,
}

/// A validated region. Every id is unique and every reference resolves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawRegion", into = "RawRegion")]
pub struct Region {
    pub info: RegionInfo,
    pub sites: Vec<Site>,
    pub candidate_sites: Vec<CandidateSite>,
    pub stations: Vec<Station>,
    pub shifts: Vec<Shift>,
    pub officers: Vec<Officer>,
    pub escort_teams: Vec<EscortTeam>,
    pub caseload: Caseload,
    pub step_durations: StepDurations,
    pub policy: Policy,
    pub travel: TravelConfig,
}

/// The file layout of a region (see `simulations/README.md`).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRegion {
    format_version: u32,
    region: RegionInfo,
    #[serde(default)]
    sites: Vec<Site>,
    #[serde(default)]
    candidate_sites: Vec<CandidateSite>,
    #[serde(default)]
    stations: Vec<Station>,
    #[serde(default)]
    shifts: Vec<Shift>,
    #[serde(default)]
    officers: Vec<Officer>,
    #[serde(default)]
    escort_teams: Vec<EscortTeam>,
    caseload: Caseload,
    #[serde(default)]
    step_durations: StepDurations,
    #[serde(default)]
    policy: Policy,
    #[serde(default)]
    travel: TravelConfig,
}

impl TryFrom<RawRegion> for Region {
    type Error = ValidationError;
    fn try_from(r: RawRegion) -> Result<Self> {
        if r.format_version != FORMAT_VERSION {
            return Err(ValidationError::new(
                "format_version",
                r.format_version,
                format!("this casehub reads scenario format version {FORMAT_VERSION}"),
            ));
        }
        Region::new(Region {
            info: r.region,
            sites: r.sites,
            candidate_sites: r.candidate_sites,
            stations: r.stations,
            shifts: r.shifts,
            officers: r.officers,
            escort_teams: r.escort_teams,
            caseload: r.caseload,
            step_durations: r.step_durations,
            policy: r.policy,
            travel: r.travel,
        })
    }
}

impl From<Region> for RawRegion {
    fn from(r: Region) -> Self {
        RawRegion {
            format_version: FORMAT_VERSION,
            region: r.info,
            sites: r.sites,
            candidate_sites: r.candidate_sites,
            stations: r.stations,
            shifts: r.shifts,
            officers: r.officers,
            escort_teams: r.escort_teams,
            caseload: r.caseload,
            step_durations: r.step_durations,
            policy: r.policy,
            travel: r.travel,
        }
    }
}

fn unique<'a, T: std::hash::Hash + Eq + std::fmt::Display + 'a>(
    list: &str,
    ids: impl Iterator<Item = &'a T>,
) -> Result<()> {
    let mut seen = HashSet::new();
    for (i, id) in ids.enumerate() {
        if !seen.insert(id) {
            return Err(ValidationError::new(
                format!("{list}[{i}].id"),
                id,
                format!("duplicate id in {list}"),
            ));
        }
    }
    Ok(())
}

impl Region {
    /// Check every cross-reference of an assembled region and return it.
    pub fn new(region: Region) -> Result<Region> {
        let r = region;
        if r.info.name.trim().is_empty() {
            return Err(ValidationError::new(
                "region.name",
                "\"\"",
                "a region needs a name",
            ));
        }
        if !(-14 * 60..=14 * 60).contains(&r.info.utc_offset_min) {
            return Err(ValidationError::new(
                "region.utc_offset_min",
                r.info.utc_offset_min,
                "must be between -840 and 840",
            ));
        }
        unique(
            "sites",
            r.sites
                .iter()
                .map(|s| &s.id)
                .chain(r.candidate_sites.iter().map(|c| &c.id)),
        )?;
        unique("stations", r.stations.iter().map(|s| &s.id))?;
        unique("shifts", r.shifts.iter().map(|s| &s.id))?;
        unique("officers", r.officers.iter().map(|o| &o.id))?;
        unique("escort_teams", r.escort_teams.iter().map(|t| &t.id))?;
        let mut rooms = HashSet::new();
        for (i, site) in r.sites.iter().enumerate() {
            for (j, room) in site.rooms.iter().enumerate() {
                if !rooms.insert(&room.id) {
                    return Err(ValidationError::new(
                        format!("sites[{i}].rooms[{j}].id"),
                        &room.id,
                        "room ids must be unique across the region",
                    ));
                }
            }
        }
        let mains = r
            .sites
            .iter()
            .filter(|s| s.kind == SiteKind::MainCenter)
            .count();
        if mains != 1 {
            return Err(ValidationError::new(
                "sites",
                format!("{mains} main centers"),
                "a region has exactly one main center",
            ));
        }

        let sites: HashSet<&SiteId> = r.sites.iter().map(|s| &s.id).collect();
        let stations: HashSet<&StationId> = r.stations.iter().map(|s| &s.id).collect();
        let shifts: HashSet<_> = r.shifts.iter().map(|s| &s.id).collect();
        let mut per_station: HashMap<&StationId, u32> = HashMap::new();
        for (i, o) in r.officers.iter().enumerate() {
            match &o.post {
                Post::Site(s) if !sites.contains(s) => {
                    return Err(ValidationError::new(
                        format!("officers[{i}].site"),
                        s,
                        "no such site in this region",
                    ));
                }
                Post::Station(s) if !stations.contains(s) => {
                    return Err(ValidationError::new(
                        format!("officers[{i}].station"),
                        s,
                        "no such station in this region",
                    ));
                }
                Post::Station(s) => *per_station.entry(s).or_default() += 1,
                Post::Site(_) => {}
            }
            if !shifts.contains(&o.shift) {
                return Err(ValidationError::new(
                    format!("officers[{i}].shift"),
                    &o.shift,
                    "no such shift in this region",
                ));
            }
        }
        for (i, s) in r.stations.iter().enumerate() {
            let posted = per_station.get(&s.id).copied().unwrap_or(0);
            if s.min_on_duty > posted {
                return Err(ValidationError::new(
                    format!("stations[{i}].min_on_duty"),
                    s.min_on_duty,
                    format!("station {} has only {posted} officers posted", s.id),
                ));
            }
        }
        let officers: HashMap<&OfficerId, &Officer> =
            r.officers.iter().map(|o| (&o.id, o)).collect();
        let mut in_team: HashSet<&OfficerId> = HashSet::new();
        for (i, t) in r.escort_teams.iter().enumerate() {
            if !sites.contains(&t.site) {
                return Err(ValidationError::new(
                    format!("escort_teams[{i}].site"),
                    &t.site,
                    "no such site in this region",
                ));
            }
            for (j, m) in t.members.iter().enumerate() {
                let field = format!("escort_teams[{i}].members[{j}]");
                let Some(o) = officers.get(m) else {
                    return Err(ValidationError::new(
                        field,
                        m,
                        "no such officer in this region",
                    ));
                };
                if o.post != Post::Site(t.site.clone()) {
                    return Err(ValidationError::new(
                        field,
                        m,
                        format!("a team member must be posted to the team's site {}", t.site),
                    ));
                }
                if !o.can(Qualification::Escort) {
                    return Err(ValidationError::new(
                        field,
                        m,
                        "a team member needs the escort qualification",
                    ));
                }
                if !in_team.insert(m) {
                    return Err(ValidationError::new(
                        field,
                        m,
                        "an officer belongs to at most one escort team",
                    ));
                }
            }
        }
        for station in r.caseload.cases_per_day.keys() {
            if !stations.contains(station) {
                return Err(ValidationError::new(
                    format!("caseload.cases_per_day.{station}"),
                    station,
                    "no such station in this region",
                ));
            }
        }
        r.caseload.validate().map_err(|e| e.within("caseload"))?;
        r.travel.validate().map_err(|e| e.within("travel"))?;
        Ok(r)
    }

    pub fn main_center(&self) -> &Site {
        self.sites
            .iter()
            .find(|s| s.kind == SiteKind::MainCenter)
            .expect("validated: exactly one main center")
    }

    pub fn site(&self, id: &str) -> Option<&Site> {
        self.sites.iter().find(|s| s.id.as_str() == id)
    }

    pub fn station(&self, id: &str) -> Option<&Station> {
        self.stations.iter().find(|s| s.id.as_str() == id)
    }

    pub fn officer(&self, id: &str) -> Option<&Officer> {
        self.officers.iter().find(|o| o.id.as_str() == id)
    }

    pub fn shift(&self, id: &str) -> Option<&Shift> {
        self.shifts.iter().find(|s| s.id.as_str() == id)
    }

    /// Officers posted to a station.
    pub fn station_officers<'a>(
        &'a self,
        station: &'a StationId,
    ) -> impl Iterator<Item = &'a Officer> + 'a {
        self.officers
            .iter()
            .filter(move |o| o.post == Post::Station(station.clone()))
    }

    /// Every place with a location: stations, sites and candidate sites, as `(id, location)`.
    pub fn places(&self) -> impl Iterator<Item = (&str, Location)> {
        self.stations
            .iter()
            .map(|s| (s.id.as_str(), s.location))
            .chain(self.sites.iter().map(|s| (s.id.as_str(), s.location)))
            .chain(
                self.candidate_sites
                    .iter()
                    .map(|c| (c.id.as_str(), c.location)),
            )
    }
}
