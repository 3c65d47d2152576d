//! The engine's output. Serialises to the JSON documented in `docs/plan-format.md`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use casehub_model::{CaseId, OfficerId, PersonId, RoomId, SiteId, Step, TeamId};

/// Who escorts a case from its station to the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscortMode {
    /// An escort team of a site drives out, picks the persons up and brings them in.
    Team,
    /// The station's own officers bring them in (and are away from the station meanwhile).
    Station,
}

/// The escort of a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Escort {
    pub mode: EscortMode,
    /// The team, for [`EscortMode::Team`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<TeamId>,
    /// The escorting officers by name.
    pub officers: Vec<OfficerId>,
    /// When the escort sets off (from the team's site, or from the station).
    pub depart: DateTime<Utc>,
    /// When the persons are picked up at the station.
    pub pickup: DateTime<Utc>,
    /// When they arrive at the site.
    pub arrive: DateTime<Utc>,
    /// When the escorting officers are back at their post. For station officers
    /// who also question, this is after the questioning and the drive back.
    pub back: DateTime<Utc>,
    /// Minutes of driving in all, and kilometres.
    pub drive_min: f64,
    pub km: f64,
    /// When the escort takes more than one vehicle (co-suspects, and a
    /// juvenile and an adult, ride apart): each vehicle, its team (the
    /// first is `team`) or station officers, and whom it carries; `officers`
    /// then lists every vehicle's officers. Empty for one vehicle, the
    /// escort's `team` or `officers`, carrying everyone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vehicles: Vec<Vehicle>,
}

impl Escort {
    /// Every team of the escort: each vehicle's, or the one `team`.
    pub fn teams(&self) -> Vec<&TeamId> {
        if self.vehicles.is_empty() {
            self.team.iter().collect()
        } else {
            self.vehicles
                .iter()
                .filter_map(|v| v.team.as_ref())
                .collect()
        }
    }
}

/// One vehicle of an escort that takes more than one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vehicle {
    /// The team that drives it, for [`EscortMode::Team`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<TeamId>,
    /// Its escorting officers.
    pub officers: Vec<OfficerId>,
    /// The persons it carries.
    pub persons: Vec<PersonId>,
}

/// One room booked for one step of one person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepBooking {
    pub step: Step,
    pub room: RoomId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Staff who carry out the step where a rule needs them named (the searcher).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub staff: Vec<OfficerId>,
}

/// The plan for one person: every step in order, and who questions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonPlan {
    pub person: PersonId,
    pub steps: Vec<StepBooking>,
    pub questioning_officers: Vec<OfficerId>,
}

/// The weighted parts of a case's cost (see [`crate::Weights`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CostBreakdown {
    /// Station officer-hours away from their stations (unweighted).
    pub officer_hours_away: f64,
    /// The same, weighted more for stations near their minimum.
    pub officer_away_cost: f64,
    /// Escort driving, minutes × weight.
    pub escort_travel_cost: f64,
    /// Waiting between arrival and questioning, minutes × weight.
    pub waiting_cost: f64,
    /// Penalty for thin slack against the legal limit.
    pub thin_slack_cost: f64,
    /// The sum of the above.
    pub total: f64,
}

/// Why the chosen option won over the best alternative site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The best option at another site (or with another escort), if any was feasible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternative_site: Option<SiteId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternative_escort: Option<EscortMode>,
    /// How much more the alternative would have cost.
    pub extra_cost: f64,
    /// Plain reasons, e.g. "+38 min escort", "station S2 would drop to 1 officer".
    pub reasons: Vec<String>,
}

/// The plan for one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CasePlan {
    pub case: CaseId,
    pub site: SiteId,
    pub escort: Escort,
    pub persons: Vec<PersonPlan>,
    /// The legal deadline: clock start + the category's limit.
    pub deadline: DateTime<Utc>,
    /// Minutes between the end of the last questioning and the deadline.
    pub slack_min: i64,
    /// Kept from an accepted plan.
    #[serde(default)]
    pub pinned: bool,
    pub cost: CostBreakdown,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
    /// Set when no departure within the engine's regular delays (up to
    /// 8 h by default) could serve the case and it leaves later, at the
    /// earliest departure found: why it cannot leave sooner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferred: Option<String>,
}

/// The rules a plan must keep: the one catalogue, [`casehub_model::Rule`].
pub use casehub_model::Rule;

/// A case no plan could serve without breaking a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Blocked {
    pub case: CaseId,
    /// The rule that blocks it (the one that ruled out the most promising option).
    pub rule: Rule,
    pub detail: String,
}

/// How the plan was produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SolverReport {
    /// `milp` or `greedy`.
    pub method: String,
    /// `optimal` (within the relative gap: HiGHS's, or the rounded LP
    /// relaxation's to the LP bound), `time_limit`, `greedy`, `greedy_fallback`
    /// (the MILP failed), `greedy_better` (the MILP's plan within the time
    /// limit was worse), `rounded_better` (the rounded LP relaxation beat the
    /// MILP's plan within the time limit) or `rebooked` (some of the MILP's
    /// cases did not fit the named rooms and officers together and were
    /// booked after the others: the plan is not the MILP's, and `gap` and
    /// `model_objective` are the final plan's, to the LP bound) or
    /// `served_later` (after the solve, cases the plan left out were
    /// booked at later departures than the model's options: the note names
    /// them, `model_objective` is the final plan's, and `gap` is left out,
    /// since the bound does not cover those departures).
    pub status: String,
    pub seconds: f64,
    /// HiGHS's relative MIP gap over the options it was given (price-and-branch:
    /// the options the LP relaxation asked for); for a plan rounded from the LP
    /// relaxation, its gap to the LP bound over all options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap: Option<f64>,
    /// The LP-relaxation bound over all options, when column generation finished
    /// (it counts a blocked case at the unplanned penalty, so compare it only
    /// with plans that block nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lp_bound: Option<f64>,
    /// The MILP's own objective, counting each blocked case at the unplanned
    /// penalty: the figure `lp_bound` bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_objective: Option<f64>,
    /// Number of options (columns) considered.
    pub options: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A plan for a set of pending cases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub now: DateTime<Utc>,
    /// The version of the cluster's replicated region the plan was made
    /// from; 0 when it was made from a region file. The commit refuses a
    /// plan made from another version.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub region_version: u64,
    pub cases: Vec<CasePlan>,
    pub blocked: Vec<Blocked>,
    /// Sum of the case costs plus the load-imbalance term.
    pub objective: f64,
    /// The load-imbalance term: the highest site load (cases per questioning room) × weight.
    pub imbalance_cost: f64,
    pub solver: SolverReport,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}
