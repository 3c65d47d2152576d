//! The leader keeps the alert records ([`casehub_store::alert_records`]).
//!
//! Every [`CHECK`], the leader computes the conditions standing now
//! ([`casehub_store::alerts::alerts`]) and compares them with the open
//! records; if anything is new, cleared or due for escalation, it proposes
//! one [`Command::AlertSweep`] (under [`ALERTS_CLIENT`], reserved for the
//! nodes). The records are replicated, so a new leader carries on from
//! them: an alert is raised once, and none is lost across a leader change.

use std::sync::Arc;
use std::time::Duration;

use casehub_store::{Command, Request};
use chrono::Utc;
use tokio::sync::watch;

use crate::forward::Core;
use crate::grpc_api::ApiContext;

/// The client id of the sweeps in the audit trail.
pub const ALERTS_CLIENT: &str = "casehub-alerts";

/// How often the leader checks.
pub const CHECK: Duration = Duration::from_secs(5);

/// Run the check on `core` until the node stops.
pub(crate) fn spawn(core: Arc<Core>, ctx: Arc<ApiContext>, mut stopped: watch::Receiver<bool>) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stopped.wait_for(|s| *s) => return,
                _ = tokio::time::sleep(CHECK) => {}
            }
            if core.raft.metrics().borrow().current_leader == Some(core.id) {
                sweep(&core, &ctx).await;
            }
        }
    });
}

/// One sweep: propose what changed, if anything did.
pub(crate) async fn sweep(core: &Core, ctx: &ApiContext) {
    let state = core.view.current();
    if !state.state.rules_at_least(5) {
        return;
    }
    let now = Utc::now();
    let standing = casehub_store::alerts::alerts(
        &state.state,
        ctx.shifts(&state.state),
        ctx.utc_offset_min(&state.state),
        now,
    );
    let sweep = state.state.alert_sweep(&standing, now);
    if sweep.is_empty() {
        return;
    }
    let request = Request {
        client_id: ALERTS_CLIENT.into(),
        // Unique per sweep: its time in microseconds.
        request_id: u64::try_from(now.timestamp_micros()).unwrap_or(1),
        actor: format!("node {}", core.id),
        site: None,
        time: now,
        command: Command::AlertSweep {
            raised: sweep.raised,
            resolved: sweep.resolved,
            escalated: sweep.escalated,
        },
        trace: None,
    };
    match core.write(&request).await {
        Ok(w) if w.response.is_applied() => {
            tracing::debug!(log_index = w.log_index, "alert sweep applied")
        }
        Ok(w) => tracing::warn!(response = ?w.response, "the alert sweep was refused"),
        Err(e) => tracing::debug!(error = %e, "the alert sweep failed; retrying"),
    }
}
