//! `AdminService`'s resources that change: absences (a room's:
//! maintenance) and service, of sites and stations too (`AddAbsence`,
//! `RemoveAbsence`, `SetActive`). The requests checked and
//! turned into store commands here; see [`casehub_store::absence`].

use tonic::Status;

use casehub_model::{OfficerId, RoomId, SiteId, StationId, TeamId};
use casehub_store::absence::{Absence, AbsenceKind, MAX_NOTE_CHARS};
use casehub_store::{Command, EntityRef, ResourceRef};

use crate::grpc_api::{id, invalid, time};
use crate::proto;

/// The entity a request names: a bookable resource, a site or a station.
fn entity(field: &str, r: Option<&proto::ResourceId>) -> Result<EntityRef, Status> {
    let r = r.ok_or_else(|| Status::invalid_argument(format!("{field}: missing")))?;
    let f = format!("{field}.id");
    Ok(match r.kind.as_str() {
        "room" => EntityRef::Room(id(&f, &r.id, RoomId::new)?),
        "officer" => EntityRef::Officer(id(&f, &r.id, OfficerId::new)?),
        "team" => EntityRef::Team(id(&f, &r.id, TeamId::new)?),
        "site" => EntityRef::Site(id(&f, &r.id, SiteId::new)?),
        "station" => EntityRef::Station(id(&f, &r.id, StationId::new)?),
        other => {
            return Err(invalid(
                &format!("{field}.kind"),
                other,
                "not one of room, officer, team, site, station",
            ));
        }
    })
}

/// The bookable resource a request names (a room, an officer, a team).
fn resource(field: &str, r: Option<&proto::ResourceId>) -> Result<ResourceRef, Status> {
    match entity(field, r)? {
        EntityRef::Room(id) => Ok(ResourceRef::Room(id)),
        EntityRef::Officer(id) => Ok(ResourceRef::Officer(id)),
        EntityRef::Team(id) => Ok(ResourceRef::Team(id)),
        _ => Err(invalid(
            &format!("{field}.kind"),
            r.map_or("", |r| r.kind.as_str()),
            "a site or a station is taken out of service and back (SetActive), not away",
        )),
    }
}

pub(crate) fn add_absence(r: &proto::AddAbsenceRequest) -> Result<Command, Status> {
    let resource = resource("resource", r.resource.as_ref())?;
    let kind = AbsenceKind::parse(&r.kind).ok_or_else(|| {
        let names: Vec<&str> = AbsenceKind::ALL.iter().map(|k| k.as_str()).collect();
        invalid("kind", &r.kind, format!("not one of {}", names.join(", ")))
    })?;
    let start = time("start", r.start.as_ref())?;
    let end = time("end", r.end.as_ref())?;
    if end <= start {
        return Err(invalid("end", end, "must be after start"));
    }
    if r.note.chars().count() > MAX_NOTE_CHARS || r.note.chars().any(char::is_control) {
        return Err(invalid(
            "note",
            format!("{} characters", r.note.chars().count()),
            format!("at most {MAX_NOTE_CHARS} characters, no control characters"),
        ));
    }
    Ok(Command::AddAbsence {
        resource,
        absence: Absence {
            start,
            end,
            kind,
            note: r.note.clone(),
        },
    })
}

pub(crate) fn remove_absence(r: &proto::RemoveAbsenceRequest) -> Result<Command, Status> {
    Ok(Command::RemoveAbsence {
        resource: resource("resource", r.resource.as_ref())?,
        start: time("start", r.start.as_ref())?,
    })
}

pub(crate) fn set_active(r: &proto::SetActiveRequest) -> Result<Command, Status> {
    Ok(Command::SetActive {
        resource: entity("resource", r.resource.as_ref())?,
        active: r.active,
    })
}
