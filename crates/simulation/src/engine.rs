//! One replication: the event loop.
//!
//! Time is in minutes after the start (`f64`). Resources are booked in the
//! order their requests come due (first come, first served): a request at
//! time `t` for a room of a kind and named officers starts at the latest of
//! `t` and the moments each is free, and holds them until its drawn duration
//! has passed. Station officers who escort are held by their case from the
//! departure until they have questioned its persons, then drive back; a
//! request that needs an officer held by another case waits for the release.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use casehub_model::{Case, Post, Region, RoomKind, Step};
use casehub_planning::{Booked, CasePlan, Commitment, EscortMode, PendingCase, State};
use casehub_travel::TravelTable;

use crate::arrivals::{self, Arrival};
use crate::stats::quantile;
use crate::{Policy, SimConfig, SimError};

/// The raw figures of one replication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replication {
    pub index: u64,
    pub cases: u64,
    pub persons: u64,
    /// Cases the policy placed (the others passed their legal limit unplaced).
    pub placed: u64,
    pub unplaced: u64,
    pub breaches: u64,
    pub escort_officer_hours: f64,
    /// The part of it spent by station officers, away from their stations.
    pub station_officer_hours_away: f64,
    pub escort_km: f64,
    pub wait_mean_min: f64,
    pub wait_p95_min: f64,
    /// Per station (the region's order): minutes below the minimum on duty.
    pub below_min_minutes: Vec<f64>,
    /// Per site (the layout's order).
    pub sites: Vec<SiteReplication>,
    /// `flows[station][site]`: cases sent.
    pub flows: Vec<Vec<u64>>,
    pub events: u64,
    pub policy_calls: u64,
    /// Attempts the policy could not place, by the rule that blocked them
    /// (a case is tried again every `retry_min` until its limit passes).
    pub blocked_attempts: BTreeMap<String, u64>,
    /// Simulated minutes until the last person left.
    pub end_min: f64,
    /// Every case's timeline, when `keep_cases` is set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub case_log: Vec<CaseRecord>,
}

/// One case's timeline, minutes after the start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseRecord {
    pub case: String,
    pub station: String,
    pub category: String,
    pub detained_min: f64,
    /// The site it went to; `None` when the policy never placed it.
    pub site: Option<String>,
    pub escort: Option<String>,
    pub depart_min: Option<f64>,
    /// Per person: questioning start and end.
    pub questioning: Vec<(f64, f64)>,
    pub breach: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteReplication {
    pub site: String,
    pub cases: u64,
    pub room_utilisation: f64,
    pub peak_holding: u32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Ev {
    Arrival(usize),
    Dispatch,
    Depart(usize),
    AtSite(usize),
    Ready { case: usize, person: usize },
    Release { case: usize, officer: usize },
}

impl Ev {
    /// Order of events at the same instant: releases first, dispatch last.
    fn class(&self) -> u8 {
        match self {
            Ev::Release { .. } => 0,
            Ev::Arrival(_) => 1,
            Ev::Depart(_) | Ev::AtSite(_) | Ev::Ready { .. } => 2,
            Ev::Dispatch => 3,
        }
    }
}

struct Entry {
    t: f64,
    class: u8,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap, we want the earliest first.
        o.t.total_cmp(&self.t)
            .then(o.class.cmp(&self.class))
            .then(o.seq.cmp(&self.seq))
    }
}

struct CaseRun {
    case: Case,
    at: f64,
    deadline: f64,
    station: usize,
    plan: Option<CasePlan>,
    site: usize,
    mode: EscortMode,
    team: Option<usize>,
    escort_officers: Vec<usize>,
    depart: f64,
    /// Per escort officer: persons they still have to question.
    questioning_left: Vec<usize>,
    breach: bool,
    done: bool,
    /// Passed its legal limit without being placed.
    lost: bool,
}

struct PersonRun {
    questioning: Option<(f64, f64)>,
    seq: Vec<Step>,
    next: usize,
    juvenile: bool,
    questioners: Vec<usize>,
    searchers: Vec<usize>,
}

/// Run replication `rep` of `cfg` on an applied layout.
pub fn run(
    region: &Region,
    travel: &TravelTable,
    cfg: &SimConfig,
    rep: u64,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Replication, SimError> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    rng.set_stream(rep);
    let duration = cfg.duration_min();
    let arrivals = arrivals::draw(region, cfg.start, duration, &mut rng);
    run_with_arrivals(region, travel, cfg, rng, arrivals, rep, progress)
}

/// Run one replication on given arrivals (in time order), drawing durations
/// from `rng`.
pub fn run_with_arrivals(
    region: &Region,
    travel: &TravelTable,
    cfg: &SimConfig,
    rng: ChaCha8Rng,
    arrivals: Vec<Arrival>,
    rep: u64,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Replication, SimError> {
    cfg.validate()?;
    for (i, a) in arrivals.iter().enumerate() {
        if region.station(a.case.origin.as_str()).is_none() {
            return Err(SimError::invalid(
                format!("arrivals[{i}].origin"),
                a.case.origin.as_str(),
                "no such station in this region",
            ));
        }
        if !(a.at_min.is_finite() && a.at_min >= 0.0) {
            return Err(SimError::invalid(
                format!("arrivals[{i}].at_min"),
                a.at_min.to_string(),
                "must be a finite number of minutes >= 0",
            ));
        }
    }
    let mut sim = Sim::new(region, travel, cfg, rng, arrivals)?;
    sim.run(progress)?;
    Ok(sim.finish(rep))
}

struct Sim<'a> {
    region: &'a Region,
    cfg: &'a SimConfig,
    settings: casehub_planning::Settings,
    rng: ChaCha8Rng,
    state: State,
    now: f64,
    heap: BinaryHeap<Entry>,
    seq: u64,
    events: u64,
    policy_calls: u64,
    blocked: BTreeMap<String, u64>,
    /// Officer commitments of every dispatched case, with the officer's
    /// index (the policy sees those of its officers).
    commitments: Vec<(Option<usize>, Commitment)>,
    /// How many of the policy's officers are the sites' own (they come
    /// first in its view of the region; the stations' officers follow).
    n_site_officers: usize,
    station_officers: Vec<Vec<usize>>,
    next_dispatch: f64,
    cases: Vec<CaseRun>,
    persons: Vec<Vec<PersonRun>>,
    pending: Vec<usize>,
    case_index: HashMap<String, usize>,
    officer_index: HashMap<String, usize>,
    team_index: HashMap<String, usize>,
    officer_free: Vec<f64>,
    officer_held: Vec<Option<usize>>,
    parked: Vec<Vec<Ev>>,
    officer_station: Vec<Option<usize>>,
    team_free: Vec<f64>,
    team_site: Vec<usize>,
    team_size: Vec<usize>,
    /// Rooms per (site, kind): global room indices.
    rooms_of: HashMap<(usize, RoomKind), Vec<usize>>,
    room_free: Vec<f64>,
    room_juvenile: Vec<bool>,
    room_recording: Vec<bool>,
    /// Questioning-room busy minutes per site, within the arrivals period.
    busy: Vec<f64>,
    questioning_rooms: Vec<usize>,
    holding: Vec<Vec<(f64, f64)>>,
    /// Minutes: `leg_station_site[station][site]` and back, and km.
    leg_min: Vec<Vec<f64>>,
    leg_back_min: Vec<Vec<f64>>,
    leg_km: Vec<Vec<f64>>,
    leg_back_km: Vec<Vec<f64>>,
    /// Team legs: `site_site[a][b]` minutes and km.
    site_site: Vec<Vec<(f64, f64)>>,
    /// Away intervals per station officer.
    away: Vec<Vec<(f64, f64)>>,
    waits: Vec<f64>,
    escort_hours: f64,
    station_hours: f64,
    escort_km: f64,
    flows: Vec<Vec<u64>>,
    site_cases: Vec<u64>,
    day_reported: u64,
    last_t: f64,
}

fn leg(travel: &TravelTable, a: &str, b: &str) -> Result<(f64, f64), SimError> {
    travel
        .leg(a, b)
        .map(|l| (l.minutes, l.km))
        .ok_or_else(|| SimError::invalid("travel", format!("{a} -> {b}"), "no travel leg"))
}

impl<'a> Sim<'a> {
    fn new(
        region: &'a Region,
        travel: &'a TravelTable,
        cfg: &'a SimConfig,
        rng: ChaCha8Rng,
        arrivals: Vec<Arrival>,
    ) -> Result<Self, SimError> {
        let n_sites = region.sites.len();
        let n_st = region.stations.len();
        let station_index: HashMap<&str, usize> = region
            .stations
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.as_str(), i))
            .collect();
        let mut leg_min = vec![vec![0.0; n_sites]; n_st];
        let mut leg_back_min = leg_min.clone();
        let mut leg_km = leg_min.clone();
        let mut leg_back_km = leg_min.clone();
        for (i, st) in region.stations.iter().enumerate() {
            for (k, s) in region.sites.iter().enumerate() {
                (leg_min[i][k], leg_km[i][k]) = leg(travel, st.id.as_str(), s.id.as_str())?;
                (leg_back_min[i][k], leg_back_km[i][k]) = travel
                    .leg(s.id.as_str(), st.id.as_str())
                    .map_or((leg_min[i][k], leg_km[i][k]), |l| (l.minutes, l.km));
            }
        }
        let site_site = region
            .sites
            .iter()
            .map(|a| {
                region
                    .sites
                    .iter()
                    .map(|b| {
                        if a.id == b.id {
                            (0.0, 0.0)
                        } else {
                            travel
                                .leg(a.id.as_str(), b.id.as_str())
                                .map_or((0.0, 0.0), |l| (l.minutes, l.km))
                        }
                    })
                    .collect()
            })
            .collect();
        let site_index: HashMap<&str, usize> = region
            .sites
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.as_str(), i))
            .collect();
        let mut rooms_of: HashMap<(usize, RoomKind), Vec<usize>> = HashMap::new();
        let mut room_juvenile = Vec::new();
        let mut room_recording = Vec::new();
        let mut questioning_rooms = vec![0; n_sites];
        for (k, s) in region.sites.iter().enumerate() {
            for r in &s.rooms {
                rooms_of
                    .entry((k, r.kind))
                    .or_default()
                    .push(room_juvenile.len());
                room_juvenile.push(r.juvenile_suitable);
                room_recording.push(r.recording);
                if matches!(r.kind, RoomKind::Interrogation | RoomKind::Inquiry) {
                    questioning_rooms[k] += 1;
                }
            }
        }
        let officer_station = region
            .officers
            .iter()
            .map(|o| match &o.post {
                Post::Station(s) => station_index.get(s.as_str()).copied(),
                Post::Site(_) => None,
            })
            .collect();
        let n_off = region.officers.len();
        let mut cases = Vec::with_capacity(arrivals.len());
        let mut persons = Vec::with_capacity(arrivals.len());
        let mut case_index = HashMap::new();
        let mut heap = BinaryHeap::new();
        let mut seq = 0;
        for (ci, a) in arrivals.into_iter().enumerate() {
            let limit = region.policy.legal_limits.limit_min(a.case.category);
            case_index.insert(a.case.id.to_string(), ci);
            persons.push(Vec::new());
            cases.push(CaseRun {
                station: station_index[a.case.origin.as_str()],
                at: a.at_min,
                deadline: a.at_min + f64::from(limit),
                case: a.case,
                plan: None,
                site: 0,
                mode: EscortMode::Team,
                team: None,
                escort_officers: Vec::new(),
                depart: 0.0,
                questioning_left: Vec::new(),
                breach: false,
                done: false,
                lost: false,
            });
            heap.push(Entry {
                t: a.at_min,
                class: Ev::Arrival(ci).class(),
                seq,
                ev: Ev::Arrival(ci),
            });
            seq += 1;
        }
        // The policy's view: the sites' officers first, then (at each
        // dispatch) the officers of the pending cases' stations.
        let mut view = region.clone();
        view.officers.retain(|o| matches!(o.post, Post::Site(_)));
        view.stations.clear();
        let n_site_officers = view.officers.len();
        let state = State {
            region: view,
            travel: travel.clone(),
            now: cfg.start,
            room_bookings: Vec::new(),
            officer_commitments: Vec::new(),
            team_commitments: Vec::new(),
            pending: Vec::new(),
        };
        let n_rooms = room_juvenile.len();
        Ok(Sim {
            region,
            cfg,
            settings: cfg.engine_settings(),
            rng,
            state,
            now: 0.0,
            heap,
            seq,
            events: 0,
            policy_calls: 0,
            blocked: BTreeMap::new(),
            commitments: Vec::new(),
            n_site_officers,
            station_officers: region
                .stations
                .iter()
                .map(|st| {
                    region
                        .officers
                        .iter()
                        .enumerate()
                        .filter(|(_, o)| o.post == Post::Station(st.id.clone()))
                        .map(|(i, _)| i)
                        .collect()
                })
                .collect(),
            next_dispatch: f64::INFINITY,
            persons,
            pending: Vec::new(),
            case_index,
            officer_index: region
                .officers
                .iter()
                .enumerate()
                .map(|(i, o)| (o.id.to_string(), i))
                .collect(),
            team_index: region
                .escort_teams
                .iter()
                .enumerate()
                .map(|(i, t)| (t.id.to_string(), i))
                .collect(),
            officer_free: vec![0.0; n_off],
            officer_held: vec![None; n_off],
            parked: vec![Vec::new(); n_off],
            officer_station,
            team_free: vec![0.0; region.escort_teams.len()],
            team_site: region
                .escort_teams
                .iter()
                .map(|t| site_index[t.site.as_str()])
                .collect(),
            team_size: region
                .escort_teams
                .iter()
                .map(|t| t.members.len())
                .collect(),
            rooms_of,
            room_free: vec![0.0; n_rooms],
            room_juvenile,
            room_recording,
            busy: vec![0.0; n_sites],
            questioning_rooms,
            holding: vec![Vec::new(); n_sites],
            leg_min,
            leg_back_min,
            leg_km,
            leg_back_km,
            site_site,
            away: vec![Vec::new(); n_off],
            waits: Vec::new(),
            escort_hours: 0.0,
            station_hours: 0.0,
            escort_km: 0.0,
            flows: vec![vec![0; n_sites]; n_st],
            site_cases: vec![0; n_sites],
            day_reported: 0,
            cases,
            last_t: 0.0,
        })
    }

    fn at(&self, t: f64) -> DateTime<Utc> {
        self.cfg.start + Duration::milliseconds((t * 60_000.0).round() as i64)
    }

    fn minutes(&self, t: DateTime<Utc>) -> f64 {
        (t - self.cfg.start).num_milliseconds() as f64 / 60_000.0
    }

    fn push(&mut self, t: f64, ev: Ev) {
        self.heap.push(Entry {
            t,
            class: ev.class(),
            seq: self.seq,
            ev,
        });
        self.seq += 1;
    }

    fn run(&mut self, progress: &(dyn Fn(u64) + Sync)) -> Result<(), SimError> {
        let days_total = self.cfg.days.ceil() as u64;
        while let Some(e) = self.heap.pop() {
            self.now = e.t;
            self.last_t = self.last_t.max(e.t);
            self.events += 1;
            let day = ((self.now / 1440.0).floor() as u64).min(days_total);
            if day > self.day_reported {
                progress(day - self.day_reported);
                self.day_reported = day;
            }
            match e.ev {
                Ev::Arrival(ci) => self.arrival(ci),
                // One dispatch is due at a time; an earlier one replaced this.
                Ev::Dispatch if e.t != self.next_dispatch => {}
                Ev::Dispatch => self.dispatch()?,
                Ev::Depart(ci) => self.depart(ci),
                Ev::AtSite(ci) => self.at_site(ci),
                Ev::Ready { case, person } => self.ready(case, person),
                Ev::Release { case, officer } => self.release(case, officer),
            }
        }
        if days_total > self.day_reported {
            progress(days_total - self.day_reported);
        }
        Ok(())
    }

    /// Make sure a dispatch happens by `t`.
    fn schedule_dispatch(&mut self, t: f64) {
        if self.next_dispatch <= t {
            return;
        }
        self.next_dispatch = t;
        self.push(t, Ev::Dispatch);
    }

    fn arrival(&mut self, ci: usize) {
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

    fn dispatch(&mut self) -> Result<(), SimError> {
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
        let team = cp
            .escort
            .team
            .as_ref()
            .and_then(|t| self.team_index.get(t.as_str()).copied());
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
        c.team = team;
        c.escort_officers = escort_officers;
        c.depart = depart;
        c.questioning_left = questioning_left;
        c.plan = Some(cp);
        self.flows[c.station][site] += 1;
        self.site_cases[site] += 1;
        self.persons[ci] = persons;
        self.push(depart, Ev::Depart(ci));
    }

    fn depart(&mut self, ci: usize) {
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
        match (c.mode, c.team) {
            (EscortMode::Team, Some(t)) => {
                start = start.max(self.team_free[t]);
                let home = self.team_site[t];
                let out = self.leg_back_min[st][home];
                let out_km = self.leg_back_km[st][home];
                let arrive = start + out + self.leg_min[st][site];
                let (back_min, back_km) = self.site_site[site][home];
                let back = arrive + back_min;
                self.team_free[t] = back;
                self.escort_hours += self.team_size[t] as f64 * (back - start) / 60.0;
                self.escort_km += out_km + self.leg_km[st][site] + back_km;
                self.cases[ci].depart = start;
                self.push(arrive, Ev::AtSite(ci));
            }
            _ => {
                let arrive = start + self.leg_min[st][site];
                self.escort_km += self.leg_km[st][site] + self.leg_back_km[st][site];
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

    fn at_site(&mut self, ci: usize) {
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

    fn ready(&mut self, ci: usize, pi: usize) {
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

    fn release(&mut self, ci: usize, o: usize) {
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

    fn finish(mut self, rep: u64) -> Replication {
        let end = self.last_t.max(self.cfg.duration_min());
        let below = self.below_minimum(end);
        let n_persons: usize = self.persons.iter().map(|p| p.len()).sum();
        let wait_mean = if self.waits.is_empty() {
            f64::NAN
        } else {
            self.waits.iter().sum::<f64>() / self.waits.len() as f64
        };
        let wait_p95 = quantile(&mut self.waits, 0.95);
        let duration = self.cfg.duration_min();
        let sites = self
            .region
            .sites
            .iter()
            .enumerate()
            .map(|(k, s)| SiteReplication {
                site: s.id.to_string(),
                cases: self.site_cases[k],
                room_utilisation: if self.questioning_rooms[k] == 0 {
                    0.0
                } else {
                    self.busy[k] / (self.questioning_rooms[k] as f64 * duration)
                },
                peak_holding: peak(&self.holding[k]),
            })
            .collect();
        let placed = self.cases.iter().filter(|c| c.plan.is_some()).count() as u64;
        let case_log = if self.cfg.keep_cases {
            self.cases
                .iter()
                .zip(&self.persons)
                .map(|(c, ps)| CaseRecord {
                    case: c.case.id.to_string(),
                    station: c.case.origin.to_string(),
                    category: c.case.category.to_string(),
                    detained_min: c.at,
                    site: c.plan.as_ref().map(|p| p.site.to_string()),
                    escort: c.plan.as_ref().map(|p| match &p.escort.team {
                        Some(t) => t.to_string(),
                        None => "station".to_string(),
                    }),
                    depart_min: c.plan.as_ref().map(|_| c.depart),
                    questioning: ps.iter().filter_map(|p| p.questioning).collect(),
                    breach: c.breach,
                })
                .collect()
        } else {
            Vec::new()
        };
        Replication {
            index: rep,
            cases: self.cases.len() as u64,
            persons: n_persons as u64,
            placed,
            unplaced: self.cases.len() as u64 - placed,
            breaches: self.cases.iter().filter(|c| c.breach).count() as u64,
            escort_officer_hours: self.escort_hours,
            station_officer_hours_away: self.station_hours,
            escort_km: self.escort_km,
            wait_mean_min: wait_mean,
            wait_p95_min: wait_p95,
            below_min_minutes: below,
            sites,
            flows: self.flows,
            events: self.events,
            policy_calls: self.policy_calls,
            blocked_attempts: std::mem::take(&mut self.blocked),
            end_min: end,
            case_log,
        }
    }

    /// Minutes each station spent with fewer officers on duty (on shift and
    /// not away escorting) than its minimum, over `[0, end)`.
    fn below_minimum(&self, end: f64) -> Vec<f64> {
        below_minimum(self.region, self.cfg.start, end, &self.away)
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

/// The highest number of intervals `[from, to)` open at once.
pub fn peak(intervals: &[(f64, f64)]) -> u32 {
    let mut d: Vec<(f64, i32)> = Vec::with_capacity(intervals.len() * 2);
    for &(a, b) in intervals {
        if b > a {
            d.push((a, 1));
            d.push((b, -1));
        }
    }
    d.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
    let (mut cur, mut best) = (0i32, 0i32);
    for (_, v) in d {
        cur += v;
        best = best.max(cur);
    }
    best as u32
}

/// Minutes each station of `region` spends below its minimum on duty over
/// `[0, end)` minutes after `start`, given each officer's away intervals
/// (`away[officer]`, in the region's officer order). An officer counts when
/// on shift and not away.
pub fn below_minimum(
    region: &Region,
    start: DateTime<Utc>,
    end: f64,
    away: &[Vec<(f64, f64)>],
) -> Vec<f64> {
    let offset = region.info.utc_offset_min as f64;
    let start_local = start.timestamp() as f64 / 60.0 + offset;
    let windows: Vec<Option<casehub_model::DailyWindow>> = region
        .officers
        .iter()
        .map(|o| region.shift(o.shift.as_str()).map(|s| s.window))
        .collect();
    region
        .stations
        .iter()
        .map(|st| {
            let officers: Vec<usize> = region
                .officers
                .iter()
                .enumerate()
                .filter(|(_, o)| o.post == Post::Station(st.id.clone()))
                .map(|(i, _)| i)
                .collect();
            let mut cuts = vec![0.0, end];
            // Shift boundaries, in simulation minutes.
            let mut bounds: Vec<f64> = Vec::new();
            for &o in &officers {
                if let Some(w) = windows[o].filter(|w| !w.is_always()) {
                    bounds.push(f64::from(w.start().minutes()));
                    bounds.push(f64::from(w.end().minutes()));
                }
                for &(a, b) in &away[o] {
                    cuts.push(a.clamp(0.0, end));
                    cuts.push(b.clamp(0.0, end));
                }
            }
            bounds.sort_by(f64::total_cmp);
            bounds.dedup();
            if !bounds.is_empty() {
                let first_day = (start_local / 1440.0).floor() - 1.0;
                let last_day = ((start_local + end) / 1440.0).ceil() + 1.0;
                let mut day = first_day;
                while day <= last_day {
                    for &b in &bounds {
                        let t = day * 1440.0 + b - start_local;
                        if t > 0.0 && t < end {
                            cuts.push(t);
                        }
                    }
                    day += 1.0;
                }
            }
            cuts.sort_by(f64::total_cmp);
            cuts.dedup();
            let mut below = 0.0;
            for w in cuts.windows(2) {
                let (a, b) = (w[0], w[1]);
                if b <= a {
                    continue;
                }
                let mid = (a + b) / 2.0;
                let local = (start_local + mid).floor() as i64;
                let on_duty = officers
                    .iter()
                    .filter(|&&o| windows[o].is_some_and(|w| w.contains(local)))
                    .filter(|&&o| !away[o].iter().any(|&(x, y)| x <= mid && mid < y))
                    .count();
                if (on_duty as u32) < st.min_on_duty {
                    below += b - a;
                }
            }
            below
        })
        .collect()
}
