//! The escort of each case: rule 13 (at least the policy's number of
//! qualified escort officers: a team's members, or officers of the case's
//! own station), rule 14 (a woman is escorted with a female officer), the
//! seat part of rule 15 (the team's vehicle has a seat for every person),
//! and, when the policy says so, separate vehicles (co-suspects, and a
//! juvenile and an adult, never ride together). An escort of several
//! vehicles keeps rules 13 to 15 vehicle by vehicle.

use std::collections::{BTreeMap, BTreeSet};

use casehub_model::{Case, Gender, OfficerId, PersonId, Post, Qualification, TeamId};

use super::{Checker, ids};
use crate::plan::{CasePlan, EscortMode, Rule, Vehicle};

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
        if !e.vehicles.is_empty() {
            self.check_vehicles(cp, case);
        }
        self.check_riding_apart(cp, case);
        let one_vehicle = e.vehicles.is_empty();
        match e.mode {
            EscortMode::Team if !one_vehicle => {}
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
        if one_vehicle
            && let Some(case) = case
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
        if one_vehicle
            && let Some(t) = &e.team
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

    /// An escort of several vehicles: every person rides in exactly one;
    /// each vehicle has the policy's number of qualified officers (a team's
    /// members, for a team escort), a female officer when it carries a
    /// woman, and a seat for each of its persons; the escort's `officers`
    /// are the vehicles' and its `team` the first vehicle's.
    fn check_vehicles(&mut self, cp: &'a CasePlan, case: Option<&'a Case>) {
        let cid = &cp.case;
        let e = &cp.escort;
        let min = self.state.region.policy.min_escort_officers;
        let mut rides: BTreeMap<&PersonId, usize> = BTreeMap::new();
        for v in &e.vehicles {
            for p in &v.persons {
                *rides.entry(p).or_default() += 1;
            }
        }
        if let Some(case) = case {
            for p in &case.persons {
                match rides.get(&p.id).copied().unwrap_or(0) {
                    1 => {}
                    0 => self.push(
                        Rule::Reference,
                        Some(cid),
                        format!("person {} rides in none of the escort's vehicles", p.id),
                    ),
                    k => self.push(
                        Rule::Reference,
                        Some(cid),
                        format!("person {} rides in {k} of the escort's vehicles", p.id),
                    ),
                }
            }
            for p in rides.keys() {
                if !case.persons.iter().any(|q| &q.id == *p) {
                    self.push(
                        Rule::Reference,
                        Some(cid),
                        format!("a vehicle carries {p}, who is not a person of the case"),
                    );
                }
            }
        }
        let all: BTreeSet<&OfficerId> = e.vehicles.iter().flat_map(|v| &v.officers).collect();
        let listed: BTreeSet<&OfficerId> = e.officers.iter().collect();
        if all != listed {
            let detail = format!(
                "the escort lists officers {} but its vehicles carry {}",
                ids(&e.officers),
                ids(all.iter())
            );
            self.push(Rule::EscortOfficers, Some(cid), detail);
        }
        let first: Option<&TeamId> = e.vehicles.first().and_then(|v| v.team.as_ref());
        if e.team.as_ref() != first {
            let detail = format!(
                "the escort names team {} but its first vehicle {}",
                e.team
                    .as_ref()
                    .map_or("none".to_string(), |t| t.to_string()),
                first.map_or("none".to_string(), |t| t.to_string())
            );
            self.push(Rule::EscortOfficers, Some(cid), detail);
        }
        let mut seen: BTreeSet<&TeamId> = BTreeSet::new();
        for t in e.vehicles.iter().filter_map(|v| v.team.as_ref()) {
            if !seen.insert(t) {
                let detail = format!("team {t} drives two vehicles of one escort at once");
                self.push(Rule::TeamUnavailable, Some(cid), detail);
            }
        }
        for (k, v) in e.vehicles.iter().enumerate() {
            self.check_vehicle(cp, case, k, v, min);
        }
    }

    fn check_vehicle(
        &mut self,
        cp: &'a CasePlan,
        case: Option<&'a Case>,
        k: usize,
        v: &'a Vehicle,
        min: u32,
    ) {
        let cid = &cp.case;
        let name = format!("vehicle {} of the escort", k + 1);
        let qualified = v
            .officers
            .iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|o| {
                self.officers
                    .get(o.as_str())
                    .is_some_and(|o| o.can(Qualification::Escort))
            })
            .count() as u32;
        if qualified < min {
            let detail = format!(
                "{name} has {} with {qualified} qualified escort officers, the policy needs {min}",
                ids(&v.officers)
            );
            self.push(Rule::EscortOfficers, Some(cid), detail);
        }
        match (cp.escort.mode, &v.team) {
            (EscortMode::Team, None) => {
                self.push(
                    Rule::EscortOfficers,
                    Some(cid),
                    format!("{name} names no team"),
                );
            }
            (EscortMode::Station, Some(t)) => {
                let detail = format!("{name} of a station escort names team {t}");
                self.push(Rule::EscortOfficers, Some(cid), detail);
            }
            (EscortMode::Team, Some(t)) => {
                if let Some(team) = self.teams.get(t.as_str()).copied() {
                    let members: BTreeSet<&str> = team.members.iter().map(|m| m.as_str()).collect();
                    let crew: BTreeSet<&str> = v.officers.iter().map(|o| o.as_str()).collect();
                    if members != crew {
                        let detail = format!(
                            "{name} is driven by {} but team {t}'s members are {}",
                            ids(&v.officers),
                            ids(&team.members)
                        );
                        self.push(Rule::EscortOfficers, Some(cid), detail);
                    }
                    let seats = team
                        .seats
                        .saturating_sub(u32::try_from(team.members.len()).unwrap_or(u32::MAX));
                    if v.persons.len() > seats as usize {
                        let detail = format!(
                            "team {t}'s vehicle has {seats} passenger seats for {} persons",
                            v.persons.len()
                        );
                        self.push(Rule::TeamUnavailable, Some(cid), detail);
                    }
                }
            }
            (EscortMode::Station, None) => {}
        }
        let carries_woman = v.persons.iter().any(|p| {
            self.person_of(case, p)
                .is_some_and(|p| p.gender == Gender::Female)
        });
        let has_woman = v.officers.iter().any(|o| {
            self.officers
                .get(o.as_str())
                .is_some_and(|o| o.gender == Gender::Female)
        });
        if carries_woman && !has_woman {
            let detail = format!(
                "{name} carries a woman with no female officer among {}",
                ids(&v.officers)
            );
            self.push(Rule::FemaleEscort, Some(cid), detail);
        }
    }

    /// The policy's separate vehicles: no two co-suspects of one group,
    /// and no juvenile with an adult, in one vehicle (everyone rides in the
    /// one vehicle of an escort that lists none).
    fn check_riding_apart(&mut self, cp: &'a CasePlan, case: Option<&'a Case>) {
        if !self.state.region.policy.separate_vehicles {
            return;
        }
        let Some(case) = case else { return };
        let everyone: Vec<&PersonId> = case.persons.iter().map(|p| &p.id).collect();
        let loads: Vec<Vec<&PersonId>> = if cp.escort.vehicles.is_empty() {
            vec![everyone]
        } else {
            cp.escort
                .vehicles
                .iter()
                .map(|v| v.persons.iter().collect())
                .collect()
        };
        for load in loads {
            let riders: Vec<_> = load
                .iter()
                .filter_map(|id| case.persons.iter().find(|p| &&p.id == id))
                .collect();
            for (i, a) in riders.iter().enumerate() {
                for b in &riders[i + 1..] {
                    let why = if a.co_suspect_group.is_some()
                        && a.co_suspect_group == b.co_suspect_group
                    {
                        "co-suspects"
                    } else if a.juvenile != b.juvenile {
                        "a juvenile and an adult"
                    } else {
                        continue;
                    };
                    let detail = format!("{} and {} ride in one vehicle: {why}", a.id, b.id);
                    self.push(Rule::SeparateVehicles, Some(&cp.case), detail);
                }
            }
        }
    }
}
