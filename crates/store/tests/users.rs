//! Users, roles and the security policy in the replicated state.

mod common;

use std::collections::BTreeSet;

use casehub_model::SiteId;
use casehub_store::{
    Command, Conflict, RULES_VERSION, Response, Role, SchedulingState, SecurityPolicy, User,
};
use chrono::TimeDelta;
use common::{at, req, site};

fn state() -> SchedulingState {
    let mut s = SchedulingState {
        rules_version: RULES_VERSION,
        ..SchedulingState::default()
    };
    assert!(
        s.apply(1, &req(1, Command::UpsertSite(site())))
            .is_applied()
    );
    s
}

fn user(name: &str, roles: &[Role]) -> User {
    User {
        name: name.into(),
        roles: roles.iter().copied().collect(),
        sites: BTreeSet::from([SiteId::new("s1").unwrap()]),
        password_hash: None,
        disabled: false,
    }
}

fn field_of(r: &Response) -> String {
    match r {
        Response::Rejected { conflicts, .. } => match &conflicts[0] {
            Conflict::Invalid { field, .. } => field.clone(),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

#[test]
fn users_are_added_changed_and_removed_with_unicode_names() {
    let mut s = state();
    let r = s.apply(
        2,
        &req(
            2,
            Command::UpsertUser(user("调度员 李", &[Role::Dispatcher])),
        ),
    );
    assert!(r.is_applied(), "{r:?}");
    let e = &s.users.users["调度员 李"];
    assert_eq!(e.version, 1);
    assert!(e.user.roles.contains(&Role::Dispatcher));
    let changed = user("调度员 李", &[Role::Dispatcher, Role::Supervisor]);
    assert!(
        s.apply(3, &req(3, Command::UpsertUser(changed)))
            .is_applied()
    );
    assert_eq!(s.users.users["调度员 李"].version, 2);
    assert_eq!(s.users.users["调度员 李"].user.roles.len(), 2);
    // The audit names the change, never a password hash.
    let last = s.audit.last().unwrap();
    assert!(
        last.summary.contains("upsert user 调度员 李"),
        "{}",
        last.summary
    );
    let remove = Command::RemoveUser {
        name: "调度员 李".into(),
    };
    assert!(s.apply(4, &req(4, remove.clone())).is_applied());
    assert!(s.users.users.is_empty());
    assert_eq!(field_of(&s.apply(5, &req(5, remove))), "name");
}

#[test]
fn bad_users_are_refused_naming_the_field() {
    let mut s = state();
    for (i, (u, field)) in [
        (user(" ", &[]), "user.name"),
        (user(" padded", &[]), "user.name"),
        (user(&"x".repeat(65), &[]), "user.name"),
        (user("a\u{7}b", &[]), "user.name"),
        (
            User {
                sites: BTreeSet::from([SiteId::new("nowhere").unwrap()]),
                ..user("a", &[Role::Site])
            },
            "user.sites",
        ),
        (
            User {
                password_hash: Some("plain".into()),
                ..user("a", &[])
            },
            "user.password_hash",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let id = 10 + i as u64;
        assert_eq!(
            field_of(&s.apply(id, &req(id, Command::UpsertUser(u)))),
            field
        );
    }
    assert!(s.users.users.is_empty());
}

#[test]
fn failed_logins_in_a_row_lock_the_account_for_the_policys_minutes() {
    let mut s = state();
    assert!(
        s.apply(2, &req(2, Command::UpsertUser(user("u", &[Role::Site]))))
            .is_applied()
    );
    let policy = SecurityPolicy {
        lock_after_failures: 3,
        lock_minutes: 10,
        token_minutes: 60,
        ..SecurityPolicy::default()
    };
    assert!(
        s.apply(3, &req(3, Command::SetSecurityPolicy(policy)))
            .is_applied()
    );
    let login = |ok| Command::RecordLogin {
        name: "u".into(),
        succeeded: ok,
    };
    let mut id = 10;
    let mut apply = |s: &mut SchedulingState, c: Command, minute: i64| {
        id += 1;
        let mut r = req(id, c);
        r.time = at(minute);
        assert!(s.apply(id, &r).is_applied());
    };
    // Two failures, a success: the count starts again.
    apply(&mut s, login(false), 0);
    apply(&mut s, login(false), 1);
    apply(&mut s, login(true), 2);
    assert_eq!(s.users.users["u"].failed_logins, 0);
    assert!(!s.users.users["u"].locked_at(at(2)));
    // Three in a row lock it for ten minutes from the third.
    for m in 3..6 {
        apply(&mut s, login(false), m);
    }
    let e = &s.users.users["u"];
    assert!(e.locked_at(at(5)));
    assert!(e.locked_at(at(14)));
    assert!(!e.locked_at(at(15)));
    assert_eq!(e.locked_until, Some(at(5) + TimeDelta::minutes(10)));
    // Every attempt is in the audit.
    assert!(s.audit.iter().any(|a| a.summary == "failed login of u"));
    // A bad policy is refused.
    let bad = SecurityPolicy {
        lock_minutes: 0,
        ..policy
    };
    assert_eq!(
        field_of(&s.apply(90, &req(90, Command::SetSecurityPolicy(bad)))),
        "lock_minutes"
    );
    let no_rate = SecurityPolicy {
        requests_per_second: 0,
        ..policy
    };
    assert_eq!(
        field_of(&s.apply(91, &req(91, Command::SetSecurityPolicy(no_rate)))),
        "requests_per_second"
    );
    // The archive keeps at least a day, and never less than the particulars:
    // it holds none.
    for (n, days, retention) in [(92, 0, 0), (93, 3651, 30), (94, 29, 30)] {
        let bad = SecurityPolicy {
            archive_after_days: days,
            particulars_retention_days: retention,
            ..policy
        };
        assert_eq!(
            field_of(&s.apply(n, &req(n, Command::SetSecurityPolicy(bad)))),
            "archive_after_days",
            "{days} days"
        );
    }
    let fine = SecurityPolicy {
        archive_after_days: 30,
        particulars_retention_days: 30,
        ..policy
    };
    assert!(
        s.apply(95, &req(95, Command::SetSecurityPolicy(fine)))
            .is_applied()
    );
    assert_eq!(s.users.policy.archive_after_days, 30);
}

#[test]
fn the_first_token_key_is_kept() {
    let mut s = state();
    let short = Command::SetTokenKey { key: vec![1; 8] };
    assert_eq!(field_of(&s.apply(2, &req(2, short))), "key");
    assert!(
        s.apply(3, &req(3, Command::SetTokenKey { key: vec![7; 32] }))
            .is_applied()
    );
    assert!(
        s.apply(4, &req(4, Command::SetTokenKey { key: vec![9; 32] }))
            .is_applied()
    );
    assert_eq!(s.users.token_key, Some(vec![7; 32]));
    // The key is not in the audit.
    assert!(s.audit.iter().all(|a| !a.summary.contains('7')));
}

#[test]
fn users_need_the_rules_of_version_3() {
    let mut s = state();
    s.rules_version = 2;
    let r = s.apply(2, &req(2, Command::UpsertUser(user("u", &[Role::Admin]))));
    assert_eq!(field_of(&r), "command");
    assert!(s.users.users.is_empty());
}

#[test]
fn roles_parse_by_name_and_say_which_are_site_scoped() {
    for r in Role::ALL {
        assert_eq!(r.name().parse::<Role>().unwrap(), r);
    }
    let e = "root".parse::<Role>().unwrap_err();
    assert!(
        e.contains("dispatcher, site, planner, supervisor, admin"),
        "{e}"
    );
    assert!(Role::Dispatcher.site_scoped() && Role::Site.site_scoped());
    assert!(!Role::Supervisor.site_scoped() && !Role::Admin.site_scoped());
}
