//! Resources that change (rules version 6): an officer's leave, sickness,
//! training, court date or non-case duty, a team's vehicle in the workshop,
//! a room's maintenance (rules version 7), as time windows ([`Absence`]);
//! and rooms, officers and escort teams taken out of service and back
//! ([`Command::SetActive`](crate::Command::SetActive)), and from rules
//! version 7 whole sites (with their rooms, escort teams and officers) and
//! stations (which then send no case).
//!
//! Nothing is deleted: an inactive resource keeps its history and its
//! bookings before it left service. The engine, the validator (and so the
//! commit) and the availability queries treat an absence like a booking (a
//! room's as the room closed, whatever its capacity) and leave an inactive
//! resource out of the region they plan with.
//!
//! A change that takes a resource away from accepted plans returns them to
//! re-planning as a late escort does (see [`crate::state`]'s `ReportDelay`):
//! a case that has not begun loses its bookings and waits again, with
//! `plan_broken` saying why (which raises the `plan_broken` alert and makes
//! `WatchProposals` propose for it); a case under way keeps them, marked
//! broken for a dispatcher.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};

use casehub_model::CaseId;

use crate::state::{
    BOOKING_TIMES, Booking, CaseStatus, EntityRef, Outcome, PlanBroken, ResourceRef,
    SchedulingState, invalid, unknown,
};

/// Why a resource is away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AbsenceKind {
    Leave,
    Sickness,
    Training,
    Court,
    /// Work that is not case work (a patrol, a security detail).
    Duty,
    /// A room or a vehicle under repair.
    Maintenance,
}

impl AbsenceKind {
    pub const ALL: [AbsenceKind; 6] = [
        AbsenceKind::Leave,
        AbsenceKind::Sickness,
        AbsenceKind::Training,
        AbsenceKind::Court,
        AbsenceKind::Duty,
        AbsenceKind::Maintenance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AbsenceKind::Leave => "leave",
            AbsenceKind::Sickness => "sickness",
            AbsenceKind::Training => "training",
            AbsenceKind::Court => "court",
            AbsenceKind::Duty => "duty",
            AbsenceKind::Maintenance => "maintenance",
        }
    }

    /// The kind named `name`, if any.
    pub fn parse(name: &str) -> Option<AbsenceKind> {
        AbsenceKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for AbsenceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A window in which a resource cannot be booked, `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Absence {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub kind: AbsenceKind,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// The longest note an absence may carry, in characters.
pub const MAX_NOTE_CHARS: usize = 200;

impl SchedulingState {
    /// [`Command::AddAbsence`](crate::Command::AddAbsence).
    pub(crate) fn add_absence(
        &mut self,
        resource: &ResourceRef,
        absence: &Absence,
        now: DateTime<Utc>,
    ) -> Outcome {
        if absence.end <= absence.start {
            return Err(invalid(
                "absence.end",
                format!("{} is not after the start {}", absence.end, absence.start),
            ));
        }
        for (field, t) in [
            ("absence.start", absence.start),
            ("absence.end", absence.end),
        ] {
            if !(BOOKING_TIMES.0..=BOOKING_TIMES.1).contains(&t.year()) {
                return Err(invalid(
                    field,
                    format!(
                        "{t} is not in the years {} to {}",
                        BOOKING_TIMES.0, BOOKING_TIMES.1
                    ),
                ));
            }
        }
        if absence.note.chars().count() > MAX_NOTE_CHARS
            || absence.note.chars().any(char::is_control)
        {
            return Err(invalid(
                "absence.note",
                format!("at most {MAX_NOTE_CHARS} characters, no control characters"),
            ));
        }
        if let ResourceRef::Room(_) = resource
            && (absence.kind != AbsenceKind::Maintenance || !self.rules_at_least(7))
        {
            return Err(invalid(
                "resource",
                "a room's absence is maintenance only (rules version 7); to take it out of service for good, SetActive",
            ));
        }
        let Some((_, absences)) = self.absences_mut(resource) else {
            return Err(unknown(resource.entity()));
        };
        if absences.iter().any(|a| a.start == absence.start) {
            return Err(invalid(
                "absence.start",
                format!(
                    "{} already has an absence from {}: remove it first",
                    resource.entity(),
                    absence.start
                ),
            ));
        }
        absences.push(absence.clone());
        absences.sort_by_key(|a| a.start);
        let mut changed = vec![(resource.entity(), self.bump(resource))];
        let reason = format!(
            "{} is away ({}) from {} to {}",
            resource.entity(),
            absence.kind,
            absence.start,
            absence.end
        );
        changed.extend(self.break_plans_on(resource, absence.start, absence.end, now, &reason));
        Ok(changed)
    }

    /// [`Command::RemoveAbsence`](crate::Command::RemoveAbsence).
    pub(crate) fn remove_absence(
        &mut self,
        resource: &ResourceRef,
        start: DateTime<Utc>,
    ) -> Outcome {
        let Some((_, absences)) = self.absences_mut(resource) else {
            return Err(unknown(resource.entity()));
        };
        let before = absences.len();
        absences.retain(|a| a.start != start);
        if absences.len() == before {
            return Err(invalid(
                "start",
                format!("{} has no absence from {start}", resource.entity()),
            ));
        }
        Ok(vec![(resource.entity(), self.bump(resource))])
    }

    /// [`Command::SetActive`](crate::Command::SetActive).
    pub(crate) fn set_active(
        &mut self,
        entity: &EntityRef,
        active: bool,
        now: DateTime<Utc>,
    ) -> Outcome {
        let resource = match entity {
            EntityRef::Room(id) => ResourceRef::Room(id.clone()),
            EntityRef::Officer(id) => ResourceRef::Officer(id.clone()),
            EntityRef::Team(id) => ResourceRef::Team(id.clone()),
            EntityRef::Site(id) => return self.set_site_active(id, active, now),
            EntityRef::Station(id) => {
                let Some(e) = self.stations.get_mut(id) else {
                    return Err(unknown(entity.clone()));
                };
                if e.inactive_since.is_none() == active {
                    return Ok(Vec::new());
                }
                e.inactive_since = (!active).then_some(now);
                e.version += 1;
                return Ok(vec![(entity.clone(), e.version)]);
            }
            EntityRef::Case(_) => {
                return Err(invalid(
                    "resource",
                    "a case is not taken out of service: exit it",
                ));
            }
        };
        let resource = &resource;
        let Some((inactive, _)) = self.absences_mut(resource) else {
            return Err(unknown(resource.entity()));
        };
        if inactive.is_none() == active {
            return Ok(Vec::new());
        }
        *inactive = (!active).then_some(now);
        let mut changed = vec![(resource.entity(), self.bump(resource))];
        if !active {
            let reason = format!("{} was taken out of service at {now}", resource.entity());
            let end = DateTime::<Utc>::MAX_UTC;
            changed.extend(self.break_plans_on(resource, now, end, now, &reason));
        }
        Ok(changed)
    }

    /// A site out of service, or back: its rooms, its escort teams and the
    /// officers posted to it go with it.
    fn set_site_active(
        &mut self,
        id: &casehub_model::SiteId,
        active: bool,
        now: DateTime<Utc>,
    ) -> Outcome {
        let entity = EntityRef::Site(id.clone());
        let Some(e) = self.sites.get_mut(id) else {
            return Err(unknown(entity));
        };
        if e.inactive_since.is_none() == active {
            return Ok(Vec::new());
        }
        e.inactive_since = (!active).then_some(now);
        e.version += 1;
        let mut changed = vec![(entity, e.version)];
        if !active {
            let reason = format!("site {id} was taken out of service at {now}");
            let end = DateTime::<Utc>::MAX_UTC;
            for resource in self.site_resources(id) {
                changed.extend(self.break_plans_on(&resource, now, end, now, &reason));
            }
        }
        Ok(changed)
    }

    /// The rooms, escort teams and officers of site `id`.
    fn site_resources(&self, id: &casehub_model::SiteId) -> Vec<ResourceRef> {
        let rooms = self
            .rooms
            .iter()
            .filter(|(_, e)| &e.value.site == id)
            .map(|(r, _)| ResourceRef::Room(r.clone()));
        let teams = self
            .teams
            .iter()
            .filter(|(_, e)| &e.value.site == id)
            .map(|(t, _)| ResourceRef::Team(t.clone()));
        let officers = self
            .officers
            .iter()
            .filter(|(_, e)| matches!(&e.value.post, casehub_model::Post::Site(s) if s == id))
            .map(|(o, _)| ResourceRef::Officer(o.clone()));
        rooms.chain(teams).chain(officers).collect()
    }

    /// When `resource` left service, if it has: its own time out of
    /// service, or its site's (a room's, a team's, or an officer's posted
    /// to a site), the earlier.
    pub fn out_of_service_since(&self, resource: &ResourceRef) -> Option<DateTime<Utc>> {
        let site = match resource {
            ResourceRef::Room(id) => self.rooms.get(id).map(|e| &e.value.site),
            ResourceRef::Team(id) => self.teams.get(id).map(|e| &e.value.site),
            ResourceRef::Officer(id) => match self.officers.get(id).map(|e| &e.value.post) {
                Some(casehub_model::Post::Site(s)) => Some(s),
                _ => None,
            },
        };
        let site_since = site.and_then(|s| self.sites.get(s)?.inactive_since);
        match (self.inactive_since(resource), site_since) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// When `resource` left service, if it has.
    pub fn inactive_since(&self, resource: &ResourceRef) -> Option<DateTime<Utc>> {
        match resource {
            ResourceRef::Room(id) => self.rooms.get(id)?.inactive_since,
            ResourceRef::Officer(id) => self.officers.get(id)?.inactive_since,
            ResourceRef::Team(id) => self.teams.get(id)?.inactive_since,
        }
    }

    /// The absences of `resource` (none for an unknown one).
    pub fn absences_of(&self, resource: &ResourceRef) -> &[Absence] {
        match resource {
            ResourceRef::Room(id) => self.rooms.get(id).map(|e| &e.absences[..]),
            ResourceRef::Officer(id) => self.officers.get(id).map(|e| &e.absences[..]),
            ResourceRef::Team(id) => self.teams.get(id).map(|e| &e.absences[..]),
        }
        .unwrap_or(&[])
    }

    fn absences_mut(
        &mut self,
        resource: &ResourceRef,
    ) -> Option<(&mut Option<DateTime<Utc>>, &mut Vec<Absence>)> {
        match resource {
            ResourceRef::Room(id) => self
                .rooms
                .get_mut(id)
                .map(|e| (&mut e.inactive_since, &mut e.absences)),
            ResourceRef::Officer(id) => self
                .officers
                .get_mut(id)
                .map(|e| (&mut e.inactive_since, &mut e.absences)),
            ResourceRef::Team(id) => self
                .teams
                .get_mut(id)
                .map(|e| (&mut e.inactive_since, &mut e.absences)),
        }
    }

    /// One more version of `resource`; its new version.
    fn bump(&mut self, resource: &ResourceRef) -> u64 {
        let version = match resource {
            ResourceRef::Room(id) => self.rooms.get_mut(id).map(|e| &mut e.version),
            ResourceRef::Officer(id) => self.officers.get_mut(id).map(|e| &mut e.version),
            ResourceRef::Team(id) => self.teams.get_mut(id).map(|e| &mut e.version),
        };
        version.map_or(0, |v| {
            *v += 1;
            *v
        })
    }

    /// Every case with a booking of `resource` over `[start, end)`: back to
    /// re-planning if nothing of it has begun, else marked broken. The
    /// versions that changed.
    fn break_plans_on(
        &mut self,
        resource: &ResourceRef,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        now: DateTime<Utc>,
        reason: &str,
    ) -> Vec<(EntityRef, u64)> {
        let hit: BTreeSet<CaseId> = self
            .bookings_of(resource)
            .unwrap_or(&[])
            .iter()
            .filter(|b: &&Booking| b.start < end && start < b.end && b.end > now)
            .map(|b| b.case.clone())
            .collect();
        let mut changed = Vec::new();
        for case in hit {
            let open = self
                .cases
                .get(&case)
                .is_some_and(|e| e.value.status != CaseStatus::Exited);
            if !open {
                continue;
            }
            // Not begun: planned, no step started, no booking before now.
            let begun = self
                .cases
                .get(&case)
                .is_none_or(|e| e.value.status != CaseStatus::Planned)
                || self.any_step_started(&case)
                || self
                    .case_bookings(&case)
                    .iter()
                    .any(|pb| pb.booking.start < now);
            if !begun {
                self.unplan(&case, now, reason.to_string());
            } else if let Some(e) = self.cases.get_mut(&case) {
                e.value.plan_broken = Some(PlanBroken {
                    at: now,
                    reason: reason.to_string(),
                });
                e.version += 1;
            }
            if let Some(e) = self.cases.get(&case) {
                changed.push((EntityRef::Case(case.clone()), e.version));
            }
        }
        changed
    }
}
