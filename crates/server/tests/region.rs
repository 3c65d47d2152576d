//! The region is replicated: nodes started with different region files of
//! their own — or none — plan the same once a region is loaded into the
//! cluster, every plan records the region version, and a plan from another
//! version is refused naming both.

mod common;

use std::time::{Duration, Instant};

use casehub_model::scenario::parse_region;
use casehub_planning::Plan;
use casehub_server::grpc_api::{ApiContext, LocalRegion};
use casehub_server::proto::admin_service_client::AdminServiceClient;
use casehub_server::proto::dispatch_service_client::DispatchServiceClient;
use casehub_server::proto::{self as pb};
use casehub_travel::{GreatCircle, TravelTable};
use tonic::Code;

use common::api::*;

/// The sample region as a node's own file, but with other step durations,
/// slower roads and another time zone.
fn other_context() -> ApiContext {
    let text = REGION
        .replace(
            "interrogation = { dist = \"triangular\", min = 60.0, mode = 120.0, max = 240.0 }",
            "interrogation = { dist = \"triangular\", min = 200.0, mode = 240.0, max = 300.0 }",
        )
        .replace("utc_offset_min = 480", "utc_offset_min = 0");
    let region = parse_region("other.toml", &text).unwrap();
    assert_ne!(
        region.step_durations,
        parse_region("r.toml", REGION).unwrap().step_durations,
        "the other file differs"
    );
    let travel = TravelTable::for_region(&GreatCircle::new(1.6, 15.0).unwrap(), &region).unwrap();
    ApiContext {
        local: Some(LocalRegion { region, travel }),
        ..sample_context()
    }
}

/// What a plan of one case depends on besides the moment: the site, the
/// escort and its drive, each step's room and length, the questioners.
fn shape(plan: &Plan) -> serde_json::Value {
    let cp = &plan.cases[0];
    serde_json::json!({
        "site": cp.site,
        "escort": [cp.escort.mode, &cp.escort.team, (cp.escort.arrive - cp.escort.pickup).num_minutes()],
        "persons": cp.persons.iter().map(|p| serde_json::json!({
            "steps": p.steps.iter().map(|s| (s.step, s.room.to_string(), (s.end - s.start).num_minutes())).collect::<Vec<_>>(),
            "questioners": p.questioning_officers,
        })).collect::<Vec<_>>(),
    })
}

async fn propose(c: &Cluster, node: u64) -> Result<pb::ProposePlanReply, tonic::Status> {
    DispatchServiceClient::new(c.channel(node).await)
        .propose_plan(pb::ProposePlanRequest {
            case_ids: vec!["C-1".into()],
            method: "greedy".into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_with_different_files_plan_the_same_from_the_replicated_region() {
    // Node 1 has the sample file, node 2 another one, node 3 none at all.
    let c = Cluster::start_each(false, |id| match id {
        1 => sample_context(),
        2 => other_context(),
        _ => ApiContext {
            local: None,
            ..sample_context()
        },
    })
    .await;
    let mut admin = AdminServiceClient::new(c.channel(3).await);
    let loaded = admin
        .load_region(pb::LoadRegionRequest {
            meta: meta(1000),
            file_name: "region-3-sites.toml".into(),
            text: REGION.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(loaded.region_version, 1);
    assert_eq!(loaded.region_digest.len(), 64, "{loaded:?}");
    DispatchServiceClient::new(c.channel(1).await)
        .submit_case(pb::SubmitCaseRequest {
            meta: meta(1),
            case: Some(a_case("C-1")),
        })
        .await
        .unwrap();
    let mut shapes = Vec::new();
    for node in 1..=3 {
        // Each node plans from its own applied state: wait for the case.
        let deadline = Instant::now() + TIMEOUT;
        let reply = loop {
            match propose(&c, node).await {
                Ok(r) if !r.plan_json.is_empty() => break r,
                other => {
                    assert!(Instant::now() < deadline, "node {node}: {other:?}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        let plan: Plan = serde_json::from_str(&reply.plan_json).unwrap();
        assert_eq!(plan.region_version, 1, "node {node}");
        assert_eq!(plan.cases.len(), 1, "node {node}: {:?}", plan.blocked);
        shapes.push(shape(&plan));
    }
    assert_eq!(shapes[0], shapes[1], "node 2 planned from its own file");
    assert_eq!(shapes[0], shapes[2], "node 3 planned differently");
    // Node 2's own file would have questioned for at least 200 minutes.
    let questioning = shapes[1]["persons"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s[0] == "questioning")
        .unwrap()[2]
        .as_i64()
        .unwrap();
    assert!(questioning < 200, "{questioning}");

    // A new region version: a plan made from the old one is refused at
    // acceptance, naming both versions.
    let proposed = propose(&c, 1).await.unwrap();
    let changed = REGION.replace(
        "name = \"Qingshan County with two sub-centers (sample)\"",
        "name = \"Qingshan County, renamed\"",
    );
    assert_ne!(changed, REGION, "the region's name line changed");
    let loaded = admin
        .load_region(pb::LoadRegionRequest {
            meta: meta(2000),
            file_name: "region-3-sites.toml".into(),
            text: changed,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(loaded.region_version, 2);
    let e = DispatchServiceClient::new(c.channel(1).await)
        .accept_plan(pb::AcceptPlanRequest {
            meta: meta(3),
            plan_json: proposed.plan_json.clone(),
            versions: proposed.versions.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(
        e.message().contains("region version 1") && e.message().contains("at version 2"),
        "{}",
        e.message()
    );
    // Proposed again, from version 2: accepted.
    let again = propose(&c, 1).await.unwrap();
    DispatchServiceClient::new(c.channel(1).await)
        .accept_plan(pb::AcceptPlanRequest {
            meta: meta(4),
            plan_json: again.plan_json,
            versions: again.versions,
            ..Default::default()
        })
        .await
        .unwrap();
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_without_a_region_says_how_to_load_one() {
    let c = Cluster::start_each(false, |_| ApiContext {
        local: None,
        ..sample_context()
    })
    .await;
    let e = DispatchServiceClient::new(c.channel(2).await)
        .propose_plan(pb::ProposePlanRequest {
            method: "greedy".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(
        e.message().contains("casehub cluster load-region"),
        "{}",
        e.message()
    );
    // A road-network region's table must come with it: the node reads no
    // files of its own.
    let road = REGION.replace(
        "source = \"great_circle\"\ndetour_factor = 1.35\nspeed_kmh = 45.0",
        "source = \"road_network\"\nnodes = \"nodes.csv\"\nedges = \"edges.csv\"",
    );
    assert_ne!(road, REGION);
    let e = AdminServiceClient::new(c.channel(1).await)
        .load_region(pb::LoadRegionRequest {
            meta: meta(1000),
            file_name: "road.toml".into(),
            text: road,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(
        e.message().starts_with("travel_table_json"),
        "{}",
        e.message()
    );
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_officers_leave_over_the_api_sends_the_case_back_to_planning() {
    let c = Cluster::start().await;
    c.load_region(1).await;
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
            ..Default::default()
        })
        .await
        .unwrap();
    let plan: Plan = serde_json::from_str(&proposal.plan_json).unwrap();
    let officer = plan.cases[0].persons[0].questioning_officers[0].to_string();
    let q = plan.cases[0].persons[0]
        .steps
        .iter()
        .find(|s| s.step == casehub_model::Step::Questioning)
        .unwrap()
        .clone();
    let mut admin = AdminServiceClient::new(c.channel(1).await);
    let leave = |request_id: u64, kind: &str, officer: &str| pb::AddAbsenceRequest {
        meta: meta(request_id),
        resource: Some(pb::ResourceId {
            kind: "officer".into(),
            id: officer.into(),
        }),
        kind: kind.into(),
        start: Some(ts(q.start)),
        end: Some(ts(q.end)),
        note: "病假".into(),
    };
    // Bad requests name the field; an unknown officer is not found.
    let e = admin
        .add_absence(leave(3, "holiday", &officer))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().starts_with("kind"), "{}", e.message());
    let e = admin
        .add_absence(leave(4, "sickness", "NOBODY"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    admin
        .add_absence(leave(5, "sickness", &officer))
        .await
        .unwrap();
    // The case waits again, saying why.
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let case = dispatch
            .get_case(pb::GetCaseRequest {
                case_id: "C-1".into(),
            })
            .await
            .unwrap()
            .into_inner();
        if case.status == "submitted" {
            assert!(case.plan_broken.contains(&officer), "{case:?}");
            break;
        }
        assert!(Instant::now() < deadline, "{case:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Out of service and back.
    let room = q.room.to_string();
    for active in [false, true] {
        admin
            .set_active(pb::SetActiveRequest {
                meta: meta(if active { 7 } else { 6 }),
                resource: Some(pb::ResourceId {
                    kind: "room".into(),
                    id: room.clone(),
                }),
                active,
            })
            .await
            .unwrap();
    }
    // A room closed for maintenance, a site and a station out of service
    // and back; a case is not a resource.
    let window = |h: i64| Some(ts(chrono::Utc::now() + chrono::Duration::hours(h)));
    admin
        .add_absence(pb::AddAbsenceRequest {
            meta: meta(8),
            resource: Some(pb::ResourceId {
                kind: "room".into(),
                id: room.clone(),
            }),
            kind: "maintenance".into(),
            start: window(1),
            end: window(3),
            note: "更换录音设备".into(),
        })
        .await
        .unwrap();
    let state = c.nodes[&1].state().current();
    let room_id = casehub_model::RoomId::new(room.clone()).unwrap();
    assert_eq!(state.state.rooms[&room_id].absences.len(), 1);
    let mut n = 9;
    for (kind, id) in [("site", "SC-NE"), ("station", "S01")] {
        for active in [false, true] {
            n += 1;
            admin
                .set_active(pb::SetActiveRequest {
                    meta: meta(n),
                    resource: Some(pb::ResourceId {
                        kind: kind.into(),
                        id: id.into(),
                    }),
                    active,
                })
                .await
                .unwrap();
        }
    }
    let e = admin
        .set_active(pb::SetActiveRequest {
            meta: meta(20),
            resource: Some(pb::ResourceId {
                kind: "case".into(),
                id: "C-1".into(),
            }),
            active: false,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(e.message().contains("resource.kind"), "{e:?}");
    let e = admin
        .add_absence(pb::AddAbsenceRequest {
            meta: meta(21),
            resource: Some(pb::ResourceId {
                kind: "site".into(),
                id: "SC-NE".into(),
            }),
            kind: "maintenance".into(),
            start: window(1),
            end: window(3),
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(e.message().contains("SetActive"), "{e:?}");
    let audit = c.nodes[&1].state().current();
    let summaries: Vec<&str> = audit
        .state
        .audit
        .iter()
        .map(|a| a.summary.as_str())
        .collect();
    for s in [
        "site SC-NE out of service",
        "site SC-NE back in service",
        "station S01 out of service",
    ] {
        assert!(
            summaries.iter().any(|x| x.contains(s)),
            "{s}: {summaries:?}"
        );
    }
    c.shutdown().await;
}
