//! `AdminService`'s resources that change: absences and service
//! (`AddAbsence`, `RemoveAbsence`, `SetActive`). The requests checked and
//! turned into store commands here; see [`casehub_store::absence`].

use tonic::Status;

use casehub_model::{OfficerId, RoomId, TeamId};
use casehub_store::absence::{Absence, AbsenceKind, MAX_NOTE_CHARS};
use casehub_store::{Command, ResourceRef};

use crate::grpc_api::{id, invalid, time};
use crate::proto;

/// The resource a request names.
fn resource(field: &str, r: Option<&proto::ResourceId>) -> Result<ResourceRef, Status> {
    let r = r.ok_or_else(|| Status::invalid_argument(format!("{field}: missing")))?;
    let f = format!("{field}.id");
    Ok(match r.kind.as_str() {
        "room" => ResourceRef::Room(id(&f, &r.id, RoomId::new)?),
        "officer" => ResourceRef::Officer(id(&f, &r.id, OfficerId::new)?),
        "team" => ResourceRef::Team(id(&f, &r.id, TeamId::new)?),
        other => {
            return Err(invalid(
                &format!("{field}.kind"),
                other,
                "not one of room, officer, team",
            ));
        }
    })
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
        resource: resource("resource", r.resource.as_ref())?,
        active: r.active,
    })
}
