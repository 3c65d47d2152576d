//! The capacity context of one planning run.
//!
//! [`Context`] is computed once per call of the engine from the [`State`] and
//! the [`Settings`]: the slot grid (slot 0 is `now` rounded up to it), the
//! region's indices (officers, sites, stations, rooms, teams), the travel legs
//! between stations and sites, and the capacity each [`Resource`] has left
//! per slot — rooms while their site is open, staff and teams while on
//! shift, station officers above the minimum — after the bookings and
//! commitments the state already holds. [`rule_of`] and [`describe`] name
//! the rule behind a resource and put it into words.

use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

use chrono::{DateTime, Duration, Utc};

use casehub_model::{Case, Gender, Officer, Post, Qualification, Region, Room, RoomKind, Step};

use crate::PlanError;
use crate::plan::Rule;
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
    /// Questioning officers (site officers who question) at a site.
    Questioners(usize),
    /// Female questioning officers at a site.
    FemaleQuestioners(usize),
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
    /// Juvenile-suitable rooms of a kind (not holding) at a site.
    JuvenileRooms(usize, RoomKind),
    /// Juvenile-trained questioning officers at a site.
    JuvenileQuestioners(usize),
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
    /// with their team only; they are not in the site's searcher or questioner pools.
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
    /// `site_questioners[site]`: its questioning officers, in region order.
    pub site_questioners: Vec<Vec<usize>>,
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
        let mut site_questioners = vec![Vec::new(); region.sites.len()];
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
                        site_questioners[si].push(oi);
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
            site_questioners,
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

    /// Whether officer `oi` is one of site `site`'s questioning officers.
    pub fn questioner(&self, oi: usize, site: usize) -> bool {
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
                    kind => {
                        add(&mut cap, slots, Resource::Rooms(si, kind), &open, 1);
                        if room.juvenile_suitable {
                            add(&mut cap, slots, Resource::JuvenileRooms(si, kind), &open, 1);
                        }
                    }
                }
            }
            for (oi, o) in self.officers_at_site(si) {
                let (questioner, searcher) = (self.questioner(oi, si), self.searcher(oi, si));
                let shift = &self.on_shift[oi];
                let female = o.gender == Gender::Female;
                if questioner {
                    add(&mut cap, slots, Resource::Questioners(si), shift, 1);
                    if female {
                        add(&mut cap, slots, Resource::FemaleQuestioners(si), shift, 1);
                    }
                    if o.can(Qualification::Juvenile) {
                        add(&mut cap, slots, Resource::JuvenileQuestioners(si), shift, 1);
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
        self.take_where(r, from, to, amount, |_| true);
    }

    /// [`Context::take`] at the slots of `[from, to)` where `at` holds.
    fn take_where(
        &mut self,
        r: Resource,
        from: i64,
        to: i64,
        amount: i32,
        at: impl Fn(usize) -> bool,
    ) {
        let slots = self.slots;
        if let Some(v) = self.capacity.get_mut(&r) {
            for k in from.max(0)..to.min(slots) {
                if at(k as usize) {
                    v[k as usize] -= amount;
                }
            }
        }
    }

    /// Remove what existing bookings and commitments already use: a room
    /// once per slot, booked or closed (a closed room takes all it holds,
    /// and its bookings meanwhile take nothing more); an officer or a team
    /// only while on shift, when it counted in the first place.
    fn subtract_existing(&mut self) -> Result<(), PlanError> {
        let state = self.state;
        // The slots each room is closed.
        let mut closed: HashMap<usize, Vec<bool>> = HashMap::default();
        for c in &state.room_closures {
            let ri = *self.room_index.get(c.room.as_str()).ok_or_else(|| {
                PlanError::State(format!("room closure names unknown room {}", c.room))
            })?;
            let (from, to) = (self.slot_of(c.start), self.slot_of_ceil(c.end));
            let row = closed
                .entry(ri)
                .or_insert_with(|| vec![false; self.slots as usize]);
            for k in from.max(0)..to.min(self.slots) {
                row[k as usize] = true;
            }
        }
        for (&ri, row) in &closed {
            let (si, room) = self.rooms[ri];
            for (from, to) in runs(0, self.slots, self.slots, |k| row[k as usize]) {
                match room.kind {
                    RoomKind::Holding if room.juvenile_suitable => {
                        self.take(Resource::JuvenileHolding(si), from, to, 1)
                    }
                    RoomKind::Holding => {
                        self.take(Resource::AdultHolding(si), from, to, room.capacity as i32);
                        self.take(Resource::CoSuspectHolding(si), from, to, 1);
                    }
                    kind => {
                        self.take(Resource::Rooms(si, kind), from, to, 1);
                        if room.juvenile_suitable {
                            self.take(Resource::JuvenileRooms(si, kind), from, to, 1);
                        }
                    }
                }
            }
        }
        let open = |closed: &HashMap<usize, Vec<bool>>, ri: usize| {
            let row = closed.get(&ri).cloned();
            move |k: usize| row.as_ref().is_none_or(|r| !r[k])
        };
        for b in &state.room_bookings {
            let ri = *self.room_index.get(b.room.as_str()).ok_or_else(|| {
                PlanError::State(format!("room booking names unknown room {}", b.room))
            })?;
            let (si, room) = self.rooms[ri];
            let (from, to) = (self.slot_of(b.start), self.slot_of_ceil(b.end));
            match room.kind {
                RoomKind::Holding if room.juvenile_suitable => self.take_where(
                    Resource::JuvenileHolding(si),
                    from,
                    to,
                    1,
                    open(&closed, ri),
                ),
                RoomKind::Holding => {
                    self.take_where(Resource::AdultHolding(si), from, to, 1, open(&closed, ri));
                    if b.group.is_some() {
                        self.take_where(
                            Resource::CoSuspectHolding(si),
                            from,
                            to,
                            1,
                            open(&closed, ri),
                        );
                    }
                }
                kind => {
                    self.take_where(Resource::Rooms(si, kind), from, to, 1, open(&closed, ri));
                    if room.juvenile_suitable {
                        self.take_where(
                            Resource::JuvenileRooms(si, kind),
                            from,
                            to,
                            1,
                            open(&closed, ri),
                        );
                    }
                }
            }
        }
        for c in &state.officer_commitments {
            let oi = *self.officer_index.get(c.officer.as_str()).ok_or_else(|| {
                PlanError::State(format!("commitment names unknown officer {}", c.officer))
            })?;
            let (from, to) = (self.slot_of(c.start), self.slot_of_ceil(c.end));
            let o = &self.region.officers[oi];
            let female = o.gender == Gender::Female;
            // Only while on shift: that is when the officer counted.
            let shift = self.on_shift[oi].clone();
            let on = |k: usize| shift[k];
            match &o.post {
                Post::Site(s) => {
                    let si = self.site_index[s.as_str()];
                    if self.questioner(oi, si) {
                        self.take_where(Resource::Questioners(si), from, to, 1, on);
                        if female {
                            self.take_where(Resource::FemaleQuestioners(si), from, to, 1, on);
                        }
                        if o.can(Qualification::Juvenile) {
                            self.take_where(Resource::JuvenileQuestioners(si), from, to, 1, on);
                        }
                    }
                    if self.searcher(oi, si) {
                        self.take_where(Resource::Searchers(si), from, to, 1, on);
                        if female {
                            self.take_where(Resource::FemaleSearchers(si), from, to, 1, on);
                        }
                    }
                }
                Post::Station(s) => {
                    let sti = self.station_index[s.as_str()];
                    if o.can(Qualification::Escort) && o.can(Qualification::Questioning) {
                        self.take_where(Resource::StationOfficers(sti), from, to, 1, on);
                        if female {
                            self.take_where(Resource::FemaleStationOfficers(sti), from, to, 1, on);
                        }
                    }
                    if c.away_from_station {
                        self.take_where(Resource::StationSpare(sti), from, to, 1, on);
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
            // Only while the whole team is on shift: when it counted.
            let rows: Vec<Arc<[bool]>> = self.team_members[ti]
                .iter()
                .map(|&m| self.on_shift[m].clone())
                .collect();
            let on = |k: usize| rows.iter().all(|r| r[k]);
            self.take_where(Resource::Teams(si), from, to, 1, on);
            if female {
                self.take_where(Resource::FemaleTeams(si), from, to, 1, on);
            }
        }
        Ok(())
    }

    /// What is left of resource `r` at slot `k` (0 outside the grid, or
    /// for a resource the region does not have).
    pub fn left(&self, r: Resource, k: i64) -> i32 {
        match self.capacity.get(&r) {
            Some(v) if (0..self.slots).contains(&k) => v[k as usize],
            _ => 0,
        }
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

/// The runs `[a, b)` of consecutive slots of `[from, to)`, within a grid
/// of `slots`, at which `on` holds.
pub(crate) fn runs(from: i64, to: i64, slots: i64, on: impl Fn(i64) -> bool) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut start = None;
    for k in from.max(0)..to.min(slots) {
        match (on(k), start) {
            (true, None) => start = Some(k),
            (false, Some(a)) => {
                out.push((a, k));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(a) = start {
        out.push((a, to.min(slots)));
    }
    out
}

/// The rule behind a lack of capacity of a resource.
pub fn rule_of(r: Resource) -> Rule {
    match r {
        Resource::Rooms(..) => Rule::RoomDoubleBooked,
        Resource::AdultHolding(_) => Rule::HoldingCapacity,
        Resource::JuvenileHolding(_) => Rule::JuvenileSeparation,
        Resource::CoSuspectHolding(_) => Rule::CoSuspectSeparation,
        Resource::Questioners(_) => Rule::QuestioningOfficers,
        Resource::FemaleQuestioners(_) => Rule::FemaleJuvenileQuestioning,
        Resource::JuvenileRooms(..) | Resource::JuvenileQuestioners(_) => Rule::JuvenileQuestioning,
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
        Resource::Questioners(s) => format!("questioning officers at {}", site(s)),
        Resource::FemaleQuestioners(s) => format!("female questioning officers at {}", site(s)),
        Resource::JuvenileRooms(s, kind) => {
            format!("juvenile-suitable {kind} rooms at {}", site(s))
        }
        Resource::JuvenileQuestioners(s) => {
            format!("juvenile-trained questioning officers at {}", site(s))
        }
        Resource::Searchers(s) => format!("searchers at {}", site(s)),
        Resource::FemaleSearchers(s) => format!("female searchers at {}", site(s)),
        Resource::Teams(s) => format!("escort teams of {}", site(s)),
        Resource::FemaleTeams(s) => format!("escort teams with a woman of {}", site(s)),
        Resource::StationOfficers(s) => format!("officers of station {}", station(s)),
        Resource::FemaleStationOfficers(s) => format!("female officers of station {}", station(s)),
        Resource::StationSpare(s) => format!("officers station {} can spare", station(s)),
    }
}

#[cfg(test)]
mod tests {
    use super::runs;

    #[test]
    fn runs_are_the_stretches_where_the_test_holds_within_the_grid() {
        let on = |k: i64| !(3..5).contains(&k) && k != 8;
        assert_eq!(runs(1, 10, 12, on), vec![(1, 3), (5, 8), (9, 10)]);
        // Clipped to the grid, at both ends.
        assert_eq!(runs(-4, 20, 6, on), vec![(0, 3), (5, 6)]);
        assert!(runs(3, 5, 12, on).is_empty());
        assert!(runs(7, 7, 12, on).is_empty());
    }
}
