//! The casehub API on a 3-node cluster on loopback (RocksDB on disk): load
//! a region, submit a case, accept its plan, run its steps, read
//! availability, alerts and the audit trail from any node; bad requests get
//! the right code and change nothing.

mod common;

use std::time::{Duration, Instant};

use casehub_model::scenario::parse_region;
use casehub_server::pki;
use casehub_server::proto::admin_service_client::AdminServiceClient;
use casehub_server::proto::alert_service_client::AlertServiceClient;
use casehub_server::proto::audit_service_client::AuditServiceClient;
use casehub_server::proto::availability_service_client::AvailabilityServiceClient;
use casehub_server::proto::dispatch_service_client::DispatchServiceClient;
use casehub_server::proto::{self as pb};
use tonic::Code;
use tonic::transport::Channel;

use common::prereq;

use common::api::*;

async fn audit_len(c: &Cluster, node: u64) -> usize {
    let mut audit = AuditServiceClient::new(c.channel(node).await);
    audit
        .read_audit(pb::ReadAuditRequest {
            from_index: 0,
            limit: 0,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_case_goes_from_submission_to_exit_through_any_node() {
    let c = Cluster::start().await;
    let follower = (1..=3)
        .find(|&i| {
            i != c.nodes[&1]
                .raft()
                .metrics()
                .borrow()
                .current_leader
                .unwrap()
        })
        .unwrap();
    let loaded = c.load_region(follower).await;
    assert!(loaded.applied > 10, "{loaded:?}");

    // Submit through a follower: the case is registered and a plan proposed.
    let mut dispatch = DispatchServiceClient::new(c.channel(follower).await);
    let proposal = dispatch
        .submit_case(pb::SubmitCaseRequest {
            meta: meta(1),
            case: Some(a_case("C-1")),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(proposal.summary.len(), 1, "{proposal:?}");
    assert!(proposal.blocked.is_empty(), "{proposal:?}");
    assert!(!proposal.versions.is_empty());
    let plan: serde_json::Value = serde_json::from_str(&proposal.plan_json).unwrap();
    let room = plan["cases"][0]["persons"][0]["steps"][0]["room"]
        .as_str()
        .unwrap()
        .to_string();

    // Accept it; a retry of the same request is a duplicate, not a second commit.
    let accept = pb::AcceptPlanRequest {
        meta: meta(2),
        plan_json: proposal.plan_json.clone(),
        versions: proposal.versions.clone(),
        case_ids: vec![],
        ..Default::default()
    };
    let ack = dispatch
        .accept_plan(accept.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(!ack.duplicate);
    let again = dispatch
        .accept_plan(accept.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(again.duplicate);
    assert_eq!(again.log_index, ack.log_index);
    // The same plan under a new request id is stale now: rejected whole.
    let stale = dispatch
        .accept_plan(pb::AcceptPlanRequest {
            meta: meta(3),
            ..accept
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::FailedPrecondition, "{stale:?}");
    assert!(
        stale.message().contains("C-1") && stale.message().contains("planned"),
        "{}",
        stale.message()
    );

    // Every node, once caught up, sees the first room booked for the case.
    for id in 1..=3 {
        let mut avail = AvailabilityServiceClient::new(c.channel(id).await);
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let now = chrono::Utc::now();
            let a = avail
                .get_availability(pb::GetAvailabilityRequest {
                    site_id: String::new(),
                    window: Some(pb::Interval {
                        start: Some(ts(now - chrono::Duration::hours(1))),
                        end: Some(ts(now + chrono::Duration::hours(24))),
                    }),
                })
                .await
                .unwrap()
                .into_inner();
            let r = a.rooms.iter().find(|r| r.room_id == room).unwrap();
            // Booked somewhere in the day: not one free interval covering it all.
            if a.applied_index >= ack.log_index {
                assert!(r.free.len() != 1 || r.capacity > 1, "node {id}: {r:?}");
                break;
            }
            assert!(Instant::now() < deadline, "node {id} did not catch up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // Run the first step, then exit the case; the audit trail has it all.
    let step = plan["cases"][0]["persons"][0]["steps"][0]["step"]
        .as_str()
        .unwrap()
        .to_string();
    let req = |id: u64| pb::StepRequest {
        meta: meta(id),
        case_id: "C-1".into(),
        person_id: "P1".into(),
        step: step.clone(),
    };
    dispatch.start_step(req(4)).await.unwrap();
    dispatch.complete_step(req(5)).await.unwrap();
    let exit = dispatch
        .exit_case(pb::ExitCaseRequest {
            meta: meta(6),
            case_id: "C-1".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut audit = AuditServiceClient::new(c.channel(1).await);
    let deadline = Instant::now() + TIMEOUT;
    let entries = loop {
        let r = audit
            .read_audit(pb::ReadAuditRequest {
                from_index: 0,
                limit: 0,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        if r.applied_index >= exit.log_index {
            break r.entries;
        }
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mine: Vec<&pb::AuditEntry> = entries
        .iter()
        .filter(|e| e.client_id == "dispatch-console-1" && e.request_id < 1000)
        .collect();
    // Submit, accept, start, complete, exit: the stale accept was refused
    // before it reached the log.
    assert_eq!(
        mine.iter().map(|e| e.request_id).collect::<Vec<_>>(),
        vec![1, 2, 4, 5, 6]
    );
    assert!(mine.iter().all(|e| e.rejected.is_empty()), "{mine:?}");
    assert!(
        mine.iter()
            .all(|e| e.actor == OPERATOR && e.site_id == "MAIN"),
        "the audit names the authenticated user, not the declared actor: {mine:?}"
    );

    // A case whose clock started 13 hours ago: blocked by the legal limit,
    // and alerted, in the list and on the stream.
    let mut old = a_case("C-OLD");
    old.clock_started_at = Some(ts(chrono::Utc::now() - chrono::Duration::hours(13)));
    let proposal = dispatch
        .submit_case(pb::SubmitCaseRequest {
            meta: meta(7),
            case: Some(old),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(proposal.blocked.len(), 1, "{proposal:?}");
    assert_eq!(proposal.blocked[0].case_id, "C-OLD");
    assert_eq!(proposal.blocked[0].rule, "legal_limit");
    let mut alerts = AlertServiceClient::new(c.channel(follower).await);
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let list = alerts
            .list_alerts(pb::ListAlertsRequest {
                site_id: String::new(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        if let Some(a) = list.alerts.iter().find(|a| a.case_id == "C-OLD") {
            assert_eq!(a.kind, "legal_limit_breached");
            assert!(a.deadline.is_some());
            break;
        }
        assert!(Instant::now() < deadline, "no alert: {list:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut stream = alerts
        .stream_alerts(pb::StreamAlertsRequest {
            site_id: String::new(),
            check_every_s: 1,
        })
        .await
        .unwrap()
        .into_inner();
    let first = tokio::time::timeout(TIMEOUT, stream.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        (first.kind.as_str(), first.case_id.as_str()),
        ("legal_limit_breached", "C-OLD")
    );
    // C-OLD still waits: the re-planning stream proposes for it at once, and
    // again after a change (here: a new case submitted).
    let mut proposals = dispatch
        .watch_proposals(pb::WatchProposalsRequest {
            method: "greedy".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let p = tokio::time::timeout(TIMEOUT, proposals.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(p.blocked.len(), 1, "{p:?}");
    assert_eq!(p.blocked[0].case_id, "C-OLD");
    dispatch
        .submit_case(pb::SubmitCaseRequest {
            meta: meta(8),
            case: Some(a_case("C-2")),
        })
        .await
        .unwrap();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let p = tokio::time::timeout(TIMEOUT, proposals.message())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if p.summary.iter().any(|l| l.starts_with("C-2:")) {
            assert_eq!(p.blocked.len(), 1);
            break;
        }
        assert!(Instant::now() < deadline, "no re-plan with C-2");
    }
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_requests_get_the_right_code_and_change_nothing() {
    let c = Cluster::start().await;
    let mut admin = AdminServiceClient::new(c.channel(1).await);
    c.load_region(1).await;
    let before = audit_len(&c, 1).await;
    let mut dispatch = DispatchServiceClient::new(c.channel(1).await);

    // Missing fields.
    let e = dispatch
        .submit_case(pb::SubmitCaseRequest {
            meta: meta(1),
            case: None,
        })
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (Code::InvalidArgument, "case: missing")
    );
    let e = dispatch
        .submit_case(pb::SubmitCaseRequest {
            meta: None,
            case: Some(a_case("C-2")),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().starts_with("meta"), "{}", e.message());
    let mut no_clock = a_case("C-2");
    no_clock.clock_started_at = None;
    let e = dispatch
        .submit_case(pb::SubmitCaseRequest {
            meta: meta(1),
            case: Some(no_clock),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().contains("case.clock_started_at"),
        "{}",
        e.message()
    );
    let mut bad_word = a_case("C-2");
    bad_word.category = "felony".into();
    let e = dispatch
        .submit_case(pb::SubmitCaseRequest {
            meta: meta(1),
            case: Some(bad_word),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("case.category") && e.message().contains("felony"));

    // Unknown ids.
    let mut unknown_station = a_case("C-2");
    unknown_station.origin_station_id = "S-NOWHERE".into();
    let e = dispatch
        .submit_case(pb::SubmitCaseRequest {
            meta: meta(2),
            case: Some(unknown_station),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    assert!(e.message().contains("S-NOWHERE"));
    let e = dispatch
        .exit_case(pb::ExitCaseRequest {
            meta: meta(3),
            case_id: "C-404".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    let e = dispatch
        .propose_plan(pb::ProposePlanRequest {
            case_ids: vec!["C-404".into()],
            method: String::new(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    assert!(e.message().contains("case_ids") && e.message().contains("C-404"));

    // A window ending before it starts; an unknown site.
    let mut avail = AvailabilityServiceClient::new(c.channel(2).await);
    let now = chrono::Utc::now();
    let e = avail
        .get_availability(pb::GetAvailabilityRequest {
            site_id: String::new(),
            window: Some(pb::Interval {
                start: Some(ts(now)),
                end: Some(ts(now - chrono::Duration::hours(1))),
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().starts_with("window"), "{}", e.message());
    // A time beyond the years the store holds (10000-01-01).
    let e = avail
        .get_availability(pb::GetAvailabilityRequest {
            site_id: String::new(),
            window: Some(pb::Interval {
                start: Some(ts(now)),
                end: Some(prost_types::Timestamp {
                    seconds: 253_402_300_800,
                    nanos: 0,
                }),
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().starts_with("window.end.seconds") && e.message().contains("9999"),
        "{}",
        e.message()
    );
    let e = avail
        .get_availability(pb::GetAvailabilityRequest {
            site_id: "ATLANTIS".into(),
            window: Some(pb::Interval {
                start: Some(ts(now)),
                end: Some(ts(now + chrono::Duration::hours(1))),
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let e = AlertServiceClient::new(c.channel(2).await)
        .list_alerts(pb::ListAlertsRequest {
            site_id: "ATLANTIS".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert!(e.message().contains("site_id") && e.message().contains("ATLANTIS"));

    // Coordinates out of range.
    let e = admin
        .upsert(pb::UpsertRequest {
            meta: meta(4),
            kind: "station".into(),
            json: r#"{"id": "S99", "location": {"lat": 123.0, "lon": 120.0}, "min_on_duty": 2}"#
                .into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("lat"), "{}", e.message());

    // A 10 MB message.
    let e = admin
        .load_region(pb::LoadRegionRequest {
            meta: meta(5),
            file_name: "huge.toml".into(),
            text: "#".repeat(10 << 20),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::OutOfRange, "{e:?}");

    // Nothing of it reached the state; the node still serves.
    assert_eq!(audit_len(&c, 1).await, before);
    let status = admin
        .cluster_status(pb::ClusterStatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.members.len(), 3);
    assert!(status.members.iter().all(|m| m.voter));
    assert_ne!(status.leader_id, 0);
    // The leader knows how far each member has replicated; a follower
    // does not say.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let leader = AdminServiceClient::new(c.channel(status.leader_id).await)
            .cluster_status(pb::ClusterStatusRequest {})
            .await
            .unwrap()
            .into_inner();
        let matched: Vec<u64> = leader.members.iter().map(|m| m.matched_index).collect();
        if matched.iter().all(|&m| m >= leader.applied_index && m > 0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "matched {matched:?} of {leader:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let follower = (1..=3).find(|&i| i != status.leader_id).unwrap();
    let theirs = AdminServiceClient::new(c.channel(follower).await)
        .cluster_status(pb::ClusterStatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(
        theirs.members.iter().all(|m| m.matched_index == 0),
        "{theirs:?}"
    );
    c.shutdown().await;
}

fn run_python(stubs: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../proto/python/casehub_client.py"
    );
    let out = std::process::Command::new(prereq::PYTHON_BIN)
        .arg(script)
        .args(args)
        .env("PYTHONPATH", stubs)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python client {args:?} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_python_grpcio_client_queries_availability_and_submits_a_case() {
    // Stubs generated from proto/ by protoc and the gRPC Python plugin
    // (Debian's protobuf-compiler and protobuf-compiler-grpc).
    prereq::require_all(&[
        prereq::PYTHON,
        prereq::PROTOC,
        prereq::WELL_KNOWN_TYPES,
        prereq::GRPC_PYTHON_PLUGIN,
        prereq::PYTHON_GRPC,
        prereq::PYTHON_PROTOBUF,
    ]);
    let stubs = tempfile::tempdir().unwrap();
    let proto = concat!(env!("CARGO_MANIFEST_DIR"), "/../../proto");
    let status = std::process::Command::new("protoc")
        .arg(format!("-I{proto}"))
        .arg(format!("--python_out={}", stubs.path().display()))
        .arg(format!("--grpc_out={}", stubs.path().display()))
        .arg("--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin")
        .arg(format!("{proto}/casehub/v1/casehub.proto"))
        .status()
        .expect("protoc runs");
    assert!(status.success(), "protoc failed");

    let c = Cluster::start().await;
    let loaded = c.load_region(1).await;
    let addr = c.nodes[&2].client_addr().to_string();
    let ca_file = stubs.path().join("ca.pem");
    std::fs::write(&ca_file, &c.ca).unwrap();
    let ca_arg = ca_file.display().to_string();
    let (cert_file, key_file) = (
        stubs.path().join("user.pem"),
        stubs.path().join("user-key.pem"),
    );
    std::fs::write(&cert_file, &c.user.cert).unwrap();
    std::fs::write(&key_file, &c.user.key).unwrap();
    let (cert_arg, key_arg) = (
        cert_file.display().to_string(),
        key_file.display().to_string(),
    );
    let stubs_path = stubs.path().to_path_buf();
    let addr2 = addr.clone();
    // Wait for node 2 to have the region, through the Python client itself.
    let deadline = Instant::now() + TIMEOUT;
    let avail = loop {
        let (g, a, ca) = (stubs_path.clone(), addr2.clone(), ca_arg.clone());
        let (cert, key) = (cert_arg.clone(), key_arg.clone());
        let v = tokio::task::spawn_blocking(move || {
            run_python(
                &g,
                &[
                    "--addr",
                    &a,
                    "--ca",
                    &ca,
                    "--cert",
                    &cert,
                    "--key",
                    &key,
                    "availability",
                    "--hours",
                    "12",
                ],
            )
        })
        .await
        .unwrap();
        if v["applied_index"].as_u64().unwrap() >= loaded.last_index {
            break v;
        }
        assert!(Instant::now() < deadline, "node 2 did not catch up: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let region = parse_region("region-3-sites.toml", REGION).unwrap();
    let rooms: usize = region.sites.iter().map(|s| s.rooms.len()).sum();
    assert_eq!(avail["rooms"].as_u64().unwrap() as usize, rooms, "{avail}");
    assert_eq!(
        avail["teams"].as_u64().unwrap() as usize,
        region.escort_teams.len()
    );
    let mut sites: Vec<String> = region.sites.iter().map(|s| s.id.to_string()).collect();
    sites.sort();
    assert_eq!(avail["sites"], serde_json::json!(sites));

    let submitted = tokio::task::spawn_blocking(move || {
        run_python(
            &stubs_path,
            &[
                "--addr",
                &addr,
                "--ca",
                &ca_arg,
                "--cert",
                &cert_arg,
                "--key",
                &key_arg,
                "submit",
                "--case-id",
                "C-PY-1",
                "--station",
                "S03",
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(submitted["blocked"], serde_json::json!([]), "{submitted}");
    assert_eq!(submitted["summary"].as_array().unwrap().len(), 1);
    let site = submitted["sites"][0].as_str().unwrap();
    assert!(sites.iter().any(|s| s == site), "{submitted}");
    assert!(submitted["versions"].as_u64().unwrap() > 0);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn standard_grpc_tools_see_health_and_reflection() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let c = Cluster::start().await;
    let mut health = HealthClient::new(c.channel(3).await);
    for service in [
        "casehub.v1.AvailabilityService",
        "casehub.v1.DispatchService",
        "casehub.v1.AlertService",
        "casehub.v1.AuditService",
        "casehub.v1.AdminService",
    ] {
        let r = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.status(), ServingStatus::Serving, "{service}");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "casehub.v1.Nothing".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    let mut reflection = ServerReflectionClient::new(c.channel(3).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut replies = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let reply = replies.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else {
        panic!("not a service list: {reply:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for service in [
        "casehub.v1.DispatchService",
        "casehub.v1.AdminService",
        "casehub.v1.RaftService",
    ] {
        assert!(
            names.iter().any(|n| n == service),
            "{service} not in {names:?}"
        );
    }
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_override_is_checked_again_and_the_audit_streams() {
    let c = Cluster::start().await;
    c.load_region(1).await;
    // Follow the audit trail from the start.
    let mut audit = AuditServiceClient::new(c.channel(2).await)
        .stream_audit(pb::WatchRequest { from_index: 1 })
        .await
        .unwrap()
        .into_inner();
    let mut watch = AvailabilityServiceClient::new(c.channel(3).await)
        .watch(pb::WatchRequest { from_index: 0 })
        .await
        .unwrap()
        .into_inner();

    let mut dispatch = DispatchServiceClient::new(c.channel(1).await);
    let proposal = dispatch
        .submit_case(pb::SubmitCaseRequest {
            meta: meta(1),
            case: Some(a_case("C-OV")),
        })
        .await
        .unwrap()
        .into_inner();
    let mut plan: serde_json::Value = serde_json::from_str(&proposal.plan_json).unwrap();
    let steps = plan["cases"][0]["persons"][0]["steps"]
        .as_array()
        .unwrap()
        .clone();
    let qi = steps
        .iter()
        .position(|s| s["step"] == "questioning")
        .unwrap();
    let room = steps[qi]["room"].as_str().unwrap().to_string();

    // An override that breaks a rule (one questioner) is refused, naming it.
    let mut broken = plan.clone();
    let officers = broken["cases"][0]["persons"][0]["questioning_officers"]
        .as_array_mut()
        .unwrap();
    officers.truncate(1);
    let e = dispatch
        .accept_plan(pb::AcceptPlanRequest {
            meta: meta(2),
            plan_json: broken.to_string(),
            versions: proposal.versions.clone(),
            case_ids: vec![],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains("Questioning"), "{}", e.message());

    // Another questioning room of the same kind at the same site: accepted.
    let region = parse_region("region-3-sites.toml", REGION).unwrap();
    let site = region
        .sites
        .iter()
        .find(|s| s.rooms.iter().any(|r| r.id.as_str() == room))
        .unwrap();
    let kind = site
        .rooms
        .iter()
        .find(|r| r.id.as_str() == room)
        .unwrap()
        .kind;
    let other = site
        .rooms
        .iter()
        .find(|r| r.kind == kind && r.recording && r.id.as_str() != room)
        .expect("a second questioning room")
        .id
        .to_string();
    plan["cases"][0]["persons"][0]["steps"][qi]["room"] = serde_json::json!(other);
    let ack = dispatch
        .accept_plan(pb::AcceptPlanRequest {
            meta: meta(3),
            plan_json: plan.to_string(),
            versions: proposal.versions.clone(),
            case_ids: vec![],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    // The audit stream and the change stream both carry the commit.
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let e = tokio::time::timeout(TIMEOUT, audit.message())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if e.index == ack.log_index {
            assert_eq!(e.request_id, 3);
            assert!(e.rejected.is_empty());
            break;
        }
        assert!(Instant::now() < deadline);
    }
    loop {
        let ch = tokio::time::timeout(TIMEOUT, watch.message())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if ch.entry.as_ref().unwrap().index == ack.log_index {
            break;
        }
        assert!(Instant::now() < deadline);
    }
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_late_escort_returns_the_plans_it_breaks_to_replanning() {
    let c = Cluster::start().await;
    // Every shift all day: C-2 may take C-1's team whatever the hour the
    // test runs at.
    let all_day = REGION
        .replace("window = \"08:00-20:00\"", "window = \"00:00-24:00\"")
        .replace("window = \"20:00-08:00\"", "window = \"00:00-24:00\"");
    assert_ne!(all_day, REGION);
    AdminServiceClient::new(c.channel(1).await)
        .load_region(pb::LoadRegionRequest {
            meta: meta(1000),
            file_name: "region-3-sites.toml".into(),
            text: all_day,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut dispatch = DispatchServiceClient::new(c.channel(2).await);
    let proposal = dispatch
        .submit_case(pb::SubmitCaseRequest {
            meta: meta(1),
            case: Some(a_case("C-1")),
        })
        .await
        .unwrap()
        .into_inner();
    dispatch
        .accept_plan(pb::AcceptPlanRequest {
            meta: meta(2),
            plan_json: proposal.plan_json.clone(),
            versions: proposal.versions.clone(),
            case_ids: vec![],
            ..Default::default()
        })
        .await
        .unwrap();
    // C-2's accepted plan takes C-1's escort from the moment it is back: the
    // engine's plan under that restriction, with C-1's escort (an override).
    dispatch
        .submit_case(pb::SubmitCaseRequest {
            meta: meta(3),
            case: Some(a_case("C-2")),
        })
        .await
        .unwrap();
    let plan: serde_json::Value = serde_json::from_str(&proposal.plan_json).unwrap();
    let escort = plan["cases"][0]["escort"].clone();
    let back: chrono::DateTime<chrono::Utc> = escort["back"].as_str().unwrap().parse().unwrap();
    let second = dispatch
        .propose_plan(pb::ProposePlanRequest {
            case_ids: vec!["C-2".into()],
            method: "greedy".into(),
            restriction: Some(pb::PlanRestriction {
                site_id: plan["cases"][0]["site"].as_str().unwrap().into(),
                escort: escort["mode"].as_str().unwrap().into(),
                not_before: Some(prost_types::Timestamp {
                    seconds: back.timestamp(),
                    nanos: 0,
                }),
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let mut plan2: serde_json::Value = serde_json::from_str(&second.plan_json).unwrap();
    let escort2 = &mut plan2["cases"][0]["escort"];
    // It sets off when the team is back, or at the engine's next start
    // after that: a delay of C-1's escort longer than the gap collides.
    let depart2: chrono::DateTime<chrono::Utc> =
        escort2["depart"].as_str().unwrap().parse().unwrap();
    let gap = (depart2 - back).num_minutes();
    assert!((0..=60).contains(&gap), "{escort2}");
    let late = gap as u32 + 10;
    escort2["team"] = escort["team"].clone();
    escort2["officers"] = escort["officers"].clone();
    let leader = c.leader().await;
    dispatch
        .accept_plan(pb::AcceptPlanRequest {
            meta: meta(4),
            plan_json: plan2.to_string(),
            versions: second.versions.clone(),
            override_reason: "the same escort".into(),
            ..Default::default()
        })
        .await
        .unwrap();

    // Bad reports: the field named, nothing written.
    let report = |request_id: u64, case: &str, minutes: u32| pb::ReportDelayRequest {
        meta: meta(request_id),
        case_id: case.into(),
        team_id: String::new(),
        minutes,
        reason: "traffic".into(),
        picked_up: false,
    };
    let before = audit_len(&c, leader).await;
    let e = dispatch
        .report_delay(report(10, "C-1", 0))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().starts_with("minutes"), "{}", e.message());
    let mut long = report(14, "C-1", 10);
    long.reason = "x".repeat(501);
    let e = dispatch.report_delay(long).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().starts_with("reason"), "{}", e.message());
    // The nodes' own client id is reserved.
    let mut reserved = report(15, "C-1", 10);
    reserved.meta.as_mut().unwrap().client_id = "casehub-rules".into();
    let e = dispatch.report_delay(reserved).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().starts_with("meta.client_id"), "{}", e.message());
    let e = dispatch
        .report_delay(report(11, "C-9", 10))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    assert!(e.message().starts_with("case_id"), "{}", e.message());
    assert_eq!(audit_len(&c, leader).await, before);

    // C-1's escort is late past C-2's departure: its plan slips, C-2's goes back to planning.
    let reply = dispatch
        .report_delay(report(12, "C-1", late))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.outcome, "slipped", "{reply:?}");
    assert_eq!(reply.replanned_case_ids, vec!["C-2".to_string()]);
    assert!(!reply.ack.unwrap().duplicate);
    let again = dispatch
        .report_delay(report(12, "C-1", late))
        .await
        .unwrap()
        .into_inner();
    assert!(again.ack.unwrap().duplicate, "{again:?}");
    assert_eq!(again.outcome, "slipped");
    // A request id this client used for another request: no answer borrowed
    // from it.
    let e = dispatch
        .report_delay(report(2, "C-1", late))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(
        e.message().starts_with("meta.request_id"),
        "{}",
        e.message()
    );

    // C-2 waits now: it has no plan to delay, it is alerted, and the
    // re-planning stream proposes for it with the reason.
    let e = dispatch
        .report_delay(report(13, "C-2", 10))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    let mut alerts = AlertServiceClient::new(c.channel(2).await);
    let list = alerts
        .list_alerts(pb::ListAlertsRequest {
            site_id: String::new(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        list.alerts
            .iter()
            .any(|a| a.kind == "plan_broken" && a.case_id == "C-2"),
        "{list:?}"
    );
    let mut proposals = dispatch
        .watch_proposals(pb::WatchProposalsRequest {
            method: "greedy".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let p = tokio::time::timeout(TIMEOUT, proposals.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        p.summary.iter().any(|l| l.starts_with("C-2:")),
        "{:?}",
        p.summary
    );
    assert!(
        p.warnings
            .iter()
            .any(|w| w.starts_with("case C-2: a new plan") && w.contains("C-1")),
        "{:?}",
        p.warnings
    );

    // A learner must answer which rules it applies before it is added.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = closed.local_addr().unwrap().to_string();
    drop(closed);
    let mut leader_admin = AdminServiceClient::new(c.channel(leader).await);
    let e = leader_admin
        .add_learner(pb::AddNodeRequest {
            node_id: 9,
            addr: nowhere,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    assert!(e.message().starts_with("addr"), "{}", e.message());
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn load_region_refuses_request_ids_past_the_largest_before_writing() {
    let c = Cluster::start().await;
    let mut admin = AdminServiceClient::new(c.channel(1).await);
    let before = c.nodes[&1].raft().metrics().borrow().last_log_index;
    let e = admin
        .load_region(pb::LoadRegionRequest {
            meta: meta(u64::MAX - 2),
            file_name: "region-3-sites.toml".into(),
            text: REGION.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().contains("meta.request_id"), "{}", e.message());
    assert!(
        e.message().contains("past the largest id"),
        "{}",
        e.message()
    );
    // Nothing was written.
    assert_eq!(c.nodes[&1].raft().metrics().borrow().last_log_index, before);
    c.shutdown().await;
}

/// Every timestamp in a JSON value moved by `by`.
fn shift_times(v: &mut serde_json::Value, by: chrono::Duration) {
    match v {
        serde_json::Value::String(s) => {
            if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
                *s = (t.with_timezone(&chrono::Utc) + by).to_rfc3339();
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| shift_times(x, by)),
        serde_json::Value::Object(o) => o.values_mut().for_each(|x| shift_times(x, by)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn accept_plan_checks_at_the_nodes_clock_not_the_plans() {
    let c = Cluster::start().await;
    c.load_region(1).await;
    let mut dispatch = DispatchServiceClient::new(c.channel(2).await);
    let proposal = dispatch
        .submit_case(pb::SubmitCaseRequest {
            meta: meta(1),
            case: Some(a_case("C-PAST")),
        })
        .await
        .unwrap()
        .into_inner();
    // The whole plan, its "now" included, moved two days back: consistent in
    // itself, but every booking is in the past.
    let mut plan: serde_json::Value = serde_json::from_str(&proposal.plan_json).unwrap();
    shift_times(&mut plan, -chrono::Duration::days(2));
    let e = dispatch
        .accept_plan(pb::AcceptPlanRequest {
            meta: meta(2),
            plan_json: plan.to_string(),
            versions: proposal.versions.clone(),
            case_ids: vec![],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains("before now"), "{}", e.message());
    // The plan as proposed is accepted.
    dispatch
        .accept_plan(pb::AcceptPlanRequest {
            meta: meta(3),
            plan_json: proposal.plan_json,
            versions: proposal.versions,
            case_ids: vec![],
            ..Default::default()
        })
        .await
        .unwrap();
    c.shutdown().await;
}

/// An empty message: every proto3 request decodes from it (as its
/// defaults), and every answer decodes into it.
#[derive(Clone, PartialEq, prost::Message)]
struct Empty {}

/// The code of calling `path` with an empty request over `channel`:
/// `Ok(())` if the call got past authorization (whatever the handler then
/// said), else the refusal's code.
async fn call_code(
    channel: Channel,
    path: &str,
    server_streaming: bool,
    client_streaming: bool,
) -> Code {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = tonic::codegen::http::uri::PathAndQuery::try_from(path.to_string()).unwrap();
    let codec = tonic_prost::ProstCodec::<Empty, Empty>::default();
    let result = if client_streaming {
        let input = tokio_stream::iter(vec![Empty {}]);
        grpc.streaming(tonic::Request::new(input), path, codec)
            .await
            .map(|_| ())
    } else if server_streaming {
        grpc.server_streaming(tonic::Request::new(Empty {}), path, codec)
            .await
            .map(|_| ())
    } else {
        grpc.unary(tonic::Request::new(Empty {}), path, codec)
            .await
            .map(|_| ())
    };
    match result {
        Ok(()) => Code::Ok,
        Err(s) => s.code(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_rpc_answers_every_role_and_no_credentials_as_the_table_says() {
    use casehub_server::auth::{self, Access};
    use casehub_store::Role;
    use prost::Message as _;

    let c = Cluster::start().await;
    // Every RPC of the client listener, from the served descriptors.
    let fds = prost_types::FileDescriptorSet::decode(casehub_server::grpc_api::FILE_DESCRIPTOR_SET)
        .unwrap();
    let mut rpcs: Vec<(String, bool, bool)> = Vec::new();
    for file in &fds.file {
        let package = file.package();
        for service in &file.service {
            // Raft and the raw store are on the peer listener only.
            if ["RaftService", "StoreService"].contains(&service.name()) {
                continue;
            }
            for m in &service.method {
                rpcs.push((
                    format!("/{package}.{}/{}", service.name(), m.name()),
                    m.server_streaming(),
                    m.client_streaming(),
                ));
            }
        }
    }
    rpcs.push(("/grpc.health.v1.Health/Check".into(), false, false));
    rpcs.push((
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo".into(),
        true,
        true,
    ));
    assert!(rpcs.len() >= 25, "{rpcs:?}");
    for (path, ..) in &rpcs {
        assert!(
            auth::access(path).is_some(),
            "{path} is missing from the authorization table"
        );
    }

    // One user per role, each with a certificate; and nobody.
    let mut callers: Vec<(String, Option<Role>, Option<pki::CertifiedPem>)> =
        vec![("no credentials".into(), None, None)];
    for role in Role::ALL {
        let name = format!("用户-{role}");
        add_user(&c.nodes[&1], &name, &[role]).await;
        let cert = pki::user_cert(&c.ca_pem, &name, 1).unwrap();
        callers.push((name, Some(role), Some(cert)));
    }
    // A certificate of the cluster CA for a user the cluster does not know.
    let stranger = pki::user_cert(&c.ca_pem, "stranger", 1).unwrap();
    callers.push(("unknown user".into(), None, Some(stranger)));

    let mut checked = 0;
    for (who, role, cert) in &callers {
        let channel = c.channel_as(1, cert.as_ref()).await;
        for (path, server_streaming, client_streaming) in &rpcs {
            let code = call_code(channel.clone(), path, *server_streaming, *client_streaming).await;
            let need = auth::access(path).unwrap();
            let expected_refusal = match (need, role) {
                (Access::Public, _) => None,
                (_, None) => Some(Code::Unauthenticated),
                (Access::Authenticated, Some(_)) => None,
                (Access::Needs(p), Some(r)) if auth::grants(*r).contains(&p) => None,
                (Access::Needs(_), Some(_)) => Some(Code::PermissionDenied),
            };
            match expected_refusal {
                Some(refusal) => assert_eq!(code, refusal, "{who} calling {path}"),
                None => assert!(
                    code != Code::Unauthenticated && code != Code::PermissionDenied,
                    "{who} calling {path}: {code:?}"
                ),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, rpcs.len() * callers.len());
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_user_logs_in_with_a_password_and_is_locked_out_after_failures() {
    use casehub_server::proto::auth_service_client::AuthServiceClient;
    use casehub_server::proto::user_service_client::UserServiceClient;

    let c = Cluster::start().await;
    // The admin (the operator) adds a supervisor with a password.
    let mut users = UserServiceClient::new(c.channel(1).await);
    let ack = users
        .upsert_user(pb::UpsertUserRequest {
            meta: meta(1),
            user: Some(pb::UserRecord {
                name: "监督员 王".into(),
                roles: vec!["supervisor".into()],
                ..Default::default()
            }),
            password: "a long passphrase".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(ack.log_index > 0);
    // Bad input is named.
    let e = users
        .upsert_user(pb::UpsertUserRequest {
            meta: meta(2),
            user: Some(pb::UserRecord {
                name: "x".into(),
                roles: vec!["root".into()],
                ..Default::default()
            }),
            password: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().starts_with("user.roles[0]"), "{}", e.message());
    let e = users
        .upsert_user(pb::UpsertUserRequest {
            meta: meta(3),
            user: Some(pb::UserRecord {
                name: "y".into(),
                roles: vec![],
                ..Default::default()
            }),
            password: "short".into(),
        })
        .await
        .unwrap_err();
    assert!(
        e.message().contains("at least 8 characters"),
        "{}",
        e.message()
    );
    let listed = users
        .list_users(pb::ListUsersRequest {})
        .await
        .unwrap()
        .into_inner();
    let sup = listed.users.iter().find(|u| u.name == "监督员 王").unwrap();
    assert!(sup.has_password);

    // Log in on another node, without a certificate, once it has the user;
    // the token works there.
    let deadline = Instant::now() + TIMEOUT;
    while !c.nodes[&2]
        .state()
        .current()
        .state
        .users
        .users
        .contains_key("监督员 王")
    {
        assert!(Instant::now() < deadline, "node 2 does not have the user");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let anonymous = c.channel_as(2, None).await;
    let mut auth = AuthServiceClient::new(anonymous.clone());
    let login = |password: &str| pb::LoginRequest {
        user: "监督员 王".into(),
        password: password.into(),
    };
    let reply = auth
        .login(login("a long passphrase"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.roles, vec!["supervisor".to_string()]);
    let mut audit_call = tonic::Request::new(pb::ReadAuditRequest::default());
    audit_call.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", reply.token).parse().unwrap(),
    );
    AuditServiceClient::new(anonymous.clone())
        .read_audit(audit_call)
        .await
        .unwrap();
    // The token does not make a supervisor an admin.
    let mut upsert = tonic::Request::new(pb::UpsertUserRequest::default());
    upsert.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", reply.token).parse().unwrap(),
    );
    let e = UserServiceClient::new(anonymous.clone())
        .upsert_user(upsert)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    // A forged token is refused.
    let mut forged = tonic::Request::new(pb::ReadAuditRequest::default());
    forged.metadata_mut().insert(
        "authorization",
        format!("Bearer {}x", reply.token).parse().unwrap(),
    );
    let e = AuditServiceClient::new(anonymous.clone())
        .read_audit(forged)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);

    // Five wrong passwords lock the account (the default policy), even for
    // the right password, and say so.
    for _ in 0..5 {
        let e = auth.login(login("wrong passphrase")).await.unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated);
    }
    let e = auth.login(login("a long passphrase")).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    assert!(e.message().contains("locked until"), "{}", e.message());
    // An unknown user gets the same answer as a wrong password.
    let e = auth
        .login(pb::LoginRequest {
            user: "nobody".into(),
            password: "a long passphrase".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.message(), "unknown user or wrong password");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_streams_from_one_user_is_refused_past_the_limit_and_freed_on_close() {
    use casehub_server::proto::availability_service_client::AvailabilityServiceClient;
    use casehub_server::streams::MAX_STREAMS_PER_USER;

    let c = Cluster::start().await;
    let mut watch = AvailabilityServiceClient::new(c.channel(1).await);
    let mut open = Vec::new();
    for _ in 0..MAX_STREAMS_PER_USER {
        open.push(
            watch
                .watch(pb::WatchRequest { from_index: 0 })
                .await
                .unwrap()
                .into_inner(),
        );
    }
    // A bounded flood past the limit: every one refused, none served.
    for _ in 0..(2 * MAX_STREAMS_PER_USER) {
        let e = watch
            .watch(pb::WatchRequest { from_index: 0 })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    }
    let mut alerts = AlertServiceClient::new(c.channel(1).await);
    let e = alerts
        .stream_alerts(pb::StreamAlertsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        Code::ResourceExhausted,
        "every kind of stream counts"
    );
    // Another user is not held back by this one's streams.
    add_user(
        &c.nodes[&1],
        "另一位监督员",
        &[casehub_store::Role::Supervisor],
    )
    .await;
    let other = pki::user_cert(&c.ca_pem, "另一位监督员", 1).unwrap();
    AvailabilityServiceClient::new(c.channel_as(1, Some(&other)).await)
        .watch(pb::WatchRequest { from_index: 0 })
        .await
        .unwrap();
    // Closing the streams frees their places.
    drop(open);
    let deadline = Instant::now() + TIMEOUT;
    loop {
        match watch.watch(pb::WatchRequest { from_index: 0 }).await {
            Ok(_) => break,
            Err(e) if e.code() == Code::ResourceExhausted && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_user_past_the_policys_request_rate_is_refused_and_others_are_not() {
    let c = Cluster::start().await;
    // A strict policy: 2 calls a second, bursts of 5.
    let policy = casehub_store::SecurityPolicy {
        requests_per_second: 2,
        request_burst: 5,
        ..Default::default()
    };
    let request = casehub_store::Request {
        client_id: "test-policy".into(),
        request_id: 1,
        actor: "node operator".into(),
        site: None,
        time: chrono::Utc::now(),
        command: casehub_store::Command::SetSecurityPolicy(policy),
        trace: None,
    };
    let w = c.nodes[&1].write(&request).await.unwrap();
    assert!(w.response.is_applied(), "{w:?}");
    c.nodes[&1].state().wait_applied(w.log_index).await;
    let mut admin = AdminServiceClient::new(c.channel(1).await);
    let mut codes = Vec::new();
    for _ in 0..30 {
        codes.push(
            match admin.cluster_status(pb::ClusterStatusRequest {}).await {
                Ok(_) => Code::Ok,
                Err(e) => {
                    assert!(e.message().contains("slow down"), "{e:?}");
                    e.code()
                }
            },
        );
    }
    let refused = codes
        .iter()
        .filter(|c| **c == Code::ResourceExhausted)
        .count();
    // 30 calls as fast as they go: the burst of 5 and the few refilled
    // meanwhile pass, the rest are refused.
    assert!(refused >= 4, "{codes:?}");
    assert!(
        codes
            .iter()
            .all(|c| *c == Code::Ok || *c == Code::ResourceExhausted)
    );
    assert_eq!(codes[0], Code::Ok);
    // Another user has a budget of its own.
    add_user(
        &c.nodes[&1],
        "另一位调度员",
        &[casehub_store::Role::Dispatcher],
    )
    .await;
    let other = pki::user_cert(&c.ca_pem, "另一位调度员", 1).unwrap();
    AdminServiceClient::new(c.channel_as(1, Some(&other)).await)
        .cluster_status(pb::ClusterStatusRequest {})
        .await
        .unwrap();
    c.shutdown().await;
}
