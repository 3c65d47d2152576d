//! A read-only view of the scheduling state, for the node's own readers.
//!
//! openraft owns the state machine once the node runs, and 0.9 offers no way
//! to read it from outside. [`ObservedStateMachine`] wraps the store's
//! [`StateMachineStore`] and, after every applied batch and every installed
//! snapshot, publishes a copy of the [`SchedulingState`] with the last applied
//! log index to a [`StateView`]. The copy is a clone of the state, in which
//! the parts that grow with every request (the audit log and the
//! deduplication table) are persistent structures shared with the state
//! machine, not copied; the entity maps are copied.

use std::sync::Arc;

use casehub_store::rocks::{ArchiveReader, SnapshotBuilder, StateMachineStore};
use casehub_store::{SchedulingState, TypeConfig};
use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{LogId, OptionalSend, SnapshotMeta, StorageError, StoredMembership};
use tokio::sync::watch;

type NodeId = u64;
type Node = openraft::BasicNode;

/// The scheduling state as applied on this node, with the log index it was
/// applied up to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// The last applied log index (`None` before anything was applied).
    pub index: Option<u64>,
    /// The state after that entry.
    pub state: SchedulingState,
}

/// A read-only view of this node's scheduling state, updated after every
/// applied batch and installed snapshot. Cloning is cheap.
#[derive(Debug, Clone)]
pub struct StateView {
    rx: watch::Receiver<Arc<Applied>>,
    archive: ArchiveReader,
}

impl StateView {
    /// The node's archive: what left the live state (see
    /// `casehub_store::archive`). Its reads are blocking RocksDB reads.
    pub fn archive(&self) -> &ArchiveReader {
        &self.archive
    }

    /// The last published state.
    pub fn current(&self) -> Arc<Applied> {
        self.rx.borrow().clone()
    }

    /// The log index the published state was applied up to.
    pub fn applied_index(&self) -> Option<u64> {
        self.rx.borrow().index
    }

    /// Wait until the state reflects log index `index` (or later) and return
    /// it; `None` if the node stopped first.
    pub async fn wait_applied(&self, index: u64) -> Option<Arc<Applied>> {
        let mut rx = self.rx.clone();
        rx.wait_for(|a| a.index.is_some_and(|i| i >= index))
            .await
            .ok()
            .map(|a| a.clone())
    }
}

/// The store's state machine, publishing its state to a [`StateView`].
#[derive(Debug)]
pub struct ObservedStateMachine {
    inner: StateMachineStore,
    tx: watch::Sender<Arc<Applied>>,
}

impl ObservedStateMachine {
    /// Wrap `inner`; the view starts from its state as loaded from disk.
    pub async fn new(
        mut inner: StateMachineStore,
    ) -> Result<(Self, StateView), StorageError<NodeId>> {
        let (applied, _) = inner.applied_state().await?;
        let (tx, rx) = watch::channel(Arc::new(Applied {
            index: applied.map(|l| l.index),
            state: inner.state().clone(),
        }));
        let archive = inner.archive();
        Ok((Self { inner, tx }, StateView { rx, archive }))
    }

    async fn publish(&mut self) -> Result<(), StorageError<NodeId>> {
        let (applied, _) = self.inner.applied_state().await?;
        let snapshot = Arc::new(Applied {
            index: applied.map(|l| l.index),
            state: self.inner.state().clone(),
        });
        self.tx.send_replace(snapshot);
        Ok(())
    }
}

impl RaftStateMachine<TypeConfig> for ObservedStateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, Node>), StorageError<NodeId>> {
        self.inner.applied_state().await
    }

    async fn apply<I>(
        &mut self,
        entries: I,
    ) -> Result<Vec<Vec<casehub_store::Response>>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = openraft::Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let out = self.inner.apply(entries).await?;
        self.publish().await?;
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.inner.get_snapshot_builder().await
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<std::io::Cursor<Vec<u8>>>, StorageError<NodeId>> {
        self.inner.begin_receiving_snapshot().await
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, Node>,
        snapshot: Box<std::io::Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        self.inner.install_snapshot(meta, snapshot).await?;
        self.publish().await
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        self.inner.get_current_snapshot().await
    }
}
