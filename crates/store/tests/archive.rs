//! State that stays bounded: `Command::Archive` moves the old audit, its
//! deduplication entries and the cases that exited long ago out of the
//! live state; the audit chain holds across the archive and the live
//! state, and the live state stays the size of the retention period.

mod common;

use chrono::{DateTime, Duration, Utc};

use casehub_model::CaseId;
use casehub_planning::generate;
use casehub_store::audit::ChainCheck;
use casehub_store::rocks::{self, ALL_CFS, CF_ARCHIVE};
use casehub_store::state::CaseStatus;
use casehub_store::{Archived, Command, TypeConfig};
use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine};
use openraft::testing::log_id;
use openraft::{Entry, EntryPayload};
use tempfile::TempDir;

use common::region::*;

fn day0() -> DateTime<Utc> {
    "2026-01-05T02:00:00Z".parse().unwrap()
}

/// Submit, plan and accept `n` cases at `w.now`, named `{prefix}-{i}`.
fn plan_cases(w: &mut World, prefix: &str, n: usize, seed: u64) -> Vec<CaseId> {
    let r = region();
    let mut ids = Vec::new();
    for (i, mut pc) in generate::pending_cases(&r, w.now, n, 30, 0, seed)
        .into_iter()
        .enumerate()
    {
        pc.case.id = CaseId::new(format!("{prefix}-{i}")).unwrap();
        ids.push(pc.case.id.clone());
        assert!(w.apply(Command::SubmitCase(pc.case)).is_applied());
    }
    let p = propose(&w.state, w.now);
    if !p.cases.is_empty() {
        let version = w.state.region_version();
        let resp = w.apply(accept(p.cases.clone(), w.now, version));
        assert!(resp.is_applied(), "{resp:?}");
    }
    ids
}

fn exit_all(w: &mut World, ids: &[CaseId]) {
    for id in ids {
        let resp = w.apply(Command::ExitCase {
            case: id.clone(),
            disposition: None,
        });
        assert!(resp.is_applied(), "{resp:?}");
    }
}

#[test]
fn archive_moves_the_old_out_and_the_chain_holds_across_both() {
    let r = region();
    let mut w = loaded(&r, day0());
    let old = plan_cases(&mut w, "OLD", 3, 1);
    w.now = day0() + Duration::hours(20);
    exit_all(&mut w, &old);
    // Day 2: a case still open; day 5: one that exits after the cut-off.
    w.now = day0() + Duration::days(2);
    let open = plan_cases(&mut w, "OPEN", 1, 2);
    w.now = day0() + Duration::days(5);
    let late = plan_cases(&mut w, "LATE", 1, 3);
    w.now = day0() + Duration::days(5) + Duration::hours(12);
    exit_all(&mut w, &late);
    let audit_before = w.state.audit.clone();
    let versions_before: Vec<u64> = w.state.rooms.values().map(|e| e.version).collect();
    assert!(w.state.earlier_response("test", 1).is_some());

    let cutoff = day0() + Duration::days(3);
    assert!(w.state.to_archive(cutoff));
    w.now = day0() + Duration::days(6);
    let resp = w.apply(Command::Archive { before: cutoff });
    assert!(resp.is_applied(), "{resp:?}");

    // The old cases left, with their bookings; the others stayed.
    for id in &old {
        assert!(!w.state.cases.contains_key(id), "{id} still live");
    }
    for id in open.iter().chain(&late) {
        assert!(w.state.cases.contains_key(id), "{id} was archived");
    }
    assert_eq!(w.state.cases[&open[0]].value.status, CaseStatus::Planned);
    let rooms = w.state.rooms.values().map(|e| &e.bookings);
    let officers = w.state.officers.values().map(|e| &e.bookings);
    let teams = w.state.teams.values().map(|e| &e.bookings);
    for bookings in rooms.chain(officers).chain(teams) {
        assert!(bookings.iter().all(|b| !old.contains(&b.case)));
    }
    // Archiving changed no resource's version: no plan in flight is refused.
    let versions_after: Vec<u64> = w.state.rooms.values().map(|e| e.version).collect();
    assert_eq!(versions_before, versions_after);

    // The audit before the cut-off left, with its deduplication entries.
    let live = w.state.audit.clone();
    assert!(live.iter().all(|e| e.time >= cutoff));
    assert!(w.state.earlier_response("test", 1).is_none());
    let out = w.state.take_archived();
    assert!(w.state.take_archived().is_empty(), "handed over once");
    let archived: Vec<_> = out
        .iter()
        .filter_map(|a| match a {
            Archived::Audit { seq, entry } => Some((*seq, entry.clone())),
            Archived::Case(_) => None,
        })
        .collect();
    let moved = audit_before.iter().filter(|e| e.time < cutoff).count();
    assert_eq!(archived.len(), moved);
    assert!(
        archived
            .iter()
            .enumerate()
            .all(|(i, (seq, _))| *seq == i as u64)
    );
    let cases: Vec<_> = out
        .iter()
        .filter_map(|a| match a {
            Archived::Case(c) => Some(c),
            Archived::Audit { .. } => None,
        })
        .collect();
    assert_eq!(cases.len(), old.len());
    assert!(cases.iter().any(|c| !c.bookings.is_empty()));
    let mark = w.state.archived.clone().unwrap();
    assert_eq!(mark.audit_entries, moved as u64);
    assert_eq!(mark.cases, old.len() as u64);
    assert_eq!(mark.before, cutoff);

    // One chain: the archived entries, then the live ones.
    assert!(w.state.verify_audit().is_ok());
    let mut check = ChainCheck::default();
    for (_, e) in &archived {
        check.push(e).unwrap();
    }
    assert_eq!(check.head(), Some(mark.head.as_str()));
    for e in &live {
        check.push(e).unwrap();
    }
    // An archived entry edited breaks it.
    let mut edited = archived.clone();
    edited[2].1.actor = "someone else".into();
    let mut check = ChainCheck::default();
    let broken = edited
        .iter()
        .find_map(|(_, e)| check.push(e).err())
        .unwrap();
    assert_eq!(broken.index, edited[2].1.index);

    // Planning goes on as before, and a second archive with the same
    // cut-off moves nothing more.
    w.now = day0() + Duration::days(6) + Duration::hours(1);
    plan_cases(&mut w, "NEW", 2, 4);
    assert!(!w.state.to_archive(cutoff));
    assert!(w.state.verify_audit().is_ok());
}

#[test]
fn archive_needs_rules_version_7() {
    let r = region();
    let mut w = loaded(&r, day0());
    // A cluster some of whose nodes run a build before version 7.
    w.state.rules_version = 6;
    let resp = w.apply(Command::Archive { before: day0() });
    assert!(!resp.is_applied());
    assert!(format!("{resp:?}").contains("version 7"), "{resp:?}");
}

#[test]
fn the_live_state_stays_the_size_of_the_retention_period() {
    // Ten cases a day for long enough to archive many times over; the live
    // state after it holds the retention period only (the bench
    // `archive_year` runs a year at 150 a day on a node).
    let r = region();
    let mut w = loaded(&r, day0());
    let retention = Duration::days(7);
    let mut sizes = Vec::new();
    for day in 0..40 {
        w.now = day0() + Duration::days(day);
        let ids = plan_cases(&mut w, &format!("D{day}"), 10, day as u64);
        w.now += Duration::hours(22);
        exit_all(&mut w, &ids);
        let cutoff = w.now - retention;
        if w.state.to_archive(cutoff) {
            assert!(w.apply(Command::Archive { before: cutoff }).is_applied());
            w.state.take_archived();
        }
        sizes.push(serde_json::to_vec(&w.state).unwrap().len());
        assert!(w.state.verify_audit().is_ok());
    }
    // Once the retention period is full (day 8 on), the live state stops
    // growing: day 39's is within a quarter of day 15's.
    let (mid, last) = (sizes[15], sizes[39]);
    assert!(
        (last as f64) < 1.25 * mid as f64,
        "the live state grew from {mid} to {last} bytes: {sizes:?}"
    );
    assert!(w.state.cases.len() <= 10 * 9, "{}", w.state.cases.len());
    let mark = w.state.archived.as_ref().unwrap();
    assert!(mark.cases >= 300, "{mark:?}");
    let live_days = w
        .state
        .audit
        .iter()
        .map(|e| (e.time - day0()).num_days())
        .min()
        .unwrap();
    assert!(live_days >= 39 - 8, "audit from day {live_days} still live");
}

/// The log of a small node: setup, three cases exited on day 0, then
/// archives on day 2.
fn node_log() -> Vec<Entry<TypeConfig>> {
    let mut commands = vec![(0, Command::SetRulesVersion(casehub_store::RULES_VERSION))];
    commands.extend(common::setup_commands().into_iter().map(|c| (0, c)));
    for c in ["c1", "c2", "c3"] {
        commands.push((
            60,
            Command::ExitCase {
                case: CaseId::new(c).unwrap(),
                disposition: None,
            },
        ));
    }
    commands.push((
        2 * 24 * 60,
        Command::Archive {
            before: common::at(24 * 60),
        },
    ));
    commands
        .into_iter()
        .enumerate()
        .map(|(i, (minutes, c))| {
            let index = i as u64 + 1;
            let mut r = common::req(index, c);
            r.time = common::at(minutes);
            Entry {
                log_id: log_id(1, 0, index),
                payload: EntryPayload::Normal(r.into()),
            }
        })
        .collect()
}

fn archived_audit(reader: &rocks::ArchiveReader) -> Vec<casehub_store::AuditEntry> {
    let mut out = Vec::new();
    reader
        .audit_from(0, |e| {
            out.push(e);
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    out
}

#[tokio::test]
async fn the_node_keeps_the_archive_outside_its_snapshots_and_verifies_one_chain() {
    let dir = TempDir::new().unwrap();
    let log = node_log();
    let n = log.len();
    {
        let (_log, mut sm) = rocks::open(dir.path()).await.unwrap();
        sm.apply(log.clone()).await.unwrap();
        let state = sm.state();
        assert!(state.cases.is_empty(), "the exited cases were archived");
        assert_eq!(state.audit.len(), 1, "only the archive's own entry is live");
        let reader = sm.archive();
        let audit = archived_audit(&reader);
        assert_eq!(audit.len(), n - 1);
        assert_eq!(
            audit.iter().map(|e| e.index).collect::<Vec<_>>(),
            (1..n as u64).collect::<Vec<_>>()
        );
        let c1 = reader.case("c1").unwrap().expect("c1 archived");
        assert_eq!(c1.entry.value.status, CaseStatus::Exited);
        assert!(reader.case("c9").unwrap().is_none());
        let report = reader.verify(state).unwrap();
        assert!(report.complete);
        assert_eq!(report.archived, n as u64 - 1);
        assert_eq!(report.hashed, n);
        // The newest first, from index 3 on.
        let mut newest = Vec::new();
        reader
            .audit_newest_first(3, |e| {
                newest.push(e.index);
                std::ops::ControlFlow::Continue(())
            })
            .unwrap();
        assert_eq!(newest, (3..n as u64).rev().collect::<Vec<_>>());
    }
    // Reopened (no snapshot was taken), the node applies the log again:
    // the same archive, written again under the same keys.
    {
        let (_log, mut sm) = rocks::open(dir.path()).await.unwrap();
        assert!(sm.state().audit.is_empty());
        sm.apply(log.clone()).await.unwrap();
        assert_eq!(archived_audit(&sm.archive()).len(), n - 1);
        assert!(sm.archive().verify(sm.state()).unwrap().complete);
        // A snapshot holds the live state only.
        let snap = sm
            .get_snapshot_builder()
            .await
            .build_snapshot()
            .await
            .unwrap();
        let text = String::from_utf8(snap.snapshot.into_inner()).unwrap();
        assert!(
            !text.contains("\"c1\""),
            "the snapshot carries an archived case"
        );
    }
    // Someone with the disk edits an archived entry: the chain breaks there.
    let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), dir.path(), ALL_CFS).unwrap();
    let cf = db.cf_handle(CF_ARCHIVE).unwrap();
    let (key, value) = db
        .iterator_cf(cf, rocksdb::IteratorMode::Start)
        .nth(4)
        .unwrap()
        .unwrap();
    let mut entry: serde_json::Value = serde_json::from_slice(&value).unwrap();
    let index = entry["index"].as_u64().unwrap();
    entry["actor"] = serde_json::json!("someone else");
    db.put_cf(cf, &key, serde_json::to_vec(&entry).unwrap())
        .unwrap();
    drop(db);
    let (_log, sm) = rocks::open(dir.path()).await.unwrap();
    let err = sm.archive().verify(sm.state()).unwrap_err();
    assert!(err.to_string().contains(&format!("index {index}")), "{err}");
}
