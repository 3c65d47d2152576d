//! The processing steps in a site and how long they take.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::case::LegalCategory;
use crate::error::{Result, ValidationError, non_negative, probability};
use crate::site::RoomKind;

/// A step of processing inside a site, in order: intake → search →
/// information collection → (medical) → holding → questioning → exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Intake,
    Search,
    InformationCollection,
    Medical,
    Holding,
    /// Interrogation (criminal) or inquiry (administrative), by the case's category.
    Questioning,
}

impl Step {
    pub const ALL: [Step; 6] = [
        Step::Intake,
        Step::Search,
        Step::InformationCollection,
        Step::Medical,
        Step::Holding,
        Step::Questioning,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Intake => "intake",
            Step::Search => "search",
            Step::InformationCollection => "information_collection",
            Step::Medical => "medical",
            Step::Holding => "holding",
            Step::Questioning => "questioning",
        }
    }

    /// The only room kind this step may use, for a case of `category`.
    pub fn room_kind(self, category: LegalCategory) -> RoomKind {
        match self {
            Step::Intake => RoomKind::Intake,
            Step::Search => RoomKind::Search,
            Step::InformationCollection => RoomKind::InformationCollection,
            Step::Medical => RoomKind::Medical,
            Step::Holding => RoomKind::Holding,
            Step::Questioning => category.questioning_room(),
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A distribution of durations in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawDist", into = "RawDist")]
pub enum DurationDist {
    Fixed { minutes: f64 },
    Uniform { min: f64, max: f64 },
    Triangular { min: f64, mode: f64, max: f64 },
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
enum RawDist {
    Fixed { minutes: f64 },
    Uniform { min: f64, max: f64 },
    Triangular { min: f64, mode: f64, max: f64 },
}

impl TryFrom<RawDist> for DurationDist {
    type Error = ValidationError;
    fn try_from(r: RawDist) -> Result<Self> {
        match r {
            RawDist::Fixed { minutes } => DurationDist::fixed(minutes),
            RawDist::Uniform { min, max } => DurationDist::uniform(min, max),
            RawDist::Triangular { min, mode, max } => DurationDist::triangular(min, mode, max),
        }
    }
}

impl From<DurationDist> for RawDist {
    fn from(d: DurationDist) -> Self {
        match d {
            DurationDist::Fixed { minutes } => RawDist::Fixed { minutes },
            DurationDist::Uniform { min, max } => RawDist::Uniform { min, max },
            DurationDist::Triangular { min, mode, max } => RawDist::Triangular { min, mode, max },
        }
    }
}

impl DurationDist {
    pub fn fixed(minutes: f64) -> Result<Self> {
        Ok(DurationDist::Fixed {
            minutes: non_negative("minutes", minutes)?,
        })
    }

    pub fn uniform(min: f64, max: f64) -> Result<Self> {
        let min = non_negative("min", min)?;
        let max = non_negative("max", max)?;
        if max < min {
            return Err(ValidationError::new(
                "max",
                max,
                format!("must not be below min ({min})"),
            ));
        }
        Ok(DurationDist::Uniform { min, max })
    }

    pub fn triangular(min: f64, mode: f64, max: f64) -> Result<Self> {
        let min = non_negative("min", min)?;
        let mode = non_negative("mode", mode)?;
        let max = non_negative("max", max)?;
        if mode < min {
            return Err(ValidationError::new(
                "mode",
                mode,
                format!("must not be below min ({min})"),
            ));
        }
        if max < mode {
            return Err(ValidationError::new(
                "max",
                max,
                format!("must not be below mode ({mode})"),
            ));
        }
        Ok(DurationDist::Triangular { min, mode, max })
    }

    pub fn mean(&self) -> f64 {
        match *self {
            DurationDist::Fixed { minutes } => minutes,
            DurationDist::Uniform { min, max } => (min + max) / 2.0,
            DurationDist::Triangular { min, mode, max } => (min + mode + max) / 3.0,
        }
    }

    pub fn max(&self) -> f64 {
        match *self {
            DurationDist::Fixed { minutes } => minutes,
            DurationDist::Uniform { max, .. } | DurationDist::Triangular { max, .. } => max,
        }
    }

    /// The inverse CDF: the duration below which a share `p` (clamped to [0, 1]) of draws fall.
    /// A simulation samples by passing a uniform random number.
    pub fn quantile(&self, p: f64) -> f64 {
        let p = if p.is_nan() { 0.5 } else { p.clamp(0.0, 1.0) };
        match *self {
            DurationDist::Fixed { minutes } => minutes,
            DurationDist::Uniform { min, max } => min + p * (max - min),
            DurationDist::Triangular { min, mode, max } => {
                let range = max - min;
                if range <= 0.0 {
                    return min;
                }
                let cut = (mode - min) / range;
                if p < cut {
                    min + (p * range * (mode - min)).sqrt()
                } else {
                    max - ((1.0 - p) * range * (max - mode)).sqrt()
                }
            }
        }
    }
}

/// Step durations. Defaults are the typical figures reported by centers (docs/domain.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StepDurations {
    pub intake: DurationDist,
    pub search: DurationDist,
    pub information_collection: DurationDist,
    pub medical: DurationDist,
    /// Share of persons who get a medical check.
    #[serde(deserialize_with = "de_probability")]
    pub medical_share: f64,
    /// Interrogation of a criminal suspect.
    pub interrogation: DurationDist,
    /// Inquiry of an administrative suspect or witness.
    pub inquiry: DurationDist,
}

fn de_probability<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    probability("medical_share", v).map_err(serde::de::Error::custom)
}

impl Default for StepDurations {
    fn default() -> Self {
        let tri = |a, b, c| DurationDist::Triangular {
            min: a,
            mode: b,
            max: c,
        };
        StepDurations {
            // "intake and search 10–20 min" — split between the two steps.
            intake: tri(5.0, 7.0, 10.0),
            search: tri(5.0, 7.0, 10.0),
            // "information collection 10–30 min"
            information_collection: tri(10.0, 15.0, 30.0),
            // "medical check about 20 min"
            medical: tri(15.0, 20.0, 30.0),
            medical_share: 0.3,
            // "interrogation 1–4 h (criminal)"
            interrogation: tri(60.0, 120.0, 240.0),
            // "0.5–2 h (administrative)"
            inquiry: tri(30.0, 60.0, 120.0),
        }
    }
}

impl StepDurations {
    /// The distribution for a step of a case of `category`; `None` for holding,
    /// which lasts as long as the wait.
    pub fn for_step(&self, step: Step, category: LegalCategory) -> Option<&DurationDist> {
        match step {
            Step::Intake => Some(&self.intake),
            Step::Search => Some(&self.search),
            Step::InformationCollection => Some(&self.information_collection),
            Step::Medical => Some(&self.medical),
            Step::Holding => None,
            Step::Questioning => Some(if category.is_criminal() {
                &self.interrogation
            } else {
                &self.inquiry
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triangular_quantiles() {
        let d = DurationDist::triangular(60.0, 120.0, 240.0).unwrap();
        assert_eq!(d.quantile(0.0), 60.0);
        assert_eq!(d.quantile(1.0), 240.0);
        // CDF at the mode is (mode-min)/(max-min) = 1/3.
        assert!((d.quantile(1.0 / 3.0) - 120.0).abs() < 1e-9);
        assert!((d.mean() - 140.0).abs() < 1e-9);
    }

    #[test]
    fn bad_distributions_name_the_field() {
        let e = DurationDist::triangular(10.0, 5.0, 20.0).unwrap_err();
        assert_eq!(e.field, "mode");
        let e = DurationDist::fixed(-1.0).unwrap_err();
        assert_eq!((e.field.as_str(), e.value.as_str()), ("minutes", "-1"));
        let e = toml::from_str::<DurationDist>("dist = \"uniform\"\nmin = 5\nmax = 2").unwrap_err();
        assert!(e.to_string().contains("max"), "{e}");
        let e = toml::from_str::<DurationDist>("dist = \"gamma\"\nmin = 5").unwrap_err();
        assert!(e.to_string().contains("gamma"), "{e}");
    }

    #[test]
    fn questioning_room_follows_category() {
        assert_eq!(
            Step::Questioning.room_kind(LegalCategory::CriminalSummons),
            RoomKind::Interrogation
        );
        assert_eq!(
            Step::Questioning.room_kind(LegalCategory::AdministrativeQuestioning),
            RoomKind::Inquiry
        );
    }
}
