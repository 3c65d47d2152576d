//! A client of the replicated store over gRPC (`casehub.v1.StoreService`).
//!
//! The client knows one or more nodes. It sends each call to the node it
//! used last; the node forwards writes to the leader and serves reads. If
//! that node does not answer (it is down, or it found no leader before its
//! own deadline) the client moves on to the next node, pausing once it has
//! tried them all, until its deadline (30 s by default).
//!
//! ```no_run
//! # async fn run(request: casehub_store::Request) -> Result<(), casehub_server::ClusterError> {
//! use casehub_server::client::Client;
//! let client = Client::connect_any(["127.0.0.1:7401", "127.0.0.1:7402"])?;
//! let written = client.write(&request).await?;
//! let read = client.read_linearizable().await?;
//! assert!(read.applied_index() >= Some(written.log_index));
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use casehub_store::{Request, SchedulingState};
use tokio::time::Instant;
use tonic::Code;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use crate::MAX_MESSAGE_SIZE;
use crate::api::{ClusterError, Consistency, ReadState, Written};
use crate::forward::leader_of;
use crate::proto::store_service_client::StoreServiceClient;
use crate::proto::{self, ReadRequest, WriteRequest};
use crate::view::Applied;

/// A client of one cluster. Cheap to share by reference; calls may run
/// concurrently.
#[derive(Debug)]
pub struct Client {
    nodes: Vec<(String, Channel)>,
    current: AtomicUsize,
    deadline: Duration,
}

impl Client {
    /// The default deadline of one call, retries included: 30 s.
    pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(30);

    /// A client of the node at `addr` (`host:port`). Connects lazily: this
    /// fails only if the address is not valid.
    pub fn connect(addr: &str) -> Result<Client, ClusterError> {
        Self::connect_any([addr])
    }

    /// A client of a cluster, knowing the nodes at `addrs`, in plaintext
    /// (a development cluster).
    pub fn connect_any<I, S>(addrs: I) -> Result<Client, ClusterError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self::connect_with(addrs, None)
    }

    /// A client of a cluster over TLS: the store is served on the nodes'
    /// peer listeners, so `tls` presents a node certificate.
    pub fn connect_any_tls<I, S>(addrs: I, tls: ClientTlsConfig) -> Result<Client, ClusterError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self::connect_with(addrs, Some(tls))
    }

    fn connect_with<I, S>(addrs: I, tls: Option<ClientTlsConfig>) -> Result<Client, ClusterError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut nodes = Vec::new();
        for addr in addrs {
            let addr = addr.as_ref().to_string();
            let invalid = |e: tonic::transport::Error| ClusterError::InvalidAddress {
                addr: addr.clone(),
                message: e.to_string(),
            };
            let scheme = if tls.is_some() { "https" } else { "http" };
            let mut endpoint = Endpoint::from_shared(format!("{scheme}://{addr}"))
                .map_err(invalid)?
                .connect_timeout(Duration::from_secs(1))
                .tcp_nodelay(true);
            if let Some(tls) = &tls {
                endpoint = endpoint.tls_config(tls.clone()).map_err(invalid)?;
            }
            nodes.push((addr.clone(), endpoint.connect_lazy()));
        }
        if nodes.is_empty() {
            return Err(ClusterError::InvalidAddress {
                addr: String::new(),
                message: "a client needs at least one node address".into(),
            });
        }
        Ok(Client {
            nodes,
            current: AtomicUsize::new(0),
            deadline: Self::DEFAULT_DEADLINE,
        })
    }

    /// The same client with another deadline per call.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Submit a request; any node accepts it and the leader commits it. A
    /// retry with the same `(client_id, request_id)` gets the first answer.
    pub async fn write(&self, request: &Request) -> Result<Written, ClusterError> {
        let payload = serde_json::to_vec(request).map_err(|e| ClusterError::Refused {
            node: "client".into(),
            code: Code::InvalidArgument,
            message: format!("the request does not encode: {e}"),
        })?;
        self.call(|mut client, left| {
            let payload = payload.clone();
            async move {
                let mut call = tonic::Request::new(WriteRequest { request: payload });
                call.set_timeout(left);
                client.write(call).await.map(|r| r.into_inner())
            }
        })
        .await
        .and_then(|(addr, reply)| {
            let response =
                serde_json::from_slice(&reply.response).map_err(|e| ClusterError::Decode {
                    from: addr,
                    message: e.to_string(),
                })?;
            Ok(Written {
                log_index: reply.log_index,
                log_term: reply.log_term,
                response,
                leader_id: reply.leader_id,
                forwarded: reply.forwarded,
            })
        })
    }

    /// A linearizable read: the state reflects every write acknowledged
    /// before the call.
    pub async fn read_linearizable(&self) -> Result<ReadState, ClusterError> {
        self.read(Consistency::Linearizable).await
    }

    /// A local read of the node the client uses: possibly stale;
    /// [`ReadState::applied_index`] says how fresh.
    pub async fn read_local(&self) -> Result<ReadState, ClusterError> {
        self.read(Consistency::Local).await
    }

    /// A read with the given consistency.
    pub async fn read(&self, consistency: Consistency) -> Result<ReadState, ClusterError> {
        let wanted = match consistency {
            Consistency::Linearizable => proto::Consistency::Linearizable,
            Consistency::Local => proto::Consistency::Local,
        } as i32;
        let (addr, reply) = self
            .call(|mut client, left| async move {
                let mut call = tonic::Request::new(ReadRequest {
                    consistency: wanted,
                });
                call.set_timeout(left);
                client.read(call).await.map(|r| r.into_inner())
            })
            .await?;
        let state: SchedulingState =
            serde_json::from_slice(&reply.state).map_err(|e| ClusterError::Decode {
                from: addr,
                message: e.to_string(),
            })?;
        Ok(ReadState {
            node_id: reply.node_id,
            leader_id: (reply.leader_id != 0).then_some(reply.leader_id),
            consistency,
            read_index: (consistency == Consistency::Linearizable).then_some(reply.read_index),
            applied: Arc::new(Applied {
                index: (reply.applied_index != 0).then_some(reply.applied_index),
                state,
            }),
        })
    }

    /// Call the current node; on a node that does not answer, or answers
    /// that it cannot serve now, move on to the next, until the deadline.
    async fn call<T, F, Fut>(&self, mut f: F) -> Result<(String, T), ClusterError>
    where
        F: FnMut(StoreServiceClient<Channel>, Duration) -> Fut,
        Fut: std::future::Future<Output = Result<T, tonic::Status>>,
    {
        let started = Instant::now();
        let deadline = started + self.deadline;
        let mut pause = Duration::from_millis(50);
        let mut tried = 0;
        let mut last: Option<tonic::Status> = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let leader = last.as_ref().and_then(leader_of);
                return Err(ClusterError::NoLeader {
                    waited: started.elapsed(),
                    leader,
                    last: last.map_or("no answer".into(), |s| s.message().to_string()),
                });
            }
            let i = self.current.load(Ordering::Relaxed) % self.nodes.len();
            let (addr, channel) = &self.nodes[i];
            let client = StoreServiceClient::new(channel.clone())
                .max_decoding_message_size(MAX_MESSAGE_SIZE)
                .max_encoding_message_size(MAX_MESSAGE_SIZE);
            match f(client, left).await {
                Ok(v) => return Ok((addr.clone(), v)),
                Err(status) => match status.code() {
                    Code::Unavailable
                    | Code::DeadlineExceeded
                    | Code::Cancelled
                    | Code::Unknown => {
                        last = Some(status);
                        let _ = self.current.compare_exchange(
                            i,
                            (i + 1) % self.nodes.len(),
                            Ordering::Relaxed,
                            Ordering::Relaxed,
                        );
                        tried += 1;
                        if tried % self.nodes.len() == 0 {
                            let left = deadline.saturating_duration_since(Instant::now());
                            tokio::time::sleep(pause.min(left)).await;
                            pause = (pause * 2).min(Duration::from_millis(500));
                        }
                    }
                    code => {
                        return Err(ClusterError::Refused {
                            node: addr.clone(),
                            code,
                            message: status.message().to_string(),
                        });
                    }
                },
            }
        }
    }
}
