//! The node's archive: what [`crate::Command::Archive`] moved out of the
//! live state ([`crate::archive`]), in the column family [`CF_ARCHIVE`],
//! which snapshots do not carry.
//!
//! Keys: `a` + log index (8 bytes, big-endian) + position among all
//! archived entries (8 bytes) for an audit entry, so that a scan in key
//! order is a scan in log order; `c` + the case id for an archived case.
//! Values are JSON. The items are written with the same keys whenever the
//! archive command is applied again (after a restart, openraft re-applies
//! the log after the last snapshot), so a write is idempotent.

use std::ops::ControlFlow;
use std::sync::Arc;

use openraft::ErrorSubject;
use rocksdb::{DB, Direction, IteratorMode, WriteBatch};

use super::{SError, cf, encode, synced, write_io};
use crate::archive::{Archived, ArchivedCase};
use crate::state::AuditEntry;

/// The archive's column family.
pub const CF_ARCHIVE: &str = "archive";

const AUDIT: u8 = b'a';
const CASE: u8 = b'c';

fn audit_key(index: u64, seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(17);
    k.push(AUDIT);
    k.extend_from_slice(&index.to_be_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn case_key(id: &str) -> Vec<u8> {
    let mut k = vec![CASE];
    k.extend_from_slice(id.as_bytes());
    k
}

/// Write what left the live state, in one synced batch.
pub(super) fn write(db: &DB, items: &[Archived]) -> Result<(), SError> {
    let subject = ErrorSubject::StateMachine;
    let archive = cf(db, CF_ARCHIVE);
    let mut batch = WriteBatch::default();
    for item in items {
        match item {
            Archived::Audit { seq, entry } => {
                batch.put_cf(
                    archive,
                    audit_key(entry.index, *seq),
                    encode(entry, subject.clone())?,
                );
            }
            Archived::Case(case) => {
                batch.put_cf(
                    archive,
                    case_key(case.entry.value.case.id.as_str()),
                    encode(case, subject.clone())?,
                );
            }
        }
    }
    db.write_opt(batch, &synced())
        .map_err(|e| write_io(subject, e))
}

/// A value in the archive that could not be read.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the archive: {0}")]
pub struct ArchiveError(String);

/// Reads the node's archive. Cloning shares the database.
#[derive(Debug, Clone)]
pub struct ArchiveReader {
    pub(super) db: Arc<DB>,
}

impl ArchiveReader {
    fn scan(
        &self,
        from: &[u8],
        direction: Direction,
        prefix: u8,
        mut visit: impl FnMut(&[u8], &[u8]) -> Result<ControlFlow<()>, ArchiveError>,
    ) -> Result<(), ArchiveError> {
        let it = self.db.iterator_cf(
            cf(&self.db, CF_ARCHIVE),
            IteratorMode::From(from, direction),
        );
        for item in it {
            let (k, v) = item.map_err(|e| ArchiveError(e.to_string()))?;
            if k.first() != Some(&prefix) {
                break;
            }
            if visit(&k, &v)?.is_break() {
                break;
            }
        }
        Ok(())
    }

    fn audit_entry(key: &[u8], value: &[u8]) -> Result<AuditEntry, ArchiveError> {
        serde_json::from_slice(value)
            .map_err(|e| ArchiveError(format!("corrupt audit entry at key {key:?}: {e}")))
    }

    /// Visit the archived audit entries from log index `from` on, in log
    /// order, until `visit` breaks.
    pub fn audit_from(
        &self,
        from: u64,
        mut visit: impl FnMut(AuditEntry) -> ControlFlow<()>,
    ) -> Result<(), ArchiveError> {
        self.scan(&audit_key(from, 0), Direction::Forward, AUDIT, |k, v| {
            Ok(visit(Self::audit_entry(k, v)?))
        })
    }

    /// Visit the archived audit entries at log index `from` or later, the
    /// newest first, until `visit` breaks.
    pub fn audit_newest_first(
        &self,
        from: u64,
        mut visit: impl FnMut(AuditEntry) -> ControlFlow<()>,
    ) -> Result<(), ArchiveError> {
        self.scan(
            &audit_key(u64::MAX, u64::MAX),
            Direction::Reverse,
            AUDIT,
            |k, v| {
                let entry = Self::audit_entry(k, v)?;
                if entry.index < from {
                    return Ok(ControlFlow::Break(()));
                }
                Ok(visit(entry))
            },
        )
    }

    /// An archived case.
    pub fn case(&self, id: &str) -> Result<Option<ArchivedCase>, ArchiveError> {
        let value = self
            .db
            .get_cf(cf(&self.db, CF_ARCHIVE), case_key(id))
            .map_err(|e| ArchiveError(e.to_string()))?;
        value
            .map(|v| {
                serde_json::from_slice(&v)
                    .map_err(|e| ArchiveError(format!("corrupt archived case {id:?}: {e}")))
            })
            .transpose()
    }

    /// Visit every archived case, by id, until `visit` breaks.
    pub fn cases(
        &self,
        mut visit: impl FnMut(ArchivedCase) -> ControlFlow<()>,
    ) -> Result<(), ArchiveError> {
        self.scan(&[CASE], Direction::Forward, CASE, |k, v| {
            let case = serde_json::from_slice(v)
                .map_err(|e| ArchiveError(format!("corrupt archived case at key {k:?}: {e}")))?;
            Ok(visit(case))
        })
    }
}

/// What [`ArchiveReader::verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Archived audit entries on this node.
    pub archived: u64,
    /// Hashed entries verified, archived and live.
    pub hashed: usize,
    /// Whether this node's archive holds every entry the state says was
    /// archived. A node that joined, or caught up, from a snapshot holds
    /// only what was archived after it; its archive is not checked, only
    /// the live audit against the last archived hash the state keeps.
    pub complete: bool,
}

/// Why a chain did not verify.
#[derive(Debug, Clone, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Broken(#[from] crate::audit::AuditBreak),
    #[error(transparent)]
    Unreadable(#[from] ArchiveError),
}

impl ArchiveReader {
    /// Check the whole audit chain of `state` on this node: the archived
    /// entries, in log order, then the live ones after them.
    pub fn verify(&self, state: &crate::SchedulingState) -> Result<ChainReport, VerifyError> {
        let mark = state.archived.clone().unwrap_or_default();
        let mut count = 0u64;
        let mut check = crate::audit::ChainCheck::after(None);
        let mut broken = None;
        self.audit_from(0, |e| {
            count += 1;
            if broken.is_none()
                && let Err(b) = check.push(&e)
            {
                broken = Some(b);
            }
            ControlFlow::Continue(())
        })?;
        let complete = count >= mark.audit_entries;
        if complete {
            if let Some(b) = broken {
                return Err(b.into());
            }
            if check.head().unwrap_or("") != mark.head {
                return Err(crate::audit::AuditBreak {
                    index: mark.through_index,
                    reason:
                        "the archive's last entry is not the one the state says was archived last \
                             (archived entries were removed or added)"
                            .into(),
                }
                .into());
            }
        } else {
            check = crate::audit::ChainCheck::default();
        }
        let mut live = crate::audit::ChainCheck::after(Some(mark.head.clone()));
        for e in &state.audit {
            live.push(e)?;
        }
        Ok(ChainReport {
            archived: count,
            hashed: check.hashed() + live.hashed(),
            complete,
        })
    }
}
