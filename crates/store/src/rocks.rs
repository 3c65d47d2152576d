//! RocksDB storage for openraft: the log store ([`LogStore`]) and the state
//! machine ([`StateMachineStore`]), both in one database with four column
//! families (see the crate docs for what each holds).
//!
//! Every write that openraft must be able to rely on after a crash (vote,
//! log entries, purge, applied state, snapshot) is a synced write
//! (`WriteOptions::set_sync(true)`); [`LogFlushed`] is called only after the
//! synced write returned. The committed log id is the one unsynced write
//! (see [`LogStore::save_committed`](RaftLogStorage::save_committed)). Values are JSON. A value that does not decode is
//! reported as a storage error naming the column family and the key.

// openraft's trait methods return `StorageError`, a large type; the helpers
// here return it too, so that `?` works without boxing and unboxing.
#![allow(clippy::result_large_err)]

use std::fmt::Debug;
use std::io::Cursor;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::{Arc, Mutex};

use openraft::storage::{LogFlushed, LogState, RaftLogStorage, RaftStateMachine, Snapshot};
use openraft::{
    AnyError, Entry, EntryPayload, ErrorSubject, ErrorVerb, LogId, OptionalSend, RaftLogReader,
    RaftSnapshotBuilder, SnapshotMeta, StorageError, StorageIOError, StoredMembership, Vote,
};
use rocksdb::{
    ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, WriteBatch, WriteOptions,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::TypeConfig;
use crate::state::{Response, SchedulingState};

/// Log store metadata: `vote`, `committed`, `last_purged`.
pub const CF_LOG_META: &str = "log_meta";
/// Log entries, keyed by index (8 bytes, big-endian).
pub const CF_LOGS: &str = "logs";
/// The applied state: `last_applied`, `last_membership`, `state`.
pub const CF_SM: &str = "state_machine";
/// The current snapshot: `meta` and `data`.
pub const CF_SNAPSHOT: &str = "snapshot";

/// Every column family of the database.
pub const ALL_CFS: [&str; 5] = [CF_LOG_META, CF_LOGS, CF_SM, CF_SNAPSHOT, CF_ARCHIVE];

pub mod archive;
pub use archive::{ArchiveError, ArchiveReader, CF_ARCHIVE, ChainReport, VerifyError};

type NodeId = u64;
type Node = openraft::BasicNode;
type SError = StorageError<NodeId>;

/// Open (or create) the database at `path` and return its log store and
/// state machine. Fails with a storage error if the stored applied state
/// does not decode.
pub async fn open(path: impl AsRef<Path>) -> Result<(LogStore, StateMachineStore), SError> {
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    let cfs = ALL_CFS
        .iter()
        .map(|name| ColumnFamilyDescriptor::new(*name, Options::default()));
    let db = DB::open_cf_descriptors(&opts, path.as_ref(), cfs).map_err(|e| {
        StorageIOError::new(ErrorSubject::Store, ErrorVerb::Read, AnyError::new(&e))
    })?;
    let db = Arc::new(db);
    let log = LogStore { db: db.clone() };
    let sm = StateMachineStore::load(db)?;
    Ok((log, sm))
}

fn synced() -> WriteOptions {
    let mut w = WriteOptions::default();
    w.set_sync(true);
    w
}

fn index_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

fn key_index(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.try_into().ok()?))
}

fn cf<'a>(db: &'a DB, name: &str) -> &'a rocksdb::ColumnFamily {
    db.cf_handle(name)
        .expect("every column family is created when the database is opened")
}

fn encode<T: Serialize>(value: &T, subject: ErrorSubject<NodeId>) -> Result<Vec<u8>, SError> {
    serde_json::to_vec(value)
        .map_err(|e| StorageIOError::new(subject, ErrorVerb::Write, AnyError::new(&e)).into())
}

fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    cf_name: &str,
    key: &str,
    subject: ErrorSubject<NodeId>,
) -> Result<T, SError> {
    serde_json::from_slice(bytes).map_err(|e| {
        StorageIOError::new(
            subject,
            ErrorVerb::Read,
            AnyError::error(format!(
                "corrupt value in column family {cf_name:?} at key {key}: {e}"
            )),
        )
        .into()
    })
}

fn read_io(subject: ErrorSubject<NodeId>, e: rocksdb::Error) -> SError {
    StorageIOError::new(subject, ErrorVerb::Read, AnyError::new(&e)).into()
}

fn write_io(subject: ErrorSubject<NodeId>, e: rocksdb::Error) -> SError {
    StorageIOError::new(subject, ErrorVerb::Write, AnyError::new(&e)).into()
}

fn get_json<T: DeserializeOwned>(
    db: &DB,
    cf_name: &str,
    key: &str,
    subject: ErrorSubject<NodeId>,
) -> Result<Option<T>, SError> {
    match db
        .get_cf(cf(db, cf_name), key.as_bytes())
        .map_err(|e| read_io(subject.clone(), e))?
    {
        None => Ok(None),
        Some(bytes) => decode(&bytes, cf_name, key, subject).map(Some),
    }
}

/// The Raft log and vote, on disk. Cloning shares the database; a clone is
/// also the log reader.
#[derive(Debug, Clone)]
pub struct LogStore {
    db: Arc<DB>,
}

impl LogStore {
    fn put_meta<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        subject: ErrorSubject<NodeId>,
    ) -> Result<(), SError> {
        let bytes = encode(value, subject.clone())?;
        self.db
            .put_cf_opt(cf(&self.db, CF_LOG_META), key.as_bytes(), bytes, &synced())
            .map_err(|e| write_io(subject, e))
    }

    fn last_purged(&self) -> Result<Option<LogId<NodeId>>, SError> {
        get_json(&self.db, CF_LOG_META, "last_purged", ErrorSubject::Logs)
    }

    fn decode_entry(key: &[u8], value: &[u8]) -> Result<Entry<TypeConfig>, SError> {
        let index = key_index(key);
        serde_json::from_slice(value).map_err(|e| {
            let msg = format!(
                "corrupt log entry in column family {CF_LOGS:?} at index {}: {e}",
                index.map_or_else(|| format!("{key:?}"), |i| i.to_string())
            );
            match index {
                Some(i) => StorageIOError::read_log_at_index(i, AnyError::error(msg)).into(),
                None => StorageIOError::read_logs(AnyError::error(msg)).into(),
            }
        })
    }

    fn last_entry(&self) -> Result<Option<Entry<TypeConfig>>, SError> {
        let mut it = self
            .db
            .iterator_cf(cf(&self.db, CF_LOGS), IteratorMode::End);
        match it.next() {
            None => Ok(None),
            Some(Err(e)) => Err(read_io(ErrorSubject::Logs, e)),
            Some(Ok((k, v))) => Self::decode_entry(&k, &v).map(Some),
        }
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, SError> {
        let start = match range.start_bound() {
            Bound::Included(&i) => i,
            Bound::Excluded(&i) => i.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let key = index_key(start);
        let it = self.db.iterator_cf(
            cf(&self.db, CF_LOGS),
            IteratorMode::From(&key, Direction::Forward),
        );
        let mut out = Vec::new();
        for item in it {
            let (k, v) = item.map_err(|e| read_io(ErrorSubject::Logs, e))?;
            let Some(index) = key_index(&k) else {
                return Err(StorageIOError::read_logs(AnyError::error(format!(
                    "corrupt key {k:?} in column family {CF_LOGS:?}"
                )))
                .into());
            };
            if !range.contains(&index) {
                break;
            }
            out.push(Self::decode_entry(&k, &v)?);
        }
        Ok(out)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, SError> {
        let last_purged_log_id = self.last_purged()?;
        let last_log_id = match self.last_entry()? {
            Some(e) => Some(e.log_id),
            None => last_purged_log_id,
        };
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), SError> {
        self.put_meta("vote", vote, ErrorSubject::Vote)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, SError> {
        get_json(&self.db, CF_LOG_META, "vote", ErrorSubject::Vote)
    }

    /// Not synced: the committed log id only tells how far to re-apply the
    /// log at start, and every entry it names is already in the synced log.
    /// After a crash it may be older than the last commit (it reaches disk
    /// with the next synced write): the node then re-applies less at start,
    /// and the rest once the leader's commit index reaches it again. It is
    /// never newer than the synced log, since RocksDB's write-ahead log
    /// keeps writes in order. Syncing it would add an fsync to every commit.
    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> Result<(), SError> {
        let bytes = encode(&committed, ErrorSubject::Store)?;
        self.db
            .put_cf(cf(&self.db, CF_LOG_META), b"committed", bytes)
            .map_err(|e| write_io(ErrorSubject::Store, e))
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, SError> {
        Ok(get_json::<Option<LogId<NodeId>>>(
            &self.db,
            CF_LOG_META,
            "committed",
            ErrorSubject::Store,
        )?
        .flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), SError>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut encoded = Vec::new();
        for entry in entries {
            let bytes = encode(&entry, ErrorSubject::Log(entry.log_id))?;
            encoded.push((index_key(entry.log_id.index), bytes));
        }
        // The synced write blocks for the fsync: it runs on tokio's blocking
        // pool, so that the runtime's workers (the node's gRPC, replication
        // and apply) go on meanwhile. openraft is told only after it.
        let db = self.db.clone();
        let written = tokio::task::spawn_blocking(move || {
            let logs = cf(&db, CF_LOGS);
            let mut batch = WriteBatch::default();
            for (key, bytes) in encoded {
                batch.put_cf(logs, key, bytes);
            }
            db.write_opt(batch, &synced())
        })
        .await
        .map_err(|e| {
            SError::from(StorageIOError::write_logs(AnyError::error(format!(
                "the log write did not finish: {e}"
            ))))
        })?;
        written.map_err(|e| write_io(ErrorSubject::Logs, e))?;
        callback.log_io_completed(Ok(()));
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), SError> {
        let logs = cf(&self.db, CF_LOGS);
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(logs, index_key(log_id.index), index_key(u64::MAX));
        batch.delete_cf(logs, index_key(u64::MAX));
        self.db
            .write_opt(batch, &synced())
            .map_err(|e| write_io(ErrorSubject::Logs, e))
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), SError> {
        let mut batch = WriteBatch::default();
        batch.put_cf(
            cf(&self.db, CF_LOG_META),
            b"last_purged",
            encode(&log_id, ErrorSubject::Logs)?,
        );
        batch.delete_range_cf(
            cf(&self.db, CF_LOGS),
            index_key(0),
            index_key(log_id.index.saturating_add(1)),
        );
        self.db
            .write_opt(batch, &synced())
            .map_err(|e| write_io(ErrorSubject::Logs, e))
    }
}

/// Joins an applied request's span to the trace that proposed it. Called
/// with the request's `state.apply` span, before it is entered (inside the
/// batch's `raft.apply`), and the W3C `traceparent` its log entry carries
/// ([`Request::trace`](crate::Request::trace)); it must ignore a malformed
/// one. The store knows `tracing` only: the node installs a hook that knows
/// OpenTelemetry ([`StateMachineStore::with_trace_hook`]).
pub type TraceHook = fn(&tracing::Span, &str);

/// The state machine: the [`SchedulingState`] in memory, written to disk
/// with the last applied log id and membership after every batch applied.
#[derive(Debug)]
pub struct StateMachineStore {
    db: Arc<DB>,
    last_applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, Node>,
    state: SchedulingState,
    snapshot_seq: u64,
    snapshot_lock: Arc<Mutex<()>>,
    trace_hook: Option<TraceHook>,
}

impl StateMachineStore {
    fn load(db: Arc<DB>) -> Result<Self, SError> {
        let sm = ErrorSubject::StateMachine;
        let last_applied =
            get_json::<Option<LogId<NodeId>>>(&db, CF_SM, "last_applied", sm.clone())?.flatten();
        let membership = get_json(&db, CF_SM, "last_membership", sm.clone())?.unwrap_or_default();
        let state = get_json(&db, CF_SM, "state", sm)?.unwrap_or_default();
        let (last_applied, membership, state) = match newer_snapshot(&db, last_applied)? {
            Some((meta, state)) => (meta.last_log_id, meta.last_membership, state),
            None => (last_applied, membership, state),
        };
        newer_rules(state.rules_version, ErrorSubject::StateMachine)?;
        Ok(Self {
            db,
            last_applied,
            membership,
            state,
            snapshot_seq: 0,
            snapshot_lock: Arc::default(),
            trace_hook: None,
        })
    }

    /// The same store, calling `hook` for every applied request whose log
    /// entry names the trace that proposed it (see [`TraceHook`]). Without
    /// one, the `state.apply` spans are children of their batch's only.
    pub fn with_trace_hook(mut self, hook: TraceHook) -> Self {
        self.trace_hook = Some(hook);
        self
    }

    /// The scheduling state as applied so far.
    ///
    /// Right after [`open`], this is the state of the newest snapshot (or of
    /// the last installed one): openraft then re-applies the committed log
    /// entries after [`RaftStateMachine::applied_state`].
    pub fn state(&self) -> &SchedulingState {
        &self.state
    }

    /// A reader of the node's archive (see [`archive`]).
    pub fn archive(&self) -> ArchiveReader {
        ArchiveReader {
            db: self.db.clone(),
        }
    }

    /// Write the applied state in one synced batch.
    fn persist(&self) -> Result<(), SError> {
        let subject = ErrorSubject::StateMachine;
        let smcf = cf(&self.db, CF_SM);
        let mut batch = WriteBatch::default();
        batch.put_cf(
            smcf,
            b"last_applied",
            encode(&self.last_applied, subject.clone())?,
        );
        batch.put_cf(
            smcf,
            b"last_membership",
            encode(&self.membership, subject.clone())?,
        );
        batch.put_cf(smcf, b"state", encode(&self.state, subject.clone())?);
        self.db
            .write_opt(batch, &synced())
            .map_err(|e| write_io(subject, e))
    }
}

/// An error if `version` is newer than the rules this build applies (see
/// [`crate::RULES_VERSION`]): such a node must be upgraded, not go on.
fn newer_rules(version: u32, subject: ErrorSubject<NodeId>) -> Result<(), SError> {
    if version > crate::RULES_VERSION {
        return Err(StorageIOError::new(
            subject,
            ErrorVerb::Read,
            AnyError::error(format!(
                "the cluster applies rules version {version}; this build applies up to {}: upgrade this node",
                crate::RULES_VERSION
            )),
        )
        .into());
    }
    Ok(())
}

/// A stored snapshot's meta and its decoded state.
type StoredSnapshot = (SnapshotMeta<NodeId, Node>, SchedulingState);

/// The stored snapshot and its state, if it is newer than `applied`.
fn newer_snapshot(
    db: &DB,
    applied: Option<LogId<NodeId>>,
) -> Result<Option<StoredSnapshot>, SError> {
    let Some(meta) = get_json::<SnapshotMeta<NodeId, Node>>(
        db,
        CF_SNAPSHOT,
        "meta",
        ErrorSubject::Snapshot(None),
    )?
    else {
        return Ok(None);
    };
    if meta.last_log_id <= applied {
        return Ok(None);
    }
    let subject = ErrorSubject::Snapshot(Some(meta.signature()));
    let data = db
        .get_cf(cf(db, CF_SNAPSHOT), b"data")
        .map_err(|e| read_io(subject.clone(), e))?
        .unwrap_or_default();
    let state = decode(&data, CF_SNAPSHOT, "data", subject)?;
    Ok(Some((meta, state)))
}

/// Write a snapshot's meta and data in one synced batch, unless the stored
/// snapshot is already newer (a snapshot built in the background may finish
/// after a newer one was installed). `lock` serializes the check and write.
fn save_snapshot(
    db: &DB,
    lock: &Mutex<()>,
    meta: &SnapshotMeta<NodeId, Node>,
    data: &[u8],
) -> Result<(), SError> {
    let _guard = lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let subject = ErrorSubject::Snapshot(Some(meta.signature()));
    let current: Option<SnapshotMeta<NodeId, Node>> =
        get_json(db, CF_SNAPSHOT, "meta", subject.clone())?;
    if current.is_some_and(|c| c.last_log_id > meta.last_log_id) {
        return Ok(());
    }
    let snapcf = cf(db, CF_SNAPSHOT);
    let mut batch = WriteBatch::default();
    batch.put_cf(snapcf, b"meta", encode(meta, subject.clone())?);
    batch.put_cf(snapcf, b"data", data);
    db.write_opt(batch, &synced())
        .map_err(|e| write_io(subject, e))
}

/// Builds a snapshot from a copy of the state taken when it was asked for.
#[derive(Debug)]
pub struct SnapshotBuilder {
    db: Arc<DB>,
    last_applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, Node>,
    state: SchedulingState,
    seq: u64,
    lock: Arc<Mutex<()>>,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, SError> {
        let data = encode(&self.state, ErrorSubject::Snapshot(None))?;
        let snapshot_id = match self.last_applied {
            Some(id) => format!("{}-{}-{}", id.leader_id, id.index, self.seq),
            None => format!("--{}", self.seq),
        };
        let meta = SnapshotMeta {
            last_log_id: self.last_applied,
            last_membership: self.membership.clone(),
            snapshot_id,
        };
        save_snapshot(&self.db, &self.lock, &meta, &data)?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, Node>), SError> {
        Ok((self.last_applied, self.membership.clone()))
    }

    #[tracing::instrument(name = "raft.apply", skip_all)]
    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Vec<Response>>, SError>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut out = Vec::new();
        let trace_hook = self.trace_hook;
        for entry in entries {
            // Rules newer than this build's: stop rather than apply the
            // log differently from the nodes that have them.
            if let EntryPayload::Normal(payload) = &entry.payload {
                for request in payload.requests() {
                    if let crate::Command::SetRulesVersion(v) = request.command {
                        newer_rules(v, ErrorSubject::Log(entry.log_id))?;
                    }
                }
            }
            self.last_applied = Some(entry.log_id);
            let responses = match entry.payload {
                EntryPayload::Blank => Vec::new(),
                EntryPayload::Normal(payload) => {
                    let mut responses = Vec::with_capacity(payload.requests().len());
                    for request in payload.requests() {
                        // Each request of a batch has its own trace.
                        let span = tracing::info_span!(
                            "state.apply",
                            index = entry.log_id.index,
                            client_id = %request.client_id,
                            request_id = request.request_id,
                            traceparent = request.trace.as_deref()
                        );
                        if let (Some(hook), Some(traceparent)) = (trace_hook, &request.trace) {
                            hook(&span, traceparent);
                        }
                        let _span = span.entered();
                        responses.push(self.state.apply(entry.log_id.index, request));
                        // What left the live state is in the archive before
                        // any snapshot of the state without it is taken.
                        let archived = self.state.take_archived();
                        if !archived.is_empty() {
                            archive::write(&self.db, &archived)?;
                        }
                    }
                    responses
                }
                EntryPayload::Membership(m) => {
                    self.membership = StoredMembership::new(Some(entry.log_id), m);
                    Vec::new()
                }
            };
            out.push(responses);
        }
        // The applied state is not written here: the log it was applied from
        // is synced, and on start openraft re-applies the committed log after
        // the state found on disk (the newest snapshot's, see `load`).
        // Writing the whole state per batch made every write cost a full
        // encode and a synced write of the state.
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.snapshot_seq += 1;
        SnapshotBuilder {
            db: self.db.clone(),
            last_applied: self.last_applied,
            membership: self.membership.clone(),
            state: self.state.clone(),
            seq: self.snapshot_seq,
            lock: self.snapshot_lock.clone(),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, SError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, Node>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), SError> {
        let data = snapshot.into_inner();
        let state: SchedulingState = decode(
            &data,
            CF_SNAPSHOT,
            "data",
            ErrorSubject::Snapshot(Some(meta.signature())),
        )?;
        newer_rules(
            state.rules_version,
            ErrorSubject::Snapshot(Some(meta.signature())),
        )?;
        save_snapshot(&self.db, &self.snapshot_lock, meta, &data)?;
        self.state = state;
        self.last_applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        self.persist()
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, SError> {
        let Some(meta) = get_json::<SnapshotMeta<NodeId, Node>>(
            &self.db,
            CF_SNAPSHOT,
            "meta",
            ErrorSubject::Snapshot(None),
        )?
        else {
            return Ok(None);
        };
        let data = self
            .db
            .get_cf(cf(&self.db, CF_SNAPSHOT), b"data")
            .map_err(|e| read_io(ErrorSubject::Snapshot(Some(meta.signature())), e))?
            .unwrap_or_default();
        Ok(Some(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use chrono::{TimeZone, Utc};
    use openraft::testing::log_id;

    use super::*;
    use crate::{Command, LogPayload, Request};

    fn request(n: u64, trace: Option<&str>) -> Request {
        let station = serde_json::from_value(serde_json::json!({
            "id": format!("st-{n}"),
            "location": {"lat": 30.1, "lon": 120.1},
            "min_on_duty": 1
        }))
        .expect("a valid station");
        Request {
            client_id: "trace-test".into(),
            request_id: n,
            actor: "operator".into(),
            site: None,
            time: Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap(),
            command: Command::UpsertStation(station),
            trace: trace.map(str::to_string),
        }
    }

    const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn log_entries_without_a_trace_decode_and_none_is_not_written() {
        let untraced = serde_json::to_value(request(1, None)).unwrap();
        assert!(untraced.get("trace").is_none(), "{untraced}");
        let entry = serde_json::json!({
            "log_id": log_id(1, 0, 7),
            "payload": {"Normal": [untraced.clone(), untraced]},
        });
        let entry = LogStore::decode_entry(&index_key(7), entry.to_string().as_bytes()).unwrap();
        let EntryPayload::Normal(payload) = entry.payload else {
            panic!("not a normal entry: {entry:?}");
        };
        assert_eq!(payload.requests().len(), 2);
        assert!(payload.requests().iter().all(|r| r.trace.is_none()));

        let traced = request(2, Some(TRACEPARENT));
        let json = serde_json::to_value(&traced).unwrap();
        assert_eq!(json["trace"], TRACEPARENT);
        assert_eq!(serde_json::from_value::<Request>(json).unwrap(), traced);
    }

    static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

    fn record(_span: &tracing::Span, traceparent: &str) {
        SEEN.lock().unwrap().push(traceparent.to_string());
    }

    /// Each request of a batch has its own trace: the hook is called once
    /// per traced request, with its traceparent.
    #[tokio::test]
    async fn the_trace_hook_sees_each_traced_request_of_a_batch() {
        let dir = tempfile::TempDir::new().unwrap();
        let (_log, sm) = open(dir.path()).await.unwrap();
        let mut sm = sm.with_trace_hook(record);
        let entry = Entry::<TypeConfig> {
            log_id: log_id(1, 0, 1),
            payload: EntryPayload::Normal(LogPayload::Batch(vec![
                request(1, Some(TRACEPARENT)),
                request(2, None),
                request(3, Some("not a traceparent")),
            ])),
        };
        let responses = sm.apply([entry]).await.unwrap();
        assert_eq!(responses[0].len(), 3);
        assert!(responses[0].iter().all(Response::is_applied));
        assert_eq!(*SEEN.lock().unwrap(), [TRACEPARENT, "not a traceparent"]);
    }
}
