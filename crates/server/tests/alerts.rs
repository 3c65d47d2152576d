//! Alerts kept and handled on a 3-node cluster over TLS: the leader
//! records a condition as an alert within seconds, a user acknowledges it
//! (their name and the time in its record), it resolves on its own when the
//! condition clears (the case exits, with its disposition), and a leader
//! change neither loses nor repeats it.

mod common;

use std::time::{Duration, Instant};

use casehub_server::proto::alert_service_client::AlertServiceClient;
use casehub_server::proto::dispatch_service_client::DispatchServiceClient;
use casehub_server::proto::{self as pb};
use tonic::Code;
use tonic::transport::Channel;

use common::api::*;

const WAIT: Duration = Duration::from_secs(30);

/// The alerts of node `id`, history included.
async fn listed(c: &Cluster, id: u64) -> Vec<pb::Alert> {
    AlertServiceClient::new(c.channel(id).await)
        .list_alerts(pb::ListAlertsRequest {
            history: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .alerts
}

/// Wait until node `id` lists alert `key` with `status`.
async fn until_status(c: &Cluster, id: u64, key: &str, status: &str) -> pb::Alert {
    let deadline = Instant::now() + WAIT;
    loop {
        let all = listed(c, id).await;
        if let Some(a) = all.iter().find(|a| a.key == key && a.status == status) {
            return a.clone();
        }
        assert!(
            Instant::now() < deadline,
            "{key} not {status} on node {id}: {all:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_alert_is_recorded_acknowledged_and_resolved_across_a_leader_change() {
    let mut c = Cluster::start().await;
    c.load_region(1).await;
    let mut dispatch: DispatchServiceClient<Channel> =
        DispatchServiceClient::new(c.channel(1).await);
    // A case whose 12-hour limit is 20 minutes away: deadline_at_risk.
    let mut case = a_case("C-LATE");
    case.clock_started_at = Some(ts(
        chrono::Utc::now() - chrono::Duration::hours(12) + chrono::Duration::minutes(20)
    ));
    dispatch
        .submit_case(pb::SubmitCaseRequest {
            meta: meta(1),
            case: Some(case),
        })
        .await
        .unwrap();
    // Keyed by the lead time reached (30 minutes).
    let key = "deadline_at_risk/C-LATE/30";
    let raised = until_status(&c, 1, key, "raised").await;
    let raised_at = raised.raised_at.expect("raised_at");

    // Acknowledge: refused for an unknown key, recorded once.
    let mut alerts = AlertServiceClient::new(c.channel(2).await);
    let unknown = alerts
        .acknowledge_alert(pb::AcknowledgeAlertRequest {
            meta: meta(2),
            key: "deadline_at_risk/NOPE".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");
    let ack = alerts
        .acknowledge_alert(pb::AcknowledgeAlertRequest {
            meta: meta(3),
            key: key.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(ack.log_index > 0);
    let twice = alerts
        .acknowledge_alert(pb::AcknowledgeAlertRequest {
            meta: meta(4),
            key: key.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::FailedPrecondition, "{twice:?}");
    assert!(twice.message().contains(OPERATOR), "{}", twice.message());
    let acked = until_status(&c, 3, key, "acknowledged").await;
    assert_eq!(acked.acknowledged_by, OPERATOR);
    assert!(acked.acknowledged_at.is_some());

    // The leader goes: the new one carries on from the records (the same
    // alert, raised once).
    let old = c.leader().await;
    let node = c.nodes.remove(&old).unwrap();
    node.shutdown().await;
    let deadline = Instant::now() + WAIT;
    let new = loop {
        let id = *c.nodes.keys().next().unwrap();
        let l = c.nodes[&id].raft().metrics().borrow().current_leader;
        if let Some(l) = l.filter(|l| *l != old) {
            break l;
        }
        assert!(Instant::now() < deadline, "no new leader");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Two sweeps of the new leader later, nothing was raised again.
    tokio::time::sleep(casehub_server::alert_monitor::CHECK * 2 + Duration::from_secs(1)).await;
    let after = listed(&c, new).await;
    let same: Vec<&pb::Alert> = after.iter().filter(|a| a.key == key).collect();
    assert_eq!(same.len(), 1, "{after:?}");
    assert_eq!(same[0].raised_at, Some(raised_at));
    assert_eq!(same[0].status, "acknowledged");

    // The case exits: the condition clears and the alert resolves, with
    // who acknowledged it kept.
    let mut dispatch = DispatchServiceClient::new(c.channel(new).await);
    dispatch
        .exit_case(pb::ExitCaseRequest {
            meta: meta(5),
            case_id: "C-LATE".into(),
            disposition: "bail".into(),
        })
        .await
        .unwrap();
    let record = dispatch
        .get_case(pb::GetCaseRequest {
            case_id: "C-LATE".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (record.status.as_str(), record.disposition.as_str()),
        ("exited", "bail")
    );
    let resolved = until_status(&c, new, key, "resolved").await;
    assert_eq!(resolved.acknowledged_by, OPERATOR);
    assert!(resolved.resolved_at.is_some());
    // Only the nodes write sweeps.
    let mut store = casehub_server::proto::dispatch_service_client::DispatchServiceClient::new(
        c.channel(new).await,
    );
    let reserved = store
        .exit_case(pb::ExitCaseRequest {
            meta: Some(pb::WriteMeta {
                client_id: casehub_server::alert_monitor::ALERTS_CLIENT.into(),
                request_id: 9,
                ..Default::default()
            }),
            case_id: "C-LATE".into(),
            disposition: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(reserved.code(), Code::InvalidArgument);
    // An unknown disposition is refused, naming the field.
    let bad = store
        .exit_case(pb::ExitCaseRequest {
            meta: meta(6),
            case_id: "C-LATE".into(),
            disposition: "escaped".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(
        bad.message().starts_with("disposition"),
        "{}",
        bad.message()
    );
    c.shutdown().await;
}
