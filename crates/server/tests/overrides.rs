//! Overrides on a 3-node cluster over TLS: the engine re-plans a case under
//! a dispatcher's restriction (site, escort, start), a plan with another
//! room is checked without being committed (`validate_only`), and an
//! accepted override carries its reason into the audit, where the
//! supervisor's filters find it.

mod common;

use casehub_model::RoomKind;
use casehub_planning::Plan;
use casehub_server::proto::audit_service_client::AuditServiceClient;
use casehub_server::proto::dispatch_service_client::DispatchServiceClient;
use casehub_server::proto::{self as pb};
use tonic::Code;

use common::api::*;

const REASON: &str = "押解车辆故障，改派至另一办案点";

fn plan_of(reply: &pb::ProposePlanReply) -> Plan {
    serde_json::from_str(&reply.plan_json).expect("the plan JSON")
}

fn restricted(case: &str, site: &str, escort: &str) -> pb::ProposePlanRequest {
    pb::ProposePlanRequest {
        case_ids: vec![case.into()],
        restriction: Some(pb::PlanRestriction {
            site_id: site.into(),
            escort: escort.into(),
            not_before: None,
        }),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_override_is_replanned_checked_and_audited_with_its_reason() {
    let c = Cluster::start().await;
    c.load_region(1).await;
    let mut dispatch = DispatchServiceClient::new(c.channel(1).await);
    let proposal = dispatch
        .submit_case(pb::SubmitCaseRequest {
            meta: meta(1),
            case: Some(a_case("C-1")),
        })
        .await
        .unwrap()
        .into_inner();
    let proposed = plan_of(&proposal);
    assert_eq!(proposed.cases.len(), 1, "{proposal:?}");
    let first_site = proposed.cases[0].site.to_string();

    // The engine re-plans the case at each other site it is asked for.
    let mut at_other = None;
    for site in ["MC", "SC-NE", "SC-SW"]
        .into_iter()
        .filter(|s| *s != first_site)
    {
        let reply = dispatch
            .propose_plan(restricted("C-1", site, ""))
            .await
            .unwrap()
            .into_inner();
        let plan = plan_of(&reply);
        for cp in &plan.cases {
            assert_eq!(cp.site.as_str(), site, "restricted to {site}");
        }
        if plan.cases.len() == 1 {
            at_other = Some(reply);
        } else {
            assert_eq!(reply.blocked.len(), 1, "{reply:?}");
        }
    }
    let reply = at_other.expect("the case can go to another site");
    let mut plan = plan_of(&reply);
    let site = plan.cases[0].site.clone();

    // Bad restrictions are refused, naming the field.
    let two = dispatch
        .propose_plan(pb::ProposePlanRequest {
            case_ids: vec!["C-1".into(), "C-2".into()],
            ..restricted("C-1", "MC", "")
        })
        .await
        .unwrap_err();
    assert_eq!(two.code(), Code::InvalidArgument, "{two:?}");
    assert!(
        two.message().starts_with("restriction"),
        "{}",
        two.message()
    );
    let nowhere = dispatch
        .propose_plan(restricted("C-1", "NOWHERE", ""))
        .await
        .unwrap_err();
    assert_eq!(nowhere.code(), Code::NotFound, "{nowhere:?}");
    assert!(nowhere.message().contains("restriction.site_id"));
    let bus = dispatch
        .propose_plan(restricted("C-1", "", "bus"))
        .await
        .unwrap_err();
    assert_eq!(bus.code(), Code::InvalidArgument);
    assert!(
        bus.message().contains("restriction.escort"),
        "{}",
        bus.message()
    );

    // Another intake room of the same site: checked, not committed.
    let state = c.nodes[&1].state().current();
    let intake = plan.cases[0].persons[0]
        .steps
        .iter()
        .position(|s| s.step == casehub_model::Step::Intake)
        .expect("an intake step");
    let booked = plan.cases[0].persons[0].steps[intake].room.clone();
    let rooms_here = |kind: RoomKind| {
        state
            .state
            .rooms
            .iter()
            .filter(|(id, r)| r.value.site == site && r.value.room.kind == kind && **id != booked)
            .map(|(id, _)| id.clone())
            .collect::<Vec<_>>()
    };
    let check = |plan: &Plan, request_id: u64| pb::AcceptPlanRequest {
        meta: meta(request_id),
        plan_json: serde_json::to_string(plan).unwrap(),
        versions: reply.versions.clone(),
        validate_only: true,
        ..Default::default()
    };
    let before = c.nodes[&1].state().current().index;
    if let Some(other) = rooms_here(RoomKind::Intake).first() {
        plan.cases[0].persons[0].steps[intake].room = other.clone();
        let ok = dispatch
            .accept_plan(check(&plan, 10))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(ok.log_index, 0, "validate_only commits nothing");
    }
    // A holding room for the intake breaks a rule: the check says which.
    let mut wrong = plan.clone();
    wrong.cases[0].persons[0].steps[intake].room = rooms_here(RoomKind::Holding)
        .first()
        .expect("a holding room")
        .clone();
    let refused = dispatch.accept_plan(check(&wrong, 11)).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(
        refused.message().contains("breaks"),
        "{}",
        refused.message()
    );
    assert_eq!(
        c.nodes[&1].state().current().index,
        before,
        "nothing was written by the checks"
    );

    // A reason too long is refused.
    let long = dispatch
        .accept_plan(pb::AcceptPlanRequest {
            validate_only: false,
            override_reason: "理".repeat(501),
            ..check(&plan, 12)
        })
        .await
        .unwrap_err();
    assert_eq!(long.code(), Code::InvalidArgument);
    assert!(
        long.message().contains("override_reason"),
        "{}",
        long.message()
    );

    // Accepted with its reason.
    let ack = dispatch
        .accept_plan(pb::AcceptPlanRequest {
            validate_only: false,
            override_reason: REASON.into(),
            ..check(&plan, 13)
        })
        .await
        .unwrap()
        .into_inner();
    assert!(ack.log_index > 0);

    // The supervisor finds it: only overrides, with the reason and the
    // authenticated principal.
    let mut audit = AuditServiceClient::new(c.channel(1).await);
    let overrides = audit
        .read_audit(pb::ReadAuditRequest {
            overrides_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(overrides.len(), 1, "{overrides:?}");
    let e = &overrides[0];
    assert!(e.is_override);
    assert_eq!(e.reason, REASON);
    assert_eq!(e.actor, OPERATOR);
    assert_eq!(e.index, ack.log_index);
    assert!(e.rejected.is_empty(), "{e:?}");
    assert!(e.summary.contains("C-1"), "{}", e.summary);
    // Other filters: text (in the reason), actor, time; newest first.
    let found = |r: pb::ReadAuditRequest| {
        let mut audit = audit.clone();
        async move { audit.read_audit(r).await.unwrap().into_inner().entries }
    };
    let by_text = found(pb::ReadAuditRequest {
        contains: "车辆故障".into(),
        ..Default::default()
    })
    .await;
    assert_eq!(by_text.len(), 1);
    let by_case = found(pb::ReadAuditRequest {
        contains: "c-1".into(),
        newest_first: true,
        ..Default::default()
    })
    .await;
    assert!(by_case.len() >= 2, "submit and override: {by_case:?}");
    assert_eq!(by_case[0].index, ack.log_index, "newest first");
    assert!(by_case.windows(2).all(|w| w[0].index >= w[1].index));
    assert!(
        found(pb::ReadAuditRequest {
            actor: "nobody".into(),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    assert!(
        found(pb::ReadAuditRequest {
            since: Some(ts(chrono::Utc::now() + chrono::Duration::hours(1))),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    let backwards = audit
        .read_audit(pb::ReadAuditRequest {
            since: Some(ts(chrono::Utc::now())),
            until: Some(ts(chrono::Utc::now() - chrono::Duration::hours(1))),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(backwards.code(), Code::InvalidArgument);
    assert!(backwards.message().contains("until"));

    // Today's figures count the override; a day that is not a date is
    // refused, naming the field.
    let today = audit
        .get_daily_figures(pb::GetDailyFiguresRequest { day: String::new() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(today.rows[0].site_id, "", "every site first");
    assert_eq!(today.rows[0].overrides, 1, "{today:?}");
    let bad = audit
        .get_daily_figures(pb::GetDailyFiguresRequest {
            day: "2026-13-40".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().starts_with("day"), "{}", bad.message());
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_exception_is_asked_by_a_dispatcher_and_approved_by_a_supervisor() {
    use casehub_server::pki;
    use casehub_store::Role;
    let c = Cluster::start().await;
    c.load_region(1).await;
    let (dispatcher, supervisor) = ("调度员 张", "督察 王");
    add_user(&c.nodes[&1], dispatcher, &[Role::Dispatcher]).await;
    add_user(&c.nodes[&1], supervisor, &[Role::Supervisor]).await;
    let as_user = |name: &str| pki::user_cert(&c.ca_pem, name, 1).unwrap();
    let (d_cert, s_cert) = (as_user(dispatcher), as_user(supervisor));
    let mut d = DispatchServiceClient::new(c.channel_as(1, Some(&d_cert)).await);
    let mut s = DispatchServiceClient::new(c.channel_as(2, Some(&s_cert)).await);

    d.submit_case(pb::SubmitCaseRequest {
        meta: meta(1),
        case: Some(a_case("C-EX")),
    })
    .await
    .unwrap();
    let proposed = d
        .propose_plan(pb::ProposePlanRequest {
            case_ids: vec!["C-EX".into()],
            method: "greedy".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    // One escort officer fewer than the policy's two.
    let mut plan: serde_json::Value = serde_json::from_str(&proposed.plan_json).unwrap();
    let officers = plan["cases"][0]["escort"]["officers"]
        .as_array_mut()
        .unwrap();
    assert!(officers.len() >= 2, "{officers:?}");
    officers.pop();
    let accept = |request_id: u64, ids: Vec<u64>| pb::AcceptPlanRequest {
        meta: meta(request_id),
        plan_json: plan.to_string(),
        versions: proposed.versions.clone(),
        override_reason: "押解警力不足".into(),
        exception_ids: ids,
        ..Default::default()
    };
    let e = d.accept_plan(accept(2, vec![])).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains("EscortOfficers"), "{}", e.message());

    let asked = d
        .request_exception(pb::RequestExceptionRequest {
            meta: meta(3),
            case_id: "C-EX".into(),
            kind: "escort_arrangement".into(),
            reason: "另一名押解民警在途".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let id = asked.exception_id;
    // A dispatcher may not approve; a supervisor sees it waiting.
    let decide = |request_id: u64| pb::DecideExceptionRequest {
        meta: meta(request_id),
        exception_id: id,
        approve: true,
        note: "同意".into(),
    };
    let e = d.decide_exception(decide(4)).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    // Node 2 answers from its own applied state: wait for the request.
    let deadline = std::time::Instant::now() + TIMEOUT;
    let pending = loop {
        let pending = s
            .list_exceptions(pb::ListExceptionsRequest { pending_only: true })
            .await
            .unwrap()
            .into_inner()
            .exceptions;
        if !pending.is_empty() {
            break pending;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the request did not replicate"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (
            pending[0].exception_id,
            pending[0].requested_by.as_str(),
            pending[0].rule.as_str()
        ),
        (id, dispatcher, "escort_officers")
    );
    s.decide_exception(decide(5)).await.unwrap();
    d.accept_plan(accept(6, vec![id])).await.unwrap();
    let all = loop {
        let all = s
            .list_exceptions(pb::ListExceptionsRequest::default())
            .await
            .unwrap()
            .into_inner()
            .exceptions;
        if all[0].state == "used" || std::time::Instant::now() > deadline {
            break all;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(all[0].state, "used", "{all:?}");
    assert_eq!(all[0].decided_by, supervisor);
    c.shutdown().await;
}
