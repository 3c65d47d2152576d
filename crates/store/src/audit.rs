//! The audit trail's hash chain (rules version 3): each entry carries the
//! SHA-256 of its own content and of the entry before it, so an entry
//! edited, inserted or removed anywhere before the last is found by
//! [`SchedulingState::verify_audit`] (`casehub audit verify`).
//!
//! An entry's hash is SHA-256 over the hash of the entry before it (empty
//! for the first hashed entry) and the entry's JSON without its own hash.
//! Entries applied before rules version 3 carry no hash; the chain starts
//! at the first entry that has one.

use crate::state::{AuditEntry, SchedulingState};

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditBreak {
    /// The log index of the first entry that does not verify.
    pub index: u64,
    pub reason: String,
}

impl std::fmt::Display for AuditBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "audit entry at log index {}: {}",
            self.index, self.reason
        )
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The hash of `entry` (its own `hash` field left out) after `prev`.
pub fn entry_hash(prev: &str, entry: &AuditEntry) -> String {
    let mut unhashed = entry.clone();
    unhashed.hash = String::new();
    let json = serde_json::to_vec(&unhashed).expect("an audit entry encodes as JSON");
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(prev.as_bytes());
    ctx.update(b"\n");
    ctx.update(&json);
    hex(ctx.finish().as_ref())
}

impl SchedulingState {
    /// The hash the next audit entry chains to: the last entry's.
    pub(crate) fn audit_head(&self) -> String {
        self.audit
            .last()
            .map(|e| e.hash.clone())
            .unwrap_or_default()
    }

    /// Check the audit's hash chain: the number of hashed entries, or the
    /// first entry that does not verify (edited, or an entry before it
    /// inserted or removed).
    pub fn verify_audit(&self) -> Result<usize, AuditBreak> {
        let mut prev: Option<&str> = None;
        let mut hashed = 0;
        let mut last_index = 0;
        for e in &self.audit {
            if e.index < last_index {
                return Err(AuditBreak {
                    index: e.index,
                    reason: format!("out of log order (after index {last_index})"),
                });
            }
            last_index = e.index;
            if e.hash.is_empty() {
                if prev.is_some() {
                    return Err(AuditBreak {
                        index: e.index,
                        reason: "no hash after hashed entries".into(),
                    });
                }
                continue;
            }
            let expected = entry_hash(prev.unwrap_or(""), e);
            if expected != e.hash {
                return Err(AuditBreak {
                    index: e.index,
                    reason: "its hash does not match its content and the entry before it \
                             (it, or an entry before it, was changed, inserted or removed)"
                        .into(),
                });
            }
            prev = Some(&e.hash);
            hashed += 1;
        }
        Ok(hashed)
    }
}
