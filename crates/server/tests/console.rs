//! The console in a real browser: Debian's headless Chromium driven over
//! WebDriver (chromium-driver, fantoccini) against a 3-node cluster over
//! TLS. Log in as a dispatcher and as a planner, see the board change when
//! another client submits a case, accept a proposal with its key, override
//! one (another site, another room checked as it is chosen, a reason) and
//! find it with its reason as a supervisor, acknowledge an alert, work a
//! case's steps, see a forbidden page refused, switch to English, and use
//! the availability, map and admin pages. A screenshot of every page
//! goes to `screenshots/console/` (git-ignored).

mod common;

use std::time::{Duration, Instant};

use casehub_server::proto::dispatch_service_client::DispatchServiceClient;
use casehub_server::proto::{self as pb};
use casehub_store::Role;
use fantoccini::Locator;

use common::api::*;
use common::browser::*;

const OVERRIDE_REASON: &str = "家属在西南分中心附近等候，改派该处";

/// A site other than the engine's first choice where `case` can go.
const EXCEPTION_REASON: &str = "只有一名押解民警可到场";

async fn another_site(
    op: &mut DispatchServiceClient<tonic::transport::Channel>,
    case: &str,
) -> String {
    let plan = |r: &pb::ProposePlanReply| -> casehub_planning::Plan {
        serde_json::from_str(&r.plan_json).unwrap()
    };
    let first = op
        .propose_plan(pb::ProposePlanRequest {
            case_ids: vec![case.into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let first = plan(&first).cases[0].site.to_string();
    for site in ["MC", "SC-NE", "SC-SW"].into_iter().filter(|s| *s != first) {
        let r = op
            .propose_plan(pb::ProposePlanRequest {
                case_ids: vec![case.into()],
                restriction: Some(pb::PlanRestriction {
                    site_id: site.into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        if plan(&r).cases.len() == 1 {
            return site.into();
        }
    }
    panic!("{case} can go nowhere but {first}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_console_in_chromium() {
    let c = Cluster::start_with(true).await;
    c.load_region(1).await;
    add_user_with_password(&c, "调度员 王", Role::Dispatcher).await;
    add_user_with_password(&c, "规划员 赵", Role::Planner).await;
    add_user_with_password(&c, "监督员 孙", Role::Supervisor).await;
    add_user_with_password(&c, "管理员 周", Role::Admin).await;
    add_user_with_password(&c, "值班员 钱", Role::Site).await;
    let base = format!("https://{}", c.nodes[&2].client_addr());
    let driver = chromedriver().await;
    let b = browser(&driver).await;

    // A wrong password: refused on the login page, in Chinese.
    log_in(&b, &base, "调度员 王", "wrong password").await;
    wait_text(&b, "用户名或密码错误").await;
    shot(&b, "login-refused").await;

    // The dispatcher logs in and sees the (empty) board, live.
    log_in(&b, &base, "调度员 王", PASSWORD).await;
    wait_text(&b, "暂无在办案件").await;
    let html = b.source().await.unwrap();
    assert!(html.contains("lang=\"zh-CN\""), "zh-CN by default");
    shot(&b, "board-empty").await;

    // Another client submits a case: the open board shows it, with the
    // person's name (a dispatcher needs it).
    let mut op = DispatchServiceClient::new(c.channel(1).await);
    let mut case = a_case("C-WEB-1");
    case.persons[0].name = "司马相如".into();
    op.submit_case(pb::SubmitCaseRequest {
        meta: meta(1),
        case: Some(case),
    })
    .await
    .unwrap();
    let text = wait_text(&b, "C-WEB-1").await;
    assert!(
        text.contains("司马相如") && text.contains("待调度"),
        "{text}"
    );
    shot(&b, "board").await;

    // The proposal, accepted with its key (A).
    b.goto(&format!("{base}/console/proposals")).await.unwrap();
    wait_text(&b, "采纳方案").await;
    // Why: the site and escort, the legal clock, the cost breakdown and
    // the best alternative.
    let text = wait_text(&b, "最佳备选").await;
    assert!(
        text.contains("C-WEB-1：送往")
            && text.contains("民警离所")
            && text.contains("距法定时限余量"),
        "{text}"
    );
    shot(&b, "proposal").await;
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let press_a = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: 'a' })
        .then(KeyAction::Up { value: 'a' });
    b.perform_actions(press_a).await.unwrap();
    wait_text(&b, "方案已采纳").await;
    shot(&b, "proposal-accepted").await;
    let record = op
        .get_case(pb::GetCaseRequest {
            case_id: "C-WEB-1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(record.status, "planned");
    // The audit names the dispatcher who accepted it in the browser.
    let audit =
        casehub_server::proto::audit_service_client::AuditServiceClient::new(c.channel(1).await)
            .read_audit(pb::ReadAuditRequest {
                from_index: 0,
                limit: 0,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
    assert!(
        audit
            .entries
            .iter()
            .any(|e| e.actor == "调度员 王" && e.summary.starts_with("commit plan")),
        "{:?}",
        audit.entries
    );

    // An override: the engine re-plans the next case at another site,
    // another room is checked as it is chosen, and the reason is required.
    op.submit_case(pb::SubmitCaseRequest {
        meta: meta(2),
        case: Some(a_case("C-WEB-2")),
    })
    .await
    .unwrap();
    let site = another_site(&mut op, "C-WEB-2").await;
    b.goto(&format!("{base}/console/proposals")).await.unwrap();
    wait_text(&b, "改派 C-WEB-2").await;
    b.find(Locator::Css("a.override[data-case='C-WEB-2']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&b, "改派理由").await;
    b.find(Locator::Id("override-site"))
        .await
        .unwrap()
        .select_by_value(&site)
        .await
        .unwrap();
    // The re-planned case, at the chosen site (the form's hidden site).
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let chosen = match b
            .find(Locator::Css("#override-form input[name='site']"))
            .await
        {
            Ok(e) => e.attr("value").await.unwrap_or_default(),
            Err(_) => None,
        };
        if chosen.as_deref() == Some(site.as_str()) {
            break;
        }
        assert!(Instant::now() < deadline, "not re-planned at {site}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The first step with a choice of rooms: another room.
    let mut changed = false;
    for select in b
        .find_all(Locator::Css("#override-form select[name^='room/']"))
        .await
        .unwrap()
    {
        let current = select.prop("value").await.unwrap().unwrap_or_default();
        let mut other = None;
        for o in select.find_all(Locator::Css("option")).await.unwrap() {
            let v = o.attr("value").await.unwrap().unwrap_or_default();
            if v != current {
                other = Some(v);
            }
        }
        if let Some(other) = other {
            select.select_by_value(&other).await.unwrap();
            changed = true;
            break;
        }
    }
    assert!(changed, "no step with a choice of rooms");
    wait_text(&b, "已按所选检查").await;
    // The same officer twice as questioners: refused as chosen; then back.
    let questioners = b
        .find_all(Locator::Css("#override-form select.questioner"))
        .await
        .unwrap();
    assert!(questioners.len() >= 2, "two questioners per person");
    let first = questioners[0]
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    let second = questioners[1]
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    questioners[1].select_by_value(&first).await.unwrap();
    wait_text(&b, "breaks").await;
    questioners[1].select_by_value(&second).await.unwrap();
    wait_text(&b, "已按所选检查").await;
    shot(&b, "override").await;
    // Without a reason the browser keeps the form (required); with one it
    // is accepted.
    b.find(Locator::Id("reason"))
        .await
        .unwrap()
        .send_keys(OVERRIDE_REASON)
        .await
        .unwrap();
    b.find(Locator::Id("override-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&b, "已改派并采纳").await;
    shot(&b, "override-accepted").await;
    let record = op
        .get_case(pb::GetCaseRequest {
            case_id: "C-WEB-2".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(record.status, "planned");
    assert!(record.site_ids.contains(&site), "{record:?}");

    // C-WEB-2 exits from its page, with a disposition (confirmed first).
    b.goto(&format!("{base}/console/cases/C-WEB-2"))
        .await
        .unwrap();
    wait_text(&b, "办结离开").await;
    b.find(Locator::Id("disposition"))
        .await
        .unwrap()
        .select_by_value("criminal_detention")
        .await
        .unwrap();
    b.find(Locator::Id("exit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.accept_alert().await.unwrap();
    wait_text(&b, "案件已办结离开").await;
    wait_text(&b, "刑事拘留（送看守所）").await;
    let record = op
        .get_case(pb::GetCaseRequest {
            case_id: "C-WEB-2".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (record.status.as_str(), record.disposition.as_str()),
        ("exited", "criminal_detention")
    );

    // The case page from the board: start and complete a step (the
    // timeline follows live), report an escort delay.
    b.goto(&format!("{base}/console/")).await.unwrap();
    wait_text(&b, "C-WEB-1").await;
    b.find(Locator::Css("a[href='/console/cases/C-WEB-1']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&b, "办案环节").await;
    b.find(Locator::Css("button.step-start"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&b, "已开始").await;
    b.wait()
        .for_element(Locator::Css("tr.under_way button.step-complete"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&b, "已完成").await;
    b.wait().for_element(Locator::Css("tr.done")).await.unwrap();
    b.find(Locator::Id("delay-minutes"))
        .await
        .unwrap()
        .send_keys("20")
        .await
        .unwrap();
    b.find(Locator::Id("delay-reason"))
        .await
        .unwrap()
        .send_keys("国道施工，绕行")
        .await
        .unwrap();
    b.find(Locator::Id("delay-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&b, "延误已记录").await;
    wait_text(&b, "国道施工，绕行").await;
    shot(&b, "case").await;
    let record = op
        .get_case(pb::GetCaseRequest {
            case_id: "C-WEB-1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(record.delays.len(), 1, "{record:?}");
    assert!(
        record.steps.iter().any(|s| s.state == "done"),
        "{:?}",
        record.steps
    );

    // An alert: a case 20 minutes from its legal limit. The leader
    // records it; the dispatcher acknowledges it, and the page says who.
    let mut late = a_case("C-WEB-LATE");
    late.clock_started_at = Some(ts(
        chrono::Utc::now() - chrono::Duration::hours(12) + chrono::Duration::minutes(20)
    ));
    op.submit_case(pb::SubmitCaseRequest {
        meta: meta(3),
        case: Some(late),
    })
    .await
    .unwrap();
    b.goto(&format!("{base}/console/alerts")).await.unwrap();
    wait_text(&b, "临近法定时限").await;
    // The row is acknowledgeable once the leader's sweep has recorded the
    // alert (status raised); the live table re-reads at every change, and
    // on a loaded machine the page is read again in case it missed one.
    let deadline = Instant::now() + 2 * TIMEOUT;
    let mut tries = 0;
    let ack = loop {
        if let Ok(button) = b.find(Locator::Css("tr.alert-raised button.ack")).await {
            break button;
        }
        assert!(
            Instant::now() < deadline,
            "no raised alert to acknowledge:\n{}",
            wait_text(&b, "").await
        );
        tries += 1;
        if tries % 20 == 0 {
            b.refresh().await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    ack.click().await.unwrap();
    wait_text(&b, "已确认。").await;
    let text = wait_text(&b, "调度员 王 于").await;
    assert!(text.contains("C-WEB-LATE"), "{text}");
    shot(&b, "alerts").await;

    // An exception asked for, with a reason; a supervisor decides it.
    b.goto(&format!("{base}/console/exceptions")).await.unwrap();
    wait_text(&b, "例外审批").await;
    b.find(Locator::Id("exception-case"))
        .await
        .unwrap()
        .send_keys("C-WEB-1")
        .await
        .unwrap();
    b.find(Locator::Id("exception-reason"))
        .await
        .unwrap()
        .send_keys(EXCEPTION_REASON)
        .await
        .unwrap();
    b.find(Locator::Id("exception-ask"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let text = wait_text(&b, "等待督察审批").await;
    assert!(
        text.contains("待审批") && text.contains(EXCEPTION_REASON),
        "{text}"
    );
    assert!(
        b.find(Locator::Css("button[id^='approve-']"))
            .await
            .is_err(),
        "the dispatcher who asked cannot approve"
    );
    shot(&b, "exception-asked").await;

    // English, one click away.
    b.find(Locator::Id("lang"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&b, "Log out").await;
    b.goto(&format!("{base}/console/")).await.unwrap();
    let text = wait_text(&b, "C-WEB-1").await;
    assert!(
        text.contains("In progress") && text.contains("Board"),
        "{text}"
    );
    assert!(b.source().await.unwrap().contains("lang=\"en\""));
    shot(&b, "board-en").await;
    b.find(Locator::Id("logout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait().for_element(Locator::Id("user")).await.unwrap();

    // A planner: pseudonyms, not names, and no proposals.
    b.find(Locator::Id("lang"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    log_in(&b, &base, "规划员 赵", PASSWORD).await;
    let text = wait_text(&b, "C-WEB-1").await;
    assert!(
        !text.contains("司马相如") && text.contains("人员-"),
        "{text}"
    );
    assert!(text.contains("身份信息不可见"), "{text}");
    shot(&b, "board-planner").await;
    // The availability chart of the first site, and the earliest slot.
    b.goto(&format!("{base}/console/availability"))
        .await
        .unwrap();
    b.wait()
        .for_element(Locator::Css("svg#gantt rect.free"))
        .await
        .unwrap();
    let rows = b
        .find_all(Locator::Css("svg#gantt rect.busy"))
        .await
        .unwrap()
        .len();
    assert!(rows > 5, "a row per room, team and officer: {rows}");
    let text = wait_text(&b, "讯问室").await;
    assert!(text.contains("MC-"), "{text}");
    b.find(Locator::Id("slot-search"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&b, "最早可用").await;
    shot(&b, "availability").await;
    // The map: every station of the region, coloured by its minimum.
    b.goto(&format!("{base}/console/map")).await.unwrap();
    b.wait()
        .for_element(Locator::Css("svg#map g.station circle"))
        .await
        .unwrap();
    let drawn = b
        .find_all(Locator::Css("svg#map g.station"))
        .await
        .unwrap()
        .len();
    let stations = c.nodes[&1].state().current().state.stations.len();
    assert_eq!(drawn, stations);
    assert_eq!(
        b.find_all(Locator::Css("svg#map g.site"))
            .await
            .unwrap()
            .len(),
        3
    );
    wait_text(&b, "各派出所警力").await;
    shot(&b, "map").await;
    b.goto(&format!("{base}/console/proposals")).await.unwrap();
    let text = wait_text(&b, "无权操作").await;
    assert!(!text.contains("采纳方案"), "{text}");
    shot(&b, "forbidden").await;
    b.find(Locator::Id("logout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // A supervisor finds the override with its reason and who made it.
    log_in(&b, &base, "监督员 孙", PASSWORD).await;
    b.goto(&format!("{base}/console/supervision"))
        .await
        .unwrap();
    wait_text(&b, "仅看改派").await;
    // Today's figures: the override counted.
    let text = wait_text(&b, "当日数据").await;
    let overrides = b
        .find(Locator::Css("#figures tr.all td:last-child"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(overrides.trim(), "1", "{text}");
    b.find(Locator::Id("audit-overrides"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.find(Locator::Id("audit-search"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let text = wait_text(&b, OVERRIDE_REASON).await;
    assert!(
        text.contains("调度员 王") && text.contains("C-WEB-2"),
        "{text}"
    );
    assert!(!text.contains("commit plan"), "overrides only: {text}");
    shot(&b, "supervision").await;
    // The supervisor reads a case's own audit history on its page.
    b.goto(&format!("{base}/console/cases/C-WEB-1"))
        .await
        .unwrap();
    let text = wait_text(&b, "本案审计记录").await;
    assert!(
        text.contains("submit case C-WEB-1") && text.contains("国道施工，绕行"),
        "{text}"
    );
    assert!(
        !text.contains("C-WEB-2"),
        "only this case's entries: {text}"
    );
    assert!(
        b.find(Locator::Id("delay-form")).await.is_err(),
        "a supervisor does not dispatch"
    );
    shot(&b, "case-supervisor").await;
    // The supervisor approves the dispatcher's exception.
    b.goto(&format!("{base}/console/exceptions")).await.unwrap();
    wait_text(&b, EXCEPTION_REASON).await;
    b.find(Locator::Css("button[id^='approve-']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&b, "已批准").await;
    let state = b
        .find(Locator::Css("#exceptions td.state"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(state.trim(), "已批准 · 监督员 孙");
    shot(&b, "exception-approved").await;
    // The cluster on the admin page, but not the users.
    b.goto(&format!("{base}/console/admin")).await.unwrap();
    let text = wait_text(&b, "集群节点").await;
    assert!(!text.contains("用户与角色"), "{text}");
    b.find(Locator::Id("logout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // An admin: the members, and a new site user scoped to one site.
    log_in(&b, &base, "管理员 周", PASSWORD).await;
    b.goto(&format!("{base}/console/admin")).await.unwrap();
    wait_text(&b, "用户与角色").await;
    let members = b
        .find_all(Locator::Css("#members tbody tr"))
        .await
        .unwrap()
        .len();
    assert_eq!(members, 3);
    b.find(Locator::Id("new-user"))
        .await
        .unwrap()
        .send_keys("值班员 吴")
        .await
        .unwrap();
    b.find(Locator::Id("role-site"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.find(Locator::Css("#user-form input[name='site'][value='SC-NE']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.find(Locator::Id("new-password"))
        .await
        .unwrap()
        .send_keys("another long secret")
        .await
        .unwrap();
    b.find(Locator::Id("user-save"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&b, "已保存").await;
    shot(&b, "admin").await;
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let users = c.nodes[&1].state().current().state.users.users.clone();
        if let Some(u) = users.get("值班员 吴") {
            assert_eq!(u.user.roles, [Role::Site].into());
            assert_eq!(
                u.user
                    .sites
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>(),
                ["SC-NE"]
            );
            assert!(u.user.password_hash.is_some());
            break;
        }
        assert!(Instant::now() < deadline, "the new user did not apply");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // An officer on leave, and a room out of service and back.
    let officer = c.nodes[&1]
        .state()
        .current()
        .state
        .officers
        .keys()
        .next()
        .unwrap()
        .to_string();
    b.find(Locator::Id("absence-resource-id"))
        .await
        .unwrap()
        .send_keys(&officer)
        .await
        .unwrap();
    b.execute(
        "document.getElementById('absence-from').value = '2030-01-02T08:00';\
         document.getElementById('absence-to').value = '2030-01-05T08:00';",
        vec![],
    )
    .await
    .unwrap();
    b.find(Locator::Id("absence-save"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let text = wait_text(&b, "的缺勤").await;
    assert!(text.contains("休假") && text.contains(&officer), "{text}");
    let room = c.nodes[&1]
        .state()
        .current()
        .state
        .rooms
        .keys()
        .next()
        .unwrap()
        .to_string();
    b.execute(
        "document.getElementById('service-resource-kind').value = 'room';",
        vec![],
    )
    .await
    .unwrap();
    b.find(Locator::Id("service-resource-id"))
        .await
        .unwrap()
        .send_keys(&room)
        .await
        .unwrap();
    b.find(Locator::Id("service-save"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let text = wait_text(&b, "已停用").await;
    assert!(text.contains(&room), "{text}");
    shot(&b, "admin-resources").await;
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let cur = c.nodes[&1].state().current();
        let s = &cur.state;
        if s.officers[officer.as_str()].absences.len() == 1
            && s.rooms[room.as_str()].inactive_since.is_some()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the absence and the room did not apply"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    b.find(Locator::Css("#inactive button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&b, "已启用").await;

    // The dispatcher's page is not the supervisor's: the supervisor may
    // not accept.
    assert!(
        b.find(Locator::Css("a[href='/console/proposals']"))
            .await
            .is_err(),
        "no proposals link for a supervisor"
    );

    b.find(Locator::Id("logout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // A station's duty officer: the board with the names, the station by
    // its name, and no dispatching.
    log_in(&b, &base, "值班员 钱", PASSWORD).await;
    let text = wait_text(&b, "C-WEB-1").await;
    assert!(text.contains("司马相如"), "{text}");
    assert!(text.contains("Xicheng Police Station"), "{text}");
    assert!(
        b.find(Locator::Css("a[href='/console/proposals']"))
            .await
            .is_err(),
        "no proposals for a site user"
    );
    shot(&b, "board-site").await;

    b.close().await.unwrap();
    drop(driver);
    c.shutdown().await;
}
