//! Dispatch: an arrival schedules a call of the policy (casehub-planning's
//! `plan`, on the state of the cases already dispatched); the call places
//! what it can, retries the rest later, and turns each plan into the case's
//! run: its site, escort, officers, and each person's steps.

use std::collections::HashMap;

use rand::Rng;

use casehub_model::{RoomKind, Step};
use casehub_planning::{Booked, CasePlan, Commitment, PendingCase};

use super::events::Ev;
use super::sim::{PersonRun, Sim};
use crate::{Policy, SimError};

impl<'a> Sim<'a> {
    /// Make sure a dispatch happens by `t`.
    fn schedule_dispatch(&mut self, t: f64) {
        if self.next_dispatch <= t {
            return;
        }
        self.next_dispatch = t;
        self.push(t, Ev::Dispatch);
    }

    pub(super) fn arrival(&mut self, ci: usize) {
        self.pending.push(ci);
        let interval = match self.cfg.policy {
            Policy::Greedy { interval_min } | Policy::Milp { interval_min, .. } => interval_min,
        };
        let t = if interval == 0 {
            self.now
        } else {
            let i = f64::from(interval);
            ((self.now / i).floor() + 1.0) * i
        };
        self.schedule_dispatch(t);
    }

    pub(super) fn dispatch(&mut self) -> Result<(), SimError> {
        self.next_dispatch = f64::INFINITY;
        // Cases whose limit has passed unplaced are lost to the policy.
        let now = self.now;
        let (lost, keep): (Vec<usize>, Vec<usize>) = self
            .pending
            .iter()
            .partition(|&&ci| self.cases[ci].deadline <= now);
        for ci in lost {
            self.cases[ci].breach = true;
            self.cases[ci].done = true;
            self.cases[ci].lost = true;
        }
        self.pending = keep;
        if self.pending.is_empty() {
            return Ok(());
        }
        let now_dt = self.at(now);
        self.state.now = now_dt;
        self.state.room_bookings.retain(|b| b.end > now_dt);
        self.commitments.retain(|(_, c)| c.end > now_dt);
        self.state.team_commitments.retain(|c| c.end > now_dt);
        // The policy sees the sites with their staff and teams, and the
        // stations of the pending cases with their officers: no other
        // station's officers can escort or question these cases.
        let mut stations: Vec<usize> = self
            .pending
            .iter()
            .map(|&ci| self.cases[ci].station)
            .collect();
        stations.sort_unstable();
        stations.dedup();
        let view = &mut self.state.region;
        view.stations = stations
            .iter()
            .map(|&i| self.region.stations[i].clone())
            .collect();
        view.officers.truncate(self.n_site_officers);
        for &i in &stations {
            view.officers.extend(
                self.station_officers[i]
                    .iter()
                    .map(|&o| self.region.officers[o].clone()),
            );
        }
        // Those of the officers in the view: the sites' and these stations'.
        let officer_station = &self.officer_station;
        self.state.officer_commitments = self
            .commitments
            .iter()
            .filter(|(oi, _)| {
                oi.is_some_and(|oi| {
                    officer_station[oi].is_none_or(|st| stations.binary_search(&st).is_ok())
                })
            })
            .map(|(_, c)| c.clone())
            .collect();
        self.state.pending = self
            .pending
            .iter()
            .map(|&ci| PendingCase {
                case: self.cases[ci].case.clone(),
                pinned: None,
                restriction: None,
            })
            .collect();
        self.policy_calls += 1;
        let plan = casehub_planning::plan(&self.state, &self.settings)
            .map_err(|e| SimError::Policy(e.to_string()))?;
        self.state.pending.clear();
        for b in &plan.blocked {
            *self.blocked.entry(b.rule.to_string()).or_default() += 1;
            // No way to serve it within the legal limit now: later is only worse.
            if b.rule == casehub_planning::Rule::LegalLimit
                && let Some(&ci) = self.case_index.get(b.case.as_str())
            {
                self.cases[ci].breach = true;
                self.cases[ci].done = true;
                self.cases[ci].lost = true;
            }
        }
        for cp in plan.cases {
            let Some(&ci) = self.case_index.get(cp.case.as_str()) else {
                continue;
            };
            self.commit(ci, &cp);
            self.accept(ci, cp);
        }
        let placed: Vec<bool> = self
            .pending
            .iter()
            .map(|&ci| self.cases[ci].plan.is_some() || self.cases[ci].lost)
            .collect();
        let mut k = 0;
        self.pending.retain(|_| {
            k += 1;
            !placed[k - 1]
        });
        if !self.pending.is_empty() {
            let t = now + f64::from(self.cfg.retry_min);
            self.schedule_dispatch(t);
        }
        Ok(())
    }

    /// Tell the policy's state what this plan books, so later plans work around it.
    fn commit(&mut self, ci: usize, p: &CasePlan) {
        let booked = Booked::of(&self.cases[ci].case, p);
        self.state.room_bookings.extend(booked.rooms);
        for c in booked.officers {
            push_commitment(&mut self.commitments, &self.officer_index, c);
        }
        self.state.team_commitments.extend(booked.teams);
    }

    fn accept(&mut self, ci: usize, cp: CasePlan) {
        let site = self
            .region
            .sites
            .iter()
            .position(|s| s.id == cp.site)
            .unwrap_or(0);
        let depart = self.minutes(cp.escort.depart).max(self.now);
        let idx = |s: &str| self.officer_index.get(s).copied();
        let escort_officers: Vec<usize> = cp
            .escort
            .officers
            .iter()
            .filter_map(|o| idx(o.as_str()))
            .collect();
        let teams: Vec<usize> = cp
            .escort
            .teams()
            .into_iter()
            .filter_map(|t| self.team_index.get(t.as_str()).copied())
            .collect();
        let mut persons = Vec::new();
        let has = |kind: RoomKind| self.rooms_of.contains_key(&(site, kind));
        let share = self.region.step_durations.medical_share;
        for person in &self.cases[ci].case.persons {
            let pp = cp.persons.iter().find(|p| p.person == person.id);
            let mut seq: Vec<Step> = [Step::Intake, Step::Search, Step::InformationCollection]
                .into_iter()
                .filter(|&s| has(s.room_kind(self.cases[ci].case.category)))
                .collect();
            if has(RoomKind::Medical) && self.rng.random::<f64>() < share {
                seq.push(Step::Medical);
            }
            seq.push(Step::Questioning);
            let questioners = pp.map_or_else(Vec::new, |p| {
                p.questioning_officers
                    .iter()
                    .filter_map(|o| idx(o.as_str()))
                    .collect()
            });
            let searchers = pp.map_or_else(Vec::new, |p| {
                p.steps
                    .iter()
                    .filter(|s| s.step == Step::Search)
                    .flat_map(|s| s.staff.iter())
                    .filter_map(|o| idx(o.as_str()))
                    .collect()
            });
            persons.push(PersonRun {
                questioning: None,
                seq,
                next: 0,
                juvenile: person.juvenile,
                questioners,
                searchers,
            });
        }
        let questioning_left = escort_officers
            .iter()
            .map(|o| persons.iter().filter(|p| p.questioners.contains(o)).count())
            .collect();
        let c = &mut self.cases[ci];
        c.site = site;
        c.mode = cp.escort.mode;
        c.teams = teams;
        c.escort_officers = escort_officers;
        c.depart = depart;
        c.questioning_left = questioning_left;
        c.plan = Some(cp);
        self.flows[c.station][site] += 1;
        self.site_cases[site] += 1;
        self.persons[ci] = persons;
        self.push(depart, Ev::Depart(ci));
    }
}

/// Keep an officer commitment with the officer's index.
fn push_commitment(
    list: &mut Vec<(Option<usize>, Commitment)>,
    officer_index: &HashMap<String, usize>,
    c: Commitment,
) {
    list.push((officer_index.get(c.officer.as_str()).copied(), c));
}
