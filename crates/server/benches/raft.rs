//! Raft write throughput and commit latency of a 3-node casehub cluster on
//! loopback (RocksDB on disk, every log write fsynced), for 1, 16
//! and 64 concurrent clients; with `--etcd`, the same against a 3-node etcd
//! cluster started from the bench (the `etcd` binary of Debian's
//! `etcd-server`), with values of the same size, in the same run.
//!
//! ```text
//! cargo bench -p casehub-server --bench raft                      # casehub only
//! cargo bench -p casehub-server --bench raft -- --etcd            # and etcd
//! cargo bench -p casehub-server --bench raft -- --etcd --secs 10 --clients 1,16,64
//! cargo bench -p casehub-server --bench raft -- --etcd --tls     # both over mutual TLS
//! ```
//!
//! With `--tls`, both systems run over mutual TLS with certificates of one
//! CA made by the bench (rcgen, ECDSA P-256): casehub's nodes with their
//! node certificates (peers and the clients' calls to the peer listener's
//! store), etcd with `--client-cert-auth` and `--peer-client-cert-auth`.
//!
//! Each client sends one write at a time, spread over the three nodes, and
//! waits for its answer: a casehub write is `StoreService.Write` (a follower
//! forwards it to the leader) of an `UpsertStation` request; an etcd write
//! is `KV.Put` (a follower forwards it to the leader) of a key whose value
//! is the JSON of that same request. The latency is the client's, from the
//! call to the committed answer. The data directories are in the system's
//! temporary directory (`TMPDIR` to move them).
//!
//! etcd is driven over its gRPC API with tonic and three hand-declared prost
//! messages (`PutRequest`, `PutResponse`, `ResponseHeader`, field numbers
//! from etcd's `rpc.proto`), so that no `protoc` is needed.

mod common;

use std::collections::BTreeMap;

use common::{Certs, start_etcd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use casehub_server::client::Client;
use casehub_server::tls::Tls;
use casehub_server::{Node, NodeOptions};
use casehub_store::{Command as StoreCommand, Request};
use chrono::{TimeZone, Utc};
use clap::Parser;
use openraft::BasicNode;
use tonic::transport::{Channel, Endpoint};

// The allocator of the `casehub` binary, so that the nodes here run as they
// do in production.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(about = "casehub Raft write bench, optionally against etcd")]
struct Args {
    /// Also run the same load against a 3-node etcd cluster.
    #[arg(long)]
    etcd: bool,
    /// Skip casehub (with --etcd: etcd only).
    #[arg(long)]
    no_casehub: bool,
    /// Concurrent clients per level.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    clients: Vec<usize>,
    /// Seconds of load per level.
    #[arg(long, default_value_t = 5)]
    secs: u64,
    /// casehub: send every write to the leader instead of spreading the
    /// clients over the three nodes (no forwarding hop).
    #[arg(long)]
    leader_only: bool,
    /// The etcd binary.
    #[arg(long, default_value = "etcd")]
    etcd_bin: PathBuf,
    /// Mutual TLS for both systems (the default is plaintext).
    #[arg(long)]
    tls: bool,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn request(client: usize, n: u64) -> Request {
    let station = serde_json::from_value(serde_json::json!({
        "id": format!("bench-{client}"),
        "name": format!("Bench station {client} write {n:08}"),
        "location": {"lat": 30.1, "lon": 120.1},
        "min_on_duty": 2
    }))
    .expect("a valid station");
    Request {
        client_id: format!("bench-{client}"),
        request_id: n,
        actor: "bench".into(),
        site: None,
        time: Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap(),
        command: StoreCommand::UpsertStation(station),
        trace: None,
    }
}

#[derive(Debug)]
struct Level {
    clients: usize,
    writes: usize,
    secs: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
}

/// Run `clients` loops of `write` for `secs`; collect latencies.
async fn drive<W, Fut>(clients: usize, secs: u64, write: W) -> Level
where
    W: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let write = Arc::new(write);
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..clients {
        let write = write.clone();
        tasks.spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            let mut n = 0u64;
            while Instant::now() < end {
                n += 1;
                let t = Instant::now();
                match write(c, n).await {
                    Ok(()) => lat.push(t.elapsed()),
                    Err(e) => {
                        errors += 1;
                        if errors <= 3 {
                            eprintln!("client {c}: {e}");
                        }
                    }
                }
            }
            (lat, errors)
        });
    }
    let mut all = Vec::new();
    let mut errors = 0;
    while let Some(r) = tasks.join_next().await {
        let (lat, e) = r.expect("client task");
        all.extend(lat);
        errors += e;
    }
    let secs = start.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Level {
        clients,
        writes: all.len(),
        secs,
        p50: pct(0.50),
        p99: pct(0.99),
        errors,
    }
}

fn print(system: &str, levels: &[Level]) {
    for l in levels {
        println!(
            "| {system} | {} | {} | {:.0} | {:.2} | {:.2} | {} |",
            l.clients,
            l.writes,
            l.writes as f64 / l.secs,
            l.p50.as_secs_f64() * 1e3,
            l.p99.as_secs_f64() * 1e3,
            l.errors
        );
    }
}

async fn casehub(args: &Args, dir: &Path, certs: Option<&Certs>) -> Vec<Level> {
    let mut nodes = BTreeMap::new();
    for id in 1..=3u64 {
        let tls = certs.map(|c| Tls::from_pem(&c.ca.cert, &c.node(id)).expect("TLS"));
        let node = Node::start_with_options(NodeOptions {
            tls,
            ..NodeOptions::new(id, "127.0.0.1:0", dir.join(format!("casehub-{id}")))
        })
        .await
        .expect("node starts");
        nodes.insert(id, node);
    }
    let connect = |addrs: &[String]| match certs {
        Some(c) => Client::connect_any_tls(
            addrs,
            casehub_server::tls::client_config(&c.ca.cert, Some(&c.node(9)), None),
        )
        .unwrap(),
        None => Client::connect_any(addrs).unwrap(),
    };
    let members: BTreeMap<u64, BasicNode> =
        nodes.iter().map(|(id, n)| (*id, n.basic_node())).collect();
    nodes[&1]
        .raft()
        .initialize(members)
        .await
        .expect("initialize");
    let addrs: Vec<String> = nodes.values().map(|n| n.addr().to_string()).collect();
    // Wait for a leader: a linearizable read answers once there is one.
    connect(&addrs).read_linearizable().await.expect("a leader");
    let leader = nodes[&1].leader().expect("a leader");
    eprintln!("casehub: node {leader} leads");
    let targets: Vec<String> = if args.leader_only {
        vec![nodes[&leader].addr().to_string()]
    } else {
        addrs.clone()
    };
    let clients: Arc<Vec<Client>> = Arc::new(
        targets
            .iter()
            .map(|a| connect(std::slice::from_ref(a)))
            .collect(),
    );
    let mut levels = Vec::new();
    for (round, &c) in args.clients.iter().enumerate() {
        let clients = clients.clone();
        let level = drive(c, args.secs, move |client, n| {
            let clients = clients.clone();
            async move {
                let req = request(client + 1000 * round, n);
                let w = clients[client % clients.len()]
                    .write(&req)
                    .await
                    .map_err(|e| e.to_string())?;
                if w.response.is_applied() {
                    Ok(())
                } else {
                    Err(format!("rejected: {:?}", w.response))
                }
            }
        })
        .await;
        eprintln!("casehub: {level:?}");
        levels.push(level);
    }
    // What each applied batch costs on every node at the end: the store
    // writes the whole state as JSON, and the node's StateView clones it.
    let state = nodes[&1].read_local();
    let t = Instant::now();
    let json = serde_json::to_vec(state.state()).map_or(0, |v| v.len());
    let encode = t.elapsed();
    let t = Instant::now();
    let copy = state.state().clone();
    let clone = t.elapsed();
    drop(copy);
    eprintln!(
        "casehub: applied index {:?}; at the end the state is {json} bytes of JSON, encoded in {encode:?}, cloned in {clone:?}",
        state.applied_index(),
    );
    for (_, node) in nodes {
        node.shutdown().await;
    }
    levels
}

// ---- etcd ------------------------------------------------------------------

/// `etcdserverpb.PutRequest` (only the fields used).
#[derive(Clone, PartialEq, prost::Message)]
struct PutRequest {
    #[prost(bytes = "vec", tag = "1")]
    key: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

/// `etcdserverpb.ResponseHeader`.
#[derive(Clone, PartialEq, prost::Message)]
struct ResponseHeader {
    #[prost(uint64, tag = "1")]
    cluster_id: u64,
    #[prost(uint64, tag = "2")]
    member_id: u64,
    #[prost(int64, tag = "3")]
    revision: i64,
    #[prost(uint64, tag = "4")]
    raft_term: u64,
}

/// `etcdserverpb.PutResponse` (without `prev_kv`).
#[derive(Clone, PartialEq, prost::Message)]
struct PutResponse {
    #[prost(message, optional, tag = "1")]
    header: Option<ResponseHeader>,
}

async fn etcd_put(channel: Channel, key: Vec<u8>, value: Vec<u8>) -> Result<PutResponse, String> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|e| e.to_string())?;
    let path = tonic::codegen::http::uri::PathAndQuery::from_static("/etcdserverpb.KV/Put");
    let codec = tonic_prost::ProstCodec::<PutRequest, PutResponse>::default();
    grpc.unary(tonic::Request::new(PutRequest { key, value }), path, codec)
        .await
        .map(|r| r.into_inner())
        .map_err(|s| s.to_string())
}

async fn etcd(args: &Args, dir: &Path, certs: Option<&Certs>) -> Vec<Level> {
    let (_etcd, addrs) = start_etcd(&args.etcd_bin, dir, certs).unwrap_or_else(|e| panic!("{e}"));
    let channels: Vec<Channel> = addrs
        .iter()
        .map(|a| match certs {
            Some(c) => Endpoint::from_shared(format!("https://{a}"))
                .unwrap()
                .tls_config(casehub_server::tls::client_config(
                    &c.ca.cert,
                    Some(&c.node(9)),
                    None,
                ))
                .unwrap()
                .tcp_nodelay(true)
                .connect_lazy(),
            None => Endpoint::from_shared(format!("http://{a}"))
                .unwrap()
                .tcp_nodelay(true)
                .connect_lazy(),
        })
        .collect();
    // Ready once every member accepts a put.
    let deadline = Instant::now() + Duration::from_secs(60);
    for ch in &channels {
        while let Err(e) = etcd_put(ch.clone(), b"ready".to_vec(), b"1".to_vec()).await {
            assert!(Instant::now() < deadline, "etcd does not start: {e}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let channels = Arc::new(channels);
    let mut levels = Vec::new();
    for (round, &c) in args.clients.iter().enumerate() {
        let channels = channels.clone();
        let level = drive(c, args.secs, move |client, n| {
            let channels = channels.clone();
            async move {
                let req = request(client + 1000 * round, n);
                let value = serde_json::to_vec(&req).map_err(|e| e.to_string())?;
                let key = format!("bench/{}/{n}", client + 1000 * round).into_bytes();
                etcd_put(channels[client % channels.len()].clone(), key, value)
                    .await
                    .map(|_| ())
            }
        })
        .await;
        eprintln!("etcd: {level:?}");
        levels.push(level);
    }
    levels
}

fn main() {
    let args = Args::parse();
    let dir = tempfile::TempDir::new().expect("a temporary directory");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let value_size = serde_json::to_vec(&request(0, 1)).unwrap().len();
    let certs = args.tls.then(|| Certs::new(dir.path()));
    let (casehub_levels, etcd_levels) = runtime.block_on(async {
        let c = if args.no_casehub {
            Vec::new()
        } else {
            casehub(&args, dir.path(), certs.as_ref()).await
        };
        let e = if args.etcd {
            etcd(&args, dir.path(), certs.as_ref()).await
        } else {
            Vec::new()
        };
        (c, e)
    });
    println!(
        "\n3 nodes on loopback, fsync on, {}, {} s per level, writes of {value_size} bytes (JSON request), clients spread over the 3 nodes\n",
        if args.tls { "mutual TLS" } else { "plaintext" },
        args.secs
    );
    println!("| system | clients | writes | writes/s | p50 ms | p99 ms | errors |");
    println!("|---|---|---|---|---|---|---|");
    print("casehub", &casehub_levels);
    print("etcd", &etcd_levels);
}
