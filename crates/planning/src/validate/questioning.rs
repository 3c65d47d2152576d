//! Rules 10 and 11: each person is questioned by at least the policy's
//! number of distinct, qualified questioning officers, a woman among them
//! for a female juvenile; and, when the policy says so, a juvenile in a
//! juvenile-suitable room with a juvenile-trained officer among them
//! ([`Rule::JuvenileQuestioning`]).

use std::collections::BTreeSet;

use casehub_model::{Case, Gender, Qualification, Step};

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

    /// The policy's juvenile questioning: a juvenile is questioned in a
    /// juvenile-suitable room, with a juvenile-trained officer among the
    /// questioners.
    pub(super) fn check_juvenile_questioning(&mut self, cp: &'a CasePlan, case: Option<&'a Case>) {
        if !self.state.region.policy.juvenile_questioning {
            return;
        }
        let cid = &cp.case;
        for pp in &cp.persons {
            if !self.person_of(case, &pp.person).is_some_and(|p| p.juvenile) {
                continue;
            }
            for b in pp.steps.iter().filter(|b| b.step == Step::Questioning) {
                if let Some((_, room)) = self.rooms.get(b.room.as_str())
                    && !room.juvenile_suitable
                {
                    let detail = format!(
                        "juvenile {} is questioned in room {}, which is not juvenile-suitable",
                        pp.person, room.id
                    );
                    self.push(Rule::JuvenileQuestioning, Some(cid), detail);
                }
            }
            let trained = pp.questioning_officers.iter().any(|id| {
                self.officers
                    .get(id.as_str())
                    .is_some_and(|o| o.can(Qualification::Juvenile))
            });
            if !trained {
                let detail = format!(
                    "juvenile {} is questioned by {} with no juvenile-trained officer",
                    pp.person,
                    ids(&pp.questioning_officers)
                );
                self.push(Rule::JuvenileQuestioning, Some(cid), detail);
            }
        }
    }
}
