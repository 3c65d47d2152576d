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

impl std::error::Error for AuditBreak {}

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

/// Checks a run of audit entries, in log order, one at a time: the
/// archived entries (see [`crate::archive`]) and then the live ones form
/// one chain.
#[derive(Debug, Clone, Default)]
pub struct ChainCheck {
    prev: Option<String>,
    hashed: usize,
    last_index: u64,
}

impl ChainCheck {
    /// A check of a chain whose entry before the first is `prev`'s hash
    /// (`None`: the first entry starts the chain).
    pub fn after(prev: Option<String>) -> Self {
        ChainCheck {
            prev: prev.filter(|h| !h.is_empty()),
            ..Default::default()
        }
    }

    /// The hashed entries checked so far.
    pub fn hashed(&self) -> usize {
        self.hashed
    }

    /// The hash of the last hashed entry checked (or of the one before the
    /// first, if none was).
    pub fn head(&self) -> Option<&str> {
        self.prev.as_deref()
    }

    /// Check the next entry.
    pub fn push(&mut self, e: &AuditEntry) -> Result<(), AuditBreak> {
        if e.index < self.last_index {
            return Err(AuditBreak {
                index: e.index,
                reason: format!("out of log order (after index {})", self.last_index),
            });
        }
        self.last_index = e.index;
        if e.hash.is_empty() {
            if self.prev.is_some() {
                return Err(AuditBreak {
                    index: e.index,
                    reason: "no hash after hashed entries".into(),
                });
            }
            return Ok(());
        }
        let expected = entry_hash(self.prev.as_deref().unwrap_or(""), e);
        if expected != e.hash {
            return Err(AuditBreak {
                index: e.index,
                reason: "its hash does not match its content and the entry before it \
                         (it, or an entry before it, was changed, inserted or removed)"
                    .into(),
            });
        }
        self.prev = Some(e.hash.clone());
        self.hashed += 1;
        Ok(())
    }
}

impl SchedulingState {
    /// The hash the next audit entry chains to: the last entry's, or the
    /// last archived entry's when every live one was archived.
    pub(crate) fn audit_head(&self) -> String {
        match self.audit.last() {
            Some(e) => e.hash.clone(),
            None => self
                .archived
                .as_ref()
                .map(|m| m.head.clone())
                .unwrap_or_default(),
        }
    }

    /// Check the live audit's hash chain, from the last archived entry's
    /// hash (see [`crate::archive`]): the number of hashed entries, or the
    /// first entry that does not verify (edited, or an entry before it
    /// inserted or removed).
    pub fn verify_audit(&self) -> Result<usize, AuditBreak> {
        let mut check = ChainCheck::after(self.archived.as_ref().map(|m| m.head.clone()));
        for e in &self.audit {
            check.push(e)?;
        }
        Ok(check.hashed())
    }
}
