//! The persons' particulars and the site scopes on a 3-node cluster over
//! TLS: names and identity numbers are sealed at rest (log, state machine,
//! snapshots), shown only to the roles that need them, pseudonymous in the
//! audit and to everyone else, and purged after the retention period; a
//! site-scoped user sees and acts on the cases of its own sites only.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use casehub_server::pki;
use casehub_server::proto::alert_service_client::AlertServiceClient;
use casehub_server::proto::audit_service_client::AuditServiceClient;
use casehub_server::proto::availability_service_client::AvailabilityServiceClient;
use casehub_server::proto::dispatch_service_client::DispatchServiceClient;
use casehub_server::proto::user_service_client::UserServiceClient;
use casehub_server::proto::{self as pb};
use casehub_store::Role;
use tonic::Code;

use common::api::*;

const NAME: &str = "张三丰";
const ID_NUMBER: &str = "11010519491231002X";

fn case_with_particulars(id: &str, station: &str) -> pb::Case {
    let mut c = a_case(id);
    c.origin_station_id = station.into();
    c.persons[0].name = NAME.into();
    c.persons[0].id_number = ID_NUMBER.into();
    c
}

async fn dispatch_as(
    c: &Cluster,
    node: u64,
    who: Option<&pki::CertifiedPem>,
) -> DispatchServiceClient<tonic::transport::Channel> {
    DispatchServiceClient::new(c.channel_as(node, who.or(Some(&c.user))).await)
}

async fn submit(
    d: &mut DispatchServiceClient<tonic::transport::Channel>,
    request_id: u64,
    case: pb::Case,
) -> Result<(), tonic::Status> {
    d.submit_case(pb::SubmitCaseRequest {
        meta: meta(request_id),
        case: Some(case),
    })
    .await
    .map(|_| ())
}

async fn get(
    d: &mut DispatchServiceClient<tonic::transport::Channel>,
    id: &str,
) -> Result<pb::CaseRecord, tonic::Status> {
    d.get_case(pb::GetCaseRequest { case_id: id.into() })
        .await
        .map(|r| r.into_inner())
}

/// Every file under `dir`, read whole.
fn files(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else if let Ok(bytes) = std::fs::read(&p) {
            out.push((p, bytes));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn is_pseudonym(p: &str) -> bool {
    p.strip_prefix("人员-")
        .is_some_and(|h| h.len() == 8 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn particulars_are_sealed_at_rest_and_shown_only_to_the_roles_that_need_them() {
    let c = Cluster::start_with(true).await;
    c.load_region(1).await;
    let mut op = dispatch_as(&c, 2, None).await;

    // Bad particulars are refused, naming the field.
    let mut bad = case_with_particulars("C-BAD", "S03");
    bad.persons[0].id_number = "110105194912310021".into();
    let e = submit(&mut op, 1, bad).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("case.persons[0].id_number"), "{e:?}");
    let mut bad = case_with_particulars("C-BAD", "S03");
    bad.persons[0].name = " ".into();
    let e = submit(&mut op, 2, bad).await.unwrap_err();
    assert!(e.message().contains("case.persons[0].name"), "{e:?}");
    let mut forged = case_with_particulars("C-BAD", "S03");
    forged.persons[0].pseudonym = "人员-00000000".into();
    let e = submit(&mut op, 3, forged).await.unwrap_err();
    assert!(e.message().contains("pseudonym"), "{e:?}");

    submit(&mut op, 4, case_with_particulars("C-PII-1", "S03"))
        .await
        .unwrap();

    // The operator is a dispatcher (and a supervisor): the particulars.
    let shown = get(&mut op, "C-PII-1").await.unwrap();
    assert_eq!(shown.particulars, "shown");
    let person = &shown.case.as_ref().unwrap().persons[0];
    assert_eq!(
        (person.name.as_str(), person.id_number.as_str()),
        (NAME, ID_NUMBER)
    );
    assert!(is_pseudonym(&person.pseudonym), "{person:?}");
    let pseudonym = person.pseudonym.clone();

    // One user per role, on another node.
    let mut certs = std::collections::BTreeMap::new();
    for role in Role::ALL {
        let name = format!("用户-{role}");
        add_user(&c.nodes[&1], &name, &[role]).await;
        certs.insert(role, pki::user_cert(&c.ca_pem, &name, 1).unwrap());
    }
    for role in Role::ALL {
        let mut d = dispatch_as(&c, 3, Some(&certs[&role])).await;
        let deadline = Instant::now() + TIMEOUT;
        let got = loop {
            match get(&mut d, "C-PII-1").await {
                Err(e) if e.code() == Code::NotFound && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await
                }
                other => break other,
            }
        };
        match role {
            Role::Dispatcher | Role::Site | Role::Supervisor => {
                let r = got.unwrap();
                assert_eq!(r.particulars, "shown", "{role}");
                assert_eq!(r.case.unwrap().persons[0].name, NAME, "{role}");
            }
            Role::Planner => {
                let r = got.unwrap();
                assert_eq!(r.particulars, "withheld");
                let p = &r.case.as_ref().unwrap().persons[0];
                assert_eq!((p.name.as_str(), p.id_number.as_str()), ("", ""));
                assert_eq!(p.pseudonym, pseudonym);
                let list = d
                    .list_cases(pb::ListCasesRequest::default())
                    .await
                    .unwrap()
                    .into_inner();
                let listed = list
                    .cases
                    .iter()
                    .find(|r| r.case.as_ref().unwrap().case_id == "C-PII-1")
                    .unwrap();
                assert_eq!(listed.case.as_ref().unwrap().persons[0].name, "");
            }
            // An admin reads no cases at all (unless also a supervisor).
            Role::Admin => assert_eq!(got.unwrap_err().code(), Code::PermissionDenied),
        }
    }

    // The audit names the person by pseudonym only.
    let audit = AuditServiceClient::new(c.channel(1).await)
        .read_audit(pb::ReadAuditRequest {
            from_index: 0,
            limit: 0,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let submitted = audit
        .entries
        .iter()
        .find(|e| e.summary.contains("submit case C-PII-1"))
        .unwrap();
    assert!(submitted.summary.contains(&pseudonym), "{submitted:?}");
    for e in &audit.entries {
        assert!(
            !e.summary.contains(NAME) && !e.summary.contains(ID_NUMBER),
            "{e:?}"
        );
    }

    // At rest: a snapshot on every node, then no file of any data
    // directory holds the name or the number, while the case id (stored in
    // the clear) is found: the scan does see the stored bytes.
    for n in c.nodes.values() {
        n.raft().trigger().snapshot().await.unwrap();
    }
    for n in c.nodes.values() {
        let deadline = Instant::now() + TIMEOUT;
        while n.raft().metrics().borrow().snapshot.is_none() {
            assert!(Instant::now() < deadline, "no snapshot");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // Stop the nodes, keeping their directories.
    let Cluster { dir, nodes, .. } = c;
    for (_, n) in nodes {
        n.shutdown().await;
    }
    let dir = dir.path().to_path_buf();
    let mut scanned = 0;
    for id in 1..=3 {
        let all = files(&dir.join(format!("node-{id}")));
        assert!(
            all.iter().any(|(_, b)| contains(b, b"C-PII-1")),
            "node {id}: the case id is nowhere in the data directory"
        );
        for (path, bytes) in &all {
            assert!(
                !contains(bytes, NAME.as_bytes()),
                "{} holds the name",
                path.display()
            );
            assert!(
                !contains(bytes, ID_NUMBER.as_bytes()),
                "{} holds the number",
                path.display()
            );
            scanned += 1;
        }
    }
    assert!(scanned > 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn particulars_are_purged_after_the_retention_period_and_the_pseudonym_stays() {
    let c = Cluster::start_with(true).await;
    c.load_region(1).await;
    // Retention 0 days: purged at the leader's next check after the exit.
    // An admin sets it over the API; a value out of bounds is refused.
    let mut users = UserServiceClient::new(c.channel(1).await);
    let mut policy = users
        .get_security_policy(pb::GetSecurityPolicyRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(policy.particulars_retention_days, 30, "the default");
    policy.particulars_retention_days = 4000;
    let e = users
        .set_security_policy(pb::SetSecurityPolicyRequest {
            meta: meta(100),
            policy: Some(policy),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().contains("policy.particulars_retention_days"),
        "{e:?}"
    );
    policy.particulars_retention_days = 0;
    users
        .set_security_policy(pb::SetSecurityPolicyRequest {
            meta: meta(101),
            policy: Some(policy),
        })
        .await
        .unwrap();

    let mut op = dispatch_as(&c, 1, None).await;
    submit(&mut op, 1, case_with_particulars("C-OUT", "S03"))
        .await
        .unwrap();
    submit(&mut op, 2, case_with_particulars("C-STAYS", "S03"))
        .await
        .unwrap();
    let before = get(&mut op, "C-OUT").await.unwrap();
    let pseudonym = before.case.unwrap().persons[0].pseudonym.clone();
    op.exit_case(pb::ExitCaseRequest {
        meta: meta(3),
        case_id: "C-OUT".into(),
        ..Default::default()
    })
    .await
    .unwrap();

    let deadline = Instant::now() + Duration::from_secs(60);
    let purged = loop {
        let r = get(&mut op, "C-OUT").await.unwrap();
        if r.particulars == "purged" {
            break r;
        }
        assert_eq!(r.particulars, "shown");
        assert!(Instant::now() < deadline, "not purged: {r:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(purged.status, "exited");
    assert!(purged.exited_at.is_some());
    let p = &purged.case.unwrap().persons[0];
    assert_eq!((p.name.as_str(), p.id_number.as_str()), ("", ""));
    assert_eq!(p.pseudonym, pseudonym);
    // A case still open keeps its particulars.
    let open = get(&mut op, "C-STAYS").await.unwrap();
    assert_eq!(open.particulars, "shown");
    assert_eq!(open.case.unwrap().persons[0].name, NAME);
    // The purge is in the audit, by a node.
    let audit = AuditServiceClient::new(c.channel(2).await)
        .read_audit(pb::ReadAuditRequest {
            from_index: 0,
            limit: 0,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let purge = audit
        .entries
        .iter()
        .find(|e| e.summary.starts_with("purge the particulars"))
        .expect("a purge entry");
    assert!(purge.actor.starts_with("node "), "{purge:?}");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_without_a_key_refuses_particulars_but_takes_cases_without_them() {
    let c = Cluster::start().await;
    c.load_region(1).await;
    let mut op = dispatch_as(&c, 1, None).await;
    let e = submit(&mut op, 1, case_with_particulars("C-1", "S03"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("particulars_key"), "{e:?}");
    let mut plain = a_case("C-1");
    plain.origin_station_id = "S03".into();
    submit(&mut op, 2, plain).await.unwrap();
    let r = get(&mut op, "C-1").await.unwrap();
    assert_eq!(r.particulars, "none");
    assert!(is_pseudonym(&r.case.unwrap().persons[0].pseudonym));
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_site_scoped_user_sees_and_acts_on_the_cases_of_its_own_sites_only() {
    let c = Cluster::start().await;
    c.load_region(1).await;
    let mut op = dispatch_as(&c, 1, None).await;
    // S03 lies beside the main center (MC), S21 beside the south-west
    // sub-center (SC-SW), S14 beside the north-east one (SC-NE).
    // Both past their legal limit: each raises an alert of its own.
    for (i, (case, station)) in [("C-MC", "S03"), ("C-SW", "S21")].iter().enumerate() {
        let mut k = a_case(case);
        k.origin_station_id = (*station).into();
        k.clock_started_at = Some(ts(chrono::Utc::now() - chrono::Duration::hours(13)));
        submit(&mut op, 10 + i as u64, k).await.unwrap();
    }
    let site_sw = "值班员 黄泥";
    let dispatcher_ne = "调度员 上堡";
    add_scoped_user(&c.nodes[&1], site_sw, &[Role::Site], &["SC-SW"]).await;
    add_scoped_user(&c.nodes[&1], dispatcher_ne, &[Role::Dispatcher], &["SC-NE"]).await;
    let sw_cert = pki::user_cert(&c.ca_pem, site_sw, 1).unwrap();
    let ne_cert = pki::user_cert(&c.ca_pem, dispatcher_ne, 1).unwrap();

    let mut sw = dispatch_as(&c, 1, Some(&sw_cert)).await;
    let listed: Vec<String> = sw
        .list_cases(pb::ListCasesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .cases
        .into_iter()
        .map(|r| r.case.unwrap().case_id)
        .collect();
    assert_eq!(listed, vec!["C-SW".to_string()]);
    let r = get(&mut sw, "C-SW").await.unwrap();
    assert!(r.site_ids.contains(&"SC-SW".to_string()), "{r:?}");
    assert_eq!(
        get(&mut sw, "C-MC").await.unwrap_err().code(),
        Code::NotFound
    );
    // The alerts too: the operator sees both cases', a scoped dispatcher
    // only its own sites' (none here); a site user reads no alerts at all.
    let alert_cases = |reply: pb::ListAlertsReply| {
        let mut v: Vec<String> = reply
            .alerts
            .into_iter()
            .map(|a| a.case_id)
            .filter(|c| !c.is_empty())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let all = AlertServiceClient::new(c.channel(1).await)
        .list_alerts(pb::ListAlertsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        alert_cases(all),
        vec!["C-MC".to_string(), "C-SW".to_string()]
    );
    let own = AlertServiceClient::new(c.channel_as(1, Some(&sw_cert)).await)
        .list_alerts(pb::ListAlertsRequest::default())
        .await;
    assert_eq!(own.unwrap_err().code(), Code::PermissionDenied);
    let ne_alerts = AlertServiceClient::new(c.channel_as(1, Some(&ne_cert)).await)
        .list_alerts(pb::ListAlertsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(alert_cases(ne_alerts), Vec::<String>::new());
    // Submitting for a station of another site: refused, and nothing written.
    let mut other = a_case("C-SW-2");
    other.origin_station_id = "S03".into();
    let e = submit(&mut sw, 20, other).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    assert_eq!(
        get(&mut op, "C-SW-2").await.unwrap_err().code(),
        Code::NotFound
    );
    let mut own = a_case("C-SW-3");
    own.origin_station_id = "S21".into();
    submit(&mut sw, 21, own).await.unwrap();

    // A dispatcher of the north-east cannot exit a south-west case.
    let mut ne = dispatch_as(&c, 2, Some(&ne_cert)).await;
    let e = ne
        .exit_case(pb::ExitCaseRequest {
            meta: meta(30),
            case_id: "C-SW".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    // Nor accept the plan of a case outside its sites, nor ask for an
    // exception for one.
    submit(&mut op, 34, a_case("C-MC-2")).await.unwrap();
    let sw_plan = op
        .propose_plan(pb::ProposePlanRequest {
            case_ids: vec!["C-MC-2".into()],
            method: "greedy".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        !sw_plan.versions.is_empty(),
        "{:?} {:?}",
        sw_plan.blocked,
        sw_plan.summary
    );
    let e = ne
        .accept_plan(pb::AcceptPlanRequest {
            meta: meta(32),
            plan_json: sw_plan.plan_json,
            versions: sw_plan.versions,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    let e = ne
        .request_exception(pb::RequestExceptionRequest {
            meta: meta(33),
            case_id: "C-MC-2".into(),
            kind: "after_hours".into(),
            reason: "test".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    assert_eq!(get(&mut op, "C-SW").await.unwrap().status, "submitted");
    let mut ne_case = a_case("C-NE");
    ne_case.origin_station_id = "S14".into();
    submit(&mut ne, 31, ne_case).await.unwrap();
    // The change stream: the index and time of each change, not what or
    // who, for a scoped user; everything for the region-wide operator.
    let first_change = |channel| async move {
        let mut w = AvailabilityServiceClient::new(channel)
            .watch(pb::WatchRequest { from_index: 1 })
            .await
            .unwrap()
            .into_inner();
        w.message().await.unwrap().unwrap().entry.unwrap()
    };
    let scoped = first_change(c.channel_as(1, Some(&sw_cert)).await).await;
    assert!(scoped.index >= 1 && scoped.time.is_some());
    assert_eq!((scoped.summary.as_str(), scoped.actor.as_str()), ("", ""));
    let full = first_change(c.channel(1).await).await;
    assert_eq!(full.index, scoped.index);
    assert!(!full.summary.is_empty() && !full.actor.is_empty());
    // Its proposals cover its own sites' waiting cases only.
    let cases_of = |r: pb::ProposePlanReply| {
        let mut v: Vec<String> = r
            .summary
            .iter()
            .map(|l| l.split(':').next().unwrap().to_string())
            .chain(r.blocked.iter().map(|b| b.case_id.clone()))
            .collect();
        v.sort();
        v
    };
    let mine = ne
        .propose_plan(pb::ProposePlanRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cases_of(mine), vec!["C-NE".to_string()]);
    let everyone = op
        .propose_plan(pb::ProposePlanRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(cases_of(everyone).len() >= 3);
    let e = ne
        .propose_plan(pb::ProposePlanRequest {
            case_ids: vec!["C-SW".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    ne.exit_case(pb::ExitCaseRequest {
        meta: meta(32),
        case_id: "C-NE".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    c.shutdown().await;
}
