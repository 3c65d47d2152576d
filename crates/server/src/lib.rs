//! The casehub node: the Raft transport over gRPC (tonic) and the node that
//! serves it. casehub-store knows openraft and RocksDB but not tonic; this
//! crate carries openraft's messages between nodes.
//!
//! # The transport
//!
//! `proto/casehub/v1/raft.proto` defines `casehub.v1.RaftService`:
//!
//! | rpc | called by | does |
//! |---|---|---|
//! | `AppendEntries` | the leader | `Raft::append_entries` on the receiver |
//! | `Vote` | a candidate | `Raft::vote` |
//! | `InstallSnapshot` | the leader, for a follower too far behind | `Raft::install_snapshot`, one chunk per call |
//! | `ClientWrite` | clients | `Raft::client_write` of a [`casehub_store::Request`] on the leader |
//!
//! Raft messages are openraft's own request and response types serialized
//! as JSON in a `bytes payload`: the same serde encoding the store uses on
//! disk. The sending side ([`network::GrpcNetwork`], openraft's
//! `RaftNetworkFactory`) keeps one lazily connected tonic channel per target
//! node and maps gRPC statuses back to openraft's `RPCError`s; the receiving
//! side ([`service::RaftGrpc`]) decodes, calls the local `Raft` and encodes.
//!
//! Errors are gRPC statuses. A payload that does not decode is
//! `INVALID_ARGUMENT` naming the rpc and the expected type; the node keeps
//! serving. A stopping node answers `UNAVAILABLE`. A Raft error carries its
//! JSON in the status details so that the sender rebuilds it. `ClientWrite` on
//! a node that is not the leader is `FAILED_PRECONDITION`, with the leader's
//! id and address in the metadata `casehub-leader-id` and
//! `casehub-leader-addr` (`UNAVAILABLE` if no leader is known). Messages up to [`MAX_MESSAGE_SIZE`] are accepted; snapshot
//! chunks are 1 MiB of data ([`Node::default_config`]).
//!
//! # Writes and reads
//!
//! `proto/casehub/v1/store.proto` defines `casehub.v1.StoreService`, the
//! raw store, served by every node next to `RaftService` on its peer
//! listener (the nodes' forwarding, and tools holding a node certificate):
//!
//! | rpc | does |
//! |---|---|
//! | `Write` | a client write through any node: the leader appends it, a follower forwards it to the leader's `ClientWrite` and returns its answer, retrying while an election is under way, up to the node's request deadline ([`NodeOptions::request_deadline`]) |
//! | `Read` | the scheduling state, `LINEARIZABLE` (read index) or `LOCAL` (as applied here, with its log index) |
//! | `ReadIndex` | the leader's read index, confirmed with a quorum; followers call it to serve linearizable reads |
//!
//! The same operations in process are [`Node::write`],
//! [`Node::read_linearizable`] and [`Node::read_local`]; over gRPC,
//! [`client::Client`]. A retry of a write is safe: the state machine answers
//! a request it has seen, by `(client_id, request_id)`, with its first
//! response.
//!
//! # Running a site's node
//!
//! [`config`] is the configuration of `casehub node` (a TOML file, `CASEHUB_*`
//! variables, flags; `docs/node-config.md`) and [`config::run`] the node's
//! life: start, bootstrap the cluster once, stop on a signal.
//!
//! # Starting a node
//!
//! [`Node::start`]`(id, addr, data_dir)`:
//!
//! 1. binds the peer listener `addr` (port 0 picks a free port;
//!    [`Node::addr`] tells which) and the client listener
//!    ([`NodeOptions::client_listen`], [`Node::client_addr`]);
//! 2. opens the RocksDB store in `data_dir` with `casehub_store::rocks::open`
//!    (created if missing; a restarted node resumes its vote, log and state);
//! 3. wraps the state machine so that every applied batch is published to a
//!    [`StateView`] ([`Node::state`]), since openraft owns the state machine;
//! 4. builds the `openraft::Raft` with [`network::GrpcNetwork`];
//! 5. serves `RaftService` and `StoreService` on the peer listener, the
//!    casehub API, health and reflection on the client listener; both over
//!    TLS when [`NodeOptions::tls`] is set ([`tls`]), with mutual TLS and
//!    node certificates only on the peer listener.
//!
//! A new cluster is initialized once, on one node, with every initial member
//! and its address (`node.raft().initialize(members)`); later members join
//! with `add_learner` and `change_membership`. [`Node::shutdown`] stops Raft
//! (closing the database) and then the server.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::collections::BTreeMap;
//! let node = casehub_server::Node::start(1, "127.0.0.1:7001", "/var/lib/casehub/1").await?;
//! node.raft()
//!     .initialize(BTreeMap::from([(1, node.basic_node())]))
//!     .await?;
//! // ... serve ...
//! node.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod alert_monitor;
pub mod api;
pub mod auth;
pub mod client;
pub mod config;
pub mod console;
pub mod convert;
pub mod dispatch;
mod forward;
mod grpc_admin;
mod grpc_alerts;
pub mod grpc_api;
mod grpc_audit;
mod grpc_availability;
mod grpc_cases;
mod grpc_dispatch;
mod grpc_resources;
pub mod grpc_users;
pub mod network;
pub mod node;
pub mod particulars;
pub mod pki;
pub mod retention;
pub mod rules;
pub mod scope;
pub mod service;
pub mod streams;
pub mod telemetry;
pub mod tls;
pub mod view;

pub use api::{ClusterError, Consistency, ReadState, Written};
pub use forward::{LEADER_ADDR_KEY, LEADER_ID_KEY, leader_of};
pub use node::{Node, NodeError, NodeOptions};
pub use view::{Applied, StateView};

/// The largest gRPC message a node sends or accepts between nodes (Raft's
/// AppendEntries carry up to 32 entries of grouped requests): 64 MiB.
pub const MAX_MESSAGE_SIZE: usize = 64 << 20;

/// The largest request a node takes from a client, by any way in: an API
/// message, a raw store write, a request forwarded to the leader: 4 MiB
/// (a region scenario fits many times over). Larger ones are OUT_OF_RANGE.
pub const MAX_REQUEST_SIZE: usize = 4 << 20;

/// Generated gRPC code for package `casehub.v1` (`proto/casehub/v1/raft.proto`).
#[allow(missing_docs, clippy::all)]
pub mod proto {
    tonic::include_proto!("casehub.v1");
}
