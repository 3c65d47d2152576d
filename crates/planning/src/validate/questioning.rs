//! Rules 10 and 11: each person is questioned by at least the policy's
//! number of distinct, qualified questioning officers, a woman among them
//! for a female juvenile.

use std::collections::BTreeSet;

use casehub_model::{Case, Gender, Qualification};

use super::{Checker, ids};
use crate::plan::{CasePlan, Rule};

impl<'a> Checker<'a> {
    /// Rules 10 and 11: questioning officers.
    pub(super) fn check_questioning(&mut self, cp: &'a CasePlan, case: Option<&'a Case>) {
        let cid = &cp.case;
        let min = self.state.region.policy.min_questioning_officers;
        for pp in &cp.persons {
            let distinct: BTreeSet<&str> =
                pp.questioning_officers.iter().map(|o| o.as_str()).collect();
            let mut qualified = 0u32;
            for id in &distinct {
                let Some(o) = self.officers.get(id).copied() else {
                    continue;
                };
                if o.can(Qualification::Questioning) {
                    qualified += 1;
                } else {
                    let detail = format!(
                        "officer {id} questions person {} without the questioning qualification",
                        pp.person
                    );
                    self.push(Rule::QuestioningOfficers, Some(cid), detail);
                }
            }
            if qualified < min {
                let detail = format!(
                    "person {} is questioned by {}: {qualified} distinct qualified officers, the policy needs {min}",
                    pp.person,
                    ids(&pp.questioning_officers)
                );
                self.push(Rule::QuestioningOfficers, Some(cid), detail);
            }
            if let Some(person) = self.person_of(case, &pp.person)
                && person.gender == Gender::Female
                && person.juvenile
                && !distinct.iter().any(|id| {
                    self.officers
                        .get(id)
                        .is_some_and(|o| o.gender == Gender::Female)
                })
            {
                let detail = format!(
                    "female juvenile {} is questioned by {} with no female officer",
                    pp.person,
                    ids(&pp.questioning_officers)
                );
                self.push(Rule::FemaleJuvenileQuestioning, Some(cid), detail);
            }
        }
    }
}
