//! Cases with their persons' particulars: taking them in (sealed, with
//! pseudonyms) and showing them (`GetCase`, `ListCases`) to the roles that
//! need them, within the caller's site scope ([`crate::scope`]).
//!
//! Which roles see particulars is [`Permission::ReadParticulars`] in the
//! one authorization table ([`crate::auth::grants`]); this module only
//! asks it.

use std::collections::{BTreeMap, BTreeSet};

use casehub_model::{Case, CaseId, PersonId, Step};
use casehub_store::state::{CaseEntry, CaseStatus};
use casehub_store::{Command, PersonRecord, SchedulingState};
use chrono::{DateTime, Utc};
use tonic::{Request as GrpcRequest, Response as GrpcResponse, Status};

use crate::auth::{Caller, Permission};
use crate::grpc_api::{Api, invalid, ts};
use crate::particulars::{self, Particulars};
use crate::proto;

/// A case's timeline: each person's steps, booked (its room booking) or
/// done (its progress), in time order.
pub(crate) fn timeline(state: &SchedulingState, entry: &CaseEntry) -> Vec<proto::CaseStep> {
    type Key = (PersonId, Step);
    struct Row {
        room: Option<(String, DateTime<Utc>, DateTime<Utc>)>,
        started: Option<DateTime<Utc>>,
        completed: Option<DateTime<Utc>>,
    }
    let id = &entry.case.id;
    let mut rows: BTreeMap<Key, Row> = BTreeMap::new();
    let blank = || Row {
        room: None,
        started: None,
        completed: None,
    };
    for (room_id, room) in &state.rooms {
        for b in room.bookings.iter().filter(|b| &b.case == id) {
            if let (Some(p), Some(step)) = (&b.person, b.step) {
                let row = rows.entry((p.clone(), step)).or_insert_with(blank);
                // The earliest booking of the step (a re-plan may add one).
                if row.room.as_ref().is_none_or(|r| b.start < r.1) {
                    row.room = Some((room_id.to_string(), b.start, b.end));
                }
            }
        }
    }
    for (p, progress) in &entry.progress {
        for &(step, start, end) in &progress.completed {
            let row = rows.entry((p.clone(), step)).or_insert_with(blank);
            row.started = Some(start);
            row.completed = Some(end);
        }
        if let Some((step, start)) = progress.current {
            let row = rows.entry((p.clone(), step)).or_insert_with(blank);
            row.started = Some(start);
        }
    }
    let mut out: Vec<(DateTime<Utc>, proto::CaseStep)> = rows
        .into_iter()
        .map(|((person, step), row)| {
            let when = row
                .started
                .or(row.room.as_ref().map(|r| r.1))
                .unwrap_or(entry.submitted_at);
            let state = if row.completed.is_some() {
                "done"
            } else if row.started.is_some() {
                "under_way"
            } else {
                "booked"
            };
            (
                when,
                proto::CaseStep {
                    person_id: person.to_string(),
                    step: step.as_str().into(),
                    room_id: row.room.as_ref().map(|r| r.0.clone()).unwrap_or_default(),
                    planned_start: row.room.as_ref().map(|r| ts(r.1)),
                    planned_end: row.room.as_ref().map(|r| ts(r.2)),
                    started_at: row.started.map(ts),
                    completed_at: row.completed.map(ts),
                    state: state.into(),
                },
            )
        })
        .collect();
    out.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1.person_id.cmp(&b.1.person_id))
    });
    out.into_iter().map(|(_, s)| s).collect()
}

/// The most cases one `ListCases` answer holds.
pub const MAX_LIST: usize = 1000;

/// The particulars given for the persons of `c` (those with a name or an
/// identity number), checked.
pub(crate) fn given(
    field: &str,
    c: &proto::Case,
) -> Result<BTreeMap<PersonId, Particulars>, Status> {
    let mut out = BTreeMap::new();
    for (i, p) in c.persons.iter().enumerate() {
        if p.name.is_empty() && p.id_number.is_empty() {
            continue;
        }
        let f = format!("{field}.persons[{i}]");
        if !p.pseudonym.is_empty() {
            return Err(invalid(
                &format!("{f}.pseudonym"),
                &p.pseudonym,
                "set by the node, not the client",
            ));
        }
        let particulars = Particulars {
            name: p.name.clone(),
            id_number: p.id_number.clone(),
        };
        particulars::check(&f, &particulars).map_err(|(field, reason)| {
            let value = if field.ends_with("id_number") {
                &p.id_number
            } else {
                &p.name
            };
            invalid(&field, value, reason)
        })?;
        let id = casehub_model::PersonId::new(p.person_id.clone())
            .map_err(|e| invalid(&format!("{f}.person_id"), &p.person_id, e.reason))?;
        out.insert(id, particulars);
    }
    Ok(out)
}

impl Api {
    /// The command that submits `case`: with pseudonyms for every person
    /// and the given particulars sealed, once the cluster applies rules
    /// version 4; before that, without (and particulars are refused).
    pub(crate) fn submit_command(
        &self,
        case: Case,
        given: BTreeMap<PersonId, Particulars>,
    ) -> Result<Command, Status> {
        let state = self.core.view.current();
        if !state.state.rules_at_least(4) {
            if !given.is_empty() {
                return Err(Status::failed_precondition(format!(
                    "case.persons: the cluster applies rules version {}, and particulars need 4 (a member runs an older build)",
                    state.state.applied_rules()
                )));
            }
            return Ok(Command::SubmitCase(case));
        }
        let keys = match (&self.keys, given.is_empty()) {
            (Some(k), _) => Some(k.current()),
            (None, true) => None,
            (None, false) => {
                return Err(Status::failed_precondition(
                    "case.persons: this node has no particulars key (the particulars_key setting), so it cannot take names or identity numbers",
                ));
            }
        };
        let rng = ring::rand::SystemRandom::new();
        let mut used = BTreeSet::new();
        let mut records = BTreeMap::new();
        for p in &case.persons {
            let pseudonym = loop {
                let candidate = particulars::pseudonym(&rng);
                if used.insert(candidate.clone()) {
                    break candidate;
                }
            };
            let sealed = given
                .get(&p.id)
                .zip(keys.as_ref())
                .map(|(clear, k)| k.seal(&case.id, &p.id, clear));
            records.insert(p.id.clone(), PersonRecord { pseudonym, sealed });
        }
        Ok(Command::SubmitCaseWithParticulars {
            case,
            particulars: records,
        })
    }

    /// A case as `caller` may see it, with its sites
    /// ([`crate::scope::case_sites`]).
    fn case_record(
        &self,
        caller: &Caller,
        entry: &CaseEntry,
        sites: BTreeSet<casehub_model::SiteId>,
    ) -> proto::CaseRecord {
        let shown = caller.may(Permission::ReadParticulars);
        let keys = self.keys.as_ref().map(|k| k.current());
        let sealed_any = entry.person_records.values().any(|r| r.sealed.is_some());
        let mut outcome = if entry.person_records.is_empty() {
            "none"
        } else if !sealed_any {
            if entry.status == CaseStatus::Exited {
                "purged"
            } else {
                "none"
            }
        } else if shown {
            "shown"
        } else {
            "withheld"
        };
        let c = &entry.case;
        let mut persons = Vec::new();
        for p in &c.persons {
            let record = entry.person_records.get(&p.id);
            let mut out = proto::Person {
                pseudonym: record.map(|r| r.pseudonym.clone()).unwrap_or_default(),
                ..crate::convert::person_to_proto(p)
            };
            if let (true, Some(sealed)) = (shown, record.and_then(|r| r.sealed.as_ref())) {
                match keys.as_ref().map(|k| k.open(&c.id, &p.id, sealed)) {
                    Some(Ok(clear)) => {
                        out.name = clear.name;
                        out.id_number = clear.id_number;
                    }
                    Some(Err(e)) => {
                        tracing::warn!(case = %c.id, person = %p.id, error = %e, "particulars do not open");
                        outcome = "unavailable";
                    }
                    None => outcome = "unavailable",
                }
            }
            persons.push(out);
        }
        proto::CaseRecord {
            case: Some(proto::Case {
                case_id: c.id.to_string(),
                origin_station_id: c.origin.to_string(),
                clock_started_at: Some(ts(c.clock_started_at)),
                category: c.category.to_string(),
                persons,
            }),
            status: match entry.status {
                CaseStatus::Submitted => "submitted",
                CaseStatus::Planned => "planned",
                CaseStatus::InProgress => "in_progress",
                CaseStatus::Exited => "exited",
            }
            .into(),
            submitted_at: Some(ts(entry.submitted_at)),
            exited_at: entry.exited_at.map(ts),
            particulars: outcome.into(),
            site_ids: sites.into_iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn reader() -> Result<Caller, Status> {
        crate::auth::caller().ok_or_else(|| Status::unauthenticated("a case read needs a user"))
    }

    pub(crate) async fn get_case_impl(
        &self,
        request: GrpcRequest<proto::GetCaseRequest>,
    ) -> Result<GrpcResponse<proto::CaseRecord>, Status> {
        let caller = Self::reader()?;
        let r = request.into_inner();
        let id =
            CaseId::new(r.case_id.clone()).map_err(|e| invalid("case_id", &r.case_id, e.reason))?;
        let read = self.core.read_local();
        let state = read.state();
        let limit = crate::scope::limit(&caller, Permission::ReadCases);
        let sites = crate::scope::case_sites(state, self.ctx.travel(state), &id);
        let entry = state
            .cases
            .get(&id)
            .filter(|_| crate::scope::allows(limit, &sites))
            .ok_or_else(|| Status::not_found(format!("case_id: no case {id}")))?;
        let mut record = self.case_record(&caller, &entry.value, sites);
        record.steps = timeline(state, &entry.value);
        record.delays = entry
            .value
            .delays
            .iter()
            .map(|d| proto::CaseDelay {
                reported_at: Some(ts(d.reported_at)),
                minutes: d.minutes,
                team_id: d.team.as_ref().map(|t| t.to_string()).unwrap_or_default(),
                reason: d.reason.clone(),
            })
            .collect();
        record.disposition = entry
            .value
            .disposition
            .map(|d| d.as_str().to_string())
            .unwrap_or_default();
        record.plan_broken = entry
            .value
            .plan_broken
            .as_ref()
            .map(|b| b.reason.clone())
            .unwrap_or_default();
        Ok(GrpcResponse::new(record))
    }

    pub(crate) async fn list_cases_impl(
        &self,
        request: GrpcRequest<proto::ListCasesRequest>,
    ) -> Result<GrpcResponse<proto::ListCasesReply>, Status> {
        let caller = Self::reader()?;
        let r = request.into_inner();
        let limit_n = match r.limit {
            0 => MAX_LIST,
            n if n as usize <= MAX_LIST => n as usize,
            n => return Err(invalid("limit", n, format!("at most {MAX_LIST}"))),
        };
        let read = self.core.read_local();
        let state = read.state();
        let scope = crate::scope::limit(&caller, Permission::ReadCases);
        // Every case's sites found in one pass: for the scope, then the answer.
        let mut all_sites = crate::scope::sites_by_case(state, self.ctx.travel(state));
        let mut entries: Vec<(&CaseEntry, BTreeSet<casehub_model::SiteId>)> = state
            .cases
            .iter()
            .filter(|(_, e)| r.include_exited || e.value.status != CaseStatus::Exited)
            .map(|(id, e)| (&e.value, all_sites.remove(id).unwrap_or_default()))
            .filter(|(_, sites)| crate::scope::allows(scope, sites))
            .collect();
        entries.sort_by(|(a, _), (b, _)| {
            b.submitted_at
                .cmp(&a.submitted_at)
                .then_with(|| a.case.id.cmp(&b.case.id))
        });
        let cases = entries
            .into_iter()
            .take(limit_n)
            .map(|(e, sites)| self.case_record(&caller, e, sites))
            .collect();
        Ok(GrpcResponse::new(proto::ListCasesReply { cases }))
    }
}
