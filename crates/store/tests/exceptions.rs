//! Exceptions, supervised: a dispatcher asks, another person (a supervisor)
//! approves, and the approved exception lets one plan of its case break its
//! rule once. Legal limits never bend.

mod common;

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};

use casehub_model::{Case, CaseId, Gender, LegalCategory, Person, PersonId, Rule, StationId};
use casehub_planning::CasePlan;
use casehub_store::{Command, Conflict, Response};

use common::region::*;

fn now() -> DateTime<Utc> {
    "2026-11-27T02:00:00Z".parse().unwrap()
}

fn rules_of(r: &Response) -> BTreeSet<Rule> {
    match r {
        Response::Rejected { conflicts, .. } => conflicts
            .iter()
            .filter_map(|c| match c {
                Conflict::Rule { rule, .. } => Some(*rule),
                _ => None,
            })
            .collect(),
        Response::Applied { .. } => BTreeSet::new(),
    }
}

fn as_actor(w: &mut World, actor: &str, command: Command) -> Response {
    w.index += 1;
    let mut r = request(w.index, w.now, command);
    r.actor = actor.into();
    w.state.apply(w.index, &r)
}

fn with_exceptions(cp: &CasePlan, ids: Vec<u64>) -> Command {
    let mut c = accept(vec![cp.clone()], now(), 1);
    if let Command::AcceptPlan { exceptions, .. } = &mut c {
        *exceptions = ids;
    }
    c
}

/// A man brought in from S01 half an hour ago, planned; the plan with one
/// escort officer fewer than the policy's two.
fn short_escort() -> (World, CasePlan) {
    let r = region();
    let mut w = loaded(&r, now());
    let case = Case::new(
        CaseId::new("C1").unwrap(),
        StationId::new("S01").unwrap(),
        now() - Duration::minutes(30),
        LegalCategory::CriminalSummons,
        vec![Person {
            id: PersonId::new("P1").unwrap(),
            gender: Gender::Male,
            juvenile: false,
            co_suspect_group: None,
        }],
    )
    .unwrap();
    assert!(w.apply(Command::SubmitCase(case)).is_applied());
    let p = propose(&w.state, now());
    let mut cp = p.cases[0].clone();
    assert!(cp.escort.officers.len() >= 2, "{:?}", cp.escort);
    cp.escort.officers.pop();
    (w, cp)
}

#[test]
fn an_approved_exception_lets_one_plan_bend_its_rule_once() {
    let (mut w, cp) = short_escort();
    let refused = w.apply(accept(vec![cp.clone()], now(), 1));
    assert_eq!(rules_of(&refused), BTreeSet::from([Rule::EscortOfficers]));

    // Asked for: id = the request's log index.
    let ask = as_actor(
        &mut w,
        "调度员 李",
        Command::RequestException {
            case: cp.case.clone(),
            kind: "escort_arrangement".into(),
            reason: "只有一名女警可用，另一名在途".into(),
        },
    );
    assert!(ask.is_applied(), "{ask:?}");
    let id = w.index;
    assert_eq!(w.state.exceptions[&id].rule, Rule::EscortOfficers);
    // Not usable until decided.
    let early = w.apply(with_exceptions(&cp, vec![id]));
    assert!(!early.is_applied());
    // Whoever asked cannot approve it.
    let own = as_actor(
        &mut w,
        "调度员 李",
        Command::DecideException {
            id,
            approve: true,
            note: String::new(),
        },
    );
    assert!(!own.is_applied(), "{own:?}");
    let ok = as_actor(
        &mut w,
        "督察 王",
        Command::DecideException {
            id,
            approve: true,
            note: "同意".into(),
        },
    );
    assert!(ok.is_applied(), "{ok:?}");
    let decision = w.state.exceptions[&id].decision.clone().unwrap();
    assert_eq!((decision.approved, decision.by.as_str()), (true, "督察 王"));
    // Decided once only.
    let again = as_actor(
        &mut w,
        "督察 张",
        Command::DecideException {
            id,
            approve: false,
            note: String::new(),
        },
    );
    assert!(!again.is_applied());

    // The exception waives its rule, not another: a late plan still breaks
    // the legal limit.
    let mut late = cp.clone();
    for p in &mut late.persons {
        for s in &mut p.steps {
            s.start += Duration::hours(20);
            s.end += Duration::hours(20);
        }
    }
    let r = w.apply(with_exceptions(&late, vec![id]));
    assert!(rules_of(&r).contains(&Rule::LegalLimit), "{r:?}");
    assert!(!rules_of(&r).contains(&Rule::EscortOfficers), "{r:?}");
    assert!(w.state.exceptions[&id].used_at.is_none());

    // The plan as asked: committed, the exception used, the audit says so.
    let r = w.apply(with_exceptions(&cp, vec![id]));
    assert!(r.is_applied(), "{r:?}");
    assert_eq!(w.state.exceptions[&id].used_at, Some(now()));
    let last = w.state.audit.back().unwrap();
    assert!(
        last.summary.contains(&format!("with exceptions {id}")),
        "{}",
        last.summary
    );
    let asked = w.state.audit.iter().find(|a| a.index == id).unwrap();
    assert_eq!(asked.actor, "调度员 李");
    assert_eq!(
        asked.reason.as_deref(),
        Some("只有一名女警可用，另一名在途")
    );
}

#[test]
fn an_exception_is_for_its_case_and_the_policys_types() {
    let (mut w, cp) = short_escort();
    let bad_kind = w.apply(Command::RequestException {
        case: cp.case.clone(),
        kind: "longer_questioning".into(),
        reason: "x".into(),
    });
    let Response::Rejected { conflicts, .. } = &bad_kind else {
        panic!("{bad_kind:?}")
    };
    assert!(
        matches!(&conflicts[0], Conflict::Invalid { field, reason } if field == "kind" && reason.contains("escort_arrangement")),
        "{conflicts:?}"
    );
    let no_reason = w.apply(Command::RequestException {
        case: cp.case.clone(),
        kind: "after_hours".into(),
        reason: " ".into(),
    });
    assert!(!no_reason.is_applied());
    // An approved exception of another case does not apply to this one.
    let other = CaseId::new("C-OTHER").unwrap();
    let mut case = w.state.cases[&cp.case].value.case.clone();
    case.id = other.clone();
    assert!(w.apply(Command::SubmitCase(case)).is_applied());
    assert!(
        w.apply(Command::RequestException {
            case: other,
            kind: "escort_arrangement".into(),
            reason: "另案".into(),
        })
        .is_applied()
    );
    let id = w.index;
    assert!(
        as_actor(
            &mut w,
            "督察 王",
            Command::DecideException {
                id,
                approve: true,
                note: String::new()
            }
        )
        .is_applied()
    );
    let r = w.apply(with_exceptions(&cp, vec![id]));
    let Response::Rejected { conflicts, .. } = &r else {
        panic!("{r:?}")
    };
    assert!(
        matches!(&conflicts[0], Conflict::Invalid { field, reason } if field == "exceptions[0]" && reason.contains("C-OTHER")),
        "{conflicts:?}"
    );
}
