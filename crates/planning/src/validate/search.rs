//! Rule 12: a person is searched by qualified staff, a woman by women only.

use casehub_model::{Case, Gender, Officer, Qualification, Step};

use super::{Checker, ids};
use crate::plan::{CasePlan, Rule};

impl<'a> Checker<'a> {
    /// Rule 12: who searches.
    pub(super) fn check_search(&mut self, cp: &'a CasePlan, case: Option<&'a Case>) {
        let cid = &cp.case;
        for pp in &cp.persons {
            let female = self
                .person_of(case, &pp.person)
                .is_some_and(|p| p.gender == Gender::Female);
            for b in pp.steps.iter().filter(|b| b.step == Step::Search) {
                let known: Vec<&'a Officer> = b
                    .staff
                    .iter()
                    .filter_map(|s| self.officers.get(s.as_str()).copied())
                    .collect();
                if known.is_empty() {
                    let detail = format!(
                        "the search of person {} in room {} names no existing staff ({})",
                        pp.person,
                        b.room,
                        ids(&b.staff)
                    );
                    self.push(Rule::FemaleSearch, Some(cid), detail);
                }
                for o in known {
                    let s = &o.id;
                    if !o.can(Qualification::Search) {
                        self.push(
                            Rule::FemaleSearch,
                            Some(cid),
                            format!(
                                "{s} searches person {} without the search qualification",
                                pp.person
                            ),
                        );
                    }
                    if female && o.gender != Gender::Female {
                        self.push(
                            Rule::FemaleSearch,
                            Some(cid),
                            format!("female person {} is searched by male staff {s}", pp.person),
                        );
                    }
                }
            }
        }
    }
}
