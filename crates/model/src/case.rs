//! Cases and the persons brought in under them.

use std::collections::HashSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Result, ValidationError};
use crate::ids::{CaseId, GroupId, PersonId, StationId};
use crate::site::RoomKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Female,
    Male,
}

/// The legal basis on which a person is held; it sets the time limit
/// (see [`crate::legal::LegalLimits`]) and the kind of questioning room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalCategory {
    /// Criminal summons or compelled appearance (传唤、拘传), CPL Art. 119: 12 h.
    CriminalSummons,
    /// The same for especially serious or complex cases needing detention or arrest: 24 h.
    CriminalSummonsSerious,
    /// Administrative questioning (询问查证), PSAPL: 8 h.
    AdministrativeQuestioning,
    /// Administrative questioning with many people involved or identity unknown (2025 revision): 12 h.
    AdministrativeQuestioningComplex,
    /// Administrative questioning where administrative detention may apply: 24 h.
    AdministrativeQuestioningDetention,
    /// Continued questioning (继续盘问), People's Police Law Art. 9: 24 h.
    ContinuedQuestioning,
    /// Continued questioning extended with county-level approval: 48 h.
    ContinuedQuestioningExtended,
}

impl LegalCategory {
    pub const ALL: [LegalCategory; 7] = [
        LegalCategory::CriminalSummons,
        LegalCategory::CriminalSummonsSerious,
        LegalCategory::AdministrativeQuestioning,
        LegalCategory::AdministrativeQuestioningComplex,
        LegalCategory::AdministrativeQuestioningDetention,
        LegalCategory::ContinuedQuestioning,
        LegalCategory::ContinuedQuestioningExtended,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LegalCategory::CriminalSummons => "criminal_summons",
            LegalCategory::CriminalSummonsSerious => "criminal_summons_serious",
            LegalCategory::AdministrativeQuestioning => "administrative_questioning",
            LegalCategory::AdministrativeQuestioningComplex => "administrative_questioning_complex",
            LegalCategory::AdministrativeQuestioningDetention => {
                "administrative_questioning_detention"
            }
            LegalCategory::ContinuedQuestioning => "continued_questioning",
            LegalCategory::ContinuedQuestioningExtended => "continued_questioning_extended",
        }
    }

    /// Criminal suspects are questioned in an interrogation room (讯问室).
    pub fn is_criminal(self) -> bool {
        matches!(
            self,
            LegalCategory::CriminalSummons | LegalCategory::CriminalSummonsSerious
        )
    }

    /// The room kind in which a person of this category is questioned.
    pub fn questioning_room(self) -> RoomKind {
        if self.is_criminal() {
            RoomKind::Interrogation
        } else {
            RoomKind::Inquiry
        }
    }
}

impl fmt::Display for LegalCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a case leaves the center: what happens to its persons next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Released (释放).
    Released,
    /// Criminal detention (刑事拘留): to the detention center (看守所).
    CriminalDetention,
    /// Administrative detention (行政拘留): to a detention facility (拘留所).
    AdministrativeDetention,
    /// Released on bail pending trial (取保候审).
    Bail,
    /// Handed to another authority (移交其他机关).
    HandedOver,
}

impl Disposition {
    pub const ALL: [Disposition; 5] = [
        Disposition::Released,
        Disposition::CriminalDetention,
        Disposition::AdministrativeDetention,
        Disposition::Bail,
        Disposition::HandedOver,
    ];

    /// The name used in the API, the files and the docs.
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Released => "released",
            Disposition::CriminalDetention => "criminal_detention",
            Disposition::AdministrativeDetention => "administrative_detention",
            Disposition::Bail => "bail",
            Disposition::HandedOver => "handed_over",
        }
    }
}

impl std::fmt::Display for Disposition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Disposition {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self> {
        Disposition::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Disposition::ALL.iter().map(|d| d.as_str()).collect();
                ValidationError::new(
                    "disposition",
                    format!("{s:?}"),
                    format!("unknown disposition; expected one of {}", names.join(", ")),
                )
            })
    }
}

impl std::str::FromStr for LegalCategory {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self> {
        LegalCategory::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = LegalCategory::ALL.iter().map(|c| c.as_str()).collect();
                ValidationError::new(
                    "category",
                    format!("{s:?}"),
                    format!(
                        "unknown legal category; expected one of {}",
                        names.join(", ")
                    ),
                )
            })
    }
}

/// A person brought in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub id: PersonId,
    pub gender: Gender,
    /// Under 18: held apart from adults, questioned with a guardian present.
    #[serde(default)]
    pub juvenile: bool,
    /// Co-suspects share a group: never held together, questioned in separate rooms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub co_suspect_group: Option<GroupId>,
}

/// A case: one or more persons brought in from a station on one legal basis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawCase", into = "RawCase")]
pub struct Case {
    pub id: CaseId,
    /// The station that detained the persons (where the escort starts).
    pub origin: StationId,
    /// When the legal clock started (the summons or detention), escort time included.
    pub clock_started_at: DateTime<Utc>,
    pub category: LegalCategory,
    pub persons: Vec<Person>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    id: CaseId,
    origin: StationId,
    clock_started_at: DateTime<Utc>,
    category: LegalCategory,
    persons: Vec<Person>,
}

impl TryFrom<RawCase> for Case {
    type Error = ValidationError;
    fn try_from(r: RawCase) -> Result<Self> {
        Case::new(r.id, r.origin, r.clock_started_at, r.category, r.persons)
    }
}

impl From<Case> for RawCase {
    fn from(c: Case) -> Self {
        RawCase {
            id: c.id,
            origin: c.origin,
            clock_started_at: c.clock_started_at,
            category: c.category,
            persons: c.persons,
        }
    }
}

impl Case {
    /// Validate a case: at least one person, person ids unique within it.
    pub fn new(
        id: CaseId,
        origin: StationId,
        clock_started_at: DateTime<Utc>,
        category: LegalCategory,
        persons: Vec<Person>,
    ) -> Result<Self> {
        if persons.is_empty() {
            return Err(ValidationError::new(
                "persons",
                "[]",
                "a case brings in at least one person",
            ));
        }
        let mut seen = HashSet::new();
        for (i, p) in persons.iter().enumerate() {
            if !seen.insert(&p.id) {
                return Err(ValidationError::new(
                    format!("persons[{i}].id"),
                    &p.id,
                    "duplicate person id in this case",
                ));
            }
        }
        Ok(Case {
            id,
            origin,
            clock_started_at,
            category,
            persons,
        })
    }
}
