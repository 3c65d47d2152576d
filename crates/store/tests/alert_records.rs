//! Alerts kept with their lifecycle: the leader's sweep raises what is
//! new, resolves what cleared and escalates what nobody acknowledged in
//! time; a user acknowledges once; every replica applies the same.

mod common;

use casehub_model::CaseId;
use casehub_store::alerts::{Alert, AlertKind};
use casehub_store::{Command, Request, SchedulingState};
use chrono::{DateTime, Utc};
use common::*;

fn alert(key: &str) -> Alert {
    Alert {
        kind: AlertKind::DeadlineAtRisk,
        key: key.into(),
        case: Some(CaseId::new("c1").unwrap()),
        person: None,
        station: None,
        site: None,
        at: t0(),
        deadline: Some(at(30)),
        message: "the limit is near".into(),
    }
}

fn sweep_request(n: u64, s: &SchedulingState, standing: &[Alert], now: DateTime<Utc>) -> Request {
    let sweep = s.alert_sweep(standing, now);
    Request {
        client_id: "casehub-alerts".into(),
        request_id: n,
        actor: "node 1".into(),
        site: None,
        time: now,
        command: Command::AlertSweep {
            raised: sweep.raised,
            resolved: sweep.resolved,
            escalated: sweep.escalated,
        },
        trace: None,
    }
}

fn ready() -> SchedulingState {
    let mut s = SchedulingState::with_rules(5);
    for (i, c) in setup_commands().into_iter().enumerate() {
        assert!(s.apply(i as u64 + 1, &req(i as u64 + 1, c)).is_applied());
    }
    s
}

#[test]
fn an_alert_is_raised_once_acknowledged_once_escalated_and_resolved() {
    let mut s = ready();
    let standing = vec![alert("deadline_at_risk/c1"), alert("held_too_long/c1/p1")];
    // Raised at the sweep's time, once: a second sweep changes nothing.
    let r = s.apply(100, &sweep_request(100, &s, &standing, at(0)));
    assert!(r.is_applied(), "{r:?}");
    assert_eq!(s.alerts.open.len(), 2);
    assert!(s.alert_sweep(&standing, at(1)).is_empty());
    let rec = &s.alerts.open["deadline_at_risk/c1"];
    assert_eq!((rec.raised_at, rec.status()), (at(0), "raised"));

    // Acknowledged by the request's actor at its time; not twice.
    let mut ack = req(
        101,
        Command::AcknowledgeAlert {
            key: "deadline_at_risk/c1".into(),
        },
    );
    ack.time = at(3);
    assert!(s.apply(101, &ack).is_applied());
    let rec = &s.alerts.open["deadline_at_risk/c1"];
    assert_eq!(rec.status(), "acknowledged");
    let by = rec.acknowledged.as_ref().unwrap();
    assert_eq!((by.by.as_str(), by.at), ("operator-1", at(3)));
    let again = s.apply(
        102,
        &req(
            102,
            Command::AcknowledgeAlert {
                key: "deadline_at_risk/c1".into(),
            },
        ),
    );
    assert!(!again.is_applied(), "{again:?}");
    let unknown = s.apply(
        103,
        &req(103, Command::AcknowledgeAlert { key: "nope".into() }),
    );
    assert!(!unknown.is_applied());

    // Past the policy's 15 minutes, only the unacknowledged one escalates.
    assert!(s.alert_sweep(&standing, at(14)).is_empty());
    let due = s.alert_sweep(&standing, at(15));
    assert_eq!(due.escalated, vec!["held_too_long/c1/p1".to_string()]);
    assert!(
        s.apply(104, &sweep_request(104, &s, &standing, at(15)))
            .is_applied()
    );
    assert_eq!(s.alerts.open["held_too_long/c1/p1"].status(), "escalated");
    assert_eq!(
        s.alerts.open["held_too_long/c1/p1"].escalated_at,
        Some(at(15))
    );
    assert!(
        s.alert_sweep(&standing, at(30)).is_empty(),
        "escalated once"
    );

    // The condition clears: resolved, into the history.
    let left = vec![alert("held_too_long/c1/p1")];
    assert!(
        s.apply(105, &sweep_request(105, &s, &left, at(40)))
            .is_applied()
    );
    assert_eq!(s.alerts.open.len(), 1);
    let done = s.alerts.history.back().unwrap();
    assert_eq!(done.alert.key, "deadline_at_risk/c1");
    assert_eq!(
        (done.status(), done.resolved_at),
        ("resolved", Some(at(40)))
    );
    assert!(
        done.acknowledged.is_some(),
        "the history keeps who acknowledged"
    );
    // The same condition again later is a new alert.
    assert!(
        s.apply(106, &sweep_request(106, &s, &standing, at(50)))
            .is_applied()
    );
    assert_eq!(s.alerts.open["deadline_at_risk/c1"].raised_at, at(50));
    assert!(s.alerts.open["deadline_at_risk/c1"].acknowledged.is_none());

    // The records survive a snapshot's JSON, and the audit names the sweeps.
    let json = serde_json::to_string(&s).unwrap();
    let back: SchedulingState = serde_json::from_str(&json).unwrap();
    assert_eq!(back.alerts, s.alerts);
    assert!(
        s.audit
            .iter()
            .any(|e| e.summary.starts_with("alerts: raised deadline_at_risk/c1"))
    );
    assert!(s.verify_audit().is_ok());
}

#[test]
fn before_rules_version_5_alerts_are_not_recorded() {
    let mut s = ready();
    s.rules_version = 4;
    let standing = vec![alert("deadline_at_risk/c1")];
    let r = s.apply(100, &sweep_request(100, &s, &standing, at(0)));
    assert!(!r.is_applied(), "{r:?}");
    assert!(s.alerts.open.is_empty());
    // A state without records writes no `alerts` field (as older builds).
    let json = serde_json::to_value(&s).unwrap();
    assert!(json.get("alerts").is_none());
}
