//! The people side: police stations, officers, shifts and escort teams.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::case::Gender;
use crate::error::{Result, ValidationError};
use crate::geo::Location;
use crate::ids::{OfficerId, ShiftId, SiteId, StationId, TeamId};
use crate::time::DailyWindow;

/// A police station (派出所). Its officers are the [`Officer`]s posted to it;
/// those whose shift covers a moment are on duty then. An escort may never
/// take the number on duty below `min_on_duty`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawStation")]
pub struct Station {
    pub id: StationId,
    pub name: String,
    pub location: Location,
    /// Officers who must stay at the station at all times to answer incidents.
    pub min_on_duty: u32,
    /// Urban or rural, for reports only.
    pub rural: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStation {
    id: StationId,
    #[serde(default)]
    name: Option<String>,
    location: Location,
    min_on_duty: u32,
    #[serde(default)]
    rural: bool,
}

impl TryFrom<RawStation> for Station {
    type Error = ValidationError;
    fn try_from(r: RawStation) -> Result<Self> {
        Ok(Station {
            name: r.name.unwrap_or_else(|| r.id.to_string()),
            id: r.id,
            location: r.location,
            min_on_duty: r.min_on_duty,
            rural: r.rural,
        })
    }
}

/// What an officer or staff member is qualified to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Qualification {
    /// May question suspects and witnesses (a case officer).
    Questioning,
    /// May escort a person between a station and a site.
    Escort,
    /// May carry out a body search.
    Search,
    /// Intake registration and information collection.
    Intake,
    /// Guards holding rooms.
    Custody,
    /// Trained to question juveniles.
    Juvenile,
}

/// Where an officer is posted: a site (center staff, escort teams) or a station.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Post {
    Site(SiteId),
    Station(StationId),
}

/// A named daily shift, e.g. `day = "08:00-20:00"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shift {
    pub id: ShiftId,
    pub window: DailyWindow,
}

/// An officer or professional staff member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawOfficer", into = "RawOfficer")]
pub struct Officer {
    pub id: OfficerId,
    pub name: String,
    pub gender: Gender,
    pub post: Post,
    pub qualifications: Vec<Qualification>,
    pub shift: ShiftId,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOfficer {
    id: OfficerId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    gender: Gender,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    site: Option<SiteId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    station: Option<StationId>,
    #[serde(default)]
    qualifications: Vec<Qualification>,
    shift: ShiftId,
}

impl TryFrom<RawOfficer> for Officer {
    type Error = ValidationError;
    fn try_from(r: RawOfficer) -> Result<Self> {
        let post = match (r.site, r.station) {
            (Some(s), None) => Post::Site(s),
            (None, Some(s)) => Post::Station(s),
            (Some(a), Some(b)) => {
                return Err(ValidationError::new(
                    "site",
                    format!("{a} and station {b}"),
                    "an officer is posted to a site or a station, not both",
                ));
            }
            (None, None) => {
                return Err(ValidationError::new(
                    "site",
                    "(missing)",
                    "an officer needs a `site` or a `station`",
                ));
            }
        };
        Officer::new(r.id, r.name, r.gender, post, r.qualifications, r.shift)
    }
}

impl From<Officer> for RawOfficer {
    fn from(o: Officer) -> Self {
        let (site, station) = match o.post {
            Post::Site(s) => (Some(s), None),
            Post::Station(s) => (None, Some(s)),
        };
        let name = (o.name != o.id.as_str()).then_some(o.name);
        RawOfficer {
            id: o.id,
            name,
            gender: o.gender,
            site,
            station,
            qualifications: o.qualifications,
            shift: o.shift,
        }
    }
}

impl Officer {
    pub fn new(
        id: OfficerId,
        name: Option<String>,
        gender: Gender,
        post: Post,
        mut qualifications: Vec<Qualification>,
        shift: ShiftId,
    ) -> Result<Self> {
        qualifications.sort();
        if let Some(w) = qualifications.windows(2).find(|w| w[0] == w[1]) {
            return Err(ValidationError::new(
                "qualifications",
                format!("{:?}", w[0]).to_lowercase(),
                "listed twice",
            ));
        }
        Ok(Officer {
            name: name.unwrap_or_else(|| id.to_string()),
            id,
            gender,
            post,
            qualifications,
            shift,
        })
    }

    pub fn can(&self, q: Qualification) -> bool {
        self.qualifications.contains(&q)
    }
}

/// A site's dedicated escort team: a vehicle and the officers who crew it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawTeam", into = "RawTeam")]
pub struct EscortTeam {
    pub id: TeamId,
    pub site: SiteId,
    /// Seats in the vehicle, members included.
    pub seats: u32,
    pub members: Vec<OfficerId>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTeam {
    id: TeamId,
    site: SiteId,
    seats: u32,
    members: Vec<OfficerId>,
}

impl TryFrom<RawTeam> for EscortTeam {
    type Error = ValidationError;
    fn try_from(r: RawTeam) -> Result<Self> {
        EscortTeam::new(r.id, r.site, r.seats, r.members)
    }
}

impl From<EscortTeam> for RawTeam {
    fn from(t: EscortTeam) -> Self {
        RawTeam {
            id: t.id,
            site: t.site,
            seats: t.seats,
            members: t.members,
        }
    }
}

impl EscortTeam {
    /// Validate a team: at least one member, no member twice, and a seat left for a person.
    pub fn new(id: TeamId, site: SiteId, seats: u32, members: Vec<OfficerId>) -> Result<Self> {
        if members.is_empty() {
            return Err(ValidationError::new(
                "members",
                "[]",
                "an escort team needs at least one member",
            ));
        }
        let mut seen = HashSet::new();
        for (i, m) in members.iter().enumerate() {
            if !seen.insert(m) {
                return Err(ValidationError::new(
                    format!("members[{i}]"),
                    m,
                    "listed twice in the team",
                ));
            }
        }
        if seats as usize <= members.len() {
            return Err(ValidationError::new(
                "seats",
                seats,
                format!(
                    "the vehicle must have more seats than the {} members, to carry anyone",
                    members.len()
                ),
            ));
        }
        Ok(EscortTeam {
            id,
            site,
            seats,
            members,
        })
    }

    /// Persons the team can carry at once.
    pub fn passenger_seats(&self) -> u32 {
        self.seats - self.members.len() as u32
    }
}
