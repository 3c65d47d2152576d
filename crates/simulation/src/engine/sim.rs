//! The state of one replication: the cases and persons under way, when
//! each room, officer and team is next free, the policy's view of the
//! region, the travel legs and the running figures; built from the region
//! and the arrivals, and the event loop that hands each event to its handler.

use std::collections::{BTreeMap, BinaryHeap, HashMap};

use chrono::{DateTime, Duration, Utc};
use rand_chacha::ChaCha8Rng;

use casehub_model::{Case, Post, Region, RoomKind, Step};
use casehub_planning::{CasePlan, Commitment, EscortMode, State};
use casehub_travel::TravelTable;

use super::events::{Entry, Ev};
use crate::arrivals::Arrival;
use crate::{SimConfig, SimError};

/// A case in the replication: detained at `at` at its station, and what
/// the policy's plan made of it once placed.
pub(super) struct CaseRun {
    pub(super) case: Case,
    pub(super) at: f64,
    pub(super) deadline: f64,
    pub(super) station: usize,
    pub(super) plan: Option<CasePlan>,
    pub(super) site: usize,
    pub(super) mode: EscortMode,
    /// The escort's teams, one per vehicle.
    pub(super) teams: Vec<usize>,
    pub(super) escort_officers: Vec<usize>,
    pub(super) depart: f64,
    /// Per escort officer: persons they still have to question.
    pub(super) questioning_left: Vec<usize>,
    pub(super) breach: bool,
    pub(super) done: bool,
    /// Passed its legal limit without being placed.
    pub(super) lost: bool,
}

/// A person of a placed case: the steps they go through, the next one,
/// and who searches and questions them.
pub(super) struct PersonRun {
    pub(super) questioning: Option<(f64, f64)>,
    pub(super) seq: Vec<Step>,
    pub(super) next: usize,
    pub(super) juvenile: bool,
    pub(super) questioners: Vec<usize>,
    pub(super) searchers: Vec<usize>,
}

/// The state of one replication.
pub(super) struct Sim<'a> {
    pub(super) region: &'a Region,
    pub(super) cfg: &'a SimConfig,
    pub(super) settings: casehub_planning::Settings,
    pub(super) rng: ChaCha8Rng,
    pub(super) state: State,
    pub(super) now: f64,
    pub(super) heap: BinaryHeap<Entry>,
    pub(super) seq: u64,
    pub(super) events: u64,
    pub(super) policy_calls: u64,
    pub(super) blocked: BTreeMap<String, u64>,
    /// Officer commitments of every dispatched case, with the officer's
    /// index (the policy sees those of its officers).
    pub(super) commitments: Vec<(Option<usize>, Commitment)>,
    /// How many of the policy's officers are the sites' own (they come
    /// first in its view of the region; the stations' officers follow).
    pub(super) n_site_officers: usize,
    pub(super) station_officers: Vec<Vec<usize>>,
    pub(super) next_dispatch: f64,
    pub(super) cases: Vec<CaseRun>,
    pub(super) persons: Vec<Vec<PersonRun>>,
    pub(super) pending: Vec<usize>,
    pub(super) case_index: HashMap<String, usize>,
    pub(super) officer_index: HashMap<String, usize>,
    pub(super) team_index: HashMap<String, usize>,
    pub(super) officer_free: Vec<f64>,
    pub(super) officer_held: Vec<Option<usize>>,
    pub(super) parked: Vec<Vec<Ev>>,
    pub(super) officer_station: Vec<Option<usize>>,
    pub(super) team_free: Vec<f64>,
    pub(super) team_site: Vec<usize>,
    pub(super) team_size: Vec<usize>,
    /// Rooms per (site, kind): global room indices.
    pub(super) rooms_of: HashMap<(usize, RoomKind), Vec<usize>>,
    pub(super) room_free: Vec<f64>,
    pub(super) room_juvenile: Vec<bool>,
    pub(super) room_recording: Vec<bool>,
    /// Questioning-room busy minutes per site, within the arrivals period.
    pub(super) busy: Vec<f64>,
    pub(super) questioning_rooms: Vec<usize>,
    pub(super) holding: Vec<Vec<(f64, f64)>>,
    /// Minutes: `leg_station_site[station][site]` and back, and km.
    pub(super) leg_min: Vec<Vec<f64>>,
    pub(super) leg_back_min: Vec<Vec<f64>>,
    pub(super) leg_km: Vec<Vec<f64>>,
    pub(super) leg_back_km: Vec<Vec<f64>>,
    /// Team legs: `site_site[a][b]` minutes and km.
    pub(super) site_site: Vec<Vec<(f64, f64)>>,
    /// Away intervals per station officer.
    pub(super) away: Vec<Vec<(f64, f64)>>,
    pub(super) waits: Vec<f64>,
    pub(super) escort_hours: f64,
    pub(super) station_hours: f64,
    pub(super) escort_km: f64,
    pub(super) flows: Vec<Vec<u64>>,
    pub(super) site_cases: Vec<u64>,
    pub(super) day_reported: u64,
    pub(super) last_t: f64,
}

fn leg(travel: &TravelTable, a: &str, b: &str) -> Result<(f64, f64), SimError> {
    travel
        .leg(a, b)
        .map(|l| (l.minutes, l.km))
        .ok_or_else(|| SimError::invalid("travel", format!("{a} -> {b}"), "no travel leg"))
}

impl<'a> Sim<'a> {
    pub(super) fn new(
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
                teams: Vec::new(),
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
            room_closures: Vec::new(),
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

    pub(super) fn at(&self, t: f64) -> DateTime<Utc> {
        self.cfg.start + Duration::milliseconds((t * 60_000.0).round() as i64)
    }

    pub(super) fn minutes(&self, t: DateTime<Utc>) -> f64 {
        (t - self.cfg.start).num_milliseconds() as f64 / 60_000.0
    }

    pub(super) fn push(&mut self, t: f64, ev: Ev) {
        self.heap.push(Entry {
            t,
            class: ev.class(),
            seq: self.seq,
            ev,
        });
        self.seq += 1;
    }

    pub(super) fn run(&mut self, progress: &(dyn Fn(u64) + Sync)) -> Result<(), SimError> {
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
}
