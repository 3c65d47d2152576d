//! State that stays bounded (rules version 7).
//!
//! Without it, every request's audit entry and deduplication entry, and
//! every case that ever exited, would stay in the replicated state, in
//! every copy of it readers take and in every snapshot, for ever.
//! [`Command::Archive`](crate::Command::Archive), proposed by the leader
//! once a day's worth of it is older than the security policy's
//! `archive_after_days`, moves out of the live state:
//!
//! - the audit entries applied before the cut-off (a prefix of the audit,
//!   in log order), and with each its deduplication entry: a request older
//!   than that is not retried;
//! - the cases that exited before the cut-off and whose bookings all ended
//!   by then, with those bookings and the case's exceptions. Their sealed
//!   particulars are not archived (the particulars' own retention is never
//!   longer than the archive's, see [`crate::SecurityPolicy::check`]): the
//!   archive holds pseudonyms only.
//!
//! Every node applies the command alike, so the live state stays one
//! state. What leaves it is handed, as [`Archived`] items, to the node's
//! storage ([`crate::rocks`]), which writes them to an archive column
//! family that snapshots do not carry: a snapshot holds the live state
//! only, and stays the size of the retention period, not of the cluster's
//! age. The audit keeps one chain across both: the live audit's first
//! entry chains to the last archived one, whose hash the state keeps in
//! its [`ArchiveMark`].
//!
//! Bookings that ended before the cut-off are removed without a new
//! version of their resource: no check reads a booking that ended before
//! the plan's own time, so no plan computed before the archive is refused
//! by it.

use std::collections::BTreeMap;

use casehub_model::CaseId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::exceptions::ExceptionRecord;
use crate::state::{
    AuditEntry, CaseEntry, CaseStatus, Outcome, PlannedBooking, SchedulingState, Versioned,
};

/// What has left the live state so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArchiveMark {
    /// The latest cut-off archived by.
    pub before: DateTime<Utc>,
    /// The log index of the last audit entry archived (0: none yet).
    pub through_index: u64,
    /// The hash of the last audit entry archived: the live audit's first
    /// entry chains to it.
    pub head: String,
    /// Audit entries archived in all.
    pub audit_entries: u64,
    /// Cases archived in all.
    pub cases: u64,
    /// Deduplication entries dropped in all.
    pub dedup_entries: u64,
}

/// One thing moved out of the live state, for the node's archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Archived {
    /// An audit entry and its position among all archived entries (0 for
    /// the first ever archived): entries of one log index keep their order.
    Audit {
        seq: u64,
        entry: AuditEntry,
    },
    Case(ArchivedCase),
}

/// An exited case as it left the live state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchivedCase {
    pub entry: Versioned<CaseEntry>,
    /// Its bookings, as they were.
    pub bookings: Vec<PlannedBooking>,
    /// The exceptions asked for it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<ExceptionRecord>,
    /// The log index of the [`crate::Command::Archive`] that moved it.
    pub archived_at_index: u64,
}

impl SchedulingState {
    /// Whether anything would leave the live state with the cut-off
    /// `before` (what the leader asks before proposing an archive).
    pub fn to_archive(&self, before: DateTime<Utc>) -> bool {
        self.audit.front().is_some_and(|e| e.time < before)
            || !self.archivable_cases(before).is_empty()
    }

    /// The cases that exited before `before` and whose bookings all ended
    /// by then.
    fn archivable_cases(&self, before: DateTime<Utc>) -> Vec<CaseId> {
        let mut last_end: BTreeMap<&CaseId, DateTime<Utc>> = BTreeMap::new();
        for (_, _, bookings) in self.resources() {
            for b in bookings {
                let end = last_end.entry(&b.case).or_insert(b.end);
                *end = (*end).max(b.end);
            }
        }
        self.cases
            .iter()
            .filter(|(id, e)| {
                e.value.status == CaseStatus::Exited
                    && e.value.exited_at.is_some_and(|t| t < before)
                    && last_end.get(id).is_none_or(|end| *end <= before)
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Move what ended before `before` out of the live state (see the
    /// module docs), at log index `index`.
    pub(crate) fn archive(&mut self, index: u64, before: DateTime<Utc>) -> Outcome {
        let mut mark = self.archived.clone().unwrap_or_default();
        mark.before = mark.before.max(before);

        // The audit's prefix, and the deduplication entries of its requests.
        while self.audit.front().is_some_and(|e| e.time < before) {
            let Some(entry) = self.audit.pop_front() else {
                break;
            };
            if let Some(requests) = self.applied_requests.get_mut(&entry.client_id)
                && requests.remove(&entry.request_id).is_some()
            {
                mark.dedup_entries += 1;
                if requests.is_empty() {
                    self.applied_requests.remove(&entry.client_id);
                }
            }
            mark.through_index = entry.index;
            if !entry.hash.is_empty() {
                mark.head = entry.hash.clone();
            }
            self.outbox.push(Archived::Audit {
                seq: mark.audit_entries,
                entry,
            });
            mark.audit_entries += 1;
        }

        // The cases, with their bookings and exceptions.
        let ids = self.archivable_cases(before);
        let mut bookings: BTreeMap<CaseId, Vec<PlannedBooking>> = BTreeMap::new();
        if !ids.is_empty() {
            for (resource, _, list) in self.resources_mut() {
                list.retain(|b| {
                    if ids.binary_search(&b.case).is_err() {
                        return true;
                    }
                    bookings
                        .entry(b.case.clone())
                        .or_default()
                        .push(PlannedBooking {
                            resource: resource.clone(),
                            booking: b.clone(),
                        });
                    false
                });
            }
        }
        for id in ids {
            let Some(mut entry) = self.cases.remove(&id) else {
                continue;
            };
            for record in entry.value.person_records.values_mut() {
                record.sealed = None;
            }
            let exceptions: Vec<u64> = self
                .exceptions
                .iter()
                .filter(|(_, e)| e.case == id)
                .map(|(k, _)| *k)
                .collect();
            let exceptions = exceptions
                .into_iter()
                .filter_map(|k| self.exceptions.remove(&k))
                .collect();
            self.outbox.push(Archived::Case(ArchivedCase {
                bookings: bookings.remove(&id).unwrap_or_default(),
                entry,
                exceptions,
                archived_at_index: index,
            }));
            mark.cases += 1;
        }
        self.archived = Some(mark);
        Ok(Vec::new())
    }

    /// What left the live state since the last call, in the order it left:
    /// the storage writes it to the node's archive.
    pub fn take_archived(&mut self) -> Vec<Archived> {
        std::mem::take(&mut self.outbox)
    }
}
