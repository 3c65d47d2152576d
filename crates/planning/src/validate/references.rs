//! Rule 1 ([`Rule::Reference`]): every room, officer, team, site, case and
//! person the plan names exists, every pending case is planned or blocked
//! exactly once, and a pinned case keeps its accepted plan.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::Checker;
use crate::plan::Rule;
use casehub_model::TeamId;

impl<'a> Checker<'a> {
    pub(super) fn check_references(&mut self) {
        let state = self.state;
        let plan = self.plan;
        let region = &state.region;

        let mut pending_count: BTreeMap<&str, usize> = BTreeMap::new();
        for pc in &state.pending {
            *pending_count.entry(pc.case.id.as_str()).or_default() += 1;
        }
        for (id, n) in &pending_count {
            if *n > 1
                && let Some(pc) = self.pending.get(id).copied()
            {
                self.push(
                    Rule::Reference,
                    Some(&pc.case.id),
                    format!("case {id} is pending {n} times in the state"),
                );
            }
        }

        let mut planned: HashMap<&str, usize> = HashMap::new();
        let mut blocked: HashMap<&str, usize> = HashMap::new();
        for cp in &plan.cases {
            *planned.entry(cp.case.as_str()).or_default() += 1;
            if !self.pending.contains_key(cp.case.as_str()) {
                self.push(
                    Rule::Reference,
                    Some(&cp.case),
                    format!("the plan has case {}, which is not pending", cp.case),
                );
            }
        }
        for b in &plan.blocked {
            *blocked.entry(b.case.as_str()).or_default() += 1;
            if !self.pending.contains_key(b.case.as_str()) {
                self.push(
                    Rule::Reference,
                    Some(&b.case),
                    format!("the plan blocks case {}, which is not pending", b.case),
                );
            }
        }

        let mut seen = HashSet::new();
        for pc in &state.pending {
            let id = &pc.case.id;
            if !seen.insert(id.as_str()) {
                continue;
            }
            let p = planned.get(id.as_str()).copied().unwrap_or(0);
            let b = blocked.get(id.as_str()).copied().unwrap_or(0);
            if p + b == 0 {
                self.push(
                    Rule::Reference,
                    Some(id),
                    format!("pending case {id} is neither planned nor blocked"),
                );
            } else if p + b > 1 {
                self.push(Rule::Reference, Some(id), format!("case {id} appears {} times ({p} planned, {b} blocked); it must appear exactly once", p + b));
            }
            if let Some(pin) = &pc.pinned {
                if p == 0 {
                    self.push(
                        Rule::Reference,
                        Some(id),
                        format!("pinned case {id} is not among the planned cases"),
                    );
                }
                for cp in plan.cases.iter().filter(|cp| &cp.case == id) {
                    let mut differs = Vec::new();
                    if cp.site != pin.site {
                        differs.push(format!("site {} instead of {}", cp.site, pin.site));
                    }
                    if cp.escort != pin.escort {
                        differs.push("escort".to_string());
                    }
                    if cp.persons != pin.persons {
                        differs.push("persons' steps or officers".to_string());
                    }
                    if !differs.is_empty() {
                        self.push(
                            Rule::Reference,
                            Some(id),
                            format!(
                                "pinned case {id} differs from its accepted plan: {}",
                                differs.join(", ")
                            ),
                        );
                    }
                }
            }
        }

        for cp in &plan.cases {
            let cid = &cp.case;
            if region.site(cp.site.as_str()).is_none() {
                self.push(
                    Rule::Reference,
                    Some(cid),
                    format!("site {} does not exist", cp.site),
                );
            }
            let mut teams: Vec<&TeamId> = cp.escort.teams();
            teams.extend(cp.escort.team.iter());
            teams.sort();
            teams.dedup();
            for t in teams {
                if !self.teams.contains_key(t.as_str()) {
                    self.push(
                        Rule::Reference,
                        Some(cid),
                        format!("escort team {t} does not exist"),
                    );
                }
            }
            for o in &cp.escort.officers {
                if !self.officers.contains_key(o.as_str()) {
                    self.push(
                        Rule::Reference,
                        Some(cid),
                        format!("escort officer {o} does not exist"),
                    );
                }
            }
            if let Some(case) = self.case_of(cid) {
                for pp in &cp.persons {
                    if !case.persons.iter().any(|p| p.id == pp.person) {
                        self.push(
                            Rule::Reference,
                            Some(cid),
                            format!("person {} is not a person of case {cid}", pp.person),
                        );
                    }
                }
                for person in &case.persons {
                    let n = cp
                        .persons
                        .iter()
                        .filter(|pp| pp.person == person.id)
                        .count();
                    if n != 1 {
                        self.push(
                            Rule::Reference,
                            Some(cid),
                            format!(
                                "person {} of case {cid} has {n} person plans; needs exactly one",
                                person.id
                            ),
                        );
                    }
                }
            }
            for pp in &cp.persons {
                for b in &pp.steps {
                    match self.rooms.get(b.room.as_str()) {
                        None => {
                            self.push(
                                Rule::Reference,
                                Some(cid),
                                format!(
                                    "room {} ({} of person {}) does not exist",
                                    b.room, b.step, pp.person
                                ),
                            );
                        }
                        Some((site, _)) if site.id != cp.site => {
                            let detail = format!(
                                "room {} ({} of person {}) belongs to site {}, not the case's site {}",
                                b.room, b.step, pp.person, site.id, cp.site
                            );
                            self.push(Rule::Reference, Some(cid), detail);
                        }
                        Some(_) => {}
                    }
                    for s in &b.staff {
                        if !self.officers.contains_key(s.as_str()) {
                            self.push(
                                Rule::Reference,
                                Some(cid),
                                format!(
                                    "staff {s} ({} of person {}) does not exist",
                                    b.step, pp.person
                                ),
                            );
                        }
                    }
                }
                for o in &pp.questioning_officers {
                    if !self.officers.contains_key(o.as_str()) {
                        self.push(
                            Rule::Reference,
                            Some(cid),
                            format!(
                                "questioning officer {o} (person {}) does not exist",
                                pp.person
                            ),
                        );
                    }
                }
            }
        }
    }
}
