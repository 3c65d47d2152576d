//! Purging the persons' particulars after the retention period.
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

use std::sync::Arc;
use std::time::Duration;

use casehub_store::{Command, Request};
use chrono::{TimeDelta, Utc};
use tokio::sync::watch;

use crate::forward::Core;

/// The client id of the purge proposals in the audit trail.
pub const RETENTION_CLIENT: &str = "casehub-retention";

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
    let request = Request {
        client_id: RETENTION_CLIENT.into(),
        request_id: u64::try_from(cutoff.timestamp()).unwrap_or(0),
        actor: format!("node {}", core.id),
        site: None,
        time: now,
        command: Command::PurgeParticulars {
            exited_before: cutoff,
        },
        trace: None,
    };
    match core.write(&request).await {
        Ok(w) if w.response.is_applied() => tracing::info!(
            log_index = w.log_index,
            exited_before = %cutoff,
            "purged the particulars of the cases exited {days} days ago or more"
        ),
        Ok(w) => tracing::warn!(response = ?w.response, "the particulars purge was refused"),
        Err(e) => tracing::debug!(error = %e, "the particulars purge failed; retrying"),
    }
}
