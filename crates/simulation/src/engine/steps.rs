//! What happens to a placed case: the escort departs (once its officers
//! and team are free) and arrives at the site; each person then takes each
//! step in a room of its kind, first come, first served, with the named
//! searchers or questioning officers; station officers are released after
//! their last questioning and drive back.

use rand::Rng;

use casehub_model::Step;
use casehub_planning::EscortMode;

use super::events::Ev;
use super::sim::Sim;

impl<'a> Sim<'a> {
    pub(super) fn depart(&mut self, ci: usize) {
        let c = &self.cases[ci];
        // Wait for an officer held by another case.
        if let Some(&o) = c
            .escort_officers
            .iter()
            .find(|&&o| self.officer_held[o].is_some_and(|h| h != ci))
        {
            self.parked[o].push(Ev::Depart(ci));
            return;
        }
        let (st, site) = (c.station, c.site);
        let mut start = self.now;
        for &o in &c.escort_officers {
            start = start.max(self.officer_free[o]);
        }
        match (c.mode, c.teams.first().copied()) {
            (EscortMode::Team, Some(t)) => {
                // Every vehicle's team, all of one site, leaves together.
                let teams = c.teams.clone();
                for &x in &teams {
                    start = start.max(self.team_free[x]);
                }
                let home = self.team_site[t];
                let out = self.leg_back_min[st][home];
                let out_km = self.leg_back_km[st][home];
                let arrive = start + out + self.leg_min[st][site];
                let (back_min, back_km) = self.site_site[site][home];
                let back = arrive + back_min;
                for &x in &teams {
                    self.team_free[x] = back;
                    self.escort_hours += self.team_size[x] as f64 * (back - start) / 60.0;
                    self.escort_km += out_km + self.leg_km[st][site] + back_km;
                }
                self.cases[ci].depart = start;
                self.push(arrive, Ev::AtSite(ci));
            }
            _ => {
                let arrive = start + self.leg_min[st][site];
                // One car per vehicle of the escort.
                let cars = self.cases[ci]
                    .plan
                    .as_ref()
                    .map_or(1, |p| p.escort.vehicles.len().max(1))
                    as f64;
                self.escort_km += (self.leg_km[st][site] + self.leg_back_km[st][site]) * cars;
                let officers = self.cases[ci].escort_officers.clone();
                for &o in &officers {
                    self.officer_held[o] = Some(ci);
                    self.officer_free[o] = arrive;
                }
                self.cases[ci].depart = start;
                self.push(arrive, Ev::AtSite(ci));
            }
        }
    }

    pub(super) fn at_site(&mut self, ci: usize) {
        let n = self.persons[ci].len();
        for p in 0..n {
            self.push(
                self.now,
                Ev::Ready {
                    case: ci,
                    person: p,
                },
            );
        }
        if self.cases[ci].mode == EscortMode::Station {
            let officers = self.cases[ci].escort_officers.clone();
            for (k, &o) in officers.iter().enumerate() {
                if self.cases[ci].questioning_left[k] == 0 {
                    self.push(
                        self.now,
                        Ev::Release {
                            case: ci,
                            officer: o,
                        },
                    );
                }
            }
        }
    }

    pub(super) fn ready(&mut self, ci: usize, pi: usize) {
        let site = self.cases[ci].site;
        let category = self.cases[ci].case.category;
        let p = &self.persons[ci][pi];
        let step = p.seq[p.next];
        let staff: Vec<usize> = match step {
            Step::Search => p.searchers.clone(),
            Step::Questioning => p.questioners.clone(),
            _ => Vec::new(),
        };
        if let Some(&o) = staff
            .iter()
            .find(|&&o| self.officer_held[o].is_some_and(|h| h != ci))
        {
            self.parked[o].push(Ev::Ready {
                case: ci,
                person: pi,
            });
            return;
        }
        let kind = step.room_kind(category);
        let juvenile = p.juvenile;
        let Some(rooms) = self.rooms_of.get(&(site, kind)) else {
            // The site has no such room: the step is skipped.
            self.advance(ci, pi, self.now);
            return;
        };
        let questioning = step == Step::Questioning;
        let suitable = |r: usize| {
            (!questioning || self.room_recording[r]) && (!juvenile || self.room_juvenile[r])
        };
        let pick = |only_suitable: bool| {
            rooms
                .iter()
                .copied()
                .filter(|&r| !only_suitable || suitable(r))
                .min_by(|&a, &b| self.room_free[a].total_cmp(&self.room_free[b]))
        };
        let room = pick(true).or_else(|| pick(false)).expect("non-empty");
        let mut start = self.now.max(self.room_free[room]);
        for &o in &staff {
            start = start.max(self.officer_free[o]);
        }
        let dist = self
            .region
            .step_durations
            .for_step(step, category)
            .copied()
            .expect("room steps have durations");
        let dur = dist.quantile(self.rng.random::<f64>()).max(0.0);
        let end = start + dur;
        self.room_free[room] = end;
        for &o in &staff {
            self.officer_free[o] = end;
        }
        if questioning {
            self.persons[ci][pi].questioning = Some((start, end));
            let horizon = self.cfg.duration_min();
            self.busy[site] += (end.min(horizon) - start.min(horizon)).max(0.0);
            self.waits.push(start - self.cases[ci].at);
            if start > self.now {
                self.holding[site].push((self.now, start));
            }
            if end > self.cases[ci].deadline + 1e-9 {
                self.cases[ci].breach = true;
            }
            // Station escort officers who question are released after their last person.
            if self.cases[ci].mode == EscortMode::Station {
                let officers = self.cases[ci].escort_officers.clone();
                for (k, &o) in officers.iter().enumerate() {
                    if staff.contains(&o) {
                        let left = &mut self.cases[ci].questioning_left[k];
                        *left = left.saturating_sub(1);
                        if *left == 0 {
                            self.push(
                                end,
                                Ev::Release {
                                    case: ci,
                                    officer: o,
                                },
                            );
                        }
                    }
                }
            }
        }
        self.advance(ci, pi, end);
    }

    fn advance(&mut self, ci: usize, pi: usize, end: f64) {
        let p = &mut self.persons[ci][pi];
        p.next += 1;
        if p.next < p.seq.len() {
            self.push(
                end,
                Ev::Ready {
                    case: ci,
                    person: pi,
                },
            );
        } else if self.persons[ci].iter().all(|p| p.next >= p.seq.len()) {
            self.cases[ci].done = true;
        }
    }

    pub(super) fn release(&mut self, ci: usize, o: usize) {
        if self.officer_held[o] != Some(ci) {
            return;
        }
        let c = &self.cases[ci];
        let back = self.now + self.leg_back_min[c.station][c.site];
        self.officer_held[o] = None;
        self.officer_free[o] = back;
        self.escort_hours += (back - c.depart) / 60.0;
        if self.officer_station[o].is_some() {
            self.station_hours += (back - c.depart) / 60.0;
            self.away[o].push((c.depart, back));
        }
        for ev in std::mem::take(&mut self.parked[o]) {
            self.push(self.now, ev);
        }
    }
}
