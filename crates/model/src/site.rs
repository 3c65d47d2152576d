//! Sites (the main center, sub-centers, and candidate locations) and their rooms.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Result, ValidationError, non_negative};
use crate::geo::Location;
use crate::ids::{RoomId, SiteId};
use crate::time::DailyWindow;

/// The kinds of room in a case-handling site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    /// Intake registration (入区登记).
    Intake,
    /// Safety / body search (人身安全检查).
    Search,
    /// Information and biometric collection (信息采集).
    InformationCollection,
    /// Holding room (候问室); the only kind with a capacity above one.
    Holding,
    /// Interrogation room for criminal suspects (讯问室).
    Interrogation,
    /// Inquiry room for administrative suspects and witnesses (询问室).
    Inquiry,
    /// Medical check room.
    Medical,
    /// Remote arraignment room (远程提讯).
    RemoteArraignment,
}

impl RoomKind {
    pub const ALL: [RoomKind; 8] = [
        RoomKind::Intake,
        RoomKind::Search,
        RoomKind::InformationCollection,
        RoomKind::Holding,
        RoomKind::Interrogation,
        RoomKind::Inquiry,
        RoomKind::Medical,
        RoomKind::RemoteArraignment,
    ];

    /// The name used in files, the API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            RoomKind::Intake => "intake",
            RoomKind::Search => "search",
            RoomKind::InformationCollection => "information_collection",
            RoomKind::Holding => "holding",
            RoomKind::Interrogation => "interrogation",
            RoomKind::Inquiry => "inquiry",
            RoomKind::Medical => "medical",
            RoomKind::RemoteArraignment => "remote_arraignment",
        }
    }
}

impl fmt::Display for RoomKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RoomKind {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self> {
        RoomKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = RoomKind::ALL.iter().map(|k| k.as_str()).collect();
                ValidationError::new(
                    "kind",
                    format!("{s:?}"),
                    format!("unknown room kind; expected one of {}", names.join(", ")),
                )
            })
    }
}

/// A room. Holding rooms hold up to `capacity` persons at once; every other
/// room serves one person at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawRoom")]
pub struct Room {
    pub id: RoomId,
    pub kind: RoomKind,
    /// Persons at once. Always 1 except for holding rooms.
    pub capacity: u32,
    /// Audio/video recording installed. Questioning requires it.
    pub recording: bool,
    /// Suitable for juveniles (separate, with space for a guardian).
    pub juvenile_suitable: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoom {
    id: RoomId,
    kind: RoomKind,
    #[serde(default)]
    capacity: Option<u32>,
    #[serde(default = "yes")]
    recording: bool,
    #[serde(default)]
    juvenile_suitable: bool,
}

fn yes() -> bool {
    true
}

impl TryFrom<RawRoom> for Room {
    type Error = ValidationError;
    fn try_from(r: RawRoom) -> Result<Self> {
        Room::new(r.id, r.kind, r.capacity, r.recording, r.juvenile_suitable)
    }
}

impl Room {
    /// Validate a room. `capacity` defaults to 1; it must be at least 1, and only
    /// holding rooms may have more than 1.
    pub fn new(
        id: RoomId,
        kind: RoomKind,
        capacity: Option<u32>,
        recording: bool,
        juvenile_suitable: bool,
    ) -> Result<Self> {
        let capacity = capacity.unwrap_or(1);
        if capacity == 0 {
            return Err(ValidationError::new(
                "capacity",
                0,
                "a room must hold at least one person",
            ));
        }
        if capacity > 1 && kind != RoomKind::Holding {
            return Err(ValidationError::new(
                "capacity",
                capacity,
                format!(
                    "only holding rooms take more than one person; a {kind} room serves one at a time"
                ),
            ));
        }
        Ok(Self {
            id,
            kind,
            capacity,
            recording,
            juvenile_suitable,
        })
    }
}

/// Main center or sub-center.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteKind {
    MainCenter,
    SubCenter,
}

/// A case-handling site: the main center (执法办案管理中心) or a sub-center (分中心).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawSite")]
pub struct Site {
    pub id: SiteId,
    pub name: String,
    pub kind: SiteKind,
    pub location: Location,
    /// When rooms may be used (local time). Defaults to the whole day.
    pub open_hours: DailyWindow,
    pub rooms: Vec<Room>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    id: SiteId,
    #[serde(default)]
    name: Option<String>,
    kind: SiteKind,
    location: Location,
    #[serde(default)]
    open_hours: Option<DailyWindow>,
    #[serde(default)]
    rooms: Vec<Room>,
}

impl TryFrom<RawSite> for Site {
    type Error = ValidationError;
    fn try_from(r: RawSite) -> Result<Self> {
        let name = r.name.unwrap_or_else(|| r.id.to_string());
        Site::new(
            r.id,
            name,
            r.kind,
            r.location,
            r.open_hours.unwrap_or(DailyWindow::ALWAYS),
            r.rooms,
        )
    }
}

impl Site {
    /// Validate a site: room ids unique within it, and it must be able to take
    /// someone in (at least one intake room and one holding room).
    pub fn new(
        id: SiteId,
        name: String,
        kind: SiteKind,
        location: Location,
        open_hours: DailyWindow,
        rooms: Vec<Room>,
    ) -> Result<Self> {
        let mut seen = HashSet::new();
        for (i, room) in rooms.iter().enumerate() {
            if !seen.insert(room.id.clone()) {
                return Err(ValidationError::new(
                    format!("rooms[{i}].id"),
                    &room.id,
                    "duplicate room id in this site",
                ));
            }
        }
        for needed in [RoomKind::Intake, RoomKind::Holding] {
            if !rooms.iter().any(|r| r.kind == needed) {
                return Err(ValidationError::new(
                    "rooms",
                    format!("{} rooms", rooms.len()),
                    format!("a site needs at least one {needed} room"),
                ));
            }
        }
        Ok(Self {
            id,
            name,
            kind,
            location,
            open_hours,
            rooms,
        })
    }

    pub fn rooms_of(&self, kind: RoomKind) -> impl Iterator<Item = &Room> {
        self.rooms.iter().filter(move |r| r.kind == kind)
    }
}

/// A place where a new sub-center could be built, for the placement models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawCandidate")]
pub struct CandidateSite {
    pub id: SiteId,
    pub name: String,
    pub location: Location,
    /// One-off cost of opening (any currency unit, used consistently).
    pub fixed_cost: f64,
    /// Cases per day it could handle.
    pub capacity_per_day: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCandidate {
    id: SiteId,
    #[serde(default)]
    name: Option<String>,
    location: Location,
    #[serde(default)]
    fixed_cost: f64,
    capacity_per_day: f64,
}

impl TryFrom<RawCandidate> for CandidateSite {
    type Error = ValidationError;
    fn try_from(r: RawCandidate) -> Result<Self> {
        let fixed_cost = non_negative("fixed_cost", r.fixed_cost)?;
        let capacity_per_day = crate::error::positive("capacity_per_day", r.capacity_per_day)?;
        Ok(Self {
            name: r.name.unwrap_or_else(|| r.id.to_string()),
            id: r.id,
            location: r.location,
            fixed_cost,
            capacity_per_day,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_capacity_rules() {
        let id = RoomId::new("h1").unwrap();
        assert!(Room::new(id.clone(), RoomKind::Holding, Some(6), true, false).is_ok());
        let e = Room::new(id.clone(), RoomKind::Holding, Some(0), true, false).unwrap_err();
        assert_eq!((e.field.as_str(), e.value.as_str()), ("capacity", "0"));
        let e = Room::new(id, RoomKind::Interrogation, Some(2), true, false).unwrap_err();
        assert_eq!(e.value, "2");
    }

    #[test]
    fn unknown_room_kind_is_named() {
        let e = "sauna".parse::<RoomKind>().unwrap_err();
        assert!(e.to_string().contains("\"sauna\""), "{e}");
        assert!(e.to_string().contains("interrogation"), "{e}");
        assert_eq!(
            "remote_arraignment".parse::<RoomKind>().unwrap(),
            RoomKind::RemoteArraignment
        );
    }
}
