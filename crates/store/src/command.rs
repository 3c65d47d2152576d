//! The commands the state machine applies, with what each needs and how
//! the audit summarises it.

use std::collections::BTreeMap;

use casehub_model::{
    Case, CaseId, Disposition, EscortTeam, Officer, PersonId, Policy, RoomId, Site, Station, Step,
    TeamId,
};
use casehub_planning::CasePlan;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::absence::Absence;
use crate::alert_records::Raised;
use crate::particulars::PersonRecord;
use crate::plan_view::plan_bookings;
use crate::region::RegionStatic;
use crate::users::{SecurityPolicy, User};

use crate::state::*;

/// Keys in one line: "none", or "a, b".
fn keys_of<'a>(keys: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = keys.collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// How the audit summary of an override begins.
pub const OVERRIDE_SUMMARY: &str = "override plan:";

/// "N bookings for case(s) A, B": a plan's bookings in one line.
fn bookings_summary(bookings: &[PlannedBooking]) -> String {
    let mut cases: Vec<&str> = bookings.iter().map(|b| b.booking.case.as_str()).collect();
    cases.sort_unstable();
    cases.dedup();
    format!(
        "{} bookings for case(s) {}",
        bookings.len(),
        cases.join(", ")
    )
}

/// A command, validated and applied by the state machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Register or update a site with its rooms. A room may not move to
    /// another site, and a room with bookings may not be removed.
    UpsertSite(Site),
    UpsertStation(Station),
    /// The officer's site or station must be known.
    UpsertOfficer(Officer),
    /// The team's site and every member must be known.
    UpsertTeam(EscortTeam),
    SetPolicy(Policy),
    /// A new case; its id must be new and its origin station known.
    SubmitCase(Case),
    /// A new case as [`Command::SubmitCase`], with its persons' pseudonyms
    /// and sealed particulars (rules version 4).
    SubmitCaseWithParticulars {
        case: Case,
        particulars: BTreeMap<PersonId, PersonRecord>,
    },
    /// Drop the sealed particulars of the cases that exited at or before
    /// `exited_before` (proposed by the leader after the retention period).
    PurgeParticulars {
        exited_before: DateTime<Utc>,
    },
    /// Move what ended before `before` out of the live state, to each
    /// node's archive (rules version 7; proposed by the leader after the
    /// security policy's `archive_after_days`; see [`crate::archive`]).
    Archive {
        before: DateTime<Utc>,
    },
    /// Book resources for cases, all or nothing. `expected_versions` are the
    /// versions the plan was computed against; any difference rejects it.
    CommitPlan {
        bookings: Vec<PlannedBooking>,
        #[serde(default)]
        expected_versions: Vec<(EntityRef, u64)>,
    },
    /// A plan the dispatcher changed from the engine's proposal (an
    /// override): checked and committed as [`Command::CommitPlan`], with the
    /// dispatcher's reason in the audit (rules version 5).
    OverridePlan {
        bookings: Vec<PlannedBooking>,
        #[serde(default)]
        expected_versions: Vec<(EntityRef, u64)>,
        reason: String,
    },
    /// The region's static parts (rules version 6): the next
    /// [`RegionVersion`]. The travel table covers every site and station
    /// the state knows.
    SetRegion(Box<RegionStatic>),
    /// A plan's cases, checked by the planner's validator against every
    /// rule of the catalogue on the state as it is at this index, then
    /// booked ([`crate::plan_view::plan_bookings`]). All or nothing; the
    /// versions and the region version must match (rules version 6).
    AcceptPlan {
        plans: Vec<CasePlan>,
        /// The moment the plan is checked for: the accepting node's clock.
        now: DateTime<Utc>,
        /// The [`RegionVersion`] the plan was made from.
        region_version: u64,
        #[serde(default)]
        expected_versions: Vec<(EntityRef, u64)>,
        /// Set when the dispatcher changed the engine's proposal (an
        /// override): the reason, kept in the audit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// Approved exceptions the plan uses: each lets its case break its
        /// rule, once.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        exceptions: Vec<u64>,
    },
    /// Ask for an exception of the policy's type `kind` for `case`, with a
    /// reason; its id is the request's log index (rules version 6).
    RequestException {
        case: CaseId,
        kind: String,
        reason: String,
    },
    /// A supervisor, not the one who asked, approves or refuses an
    /// exception (rules version 6).
    DecideException {
        id: u64,
        approve: bool,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
    },
    /// A window in which a room, officer or escort team cannot be booked
    /// (rules version 6). Accepted plans that used it go back to
    /// re-planning, or are marked broken if under way.
    AddAbsence {
        resource: ResourceRef,
        absence: Absence,
    },
    /// Drop the absence of `resource` that starts at `start` (rules
    /// version 6).
    RemoveAbsence {
        resource: ResourceRef,
        start: DateTime<Utc>,
    },
    /// Take a room, officer or escort team out of service from the
    /// request's time, or back into it (rules version 6); or a site (its
    /// rooms, escort teams and officers with it) or a station (no case is
    /// taken from it) (rules version 7). Nothing is deleted; accepted plans
    /// that need it from then on are treated as by [`Command::AddAbsence`].
    SetActive {
        resource: EntityRef,
        active: bool,
    },
    StartStep {
        case: CaseId,
        person: PersonId,
        step: Step,
    },
    /// The step is done: the rooms and officers booked for this step of
    /// this person free up from the request's time (early, if it is done
    /// early), except officers with a later booking of the case.
    CompleteStep {
        case: CaseId,
        person: PersonId,
        step: Step,
    },
    /// Release the case's rooms from the request's time on: bookings under
    /// way end then, later ones are dropped. An empty list releases all its rooms.
    ReleaseRooms {
        case: CaseId,
        #[serde(default)]
        rooms: Vec<RoomId>,
    },
    /// The case leaves: every booking of it is released and it is closed.
    ExitCase {
        case: CaseId,
        /// What happens to the persons next (rules version 5).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disposition: Option<Disposition>,
    },
    /// The escort of a planned case runs `minutes` late (1 to 720): the
    /// team named, or the case's escort as a whole. `picked_up` says the
    /// escort already has the persons aboard (the case has left its
    /// station). The delay is a fact and is always recorded; what it does
    /// to the plans is decided by the state machine (see [`DelayOutcome`]):
    /// the rest of the case's plan slips by the delay, and the accepted
    /// plans of cases that have not begun and collide with the slip are
    /// returned to re-planning. Every other accepted plan stays as it is.
    ReportDelay {
        case: CaseId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        team: Option<TeamId>,
        minutes: u32,
        #[serde(default)]
        picked_up: bool,
        #[serde(default)]
        reason: String,
    },
    /// The leader's alert sweep (see [`crate::alert_records`]): raise,
    /// resolve and escalate alerts at the request's time. Reserved for the
    /// nodes.
    AlertSweep {
        #[serde(default)]
        raised: Vec<Raised>,
        #[serde(default)]
        resolved: Vec<String>,
        #[serde(default)]
        escalated: Vec<String>,
    },
    /// A user acknowledges an open alert (the request's actor and time).
    AcknowledgeAlert {
        key: String,
    },
    /// Apply the rules of `version` from now on (see [`RULES_VERSION`]):
    /// proposed by the leader once every member runs a build that has them.
    /// Never lowers the version, and never raises it above this build's.
    SetRulesVersion(u32),
    /// Add or change a user (name, roles, site scope, password hash).
    UpsertUser(User),
    /// Remove a user.
    RemoveUser {
        name: String,
    },
    /// A login attempt's outcome: failures in a row lock the account.
    RecordLogin {
        name: String,
        succeeded: bool,
    },
    /// Replace the security policy (lockout, token lifetime).
    SetSecurityPolicy(SecurityPolicy),
    /// The key login tokens are signed with; only the first one is kept.
    SetTokenKey {
        key: Vec<u8>,
    },
}

/// The years a booking may start and end in (rules version 2): time
/// arithmetic on them (delays, alert lead times) can never overflow.
pub const BOOKING_TIMES: (i32, i32) = (1900, 9999);

/// The longest delay one report may declare, in minutes.
pub const MAX_DELAY_MIN: u32 = 720;
/// The longest reason a delay report may give, in characters.
pub const MAX_REASON_CHARS: usize = 500;

impl Command {
    /// The rules version a cluster must apply before this command may be
    /// proposed: nodes of older builds cannot read it. (`SetRulesVersion`
    /// is its own gate: the leader proposes it once every member has it.)
    pub fn rules_needed(&self) -> u32 {
        match self {
            Command::ReportDelay { .. } => 2,
            Command::UpsertUser(_)
            | Command::RemoveUser { .. }
            | Command::RecordLogin { .. }
            | Command::SetSecurityPolicy(_)
            | Command::SetTokenKey { .. } => 3,
            Command::SubmitCaseWithParticulars { .. } | Command::PurgeParticulars { .. } => 4,
            Command::ExitCase {
                disposition: Some(_),
                ..
            }
            | Command::OverridePlan { .. }
            | Command::AlertSweep { .. }
            | Command::AcknowledgeAlert { .. } => 5,
            Command::Archive { .. }
            | Command::SetActive {
                resource: EntityRef::Site(_) | EntityRef::Station(_),
                ..
            } => 7,
            Command::SetRegion(_)
            | Command::AcceptPlan { .. }
            | Command::AddAbsence { .. }
            | Command::RemoveAbsence { .. }
            | Command::SetActive { .. }
            | Command::RequestException { .. }
            | Command::DecideException { .. } => 6,
            _ => 1,
        }
    }

    /// The reason the actor gave with the command, if it carries one.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Command::OverridePlan { reason, .. } => Some(reason),
            Command::AcceptPlan {
                reason: Some(reason),
                ..
            } => Some(reason),
            Command::RequestException { reason, .. } => Some(reason),
            Command::DecideException { note, .. } if !note.is_empty() => Some(note),
            Command::ReportDelay { reason, .. } if !reason.is_empty() => Some(reason),
            _ => None,
        }
    }

    /// A one-line summary for the audit log.
    pub fn summary(&self) -> String {
        match self {
            Command::UpsertSite(s) => format!("upsert site {} ({} rooms)", s.id, s.rooms.len()),
            Command::UpsertStation(s) => format!("upsert station {}", s.id),
            Command::UpsertOfficer(o) => format!("upsert officer {}", o.id),
            Command::UpsertTeam(t) => format!("upsert escort team {}", t.id),
            Command::SetPolicy(_) => "set policy".to_string(),
            Command::SubmitCase(c) => {
                format!("submit case {} ({} persons)", c.id, c.persons.len())
            }
            Command::SubmitCaseWithParticulars { case, particulars } => {
                let names: Vec<String> = particulars
                    .iter()
                    .map(|(p, r)| format!("{p} {}", r.pseudonym))
                    .collect();
                format!(
                    "submit case {} ({} persons; particulars sealed: {})",
                    case.id,
                    case.persons.len(),
                    names.join(", ")
                )
            }
            Command::PurgeParticulars { exited_before } => format!(
                "purge the particulars of the cases exited by {}",
                exited_before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            Command::Archive { before } => format!(
                "archive what ended before {}",
                before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            Command::CommitPlan { bookings, .. } => {
                format!("commit plan: {}", bookings_summary(bookings))
            }
            Command::OverridePlan {
                bookings, reason, ..
            } => format!(
                "{OVERRIDE_SUMMARY} {} (reason: {reason})",
                bookings_summary(bookings)
            ),
            Command::AddAbsence { resource, absence } => format!(
                "{} away ({}) from {} to {}{}",
                resource.entity(),
                absence.kind,
                absence
                    .start
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                absence
                    .end
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                if absence.note.is_empty() {
                    String::new()
                } else {
                    format!(": {}", absence.note)
                }
            ),
            Command::RemoveAbsence { resource, start } => format!(
                "{} no longer away from {}",
                resource.entity(),
                start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            Command::SetActive {
                resource,
                active: true,
            } => format!("{resource} back in service"),
            Command::SetActive {
                resource,
                active: false,
            } => format!("{resource} out of service"),
            Command::SetRegion(r) => format!(
                "set region {} ({} shifts, travel from {})",
                r.info.name,
                r.shifts.len(),
                r.table.source()
            ),
            Command::AcceptPlan {
                plans,
                reason,
                exceptions,
                ..
            } => {
                let bookings: Vec<PlannedBooking> = plans.iter().flat_map(plan_bookings).collect();
                let with = if exceptions.is_empty() {
                    String::new()
                } else {
                    let ids: Vec<String> = exceptions.iter().map(u64::to_string).collect();
                    format!(" with exceptions {}", ids.join(", "))
                };
                match reason {
                    Some(reason) => format!(
                        "{OVERRIDE_SUMMARY} {}{with} (reason: {reason})",
                        bookings_summary(&bookings)
                    ),
                    None => format!("commit plan: {}{with}", bookings_summary(&bookings)),
                }
            }
            Command::RequestException { case, kind, reason } => {
                format!("request exception {kind} for case {case} (reason: {reason})")
            }
            Command::DecideException { id, approve, .. } => format!(
                "{} exception {id}",
                if *approve { "approve" } else { "refuse" }
            ),
            Command::AlertSweep {
                raised,
                resolved,
                escalated,
            } => format!(
                "alerts: raised {}, resolved {}, escalated {}",
                keys_of(raised.iter().map(|r| r.key.as_str())),
                keys_of(resolved.iter().map(String::as_str)),
                keys_of(escalated.iter().map(String::as_str))
            ),
            Command::AcknowledgeAlert { key } => format!("acknowledge alert {key}"),
            Command::StartStep { case, person, step } => {
                format!("start {step} of {person} in case {case}")
            }
            Command::CompleteStep { case, person, step } => {
                format!("complete {step} of {person} in case {case}")
            }
            Command::ReleaseRooms { case, rooms } if rooms.is_empty() => {
                format!("release all rooms of case {case}")
            }
            Command::ReleaseRooms { case, rooms } => {
                let rooms: Vec<&str> = rooms.iter().map(|r| r.as_str()).collect();
                format!("release rooms {} of case {case}", rooms.join(", "))
            }
            Command::ExitCase {
                case,
                disposition: None,
            } => format!("exit case {case}"),
            Command::ExitCase {
                case,
                disposition: Some(d),
            } => format!("exit case {case} ({d})"),
            Command::SetRulesVersion(v) => format!("apply the rules of version {v}"),
            Command::UpsertUser(u) => {
                let roles: Vec<&str> = u.roles.iter().map(|r| r.name()).collect();
                let sites: Vec<&str> = u.sites.iter().map(|s| s.as_str()).collect();
                format!(
                    "upsert user {} (roles {}; sites {}{}{})",
                    u.name,
                    if roles.is_empty() {
                        "none".into()
                    } else {
                        roles.join(", ")
                    },
                    if sites.is_empty() {
                        "none".into()
                    } else {
                        sites.join(", ")
                    },
                    if u.password_hash.is_some() {
                        "; password set"
                    } else {
                        ""
                    },
                    if u.disabled { "; disabled" } else { "" },
                )
            }
            Command::RemoveUser { name } => format!("remove user {name}"),
            Command::RecordLogin {
                name,
                succeeded: true,
            } => format!("login of {name}"),
            Command::RecordLogin {
                name,
                succeeded: false,
            } => {
                format!("failed login of {name}")
            }
            Command::SetSecurityPolicy(p) => format!(
                "set security policy: lock after {} failed logins for {} min, tokens last {} min, {} calls/s per user (bursts of {}), particulars kept {} days after exit",
                p.lock_after_failures,
                p.lock_minutes,
                p.token_minutes,
                p.requests_per_second,
                p.request_burst,
                p.particulars_retention_days
            ),
            Command::SetTokenKey { .. } => "set the login token key".to_string(),
            Command::ReportDelay {
                case,
                team,
                minutes,
                picked_up,
                reason,
            } => format!(
                "escort of case {case}{}{} {minutes} min late{}",
                team.as_ref()
                    .map(|t| format!(" (escort team {t})"))
                    .unwrap_or_default(),
                if *picked_up {
                    " with the persons aboard"
                } else {
                    ""
                },
                if reason.is_empty() {
                    String::new()
                } else {
                    format!(": {reason}")
                }
            ),
        }
    }
}
