//! Availability reads of a 3-node casehub cluster on loopback, over mutual
//! TLS and through the authorization layer, for 1, 16 and 64 concurrent
//! clients: reads/s per node and the client's p50 and p99 latency, all
//! clients on one node, then spread over the three; in the same run, the
//! same load of serializable `Range` reads against a 3-node etcd cluster
//! over mutual TLS with its authentication on (the `etcd` binary of
//! Debian's `etcd-server`; `--no-etcd` to skip it).
//!
//! ```text
//! cargo bench -p casehub-server --bench reads                        # casehub and etcd
//! cargo bench -p casehub-server --bench reads -- --secs 10 --clients 1,16,64
//! cargo bench -p casehub-server --bench reads -- --no-etcd --site MAIN
//! ```
//!
//! casehub: the nodes run with the API over the sample county's
//! `region-3-sites.toml` (3 sites, 26 stations, 274 officers, 10 escort
//! teams), loaded through `AdminService.LoadRegion` by an admin; the readers
//! are one user with the planner role (`ReadAvailability`), authenticated by
//! a user certificate of the cluster CA, each client with its own TLS
//! connection to a node's client listener. A read is
//! `AvailabilityService.GetAvailability` of every site (or `--site`) over
//! the next 25 hours: the authorization layer looks the user up in the
//! applied state, checks the role and counts the call against the user's
//! rate (the security policy's rate is raised for the bench, so that it
//! counts and never refuses), and the handler computes the availability
//! from the node's applied state. The users and the policy are written as
//! `casehub user add --peer` does: `StoreService.Write` on a node's peer
//! listener with a node certificate.
//!
//! etcd: a key whose value is as large as casehub's answer, read with
//! `KV.Range` (`serializable`: the member's own state, as casehub's read is
//! the node's applied state), by a user named by the client certificate's
//! common name with a role that may read that key (etcd's
//! `--client-cert-auth` with authentication enabled). etcd is driven over
//! its gRPC API with tonic and hand-declared prost messages (field numbers
//! from etcd's `rpc.proto` and `auth.proto`), so that no `protoc` is needed.
//!
//! Everything runs on this machine: the nodes (one process, one runtime),
//! the etcd members and the clients share its cores.

mod common;

use common::{Certs, start_etcd};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use casehub_model::scenario::parse_region;
use casehub_planning::Settings;
use casehub_server::client::Client;
use casehub_server::grpc_api::{ApiContext, LocalRegion};
use casehub_server::pki;
use casehub_server::proto::admin_service_client::AdminServiceClient;
use casehub_server::proto::availability_service_client::AvailabilityServiceClient;
use casehub_server::proto::{self as pb};
use casehub_server::tls::Tls;
use casehub_server::{Node, NodeOptions};
use casehub_store::{Command as StoreCommand, Request, Role, SecurityPolicy, User};
use casehub_travel::{GreatCircle, TravelTable};
use clap::Parser;
use openraft::BasicNode;
use prost::Message as _;
use tonic::transport::{Channel, Endpoint};

// The allocator of the `casehub` binary, so that the nodes here run as they
// do in production.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const REGION: &str = include_str!("../../../simulations/sample-county/region-3-sites.toml");
/// The user the readers authenticate as (planner: `ReadAvailability`).
const READER: &str = "bench-planner";
/// The user that loads the region (admin: `ManageRegion`).
const ADMIN: &str = "bench-admin";

#[derive(Parser, Debug)]
#[command(
    about = "casehub availability-read bench over mutual TLS and authorization, against etcd"
)]
struct Args {
    /// Concurrent clients per level.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    clients: Vec<usize>,
    /// Seconds of load per level.
    #[arg(long, default_value_t = 5)]
    secs: u64,
    /// Read one site's availability (default: every site).
    #[arg(long, default_value = "")]
    site: String,
    /// Skip the etcd comparison.
    #[arg(long)]
    no_etcd: bool,
    /// The etcd binary.
    #[arg(long, default_value = "etcd")]
    etcd_bin: PathBuf,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Debug)]
struct Level {
    /// Where the clients went: "1 node" or "3 nodes".
    spread: &'static str,
    nodes: usize,
    clients: usize,
    reads: usize,
    secs: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
}

/// Run `clients` loops of `read` for `secs`; collect latencies.
async fn drive<R, Fut>(
    spread: &'static str,
    nodes: usize,
    clients: usize,
    secs: u64,
    read: R,
) -> Level
where
    R: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let read = Arc::new(read);
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..clients {
        let read = read.clone();
        tasks.spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            while Instant::now() < end {
                let t = Instant::now();
                match read(c).await {
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
        spread,
        nodes,
        clients,
        reads: all.len(),
        secs,
        p50: pct(0.50),
        p99: pct(0.99),
        errors,
    }
}

fn print(system: &str, levels: &[Level]) {
    for l in levels {
        let per_s = l.reads as f64 / l.secs;
        println!(
            "| {system} | {} | {} | {} | {:.0} | {:.0} | {:.2} | {:.2} | {} |",
            l.spread,
            l.clients,
            l.reads,
            per_s,
            per_s / l.nodes as f64,
            l.p50.as_secs_f64() * 1e3,
            l.p99.as_secs_f64() * 1e3,
            l.errors
        );
    }
}

fn store_request(n: u64, command: StoreCommand) -> Request {
    Request {
        client_id: "bench-setup".into(),
        request_id: n,
        actor: "bench".into(),
        site: None,
        time: chrono::Utc::now(),
        command,
        trace: None,
    }
}

fn user(name: &str, role: Role) -> StoreCommand {
    StoreCommand::UpsertUser(User {
        name: name.into(),
        roles: [role].into_iter().collect(),
        sites: Default::default(),
        password_hash: None,
        disabled: false,
    })
}

fn ts(t: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    }
}

/// The read: every site's (or `site`'s) availability over the next 25 hours.
fn availability_request(site: &str) -> pb::GetAvailabilityRequest {
    let now = chrono::Utc::now();
    pb::GetAvailabilityRequest {
        site_id: site.into(),
        window: Some(pb::Interval {
            start: Some(ts(now - chrono::Duration::hours(1))),
            end: Some(ts(now + chrono::Duration::hours(24))),
        }),
    }
}

/// The casehub levels, and the size of one answer in bytes.
async fn casehub(args: &Args, dir: &Path, certs: &Certs) -> (Vec<Level>, usize) {
    let region = parse_region("region-3-sites.toml", REGION).expect("the sample region");
    let travel = TravelTable::for_region(&GreatCircle::new(1.35, 45.0).unwrap(), &region)
        .expect("a travel table");
    let ctx = Arc::new(ApiContext {
        local: Some(LocalRegion { region, travel }),
        settings: Settings::default(),
    });
    let mut nodes = BTreeMap::new();
    for id in 1..=3u64 {
        let node = Node::start_with_options(NodeOptions {
            tls: Some(Tls::from_pem(&certs.ca.cert, &certs.node(id)).expect("TLS")),
            api: Some(ctx.clone()),
            ..NodeOptions::new(id, "127.0.0.1:0", dir.join(format!("casehub-{id}")))
        })
        .await
        .expect("node starts");
        nodes.insert(id, node);
    }
    let members: BTreeMap<u64, BasicNode> =
        nodes.iter().map(|(id, n)| (*id, n.basic_node())).collect();
    nodes[&1]
        .raft()
        .initialize(members)
        .await
        .expect("initialize");
    // The store, as `casehub user add --peer` reaches it: the peer
    // listeners, with a node certificate.
    let peers: Vec<String> = nodes.values().map(|n| n.addr().to_string()).collect();
    let store = Client::connect_any_tls(
        &peers,
        casehub_server::tls::client_config(&certs.ca.cert, Some(&certs.node(9)), None),
    )
    .unwrap();
    store.read_linearizable().await.expect("a leader");
    // A new cluster's leader raises the rules version first; users need it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !nodes
        .values()
        .all(|n| n.read_local().state().rules_version == casehub_store::RULES_VERSION)
    {
        assert!(
            Instant::now() < deadline,
            "the rules version was not raised"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let policy = SecurityPolicy {
        requests_per_second: 100_000_000,
        request_burst: 100_000_000,
        ..SecurityPolicy::default()
    };
    let mut last = 0;
    for (n, command) in [
        user(ADMIN, Role::Admin),
        user(READER, Role::Planner),
        StoreCommand::SetSecurityPolicy(policy),
    ]
    .into_iter()
    .enumerate()
    {
        let w = store
            .write(&store_request(n as u64 + 1, command))
            .await
            .expect("a setup write");
        assert!(w.response.is_applied(), "{w:?}");
        last = w.log_index;
    }
    for n in nodes.values() {
        n.state().wait_applied(last).await.expect("applied");
    }
    // The region, through the API, as an admin.
    let admin = certs.user(ADMIN);
    let loaded = AdminServiceClient::new(
        certs
            .channel(&nodes[&1].client_addr().to_string(), &admin)
            .await,
    )
    .load_region(pb::LoadRegionRequest {
        meta: Some(pb::WriteMeta {
            client_id: "bench-region".into(),
            request_id: 1,
            actor: String::new(),
            site_id: String::new(),
        }),
        file_name: "region-3-sites.toml".into(),
        text: REGION.into(),
        ..Default::default()
    })
    .await
    .expect("the region loads")
    .into_inner();
    for n in nodes.values() {
        n.state()
            .wait_applied(loaded.last_index)
            .await
            .expect("applied");
    }
    let leader = nodes[&1].leader().expect("a leader");
    eprintln!(
        "casehub: node {leader} leads; region loaded ({} requests)",
        loaded.applied
    );

    let reader = certs.user(READER);
    let request = availability_request(&args.site);
    let sample = AvailabilityServiceClient::new(
        certs
            .channel(&nodes[&1].client_addr().to_string(), &reader)
            .await,
    )
    .get_availability(request.clone())
    .await
    .expect("a read")
    .into_inner();
    let answer_size = sample.encoded_len();
    eprintln!(
        "casehub: one answer is {answer_size} bytes: {} rooms, {} officers, {} teams",
        sample.rooms.len(),
        sample.officers.len(),
        sample.teams.len()
    );
    assert!(!sample.rooms.is_empty() && !sample.officers.is_empty());
    // What the handler's query alone costs, on one thread, in process.
    {
        let read = nodes[&1].read_local();
        let site = (!args.site.is_empty())
            .then(|| casehub_model::SiteId::new(args.site.clone()).expect("a site id"));
        let now = chrono::Utc::now();
        let (start, end) = (
            now - chrono::Duration::hours(1),
            now + chrono::Duration::hours(24),
        );
        let n = 2000;
        let t = Instant::now();
        for _ in 0..n {
            let a = casehub_store::availability::availability(
                read.state(),
                ctx.shifts(read.state()),
                ctx.utc_offset_min(read.state()),
                site.as_ref(),
                start,
                end,
            )
            .expect("availability");
            std::hint::black_box(a);
        }
        eprintln!(
            "casehub: the availability query alone takes {:?} per answer (in process, one thread)",
            t.elapsed() / n
        );
    }

    let client_addrs: Vec<String> = nodes
        .values()
        .map(|n| n.client_addr().to_string())
        .collect();
    let mut levels = Vec::new();
    for (spread, targets) in [
        ("1 node", &client_addrs[..1]),
        ("3 nodes", &client_addrs[..]),
    ] {
        for &c in &args.clients {
            // One connection per client, made before the clock starts.
            let mut clients = Vec::with_capacity(c);
            for i in 0..c {
                let ch = certs.channel(&targets[i % targets.len()], &reader).await;
                clients.push(AvailabilityServiceClient::new(ch));
            }
            let clients = Arc::new(clients);
            let request = request.clone();
            let level = drive(spread, targets.len(), c, args.secs, move |client| {
                let mut grpc = clients[client].clone();
                let request = request.clone();
                async move {
                    let a = grpc
                        .get_availability(request)
                        .await
                        .map_err(|s| format!("{:?}: {}", s.code(), s.message()))?
                        .into_inner();
                    if a.rooms.is_empty() {
                        return Err("an empty answer".into());
                    }
                    Ok(())
                }
            })
            .await;
            eprintln!("casehub: {level:?}");
            levels.push(level);
        }
    }
    for (_, node) in nodes {
        node.shutdown().await;
    }
    (levels, answer_size)
}

// ---- etcd ------------------------------------------------------------------

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

/// `etcdserverpb.PutRequest` (only the fields used).
#[derive(Clone, PartialEq, prost::Message)]
struct PutRequest {
    #[prost(bytes = "vec", tag = "1")]
    key: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

/// `etcdserverpb.RangeRequest` (only the fields used).
#[derive(Clone, PartialEq, prost::Message)]
struct RangeRequest {
    #[prost(bytes = "vec", tag = "1")]
    key: Vec<u8>,
    #[prost(bool, tag = "7")]
    serializable: bool,
}

/// `mvccpb.KeyValue` (only the fields used).
#[derive(Clone, PartialEq, prost::Message)]
struct KeyValue {
    #[prost(bytes = "vec", tag = "1")]
    key: Vec<u8>,
    #[prost(bytes = "vec", tag = "5")]
    value: Vec<u8>,
}

/// `etcdserverpb.RangeResponse` (without `more`).
#[derive(Clone, PartialEq, prost::Message)]
struct RangeResponse {
    #[prost(message, optional, tag = "1")]
    header: Option<ResponseHeader>,
    #[prost(message, repeated, tag = "2")]
    kvs: Vec<KeyValue>,
    #[prost(int64, tag = "4")]
    count: i64,
}

/// `etcdserverpb.AuthUserAddRequest` (name and password).
#[derive(Clone, PartialEq, prost::Message)]
struct AuthUserAddRequest {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    password: String,
}

/// `etcdserverpb.AuthRoleAddRequest`.
#[derive(Clone, PartialEq, prost::Message)]
struct AuthRoleAddRequest {
    #[prost(string, tag = "1")]
    name: String,
}

/// `etcdserverpb.AuthUserGrantRoleRequest`.
#[derive(Clone, PartialEq, prost::Message)]
struct AuthUserGrantRoleRequest {
    #[prost(string, tag = "1")]
    user: String,
    #[prost(string, tag = "2")]
    role: String,
}

/// `authpb.Permission` (`perm_type` 0 is READ).
#[derive(Clone, PartialEq, prost::Message)]
struct Permission {
    #[prost(int32, tag = "1")]
    perm_type: i32,
    #[prost(bytes = "vec", tag = "2")]
    key: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    range_end: Vec<u8>,
}

/// `etcdserverpb.AuthRoleGrantPermissionRequest`.
#[derive(Clone, PartialEq, prost::Message)]
struct AuthRoleGrantPermissionRequest {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(message, optional, tag = "2")]
    perm: Option<Permission>,
}

/// `etcdserverpb.AuthEnableRequest`.
#[derive(Clone, PartialEq, prost::Message)]
struct AuthEnableRequest {}

/// Every response the bench reads of etcd's auth calls: the header only.
#[derive(Clone, PartialEq, prost::Message)]
struct HeaderOnly {
    #[prost(message, optional, tag = "1")]
    header: Option<ResponseHeader>,
}

async fn etcd_call<Q, A>(channel: Channel, path: &'static str, request: Q) -> Result<A, String>
where
    Q: prost::Message + Send + Sync + 'static,
    A: prost::Message + Default + Send + Sync + 'static,
{
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|e| e.to_string())?;
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(path);
    let codec = tonic_prost::ProstCodec::<Q, A>::default();
    grpc.unary(tonic::Request::new(request), path, codec)
        .await
        .map(|r| r.into_inner())
        .map_err(|s| format!("{:?}: {}", s.code(), s.message()))
}

const ETCD_KEY: &[u8] = b"casehub/availability";

async fn etcd(args: &Args, dir: &Path, certs: &Certs, value_size: usize) -> Vec<Level> {
    let (_etcd, addrs) = match start_etcd(&args.etcd_bin, dir, Some(certs)) {
        Ok(started) => started,
        Err(e) => {
            eprintln!("etcd: not compared: {e}");
            return Vec::new();
        }
    };
    // Set up as the root user (authentication still off): the key, a role
    // that may read it, a user with that role named as the readers'
    // certificate, and root; then authentication on.
    let setup_cert = certs.node(9);
    let mut setup = Vec::new();
    for a in &addrs {
        setup.push(certs_channel_lazy(certs, a, &setup_cert));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for ch in &setup {
        while let Err(e) = etcd_call::<_, HeaderOnly>(
            ch.clone(),
            "/etcdserverpb.KV/Put",
            PutRequest {
                key: b"ready".to_vec(),
                value: b"1".to_vec(),
            },
        )
        .await
        {
            assert!(Instant::now() < deadline, "etcd does not start: {e}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let root = setup[0].clone();
    let value = vec![b'x'; value_size];
    let step = |r: Result<HeaderOnly, String>, what: &str| {
        r.unwrap_or_else(|e| panic!("etcd: {what}: {e}"));
    };
    step(
        etcd_call(
            root.clone(),
            "/etcdserverpb.KV/Put",
            PutRequest {
                key: ETCD_KEY.to_vec(),
                value,
            },
        )
        .await,
        "put",
    );
    step(
        etcd_call(
            root.clone(),
            "/etcdserverpb.Auth/UserAdd",
            AuthUserAddRequest {
                name: "root".into(),
                password: "bench-root-password".into(),
            },
        )
        .await,
        "add root",
    );
    step(
        etcd_call(
            root.clone(),
            "/etcdserverpb.Auth/UserGrantRole",
            AuthUserGrantRoleRequest {
                user: "root".into(),
                role: "root".into(),
            },
        )
        .await,
        "grant root",
    );
    step(
        etcd_call(
            root.clone(),
            "/etcdserverpb.Auth/RoleAdd",
            AuthRoleAddRequest {
                name: "availability-reader".into(),
            },
        )
        .await,
        "add role",
    );
    step(
        etcd_call(
            root.clone(),
            "/etcdserverpb.Auth/RoleGrantPermission",
            AuthRoleGrantPermissionRequest {
                name: "availability-reader".into(),
                perm: Some(Permission {
                    perm_type: 0,
                    key: ETCD_KEY.to_vec(),
                    range_end: Vec::new(),
                }),
            },
        )
        .await,
        "grant read",
    );
    step(
        etcd_call(
            root.clone(),
            "/etcdserverpb.Auth/UserAdd",
            AuthUserAddRequest {
                name: READER.into(),
                password: "bench-reader-password".into(),
            },
        )
        .await,
        "add reader",
    );
    step(
        etcd_call(
            root.clone(),
            "/etcdserverpb.Auth/UserGrantRole",
            AuthUserGrantRoleRequest {
                user: READER.into(),
                role: "availability-reader".into(),
            },
        )
        .await,
        "grant reader",
    );
    step(
        etcd_call(
            root.clone(),
            "/etcdserverpb.Auth/AuthEnable",
            AuthEnableRequest {},
        )
        .await,
        "enable authentication",
    );

    let reader = certs.user(READER);
    let range = RangeRequest {
        key: ETCD_KEY.to_vec(),
        serializable: true,
    };
    // Authentication is on: node 9's certificate (no such user) is refused,
    // the reader's is let in, on every member once it has applied it all.
    let refused = etcd_call::<_, RangeResponse>(
        certs.channel(&addrs[0], &setup_cert).await,
        "/etcdserverpb.KV/Range",
        range.clone(),
    )
    .await;
    assert!(refused.is_err(), "etcd's authentication is not on");
    for a in &addrs {
        let ch = certs.channel(a, &reader).await;
        loop {
            match etcd_call::<_, RangeResponse>(ch.clone(), "/etcdserverpb.KV/Range", range.clone())
                .await
            {
                Ok(r) if r.kvs.first().is_some_and(|kv| kv.value.len() == value_size) => break,
                other => {
                    assert!(
                        Instant::now() < deadline,
                        "etcd: the reader cannot read: {other:?}"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
    eprintln!("etcd: authentication on; {READER} reads a value of {value_size} bytes");

    let mut levels = Vec::new();
    for (spread, targets) in [("1 node", &addrs[..1]), ("3 nodes", &addrs[..])] {
        for &c in &args.clients {
            let mut channels = Vec::with_capacity(c);
            for i in 0..c {
                channels.push(certs.channel(&targets[i % targets.len()], &reader).await);
            }
            let channels = Arc::new(channels);
            let range = range.clone();
            let level = drive(spread, targets.len(), c, args.secs, move |client| {
                let ch = channels[client].clone();
                let range = range.clone();
                async move {
                    let r: RangeResponse = etcd_call(ch, "/etcdserverpb.KV/Range", range).await?;
                    if r.kvs.len() != 1 || r.count != 1 {
                        return Err(format!("{} keys", r.kvs.len()));
                    }
                    Ok(())
                }
            })
            .await;
            eprintln!("etcd: {level:?}");
            levels.push(level);
        }
    }
    levels
}

/// A lazily connected TLS channel (etcd may not listen yet).
fn certs_channel_lazy(certs: &Certs, addr: &str, identity: &pki::CertifiedPem) -> Channel {
    Endpoint::from_shared(format!("https://{addr}"))
        .unwrap()
        .tls_config(casehub_server::tls::client_config(
            &certs.ca.cert,
            Some(identity),
            None,
        ))
        .unwrap()
        .tcp_nodelay(true)
        .connect_lazy()
}

fn main() {
    let args = Args::parse();
    let dir = tempfile::TempDir::new().expect("a temporary directory");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let certs = Certs::new(dir.path());
    let (casehub_levels, answer_size, etcd_levels) = runtime.block_on(async {
        let (c, size) = casehub(&args, dir.path(), &certs).await;
        let e = if args.no_etcd {
            Vec::new()
        } else {
            etcd(&args, dir.path(), &certs, size).await
        };
        (c, size, e)
    });
    println!(
        "\n3 nodes on loopback, mutual TLS, {} s per level; casehub: GetAvailability of {} over 25 h \
         as a planner (authorization on), answers of {answer_size} bytes; etcd: serializable Range \
         of one key of {answer_size} bytes, authentication on (the client certificate's user)\n",
        args.secs,
        if args.site.is_empty() {
            "every site".to_string()
        } else {
            format!("site {}", args.site)
        },
    );
    println!(
        "| system | clients on | clients | reads | reads/s | reads/s per node | p50 ms | p99 ms | errors |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    print("casehub", &casehub_levels);
    print("etcd", &etcd_levels);
}
