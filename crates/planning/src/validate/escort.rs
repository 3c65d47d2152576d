//! The escort of each case: rule 13 (at least the policy's number of
//! qualified escort officers: a team's members, or officers of the case's
//! own station), rule 14 (a woman is escorted with a female officer) and the
//! seat part of rule 15 (the team's vehicle has a seat for every person).

use std::collections::BTreeSet;

use casehub_model::{Case, Gender, Post, Qualification};

use super::{Checker, ids};
use crate::plan::{CasePlan, EscortMode, Rule};

impl<'a> Checker<'a> {
    /// Rules 13, 14 and the seat part of 15.
    pub(super) fn check_escort(&mut self, cp: &'a CasePlan, case: Option<&'a Case>) {
        let cid = &cp.case;
        let e = &cp.escort;
        let min = self.state.region.policy.min_escort_officers;
        let distinct: BTreeSet<&str> = e.officers.iter().map(|o| o.as_str()).collect();
        let mut qualified = 0u32;
        for id in &distinct {
            let Some(o) = self.officers.get(id).copied() else {
                continue;
            };
            if o.can(Qualification::Escort) {
                qualified += 1;
            } else {
                self.push(
                    Rule::EscortOfficers,
                    Some(cid),
                    format!("escort officer {id} lacks the escort qualification"),
                );
            }
        }
        if qualified < min {
            let detail = format!(
                "escort by {}: {qualified} distinct qualified officers, the policy needs {min}",
                ids(&e.officers)
            );
            self.push(Rule::EscortOfficers, Some(cid), detail);
        }
        match e.mode {
            EscortMode::Team => match &e.team {
                None => self.push(
                    Rule::EscortOfficers,
                    Some(cid),
                    "a team escort names no team".to_string(),
                ),
                Some(t) => {
                    if let Some(team) = self.teams.get(t.as_str()) {
                        let members: BTreeSet<&str> =
                            team.members.iter().map(|m| m.as_str()).collect();
                        if members != distinct {
                            let detail = format!(
                                "team escort by {} but team {t}'s members are {}",
                                ids(&e.officers),
                                ids(&team.members)
                            );
                            self.push(Rule::EscortOfficers, Some(cid), detail);
                        }
                    }
                }
            },
            EscortMode::Station => {
                if let Some(t) = &e.team {
                    self.push(
                        Rule::EscortOfficers,
                        Some(cid),
                        format!("a station escort names team {t}"),
                    );
                }
                if let Some(case) = case {
                    let home = Post::Station(case.origin.clone());
                    for id in &distinct {
                        if let Some(o) = self.officers.get(id).copied()
                            && o.post != home
                        {
                            let detail = format!(
                                "station escort officer {id} is not posted to the case's station {}",
                                case.origin
                            );
                            self.push(Rule::EscortOfficers, Some(cid), detail);
                        }
                    }
                }
            }
        }
        if let Some(case) = case
            && case.persons.iter().any(|p| p.gender == Gender::Female)
            && !distinct.iter().any(|id| {
                self.officers
                    .get(id)
                    .is_some_and(|o| o.gender == Gender::Female)
            })
        {
            self.push(
                Rule::FemaleEscort,
                Some(cid),
                format!(
                    "a woman is escorted by {} with no female officer",
                    ids(&e.officers)
                ),
            );
        }
        if let Some(t) = &e.team
            && let Some(team) = self.teams.get(t.as_str())
        {
            let persons = case.map_or(cp.persons.len(), |c| c.persons.len());
            let seats = team
                .seats
                .saturating_sub(u32::try_from(team.members.len()).unwrap_or(u32::MAX));
            if persons > seats as usize {
                self.push(
                    Rule::TeamUnavailable,
                    Some(cid),
                    format!("team {t}'s vehicle has {seats} passenger seats for {persons} persons"),
                );
            }
        }
    }
}
