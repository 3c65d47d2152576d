//! The audit API reads the archive too: once the old audit and the exited
//! cases have left the live state, ReadAudit, StreamAudit and VerifyAudit
//! answer on every node as if they had not.

mod common;

use std::time::{Duration, Instant};

use casehub_server::proto::audit_service_client::AuditServiceClient;
use casehub_server::proto::dispatch_service_client::DispatchServiceClient;
use casehub_server::proto::{self as pb};
use casehub_server::retention::ARCHIVE_CLIENT;

use common::api::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_audit_reads_the_archive_on_every_node() {
    let c = Cluster::start().await;
    c.load_region(1).await;
    let mut op = DispatchServiceClient::new(c.channel(1).await);
    op.submit_case(pb::SubmitCaseRequest {
        meta: meta(1),
        case: Some(a_case("C-OLD")),
    })
    .await
    .unwrap();
    op.exit_case(pb::ExitCaseRequest {
        meta: meta(2),
        case_id: "C-OLD".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let before: Vec<pb::AuditEntry> = AuditServiceClient::new(c.channel(1).await)
        .read_audit(pb::ReadAuditRequest {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert!(before.iter().any(|e| e.summary.contains("C-OLD")));

    // What the leader proposes once a day, with a cut-off of now.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let cutoff = chrono::Utc::now();
    let archive = casehub_store::Request {
        client_id: ARCHIVE_CLIENT.into(),
        request_id: 1,
        actor: "node 1".into(),
        site: None,
        time: cutoff,
        command: casehub_store::Command::Archive { before: cutoff },
        trace: None,
    };
    let w = c.nodes[&1].write(&archive).await.unwrap();
    assert!(w.response.is_applied(), "{w:?}");
    for (id, node) in &c.nodes {
        let deadline = Instant::now() + TIMEOUT;
        while node.state().applied_index() < Some(w.log_index) {
            assert!(Instant::now() < deadline, "node {id} did not apply it");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let state = node.state().current();
        assert!(!state.state.cases.contains_key("C-OLD"), "node {id}");
        assert!(
            state.state.audit.len() < before.len(),
            "node {id}: the live audit did not shrink"
        );
    }

    for id in 1..=3 {
        let mut audit = AuditServiceClient::new(c.channel(id).await);
        // Oldest first, from the beginning: the archived entries, then the
        // live ones, as before.
        let all = audit
            .read_audit(pb::ReadAuditRequest {
                limit: 10_000,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .entries;
        assert_eq!(all[..before.len()], before[..], "node {id}");
        assert!(all.last().unwrap().summary.starts_with("archive"));
        // A page of three from index 2, and a filter that finds only
        // archived entries.
        let page = audit
            .read_audit(pb::ReadAuditRequest {
                from_index: 2,
                limit: 3,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .entries;
        assert_eq!(page.first().map(|e| e.index), Some(2));
        assert!(page.len() >= 3);
        let found = audit
            .read_audit(pb::ReadAuditRequest {
                contains: "c-old".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .entries;
        assert_eq!(found.len(), 2, "submit and exit: {found:?}");
        // Newest first runs from the live entries into the archive.
        let newest = audit
            .read_audit(pb::ReadAuditRequest {
                newest_first: true,
                limit: 4,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .entries;
        assert_eq!(newest.len(), 4);
        assert!(newest[0].summary.starts_with("archive"));
        assert_eq!(newest[1], before[before.len() - 1]);
        // One chain across the archive and the live state.
        let v = audit
            .verify_audit(pb::VerifyAuditRequest { at_index: 2 })
            .await
            .unwrap()
            .into_inner();
        assert!(v.ok, "node {id}: {v:?}");
        assert!(v.archive_complete, "node {id}: {v:?}");
        assert_eq!(v.archived_entries, v.archived_here);
        assert!(v.archived_entries as usize >= before.len() - 1, "{v:?}");
        assert_eq!(v.hashed_entries as usize, all.len());
        let second = all.iter().find(|e| e.index == 2).unwrap();
        assert_eq!(v.hash_at_index, second.hash, "an archived entry's hash");
        // A stream from the beginning sends the archived entries first.
        let mut stream = audit
            .stream_audit(pb::WatchRequest { from_index: 1 })
            .await
            .unwrap()
            .into_inner();
        for expected in &all {
            let got = tokio::time::timeout(TIMEOUT, stream.message())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            assert_eq!(&got, expected, "node {id}");
        }
    }
    c.shutdown().await;
}
