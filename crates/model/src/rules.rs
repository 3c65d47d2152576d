//! The catalogue of hard rules: one stable name per rule.
//!
//! The planner's validator reports its violations with these, the engines
//! name the rule that blocks a case with them, the store's commit check
//! refuses a plan naming them, the simulation counts them, and the gRPC API
//! carries the same names (`casehub.v1.Rule` and the `rule` strings). The
//! table in `docs/domain.md` lists them with their legal sources.
//!
//! Names that earlier builds used in the store's conflicts are still read
//! (serde aliases and [`Rule::from_name`]), so old log entries and answers
//! keep their meaning.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A hard rule every plan keeps, checked by the planner and again at commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Questioning ends within the legal limit, counted from the clock
    /// start: the escort's time counts.
    LegalLimit,
    /// No room double-booked.
    RoomDoubleBooked,
    /// Holding rooms within their capacity.
    HoldingCapacity,
    /// No officer double-booked, and officers used only on shift.
    OfficerUnavailable,
    /// No escort team double-booked; the team's vehicle has a seat for
    /// everyone.
    TeamUnavailable,
    /// At least the policy's number of questioning officers (two or more),
    /// each qualified.
    #[serde(alias = "min_questioning_officers")]
    QuestioningOfficers,
    /// At least the policy's number of escort officers (two or more).
    EscortOfficers,
    /// A woman is searched by female staff.
    FemaleSearch,
    /// A woman is escorted with at least one female officer.
    FemaleEscort,
    /// A female juvenile is questioned with a female officer present.
    FemaleJuvenileQuestioning,
    /// Juveniles are never held with adults.
    #[serde(alias = "juveniles_apart")]
    JuvenileSeparation,
    /// Co-suspects are never held together, and are questioned in separate
    /// rooms.
    #[serde(alias = "co_suspects_apart")]
    CoSuspectSeparation,
    /// An escort never takes a station below its minimum on duty, counting
    /// only the officers whose shift is on.
    #[serde(alias = "station_min_on_duty")]
    StationMinimum,
    /// Rooms only within the site's open hours.
    OpenHours,
    /// Rooms only for the steps their kind allows.
    RoomKind,
    /// Every step takes place in a room with audio and video recording.
    Recording,
    /// Every step present, in order, without gaps (a person stays in the
    /// case-handling area until exit).
    StepSequence,
    /// The plan refers to something that does not exist, or leaves a case
    /// out.
    Reference,
    /// Nobody waits in holding longer than the policy's `max_holding_min`
    /// (rules version 7; a policy limit, within the legal one).
    HoldingTime,
    /// A juvenile is questioned in a juvenile-suitable room, with a
    /// juvenile-trained officer among the questioners (rules version 8;
    /// the policy's `juvenile_questioning`, on by default).
    JuvenileQuestioning,
    /// A person goes into intake within the policy's `max_intake_wait_min`
    /// of arriving (rules version 8; a person brought in goes straight into
    /// the case-handling area).
    IntakeWait,
    /// Co-suspects ride in separate vehicles, and so do a juvenile and an
    /// adult (rules version 8; the policy's `separate_vehicles`, on by
    /// default; local practice, following "never held together").
    SeparateVehicles,
}

impl Rule {
    /// Every rule, in the catalogue's order.
    pub const ALL: [Rule; 22] = [
        Rule::LegalLimit,
        Rule::RoomDoubleBooked,
        Rule::HoldingCapacity,
        Rule::OfficerUnavailable,
        Rule::TeamUnavailable,
        Rule::QuestioningOfficers,
        Rule::EscortOfficers,
        Rule::FemaleSearch,
        Rule::FemaleEscort,
        Rule::FemaleJuvenileQuestioning,
        Rule::JuvenileSeparation,
        Rule::CoSuspectSeparation,
        Rule::StationMinimum,
        Rule::OpenHours,
        Rule::RoomKind,
        Rule::Recording,
        Rule::StepSequence,
        Rule::Reference,
        Rule::HoldingTime,
        Rule::JuvenileQuestioning,
        Rule::IntakeWait,
        Rule::SeparateVehicles,
    ];

    /// The stable name, as plans, conflicts, the API and the docs write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::LegalLimit => "legal_limit",
            Rule::RoomDoubleBooked => "room_double_booked",
            Rule::HoldingCapacity => "holding_capacity",
            Rule::OfficerUnavailable => "officer_unavailable",
            Rule::TeamUnavailable => "team_unavailable",
            Rule::QuestioningOfficers => "questioning_officers",
            Rule::EscortOfficers => "escort_officers",
            Rule::FemaleSearch => "female_search",
            Rule::FemaleEscort => "female_escort",
            Rule::FemaleJuvenileQuestioning => "female_juvenile_questioning",
            Rule::JuvenileSeparation => "juvenile_separation",
            Rule::CoSuspectSeparation => "co_suspect_separation",
            Rule::StationMinimum => "station_minimum",
            Rule::OpenHours => "open_hours",
            Rule::RoomKind => "room_kind",
            Rule::Recording => "recording",
            Rule::StepSequence => "step_sequence",
            Rule::Reference => "reference",
            Rule::HoldingTime => "holding_time",
            Rule::JuvenileQuestioning => "juvenile_questioning",
            Rule::IntakeWait => "intake_wait",
            Rule::SeparateVehicles => "separate_vehicles",
        }
    }

    /// Whether a supervisor may approve an exception to the rule for one
    /// case (the policy names the exception types; see
    /// `casehub_model::legal::ExceptionType`). Only the rules that are local
    /// practice bend: the number of escort officers, a site's open hours,
    /// the policy's longest hold (never past the legal limit), its
    /// longest wait before intake and separate vehicles. Legal limits and every rule of the law never do, nor what is
    /// physically impossible (a room or an officer twice at once).
    pub fn may_bend(self) -> bool {
        matches!(
            self,
            Rule::EscortOfficers
                | Rule::OpenHours
                | Rule::HoldingTime
                | Rule::IntakeWait
                | Rule::SeparateVehicles
        )
    }

    /// The rule named `name`: its stable name, or a name earlier builds
    /// used for it.
    pub fn from_name(name: &str) -> Option<Rule> {
        let old = match name {
            "min_questioning_officers" => Some(Rule::QuestioningOfficers),
            "juveniles_apart" => Some(Rule::JuvenileSeparation),
            "co_suspects_apart" => Some(Rule::CoSuspectSeparation),
            "station_min_on_duty" => Some(Rule::StationMinimum),
            _ => None,
        };
        old.or_else(|| Rule::ALL.into_iter().find(|r| r.as_str() == name))
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for r in Rule::ALL {
            assert!(seen.insert(r.as_str()), "{r} twice");
            assert_eq!(Rule::from_name(r.as_str()), Some(r));
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.as_str()));
            assert_eq!(serde_json::from_str::<Rule>(&json).unwrap(), r);
        }
        assert_eq!(seen.len(), Rule::ALL.len());
    }

    #[test]
    fn legal_rules_never_bend() {
        for r in [
            Rule::LegalLimit,
            Rule::QuestioningOfficers,
            Rule::FemaleSearch,
            Rule::FemaleEscort,
            Rule::FemaleJuvenileQuestioning,
            Rule::JuvenileSeparation,
            Rule::CoSuspectSeparation,
            Rule::Recording,
            Rule::StationMinimum,
            Rule::RoomDoubleBooked,
        ] {
            assert!(!r.may_bend(), "{r}");
        }
        assert!(Rule::EscortOfficers.may_bend() && Rule::OpenHours.may_bend());
    }

    #[test]
    fn old_names_are_read() {
        for (old, new) in [
            ("station_min_on_duty", Rule::StationMinimum),
            ("min_questioning_officers", Rule::QuestioningOfficers),
            ("juveniles_apart", Rule::JuvenileSeparation),
            ("co_suspects_apart", Rule::CoSuspectSeparation),
        ] {
            assert_eq!(Rule::from_name(old), Some(new));
            assert_eq!(
                serde_json::from_str::<Rule>(&format!("\"{old}\"")).unwrap(),
                new
            );
        }
        assert_eq!(Rule::from_name("no_such_rule"), None);
    }
}
