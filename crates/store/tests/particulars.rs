//! The persons' records in the replicated state: checked when a case is
//! submitted with them, purged after the exit, gated by rules version 4.

mod common;

use std::collections::BTreeMap;

use casehub_model::PersonId;
use casehub_store::{Command, PersonRecord, RULES_VERSION, Response, SchedulingState, Sealed};
use chrono::TimeDelta;
use common::{case, req, setup_commands, t0};

fn state(rules: u32) -> SchedulingState {
    let mut s = SchedulingState {
        rules_version: rules,
        ..SchedulingState::default()
    };
    for (i, c) in setup_commands().into_iter().enumerate() {
        assert!(s.apply(i as u64 + 1, &req(i as u64 + 1, c)).is_applied());
    }
    s
}

fn sealed() -> Sealed {
    Sealed {
        key_id: "k1".into(),
        nonce: "00".repeat(12),
        ciphertext: "ab".repeat(40),
    }
}

fn records(pseudonym: &str) -> BTreeMap<PersonId, PersonRecord> {
    BTreeMap::from([(
        PersonId::new("p1").unwrap(),
        PersonRecord {
            pseudonym: pseudonym.into(),
            sealed: Some(sealed()),
        },
    )])
}

fn submit(id: &str, particulars: BTreeMap<PersonId, PersonRecord>) -> Command {
    Command::SubmitCaseWithParticulars {
        case: case(id),
        particulars,
    }
}

fn rejected_field(r: &Response) -> String {
    match r {
        Response::Rejected { conflicts, .. } => match &conflicts[0] {
            casehub_store::Conflict::Invalid { field, .. } => field.clone(),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_case_with_particulars_keeps_them_sealed_beside_it() {
    let mut s = state(RULES_VERSION);
    assert!(
        s.apply(20, &req(20, submit("k1", records("人员-0a1b2c3d"))))
            .is_applied()
    );
    let entry = &s.cases[&casehub_model::CaseId::new("k1").unwrap()].value;
    let r = &entry.person_records[&PersonId::new("p1").unwrap()];
    assert_eq!(r.pseudonym, "人员-0a1b2c3d");
    assert_eq!(r.sealed, Some(sealed()));
    // The audit names the pseudonym.
    assert!(s.audit.last().unwrap().summary.contains("人员-0a1b2c3d"));
}

#[test]
fn bad_person_records_are_refused_naming_the_field() {
    let mut s = state(RULES_VERSION);
    let mut unknown = records("人员-0a1b2c3d");
    let r = unknown.remove(&PersonId::new("p1").unwrap()).unwrap();
    unknown.insert(PersonId::new("p9").unwrap(), r);
    assert_eq!(
        rejected_field(&s.apply(20, &req(20, submit("k1", unknown)))),
        "particulars[p9]"
    );
    assert_eq!(
        rejected_field(&s.apply(21, &req(21, submit("k1", records("张三"))))),
        "particulars[p1].pseudonym"
    );
    let mut bad_nonce = records("人员-0a1b2c3d");
    bad_nonce
        .values_mut()
        .next()
        .unwrap()
        .sealed
        .as_mut()
        .unwrap()
        .nonce = "zz".into();
    assert_eq!(
        rejected_field(&s.apply(22, &req(22, submit("k1", bad_nonce)))),
        "particulars[p1].nonce"
    );
    assert!(
        !s.cases
            .contains_key(&casehub_model::CaseId::new("k1").unwrap())
    );
}

#[test]
fn particulars_need_rules_version_4() {
    let mut s = state(3);
    let r = s.apply(20, &req(20, submit("k1", records("人员-0a1b2c3d"))));
    assert!(!r.is_applied(), "{r:?}");
    assert!(
        !s.apply(
            21,
            &req(
                21,
                Command::PurgeParticulars {
                    exited_before: t0()
                }
            )
        )
        .is_applied()
    );
    // Before version 4 an exit records no time (older nodes do not).
    assert!(
        s.apply(
            22,
            &req(
                22,
                Command::ExitCase {
                    case: casehub_model::CaseId::new("c1").unwrap(),
                    disposition: None,
                }
            )
        )
        .is_applied()
    );
    assert_eq!(
        s.cases[&casehub_model::CaseId::new("c1").unwrap()]
            .value
            .exited_at,
        None
    );
}

#[test]
fn a_purge_drops_the_particulars_of_cases_exited_by_the_cut_off_only() {
    let mut s = state(RULES_VERSION);
    for (i, id) in ["a", "b", "open"].iter().enumerate() {
        let p = format!("人员-0000000{i}");
        assert!(
            s.apply(20 + i as u64, &req(20 + i as u64, submit(id, records(&p))))
                .is_applied()
        );
    }
    let id = |s: &str| casehub_model::CaseId::new(s).unwrap();
    let mut exit = req(
        30,
        Command::ExitCase {
            case: id("a"),
            disposition: None,
        },
    );
    exit.time = t0() + TimeDelta::hours(1);
    assert!(s.apply(30, &exit).is_applied());
    let mut exit = req(
        31,
        Command::ExitCase {
            case: id("b"),
            disposition: None,
        },
    );
    exit.time = t0() + TimeDelta::hours(3);
    assert!(s.apply(31, &exit).is_applied());
    assert_eq!(
        s.cases[&id("a")].value.exited_at,
        Some(t0() + TimeDelta::hours(1))
    );

    let cut = t0() + TimeDelta::hours(2);
    assert!(s.particulars_to_purge(cut));
    let before = s.cases[&id("a")].version;
    assert!(
        s.apply(
            40,
            &req(40, Command::PurgeParticulars { exited_before: cut })
        )
        .is_applied()
    );
    let p1 = PersonId::new("p1").unwrap();
    assert_eq!(s.cases[&id("a")].value.person_records[&p1].sealed, None);
    assert_eq!(
        s.cases[&id("a")].value.person_records[&p1].pseudonym,
        "人员-00000000"
    );
    assert_eq!(s.cases[&id("a")].version, before + 1);
    assert!(s.cases[&id("b")].value.person_records[&p1].sealed.is_some());
    assert!(
        s.cases[&id("open")].value.person_records[&p1]
            .sealed
            .is_some()
    );
    assert!(!s.particulars_to_purge(cut));
    assert!(s.particulars_to_purge(t0() + TimeDelta::hours(4)));
}
