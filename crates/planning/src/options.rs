//! The ways each case could be served ("options"), on a slot grid.
//!
//! An option fixes a destination site, an escort (the station's own officers,
//! or a pool of interchangeable escort teams of one site), a departure delay
//! and a questioning delay. From these follow the whole timeline: departure,
//! pickup, arrival, each person's intake → search → information collection →
//! holding → questioning, and the escort's return. Each option lists the
//! capacity it uses per slot (rooms of a kind, holding places, investigators,
//! searchers, teams, station officers away) and its cost.
//!
//! Options that break a rule on their own (the legal limit, a station's
//! minimum, a woman without a female escort, no officer on shift for the whole
//! job...) are never generated; the reason is recorded so that a case with no
//! option left can say which rule blocks it.

use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

use chrono::{DateTime, Duration, Utc};

use casehub_model::{Case, Gender, Officer, Post, Qualification, Region, Room, RoomKind, Step};

use crate::PlanError;
use crate::plan::{CostBreakdown, EscortMode, Rule};
use crate::settings::Settings;
use crate::state::State;

/// A capacity that options draw on, per slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    /// Rooms of a kind (not holding) at a site.
    Rooms(usize, RoomKind),
    /// Adult holding places at a site (persons).
    AdultHolding(usize),
    /// Juvenile holding rooms at a site (one juvenile per room).
    JuvenileHolding(usize),
    /// Co-suspects held at once at a site: each needs a room of their own.
    CoSuspectHolding(usize),
    /// Investigators (site officers who question) at a site.
    Investigators(usize),
    /// Female investigators at a site.
    FemaleInvestigators(usize),
    /// Searchers at a site, any gender.
    Searchers(usize),
    /// Female searchers at a site.
    FemaleSearchers(usize),
    /// Escort teams of a site.
    Teams(usize),
    /// Escort teams of a site with a female member.
    FemaleTeams(usize),
    /// Station officers who may escort and question, away from a station.
    StationOfficers(usize),
    /// Female station officers of that kind.
    FemaleStationOfficers(usize),
    /// Officers a station can spare above its minimum.
    StationSpare(usize),
}

/// A use of `amount` units of a resource over slots `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    pub resource: Resource,
    pub from: i64,
    pub to: i64,
    pub amount: u32,
}

/// One person's timeline in an option (slot indices, half-open).
#[derive(Debug, Clone, PartialEq)]
pub struct PersonTimeline {
    pub person: usize,
    /// (step, from, to) in order; holding only when there is a wait.
    pub steps: Vec<(Step, i64, i64)>,
}

/// One way to serve a case.
#[derive(Debug, Clone, PartialEq)]
pub struct Opt {
    pub case: usize,
    pub site: usize,
    pub mode: EscortMode,
    /// The site whose teams escort, for team mode.
    pub team_site: Option<usize>,
    pub depart: i64,
    pub pickup: i64,
    pub arrive: i64,
    pub back: i64,
    pub drive_min: f64,
    pub km: f64,
    pub persons: Vec<PersonTimeline>,
    pub usage: Vec<Usage>,
    /// Slot at which the last questioning ends.
    pub questioning_end: i64,
    pub slack_min: i64,
    /// For station escorts: the fewest officers left at the station meanwhile.
    pub station_left: Option<i32>,
    pub cost: CostBreakdown,
}

/// Per-slot capacities and static facts, computed once per planning run.
pub struct Context<'a> {
    pub state: &'a State,
    pub region: &'a Region,
    pub settings: &'a Settings,
    /// Absolute minute (since the Unix epoch) of slot 0: `now` rounded up to the slot grid.
    pub t0_min: i64,
    pub slot: i64,
    /// Number of slots in the grid (horizon plus the longest legal limit).
    pub slots: i64,
    /// Static capacity of each resource per slot (before existing bookings and commitments).
    pub capacity: HashMap<Resource, Vec<i32>>,
    /// `on_shift[officer][slot]` (officers of one shift share a row).
    pub on_shift: Vec<Arc<[bool]>>,
    /// `team_member[officer]`: a member of an escort team. Team members work
    /// with their team only; they are not in the site's searcher or investigator pools.
    pub team_member: Vec<bool>,
    pub officer_index: HashMap<&'a str, usize>,
    pub site_index: HashMap<&'a str, usize>,
    pub station_index: HashMap<&'a str, usize>,
    /// `post_site[officer]`: the site the officer is posted to, if any.
    pub post_site: Vec<Option<usize>>,
    /// `post_station[officer]`: the station the officer is posted to, if any.
    pub post_station: Vec<Option<usize>>,
    /// `station_crews[station]`: its officers who may escort and question, in region order.
    pub station_crews: Vec<Vec<usize>>,
    /// `site_investigators[site]`: its investigators, in region order.
    pub site_investigators: Vec<Vec<usize>>,
    /// Travel legs by station and site index.
    pub legs: Legs,
    /// Every site's rooms, site by site: (site, room).
    pub rooms: Vec<(usize, &'a Room)>,
    /// Room id to its index in `rooms`.
    pub room_index: HashMap<&'a str, usize>,
    /// Recording rooms per (site, kind).
    pub room_counts: HashMap<(usize, RoomKind), usize>,
    /// `site_teams[site]`: the indices of its escort teams.
    pub site_teams: Vec<Vec<usize>>,
    /// `team_members[team]`: its members' officer indices (known officers only).
    pub team_members: Vec<Vec<usize>>,
}

impl<'a> Context<'a> {
    pub fn new(state: &'a State, settings: &'a Settings) -> Result<Self, PlanError> {
        settings.validate()?;
        let region = &state.region;
        let slot = i64::from(settings.slot_min);
        // Slot 0 starts at `now` rounded up to the grid (never before `now`).
        let t0_min = (ceil_minute(state.now) + slot - 1).div_euclid(slot) * slot;
        let slots = settings.horizon_slots() + 48 * 60 / slot;
        let officer_index: HashMap<&str, usize> = region
            .officers
            .iter()
            .enumerate()
            .map(|(i, o)| (o.id.as_str(), i))
            .collect();
        let site_index: HashMap<&str, usize> = region
            .sites
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.as_str(), i))
            .collect();
        let station_index: HashMap<&str, usize> = region
            .stations
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.as_str(), i))
            .collect();
        let offset = i64::from(region.info.utc_offset_min);
        let local = |k: i64| t0_min + k * slot + offset;
        // One row per shift, copied to its officers.
        let mut shift_rows: HashMap<&str, Arc<[bool]>> = HashMap::default();
        let on_shift: Vec<Arc<[bool]>> = region
            .officers
            .iter()
            .map(|o| {
                shift_rows
                    .entry(o.shift.as_str())
                    .or_insert_with(|| {
                        let w = region.shift(o.shift.as_str()).map(|s| s.window);
                        (0..slots)
                            .map(|k| w.is_some_and(|w| w.covers(local(k), local(k) + slot)))
                            .collect()
                    })
                    .clone()
            })
            .collect();
        let mut team_member = vec![false; region.officers.len()];
        for t in &region.escort_teams {
            for m in &t.members {
                if let Some(&oi) = officer_index.get(m.as_str()) {
                    team_member[oi] = true;
                }
            }
        }
        let post_site: Vec<Option<usize>> = region
            .officers
            .iter()
            .map(|o| match &o.post {
                Post::Site(s) => site_index.get(s.as_str()).copied(),
                Post::Station(_) => None,
            })
            .collect();
        let post_station: Vec<Option<usize>> = region
            .officers
            .iter()
            .map(|o| match &o.post {
                Post::Station(s) => station_index.get(s.as_str()).copied(),
                Post::Site(_) => None,
            })
            .collect();
        let mut station_crews = vec![Vec::new(); region.stations.len()];
        let mut site_investigators = vec![Vec::new(); region.sites.len()];
        for (oi, o) in region.officers.iter().enumerate() {
            match &o.post {
                Post::Station(s) => {
                    if let Some(&sti) = station_index.get(s.as_str())
                        && o.can(Qualification::Escort)
                        && o.can(Qualification::Questioning)
                    {
                        station_crews[sti].push(oi);
                    }
                }
                Post::Site(_) => {
                    if let Some(si) = post_site[oi]
                        && !team_member[oi]
                        && o.can(Qualification::Questioning)
                    {
                        site_investigators[si].push(oi);
                    }
                }
            }
        }
        let mut site_teams = vec![Vec::new(); region.sites.len()];
        let mut team_members = Vec::with_capacity(region.escort_teams.len());
        for (ti, t) in region.escort_teams.iter().enumerate() {
            if let Some(&si) = site_index.get(t.site.as_str()) {
                site_teams[si].push(ti);
            }
            team_members.push(
                t.members
                    .iter()
                    .filter_map(|m| officer_index.get(m.as_str()).copied())
                    .collect::<Vec<usize>>(),
            );
        }
        let rooms: Vec<(usize, &Room)> = region
            .sites
            .iter()
            .enumerate()
            .flat_map(|(si, s)| s.rooms.iter().map(move |r| (si, r)))
            .collect();
        let room_index = rooms
            .iter()
            .enumerate()
            .map(|(ri, (_, r))| (r.id.as_str(), ri))
            .collect();
        let mut room_counts: HashMap<(usize, RoomKind), usize> = HashMap::default();
        for &(si, r) in rooms.iter().filter(|(_, r)| r.recording) {
            *room_counts.entry((si, r.kind)).or_default() += 1;
        }
        let mut ctx = Context {
            state,
            region,
            settings,
            t0_min,
            slot,
            slots,
            capacity: HashMap::default(),
            on_shift,
            team_member,
            officer_index,
            site_index,
            station_index,
            post_site,
            post_station,
            station_crews,
            site_investigators,
            legs: Legs::new(state, slot),
            rooms,
            room_index,
            room_counts,
            site_teams,
            team_members,
        };
        ctx.build_capacity();
        ctx.subtract_existing()?;
        Ok(ctx)
    }

    /// Slot index of an absolute time, rounding down.
    pub fn slot_of(&self, t: DateTime<Utc>) -> i64 {
        (t.timestamp().div_euclid(60) - self.t0_min).div_euclid(self.slot)
    }

    /// Slot index of an absolute time, rounding up.
    pub fn slot_of_ceil(&self, t: DateTime<Utc>) -> i64 {
        let m = ceil_minute(t) - self.t0_min;
        (m + self.slot - 1).div_euclid(self.slot)
    }

    /// The absolute time of a slot boundary.
    pub fn time_of(&self, k: i64) -> DateTime<Utc> {
        // Out of chrono's range only for absurd horizons, which settings refuse.
        DateTime::<Utc>::from_timestamp((self.t0_min + k * self.slot) * 60, 0)
            .unwrap_or(self.state.now)
    }

    /// Whether officer `oi` is one of site `site`'s investigators (may question).
    pub fn investigator(&self, oi: usize, site: usize) -> bool {
        self.post_site[oi] == Some(site)
            && !self.team_member[oi]
            && self.region.officers[oi].can(Qualification::Questioning)
    }

    /// Whether officer `oi` is one of site `site`'s searchers.
    pub fn searcher(&self, oi: usize, site: usize) -> bool {
        self.post_site[oi] == Some(site)
            && !self.team_member[oi]
            && self.region.officers[oi].can(Qualification::Search)
    }

    fn officers_at_site(&self, site: usize) -> impl Iterator<Item = (usize, &'a Officer)> + '_ {
        let region = self.region;
        region
            .officers
            .iter()
            .enumerate()
            .filter(move |&(oi, _)| self.post_site[oi] == Some(site))
    }

    /// Officers of a station who may escort and question.
    pub fn station_crew(&self, station: usize) -> impl Iterator<Item = (usize, &'a Officer)> + '_ {
        let region = self.region;
        self.station_crews[station]
            .iter()
            .map(move |&oi| (oi, &region.officers[oi]))
    }

    /// Per-slot capacities from the region: rooms while their site is open,
    /// staff and teams while on shift, station officers above the minimum.
    /// Filled resource by resource, one row at a time (this runs at every
    /// planning call, thousands of times in a simulated year).
    fn build_capacity(&mut self) {
        let offset = i64::from(self.region.info.utc_offset_min);
        let slots = self.slots as usize;
        let mut cap: HashMap<Resource, Vec<i32>> = std::mem::take(&mut self.capacity);
        cap.reserve(self.region.sites.len() * 16 + self.region.stations.len() * 3);
        // Add `times` × a 0/1 row to a resource's row.
        fn add(
            cap: &mut HashMap<Resource, Vec<i32>>,
            slots: usize,
            r: Resource,
            row: &[bool],
            times: i32,
        ) {
            let dst = cap.entry(r).or_insert_with(|| vec![0; slots]);
            for (x, &on) in dst.iter_mut().zip(row) {
                *x += i32::from(on) * times;
            }
        }
        let mut out = vec![false; slots];
        for (si, site) in self.region.sites.iter().enumerate() {
            let open: Vec<bool> = (0..self.slots)
                .map(|k| {
                    let from = self.t0_min + k * self.slot + offset;
                    site.open_hours.covers(from, from + self.slot)
                })
                .collect();
            for room in site.rooms.iter().filter(|r| r.recording) {
                match room.kind {
                    RoomKind::Holding if room.juvenile_suitable => {
                        add(&mut cap, slots, Resource::JuvenileHolding(si), &open, 1);
                    }
                    RoomKind::Holding => {
                        let c = room.capacity as i32;
                        add(&mut cap, slots, Resource::AdultHolding(si), &open, c);
                        add(&mut cap, slots, Resource::CoSuspectHolding(si), &open, 1);
                    }
                    kind => add(&mut cap, slots, Resource::Rooms(si, kind), &open, 1),
                }
            }
            for (oi, o) in self.officers_at_site(si) {
                let (investigator, searcher) = (self.investigator(oi, si), self.searcher(oi, si));
                let shift = &self.on_shift[oi];
                let female = o.gender == Gender::Female;
                if investigator {
                    add(&mut cap, slots, Resource::Investigators(si), shift, 1);
                    if female {
                        add(&mut cap, slots, Resource::FemaleInvestigators(si), shift, 1);
                    }
                }
                if searcher {
                    add(&mut cap, slots, Resource::Searchers(si), shift, 1);
                    if female {
                        add(&mut cap, slots, Resource::FemaleSearchers(si), shift, 1);
                    }
                }
            }
            for &ti in &self.site_teams[si] {
                let members = &self.team_members[ti];
                let female = members
                    .iter()
                    .any(|&m| self.region.officers[m].gender == Gender::Female);
                out.fill(true);
                for &m in members {
                    for (x, &on) in out.iter_mut().zip(self.on_shift[m].iter()) {
                        *x &= on;
                    }
                }
                add(&mut cap, slots, Resource::Teams(si), &out, 1);
                if female {
                    add(&mut cap, slots, Resource::FemaleTeams(si), &out, 1);
                }
            }
        }
        for (sti, station) in self.region.stations.iter().enumerate() {
            for (oi, o) in self.station_crew(sti) {
                let shift = &self.on_shift[oi];
                add(&mut cap, slots, Resource::StationOfficers(sti), shift, 1);
                if o.gender == Gender::Female {
                    add(
                        &mut cap,
                        slots,
                        Resource::FemaleStationOfficers(sti),
                        shift,
                        1,
                    );
                }
            }
            // Officers on shift above the minimum: every officer posted there counts.
            let min = station.min_on_duty as i32;
            let spare = cap
                .entry(Resource::StationSpare(sti))
                .or_insert_with(|| vec![0; slots]);
            for x in spare.iter_mut() {
                *x -= min;
            }
            for oi in
                (0..self.region.officers.len()).filter(|&oi| self.post_station[oi] == Some(sti))
            {
                for (x, &on) in spare.iter_mut().zip(self.on_shift[oi].iter()) {
                    *x += i32::from(on);
                }
            }
        }
        self.capacity = cap;
    }

    fn take(&mut self, r: Resource, from: i64, to: i64, amount: i32) {
        let slots = self.slots;
        if let Some(v) = self.capacity.get_mut(&r) {
            for k in from.max(0)..to.min(slots) {
                v[k as usize] -= amount;
            }
        }
    }

    /// Remove what existing bookings and commitments already use.
    fn subtract_existing(&mut self) -> Result<(), PlanError> {
        let state = self.state;
        for b in &state.room_bookings {
            let (si, room) = *self.room_of(b.room.as_str()).ok_or_else(|| {
                PlanError::State(format!("room booking names unknown room {}", b.room))
            })?;
            let (from, to) = (self.slot_of(b.start), self.slot_of_ceil(b.end));
            match room.kind {
                RoomKind::Holding if room.juvenile_suitable => {
                    self.take(Resource::JuvenileHolding(si), from, to, 1)
                }
                RoomKind::Holding => {
                    self.take(Resource::AdultHolding(si), from, to, 1);
                    if b.group.is_some() {
                        self.take(Resource::CoSuspectHolding(si), from, to, 1);
                    }
                }
                kind => self.take(Resource::Rooms(si, kind), from, to, 1),
            }
        }
        for c in &state.officer_commitments {
            let oi = *self.officer_index.get(c.officer.as_str()).ok_or_else(|| {
                PlanError::State(format!("commitment names unknown officer {}", c.officer))
            })?;
            let (from, to) = (self.slot_of(c.start), self.slot_of_ceil(c.end));
            let o = &self.region.officers[oi];
            let female = o.gender == Gender::Female;
            match &o.post {
                Post::Site(s) => {
                    let si = self.site_index[s.as_str()];
                    if self.investigator(oi, si) {
                        self.take(Resource::Investigators(si), from, to, 1);
                        if female {
                            self.take(Resource::FemaleInvestigators(si), from, to, 1);
                        }
                    }
                    if self.searcher(oi, si) {
                        self.take(Resource::Searchers(si), from, to, 1);
                        if female {
                            self.take(Resource::FemaleSearchers(si), from, to, 1);
                        }
                    }
                }
                Post::Station(s) => {
                    let sti = self.station_index[s.as_str()];
                    if o.can(Qualification::Escort) && o.can(Qualification::Questioning) {
                        self.take(Resource::StationOfficers(sti), from, to, 1);
                        if female {
                            self.take(Resource::FemaleStationOfficers(sti), from, to, 1);
                        }
                    }
                    if c.away_from_station {
                        self.take(Resource::StationSpare(sti), from, to, 1);
                    }
                }
            }
        }
        for c in &state.team_commitments {
            let ti = self
                .region
                .escort_teams
                .iter()
                .position(|t| t.id == c.team)
                .ok_or_else(|| {
                    PlanError::State(format!("commitment names unknown team {}", c.team))
                })?;
            let team = &self.region.escort_teams[ti];
            let si = self.site_index[team.site.as_str()];
            let female = self.team_members[ti]
                .iter()
                .any(|&m| self.region.officers[m].gender == Gender::Female);
            let (from, to) = (self.slot_of(c.start), self.slot_of_ceil(c.end));
            self.take(Resource::Teams(si), from, to, 1);
            if female {
                self.take(Resource::FemaleTeams(si), from, to, 1);
            }
        }
        Ok(())
    }

    /// How many recording rooms of a kind a site has.
    pub fn recording_rooms(&self, si: usize, kind: RoomKind) -> usize {
        self.room_counts.get(&(si, kind)).copied().unwrap_or(0)
    }

    /// A room by id: (site, room).
    pub fn room_of(&self, id: &str) -> Option<&(usize, &'a Room)> {
        self.room_index.get(id).map(|&ri| &self.rooms[ri])
    }

    /// Remaining capacity of a resource at slot `k` (0 outside the grid).
    pub fn cap(&self, r: Resource, k: i64) -> i32 {
        if k < 0 || k >= self.slots {
            return 0;
        }
        self.capacity.get(&r).map_or(0, |v| v[k as usize])
    }

    /// Step duration in slots for planning.
    pub fn step_slots(&self, step: Step, case: &Case) -> i64 {
        let d = self
            .region
            .step_durations
            .for_step(step, case.category)
            .map_or(0.0, |d| d.quantile(self.settings.duration_quantile));
        ((d / self.slot as f64).ceil() as i64).max(1)
    }

    /// Travel between two places, in (slots, minutes, km).
    pub fn leg(&self, from: &str, to: &str) -> Option<Leg> {
        leg_between(self.state, self.slot, from, to)
    }

    /// [`Context::leg`] from station `sti` to site `si`, looked up once per run.
    pub fn leg_station_site(&self, sti: usize, si: usize) -> Option<Leg> {
        self.legs.station_site[sti * self.region.sites.len() + si]
    }

    /// [`Context::leg`] from site `si` to station `sti`.
    pub fn leg_site_station(&self, si: usize, sti: usize) -> Option<Leg> {
        self.legs.site_station[si * self.region.stations.len() + sti]
    }

    /// [`Context::leg`] from site `a` to site `b`.
    pub fn leg_site_site(&self, a: usize, b: usize) -> Option<Leg> {
        self.legs.site_site[a * self.region.sites.len() + b]
    }

    /// The legal deadline of a case as an absolute time, and in slots (rounded down).
    pub fn deadline(&self, case: &Case) -> (DateTime<Utc>, i64) {
        let limit = self.region.policy.legal_limits.limit_min(case.category);
        let t = case.clock_started_at + Duration::minutes(i64::from(limit));
        (t, self.slot_of(t))
    }
}

/// A travel leg in (slots, minutes, km).
pub type Leg = (i64, f64, f64);

/// The legs between the region's stations and sites, by index.
#[derive(Debug, Default)]
pub struct Legs {
    station_site: Vec<Option<Leg>>,
    site_station: Vec<Option<Leg>>,
    site_site: Vec<Option<Leg>>,
}

impl Legs {
    fn new(state: &State, slot: i64) -> Self {
        let region = &state.region;
        let leg = |a: &str, b: &str| leg_between(state, slot, a, b);
        let mut legs = Legs::default();
        for st in &region.stations {
            for site in &region.sites {
                legs.station_site
                    .push(leg(st.id.as_str(), site.id.as_str()));
            }
        }
        for site in &region.sites {
            for st in &region.stations {
                legs.site_station
                    .push(leg(site.id.as_str(), st.id.as_str()));
            }
        }
        for a in &region.sites {
            for b in &region.sites {
                legs.site_site.push(leg(a.id.as_str(), b.id.as_str()));
            }
        }
        legs
    }
}

fn leg_between(state: &State, slot: i64, from: &str, to: &str) -> Option<Leg> {
    if from == to {
        return Some((0, 0.0, 0.0));
    }
    // A router's matrix may give one direction only: assume the road back is as long.
    let leg = state
        .travel
        .leg(from, to)
        .or_else(|| state.travel.leg(to, from))?;
    Some((
        ((leg.minutes / slot as f64).ceil() as i64).max(1),
        leg.minutes,
        leg.km,
    ))
}

/// The minute (since the Unix epoch) at or after `t`: fractions of a minute,
/// down to the nanosecond, round up.
pub fn ceil_minute(t: DateTime<Utc>) -> i64 {
    let secs = t.timestamp() + i64::from(t.timestamp_subsec_nanos() > 0);
    secs.div_euclid(60) + i64::from(secs.rem_euclid(60) > 0)
}

/// Why a (site, escort) combination produced no option for a case.
#[derive(Debug, Clone, PartialEq)]
pub struct Pruned {
    pub site: usize,
    pub mode: EscortMode,
    pub rule: Rule,
    pub detail: String,
}

/// The options of one case, and the reasons for what was left out.
#[derive(Debug, Default)]
pub struct CaseOptions {
    pub options: Vec<Opt>,
    pub pruned: Vec<Pruned>,
}

fn usage(out: &mut Vec<Usage>, resource: Resource, from: i64, to: i64, amount: u32) {
    if to > from && amount > 0 {
        out.push(Usage {
            resource,
            from,
            to,
            amount,
        });
    }
}

/// Whether at least `n` of the given officers are on shift for all of `[from, to)`.
fn enough_on_shift(
    ctx: &Context<'_>,
    officers: impl Iterator<Item = usize>,
    from: i64,
    to: i64,
    n: usize,
) -> bool {
    let to = to.min(ctx.slots);
    officers
        .filter(|&oi| (from.max(0)..to).all(|k| ctx.on_shift[oi][k as usize]))
        .take(n)
        .count()
        >= n
}

/// Enumerate the options of case `ci` (an index into `state.pending`).
pub fn case_options(ctx: &Context<'_>, ci: usize) -> CaseOptions {
    let region = ctx.region;
    let policy = &region.policy;
    let case = &ctx.state.pending[ci].case;
    let restriction = ctx.state.pending[ci].restriction.as_ref();
    let mut out = CaseOptions::default();
    let Some(&sti) = ctx.station_index.get(case.origin.as_str()) else {
        out.pruned.push(Pruned {
            site: 0,
            mode: EscortMode::Station,
            rule: Rule::Reference,
            detail: format!("origin station {} does not exist", case.origin),
        });
        return out;
    };
    let station = &region.stations[sti];
    let n = case.persons.len();
    let any_female = case.persons.iter().any(|p| p.gender == Gender::Female);
    let (deadline_at, deadline) = ctx.deadline(case);
    let deadline_min = deadline_at.timestamp().div_euclid(60) - ctx.t0_min;
    let not_before = restriction
        .and_then(|r| r.not_before)
        .map_or(ctx.state.now, |t| t.max(ctx.state.now));
    let earliest = ctx
        .slot_of_ceil(case.clock_started_at.max(not_before))
        .max(0);
    let k_escort = policy.min_escort_officers as usize;
    let k_q = policy.min_questioning_officers as usize;
    let pre: Vec<(Step, i64)> = [Step::Intake, Step::Search, Step::InformationCollection]
        .into_iter()
        .map(|s| (s, ctx.step_slots(s, case)))
        .collect();
    let q_len = ctx.step_slots(Step::Questioning, case);
    // Delays in increasing order: the search stops at the first that is too late.
    let mut start_delays = ctx.settings.start_delays.clone();
    start_delays.sort_unstable();
    start_delays.dedup();
    let mut questioning_delays = ctx.settings.questioning_delays.clone();
    questioning_delays.sort_unstable();
    questioning_delays.dedup();
    let q_kind = case.category.questioning_room();

    for (si, site) in region.sites.iter().enumerate() {
        let Some((to_site, to_site_min, to_site_km)) = ctx.leg_station_site(sti, si) else {
            out.pruned.push(Pruned {
                site: si,
                mode: EscortMode::Station,
                rule: Rule::Reference,
                detail: format!("no travel time from {} to {}", station.id, site.id),
            });
            continue;
        };
        // Escorts: the station's own officers, or the teams of this site or of the main center.
        let mut escorts: Vec<(EscortMode, Option<usize>)> = vec![(EscortMode::Station, None)];
        let main = ctx.site_index[region.main_center().id.as_str()];
        for ts in [si, main] {
            if escorts.iter().all(|e| e.1 != Some(ts))
                && region
                    .escort_teams
                    .iter()
                    .any(|t| t.site == region.sites[ts].id)
            {
                escorts.push((EscortMode::Team, Some(ts)));
            }
        }
        if let Some(r) = restriction {
            escorts.retain(|&(mode, _)| r.allows(&site.id, mode));
        }
        for (mode, team_site) in escorts {
            let mut reason: Option<(Rule, Why)> = None;
            let mut made = 0;
            // Static checks for the escort.
            match mode {
                EscortMode::Station => {
                    let crew: Vec<(usize, &Officer)> = ctx.station_crew(sti).collect();
                    if crew.len() < k_escort.max(k_q) {
                        reason = Some((
                            Rule::EscortOfficers,
                            Why::Text(format!(
                                "station {} has {} officers who may escort and question, {} needed",
                                station.id,
                                crew.len(),
                                k_escort.max(k_q)
                            )),
                        ));
                    } else if any_female && !crew.iter().any(|(_, o)| o.gender == Gender::Female) {
                        reason = Some((
                            Rule::FemaleEscort,
                            Why::Text(format!(
                                "station {} has no female officer to escort a woman",
                                station.id
                            )),
                        ));
                    }
                }
                EscortMode::Team => {
                    let ts = team_site.expect("team mode has a team site");
                    let teams: Vec<_> = region
                        .escort_teams
                        .iter()
                        .filter(|t| t.site == region.sites[ts].id)
                        .collect();
                    if teams.iter().all(|t| (t.passenger_seats() as usize) < n) {
                        reason = Some((
                            Rule::TeamUnavailable,
                            Why::Text(format!(
                                "no team of {} has {n} free seats",
                                region.sites[ts].id
                            )),
                        ));
                    } else if teams.iter().any(|t| (t.passenger_seats() as usize) < n) {
                        reason = Some((
                            Rule::TeamUnavailable,
                            Why::Text(format!(
                                "teams of {} differ in seats; only uniform pools are planned",
                                region.sites[ts].id
                            )),
                        ));
                    } else if any_female
                        && !ctx.site_teams[ts].iter().any(|&ti| {
                            ctx.team_members[ti]
                                .iter()
                                .any(|&m| region.officers[m].gender == Gender::Female)
                        })
                    {
                        reason = Some((
                            Rule::FemaleEscort,
                            Why::Text(format!(
                                "no team of {} has a female officer",
                                region.sites[ts].id
                            )),
                        ));
                    } else if teams.iter().any(|t| t.members.len() < k_escort) {
                        reason = Some((
                            Rule::EscortOfficers,
                            Why::Text(format!(
                                "a team of {} has fewer than {k_escort} officers",
                                region.sites[ts].id
                            )),
                        ));
                    }
                }
            }
            if reason.is_some() {
                // The escort cannot be staffed; but if even the earliest start
                // would miss the deadline, that is what blocks the case.
                let earliest_try = build_option(
                    ctx,
                    ci,
                    si,
                    sti,
                    mode,
                    team_site,
                    earliest,
                    0,
                    (to_site, to_site_min, to_site_km),
                    &pre,
                    q_len,
                    q_kind,
                    deadline,
                    deadline_min,
                );
                if let Err((Rule::LegalLimit, detail, _)) = earliest_try {
                    reason = Some((Rule::LegalLimit, detail));
                }
            } else {
                out.options
                    .reserve(start_delays.len() * questioning_delays.len());
                'delays: for &dd in &start_delays {
                    for &qd in &questioning_delays {
                        match build_option(
                            ctx,
                            ci,
                            si,
                            sti,
                            mode,
                            team_site,
                            earliest + i64::from(dd),
                            i64::from(qd),
                            (to_site, to_site_min, to_site_km),
                            &pre,
                            q_len,
                            q_kind,
                            deadline,
                            deadline_min,
                        ) {
                            Ok(opt) => {
                                made += 1;
                                out.options.push(opt);
                            }
                            Err((rule, detail, stop)) => {
                                if reason.is_none() || rule != Rule::LegalLimit {
                                    reason = Some((rule, detail));
                                }
                                if stop {
                                    break 'delays;
                                }
                            }
                        }
                    }
                }
            }
            if made == 0 {
                let (rule, detail) = reason.map_or_else(
                    || (Rule::LegalLimit, "no start time within the horizon".into()),
                    |(rule, why)| (rule, why.text(ctx)),
                );
                out.pruned.push(Pruned {
                    site: si,
                    mode,
                    rule,
                    detail,
                });
            }
        }
    }
    out
}

/// Why an option was not built, put into words only when it is reported
/// (most rejected options are never reported: formatting them all cost
/// more than building them).
#[derive(Debug)]
enum Why {
    Text(String),
    Horizon,
    /// The questioning would end `by` minutes after the deadline at this site.
    Late {
        site: usize,
        by: i64,
    },
    /// Fewer than `k` of the station's crew on shift for the whole escort.
    CrewOff {
        k: u32,
        station: usize,
    },
    /// No female officer of the station on shift for the whole escort.
    FemaleCrewOff {
        station: usize,
    },
    /// The station would drop below its minimum (`spare` below it, ≤ -1).
    Minimum {
        station: usize,
        spare: i32,
    },
    /// No team of this site on shift for the whole escort.
    TeamOff {
        site: usize,
    },
    /// Fewer than `k` investigators of the site on shift for the questioning.
    InvestigatorsOff {
        k: u32,
        site: usize,
    },
    /// A resource with no capacity left at a slot.
    Short(Resource, i64),
}

impl Why {
    fn text(self, ctx: &Context<'_>) -> String {
        let region = ctx.region;
        match self {
            Why::Text(t) => t,
            Why::Horizon => "no start within the planning horizon".into(),
            Why::Late { site, by } => format!(
                "questioning at {} would end {by} min after the legal deadline",
                region.sites[site].id
            ),
            Why::CrewOff { k, station } => format!(
                "fewer than {k} officers of {} are on shift for the whole escort",
                region.stations[station].id
            ),
            Why::FemaleCrewOff { station } => format!(
                "no female officer of {} is on shift for the whole escort",
                region.stations[station].id
            ),
            Why::Minimum { station, spare } => {
                let st = &region.stations[station];
                format!(
                    "station {} would drop to {} officers, below its minimum of {}",
                    st.id,
                    st.min_on_duty as i32 + spare,
                    st.min_on_duty
                )
            }
            Why::TeamOff { site } => format!(
                "no team of {} is on shift for the whole escort",
                region.sites[site].id
            ),
            Why::InvestigatorsOff { k, site } => format!(
                "fewer than {k} investigators of {} on shift for the whole questioning",
                region.sites[site].id
            ),
            Why::Short(r, k) => format!(
                "{} has no capacity left at {}",
                describe(ctx, r),
                ctx.time_of(k).format("%H:%M")
            ),
        }
    }
}

type Built = Result<Opt, (Rule, Why, bool)>;

#[allow(clippy::too_many_arguments)]
fn build_option(
    ctx: &Context<'_>,
    ci: usize,
    si: usize,
    sti: usize,
    mode: EscortMode,
    team_site: Option<usize>,
    depart: i64,
    q_delay: i64,
    to_site: (i64, f64, f64),
    pre: &[(Step, i64)],
    q_len: i64,
    q_kind: RoomKind,
    deadline: i64,
    deadline_min: i64,
) -> Built {
    let region = ctx.region;
    let w = &ctx.settings.weights;
    let case = &ctx.state.pending[ci].case;
    let station = &region.stations[sti];
    let site = &region.sites[si];
    let n = case.persons.len() as i64;
    let k_q = region.policy.min_questioning_officers;
    let k_escort = region.policy.min_escort_officers;
    if depart >= ctx.settings.horizon_slots() {
        return Err((Rule::LegalLimit, Why::Horizon, true));
    }
    let mut drive_min = to_site.1;
    let mut km = to_site.2;
    let (pickup, arrive);
    let mut home_leg_slots = 0;
    match mode {
        EscortMode::Station => {
            pickup = depart;
            arrive = pickup + to_site.0;
        }
        EscortMode::Team => {
            let ts_i = team_site.expect("team site");
            let ts = &region.sites[ts_i];
            let out_leg = ctx.leg_site_station(ts_i, sti).ok_or_else(|| {
                (
                    Rule::Reference,
                    Why::Text(format!("no travel time from {} to {}", ts.id, station.id)),
                    true,
                )
            })?;
            let home_leg = ctx.leg_site_site(si, ts_i).ok_or_else(|| {
                (
                    Rule::Reference,
                    Why::Text(format!("no travel time from {} to {}", site.id, ts.id)),
                    true,
                )
            })?;
            pickup = depart + out_leg.0;
            arrive = pickup + to_site.0;
            drive_min += out_leg.1 + home_leg.1;
            km += out_leg.2 + home_leg.2;
            home_leg_slots = home_leg.0;
        }
    }
    // Persons are taken in one after another, spaced so that no step needs
    // more rooms than the site has (a no-wait flow shop of identical jobs).
    let rooms_of = |kind: RoomKind| ctx.recording_rooms(si, kind).max(1) as i64;
    let stagger = pre
        .iter()
        .map(|&(step, len)| {
            (len + rooms_of(step.room_kind(case.category)) - 1)
                / rooms_of(step.room_kind(case.category))
        })
        .max()
        .unwrap_or(1);
    let mut persons = Vec::with_capacity(case.persons.len());
    let mut usage_list = Vec::with_capacity(case.persons.len() * 8 + 4);
    let mut q_end_max = 0;
    let mut wait_min = 0.0;
    // Persons questioned at once: the station's own officers question one
    // person at a time; the site's investigators as many as it has rooms.
    let parallel = match mode {
        EscortMode::Station => 1,
        EscortMode::Team => {
            let rooms = ctx.recording_rooms(si, q_kind);
            let pairs = ctx.site_investigators[si].len() / (k_q as usize).max(1);
            rooms.min(pairs).max(1)
        }
    };
    let mut q_ends: Vec<i64> = Vec::with_capacity(case.persons.len());
    for (pj, person) in case.persons.iter().enumerate() {
        let mut t = arrive + pj as i64 * stagger;
        let mut steps = Vec::with_capacity(pre.len() + 2);
        for &(step, len) in pre {
            steps.push((step, t, t + len));
            t += len;
        }
        let room_free = if pj >= parallel {
            q_ends[pj - parallel]
        } else {
            0
        };
        let q_start = (t + q_delay).max(room_free);
        if q_start > t {
            steps.push((Step::Holding, t, q_start));
        }
        let q_end = q_start + q_len;
        q_ends.push(q_end);
        steps.push((Step::Questioning, q_start, q_end));
        q_end_max = q_end_max.max(q_end);
        wait_min += ((q_start - arrive) * ctx.slot) as f64;
        // Capacity use.
        for &(step, a, b) in &steps {
            match step {
                Step::Holding if person.juvenile => {
                    usage(&mut usage_list, Resource::JuvenileHolding(si), a, b, 1)
                }
                Step::Holding => {
                    usage(&mut usage_list, Resource::AdultHolding(si), a, b, 1);
                    if person.co_suspect_group.is_some() {
                        usage(&mut usage_list, Resource::CoSuspectHolding(si), a, b, 1);
                    }
                }
                Step::Questioning => {
                    usage(&mut usage_list, Resource::Rooms(si, q_kind), a, b, 1);
                    if mode == EscortMode::Team {
                        usage(&mut usage_list, Resource::Investigators(si), a, b, k_q);
                        if person.gender == Gender::Female && person.juvenile {
                            usage(&mut usage_list, Resource::FemaleInvestigators(si), a, b, 1);
                        }
                    }
                }
                Step::Search => {
                    usage(
                        &mut usage_list,
                        Resource::Rooms(si, RoomKind::Search),
                        a,
                        b,
                        1,
                    );
                    usage(&mut usage_list, Resource::Searchers(si), a, b, 1);
                    if person.gender == Gender::Female {
                        usage(&mut usage_list, Resource::FemaleSearchers(si), a, b, 1);
                    }
                }
                other => usage(
                    &mut usage_list,
                    Resource::Rooms(si, other.room_kind(case.category)),
                    a,
                    b,
                    1,
                ),
            }
        }
        persons.push(PersonTimeline { person: pj, steps });
    }
    let q_end_min = q_end_max * ctx.slot;
    if q_end_max > deadline || q_end_min > deadline_min {
        // Later delays only end later: stop when even no delay is too late.
        return Err((
            Rule::LegalLimit,
            Why::Late {
                site: si,
                by: q_end_min - deadline_min,
            },
            q_delay == 0,
        ));
    }
    let slack_min = deadline_min - q_end_min;
    let any_female = case.persons.iter().any(|p| p.gender == Gender::Female);
    let back;
    let mut station_left = None;
    let mut away_cost = 0.0;
    let mut officer_hours = 0.0;
    match mode {
        EscortMode::Station => {
            let (ret, ret_min, ret_km) = ctx.leg_site_station(si, sti).ok_or_else(|| {
                (
                    Rule::Reference,
                    Why::Text(format!("no travel time from {} to {}", site.id, station.id)),
                    true,
                )
            })?;
            back = q_end_max + ret;
            drive_min += ret_min;
            km += ret_km;
            let k = k_escort.max(k_q);
            usage(
                &mut usage_list,
                Resource::StationOfficers(sti),
                depart,
                back,
                k,
            );
            usage(
                &mut usage_list,
                Resource::StationSpare(sti),
                depart,
                back,
                k,
            );
            if any_female {
                usage(
                    &mut usage_list,
                    Resource::FemaleStationOfficers(sti),
                    depart,
                    back,
                    1,
                );
            }
            // Statically impossible: not enough of the crew on shift for the whole trip,
            // or the station cannot spare them at all.
            if !enough_on_shift(
                ctx,
                ctx.station_crew(sti).map(|c| c.0),
                depart,
                back,
                k as usize,
            ) {
                return Err((
                    Rule::OfficerUnavailable,
                    Why::CrewOff { k, station: sti },
                    false,
                ));
            }
            if any_female
                && !enough_on_shift(
                    ctx,
                    ctx.station_crew(sti)
                        .filter(|c| c.1.gender == Gender::Female)
                        .map(|c| c.0),
                    depart,
                    back,
                    1,
                )
            {
                return Err((
                    Rule::FemaleEscort,
                    Why::FemaleCrewOff { station: sti },
                    false,
                ));
            }
            let spare_row = ctx.capacity.get(&Resource::StationSpare(sti));
            let spare = (depart..back)
                .map(|k| match spare_row {
                    Some(v) if (0..ctx.slots).contains(&k) => v[k as usize],
                    _ => 0,
                })
                .min()
                .unwrap_or(0)
                - k as i32;
            if spare < 0 {
                return Err((
                    Rule::StationMinimum,
                    Why::Minimum {
                        station: sti,
                        spare,
                    },
                    false,
                ));
            }
            station_left = Some(station.min_on_duty as i32 + spare);
            let minutes = ((back - depart) * ctx.slot) as f64;
            officer_hours = f64::from(k) * minutes / 60.0;
            away_cost = f64::from(k)
                * minutes
                * w.officer_away
                * (1.0 + w.near_minimum / (f64::from(spare) + 1.0));
        }
        EscortMode::Team => {
            let ts = team_site.expect("team site");
            // The team stays until the last person has been taken in.
            back = arrive + (n - 1) * stagger + home_leg_slots;
            usage(&mut usage_list, Resource::Teams(ts), depart, back, 1);
            if any_female {
                usage(&mut usage_list, Resource::FemaleTeams(ts), depart, back, 1);
            }
            let team_ok = ctx.site_teams[ts].iter().any(|&ti| {
                let members = &ctx.team_members[ti];
                let fem_ok = !any_female
                    || members
                        .iter()
                        .any(|&m| region.officers[m].gender == Gender::Female);
                fem_ok && enough_on_shift(ctx, members.iter().copied(), depart, back, members.len())
            });
            if !team_ok {
                return Err((Rule::TeamUnavailable, Why::TeamOff { site: ts }, false));
            }
        }
    }
    // Questioning staff on shift for the whole questioning.
    if mode == EscortMode::Team {
        let staff = &ctx.site_investigators[si];
        for p in &persons {
            let &(_, a, b) = p.steps.last().expect("questioning step");
            if !enough_on_shift(ctx, staff.iter().copied(), a, b, k_q as usize) {
                return Err((
                    Rule::QuestioningOfficers,
                    Why::InvestigatorsOff { k: k_q, site: si },
                    false,
                ));
            }
        }
    }
    // The option's own use of each resource must fit what is left (a cheap
    // pre-check; the MILP and the booker check it against the other cases).
    // Resource by resource in order, slot by slot: the first short one is reported.
    let mut by_resource: Vec<&Usage> = usage_list.iter().collect();
    by_resource.sort_by_key(|u| u.resource);
    let mut short = None;
    let mut summed: Vec<i32> = Vec::new();
    for group in by_resource.chunk_by(|a, b| a.resource == b.resource) {
        let r = group[0].resource;
        let row = ctx.capacity.get(&r).map(Vec::as_slice);
        let left = |k: i64| match row {
            Some(v) if (0..ctx.slots).contains(&k) => v[k as usize],
            _ => 0,
        };
        if let [u] = group {
            if let Some(k) = (u.from..u.to).find(|&k| left(k) < u.amount as i32) {
                short = Some((r, k));
                break;
            }
            continue;
        }
        let from = group.iter().map(|u| u.from).min().unwrap_or(0);
        let to = group.iter().map(|u| u.to).max().unwrap_or(0);
        summed.clear();
        summed.resize((to - from) as usize, 0);
        for u in group {
            for x in &mut summed[(u.from - from) as usize..(u.to - from) as usize] {
                *x += u.amount as i32;
            }
        }
        if let Some(k) = (from..to).find(|&k| {
            let a = summed[(k - from) as usize];
            a > 0 && left(k) < a
        }) {
            short = Some((r, k));
            break;
        }
    }
    if let Some((r, k)) = short {
        return Err((rule_of(r), Why::Short(r, k), false));
    }
    let thin = (w.slack_threshold_min - slack_min as f64).max(0.0);
    let mut cost = CostBreakdown {
        officer_hours_away: officer_hours,
        officer_away_cost: away_cost,
        escort_travel_cost: drive_min * w.escort_travel,
        waiting_cost: wait_min * w.waiting,
        thin_slack_cost: thin * w.thin_slack,
        total: 0.0,
    };
    cost.total =
        cost.officer_away_cost + cost.escort_travel_cost + cost.waiting_cost + cost.thin_slack_cost;
    Ok(Opt {
        case: ci,
        site: si,
        mode,
        team_site,
        depart,
        pickup,
        arrive,
        back,
        drive_min,
        km,
        persons,
        usage: usage_list,
        questioning_end: q_end_max,
        slack_min,
        station_left,
        cost,
    })
}

/// The rule behind a lack of capacity of a resource.
pub fn rule_of(r: Resource) -> Rule {
    match r {
        Resource::Rooms(..) => Rule::RoomDoubleBooked,
        Resource::AdultHolding(_) => Rule::HoldingCapacity,
        Resource::JuvenileHolding(_) => Rule::JuvenileSeparation,
        Resource::CoSuspectHolding(_) => Rule::CoSuspectSeparation,
        Resource::Investigators(_) => Rule::QuestioningOfficers,
        Resource::FemaleInvestigators(_) => Rule::FemaleJuvenileQuestioning,
        Resource::Searchers(_) => Rule::OfficerUnavailable,
        Resource::FemaleSearchers(_) => Rule::FemaleSearch,
        Resource::Teams(_) => Rule::TeamUnavailable,
        Resource::FemaleTeams(_) => Rule::FemaleEscort,
        Resource::StationOfficers(_) => Rule::EscortOfficers,
        Resource::FemaleStationOfficers(_) => Rule::FemaleEscort,
        Resource::StationSpare(_) => Rule::StationMinimum,
    }
}

/// A resource in words.
pub fn describe(ctx: &Context<'_>, r: Resource) -> String {
    let site = |i: usize| ctx.region.sites[i].id.as_str();
    let station = |i: usize| ctx.region.stations[i].id.as_str();
    match r {
        Resource::Rooms(s, k) => format!("{k} rooms at {}", site(s)),
        Resource::AdultHolding(s) => format!("holding at {}", site(s)),
        Resource::JuvenileHolding(s) => format!("juvenile holding at {}", site(s)),
        Resource::CoSuspectHolding(s) => {
            format!("separate holding rooms for co-suspects at {}", site(s))
        }
        Resource::Investigators(s) => format!("questioning officers at {}", site(s)),
        Resource::FemaleInvestigators(s) => format!("female questioning officers at {}", site(s)),
        Resource::Searchers(s) => format!("searchers at {}", site(s)),
        Resource::FemaleSearchers(s) => format!("female searchers at {}", site(s)),
        Resource::Teams(s) => format!("escort teams of {}", site(s)),
        Resource::FemaleTeams(s) => format!("escort teams with a woman of {}", site(s)),
        Resource::StationOfficers(s) => format!("officers of station {}", station(s)),
        Resource::FemaleStationOfficers(s) => format!("female officers of station {}", station(s)),
        Resource::StationSpare(s) => format!("officers station {} can spare", station(s)),
    }
}
