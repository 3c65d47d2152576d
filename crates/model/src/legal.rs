//! The legal time limits and the policy settings a region may override.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::rules::Rule;

use crate::case::LegalCategory;
use crate::error::{Result, ValidationError, positive};

/// Time limits per legal category, in minutes from the moment the clock started.
///
/// The defaults are the statutory maxima (see docs/domain.md). A policy may set a
/// *stricter* limit for a category, never a looser one: a limit above the
/// statutory maximum is rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    try_from = "BTreeMap<LegalCategory, f64>",
    into = "BTreeMap<LegalCategory, f64>"
)]
pub struct LegalLimits {
    minutes: BTreeMap<LegalCategory, u32>,
}

impl LegalLimits {
    /// The statutory maximum for a category, in minutes.
    pub fn statutory_min(category: LegalCategory) -> u32 {
        let hours = match category {
            LegalCategory::CriminalSummons => 12,
            LegalCategory::CriminalSummonsSerious => 24,
            LegalCategory::AdministrativeQuestioning => 8,
            LegalCategory::AdministrativeQuestioningComplex => 12,
            LegalCategory::AdministrativeQuestioningDetention => 24,
            LegalCategory::ContinuedQuestioning => 24,
            LegalCategory::ContinuedQuestioningExtended => 48,
        };
        hours * 60
    }

    /// The limit in minutes for a category.
    pub fn limit_min(&self, category: LegalCategory) -> u32 {
        self.minutes
            .get(&category)
            .copied()
            .unwrap_or_else(|| Self::statutory_min(category))
    }

    /// Override the limits of some categories, given in hours.
    pub fn with_overrides_h(overrides: &BTreeMap<LegalCategory, f64>) -> Result<Self> {
        let mut limits = Self::default();
        for (&category, &hours) in overrides {
            let field = category.as_str();
            let hours = positive(field, hours)?;
            let minutes = (hours * 60.0).round();
            let max = Self::statutory_min(category);
            if minutes > f64::from(max) {
                return Err(ValidationError::new(
                    field,
                    hours,
                    format!(
                        "a policy may only shorten the statutory limit of {} h",
                        max / 60
                    ),
                ));
            }
            limits.minutes.insert(category, minutes as u32);
        }
        Ok(limits)
    }
}

impl Default for LegalLimits {
    fn default() -> Self {
        Self {
            minutes: LegalCategory::ALL
                .into_iter()
                .map(|c| (c, Self::statutory_min(c)))
                .collect(),
        }
    }
}

impl TryFrom<BTreeMap<LegalCategory, f64>> for LegalLimits {
    type Error = ValidationError;
    fn try_from(m: BTreeMap<LegalCategory, f64>) -> Result<Self> {
        Self::with_overrides_h(&m)
    }
}

impl From<LegalLimits> for BTreeMap<LegalCategory, f64> {
    fn from(l: LegalLimits) -> Self {
        l.minutes
            .into_iter()
            .map(|(c, m)| (c, f64::from(m) / 60.0))
            .collect()
    }
}

/// Policy settings. Every field has a default that follows docs/domain.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawPolicy", into = "RawPolicy")]
pub struct Policy {
    /// Time limits per legal category (hours in files).
    pub legal_limits: LegalLimits,
    /// Officers in a ground escort (local practice; default 2).
    pub min_escort_officers: u32,
    /// Officers who question (CPL Art. 118: at least 2).
    pub min_questioning_officers: u32,
    /// Alert this many minutes before a legal limit (e.g. 60 and 30).
    pub alert_lead_min: Vec<u32>,
    /// Longest a person may wait in a holding room before an alert.
    pub max_holding_min: u32,
    /// How late a booked step may start before its plan counts as broken
    /// (default 15).
    pub late_start_min: u32,
    /// An alert nobody has acknowledged this long is escalated to the
    /// supervisors (default 15).
    pub alert_escalate_min: u32,
    /// The situations in which a rule may bend for one case, with a
    /// supervisor's approval (default: [`ExceptionType::defaults`]).
    pub exceptions: Vec<ExceptionType>,
    /// A juvenile is questioned only in a juvenile-suitable room, with a
    /// juvenile-trained officer among the questioners (default on).
    pub juvenile_questioning: bool,
    /// Longest a person waits after arriving at a site before intake
    /// (default 30): the escort stays with them meanwhile.
    pub max_intake_wait_min: u32,
    /// Co-suspects ride in separate vehicles, and so do a juvenile and an
    /// adult (default on): an escort then takes as many vehicles as that
    /// needs (escort teams of one site, or the station's officers in more
    /// than one car).
    pub separate_vehicles: bool,
}

/// A named situation in which one rule may bend for one case, with a
/// supervisor's approval. Only a rule that [`Rule::may_bend`]: legal limits
/// never bend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionType {
    /// A stable slug, e.g. `escort_arrangement`.
    pub name: String,
    /// The rule it bends.
    pub rule: Rule,
    #[serde(default)]
    pub description: String,
}

impl ExceptionType {
    /// Another escort arrangement (fewer officers than the policy's
    /// number), and rooms used outside a site's open hours.
    pub fn defaults() -> Vec<ExceptionType> {
        vec![
            ExceptionType {
                name: "escort_arrangement".into(),
                rule: Rule::EscortOfficers,
                description: "fewer escort officers than the policy's number".into(),
            },
            ExceptionType {
                name: "after_hours".into(),
                rule: Rule::OpenHours,
                description: "rooms used outside the site's open hours".into(),
            },
        ]
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            legal_limits: LegalLimits::default(),
            min_escort_officers: 2,
            min_questioning_officers: 2,
            alert_lead_min: vec![60, 30],
            max_holding_min: 240,
            late_start_min: DEFAULT_LATE_START_MIN,
            alert_escalate_min: DEFAULT_ESCALATE_MIN,
            exceptions: ExceptionType::defaults(),
            juvenile_questioning: true,
            max_intake_wait_min: DEFAULT_INTAKE_WAIT_MIN,
            separate_vehicles: true,
        }
    }
}

const DEFAULT_LATE_START_MIN: u32 = 15;
const DEFAULT_ESCALATE_MIN: u32 = 15;
const DEFAULT_INTAKE_WAIT_MIN: u32 = 30;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    legal_limits_h: BTreeMap<LegalCategory, f64>,
    #[serde(default = "two")]
    min_escort_officers: u32,
    #[serde(default = "two")]
    min_questioning_officers: u32,
    #[serde(default = "default_leads")]
    alert_lead_min: Vec<u32>,
    #[serde(default = "default_max_holding")]
    max_holding_min: u32,
    // Left out when they are the defaults, so that a policy without them
    // reads the same on nodes of builds that do not know them.
    #[serde(
        default = "default_late_start",
        skip_serializing_if = "is_default_late_start"
    )]
    late_start_min: u32,
    #[serde(
        default = "default_escalate",
        skip_serializing_if = "is_default_escalate"
    )]
    alert_escalate_min: u32,
    #[serde(
        default = "ExceptionType::defaults",
        skip_serializing_if = "is_default_exceptions"
    )]
    exceptions: Vec<ExceptionType>,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    juvenile_questioning: bool,
    #[serde(
        default = "default_intake_wait",
        skip_serializing_if = "is_default_intake_wait"
    )]
    max_intake_wait_min: u32,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    separate_vehicles: bool,
}

fn default_intake_wait() -> u32 {
    DEFAULT_INTAKE_WAIT_MIN
}
fn is_default_intake_wait(v: &u32) -> bool {
    *v == DEFAULT_INTAKE_WAIT_MIN
}

fn yes() -> bool {
    true
}
fn is_true(v: &bool) -> bool {
    *v
}

fn is_default_exceptions(v: &Vec<ExceptionType>) -> bool {
    *v == ExceptionType::defaults()
}

fn default_late_start() -> u32 {
    DEFAULT_LATE_START_MIN
}
fn is_default_late_start(v: &u32) -> bool {
    *v == DEFAULT_LATE_START_MIN
}
fn default_escalate() -> u32 {
    DEFAULT_ESCALATE_MIN
}
fn is_default_escalate(v: &u32) -> bool {
    *v == DEFAULT_ESCALATE_MIN
}

fn two() -> u32 {
    2
}
fn default_leads() -> Vec<u32> {
    vec![60, 30]
}
fn default_max_holding() -> u32 {
    240
}

impl TryFrom<RawPolicy> for Policy {
    type Error = ValidationError;
    fn try_from(r: RawPolicy) -> Result<Self> {
        let legal_limits = LegalLimits::with_overrides_h(&r.legal_limits_h)
            .map_err(|e| e.within("legal_limits_h"))?;
        if r.min_escort_officers == 0 {
            return Err(ValidationError::new(
                "min_escort_officers",
                0,
                "an escort needs at least one officer",
            ));
        }
        if r.min_questioning_officers < 2 {
            return Err(ValidationError::new(
                "min_questioning_officers",
                r.min_questioning_officers,
                "questioning needs at least 2 officers (CPL Art. 118)",
            ));
        }
        if let Some((i, &l)) = r
            .alert_lead_min
            .iter()
            .enumerate()
            .find(|&(_, &l)| l == 0 || l > 48 * 60)
        {
            return Err(ValidationError::new(
                format!("alert_lead_min[{i}]"),
                l,
                "a lead time is 1 to 2880 minutes",
            ));
        }
        if r.max_holding_min == 0 {
            return Err(ValidationError::new(
                "max_holding_min",
                0,
                "must be greater than 0",
            ));
        }
        for (field, v) in [
            ("late_start_min", r.late_start_min),
            ("alert_escalate_min", r.alert_escalate_min),
        ] {
            if v == 0 || v > 24 * 60 {
                return Err(ValidationError::new(field, v, "must be 1 to 1440 minutes"));
            }
        }
        if r.max_intake_wait_min > 24 * 60 {
            return Err(ValidationError::new(
                "max_intake_wait_min",
                r.max_intake_wait_min,
                "must be 0 to 1440 minutes",
            ));
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, e) in r.exceptions.iter().enumerate() {
            let slug = !e.name.is_empty()
                && e.name.len() <= 64
                && e.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !slug {
                return Err(ValidationError::new(
                    format!("exceptions[{i}].name"),
                    &e.name,
                    "a name is 1 to 64 of a-z, 0-9 and _",
                ));
            }
            if !names.insert(e.name.as_str()) {
                return Err(ValidationError::new(
                    format!("exceptions[{i}].name"),
                    &e.name,
                    "named twice",
                ));
            }
            if !e.rule.may_bend() {
                return Err(ValidationError::new(
                    format!("exceptions[{i}].rule"),
                    e.rule,
                    format!(
                        "this rule never bends: only {} may",
                        Rule::ALL
                            .into_iter()
                            .filter(|r| r.may_bend())
                            .map(Rule::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        let mut alert_lead_min = r.alert_lead_min;
        alert_lead_min.sort_unstable_by(|a, b| b.cmp(a));
        alert_lead_min.dedup();
        Ok(Policy {
            legal_limits,
            min_escort_officers: r.min_escort_officers,
            min_questioning_officers: r.min_questioning_officers,
            alert_lead_min,
            max_holding_min: r.max_holding_min,
            late_start_min: r.late_start_min,
            alert_escalate_min: r.alert_escalate_min,
            exceptions: r.exceptions,
            juvenile_questioning: r.juvenile_questioning,
            max_intake_wait_min: r.max_intake_wait_min,
            separate_vehicles: r.separate_vehicles,
        })
    }
}

impl From<Policy> for RawPolicy {
    fn from(p: Policy) -> Self {
        let defaults = LegalLimits::default();
        let legal_limits_h = LegalCategory::ALL
            .into_iter()
            .filter(|&c| p.legal_limits.limit_min(c) != defaults.limit_min(c))
            .map(|c| (c, f64::from(p.legal_limits.limit_min(c)) / 60.0))
            .collect();
        RawPolicy {
            legal_limits_h,
            min_escort_officers: p.min_escort_officers,
            min_questioning_officers: p.min_questioning_officers,
            alert_lead_min: p.alert_lead_min,
            max_holding_min: p.max_holding_min,
            late_start_min: p.late_start_min,
            alert_escalate_min: p.alert_escalate_min,
            exceptions: p.exceptions,
            juvenile_questioning: p.juvenile_questioning,
            max_intake_wait_min: p.max_intake_wait_min,
            separate_vehicles: p.separate_vehicles,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exception_types_never_bend_a_legal_rule() {
        let e = toml::from_str::<Policy>(
            "[[exceptions]]\nname = \"longer_questioning\"\nrule = \"legal_limit\"",
        )
        .unwrap_err();
        assert!(e.to_string().contains("exceptions[0].rule"), "{e}");
        let e =
            toml::from_str::<Policy>("[[exceptions]]\nname = \"Bad Name\"\nrule = \"open_hours\"")
                .unwrap_err();
        assert!(e.to_string().contains("exceptions[0].name"), "{e}");
        let p = toml::from_str::<Policy>("").unwrap();
        assert_eq!(p.exceptions, ExceptionType::defaults());
        // The defaults are left out when written, so older builds read it.
        let json = serde_json::to_value(&p).unwrap();
        assert!(json.get("exceptions").is_none(), "{json}");
    }

    #[test]
    fn statutory_defaults() {
        let l = LegalLimits::default();
        assert_eq!(l.limit_min(LegalCategory::CriminalSummons), 12 * 60);
        assert_eq!(l.limit_min(LegalCategory::CriminalSummonsSerious), 24 * 60);
        assert_eq!(
            l.limit_min(LegalCategory::AdministrativeQuestioning),
            8 * 60
        );
        assert_eq!(
            l.limit_min(LegalCategory::AdministrativeQuestioningComplex),
            12 * 60
        );
        assert_eq!(
            l.limit_min(LegalCategory::AdministrativeQuestioningDetention),
            24 * 60
        );
        assert_eq!(l.limit_min(LegalCategory::ContinuedQuestioning), 24 * 60);
        assert_eq!(
            l.limit_min(LegalCategory::ContinuedQuestioningExtended),
            48 * 60
        );
    }

    #[test]
    fn policy_may_shorten_but_not_extend() {
        let mut m = BTreeMap::new();
        m.insert(LegalCategory::CriminalSummons, 10.0);
        let l = LegalLimits::with_overrides_h(&m).unwrap();
        assert_eq!(l.limit_min(LegalCategory::CriminalSummons), 600);
        m.insert(LegalCategory::AdministrativeQuestioning, 9.0);
        let e = LegalLimits::with_overrides_h(&m).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.value.as_str()),
            ("administrative_questioning", "9")
        );
        m.insert(LegalCategory::AdministrativeQuestioning, f64::NAN);
        assert!(LegalLimits::with_overrides_h(&m).is_err());
    }

    #[test]
    fn the_rules_of_version_8_default_on_and_refuse_bad_values() {
        let p = toml::from_str::<Policy>("").unwrap();
        assert!(p.juvenile_questioning && p.separate_vehicles);
        assert_eq!(p.max_intake_wait_min, 30);
        // Defaults are left out when written, so older builds read it.
        let json = serde_json::to_value(&p).unwrap();
        for field in [
            "juvenile_questioning",
            "separate_vehicles",
            "max_intake_wait_min",
        ] {
            assert!(json.get(field).is_none(), "{json}");
        }
        let e = toml::from_str::<Policy>("max_intake_wait_min = 1441").unwrap_err();
        assert!(e.to_string().contains("max_intake_wait_min"), "{e}");
        assert!(e.to_string().contains("1441"), "{e}");
        let p: Policy = toml::from_str(
            "max_intake_wait_min = 0
separate_vehicles = false",
        )
        .unwrap();
        assert_eq!((p.max_intake_wait_min, p.separate_vehicles), (0, false));
        // The rules that may bend are named when one that may not is asked.
        let e = toml::from_str::<Policy>(
            "[[exceptions]]\nname = \"together\"\nrule = \"juvenile_questioning\"",
        )
        .unwrap_err();
        assert!(e.to_string().contains("separate_vehicles"), "{e}");
        let p: Policy =
            toml::from_str("[[exceptions]]\nname = \"together\"\nrule = \"separate_vehicles\"")
                .unwrap();
        assert_eq!(p.exceptions[0].rule, Rule::SeparateVehicles);
    }

    #[test]
    fn policy_rejects_single_questioner() {
        let e = toml::from_str::<Policy>("min_questioning_officers = 1").unwrap_err();
        assert!(e.to_string().contains("min_questioning_officers"), "{e}");
        let p: Policy = toml::from_str("alert_lead_min = [30, 60, 30]").unwrap();
        assert_eq!(p.alert_lead_min, vec![60, 30]);
    }
}
