//! The scheduling state machine: pure, deterministic, no IO.
//!
//! [`SchedulingState::apply`] takes a log index and a [`Request`] and returns a
//! [`Response`]. It never reads a clock (the request carries its time), never
//! panics on a request, and is all-or-nothing: a rejected request changes no
//! entity and no booking. Every map is ordered (`BTreeMap`, or `imbl::OrdMap`
//! for the parts that grow with every request), so that two replicas that
//! applied the same log serialize to the same bytes.
//!
//! The audit log and the deduplication table grow with every request. They
//! are persistent structures (`imbl::Vector`, `imbl::OrdMap`): cloning the
//! state shares them instead of copying them, so publishing a copy of the
//! state after each applied batch costs the same at any length of history.
//! They serialize exactly like a `Vec` and a `BTreeMap`.

use std::collections::BTreeMap;

use casehub_model::{
    Case, CaseId, EscortTeam, Officer, OfficerId, PersonId, Policy, Post, RoomId, Site, SiteId,
    Station, StationId, TeamId,
};
use chrono::{DateTime, Utc};
use imbl::{OrdMap, Vector};
use serde::{Deserialize, Serialize};

use crate::alert_records::AlertRecords;
pub use crate::command::*;
pub use crate::entities::*;
use crate::exceptions::Exceptions;
use crate::particulars::PersonRecord;
use crate::region::RegionVersion;
pub use crate::request::*;
use crate::users::Users;

/// The whole replicated scheduling state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SchedulingState {
    pub sites: BTreeMap<SiteId, Versioned<Site>>,
    pub rooms: BTreeMap<RoomId, Bookable<RoomEntry>>,
    pub stations: BTreeMap<StationId, Versioned<Station>>,
    pub officers: BTreeMap<OfficerId, Bookable<Officer>>,
    pub teams: BTreeMap<TeamId, Bookable<EscortTeam>>,
    pub cases: BTreeMap<CaseId, Versioned<CaseEntry>>,
    pub policy: Policy,
    /// client id → request id → the response it got.
    pub applied_requests: OrdMap<String, OrdMap<u64, Response>>,
    /// One entry per request applied, in log order.
    pub audit: Vector<AuditEntry>,
    /// The version of the rules the cluster applies commands by (see
    /// [`RULES_VERSION`]); 0 in a state written before versions existed,
    /// which applies them as version 1.
    #[serde(default)]
    pub rules_version: u32,
    /// Users, roles and the security policy (rules version 3).
    #[serde(default)]
    pub users: Users,
    /// The alerts with their lifecycle (rules version 5).
    #[serde(default, skip_serializing_if = "AlertRecords::is_empty")]
    pub alerts: AlertRecords,
    /// The region's static parts every node plans from (rules version 6;
    /// see [`crate::region`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<RegionVersion>,
    /// The exceptions asked for, by id (rules version 6; see
    /// [`crate::exceptions`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub exceptions: Exceptions,
    /// What has left the live state for the archive (rules version 7; see
    /// [`crate::archive`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<crate::archive::ArchiveMark>,
    /// What left the live state and the storage has not yet written to the
    /// archive ([`SchedulingState::take_archived`]); never serialised.
    #[serde(skip)]
    pub outbox: Vec<crate::archive::Archived>,
}

/// The version of the state machine's rules this build applies: 1, the
/// first; 2 adds [`Command::ReportDelay`], a step completed early freeing
/// its room and questioners early, and bookings bounded to the years of
/// [`BOOKING_TIMES`]; 3 adds users, roles and the security policy
/// ([`crate::users`]); 4 adds the persons' sealed particulars, their
/// purge and the exit time of a case ([`crate::particulars`]); 5 adds
/// [`Command::OverridePlan`] and the reason in the audit
/// ([`AuditEntry::reason`]), and the alerts kept with their lifecycle
/// ([`crate::alert_records`]); 6 adds the replicated region
/// ([`Command::SetRegion`]) and [`Command::AcceptPlan`], which checks a
/// plan against every rule of the catalogue at commit and replaces
/// `CommitPlan` and `OverridePlan`; 7 adds [`Command::Archive`], which
/// moves what ended before the retention period out of the live state
/// ([`crate::archive`]), rooms closed for maintenance and sites and
/// stations out of service, and the policy's longest hold at commit; 8
/// checks the policy's juvenile questioning, longest wait before intake and
/// separate vehicles at commit ([`casehub_model::Rule::JuvenileQuestioning`],
/// [`casehub_model::Rule::IntakeWait`], [`casehub_model::Rule::SeparateVehicles`]). A cluster applies the rules of its
/// [`SchedulingState::rules_version`], raised by
/// [`Command::SetRulesVersion`] once every node runs a build that has them,
/// so that nodes of two builds never apply one log differently.
pub const RULES_VERSION: u32 = 8;

pub(crate) type Outcome = Result<Vec<(EntityRef, u64)>, Response>;

pub(crate) fn reject_if(conflicts: Vec<Conflict>, reason: &str) -> Result<(), Response> {
    if conflicts.is_empty() {
        Ok(())
    } else {
        Err(Response::rejected(reason, conflicts))
    }
}

pub(crate) fn unknown(entity: EntityRef) -> Response {
    Response::rejected(
        format!("unknown {entity}"),
        vec![Conflict::Unknown { entity }],
    )
}

pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Response {
    let (field, reason) = (field.into(), reason.into());
    Response::rejected(
        format!("invalid {field}: {reason}"),
        vec![Conflict::Invalid { field, reason }],
    )
}

/// Insert or bump: version 1 for a new entry, else one more than before.
fn next_version(old: Option<u64>) -> u64 {
    old.map_or(1, |v| v + 1)
}

/// Truncate `bookings` of `case` at `at`: those under way end at `at`, later
/// ones are dropped. Returns whether anything changed.
fn release(bookings: &mut Vec<Booking>, case: &CaseId, at: DateTime<Utc>) -> bool {
    release_where(bookings, at, |b| b.case == *case)
}

/// [`release`] for the bookings `which` selects.
fn release_where(
    bookings: &mut Vec<Booking>,
    at: DateTime<Utc>,
    which: impl Fn(&Booking) -> bool,
) -> bool {
    // Whether anything changed, without a copy of every resource's bookings
    // to compare with (a release runs over every resource).
    let mut changed = false;
    bookings.retain(|b| {
        let drop = which(b) && b.start >= at;
        changed |= drop;
        !drop
    });
    for b in bookings.iter_mut() {
        if which(b) && b.end > at {
            b.end = at;
            changed = true;
        }
    }
    changed
}

/// Planned bookings grouped by their resource, in resource order.
pub(crate) fn by_resource(bookings: &[PlannedBooking]) -> BTreeMap<&ResourceRef, Vec<&Booking>> {
    let mut out: BTreeMap<&ResourceRef, Vec<&Booking>> = BTreeMap::new();
    for pb in bookings {
        out.entry(&pb.resource).or_default().push(&pb.booking);
    }
    out
}

/// The most bookings of `bookings` under way at one moment of `within`.
pub(crate) fn max_concurrency(bookings: &[&Booking], within: &Booking) -> usize {
    // The maximum over an interval is reached at its start or at a booking's start.
    bookings
        .iter()
        .map(|b| {
            let at = b.start.max(within.start);
            bookings
                .iter()
                .filter(|o| o.start <= at && at < o.end)
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// The most of `bookings` under way at one moment.
fn peak(bookings: &[Booking]) -> usize {
    bookings
        .iter()
        .map(|b| {
            bookings
                .iter()
                .filter(|o| o.start <= b.start && b.start < o.end)
                .count()
        })
        .max()
        .unwrap_or(0)
}

impl SchedulingState {
    /// A new, empty state with the default policy, at this build's
    /// [`RULES_VERSION`]. (The `Default` state, what a node starts from
    /// before it has applied anything, is at version 0, so that a log
    /// written by older nodes is replayed by their rules.)
    pub fn new() -> Self {
        Self {
            rules_version: RULES_VERSION,
            ..Self::default()
        }
    }

    /// An empty state that applies the rules of `version` (at most this
    /// build's): to replay, or to test, what an older version did.
    pub fn with_rules(version: u32) -> Self {
        Self {
            rules_version: version.min(RULES_VERSION),
            ..Self::default()
        }
    }

    /// The rules version the cluster applies (a state written before
    /// versions, at 0, applies version 1).
    pub fn applied_rules(&self) -> u32 {
        self.rules_version.max(1)
    }

    /// Whether the cluster applies the rules of `version` or later.
    pub fn rules_at_least(&self, version: u32) -> bool {
        self.applied_rules() >= version
    }

    /// `Ok` if the cluster applies the rules `command` needs, else its
    /// rejection. The state machine checks it at apply; the leader checks it
    /// before proposing, so that nodes of older builds never see it.
    pub fn check_rules(&self, command: &Command) -> Result<(), Response> {
        let needed = command.rules_needed();
        if self.rules_at_least(needed) {
            return Ok(());
        }
        Err(invalid(
            "command",
            format!(
                "this command needs the rules of version {needed}; the cluster applies version {} until every node runs a build that has them",
                self.applied_rules()
            ),
        ))
    }

    /// The current version of an entity, if it exists.
    pub fn version_of(&self, entity: &EntityRef) -> Option<u64> {
        match entity {
            EntityRef::Site(id) => self.sites.get(id).map(|e| e.version),
            EntityRef::Room(id) => self.rooms.get(id).map(|e| e.version),
            EntityRef::Station(id) => self.stations.get(id).map(|e| e.version),
            EntityRef::Officer(id) => self.officers.get(id).map(|e| e.version),
            EntityRef::Team(id) => self.teams.get(id).map(|e| e.version),
            EntityRef::Case(id) => self.cases.get(id).map(|e| e.version),
        }
    }

    /// The bookings of a resource, or `None` if it is unknown.
    pub fn bookings_of(&self, resource: &ResourceRef) -> Option<&[Booking]> {
        match resource {
            ResourceRef::Room(id) => self.rooms.get(id).map(|e| e.bookings.as_slice()),
            ResourceRef::Officer(id) => self.officers.get(id).map(|e| e.bookings.as_slice()),
            ResourceRef::Team(id) => self.teams.get(id).map(|e| e.bookings.as_slice()),
        }
    }

    /// Every bookable resource (rooms, then officers, then escort teams)
    /// with its version and bookings.
    pub(crate) fn resources(&self) -> impl Iterator<Item = (ResourceRef, u64, &[Booking])> {
        let rooms = self
            .rooms
            .iter()
            .map(|(id, e)| (ResourceRef::Room(id.clone()), e.version, &e.bookings[..]));
        let officers = self
            .officers
            .iter()
            .map(|(id, e)| (ResourceRef::Officer(id.clone()), e.version, &e.bookings[..]));
        let teams = self
            .teams
            .iter()
            .map(|(id, e)| (ResourceRef::Team(id.clone()), e.version, &e.bookings[..]));
        rooms.chain(officers).chain(teams)
    }

    /// [`Self::resources`], to change.
    pub(crate) fn resources_mut(
        &mut self,
    ) -> impl Iterator<Item = (ResourceRef, &mut u64, &mut Vec<Booking>)> {
        let rooms = self.rooms.iter_mut().map(|(id, e)| {
            (
                ResourceRef::Room(id.clone()),
                &mut e.version,
                &mut e.bookings,
            )
        });
        let officers = self.officers.iter_mut().map(|(id, e)| {
            (
                ResourceRef::Officer(id.clone()),
                &mut e.version,
                &mut e.bookings,
            )
        });
        let teams = self.teams.iter_mut().map(|(id, e)| {
            (
                ResourceRef::Team(id.clone()),
                &mut e.version,
                &mut e.bookings,
            )
        });
        rooms.chain(officers).chain(teams)
    }

    fn bookings_mut(&mut self, resource: &ResourceRef) -> Option<(&mut u64, &mut Vec<Booking>)> {
        match resource {
            ResourceRef::Room(id) => self
                .rooms
                .get_mut(id)
                .map(|e| (&mut e.version, &mut e.bookings)),
            ResourceRef::Officer(id) => self
                .officers
                .get_mut(id)
                .map(|e| (&mut e.version, &mut e.bookings)),
            ResourceRef::Team(id) => self
                .teams
                .get_mut(id)
                .map(|e| (&mut e.version, &mut e.bookings)),
        }
    }

    pub(crate) fn capacity_of(&self, resource: &ResourceRef) -> usize {
        match resource {
            ResourceRef::Room(id) => self
                .rooms
                .get(id)
                .map_or(1, |e| e.value.room.capacity as usize),
            ResourceRef::Officer(_) | ResourceRef::Team(_) => 1,
        }
    }

    /// The response an earlier request with this id got, if any.
    pub fn earlier_response(&self, client_id: &str, request_id: u64) -> Option<&Response> {
        self.applied_requests.get(client_id)?.get(&request_id)
    }

    /// The log index at which the request `(client_id, request_id)` was first
    /// applied, from its audit entry.
    pub fn applied_at(&self, client_id: &str, request_id: u64) -> Option<u64> {
        self.audit
            .iter()
            .rev()
            .find(|a| a.client_id == client_id && a.request_id == request_id)
            .map(|a| a.index)
    }

    /// The audit entries from log index `index` on, in log order (shared
    /// with the state, not copied).
    pub fn audit_from(&self, index: u64) -> Vector<AuditEntry> {
        let start = self
            .audit
            .binary_search_by(|a| {
                if a.index < index {
                    std::cmp::Ordering::Less
                } else {
                    std::cmp::Ordering::Greater
                }
            })
            .unwrap_or_else(|i| i);
        self.audit.skip(start)
    }

    /// Apply one request at log index `index`. Deterministic and all-or-nothing.
    ///
    /// A request whose `(client_id, request_id)` was applied before gets the
    /// earlier response back, whatever its command, and changes nothing. A
    /// request without a client id or an actor is rejected without being
    /// recorded for deduplication.
    pub fn apply(&mut self, index: u64, request: &Request) -> Response {
        if let Some(earlier) = self.earlier_response(&request.client_id, request.request_id) {
            return earlier.clone();
        }
        for (field, value) in [("client_id", &request.client_id), ("actor", &request.actor)] {
            if value.trim().is_empty() {
                return invalid(field, "must not be empty");
            }
        }
        let response = match self.execute(index, request) {
            Ok(versions) => Response::Applied { versions },
            Err(rejected) => rejected,
        };
        let mut entry = AuditEntry {
            index,
            time: request.time,
            actor: request.actor.clone(),
            site: request.site.clone(),
            client_id: request.client_id.clone(),
            request_id: request.request_id,
            summary: request.command.summary(),
            reason: if self.rules_at_least(5) {
                request.command.reason().map(str::to_string)
            } else {
                None
            },
            hash: String::new(),
            rejected: match &response {
                Response::Applied { .. } => None,
                Response::Rejected { reason, .. } => Some(reason.clone()),
            },
        };
        if self.rules_at_least(3) {
            entry.hash = crate::audit::entry_hash(&self.audit_head(), &entry);
        }
        self.audit.push_back(entry);
        self.applied_requests
            .entry(request.client_id.clone())
            .or_default()
            .insert(request.request_id, response.clone());
        response
    }

    /// Validate, then change. Every check happens before the first change.
    fn execute(&mut self, index: u64, request: &Request) -> Outcome {
        self.check_rules(&request.command)?;
        let now = request.time;
        match &request.command {
            Command::UpsertSite(site) => self.upsert_site(site),
            Command::UpsertStation(station) => {
                let old = self.stations.get(&station.id);
                let v = next_version(old.map(|e| e.version));
                let inactive_since = old.and_then(|e| e.inactive_since);
                self.stations.insert(
                    station.id.clone(),
                    Versioned {
                        version: v,
                        value: station.clone(),
                        inactive_since,
                    },
                );
                Ok(vec![(EntityRef::Station(station.id.clone()), v)])
            }
            Command::UpsertOfficer(officer) => {
                match &officer.post {
                    Post::Site(s) if !self.sites.contains_key(s) => {
                        return Err(unknown(EntityRef::Site(s.clone())));
                    }
                    Post::Station(s) if !self.stations.contains_key(s) => {
                        return Err(unknown(EntityRef::Station(s.clone())));
                    }
                    _ => {}
                }
                let entry = self
                    .officers
                    .entry(officer.id.clone())
                    .or_insert(Bookable::new(officer.clone()));
                entry.version += 1;
                entry.value = officer.clone();
                Ok(vec![(
                    EntityRef::Officer(officer.id.clone()),
                    entry.version,
                )])
            }
            Command::UpsertTeam(team) => {
                let mut conflicts = Vec::new();
                if !self.sites.contains_key(&team.site) {
                    conflicts.push(Conflict::Unknown {
                        entity: EntityRef::Site(team.site.clone()),
                    });
                }
                for m in &team.members {
                    if !self.officers.contains_key(m) {
                        conflicts.push(Conflict::Unknown {
                            entity: EntityRef::Officer(m.clone()),
                        });
                    }
                }
                reject_if(conflicts, "the escort team names unknown entities")?;
                let entry = self
                    .teams
                    .entry(team.id.clone())
                    .or_insert(Bookable::new(team.clone()));
                entry.version += 1;
                entry.value = team.clone();
                Ok(vec![(EntityRef::Team(team.id.clone()), entry.version)])
            }
            Command::SetPolicy(policy) => {
                self.policy = policy.clone();
                Ok(Vec::new())
            }
            Command::SetRulesVersion(version) => {
                if *version > RULES_VERSION {
                    return Err(invalid(
                        "version",
                        format!("{version} is newer than this node's rules ({RULES_VERSION})"),
                    ));
                }
                if *version < self.rules_version {
                    return Err(invalid(
                        "version",
                        format!(
                            "{version} is older than the cluster's rules ({})",
                            self.rules_version
                        ),
                    ));
                }
                self.rules_version = *version;
                Ok(Vec::new())
            }
            Command::UpsertUser(user) => self.upsert_user(user).map(|()| Vec::new()),
            Command::RemoveUser { name } => self.remove_user(name).map(|()| Vec::new()),
            Command::RecordLogin { name, succeeded } => self
                .record_login(name, *succeeded, now)
                .map(|()| Vec::new()),
            Command::SetSecurityPolicy(p) => self.set_security_policy(p).map(|()| Vec::new()),
            Command::SetTokenKey { key } => self.set_token_key(key).map(|()| Vec::new()),
            Command::SubmitCase(case) => self.submit_case(case, BTreeMap::new(), now),
            Command::SubmitCaseWithParticulars { case, particulars } => {
                self.check_person_records(case, particulars)?;
                self.submit_case(case, particulars.clone(), now)
            }
            Command::PurgeParticulars { exited_before } => self.purge_particulars(*exited_before),
            Command::Archive { before } => self.archive(index, *before),
            Command::AlertSweep {
                raised,
                resolved,
                escalated,
            } => self.apply_sweep(raised, resolved, escalated, now),
            Command::AcknowledgeAlert { key } => self.acknowledge(key, &request.actor, now),
            Command::CommitPlan {
                bookings,
                expected_versions,
            }
            | Command::OverridePlan {
                bookings,
                expected_versions,
                ..
            } => {
                if self.rules_at_least(6) {
                    return Err(invalid(
                        "command",
                        "plans are committed with AcceptPlan, which checks every rule, since rules version 6",
                    ));
                }
                self.commit_plan(bookings, expected_versions)
            }
            Command::SetRegion(r) => self.set_region(r),
            Command::AddAbsence { resource, absence } => self.add_absence(resource, absence, now),
            Command::RemoveAbsence { resource, start } => self.remove_absence(resource, *start),
            Command::SetActive { resource, active } => self.set_active(resource, *active, now),
            Command::AcceptPlan {
                plans,
                now,
                region_version,
                expected_versions,
                exceptions,
                ..
            } => self.accept_plan(plans, *now, *region_version, expected_versions, exceptions),
            Command::RequestException { case, kind, reason } => {
                self.request_exception(index, case, kind, reason, &request.actor, now)
            }
            Command::DecideException { id, approve, note } => {
                self.decide_exception(*id, *approve, note, &request.actor, now)
            }
            Command::StartStep { case, person, step } => {
                let entry = self.open_case_mut(case)?;
                let Some(progress) = entry.value.progress.get_mut(person) else {
                    return Err(invalid(
                        "person",
                        format!("{person} is not a person of case {case}"),
                    ));
                };
                if let Some((current, _)) = progress.current {
                    return Err(invalid(
                        "step",
                        format!("{person} is still in {current}; complete it first"),
                    ));
                }
                if progress.completed.iter().any(|(s, _, _)| s == step) {
                    return Err(invalid(
                        "step",
                        format!("{person} has already completed {step}"),
                    ));
                }
                progress.current = Some((*step, now));
                entry.value.status = CaseStatus::InProgress;
                entry.version += 1;
                Ok(vec![(EntityRef::Case(case.clone()), entry.version)])
            }
            Command::CompleteStep { case, person, step } => {
                let entry = self.open_case_mut(case)?;
                let Some(progress) = entry.value.progress.get_mut(person) else {
                    return Err(invalid(
                        "person",
                        format!("{person} is not a person of case {case}"),
                    ));
                };
                match progress.current {
                    Some((current, started)) if current == *step => {
                        progress.current = None;
                        progress.completed.push((*step, started, now));
                    }
                    Some((current, _)) => {
                        return Err(invalid(
                            "step",
                            format!("{person} is in {current}, not in {step}"),
                        ));
                    }
                    None => {
                        return Err(invalid("step", format!("{person} has not started {step}")));
                    }
                }
                entry.version += 1;
                let mut changed = vec![(EntityRef::Case(case.clone()), entry.version)];
                if !self.rules_at_least(2) {
                    return Ok(changed);
                }
                // The rooms and officers booked for this step of this person
                // free up now: a step done early frees them early. An
                // officer with a later booking of the case (an escorting
                // questioner who drives the persons back) stays booked: the
                // gap would count them back at their post while they wait.
                let this_step = |b: &Booking| {
                    b.case == *case && b.person.as_ref() == Some(person) && b.step == Some(*step)
                };
                for (id, e) in self.rooms.iter_mut() {
                    if release_where(&mut e.bookings, now, this_step) {
                        e.version += 1;
                        changed.push((EntityRef::Room(id.clone()), e.version));
                    }
                }
                for (id, e) in self.officers.iter_mut() {
                    let step_end = e
                        .bookings
                        .iter()
                        .filter(|b| this_step(b))
                        .map(|b| b.end)
                        .max();
                    let goes_on = step_end.is_some_and(|end| {
                        e.bookings
                            .iter()
                            .any(|b| b.case == *case && !this_step(b) && b.start >= end)
                    });
                    if !goes_on && release_where(&mut e.bookings, now, this_step) {
                        e.version += 1;
                        changed.push((EntityRef::Officer(id.clone()), e.version));
                    }
                }
                Ok(changed)
            }
            Command::ReleaseRooms { case, rooms } => {
                self.open_case_mut(case)?;
                let conflicts: Vec<Conflict> = rooms
                    .iter()
                    .filter(|r| !self.rooms.contains_key(*r))
                    .map(|r| Conflict::Unknown {
                        entity: EntityRef::Room(r.clone()),
                    })
                    .collect();
                reject_if(conflicts, "unknown rooms")?;
                let mut changed = Vec::new();
                for (id, entry) in self.rooms.iter_mut() {
                    if (rooms.is_empty() || rooms.contains(id))
                        && release(&mut entry.bookings, case, now)
                    {
                        entry.version += 1;
                        changed.push((EntityRef::Room(id.clone()), entry.version));
                    }
                }
                let entry = self.open_case_mut(case)?;
                if entry.value.plan_broken.take().is_some() {
                    entry.version += 1;
                    changed.push((EntityRef::Case(case.clone()), entry.version));
                }
                Ok(changed)
            }
            Command::ReportDelay { .. } => self.report_delay(index, request),
            Command::ExitCase { case, disposition } => {
                self.open_case_mut(case)?;
                let mut changed = Vec::new();
                for (resource, version, bookings) in self.resources_mut() {
                    if release(bookings, case, now) {
                        *version += 1;
                        changed.push((resource.entity(), *version));
                    }
                }
                let v4 = self.rules_at_least(4);
                let entry = self.open_case_mut(case)?;
                entry.value.status = CaseStatus::Exited;
                if v4 {
                    entry.value.exited_at = Some(now);
                }
                entry.value.disposition = *disposition;
                entry.version += 1;
                changed.push((EntityRef::Case(case.clone()), entry.version));
                Ok(changed)
            }
        }
    }

    /// A new case, with its persons' records (empty when it came without
    /// particulars).
    fn submit_case(
        &mut self,
        case: &Case,
        person_records: BTreeMap<PersonId, PersonRecord>,
        now: DateTime<Utc>,
    ) -> Outcome {
        if self.cases.contains_key(&case.id) {
            return Err(invalid(
                "case.id",
                format!("case {} was already submitted", case.id),
            ));
        }
        let Some(origin) = self.stations.get(&case.origin) else {
            return Err(unknown(EntityRef::Station(case.origin.clone())));
        };
        if let Some(since) = origin.inactive_since {
            return Err(invalid(
                "case.origin",
                format!("station {} is out of service since {since}", case.origin),
            ));
        }
        let progress = case
            .persons
            .iter()
            .map(|p| (p.id.clone(), PersonProgress::default()))
            .collect();
        self.cases.insert(
            case.id.clone(),
            Versioned {
                version: 1,
                inactive_since: None,
                value: CaseEntry {
                    case: case.clone(),
                    status: CaseStatus::Submitted,
                    submitted_at: now,
                    progress,
                    delays: Vec::new(),
                    plan_broken: None,
                    person_records,
                    exited_at: None,
                    disposition: None,
                },
            },
        );
        Ok(vec![(EntityRef::Case(case.id.clone()), 1)])
    }

    /// A known case that has not exited.
    pub(crate) fn open_case_mut(
        &mut self,
        case: &CaseId,
    ) -> Result<&mut Versioned<CaseEntry>, Response> {
        match self.cases.get_mut(case) {
            None => Err(unknown(EntityRef::Case(case.clone()))),
            Some(e) if e.value.status == CaseStatus::Exited => {
                Err(invalid("case", format!("case {case} has exited")))
            }
            Some(e) => Ok(e),
        }
    }

    fn upsert_site(&mut self, site: &Site) -> Outcome {
        let mut conflicts = Vec::new();
        for room in &site.rooms {
            if let Some(e) = self.rooms.get(&room.id)
                && e.value.site != site.id
            {
                conflicts.push(Conflict::Invalid {
                    field: format!("rooms.{}", room.id),
                    reason: format!("room {} belongs to site {}", room.id, e.value.site),
                });
            }
        }
        // A room's capacity may not fall below what it already holds at once.
        for room in &site.rooms {
            if let Some(e) = self.rooms.get(&room.id) {
                let held = peak(&e.bookings);
                if held > room.capacity as usize {
                    conflicts.push(Conflict::Invalid {
                        field: format!("rooms.{}.capacity", room.id),
                        reason: format!(
                            "room {} holds {held} persons at once in its bookings; capacity {} is too small",
                            room.id, room.capacity
                        ),
                    });
                }
            }
        }
        // Rooms removed from the site must have no bookings.
        for (id, e) in &self.rooms {
            if e.value.site == site.id
                && !site.rooms.iter().any(|r| &r.id == id)
                && let Some(b) = e.bookings.first()
            {
                conflicts.push(Conflict::Overlap {
                    resource: ResourceRef::Room(id.clone()),
                    case: b.case.clone(),
                    start: b.start,
                    end: b.end,
                });
            }
        }
        reject_if(conflicts, "the site update conflicts with rooms in use")?;

        let mut changed = Vec::new();
        let old = self.sites.get(&site.id);
        let v = next_version(old.map(|e| e.version));
        let inactive_since = old.and_then(|e| e.inactive_since);
        self.sites.insert(
            site.id.clone(),
            Versioned {
                version: v,
                value: site.clone(),
                inactive_since,
            },
        );
        changed.push((EntityRef::Site(site.id.clone()), v));
        self.rooms
            .retain(|id, e| e.value.site != site.id || site.rooms.iter().any(|r| &r.id == id));
        for room in &site.rooms {
            let entry = self
                .rooms
                .entry(room.id.clone())
                .or_insert(Bookable::new(RoomEntry {
                    site: site.id.clone(),
                    room: room.clone(),
                }));
            if entry.version == 0 || entry.value.room != *room {
                entry.version += 1;
                entry.value.room = room.clone();
                changed.push((EntityRef::Room(room.id.clone()), entry.version));
            }
        }
        Ok(changed)
    }

    fn commit_plan(
        &mut self,
        bookings: &[PlannedBooking],
        expected_versions: &[(EntityRef, u64)],
    ) -> Outcome {
        if bookings.is_empty() {
            return Err(invalid("bookings", "a plan books at least one resource"));
        }
        self.check_versions(expected_versions)?;
        self.check_plan(bookings)?;
        let mut changed = self.book(bookings);
        let mut cases: Vec<&CaseId> = bookings.iter().map(|b| &b.booking.case).collect();
        cases.sort();
        cases.dedup();
        for case in cases {
            if let Some(v) = self.mark_planned(case) {
                changed.push((EntityRef::Case(case.clone()), v));
            }
        }
        Ok(changed)
    }

    /// Add checked bookings to their resources; the new versions of the
    /// resources. Only after [`Self::check_plan`] passed.
    pub(crate) fn book(&mut self, bookings: &[PlannedBooking]) -> Vec<(EntityRef, u64)> {
        let by_resource = by_resource(bookings);
        let mut changed = Vec::new();
        for (resource, new) in by_resource {
            let (version, list) = self
                .bookings_mut(resource)
                .expect("checked before: the resource exists");
            list.extend(new.into_iter().cloned());
            list.sort_by_key(|b| (b.start, b.end));
            *version += 1;
            changed.push((resource.entity(), *version));
        }
        changed
    }
}
