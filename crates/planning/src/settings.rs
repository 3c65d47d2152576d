//! Engine settings and objective weights, with documented defaults.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::PlanError;

/// Which solver produces the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// MILP on HiGHS, falling back to the greedy if it finds nothing in time.
    Milp,
    /// The greedy heuristic alone.
    Greedy,
}

/// Weights of the objective. Costs are in "minute-equivalents": one station
/// officer away for one minute, at a comfortable station, costs `officer_away`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Weights {
    /// Per station officer-minute away from the station.
    pub officer_away: f64,
    /// Extra factor when the station is near its minimum: the officer-minute
    /// cost is multiplied by `1 + near_minimum / (spare + 1)`, where `spare` is
    /// how many officers the station has above its minimum while they are away.
    pub near_minimum: f64,
    /// Per minute of escort driving (vehicle and crew), either mode.
    pub escort_travel: f64,
    /// Per minute a person waits between arrival and questioning.
    pub waiting: f64,
    /// Per minute the slack against the legal limit falls below `slack_threshold_min`.
    pub thin_slack: f64,
    /// Slack below this many minutes is penalised.
    pub slack_threshold_min: f64,
    /// Per unit of the highest site load (cases per questioning room).
    pub imbalance: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            officer_away: 1.0,
            near_minimum: 2.0,
            escort_travel: 0.5,
            waiting: 0.2,
            thin_slack: 2.0,
            slack_threshold_min: 120.0,
            imbalance: 60.0,
        }
    }
}

/// Settings of a planning run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub method: Method,
    /// The slot of the time grid, minutes (default 15). Durations and travel round up to slots.
    pub slot_min: u32,
    /// How far ahead the plan reaches, hours (default 24).
    pub horizon_h: u32,
    /// MILP time limit.
    #[serde(with = "secs")]
    pub time_limit: Duration,
    /// MILP relative gap at which to stop (default 1%).
    pub mip_rel_gap: f64,
    /// Which quantile of each step's duration distribution to plan with (default 0.5).
    pub duration_quantile: f64,
    /// Departure delays to consider per case, in slots (default 0–32, i.e. up to 8 h, in growing steps).
    pub start_delays: Vec<u32>,
    /// Waits in holding before questioning to consider, in slots (default 0, 2, 4).
    pub questioning_delays: Vec<u32>,
    /// Explain each case against its best alternative (costs one more pass).
    pub explain: bool,
    pub weights: Weights,
}

mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let v = f64::deserialize(d)?;
        Duration::try_from_secs_f64(v).map_err(|_| {
            serde::de::Error::custom(format!(
                "time_limit = {v}: must be a non-negative number of seconds"
            ))
        })
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            method: Method::Milp,
            slot_min: 15,
            horizon_h: 24,
            time_limit: Duration::from_secs(10),
            mip_rel_gap: 0.01,
            duration_quantile: 0.5,
            start_delays: vec![0, 1, 2, 4, 6, 8, 12, 16, 24, 32],
            questioning_delays: vec![0, 2, 4],
            explain: true,
            weights: Weights::default(),
        }
    }
}

impl Settings {
    /// Check every setting; errors name the setting and the value.
    pub fn validate(&self) -> Result<(), PlanError> {
        let bad = |field: &'static str, value: String, reason: &str| {
            Err(PlanError::Setting {
                field,
                value,
                reason: reason.into(),
            })
        };
        if !(1..=240).contains(&self.slot_min) || 1440 % self.slot_min != 0 {
            return bad(
                "slot_min",
                self.slot_min.to_string(),
                "must divide a day evenly and be 1 to 240 minutes",
            );
        }
        if !(1..=168).contains(&self.horizon_h) {
            return bad(
                "horizon_h",
                self.horizon_h.to_string(),
                "must be 1 to 168 hours",
            );
        }
        if !(self.mip_rel_gap.is_finite() && (0.0..1.0).contains(&self.mip_rel_gap)) {
            return bad(
                "mip_rel_gap",
                self.mip_rel_gap.to_string(),
                "must be in [0, 1)",
            );
        }
        if !(self.duration_quantile.is_finite() && (0.0..=1.0).contains(&self.duration_quantile)) {
            return bad(
                "duration_quantile",
                self.duration_quantile.to_string(),
                "must be in [0, 1]",
            );
        }
        if self.start_delays.is_empty() {
            return bad("start_delays", "[]".into(), "needs at least one delay (0)");
        }
        if self.questioning_delays.is_empty() {
            return bad(
                "questioning_delays",
                "[]".into(),
                "needs at least one delay (0)",
            );
        }
        let w = &self.weights;
        for (field, v) in [
            ("weights.officer_away", w.officer_away),
            ("weights.near_minimum", w.near_minimum),
            ("weights.escort_travel", w.escort_travel),
            ("weights.waiting", w.waiting),
            ("weights.thin_slack", w.thin_slack),
            ("weights.slack_threshold_min", w.slack_threshold_min),
            ("weights.imbalance", w.imbalance),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(field, v.to_string(), "must be a finite number >= 0");
            }
        }
        Ok(())
    }

    pub fn horizon_slots(&self) -> i64 {
        i64::from(self.horizon_h) * 60 / i64::from(self.slot_min)
    }
}
