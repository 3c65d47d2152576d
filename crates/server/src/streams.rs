//! Bounds on the API's server streams (`Watch`, `WatchProposals`,
//! `StreamAlerts`, `StreamAudit`): each holds a task of its own, so a node
//! caps how many run at once, per user and in all. Past a cap a new stream
//! is RESOURCE_EXHAUSTED; a stream's place is freed as soon as its client
//! goes away ([`until_closed`]).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tonic::Status;

/// Streams one user may hold open on one node.
pub const MAX_STREAMS_PER_USER: usize = 16;
/// Streams one node serves at once, all users together.
pub const MAX_STREAMS_PER_NODE: usize = 512;

/// The node's stream places.
#[derive(Debug)]
pub struct StreamLimits {
    node: Arc<Semaphore>,
    per_user: usize,
    users: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits::new(MAX_STREAMS_PER_USER, MAX_STREAMS_PER_NODE)
    }
}

/// One stream's place; dropping it frees the place.
#[derive(Debug)]
pub struct StreamPermit {
    _node: OwnedSemaphorePermit,
    _user: OwnedSemaphorePermit,
}

impl StreamLimits {
    pub fn new(per_user: usize, per_node: usize) -> Self {
        StreamLimits {
            node: Arc::new(Semaphore::new(per_node)),
            per_user,
            users: Mutex::default(),
        }
    }

    /// A place for a new stream of `user`, or RESOURCE_EXHAUSTED.
    pub fn acquire(&self, user: &str) -> Result<StreamPermit, Status> {
        let mine = {
            let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
            // Forget users with no stream open, so the map stays small.
            users.retain(|_, s| s.available_permits() < self.per_user);
            users
                .entry(user.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_user)))
                .clone()
        };
        let user_permit = mine.try_acquire_owned().map_err(|_| {
            Status::resource_exhausted(format!(
                "user {user:?} has {} streams open on this node, the most allowed: close one",
                self.per_user
            ))
        })?;
        let node_permit = self.node.clone().try_acquire_owned().map_err(|_| {
            Status::resource_exhausted(
                "this node serves as many streams as it may: try another node or later",
            )
        })?;
        Ok(StreamPermit {
            _node: node_permit,
            _user: user_permit,
        })
    }
}

/// `work`, or `None` as soon as the stream's client has gone away.
pub async fn until_closed<T, F: Future>(tx: &mpsc::Sender<T>, work: F) -> Option<F::Output> {
    tokio::select! {
        out = work => Some(out),
        _ = tx.closed() => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_gets_at_most_its_share_and_the_node_its_total() {
        let limits = StreamLimits::new(2, 3);
        let a1 = limits.acquire("a").unwrap();
        let _a2 = limits.acquire("a").unwrap();
        let e = limits.acquire("a").unwrap_err();
        assert_eq!(e.code(), tonic::Code::ResourceExhausted);
        assert!(e.message().contains("\"a\""), "{}", e.message());
        let _b1 = limits.acquire("b").unwrap();
        // The node's three places are taken.
        assert_eq!(
            limits.acquire("c").unwrap_err().code(),
            tonic::Code::ResourceExhausted
        );
        drop(a1);
        limits.acquire("a").unwrap();
    }
}
