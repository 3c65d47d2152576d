//! The RocksDB storage: openraft's conformance suite, reopening, corruption.

mod common;

use std::collections::BTreeSet;

use casehub_store::rocks::{
    self, ALL_CFS, CF_LOGS, CF_SM, CF_SNAPSHOT, LogStore, StateMachineStore,
};
use casehub_store::{Command, Response, TypeConfig};
use common::*;
use openraft::storage::{RaftLogStorage, RaftLogStorageExt, RaftStateMachine};
use openraft::testing::{StoreBuilder, Suite, log_id};
use openraft::{
    BasicNode, Entry, EntryPayload, Membership, RaftLogReader, RaftSnapshotBuilder, StorageError,
    Vote,
};
use tempfile::TempDir;

struct Builder;

impl StoreBuilder<TypeConfig, LogStore, StateMachineStore, TempDir> for Builder {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachineStore), StorageError<u64>> {
        let dir = TempDir::new().expect("a temporary directory");
        let (log, sm) = rocks::open(dir.path()).await?;
        Ok((dir, log, sm))
    }
}

#[test]
fn openraft_conformance_suite() {
    Suite::test_all(Builder).expect("the storage passes openraft's suite");
}

/// Write raw bytes under a key, as a disk fault or a bad tool could.
fn put_raw(
    dir: &std::path::Path,
    cf: &str,
    key: &[u8],
    value: &[u8],
) -> Result<(), rocksdb::Error> {
    let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), dir, ALL_CFS)?;
    db.put_cf(db.cf_handle(cf).expect("column family"), key, value)
}

fn normal(index: u64, command: Command) -> Entry<TypeConfig> {
    Entry {
        log_id: log_id(1, 0, index),
        payload: EntryPayload::Normal(req(index, command).into()),
    }
}

/// A membership entry at 1, then the setup commands and one plan.
fn entries() -> Vec<Entry<TypeConfig>> {
    let mut out = vec![Entry {
        log_id: log_id(1, 0, 1),
        payload: EntryPayload::Membership(Membership::new(
            vec![BTreeSet::from([0])],
            [(0, BasicNode::new("127.0.0.1:1"))]
                .into_iter()
                .collect::<std::collections::BTreeMap<_, _>>(),
        )),
    }];
    for c in setup_commands() {
        out.push(normal(out.len() as u64 + 1, c));
    }
    out.push(normal(
        out.len() as u64 + 1,
        Command::CommitPlan {
            bookings: vec![room_booking("q1", "c1", 0, 60)],
            expected_versions: vec![],
        },
    ));
    out
}

#[tokio::test]
async fn everything_survives_a_reopen() {
    let dir = TempDir::new().unwrap();
    let all = entries();
    let last = all.last().unwrap().log_id;
    let (before, applied) = {
        let (mut log, mut sm) = rocks::open(dir.path()).await.unwrap();
        log.save_vote(&Vote::new(3, 0)).await.unwrap();
        log.blocking_append(all.clone()).await.unwrap();
        log.save_committed(Some(last)).await.unwrap();
        let responses = sm.apply(all.clone()).await.unwrap();
        assert!(
            responses.iter().flatten().all(Response::is_applied),
            "{responses:?}"
        );
        log.purge(log_id(1, 0, 2)).await.unwrap();
        let snapshot = sm
            .get_snapshot_builder()
            .await
            .build_snapshot()
            .await
            .unwrap();
        assert_eq!(snapshot.meta.last_log_id, Some(last));
        (sm.state().clone(), sm.applied_state().await.unwrap())
    };

    let (mut log, mut sm) = rocks::open(dir.path()).await.unwrap();
    assert_eq!(log.read_vote().await.unwrap(), Some(Vote::new(3, 0)));
    assert_eq!(log.read_committed().await.unwrap(), Some(last));
    let state = log.get_log_state().await.unwrap();
    assert_eq!(state.last_purged_log_id, Some(log_id(1, 0, 2)));
    assert_eq!(state.last_log_id, Some(last));
    let kept = log.try_get_log_entries(0..).await.unwrap();
    assert_eq!(kept.len(), all.len() - 2);
    assert_eq!(kept.first().unwrap().log_id, log_id(1, 0, 3));
    assert_eq!(sm.state(), &before);
    assert_eq!(sm.applied_state().await.unwrap(), applied);
    assert_eq!(sm.state().audit.len(), all.len() - 1);
    let snapshot = sm
        .get_current_snapshot()
        .await
        .unwrap()
        .expect("a snapshot");
    assert_eq!(snapshot.meta.last_log_id, Some(last));

    // The snapshot installs on a fresh node and gives the same state.
    let other = TempDir::new().unwrap();
    let (_log2, mut sm2) = rocks::open(other.path()).await.unwrap();
    sm2.install_snapshot(&snapshot.meta, snapshot.snapshot)
        .await
        .unwrap();
    assert_eq!(sm2.state(), &before);
    assert_eq!(sm2.applied_state().await.unwrap(), applied);
}

/// Applying does not write the state: a reopened store starts from its
/// newest snapshot (or from nothing) and the committed log after it is
/// applied again, as openraft does at start, to the same state.
#[tokio::test]
async fn a_reopened_store_replays_the_committed_log_after_its_snapshot() {
    let dir = TempDir::new().unwrap();
    let all = entries();
    let last = all.last().unwrap().log_id;
    let at_snapshot = all[4].log_id;
    let before = {
        let (mut log, mut sm) = rocks::open(dir.path()).await.unwrap();
        log.blocking_append(all.clone()).await.unwrap();
        log.save_committed(Some(last)).await.unwrap();
        sm.apply(all[..5].to_vec()).await.unwrap();
        let snapshot = sm
            .get_snapshot_builder()
            .await
            .build_snapshot()
            .await
            .unwrap();
        assert_eq!(snapshot.meta.last_log_id, Some(at_snapshot));
        sm.apply(all[5..].to_vec()).await.unwrap();
        sm.state().clone()
    };

    let (mut log, mut sm) = rocks::open(dir.path()).await.unwrap();
    // The state of the snapshot, with its log id...
    let (applied, membership) = sm.applied_state().await.unwrap();
    assert_eq!(applied, Some(at_snapshot));
    assert_eq!(membership.log_id(), &Some(log_id(1, 0, 1)));
    assert_eq!(sm.state().audit.len(), 4);
    // ...and the committed entries after it, re-applied, give the same state.
    let committed = log.read_committed().await.unwrap().unwrap();
    let rest = log
        .try_get_log_entries(applied.unwrap().index + 1..committed.index + 1)
        .await
        .unwrap();
    assert_eq!(rest.len(), all.len() - 5);
    sm.apply(rest).await.unwrap();
    assert_eq!(sm.state(), &before);
    assert_eq!(sm.applied_state().await.unwrap().0, Some(last));

    // Without any snapshot, a reopened store starts empty and replays all.
    let fresh = TempDir::new().unwrap();
    {
        let (mut log, mut sm) = rocks::open(fresh.path()).await.unwrap();
        log.blocking_append(all.clone()).await.unwrap();
        sm.apply(all.clone()).await.unwrap();
    }
    let (mut log, mut sm) = rocks::open(fresh.path()).await.unwrap();
    assert_eq!(sm.applied_state().await.unwrap().0, None);
    sm.apply(log.try_get_log_entries(0..).await.unwrap())
        .await
        .unwrap();
    assert_eq!(sm.state(), &before);
}

#[tokio::test]
async fn a_corrupt_log_entry_is_a_clear_error() {
    let dir = TempDir::new().unwrap();
    {
        let (mut log, _sm) = rocks::open(dir.path()).await.unwrap();
        log.blocking_append(entries()).await.unwrap();
    }
    put_raw(dir.path(), CF_LOGS, &4u64.to_be_bytes(), b"\x00garbage").unwrap();
    let (mut log, _sm) = rocks::open(dir.path()).await.unwrap();
    // Entries before the corrupt one still read.
    assert_eq!(log.try_get_log_entries(1..4).await.unwrap().len(), 3);
    let err = log.try_get_log_entries(1..6).await.unwrap_err().to_string();
    eprintln!("{err}");
    assert!(
        err.contains("corrupt log entry") && err.contains("index 4"),
        "{err}"
    );
}

#[tokio::test]
async fn a_corrupt_state_is_a_clear_error_at_open() {
    let dir = TempDir::new().unwrap();
    drop(rocks::open(dir.path()).await.unwrap());
    put_raw(dir.path(), CF_SM, b"state", b"{not json").unwrap();
    let err = rocks::open(dir.path()).await.unwrap_err().to_string();
    eprintln!("{err}");
    assert!(
        err.contains("corrupt value") && err.contains("state"),
        "{err}"
    );
}

#[tokio::test]
async fn a_garbage_snapshot_is_refused_and_changes_nothing() {
    let dir = TempDir::new().unwrap();
    let (mut log, mut sm) = rocks::open(dir.path()).await.unwrap();
    let all = entries();
    log.blocking_append(all.clone()).await.unwrap();
    sm.apply(all).await.unwrap();
    let good = sm
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .unwrap();
    let before = (sm.state().clone(), sm.applied_state().await.unwrap());
    let mut meta = good.meta.clone();
    meta.last_log_id = Some(log_id(2, 0, 50));
    meta.snapshot_id = "garbage".into();
    let err = sm
        .install_snapshot(&meta, Box::new(std::io::Cursor::new(b"\xff\xfe".to_vec())))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("corrupt value"), "{err}");
    assert_eq!(
        (sm.state().clone(), sm.applied_state().await.unwrap()),
        before
    );
    let current = sm.get_current_snapshot().await.unwrap().unwrap();
    assert_eq!(current.meta, good.meta);
}

#[tokio::test]
async fn an_older_snapshot_never_replaces_a_newer_one() {
    let dir = TempDir::new().unwrap();
    let (mut log, mut sm) = rocks::open(dir.path()).await.unwrap();
    let all = entries();
    log.blocking_append(all.clone()).await.unwrap();
    let (first, rest) = all.split_at(3);
    sm.apply(first.to_vec()).await.unwrap();
    // A builder taken now finishes only after a newer snapshot is stored.
    let mut old_builder = sm.get_snapshot_builder().await;
    sm.apply(rest.to_vec()).await.unwrap();
    let newer = sm
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .unwrap();
    let older = old_builder.build_snapshot().await.unwrap();
    assert!(older.meta.last_log_id < newer.meta.last_log_id);
    let current = sm.get_current_snapshot().await.unwrap().unwrap();
    assert_eq!(current.meta, newer.meta);
}

#[tokio::test]
async fn a_batch_entry_is_durable_and_applies_in_order_at_its_index() {
    let dir = TempDir::new().unwrap();
    let setup: Vec<_> = setup_commands()
        .into_iter()
        .enumerate()
        .map(|(i, c)| req(i as u64 + 2, c))
        .collect();
    let n = setup.len() as u64;
    // A single request is encoded as before batches existed: the request
    // itself, so logs written then still decode.
    let single = normal(1, Command::UpsertStation(station()));
    let json = serde_json::to_value(&single).unwrap();
    assert_eq!(
        json["payload"]["Normal"],
        serde_json::to_value(req(1, Command::UpsertStation(station()))).unwrap()
    );
    let batch = Entry::<TypeConfig> {
        log_id: log_id(1, 0, 2),
        payload: EntryPayload::Normal(casehub_store::LogPayload::from(setup.clone())),
    };
    {
        let (mut log, _sm) = rocks::open(dir.path()).await.unwrap();
        log.blocking_append(vec![single.clone(), batch.clone()])
            .await
            .unwrap();
        log.save_committed(Some(batch.log_id)).await.unwrap();
    }
    // Reopened, the log holds both entries as written; applying them gives
    // one response per request, and the batch's requests share its index.
    let (mut log, mut sm) = rocks::open(dir.path()).await.unwrap();
    let kept = log.try_get_log_entries(1..3).await.unwrap();
    assert_eq!(kept, vec![single, batch]);
    let responses = sm.apply(kept).await.unwrap();
    assert_eq!(responses[0].len(), 1);
    assert_eq!(responses[1].len() as u64, n);
    assert!(
        responses[1].iter().all(Response::is_applied),
        "{responses:?}"
    );
    let audit: Vec<(u64, u64)> = sm
        .state()
        .audit
        .iter()
        .map(|a| (a.index, a.request_id))
        .collect();
    let mut expected = vec![(1, 1)];
    expected.extend((2..=n + 1).map(|r| (2, r)));
    assert_eq!(audit, expected);
}

#[tokio::test]
async fn rules_newer_than_this_build_stop_the_state_machine() {
    let dir = TempDir::new().unwrap();
    let (_log, mut sm) = rocks::open(dir.path()).await.unwrap();
    let current = casehub_store::RULES_VERSION;
    let responses = sm
        .apply(vec![normal(1, Command::SetRulesVersion(current))])
        .await
        .unwrap();
    assert!(responses[0][0].is_applied(), "{responses:?}");
    assert_eq!(sm.state().rules_version, current);
    // A log asking for rules this build does not have: an error, nothing applied.
    let err = sm
        .apply(vec![normal(2, Command::SetRulesVersion(current + 1))])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("upgrade this node"), "{err}");
    assert_eq!(sm.state().rules_version, current);
}

/// The state of the newest snapshot as stored in RocksDB, as JSON.
fn stored_state(dir: &std::path::Path) -> serde_json::Value {
    let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), dir, ALL_CFS).unwrap();
    let bytes = db
        .get_cf(db.cf_handle(CF_SNAPSHOT).unwrap(), b"data")
        .unwrap()
        .expect("the snapshot is stored");
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn an_audit_entry_edited_or_removed_in_rocksdb_breaks_the_chain() {
    let dir = TempDir::new().unwrap();
    {
        let (_log, mut sm) = rocks::open(dir.path()).await.unwrap();
        let mut batch = vec![normal(
            1,
            Command::SetRulesVersion(casehub_store::RULES_VERSION),
        )];
        for c in setup_commands() {
            batch.push(normal(batch.len() as u64 + 1, c));
        }
        sm.apply(batch).await.unwrap();
        assert!(sm.state().verify_audit().unwrap() >= 8);
        // The state on disk is the snapshot's (the log after it is replayed).
        sm.get_snapshot_builder()
            .await
            .build_snapshot()
            .await
            .unwrap();
    }
    let original = stored_state(dir.path());
    let write = |state: &serde_json::Value| {
        put_raw(
            dir.path(),
            CF_SNAPSHOT,
            b"data",
            &serde_json::to_vec(state).unwrap(),
        )
        .unwrap();
    };
    // Someone with the disk edits who acted in the fourth entry.
    let mut edited = original.clone();
    edited["audit"][3]["actor"] = serde_json::json!("someone else");
    write(&edited);
    {
        let (_log, sm) = rocks::open(dir.path()).await.unwrap();
        let err = sm.state().verify_audit().unwrap_err();
        assert_eq!(err.index, original["audit"][3]["index"].as_u64().unwrap());
        assert!(err.to_string().contains("does not match"), "{err}");
    }
    // Or removes the third entry.
    let mut removed = original.clone();
    removed["audit"].as_array_mut().unwrap().remove(2);
    write(&removed);
    {
        let (_log, sm) = rocks::open(dir.path()).await.unwrap();
        let err = sm.state().verify_audit().unwrap_err();
        assert_eq!(err.index, original["audit"][3]["index"].as_u64().unwrap());
    }
    // Put back as it was: the chain verifies again.
    write(&original);
    let (_log, sm) = rocks::open(dir.path()).await.unwrap();
    assert!(sm.state().verify_audit().is_ok());
}
