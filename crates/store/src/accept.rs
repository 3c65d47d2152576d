//! The replicated region and the commit of a plan (rules version 6).
//!
//! [`Command::AcceptPlan`](crate::Command::AcceptPlan) is checked by the one
//! implementation of the rules catalogue, the planner's validator
//! ([`casehub_planning::validate`]), on the state as it is at the plan's log
//! index: every hard rule the planner keeps is kept at commit, under the same
//! names. The checks written into the state machine itself before version 6
//! (`check_plan`) stay only to replay logs written under older rules.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Utc};

use casehub_model::{CaseId, Rule};
use casehub_planning::{CasePlan, Plan, SolverReport, Violation, validate};

use crate::plan_view::{plan_bookings, planning_state};
use crate::region::{RegionStatic, RegionVersion};
use crate::state::{
    BOOKING_TIMES, CaseStatus, Conflict, EntityRef, Outcome, PlannedBooking, Response,
    SchedulingState, invalid,
};

impl SchedulingState {
    /// [`Command::SetRegion`](crate::Command::SetRegion): the next region
    /// version, unless the content is the current one's.
    pub(crate) fn set_region(&mut self, r: &RegionStatic) -> Outcome {
        for station in self.stations.keys() {
            for site in self.sites.keys() {
                if r.table.leg(station.as_str(), site.as_str()).is_none() {
                    return Err(invalid(
                        "region.table",
                        format!(
                            "no travel time from station {station} to site {site}; the table must cover every station and site"
                        ),
                    ));
                }
            }
        }
        let digest = r.digest();
        if self.region.as_ref().is_some_and(|rv| rv.digest == digest) {
            return Ok(Vec::new());
        }
        let next = RegionVersion {
            version: self.region_version() + 1,
            digest,
            value: r.clone(),
        };
        let old = self.region.replace(next);
        // The static parts must form a region with the entities as they are.
        if let Err(e) = self.region_model() {
            self.region = old;
            return Err(invalid("region", e.to_string()));
        }
        Ok(Vec::new())
    }

    /// Every rule of the catalogue for `plans` at `now`, on this state: what
    /// the planner's validator finds, in a stable order (the state machine
    /// must answer the same on every node). `Err` when the plan cannot be
    /// checked at all (no region, unknown cases).
    pub fn check_case_plans(
        &self,
        plans: &[CasePlan],
        now: DateTime<Utc>,
    ) -> Result<Vec<Violation>, Response> {
        let (region, table, _) = self.region_model().map_err(|e| Response::Rejected {
            reason: e.to_string(),
            conflicts: Vec::new(),
        })?;
        let ids: Vec<CaseId> = plans.iter().map(|cp| cp.case.clone()).collect();
        let mut state = match planning_state(self, region, table, now, &[]) {
            Ok(s) => s,
            Err(e) => return Err(invalid("plans", e.to_string())),
        };
        // The plan's cases are the pending ones; a case that is not
        // submitted is the validator's `reference` violation.
        state.pending.retain(|p| ids.contains(&p.case.id));
        let plan = Plan {
            now,
            region_version: 0,
            cases: plans.to_vec(),
            blocked: Vec::new(),
            objective: 0.0,
            imbalance_cost: 0.0,
            solver: SolverReport {
                method: String::new(),
                status: String::new(),
                seconds: 0.0,
                gap: None,
                lp_bound: None,
                model_objective: None,
                options: 0,
                note: None,
            },
        };
        let mut found = validate(&state, &plan);
        // The policy's longest hold is a rule from version 7 on: a cluster
        // of older rules commits as its nodes did.
        if !self.rules_at_least(7) {
            found.retain(|v| v.rule != casehub_model::Rule::HoldingTime);
        }
        // And the juvenile questioning, the wait before intake and separate
        // vehicles from version 8 on.
        if !self.rules_at_least(8) {
            found.retain(|v| {
                !matches!(
                    v.rule,
                    casehub_model::Rule::JuvenileQuestioning
                        | casehub_model::Rule::IntakeWait
                        | casehub_model::Rule::SeparateVehicles
                )
            });
        }
        found.sort_by(|a, b| (a.rule, &a.case, &a.detail).cmp(&(b.rule, &b.case, &b.detail)));
        found.dedup();
        Ok(found)
    }

    /// [`Command::AcceptPlan`](crate::Command::AcceptPlan).
    pub(crate) fn accept_plan(
        &mut self,
        plans: &[CasePlan],
        now: DateTime<Utc>,
        region_version: u64,
        expected_versions: &[(EntityRef, u64)],
        exceptions: &[u64],
    ) -> Outcome {
        if plans.is_empty() {
            return Err(invalid("plans", "a plan commits at least one case"));
        }
        if let Some(cp) = plans.iter().find(|cp| cp.pinned) {
            return Err(invalid(
                "plans",
                format!("case {} is pinned: its plan is already accepted", cp.case),
            ));
        }
        let actual = self.region_version();
        if actual != region_version {
            return Err(Response::Rejected {
                reason: "the plan was made from another version of the region".into(),
                conflicts: vec![Conflict::RegionVersion {
                    expected: region_version,
                    actual,
                }],
            });
        }
        self.check_versions(expected_versions)?;
        let cases: Vec<CaseId> = plans.iter().map(|cp| cp.case.clone()).collect();
        self.check_exceptions(exceptions, &cases)?;
        let found = self.waive(self.check_case_plans(plans, now)?, exceptions);
        if !found.is_empty() {
            let first = EntityRef::Case(plans[0].case.clone());
            let conflicts = found
                .into_iter()
                .map(|v| Conflict::Rule {
                    rule: v.rule,
                    entity: v.case.map_or_else(|| first.clone(), EntityRef::Case),
                    detail: v.detail,
                })
                .collect::<Vec<_>>();
            let rules: BTreeSet<Rule> = conflicts
                .iter()
                .filter_map(|c| match c {
                    Conflict::Rule { rule, .. } => Some(*rule),
                    _ => None,
                })
                .collect();
            let names: Vec<&str> = rules.iter().map(|r| r.as_str()).collect();
            return Err(Response::Rejected {
                reason: format!("the plan breaks the rules {}", names.join(", ")),
                conflicts,
            });
        }
        let bookings: Vec<PlannedBooking> = plans.iter().flat_map(plan_bookings).collect();
        for (i, pb) in bookings.iter().enumerate() {
            let b = &pb.booking;
            for t in [b.start, b.end] {
                if !(BOOKING_TIMES.0..=BOOKING_TIMES.1).contains(&t.year()) {
                    return Err(invalid(
                        format!("bookings[{i}]"),
                        format!(
                            "{t} is not in the years {} to {}",
                            BOOKING_TIMES.0, BOOKING_TIMES.1
                        ),
                    ));
                }
            }
        }
        self.use_exceptions(exceptions, now);
        let mut changed = self.book(&bookings);
        let cases: BTreeSet<&CaseId> = plans.iter().map(|cp| &cp.case).collect();
        for case in cases {
            if let Some(v) = self.mark_planned(case) {
                changed.push((EntityRef::Case(case.clone()), v));
            }
        }
        Ok(changed)
    }

    /// A case has a new plan: submitted becomes planned, and what broke the
    /// old plan is resolved. The case's new version.
    pub(crate) fn mark_planned(&mut self, case: &CaseId) -> Option<u64> {
        let entry = self.cases.get_mut(case)?;
        if entry.value.status == CaseStatus::Submitted {
            entry.value.status = CaseStatus::Planned;
        }
        entry.value.plan_broken = None;
        entry.version += 1;
        Some(entry.version)
    }

    /// Every expected version is the entity's current one.
    pub(crate) fn check_versions(&self, expected: &[(EntityRef, u64)]) -> Result<(), Response> {
        let mut conflicts = Vec::new();
        for (entity, v) in expected {
            match self.version_of(entity) {
                None => conflicts.push(Conflict::Unknown {
                    entity: entity.clone(),
                }),
                Some(actual) if actual != *v => conflicts.push(Conflict::StaleVersion {
                    entity: entity.clone(),
                    expected: *v,
                    actual,
                }),
                Some(_) => {}
            }
        }
        if conflicts.is_empty() {
            Ok(())
        } else {
            Err(Response::Rejected {
                reason: "the plan was computed against stale versions".into(),
                conflicts,
            })
        }
    }
}
