//! End to end: three `casehub node` processes on loopback, each with its own
//! RocksDB directory and the sample region; cases submitted and accepted over
//! gRPC through any node, steps run, the leader SIGKILLed mid-stream. No
//! acknowledged booking is lost, and once the killed node is back and caught
//! up, all three answer availability the same.

mod support;

use std::future::Future;
use std::time::{Duration, Instant};

use casehub_server::proto::admin_service_client::AdminServiceClient;
use casehub_server::proto::availability_service_client::AvailabilityServiceClient;
use casehub_server::proto::dispatch_service_client::DispatchServiceClient;
use casehub_server::proto::{self as pb};
use chrono::{DateTime, Utc};
use tonic::transport::Channel;

use support::{DEADLINE, Nodes, eventually};

const REGION: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../simulations/sample-county/region-3-sites.toml"
);

/// The cluster CA's certificate, which every channel verifies nodes with.
static CA: std::sync::OnceLock<String> = std::sync::OnceLock::new();
/// The operator's certificate, which every channel presents.
static USER: std::sync::OnceLock<casehub_server::pki::CertifiedPem> = std::sync::OnceLock::new();

async fn channel(addr: &str) -> Option<Channel> {
    let ca = CA.get().expect("the CA is set once the nodes start");
    Channel::from_shared(format!("https://{addr}"))
        .ok()?
        .tls_config(casehub_server::tls::client_config(ca, USER.get(), None))
        .ok()?
        .timeout(Duration::from_secs(30))
        .connect()
        .await
        .ok()
}

fn ts(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    }
}

fn meta(request_id: u64) -> Option<pb::WriteMeta> {
    Some(pb::WriteMeta {
        client_id: "e2e".into(),
        request_id,
        actor: "dispatcher".into(),
        site_id: String::new(),
    })
}

/// Call `f` on the alive nodes in turn until one answers, or panic at the
/// deadline. Errors a retry may fix (no leader, a node gone) move on to the
/// next node; others fail the test. The same request id is reused, so a
/// retried write is applied once.
async fn on_any<T, F, Fut>(what: &str, addrs: &[String], mut f: F) -> T
where
    F: FnMut(Channel) -> Fut,
    Fut: Future<Output = Result<T, tonic::Status>>,
{
    let deadline = Instant::now() + DEADLINE;
    let mut last = String::new();
    for attempt in 0.. {
        assert!(
            Instant::now() < deadline,
            "{what}: gave up; last error {last}"
        );
        let addr = &addrs[attempt % addrs.len()];
        if let Some(ch) = channel(addr).await {
            match f(ch).await {
                Ok(v) => return v,
                Err(s)
                    if matches!(
                        s.code(),
                        tonic::Code::Unavailable
                            | tonic::Code::Unknown
                            | tonic::Code::DeadlineExceeded
                            | tonic::Code::Cancelled
                            // A node that has not applied the operator's user yet.
                            | tonic::Code::Unauthenticated
                    ) =>
                {
                    last = format!("{addr}: {s:?}");
                }
                Err(s) => panic!("{what} at {addr}: {s:?}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    unreachable!()
}

async fn status_of(addr: &str) -> Option<pb::ClusterStatusReply> {
    let mut c = AdminServiceClient::new(channel(addr).await?);
    c.cluster_status(pb::ClusterStatusRequest {})
        .await
        .ok()
        .map(|r| r.into_inner())
}

async fn availability(addr: &str, from: DateTime<Utc>) -> Option<pb::GetAvailabilityReply> {
    let mut c = AvailabilityServiceClient::new(channel(addr).await?);
    c.get_availability(pb::GetAvailabilityRequest {
        site_id: String::new(),
        window: Some(pb::Interval {
            start: Some(ts(from)),
            end: Some(ts(from + chrono::Duration::hours(36))),
        }),
    })
    .await
    .ok()
    .map(|r| r.into_inner())
}

fn case(id: &str, station: &str) -> pb::Case {
    pb::Case {
        case_id: id.into(),
        origin_station_id: station.into(),
        clock_started_at: Some(ts(Utc::now() - chrono::Duration::minutes(20))),
        category: "criminal_summons".into(),
        persons: vec![pb::Person {
            person_id: "P1".into(),
            gender: "male".into(),
            juvenile: false,
            co_suspect_group: String::new(),
            ..Default::default()
        }],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_acknowledged_booking_is_lost_when_the_leader_process_is_killed() {
    let dir = tempfile::TempDir::new().unwrap();
    let mut nodes = Nodes::start_three(dir.path(), format!("region = {REGION:?}\n"));
    CA.set(std::fs::read_to_string(nodes.ca()).unwrap())
        .unwrap();
    let (cert, key) = nodes.bootstrap_user("operator");
    USER.set(casehub_server::pki::CertifiedPem {
        cert: std::fs::read_to_string(cert).unwrap(),
        key: std::fs::read_to_string(key).unwrap(),
    })
    .unwrap();
    let all: Vec<String> = nodes.client_addrs.values().cloned().collect();
    eventually("a leader", || async {
        status_of(&all[0]).await.filter(|s| s.leader_id != 0)
    })
    .await;
    let text = std::fs::read_to_string(REGION).unwrap();
    on_any("loading the region", &all, |ch| {
        let text = text.clone();
        async move {
            AdminServiceClient::new(ch)
                .load_region(pb::LoadRegionRequest {
                    meta: meta(1_000_000),
                    file_name: "region-3-sites.toml".into(),
                    text,
                    ..Default::default()
                })
                .await
        }
    })
    .await;

    // Cases through every node in turn; the leader dies after the third.
    let stations = ["S03", "S07", "S11", "S01", "S05", "S09"];
    let mut alive = all.clone();
    let mut killed = None;
    // Per acknowledged case: its questioning room and interval.
    let mut acked: Vec<(String, String, DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    let mut last_index = 0;
    for (i, station) in stations.iter().enumerate() {
        if i == 3 {
            let s = eventually("the leader", || async {
                status_of(&alive[0]).await.filter(|s| s.leader_id != 0)
            })
            .await;
            nodes.kill9(s.leader_id);
            let dead = nodes.client_addrs[&s.leader_id].clone();
            alive.retain(|a| *a != dead);
            killed = Some(s.leader_id);
        }
        let id = format!("E2E-{}", i + 1);
        let order: Vec<String> = alive
            .iter()
            .cycle()
            .skip(i)
            .take(alive.len())
            .cloned()
            .collect();
        let request = 10 * (i as u64 + 1);
        let proposal = on_any("submitting", &order, |ch| {
            let c = case(&id, station);
            async move {
                DispatchServiceClient::new(ch)
                    .submit_case(pb::SubmitCaseRequest {
                        meta: meta(request),
                        case: Some(c),
                    })
                    .await
                    .map(|r| r.into_inner())
            }
        })
        .await;
        assert_eq!(proposal.summary.len(), 1, "{proposal:?}");
        let ack = on_any("accepting", &order, |ch| {
            let (plan_json, versions) = (proposal.plan_json.clone(), proposal.versions.clone());
            async move {
                DispatchServiceClient::new(ch)
                    .accept_plan(pb::AcceptPlanRequest {
                        meta: meta(request + 1),
                        plan_json,
                        versions,
                        case_ids: vec![],
                        ..Default::default()
                    })
                    .await
                    .map(|r| r.into_inner())
            }
        })
        .await;
        last_index = last_index.max(ack.log_index);
        let plan: serde_json::Value = serde_json::from_str(&proposal.plan_json).unwrap();
        let steps = plan["cases"][0]["persons"][0]["steps"].as_array().unwrap();
        let q = steps
            .iter()
            .find(|s| s["step"] == "questioning")
            .expect("a questioning step");
        let time = |v: &serde_json::Value| v.as_str().unwrap().parse::<DateTime<Utc>>().unwrap();
        acked.push((
            id.clone(),
            q["room"].as_str().unwrap().to_string(),
            time(&q["start"]),
            time(&q["end"]),
        ));
        // The first step starts and completes.
        let first = steps[0]["step"].as_str().unwrap().to_string();
        for (n, start) in [(2, true), (3, false)] {
            let ack = on_any("running a step", &order, |ch| {
                let r = pb::StepRequest {
                    meta: meta(request + n),
                    case_id: id.clone(),
                    person_id: "P1".into(),
                    step: first.clone(),
                };
                async move {
                    let mut c = DispatchServiceClient::new(ch);
                    if start {
                        c.start_step(r).await
                    } else {
                        c.complete_step(r).await
                    }
                    .map(|r| r.into_inner())
                }
            })
            .await;
            last_index = last_index.max(ack.log_index);
        }
    }
    let killed = killed.unwrap();

    // The killed node comes back from its directory; all three catch up.
    nodes.start(killed);
    for addr in &all {
        eventually("every node to catch up", || async {
            status_of(addr)
                .await
                .filter(|s| s.applied_index >= last_index)
        })
        .await;
    }
    // Every node answers availability the same, at the same applied index,
    // and every acknowledged questioning room is booked on all of them.
    let from = Utc::now() - chrono::Duration::hours(1);
    let mut answers = Vec::new();
    for addr in &all {
        let a = eventually("availability", || availability(addr, from)).await;
        answers.push(a);
    }
    let index = answers.iter().map(|a| a.applied_index).max().unwrap();
    for (addr, a) in all.iter().zip(answers.iter_mut()) {
        if a.applied_index < index {
            *a = eventually("the same index", || async {
                availability(addr, from)
                    .await
                    .filter(|x| x.applied_index >= index)
            })
            .await;
        }
    }
    for a in &answers[1..] {
        assert_eq!(a.rooms, answers[0].rooms);
        assert_eq!(a.officers, answers[0].officers);
        assert_eq!(a.teams, answers[0].teams);
    }
    for (case, room, start, end) in &acked {
        let r = answers[0]
            .rooms
            .iter()
            .find(|r| r.room_id == *room)
            .unwrap();
        let free_during = r.free.iter().any(|i| {
            let (a, b) = (
                i.start.as_ref().unwrap().seconds,
                i.end.as_ref().unwrap().seconds,
            );
            a < end.timestamp() && start.timestamp() < b && r.capacity == 1
        });
        assert!(
            !free_during,
            "case {case}: room {room} is free during its questioning {start}–{end}"
        );
    }
    for id in 1..=3 {
        let status = nodes.terminate(id);
        assert!(status.success(), "node {id}: {status:?}\n{}", nodes.logs());
    }
}
