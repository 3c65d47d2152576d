//! Each case's timeline: rule 2 ([`Rule::StepSequence`]: escort times in
//! order, every required step, in order, without gaps), rule 9
//! ([`Rule::LegalLimit`]: the deadline, questioning within it, the slack)
//! the policy's longest hold ([`Rule::HoldingTime`]) and its longest wait
//! before intake ([`Rule::IntakeWait`]).

use chrono::{DateTime, TimeDelta, Utc};

use casehub_model::{Case, Step};

use super::Checker;
use crate::plan::{CasePlan, Rule};

/// The steps every person goes through (medical and holding are optional).
const REQUIRED_STEPS: [Step; 4] = [
    Step::Intake,
    Step::Search,
    Step::InformationCollection,
    Step::Questioning,
];

impl<'a> Checker<'a> {
    /// Rule 2: step order, no gaps, escort times.
    pub(super) fn check_steps(&mut self, cp: &'a CasePlan, pinned: bool) {
        let cid = &cp.case;
        let e = &cp.escort;
        if !(e.depart <= e.pickup && e.pickup <= e.arrive && e.arrive <= e.back) {
            let detail = format!(
                "escort times out of order: depart {}, pickup {}, arrive {}, back {} (need depart <= pickup <= arrive <= back)",
                self.at(e.depart),
                self.at(e.pickup),
                self.at(e.arrive),
                self.at(e.back)
            );
            self.push(Rule::StepSequence, Some(cid), detail);
        }
        if !pinned && e.depart < self.state.now {
            let detail = format!(
                "escort departs at {}, before now ({})",
                self.at(e.depart),
                self.at(self.state.now)
            );
            self.push(Rule::StepSequence, Some(cid), detail);
        }
        for pp in &cp.persons {
            let p = &pp.person;
            let Some(first) = pp
                .steps
                .iter()
                .find(|b| b.step == Step::Intake)
                .or(pp.steps.first())
            else {
                self.push(
                    Rule::StepSequence,
                    Some(cid),
                    format!("person {p} has no steps"),
                );
                continue;
            };
            if first.start < e.arrive {
                let detail = format!(
                    "person {p}: {} starts at {}, before the escort arrives at {}",
                    first.step,
                    self.at(first.start),
                    self.at(e.arrive)
                );
                self.push(Rule::StepSequence, Some(cid), detail);
            }
            for b in &pp.steps {
                if b.start >= b.end {
                    let detail = format!(
                        "person {p}: {} in room {} starts at {} but ends at {}",
                        b.step,
                        b.room,
                        self.at(b.start),
                        self.at(b.end)
                    );
                    self.push(Rule::StepSequence, Some(cid), detail);
                }
            }
            for w in pp.steps.windows(2) {
                let (a, b) = (&w[0], &w[1]);
                if b.step == a.step {
                    self.push(
                        Rule::StepSequence,
                        Some(cid),
                        format!("person {p}: step {} twice", a.step),
                    );
                } else if b.step < a.step {
                    let detail = format!(
                        "person {p}: {} after {} (the order is intake, search, information_collection, medical, holding, questioning)",
                        b.step, a.step
                    );
                    self.push(Rule::StepSequence, Some(cid), detail);
                }
                if b.start != a.end {
                    let detail = format!(
                        "person {p}: {} ends at {} but {} starts at {} (a person goes straight from room to room)",
                        a.step,
                        self.at(a.end),
                        b.step,
                        self.at(b.start)
                    );
                    self.push(Rule::StepSequence, Some(cid), detail);
                }
            }
            for req in REQUIRED_STEPS {
                if !pp.steps.iter().any(|b| b.step == req) {
                    self.push(
                        Rule::StepSequence,
                        Some(cid),
                        format!("person {p} has no {req} step"),
                    );
                }
            }
        }
    }

    /// The policy's longest hold: each person's time in holding, in all,
    /// at most `max_holding_min` (a plan already accepted is not held to
    /// it again: a late escort may have lengthened its hold).
    pub(super) fn check_holding_time(&mut self, cp: &'a CasePlan) {
        let max = i64::from(self.state.region.policy.max_holding_min);
        for pp in &cp.persons {
            let held: i64 = pp
                .steps
                .iter()
                .filter(|b| b.step == Step::Holding && b.start < b.end)
                .map(|b| (b.end - b.start).num_minutes())
                .sum();
            if held > max {
                let detail = format!(
                    "person {}: held {held} min, over the policy's {max} min (max_holding_min)",
                    pp.person
                );
                self.push(Rule::HoldingTime, Some(&cp.case), detail);
            }
        }
    }

    /// The policy's longest wait before intake: each person's intake
    /// starts at most `max_intake_wait_min` after the escort arrives (a
    /// plan already accepted is not held to it again).
    pub(super) fn check_intake_wait(&mut self, cp: &'a CasePlan) {
        let max = i64::from(self.state.region.policy.max_intake_wait_min);
        for pp in &cp.persons {
            let Some(intake) = pp.steps.iter().find(|b| b.step == Step::Intake) else {
                continue;
            };
            let wait = (intake.start - cp.escort.arrive).num_minutes();
            if wait > max {
                let detail = format!(
                    "person {}: intake at {}, {wait} min after arriving at {}, over the policy's {max} min (max_intake_wait_min)",
                    pp.person,
                    self.at(intake.start),
                    self.at(cp.escort.arrive)
                );
                self.push(Rule::IntakeWait, Some(&cp.case), detail);
            }
        }
    }

    /// Rule 9: deadline, questioning within it, slack.
    pub(super) fn check_legal(&mut self, cp: &'a CasePlan, case: &'a Case) {
        let cid = &cp.case;
        let limit = self
            .state
            .region
            .policy
            .legal_limits
            .limit_min(case.category);
        let legal = case
            .clock_started_at
            .checked_add_signed(TimeDelta::minutes(i64::from(limit)));
        match legal {
            Some(d) if d != cp.deadline => {
                let detail = format!(
                    "deadline {} but the clock started at {} and the {} limit is {} min, so the deadline is {}",
                    self.at(cp.deadline),
                    self.at(case.clock_started_at),
                    case.category,
                    limit,
                    self.at(d)
                );
                self.push(Rule::LegalLimit, Some(cid), detail);
            }
            Some(_) => {}
            None => {
                let detail = format!(
                    "the clock started at {} and the deadline {limit} min later cannot be represented",
                    self.at(case.clock_started_at)
                );
                self.push(Rule::LegalLimit, Some(cid), detail);
            }
        }
        let deadline = legal.unwrap_or(cp.deadline);
        let mut latest: Option<DateTime<Utc>> = None;
        for pp in &cp.persons {
            for b in pp.steps.iter().filter(|b| b.step == Step::Questioning) {
                latest = Some(latest.map_or(b.end, |l| l.max(b.end)));
                if b.end > deadline {
                    let detail = format!(
                        "person {}: questioning ends at {}, after the legal deadline {}",
                        pp.person,
                        self.at(b.end),
                        self.at(deadline)
                    );
                    self.push(Rule::LegalLimit, Some(cid), detail);
                }
            }
        }
        if let Some(latest) = latest {
            let diff = deadline.signed_duration_since(latest);
            let truncated = diff.num_minutes();
            let floored = diff.num_seconds().div_euclid(60);
            if cp.slack_min != truncated && cp.slack_min != floored {
                let detail = format!(
                    "slack_min is {} but the last questioning ends at {}, {} min before the deadline {}",
                    cp.slack_min,
                    self.at(latest),
                    floored,
                    self.at(deadline)
                );
                self.push(Rule::LegalLimit, Some(cid), detail);
            }
        }
    }
}
