//! Officers and escort teams across the plan and the state: rule 16 (an
//! officer works only on shift and does one task at a time) and rule 15 (no
//! escort team double-booked). An interval clashes only with another
//! owner's, and only when at least one of the two comes from the plan.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use casehub_model::{CaseId, Step};

use super::{Checker, Described, merge, overlaps};
use crate::plan::Rule;

/// Whose an officer's or a team's busy interval is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner<'a> {
    Case(&'a CaseId),
    /// A case plan by its position in `plan.cases` (teams: each escort separately).
    CasePlan(usize),
    /// An existing commitment by its position in the state's list.
    Commitment(usize),
}

struct Busy<'a> {
    owner: Owner<'a>,
    /// The plan case to blame, for plan intervals.
    case: Option<&'a CaseId>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    what: String,
}

impl Busy<'_> {
    fn describe(&self, c: &Checker<'_>) -> String {
        format!("{} {}", self.what, c.span(self.start, self.end))
    }
}

impl<'a> Checker<'a> {
    pub(super) fn check_officers(&mut self) {
        // Plan intervals per officer, per case.
        let mut plan_busy: HashMap<&str, BTreeMap<&'a CaseId, Vec<Described>>> = HashMap::new();
        for cp in &self.plan.cases {
            let cid = &cp.case;
            let e = &cp.escort;
            for o in &e.officers {
                plan_busy
                    .entry(o.as_str())
                    .or_default()
                    .entry(cid)
                    .or_default()
                    .push((e.depart, e.back, format!("escort of case {cid}")));
            }
            for pp in &cp.persons {
                for b in &pp.steps {
                    if b.step == Step::Questioning {
                        for o in &pp.questioning_officers {
                            let what = format!("questioning of person {} (case {cid})", pp.person);
                            plan_busy
                                .entry(o.as_str())
                                .or_default()
                                .entry(cid)
                                .or_default()
                                .push((b.start, b.end, what));
                        }
                    }
                    for s in &b.staff {
                        let what = format!("{} of person {} (case {cid})", b.step, pp.person);
                        plan_busy
                            .entry(s.as_str())
                            .or_default()
                            .entry(cid)
                            .or_default()
                            .push((b.start, b.end, what));
                    }
                }
            }
        }
        let region = &self.state.region;
        for o in &region.officers {
            let Some(by_case) = plan_busy.remove(o.id.as_str()) else {
                continue;
            };
            let window = self.shift_window(o);
            let mut blocks: Vec<Busy<'a>> = Vec::new();
            for (cid, items) in by_case {
                if let Some(w) = window {
                    for (s, e, what) in &items {
                        if s < e && !w.covers(self.local_min(*s), self.local_min(*e)) {
                            let detail = format!(
                                "officer {}: {what} {} is outside their shift {} ({w})",
                                o.id,
                                self.span(*s, *e),
                                o.shift
                            );
                            self.push(Rule::OfficerUnavailable, Some(cid), detail);
                        }
                    }
                }
                // Within one case an officer may escort and question on the
                // same trip, but never do two tasks (questionings, searches) at once.
                // (The same task named twice is QuestioningOfficers' business.)
                let mut tasks: Vec<&Described> = items
                    .iter()
                    .filter(|(_, _, what)| !what.starts_with("escort of case"))
                    .collect();
                tasks.sort();
                tasks.dedup();
                for (i, a) in tasks.iter().enumerate() {
                    for b in &tasks[i + 1..] {
                        if a.0 < b.1 && b.0 < a.1 {
                            let detail = format!(
                                "officer {} has two tasks at once: {} {} and {} {}",
                                o.id,
                                a.2,
                                self.span(a.0, a.1),
                                b.2,
                                self.span(b.0, b.1)
                            );
                            self.push(Rule::OfficerUnavailable, Some(cid), detail);
                        }
                    }
                }
                for (s, e, what) in merge(items) {
                    blocks.push(Busy {
                        owner: Owner::Case(cid),
                        case: Some(cid),
                        start: s,
                        end: e,
                        what,
                    });
                }
            }
            for (k, c) in self.state.officer_commitments.iter().enumerate() {
                if c.officer == o.id && c.start < c.end {
                    let note = if c.note.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", c.note)
                    };
                    blocks.push(Busy {
                        owner: Owner::Commitment(k),
                        case: None,
                        start: c.start,
                        end: c.end,
                        what: format!("existing commitment{note}"),
                    });
                }
            }
            // A member of a team that is already out is busy with it.
            let n = self.state.officer_commitments.len();
            for (k, c) in self.state.team_commitments.iter().enumerate() {
                let member = region
                    .escort_teams
                    .iter()
                    .any(|t| t.id == c.team && t.members.contains(&o.id));
                if member && c.start < c.end {
                    blocks.push(Busy {
                        owner: Owner::Commitment(n + k),
                        case: None,
                        start: c.start,
                        end: c.end,
                        what: format!("existing commitment of team {}", c.team),
                    });
                }
            }
            self.report_overlaps(
                Rule::OfficerUnavailable,
                &format!("officer {}", o.id),
                blocks,
            );
        }
    }

    /// Report every overlapping pair of different owners, at least one from the plan.
    fn report_overlaps(&mut self, rule: Rule, who: &str, mut blocks: Vec<Busy<'a>>) {
        blocks.sort_by(|a, b| a.start.cmp(&b.start).then(a.end.cmp(&b.end)));
        for i in 0..blocks.len() {
            for j in i + 1..blocks.len() {
                let (a, b) = (&blocks[i], &blocks[j]);
                if b.start >= a.end {
                    break;
                }
                if a.owner == b.owner
                    || (a.case.is_none() && b.case.is_none())
                    || !overlaps(a.start, a.end, b.start, b.end)
                {
                    continue;
                }
                let detail = format!("{who}: {} overlaps {}", a.describe(self), b.describe(self));
                self.push(rule, a.case.or(b.case), detail);
            }
        }
    }

    pub(super) fn check_teams(&mut self) {
        let region = &self.state.region;
        for team in &region.escort_teams {
            let mut blocks: Vec<Busy<'a>> = Vec::new();
            for (k, cp) in self.plan.cases.iter().enumerate() {
                let e = &cp.escort;
                // (A team named for two vehicles of one escort is the
                // escort check's.)
                if e.teams().contains(&&team.id) && e.depart < e.back {
                    blocks.push(Busy {
                        owner: Owner::CasePlan(k),
                        case: Some(&cp.case),
                        start: e.depart,
                        end: e.back,
                        what: format!("escort of case {}", cp.case),
                    });
                }
            }
            if blocks.is_empty() {
                continue;
            }
            for (k, c) in self.state.team_commitments.iter().enumerate() {
                if c.team == team.id && c.start < c.end {
                    let note = if c.note.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", c.note)
                    };
                    blocks.push(Busy {
                        owner: Owner::Commitment(k),
                        case: None,
                        start: c.start,
                        end: c.end,
                        what: format!("existing commitment{note}"),
                    });
                }
            }
            self.report_overlaps(Rule::TeamUnavailable, &format!("team {}", team.id), blocks);
        }
    }
}
