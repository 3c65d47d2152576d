//! Raising the cluster's rules version.
//!
//! Every node applies the log by the rules of the state's `rules_version`
//! (see [`casehub_store::RULES_VERSION`]). While it is below this build's,
//! the leader asks every member which rules its build applies
//! (`RaftService.RulesVersion`; a node that does not serve the rpc counts as
//! version 1), every 100 ms at first and every 3 s after ten seconds. Once
//! every member answers at least this build's version, and the members are
//! still the same, the leader proposes `SetRulesVersion` for it under one
//! fixed request id, so that a proposal repeated by a later leader changes
//! nothing. Until then the leader's `Proposer` refuses a command of newer
//! rules before it reaches the log, clients may not use the reserved client
//! id or `SetRulesVersion`, and `AddLearner` refuses a node of rules older
//! than the cluster's: nodes of an older build never meet a command or a
//! rule they would apply differently. A node that meets rules newer than
//! its build's stops (a storage error) rather than go on.

use std::sync::Arc;
use std::time::Duration;

use casehub_store::{Command, RULES_VERSION, Request};
use chrono::Utc;
use tokio::sync::watch;
use tonic::transport::Channel;

use crate::forward::Core;
use crate::proto::RulesVersionRequest;
use crate::proto::raft_service_client::RaftServiceClient;

/// The client id of the rules-version proposals in the audit trail.
pub const RULES_CLIENT: &str = "casehub-rules";

/// How often the leader checks while the cluster's rules are behind: often
/// at first, so that a new cluster applies the current rules before its
/// first requests, then every few seconds (a cluster mid-upgrade).
const FIRST_CHECKS: u32 = 100;
const EARLY: Duration = Duration::from_millis(100);
const LATER: Duration = Duration::from_secs(3);
/// How long one member may take to answer.
const ANSWER: Duration = Duration::from_secs(1);

/// Run the check on `core` until the cluster applies this build's rules or
/// the node stops.
pub(crate) fn spawn(core: Arc<Core>, mut stopped: watch::Receiver<bool>) {
    tokio::spawn(async move {
        for check in 0u32.. {
            if core.view.current().state.rules_version >= RULES_VERSION {
                return;
            }
            let leads = core.raft.metrics().borrow().current_leader == Some(core.id);
            if leads {
                // The members asked must still be the members when proposing.
                let before = members(&core);
                if lowest_member_version(&core, &before).await >= RULES_VERSION
                    && members(&core) == before
                {
                    propose(&core).await;
                }
            }
            let pause = if check < FIRST_CHECKS { EARLY } else { LATER };
            tokio::select! {
                _ = stopped.wait_for(|s| *s) => return,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    });
}

/// The lowest rules version the builds of `members` apply (this node
/// counts as this build's); see [`member_version`].
async fn lowest_member_version(core: &Core, members: &[(u64, String)]) -> u32 {
    let mut lowest = RULES_VERSION;
    for (id, addr) in members {
        if *id != core.id {
            lowest = lowest.min(version_at(core, *id, addr).await);
        }
    }
    lowest
}

/// Every member (voters and learners) with its address.
fn members(core: &Core) -> Vec<(u64, String)> {
    core.raft
        .metrics()
        .borrow()
        .membership_config
        .membership()
        .nodes()
        .map(|(id, node)| (*id, node.addr.clone()))
        .collect()
}

/// The rules version of node `id` at `addr`, over `core`'s channel to it
/// (one per node and address, kept): see [`member_version`].
pub(crate) async fn version_at(core: &Core, id: u64, addr: &str) -> u32 {
    match core.channel(id, addr) {
        Ok(channel) => member_version(channel).await,
        Err(_) => 0,
    }
}

/// The rules version of the node at the end of `channel`: 1 if it does not
/// serve the rpc (a build before versions), 0 if it cannot be reached or
/// does not answer within a second.
pub async fn member_version(channel: Channel) -> u32 {
    let mut call = tonic::Request::new(RulesVersionRequest {});
    call.set_timeout(ANSWER);
    match RaftServiceClient::new(channel).rules_version(call).await {
        Ok(reply) => reply.into_inner().version,
        Err(status) if status.code() == tonic::Code::Unimplemented => 1,
        Err(_) => 0,
    }
}

async fn propose(core: &Core) {
    let request = Request {
        client_id: RULES_CLIENT.into(),
        request_id: u64::from(RULES_VERSION),
        actor: format!("casehub node {}", core.id),
        site: None,
        time: Utc::now(),
        command: Command::SetRulesVersion(RULES_VERSION),
        trace: None,
    };
    match core.write(&request).await {
        Ok(w)
            if w.response.is_applied()
                && core.view.current().state.rules_version >= RULES_VERSION =>
        {
            tracing::info!(
                version = RULES_VERSION,
                log_index = w.log_index,
                "every member runs rules version {RULES_VERSION}: the cluster applies them from now on"
            );
        }
        Ok(w) => tracing::warn!(response = ?w.response, "raising the rules version was refused"),
        Err(e) => tracing::debug!(error = %e, "raising the rules version failed; retrying"),
    }
}
