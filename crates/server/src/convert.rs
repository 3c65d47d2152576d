//! Between the API's messages and the model: the one place both ways are
//! written, used by the server's services and by the CLI.
//!
//! From a message, every field is checked at the edge; an error is
//! INVALID_ARGUMENT naming the field (with its path, e.g.
//! `case.persons[1].gender`) and the value. To a message, the words are
//! the model's own (the scenario format's).

use chrono::{DateTime, Datelike, Utc};
use serde::de::DeserializeOwned;
use tonic::Status;

use casehub_model::{Case, CaseId, GroupId, LegalCategory, Person, PersonId, StationId};

use crate::proto;

pub fn invalid(
    field: &str,
    value: impl std::fmt::Display,
    reason: impl std::fmt::Display,
) -> Status {
    Status::invalid_argument(format!(
        "{field} = {value:?}: {reason}",
        value = value.to_string()
    ))
}

pub fn ts(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub fn time(field: &str, t: Option<&prost_types::Timestamp>) -> Result<DateTime<Utc>, Status> {
    let t = t.ok_or_else(|| Status::invalid_argument(format!("{field}: missing")))?;
    let nanos = u32::try_from(t.nanos)
        .ok()
        .filter(|n| *n < 1_000_000_000)
        .ok_or_else(|| invalid(&format!("{field}.nanos"), t.nanos, "must be 0 to 999999999"))?;
    let (first, last) = casehub_store::state::BOOKING_TIMES;
    DateTime::from_timestamp(t.seconds, nanos)
        .filter(|t| (first..=last).contains(&t.year()))
        .ok_or_else(|| {
            invalid(
                &format!("{field}.seconds"),
                t.seconds,
                format!("not a time in the years {first} to {last}"),
            )
        })
}

pub fn interval(a: DateTime<Utc>, b: DateTime<Utc>) -> proto::Interval {
    proto::Interval {
        start: Some(ts(a)),
        end: Some(ts(b)),
    }
}

/// An id field: `Ok(None)` when empty and optional.
pub fn id<T>(
    field: &str,
    value: &str,
    make: impl Fn(String) -> Result<T, casehub_model::error::ValidationError>,
) -> Result<T, Status> {
    if value.is_empty() {
        return Err(Status::invalid_argument(format!("{field}: missing")));
    }
    make(value.to_string()).map_err(|e| invalid(field, value, e.reason))
}

pub fn optional_id<T>(
    field: &str,
    value: &str,
    make: impl Fn(String) -> Result<T, casehub_model::error::ValidationError>,
) -> Result<Option<T>, Status> {
    if value.is_empty() {
        Ok(None)
    } else {
        id(field, value, make).map(Some)
    }
}

/// A lower-case word of the API (a step, a category, a gender) through serde.
pub fn word<T: DeserializeOwned>(field: &str, value: &str, allowed: &str) -> Result<T, Status> {
    if value.is_empty() {
        return Err(Status::invalid_argument(format!(
            "{field}: missing; one of {allowed}"
        )));
    }
    serde_json::from_value(serde_json::Value::String(value.to_string()))
        .map_err(|_| invalid(field, value, format!("not one of {allowed}")))
}

pub const STEPS: &str = "intake, search, information_collection, medical, holding, questioning";
pub const CATEGORIES: &str = "criminal_summons, criminal_summons_serious, administrative_questioning, \
    administrative_questioning_complex, administrative_questioning_detention, \
    continued_questioning, continued_questioning_extended";

/// A rule of the catalogue as the API's enum (`RULE_` and its name).
pub fn rule_code(rule: casehub_model::Rule) -> proto::Rule {
    proto::Rule::from_str_name(&format!("RULE_{}", rule.as_str().to_ascii_uppercase()))
        .unwrap_or(proto::Rule::Unspecified)
}

pub fn case_from_proto(field: &str, c: Option<&proto::Case>) -> Result<Case, Status> {
    let c = c.ok_or_else(|| Status::invalid_argument(format!("{field}: missing")))?;
    let case_id = id(&format!("{field}.case_id"), &c.case_id, CaseId::new)?;
    let origin = id(
        &format!("{field}.origin_station_id"),
        &c.origin_station_id,
        StationId::new,
    )?;
    let clock = time(
        &format!("{field}.clock_started_at"),
        c.clock_started_at.as_ref(),
    )?;
    let category: LegalCategory = word(&format!("{field}.category"), &c.category, CATEGORIES)?;
    let mut persons = Vec::new();
    for (i, p) in c.persons.iter().enumerate() {
        let f = format!("{field}.persons[{i}]");
        persons.push(Person {
            id: id(&format!("{f}.person_id"), &p.person_id, PersonId::new)?,
            gender: word(&format!("{f}.gender"), &p.gender, "female, male")?,
            juvenile: p.juvenile,
            co_suspect_group: optional_id(
                &format!("{f}.co_suspect_group"),
                &p.co_suspect_group,
                GroupId::new,
            )?,
        });
    }
    Case::new(case_id, origin, clock, category, persons)
        .map_err(|e| invalid(&format!("{field}.{}", e.field), e.value, e.reason))
}

/// A case as the API's message: the same words as the scenario format.
pub fn case_to_proto(case: &Case) -> proto::Case {
    proto::Case {
        case_id: case.id.to_string(),
        origin_station_id: case.origin.to_string(),
        clock_started_at: Some(ts(case.clock_started_at)),
        category: case.category.as_str().into(),
        persons: case.persons.iter().map(person_to_proto).collect(),
    }
}

/// A person as the API's message (no pseudonym nor particulars: the case
/// reads add those for the roles that may see them).
pub fn person_to_proto(p: &Person) -> proto::Person {
    proto::Person {
        person_id: p.id.to_string(),
        gender: match p.gender {
            casehub_model::Gender::Female => "female",
            casehub_model::Gender::Male => "male",
        }
        .into(),
        juvenile: p.juvenile,
        co_suspect_group: p
            .co_suspect_group
            .as_ref()
            .map(|g| g.to_string())
            .unwrap_or_default(),
        ..Default::default()
    }
}

/// A timestamp of a message as a time, if it is one.
pub fn from_ts(t: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use casehub_model::Gender;

    fn a_case() -> Case {
        Case::new(
            CaseId::new("C-1").unwrap(),
            StationId::new("S03").unwrap(),
            "2026-12-08T01:02:03Z".parse().unwrap(),
            LegalCategory::CriminalSummonsSerious,
            vec![
                Person {
                    id: PersonId::new("P1").unwrap(),
                    gender: Gender::Female,
                    juvenile: true,
                    co_suspect_group: Some(GroupId::new("G1").unwrap()),
                },
                Person {
                    id: PersonId::new("P2").unwrap(),
                    gender: Gender::Male,
                    juvenile: false,
                    co_suspect_group: Some(GroupId::new("G1").unwrap()),
                },
            ],
        )
        .unwrap()
    }

    #[test]
    fn a_case_goes_to_a_message_and_back_unchanged() {
        let case = a_case();
        let message = case_to_proto(&case);
        assert_eq!(message.category, "criminal_summons_serious");
        assert_eq!(message.persons[0].gender, "female");
        assert_eq!(case_from_proto("case", Some(&message)).unwrap(), case);
        assert_eq!(
            from_ts(message.clock_started_at.as_ref().unwrap()),
            Some(case.clock_started_at)
        );
    }

    #[test]
    fn a_bad_field_is_named_with_its_path_and_value() {
        let mut message = case_to_proto(&a_case());
        message.persons[1].gender = "unknown".into();
        let e = case_from_proto("case", Some(&message)).unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert!(
            e.message()
                .starts_with("case.persons[1].gender = \"unknown\""),
            "{}",
            e.message()
        );
        let e = case_from_proto("case", None).unwrap_err();
        assert_eq!(e.message(), "case: missing");
    }
}
