//! Purging the persons' particulars after the retention period, and
//! archiving what ended before the security policy's `archive_after_days`.
//!
//! Every [`CHECK`], the leader looks for cases that exited longer ago than
//! the security policy's `particulars_retention_days` and still hold sealed
//! particulars; if there are any, it proposes
//! [`Command::PurgeParticulars`] with that cut-off (under a request id made
//! of it, so that a proposal repeated by a later leader changes nothing).
//! Every node applies it alike: the sealed particulars leave the live
//! state, the pseudonyms stay, and the audit records the purge. Clients
//! cannot propose a purge ([`RETENTION_CLIENT`] is reserved, and so is the
//! command).
//!
//! Likewise, the leader proposes [`Command::Archive`] with the cut-off
//! `archive_after_days` before the start of the current UTC day, when
//! something is older than that: once a day, not at every check, so that
//! the archive moves a day's worth at a time (see `casehub_store::archive`).

use std::sync::Arc;
use std::time::Duration;

use casehub_store::{Command, Request};
use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;

use crate::forward::Core;

/// The client id of the purge proposals in the audit trail.
pub const RETENTION_CLIENT: &str = "casehub-retention";

/// The client id of the archive proposals in the audit trail.
pub const ARCHIVE_CLIENT: &str = "casehub-archive";

/// How often the leader checks.
pub const CHECK: Duration = Duration::from_secs(5);

/// Run the check on `core` until the node stops.
pub(crate) fn spawn(core: Arc<Core>, mut stopped: watch::Receiver<bool>) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stopped.wait_for(|s| *s) => return,
                _ = tokio::time::sleep(CHECK) => {}
            }
            if core.raft.metrics().borrow().current_leader == Some(core.id) {
                check(&core).await;
                archive(&core, Utc::now()).await;
            }
        }
    });
}

async fn check(core: &Core) {
    let state = core.view.current();
    if !state.state.rules_at_least(4) {
        return;
    }
    let days = i64::from(state.state.users.policy.particulars_retention_days);
    let now = Utc::now();
    // Whole seconds: the cut-off is also the request id.
    let Some(cutoff) =
        chrono::DateTime::from_timestamp((now - TimeDelta::days(days)).timestamp(), 0)
    else {
        return;
    };
    if !state.state.particulars_to_purge(cutoff) {
        return;
    }
    let command = Command::PurgeParticulars {
        exited_before: cutoff,
    };
    propose(
        core,
        RETENTION_CLIENT,
        cutoff,
        now,
        command,
        "the particulars purge",
    )
    .await;
}

/// The archive's cut-off at `now`: `days` before the start of its UTC day.
pub fn archive_cutoff(now: DateTime<Utc>, days: u32) -> Option<DateTime<Utc>> {
    let midnight = now.date_naive().and_hms_opt(0, 0, 0)?.and_utc();
    midnight.checked_sub_signed(TimeDelta::days(i64::from(days)))
}

async fn archive(core: &Core, now: DateTime<Utc>) {
    let state = core.view.current();
    if !state.state.rules_at_least(7) {
        return;
    }
    let Some(cutoff) = archive_cutoff(now, state.state.users.policy.archive_after_days) else {
        return;
    };
    if !state.state.to_archive(cutoff) {
        return;
    }
    let command = Command::Archive { before: cutoff };
    propose(core, ARCHIVE_CLIENT, cutoff, now, command, "the archive").await;
}

/// Propose `command` as the node, under a request id made of its cut-off
/// (so that a proposal repeated by a later leader changes nothing), and log
/// what came of it.
async fn propose(
    core: &Core,
    client: &str,
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
    command: Command,
    what: &str,
) {
    let request = Request {
        client_id: client.into(),
        request_id: u64::try_from(cutoff.timestamp()).unwrap_or(0),
        actor: format!("node {}", core.id),
        site: None,
        time: now,
        command,
        trace: None,
    };
    match core.write(&request).await {
        Ok(w) if w.response.is_applied() => tracing::info!(
            log_index = w.log_index,
            cutoff = %cutoff,
            "{what} applied"
        ),
        Ok(w) => tracing::warn!(response = ?w.response, "{what} was refused"),
        Err(e) => tracing::debug!(error = %e, "{what} failed; retrying"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_archive_cutoff_moves_once_a_day() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let morning = archive_cutoff(at("2026-12-08T00:00:05Z"), 90).unwrap();
        let night = archive_cutoff(at("2026-12-08T23:59:59Z"), 90).unwrap();
        assert_eq!(morning, night, "one cut-off, so one archive, a day");
        assert_eq!(morning, at("2026-09-09T00:00:00Z"));
        assert_eq!(
            archive_cutoff(at("2026-12-09T00:00:00Z"), 1).unwrap(),
            at("2026-12-08T00:00:00Z")
        );
    }
}
