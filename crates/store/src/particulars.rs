//! The particulars of the persons brought in (name, identity number),
//! as the replicated state keeps them: sealed (rules version 4).
//!
//! The node that takes a case in seals each person's particulars with the
//! cluster's particulars key (AES-256-GCM, outside this crate) and gives
//! each person a random pseudonym. The state machine stores the sealed
//! bytes as they came: the log, the state machine and the snapshots hold
//! ciphertext only, and nothing here can open it. The audit names persons
//! by pseudonym.
//!
//! After the retention period of the security policy, the leader proposes
//! [`crate::Command::PurgeParticulars`]: the sealed particulars of cases
//! that exited before then are dropped from the live state; the pseudonyms
//! stay.

use std::collections::BTreeMap;

use casehub_model::{CaseId, PersonId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::state::{CaseStatus, EntityRef, Response, SchedulingState, invalid};

/// One person's particulars, sealed: AES-256-GCM under the key `key_id`
/// of the cluster's particulars key file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// Which key of the key file sealed it.
    pub key_id: String,
    /// The 96-bit nonce, hex.
    pub nonce: String,
    /// The ciphertext with its tag, hex.
    pub ciphertext: String,
}

/// A person's record beside the case: the pseudonym the audit and the
/// roles without a need for personal data see, and the sealed particulars
/// until the retention period purges them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRecord {
    /// `人员-` and eight hex digits, random, unique within the case.
    pub pseudonym: String,
    /// `None` once purged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<Sealed>,
}

/// The longest sealed particulars accepted, in hex characters of ciphertext.
pub const MAX_SEALED_HEX: usize = 2048;

/// Check a pseudonym: `人员-` and eight lowercase hex digits.
pub fn check_pseudonym(p: &str) -> Result<(), String> {
    let ok = p
        .strip_prefix("人员-")
        .is_some_and(|h| h.len() == 8 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{p:?} is not a pseudonym (人员- and 8 lowercase hex digits)"
        ))
    }
}

fn is_hex(s: &str) -> bool {
    s.len().is_multiple_of(2) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl SchedulingState {
    /// Check the persons' records of a case being submitted.
    pub(crate) fn check_person_records(
        &self,
        case: &casehub_model::Case,
        records: &BTreeMap<PersonId, PersonRecord>,
    ) -> Result<(), Response> {
        let mut seen = std::collections::BTreeSet::new();
        for (person, r) in records {
            let field = format!("particulars[{person}]");
            if !case.persons.iter().any(|p| &p.id == person) {
                return Err(invalid(
                    field,
                    format!("case {} has no person {person}", case.id),
                ));
            }
            check_pseudonym(&r.pseudonym).map_err(|e| invalid(format!("{field}.pseudonym"), e))?;
            if !seen.insert(&r.pseudonym) {
                return Err(invalid(
                    format!("{field}.pseudonym"),
                    format!("{} is given to two persons", r.pseudonym),
                ));
            }
            if let Some(s) = &r.sealed {
                if s.key_id.is_empty() || s.key_id.len() > 64 {
                    return Err(invalid(format!("{field}.key_id"), "1 to 64 characters"));
                }
                if s.nonce.len() != 24 || !is_hex(&s.nonce) {
                    return Err(invalid(format!("{field}.nonce"), "24 hex digits"));
                }
                if s.ciphertext.len() < 32
                    || s.ciphertext.len() > MAX_SEALED_HEX
                    || !is_hex(&s.ciphertext)
                {
                    return Err(invalid(
                        format!("{field}.ciphertext"),
                        format!("32 to {MAX_SEALED_HEX} hex digits"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Drop the sealed particulars of every case that exited at or before
    /// `exited_before`; the pseudonyms stay.
    pub(crate) fn purge_particulars(
        &mut self,
        exited_before: DateTime<Utc>,
    ) -> Result<Vec<(EntityRef, u64)>, Response> {
        let mut changed = Vec::new();
        let ids: Vec<CaseId> = self
            .cases
            .iter()
            .filter(|(_, e)| purgeable(&e.value, exited_before))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            if let Some(entry) = self.cases.get_mut(&id) {
                for r in entry.value.person_records.values_mut() {
                    r.sealed = None;
                }
                entry.version += 1;
                changed.push((EntityRef::Case(id), entry.version));
            }
        }
        Ok(changed)
    }

    /// Whether some exited case still holds sealed particulars and exited
    /// at or before `exited_before` (what the leader asks before proposing
    /// a purge).
    pub fn particulars_to_purge(&self, exited_before: DateTime<Utc>) -> bool {
        self.cases
            .values()
            .any(|e| purgeable(&e.value, exited_before))
    }
}

fn purgeable(e: &crate::state::CaseEntry, exited_before: DateTime<Utc>) -> bool {
    e.status == CaseStatus::Exited
        && e.exited_at.is_some_and(|t| t <= exited_before)
        && e.person_records.values().any(|r| r.sealed.is_some())
}
