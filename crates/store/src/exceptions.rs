//! Exceptions, supervised (rules version 6). The policy names the
//! situations in which a rule may bend for one case
//! ([`casehub_model::ExceptionType`]; only rules that
//! [`Rule::may_bend`]: legal limits never do). A dispatcher asks for one
//! with a reason ([`Command::RequestException`](crate::Command::RequestException)),
//! a supervisor other than the one who asked approves or refuses it
//! ([`Command::DecideException`](crate::Command::DecideException)), and an
//! approved exception lets one plan of that case break that rule once
//! ([`Command::AcceptPlan`](crate::Command::AcceptPlan)'s `exceptions`).
//! The reason, the approver and the use all go into the audit.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use casehub_model::{CaseId, Rule};
use casehub_planning::Violation;

use crate::state::{
    CaseStatus, EntityRef, MAX_REASON_CHARS, Outcome, Response, SchedulingState, invalid, unknown,
};

/// A supervisor's decision on an exception.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub approved: bool,
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// One exception asked for: which case, which type of the policy and so
/// which rule, why, who asked, what a supervisor decided, and when a plan
/// used it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionRecord {
    /// The log index of the request: the exception's id.
    pub id: u64,
    pub case: CaseId,
    /// The exception type's name in the policy.
    pub kind: String,
    pub rule: Rule,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// When a committed plan used it (an exception is used once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<DateTime<Utc>>,
}

impl ExceptionRecord {
    /// Approved and not used yet.
    pub fn usable(&self) -> bool {
        self.used_at.is_none() && self.decision.as_ref().is_some_and(|d| d.approved)
    }
}

/// Every exception, by id.
pub type Exceptions = BTreeMap<u64, ExceptionRecord>;

fn reason_ok(field: &str, text: &str, required: bool) -> Result<(), Response> {
    if required && text.trim().is_empty() {
        return Err(invalid(field, "required"));
    }
    if text.chars().count() > MAX_REASON_CHARS || text.chars().any(char::is_control) {
        return Err(invalid(
            field,
            format!("at most {MAX_REASON_CHARS} characters, no control characters"),
        ));
    }
    Ok(())
}

impl SchedulingState {
    /// [`Command::RequestException`](crate::Command::RequestException) at
    /// log index `id`.
    pub(crate) fn request_exception(
        &mut self,
        id: u64,
        case: &CaseId,
        kind: &str,
        reason: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Outcome {
        match self.cases.get(case) {
            None => return Err(unknown(EntityRef::Case(case.clone()))),
            Some(e) if e.value.status == CaseStatus::Exited => {
                return Err(invalid("case", format!("case {case} has exited")));
            }
            Some(_) => {}
        }
        let Some(t) = self.policy.exceptions.iter().find(|t| t.name == kind) else {
            let names: Vec<&str> = self
                .policy
                .exceptions
                .iter()
                .map(|t| t.name.as_str())
                .collect();
            return Err(invalid(
                "kind",
                format!(
                    "{kind} is not an exception type of the policy ({})",
                    names.join(", ")
                ),
            ));
        };
        reason_ok("reason", reason, true)?;
        let rule = t.rule;
        self.exceptions.insert(
            id,
            ExceptionRecord {
                id,
                case: case.clone(),
                kind: kind.to_string(),
                rule,
                reason: reason.to_string(),
                requested_by: actor.to_string(),
                requested_at: now,
                decision: None,
                used_at: None,
            },
        );
        Ok(Vec::new())
    }

    /// [`Command::DecideException`](crate::Command::DecideException).
    pub(crate) fn decide_exception(
        &mut self,
        id: u64,
        approve: bool,
        note: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Outcome {
        reason_ok("note", note, false)?;
        let Some(e) = self.exceptions.get_mut(&id) else {
            return Err(invalid("id", format!("no exception {id}")));
        };
        if let Some(d) = &e.decision {
            return Err(invalid(
                "id",
                format!(
                    "exception {id} was already {} by {}",
                    if d.approved { "approved" } else { "refused" },
                    d.by
                ),
            ));
        }
        if e.requested_by == actor {
            return Err(invalid(
                "id",
                format!("exception {id} was asked for by {actor}: another supervisor decides"),
            ));
        }
        e.decision = Some(Decision {
            approved: approve,
            by: actor.to_string(),
            at: now,
            note: note.to_string(),
        });
        Ok(Vec::new())
    }

    /// The exceptions `ids` a plan of `cases` may use: each approved, not
    /// used, and for one of those cases.
    pub fn check_exceptions(&self, ids: &[u64], cases: &[CaseId]) -> Result<(), Response> {
        for (i, id) in ids.iter().enumerate() {
            let field = format!("exceptions[{i}]");
            let Some(e) = self.exceptions.get(id) else {
                return Err(invalid(field, format!("no exception {id}")));
            };
            if !e.usable() {
                let why = match (&e.decision, e.used_at) {
                    (_, Some(at)) => format!("was used at {at}"),
                    (None, _) => "waits for a supervisor's decision".to_string(),
                    (Some(d), _) => format!("was refused by {}", d.by),
                };
                return Err(invalid(field, format!("exception {id} {why}")));
            }
            if !cases.contains(&e.case) {
                return Err(invalid(
                    field,
                    format!("exception {id} is for case {}, not in the plan", e.case),
                ));
            }
        }
        Ok(())
    }

    /// `found` without the violations the exceptions `ids` waive: those of
    /// the exception's rule in the exception's case.
    pub fn waive(&self, found: Vec<Violation>, ids: &[u64]) -> Vec<Violation> {
        let waived: Vec<(Rule, &CaseId)> = ids
            .iter()
            .filter_map(|id| self.exceptions.get(id))
            .filter(|e| e.usable())
            .map(|e| (e.rule, &e.case))
            .collect();
        found
            .into_iter()
            .filter(|v| {
                !v.case
                    .as_ref()
                    .is_some_and(|c| waived.contains(&(v.rule, c)))
            })
            .collect()
    }

    /// The exceptions `ids` are used now.
    pub(crate) fn use_exceptions(&mut self, ids: &[u64], now: DateTime<Utc>) {
        for id in ids {
            if let Some(e) = self.exceptions.get_mut(id) {
                e.used_at = Some(now);
            }
        }
    }
}
