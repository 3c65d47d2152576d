//! The limits under load, on real nodes over mutual TLS with the
//! production Raft timing: a request one byte over [`MAX_REQUEST_SIZE`] is
//! refused by the leader and by a follower; a sustained stream of the
//! largest requests a node accepts does not starve Raft's heartbeats (no
//! election, everything committed and applied everywhere; release builds
//! only, see its doc comment and docs/security.md); and
//! a flood of server streams stays within a stated memory bound and gives
//! its places back when closed.
//!
//! The tests of this file run one at a time ([`ONE_AT_A_TIME`]): the memory
//! test measures the resident memory of the whole process, which the nodes
//! share with the test, and the flood would disturb the others' timing.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use casehub_server::client::Client;
use casehub_server::pki::{self, CertifiedPem};
use casehub_server::proto::availability_service_client::AvailabilityServiceClient;
use casehub_server::proto::{self as pb};
use casehub_server::streams::{MAX_STREAMS_PER_NODE, MAX_STREAMS_PER_USER};
use casehub_server::{ClusterError, MAX_REQUEST_SIZE, Node};
use casehub_store::{Command, Request, Role, SecurityPolicy, User};
use tonic::Code;
use tonic::transport::{Channel, Endpoint};

use common::TIMEOUT;
use common::api::Cluster;

/// The tests of this file hold this while they run: see the module docs.
/// (tokio's: each test has a runtime of its own, and a test that fails
/// frees it as it unwinds.)
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Each node's (term, leader) as it sees them.
fn terms(c: &Cluster) -> BTreeMap<u64, (u64, Option<u64>)> {
    c.nodes
        .iter()
        .map(|(id, n)| {
            let m = n.raft().metrics().borrow().clone();
            (*id, (m.current_term, m.current_leader))
        })
        .collect()
}

/// The one leader, once every node follows it.
async fn leader(c: &Cluster) -> u64 {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let seen = terms(c);
        let leaders: Vec<u64> = c
            .nodes
            .iter()
            .filter(|(_, n)| n.raft().metrics().borrow().state.is_leader())
            .map(|(id, _)| *id)
            .collect();
        if let [l] = leaders[..]
            && seen.values().all(|(_, leader)| *leader == Some(l))
        {
            return l;
        }
        assert!(Instant::now() < deadline, "no leader: {seen:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A store client of node `id` alone (its peer listener), presenting
/// node 9's certificate, as `casehub user add --peer` does.
fn store(c: &Cluster, id: u64) -> Client {
    let node9 = pki::node_cert(&c.ca_pem, 9, &[], 1).unwrap();
    Client::connect_any_tls(
        [c.nodes[&id].addr().to_string()],
        casehub_server::tls::client_config(&c.ca, Some(&node9), None),
    )
    .unwrap()
}

/// The largest request JSON that `StoreService.Write` takes: its
/// `WriteRequest` (field 1, bytes) is then exactly [`MAX_REQUEST_SIZE`].
fn largest_accepted_json() -> usize {
    (0..16)
        .map(|overhead| MAX_REQUEST_SIZE - overhead)
        .find(|n| 1 + prost::encoding::encoded_len_varint(*n as u64) + n <= MAX_REQUEST_SIZE)
        .unwrap()
}

/// An `UpsertStation` of station `big` whose JSON is exactly `size` bytes
/// (its name is the padding). Every sender upserts the same station, so the
/// state stays one large station however many writes go through.
fn request_of_size(client_id: &str, request_id: u64, size: usize) -> Request {
    let with_name = |name: String| Request {
        client_id: client_id.into(),
        request_id,
        // The store names the node whose certificate called (node 9) as
        // the actor, so a forwarded request keeps its size.
        actor: "node 9".into(),
        site: None,
        time: common::t0(),
        command: Command::UpsertStation(
            serde_json::from_value(serde_json::json!({
                "id": "big", "name": name, "location": {"lat": 30.1, "lon": 120.1}, "min_on_duty": 1
            }))
            .unwrap(),
        ),
        trace: None,
    };
    let bare = serde_json::to_vec(&with_name(String::new())).unwrap().len();
    let request = with_name("x".repeat(size - bare));
    assert_eq!(serde_json::to_vec(&request).unwrap().len(), size);
    request
}

/// How long the largest requests are sent for.
const FLOOD: Duration = Duration::from_secs(8);
/// Senders to the leader, and to each follower (forwarded to the leader).
const SENDERS_PER_NODE: usize = 2;

/// Check that the nodes run the production Raft timing (heartbeats every
/// 100 ms, elections after 400 to 800 ms without one), not a shortened one.
fn production_timing(c: &Cluster) {
    let config = c.nodes[&1].raft().config().clone();
    let default = Node::default_config();
    let timing = |c: &openraft::Config| {
        (
            c.heartbeat_interval,
            c.election_timeout_min,
            c.election_timeout_max,
        )
    };
    assert_eq!(timing(&config), timing(&default));
    eprintln!(
        "heartbeat every {} ms, election timeout {}–{} ms",
        config.heartbeat_interval, config.election_timeout_min, config.election_timeout_max
    );
}

/// A sustained stream of requests of the largest size a node accepts, from
/// [`SENDERS_PER_NODE`] senders per node (the followers forward theirs), for
/// [`FLOOD`]: no election may follow (every node's term and leader stay as
/// they were, watched every 10 ms), and every write is committed and
/// applied on every node, once.
///
/// Runs in release builds only (`cargo test --release -p casehub-server
/// --test limits`), and passes there: the network sends large entries a
/// few at a time (`network::entries_within`, at most 1 MiB of JSON per
/// AppendEntries unless one entry is larger), so a timed-out AppendEntries
/// is no longer retried with as many multi-MiB entries. Measured on 2
/// cores, release: 31 writes of 4 MiB in 9.1 s, no election, the leader's
/// oldest quorum ack 463 ms (the election timeout is 400–800 ms: little
/// margin). In a debug build one 4 MiB entry still does not cross within
/// openraft 0.9's AppendEntries timeout (the heartbeat interval, 100 ms) and
/// the followers elect: see the "Not done yet" list of docs/security.md.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    debug_assertions,
    ignore = "a debug build cannot move a 4 MiB entry within the 100 ms AppendEntries timeout; run it with --release"
)]
async fn a_stream_of_the_largest_requests_does_not_starve_raft_heartbeats() {
    let _one = ONE_AT_A_TIME.lock().await;
    let c = Cluster::start().await;
    production_timing(&c);
    let leader = leader(&c).await;
    let before = terms(&c);
    let term = before[&leader].0;
    assert!(
        before
            .values()
            .all(|&(t, l)| t == term && l == Some(leader)),
        "{before:?}"
    );

    // Watch every node's term and leader while the flood runs.
    let stop = Arc::new(AtomicBool::new(false));
    let watched: Vec<_> = c
        .nodes
        .iter()
        .map(|(id, n)| (*id, n.raft().metrics()))
        .collect();
    let monitor = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut changes = Vec::new();
            let mut oldest_quorum_ack = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for (id, m) in &watched {
                    let m = m.borrow().clone();
                    if m.current_term != term || m.current_leader != Some(leader) {
                        changes.push((*id, m.current_term, m.current_leader));
                    }
                    if let Some(ms) = m.millis_since_quorum_ack {
                        oldest_quorum_ack = oldest_quorum_ack.max(ms);
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (changes, oldest_quorum_ack)
        })
    };

    let size = largest_accepted_json();
    let started = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    for &id in c.nodes.keys() {
        for s in 0..SENDERS_PER_NODE {
            let client = store(&c, id);
            let client_id = format!("limits-node-{id}-sender-{s}");
            senders.spawn(async move {
                let mut written = Vec::new();
                let mut slowest = Duration::ZERO;
                let mut n = 0;
                while started.elapsed() < FLOOD {
                    n += 1;
                    let request = request_of_size(&client_id, n, size);
                    let t = Instant::now();
                    let w = client
                        .write(&request)
                        .await
                        .unwrap_or_else(|e| panic!("{client_id} write {n} through node {id}: {e}"));
                    slowest = slowest.max(t.elapsed());
                    assert!(w.response.is_applied(), "{client_id} {n}: {:?}", w.response);
                    written.push((client_id.clone(), n, w.log_index, w.forwarded));
                }
                (written, slowest)
            });
        }
    }
    let mut written = Vec::new();
    let mut slowest = Duration::ZERO;
    while let Some(done) = senders.join_next().await {
        let (w, s) = done.unwrap();
        written.extend(w);
        slowest = slowest.max(s);
    }
    let sent_for = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let (changes, oldest_quorum_ack) = monitor.await.unwrap();
    eprintln!(
        "{} writes of {size} bytes in {sent_for:?} ({:.1} MiB/s); slowest write {slowest:?}; \
         the leader's oldest quorum ack seen: {oldest_quorum_ack} ms",
        written.len(),
        (written.len() * size) as f64 / sent_for.as_secs_f64() / (1 << 20) as f64
    );

    // No election: the term never moved on any node, nor the leader.
    assert!(
        changes.is_empty(),
        "an election during the flood: (node, term, leader) {changes:?}"
    );
    assert_eq!(terms(&c), before, "an election during the flood");
    assert!(c.nodes[&leader].raft().metrics().borrow().state.is_leader());
    // Every sender got through, to the leader directly and forwarded by
    // the followers.
    for &id in c.nodes.keys() {
        for s in 0..SENDERS_PER_NODE {
            let client_id = format!("limits-node-{id}-sender-{s}");
            let mine: Vec<_> = written.iter().filter(|w| w.0 == client_id).collect();
            assert!(!mine.is_empty(), "{client_id} wrote nothing");
            assert!(
                mine.iter().all(|w| w.3 == (id != leader)),
                "{client_id}: forwarded if and only if sent to a follower"
            );
        }
    }

    // Every write is committed and applied on every node, once.
    let last = written.iter().map(|w| w.2).max().unwrap();
    for (id, n) in &c.nodes {
        let state = common::wait_applied(n.state(), last).await;
        for (client_id, request_id, index, _) in &written {
            let audited: Vec<_> = state
                .audit
                .iter()
                .filter(|a| &a.client_id == client_id && a.request_id == *request_id)
                .collect();
            assert_eq!(audited.len(), 1, "node {id}: {client_id} {request_id}");
            assert_eq!(
                audited[0].index, *index,
                "node {id}: {client_id} {request_id}"
            );
            assert!(audited[0].rejected.is_none(), "{:?}", audited[0]);
        }
        let big = &state.stations[&casehub_model::StationId::new("big").unwrap()];
        assert_eq!(big.version, written.len() as u64, "node {id}");
    }
    assert_eq!(terms(&c), before);
    c.shutdown().await;
}

/// A request one byte over the limit, a real `casehub_store::Request`, is
/// refused OUT_OF_RANGE by the leader and by a follower (before any
/// forwarding), reaches no log, and costs no election.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_one_byte_over_the_limit_is_refused_by_leader_and_follower() {
    let _one = ONE_AT_A_TIME.lock().await;
    let c = Cluster::start().await;
    production_timing(&c);
    let leader = leader(&c).await;
    let before = terms(&c);
    let follower = *c.nodes.keys().find(|id| **id != leader).unwrap();
    let over = largest_accepted_json() + 1;
    for id in [leader, follower] {
        let request = request_of_size("limits-over", id, over);
        match store(&c, id).write(&request).await {
            Err(ClusterError::Refused { code, message, .. }) => {
                assert_eq!(code, Code::OutOfRange, "node {id}: {message}")
            }
            other => panic!("node {id}: {other:?}"),
        }
    }
    // A small write after them: every node has applied it, and neither
    // refused request is anywhere.
    let w = store(&c, follower)
        .write(&request_of_size("limits-after", 1, 1024))
        .await
        .unwrap();
    assert!(w.response.is_applied(), "{w:?}");
    for (id, n) in &c.nodes {
        let state = common::wait_applied(n.state(), w.log_index).await;
        assert!(
            !state.audit.iter().any(|a| a.client_id == "limits-over"),
            "node {id}: a request over the limit reached the log"
        );
    }
    assert_eq!(terms(&c), before, "an election");
    c.shutdown().await;
}

// ---- the stream flood -------------------------------------------------------

/// The process's resident memory (VmRSS), in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kb * 1024
}

/// The stated bound: the growth of the whole process's resident memory
/// (the three nodes and the test's clients) while one user floods its
/// share and the node's every stream place is taken by streams that read
/// nothing. See docs/security.md.
const STREAM_FLOOD_BOUND: u64 = 64 << 20;
/// Stream attempts past the per-user limit, all refused.
const REFUSED_ATTEMPTS: usize = 2000;
/// Audit entries written before the flood, for every stream to replay.
const HISTORY: usize = 600;
const HISTORY_WRITERS: usize = 8;

fn user_request(request_id: u64, command: Command) -> Request {
    Request {
        client_id: "limits-users".into(),
        request_id,
        actor: "node operator".into(),
        site: None,
        time: chrono::Utc::now(),
        command,
        trace: None,
    }
}

/// A TLS connection to `addr` as `user`, with HTTP/2 windows of 64 KiB: a
/// client that reads nothing makes the node hold what it cannot send.
async fn connect_as(addr: &str, ca: &str, user: &CertifiedPem) -> Channel {
    Endpoint::from_shared(format!("https://{addr}"))
        .unwrap()
        .initial_stream_window_size(Some(65_535))
        .initial_connection_window_size(Some(65_535))
        .tls_config(casehub_server::tls::client_config(ca, Some(user), None))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// Open `n` Watch streams replaying the whole audit (`from_index` 1), which
/// the test then never reads; retried while places are still being freed.
async fn open_streams(
    client: &mut AvailabilityServiceClient<Channel>,
    n: usize,
) -> Vec<tonic::Streaming<pb::Change>> {
    let deadline = Instant::now() + TIMEOUT;
    let mut open = Vec::with_capacity(n);
    while open.len() < n {
        match client.watch(pb::WatchRequest { from_index: 1 }).await {
            Ok(s) => open.push(s.into_inner()),
            Err(e) if e.code() == Code::ResourceExhausted && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("{} streams open, then: {e:?}", open.len()),
        }
    }
    open
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stream_flood_stays_within_its_memory_bound_and_frees_its_places() {
    let _one = ONE_AT_A_TIME.lock().await;
    let c = Cluster::start().await;
    // The users (a supervisor may Watch), a rate no flood here reaches (the
    // stream limits are under test, not the rate), and some history for
    // every stream to replay.
    let users: Vec<String> = (0..MAX_STREAMS_PER_NODE / MAX_STREAMS_PER_USER + 1)
        .map(|i| format!("流监督员-{i}"))
        .collect();
    let store = store(&c, 1);
    let mut id = 0;
    let mut next_id = || {
        id += 1;
        id
    };
    for name in &users {
        let w = store
            .write(&user_request(
                next_id(),
                Command::UpsertUser(User {
                    name: name.clone(),
                    roles: [Role::Supervisor].into_iter().collect(),
                    sites: Default::default(),
                    password_hash: None,
                    disabled: false,
                }),
            ))
            .await
            .unwrap();
        assert!(w.response.is_applied(), "{w:?}");
    }
    let policy = SecurityPolicy {
        requests_per_second: 1_000_000,
        request_burst: 1_000_000,
        ..SecurityPolicy::default()
    };
    let mut last = store
        .write(&user_request(next_id(), Command::SetSecurityPolicy(policy)))
        .await
        .unwrap()
        .log_index;
    // More history than a stream's HTTP/2 window (64 KiB) holds, so that a
    // stream whose client reads nothing keeps the node's task blocked with
    // a full queue.
    let store = Arc::new(store);
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..HISTORY_WRITERS {
        let store = store.clone();
        writers.spawn(async move {
            let mut last = 0;
            for i in 0..HISTORY / HISTORY_WRITERS {
                let request = Request {
                    client_id: format!("limits-history-{w}"),
                    ..user_request(
                        i as u64 + 1,
                        Command::UpsertStation(common::station(&format!("st-{w}-{i}"))),
                    )
                };
                last = store.write(&request).await.unwrap().log_index;
            }
            last
        });
    }
    while let Some(done) = writers.join_next().await {
        last = last.max(done.unwrap());
    }
    for n in c.nodes.values() {
        common::wait_applied(n.state(), last).await;
    }
    let node = &c.nodes[&1];
    let addr = node.client_addr().to_string();
    let certs: Vec<CertifiedPem> = users
        .iter()
        .map(|u| pki::user_cert(&c.ca_pem, u, 1).unwrap())
        .collect();
    let mut clients = Vec::new();
    for cert in &certs {
        clients.push(AvailabilityServiceClient::new(
            connect_as(&addr, &c.ca, cert).await,
        ));
    }
    // Warm up: every user's connection made, a stream opened and closed.
    for client in &mut clients {
        drop(open_streams(client, 1).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss();

    // One user: its share, then a flood of attempts, every one refused.
    let mut open = open_streams(&mut clients[0], MAX_STREAMS_PER_USER).await;
    for _ in 0..REFUSED_ATTEMPTS {
        let e = clients[0]
            .watch(pb::WatchRequest { from_index: 1 })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
        assert!(e.message().contains("streams open"), "{}", e.message());
    }
    let after_one_user = rss();

    // Every place of the node taken, by users at their share, then one more
    // user refused by the node's limit.
    let (last_user, others) = clients[1..].split_last_mut().unwrap();
    for client in others.iter_mut() {
        open.extend(open_streams(client, MAX_STREAMS_PER_USER).await);
    }
    assert_eq!(open.len(), MAX_STREAMS_PER_NODE);
    for _ in 0..REFUSED_ATTEMPTS / 4 {
        let e = last_user
            .watch(pb::WatchRequest { from_index: 1 })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
        assert!(
            e.message().contains("as many streams as it may"),
            "{}",
            e.message()
        );
    }
    // Let every stream's task fill what it may before measuring.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let full = rss();
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    eprintln!(
        "resident memory: {:.1} MiB before; +{:.1} MiB after one user's {} streams and {} \
         refused attempts; +{:.1} MiB with the node's {} streams open (bound {:.0} MiB)",
        mib(before),
        mib(after_one_user.saturating_sub(before)),
        MAX_STREAMS_PER_USER,
        REFUSED_ATTEMPTS,
        mib(full.saturating_sub(before)),
        MAX_STREAMS_PER_NODE,
        mib(STREAM_FLOOD_BOUND),
    );
    assert!(
        full.saturating_sub(before) < STREAM_FLOOD_BOUND,
        "the stream flood grew the process by {:.1} MiB, past the stated {:.0} MiB",
        mib(full.saturating_sub(before)),
        mib(STREAM_FLOOD_BOUND)
    );

    // Closed, the streams give back every place: the node takes its whole
    // count again, and not one more.
    drop(open);
    let mut again = Vec::new();
    for client in clients[..users.len() - 1].iter_mut() {
        again.extend(open_streams(client, MAX_STREAMS_PER_USER).await);
    }
    assert_eq!(again.len(), MAX_STREAMS_PER_NODE);
    let e = clients[users.len() - 1]
        .watch(pb::WatchRequest { from_index: 1 })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    drop(again);
    drop(clients);
    c.shutdown().await;
}
