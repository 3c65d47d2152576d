//! Turning chosen options into named rooms, officers and teams.
//!
//! Options only count capacity; the [`Booker`] picks the actual room, searcher,
//! questioning officers, escort officers or team for each, keeping every booking it
//! has made (and everything already booked in the state) in an exact
//! per-room, per-officer, per-team ledger. Booking fails, and changes nothing,
//! when no concrete choice fits.

use casehub_model::{Gender, GroupId, Post, Qualification, RoomKind, Step};

use crate::capacity::{Context, runs};
use crate::options::{Opt, options_leaving_at};
use crate::plan::{CasePlan, Escort, EscortMode, PersonPlan, StepBooking, Vehicle};
use crate::vehicles::carries_woman;

#[derive(Debug, Clone)]
struct Stay {
    from: i64,
    to: i64,
    juvenile: bool,
    group: Option<GroupId>,
}

/// One addition to the ledger, so that a failed booking can be undone.
#[derive(Debug, Clone, Copy)]
enum Added {
    Room(usize),
    Officer(usize),
    Team(usize),
    Away(usize),
}

/// Why an option could not be booked with named rooms, officers and teams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookFail {
    EscortOfficers,
    FemaleEscort,
    StationMinimum,
    Team,
    Room(Step),
    Searcher,
    Questioners,
    FemaleQuestioner,
    JuvenileQuestioner,
}

/// The exact ledger of who and what is booked when.
#[derive(Debug, Clone)]
pub struct Booker {
    rooms: Vec<Vec<Stay>>,
    officers: Vec<Vec<(i64, i64)>>,
    teams: Vec<Vec<(i64, i64)>>,
    /// Officers away from each station: (from, to, count).
    away: Vec<Vec<(i64, i64, i32)>>,
    undo: Vec<Added>,
}

/// The concrete choices for one option.
#[derive(Debug, Clone, PartialEq)]
pub struct Booking {
    /// Per person, per step: the room id.
    pub rooms: Vec<Vec<String>>,
    /// Per person: the searcher.
    pub searcher: Vec<usize>,
    /// Per person: the questioning officers.
    pub questioners: Vec<Vec<usize>>,
    pub escort_officers: Vec<usize>,
    /// The team of each vehicle, for a team escort.
    pub teams: Vec<usize>,
    /// The escorting officers of each vehicle.
    pub vehicle_officers: Vec<Vec<usize>>,
}

/// What [`Booker::book_escort`] books.
struct Escorted {
    officers: Vec<usize>,
    teams: Vec<usize>,
    by_vehicle: Vec<Vec<usize>>,
}

fn overlaps(list: &[(i64, i64)], from: i64, to: i64) -> bool {
    list.iter().any(|&(a, b)| a < to && from < b)
}

impl Booker {
    /// A ledger holding everything already booked in the state.
    pub fn new(ctx: &Context<'_>) -> Self {
        let region = ctx.region;
        let mut b = Booker {
            rooms: vec![Vec::new(); ctx.rooms.len()],
            officers: vec![Vec::new(); region.officers.len()],
            teams: vec![Vec::new(); region.escort_teams.len()],
            away: vec![Vec::new(); region.stations.len()],
            undo: Vec::new(),
        };
        for r in &ctx.state.room_bookings {
            if let Some(&ri) = ctx.room_index.get(r.room.as_str()) {
                b.rooms[ri].push(Stay {
                    from: ctx.slot_of(r.start),
                    to: ctx.slot_of_ceil(r.end),
                    juvenile: r.juvenile,
                    group: r.group.clone(),
                });
            }
        }
        // A closed room is full: as many stays as it holds.
        for c in &ctx.state.room_closures {
            if let (Some(&ri), Some(&(_, room))) = (
                ctx.room_index.get(c.room.as_str()),
                ctx.room_of(c.room.as_str()),
            ) {
                for _ in 0..room.capacity.max(1) {
                    b.rooms[ri].push(Stay {
                        from: ctx.slot_of(c.start),
                        to: ctx.slot_of_ceil(c.end),
                        juvenile: false,
                        group: None,
                    });
                }
            }
        }
        for c in &ctx.state.officer_commitments {
            if let Some(&oi) = ctx.officer_index.get(c.officer.as_str()) {
                let (from, to) = (ctx.slot_of(c.start), ctx.slot_of_ceil(c.end));
                b.officers[oi].push((from, to));
                if let (true, Post::Station(s)) = (c.away_from_station, &region.officers[oi].post) {
                    // Away from the station's duty only while on shift.
                    let sti = ctx.station_index[s.as_str()];
                    let on = |k: i64| ctx.on_shift[oi][k as usize];
                    for (a, z) in runs(from, to, ctx.slots, on) {
                        b.away[sti].push((a, z, 1));
                    }
                }
            }
        }
        for c in &ctx.state.team_commitments {
            if let Some(ti) = region.escort_teams.iter().position(|t| t.id == c.team) {
                let (from, to) = (ctx.slot_of(c.start), ctx.slot_of_ceil(c.end));
                b.teams[ti].push((from, to));
                // The members are out with their team.
                for m in &region.escort_teams[ti].members {
                    if let Some(&oi) = ctx.officer_index.get(m.as_str()) {
                        b.officers[oi].push((from, to));
                    }
                }
            }
        }
        b
    }

    fn away_at(&self, sti: usize, k: i64) -> i32 {
        self.away[sti]
            .iter()
            .filter(|&&(a, b, _)| a <= k && k < b)
            .map(|x| x.2)
            .sum()
    }

    fn officer_free(&self, ctx: &Context<'_>, oi: usize, from: i64, to: i64) -> bool {
        let shift_ok = (from.max(0)..to.min(ctx.slots)).all(|k| ctx.on_shift[oi][k as usize]);
        shift_ok && !overlaps(&self.officers[oi], from, to)
    }

    fn busy(&mut self, oi: usize, from: i64, to: i64) {
        self.officers[oi].push((from, to));
        self.undo.push(Added::Officer(oi));
    }

    fn room_fits(
        &self,
        ri: usize,
        room: &casehub_model::Room,
        from: i64,
        to: i64,
        juvenile: bool,
        group: &Option<GroupId>,
    ) -> bool {
        let stays = &self.rooms[ri];
        if room.kind != RoomKind::Holding {
            return !stays.iter().any(|s| s.from < to && from < s.to);
        }
        let during: Vec<&Stay> = stays
            .iter()
            .filter(|s| s.from < to && from < s.to)
            .collect();
        if during.iter().any(|s| s.juvenile != juvenile) {
            return false;
        }
        if group.is_some() && during.iter().any(|s| s.group == *group) {
            return false;
        }
        // Peak occupancy over the interval, counting this person.
        (from..to).all(|k| {
            during.iter().filter(|s| s.from <= k && k < s.to).count() < room.capacity as usize
        })
    }

    /// Book an option with concrete rooms, officers and team; on failure the
    /// ledger is left as it was.
    pub fn book(&mut self, ctx: &Context<'_>, opt: &Opt) -> Result<Booking, BookFail> {
        self.book_all(ctx, &[opt])
            .map(|mut b| b.remove(0))
            .map_err(|(_, why)| why)
    }

    /// Book several options at once, resource kind by resource kind in order
    /// of start time (escorts by departure, then every step, then the
    /// questioners), which is how interval bookings on interchangeable rooms
    /// and officers succeed whenever the counts allow. On failure the ledger is
    /// left as it was and the failing option's index is returned.
    pub fn book_all(
        &mut self,
        ctx: &Context<'_>,
        opts: &[&Opt],
    ) -> Result<Vec<Booking>, (usize, BookFail)> {
        self.undo.clear();
        let result = self.book_all_in_place(ctx, opts);
        if result.is_err() {
            self.rollback();
        }
        self.undo.clear();
        result
    }

    fn rollback(&mut self) {
        self.rollback_to(0);
    }

    /// Undo the additions made after the undo log had `len` entries.
    fn rollback_to(&mut self, len: usize) {
        while self.undo.len() > len {
            let Some(a) = self.undo.pop() else { break };
            match a {
                Added::Room(i) => drop(self.rooms[i].pop()),
                Added::Officer(i) => drop(self.officers[i].pop()),
                Added::Team(i) => drop(self.teams[i].pop()),
                Added::Away(i) => drop(self.away[i].pop()),
            }
        }
    }

    fn book_all_in_place(
        &mut self,
        ctx: &Context<'_>,
        opts: &[&Opt],
    ) -> Result<Vec<Booking>, (usize, BookFail)> {
        let mut bookings: Vec<Booking> = opts
            .iter()
            .map(|o| Booking {
                rooms: o
                    .persons
                    .iter()
                    .map(|p| vec![String::new(); p.steps.len()])
                    .collect(),
                searcher: vec![usize::MAX; o.persons.len()],
                questioners: vec![Vec::new(); o.persons.len()],
                escort_officers: Vec::new(),
                teams: Vec::new(),
                vehicle_officers: Vec::new(),
            })
            .collect();
        // Escorts in order of departure (teams without a woman go to cases
        // that need none, see book_escort).
        let mut order: Vec<usize> = (0..opts.len()).collect();
        order.sort_by_key(|&i| (opts[i].depart, opts[i].back));
        for i in order {
            let e = self.book_escort(ctx, opts[i]).map_err(|e| (i, e))?;
            bookings[i].escort_officers = e.officers;
            bookings[i].teams = e.teams;
            bookings[i].vehicle_officers = e.by_vehicle;
        }
        let mut steps: Vec<(i64, i64, usize, usize, usize)> = Vec::new();
        for (i, o) in opts.iter().enumerate() {
            for (pj, tl) in o.persons.iter().enumerate() {
                for (sj, &(_, from, to)) in tl.steps.iter().enumerate() {
                    steps.push((from, to, i, pj, sj));
                }
            }
        }
        // Rooms in order of start time; then searchers, women first (only
        // female staff may search them).
        steps.sort();
        for &(from, to, i, pj, sj) in &steps {
            let o = opts[i];
            let step = o.persons[pj].steps[sj].0;
            bookings[i].rooms[pj][sj] = self
                .book_room(ctx, o, pj, step, from, to)
                .map_err(|e| (i, e))?;
        }
        let woman = |i: usize, pj: usize| {
            let o: &Opt = opts[i];
            ctx.state.pending[o.case].case.persons[o.persons[pj].person].gender == Gender::Female
        };
        let mut searches: Vec<_> = steps
            .iter()
            .copied()
            .filter(|&(_, _, i, pj, sj)| opts[i].persons[pj].steps[sj].0 == Step::Search)
            .collect();
        searches.sort_by_key(|&(from, to, i, pj, sj)| (!woman(i, pj), from, to, i, pj, sj));
        for &(from, to, i, pj, _) in &searches {
            bookings[i].searcher[pj] = self
                .book_searcher(ctx, opts[i], pj, from, to)
                .map_err(|e| (i, e))?;
        }
        // Questioners in order of start time; if that fails, once more with
        // female juveniles first (they need one of the fewer women).
        let mut questionings: Vec<_> = steps
            .iter()
            .copied()
            .filter(|&(_, _, i, pj, sj)| opts[i].persons[pj].steps[sj].0 == Step::Questioning)
            .collect();
        questionings.sort();
        let mark = self.undo.len();
        let mut result = self.book_questionings(ctx, opts, &questionings, &mut bookings);
        if result.is_err() {
            self.rollback_to(mark);
            let female_juvenile = |i: usize, pj: usize| {
                let o: &Opt = opts[i];
                let p = &ctx.state.pending[o.case].case.persons[o.persons[pj].person];
                p.gender == Gender::Female && p.juvenile
            };
            questionings.sort_by_key(|&(from, to, i, pj, sj)| {
                (!female_juvenile(i, pj), from, to, i, pj, sj)
            });
            let retry = self.book_questionings(ctx, opts, &questionings, &mut bookings);
            if retry.is_ok() {
                result = retry;
            } else {
                // Report the failure of the plain order, which names the
                // questioning that could not be staffed in time order.
                self.rollback_to(mark);
                questionings.sort();
                result = self.book_questionings(ctx, opts, &questionings, &mut bookings);
            }
        }
        result.map(|()| bookings)
    }

    fn book_questionings(
        &mut self,
        ctx: &Context<'_>,
        opts: &[&Opt],
        list: &[(i64, i64, usize, usize, usize)],
        bookings: &mut [Booking],
    ) -> Result<(), (usize, BookFail)> {
        for &(from, to, i, pj, _) in list {
            let q = self
                .book_questioners(ctx, opts[i], pj, from, to, &bookings[i].escort_officers)
                .map_err(|e| (i, e))?;
            bookings[i].questioners[pj] = q;
        }
        Ok(())
    }

    /// The escort: station officers (checking the station's minimum) or
    /// teams, one per vehicle: the escorting officers, the teams, and each
    /// vehicle's officers.
    fn book_escort(&mut self, ctx: &Context<'_>, opt: &Opt) -> Result<Escorted, BookFail> {
        let region = ctx.region;
        let policy = &region.policy;
        let case = &ctx.state.pending[opt.case].case;
        let k_q = policy.min_questioning_officers as usize;
        let k_escort = policy.min_escort_officers as usize;
        let carries_woman: Vec<bool> = opt
            .vehicles
            .iter()
            .map(|v| carries_woman(&case.persons, v))
            .collect();
        let n_vehicles = opt.vehicles.len().max(1);
        let female_vehicles = carries_woman.iter().filter(|&&f| f).count();
        match opt.mode {
            EscortMode::Station => {
                let sti = ctx.station_index[case.origin.as_str()];
                let k = (k_escort * n_vehicles).max(k_q);
                let crew: Vec<(usize, bool)> = ctx
                    .station_crew(sti)
                    .filter(|&(oi, _)| self.officer_free(ctx, oi, opt.depart, opt.back))
                    .map(|(oi, o)| (oi, o.gender == Gender::Female))
                    .collect();
                let women: Vec<usize> = crew.iter().filter(|c| c.1).map(|c| c.0).collect();
                if women.len() < female_vehicles {
                    return Err(BookFail::FemaleEscort);
                }
                if crew.len() < k {
                    return Err(BookFail::EscortOfficers);
                }
                // A woman for each vehicle carrying one, then the men (to
                // keep the women for the cases that need them), then the
                // other women.
                let mut chosen: Vec<usize> = women[..female_vehicles].to_vec();
                chosen.extend(
                    crew.iter()
                        .filter(|c| !c.1)
                        .map(|c| c.0)
                        .chain(women[female_vehicles..].iter().copied())
                        .take(k - female_vehicles),
                );
                // A juvenile-trained officer among them to question a juvenile.
                let trained = |oi: usize| region.officers[oi].can(Qualification::Juvenile);
                if policy.juvenile_questioning
                    && case.persons.iter().any(|p| p.juvenile)
                    && !chosen.iter().any(|&oi| trained(oi))
                {
                    // Replace the last one, a woman only by a trained woman.
                    let last_is_needed_woman = k <= female_vehicles;
                    let Some(&(t, _)) = crew.iter().find(|c| {
                        !chosen.contains(&c.0) && trained(c.0) && (c.1 || !last_is_needed_woman)
                    }) else {
                        return Err(BookFail::JuvenileQuestioner);
                    };
                    chosen[k - 1] = t;
                }
                // The station's minimum, slot by slot.
                let station = &region.stations[sti];
                let posted: Vec<usize> = region
                    .officers
                    .iter()
                    .enumerate()
                    .filter(|(_, o)| o.post == Post::Station(station.id.clone()))
                    .map(|(i, _)| i)
                    .collect();
                for slot in opt.depart.max(0)..opt.back.min(ctx.slots) {
                    let on_duty = posted
                        .iter()
                        .filter(|&&oi| ctx.on_shift[oi][slot as usize])
                        .count() as i32;
                    if on_duty - self.away_at(sti, slot) - (k as i32) < station.min_on_duty as i32 {
                        return Err(BookFail::StationMinimum);
                    }
                }
                self.away[sti].push((opt.depart, opt.back, k as i32));
                self.undo.push(Added::Away(sti));
                for &oi in &chosen {
                    self.busy(oi, opt.depart, opt.back);
                }
                // Each vehicle carrying a woman takes one of the women put
                // first; the others are dealt out in turn.
                let mut by_vehicle = vec![Vec::new(); n_vehicles];
                let mut next_woman = 0;
                for (v, &f) in carries_woman.iter().enumerate() {
                    if f {
                        by_vehicle[v].push(chosen[next_woman]);
                        next_woman += 1;
                    }
                }
                for &oi in &chosen[next_woman..] {
                    let v = (0..n_vehicles)
                        .min_by_key(|&v| by_vehicle[v].len())
                        .unwrap_or(0);
                    by_vehicle[v].push(oi);
                }
                Ok(Escorted {
                    officers: chosen,
                    teams: Vec::new(),
                    by_vehicle,
                })
            }
            EscortMode::Team => {
                let ts = &region.sites[opt.team_site.ok_or(BookFail::Team)?];
                let has_woman = |t: &casehub_model::EscortTeam| {
                    t.members.iter().any(|m| {
                        region
                            .officer(m.as_str())
                            .is_some_and(|o| o.gender == Gender::Female)
                    })
                };
                // Teams without a woman first, unless one is needed.
                let mut teams: Vec<(usize, &casehub_model::EscortTeam)> =
                    region.escort_teams.iter().enumerate().collect();
                teams.sort_by_key(|(_, t)| has_woman(t));
                let mut sizes: Vec<u32> = opt.vehicles.iter().map(|v| v.len() as u32).collect();
                if sizes.is_empty() {
                    sizes.push(case.persons.len() as u32);
                }
                // The vehicles carrying a woman choose first.
                let mut order: Vec<usize> = (0..n_vehicles).collect();
                order.sort_by_key(|&v| !carries_woman.get(v).copied().unwrap_or(false));
                let mut picked: Vec<Option<usize>> = vec![None; n_vehicles];
                for v in order {
                    let woman = carries_woman.get(v).copied().unwrap_or(false);
                    let ti = teams
                        .iter()
                        .find_map(|&(ti, t)| {
                            if t.site != ts.id
                                || picked.contains(&Some(ti))
                                || t.passenger_seats() < sizes[v]
                                || overlaps(&self.teams[ti], opt.depart, opt.back)
                            {
                                return None;
                            }
                            let members: Vec<usize> = t
                                .members
                                .iter()
                                .filter_map(|m| ctx.officer_index.get(m.as_str()).copied())
                                .collect();
                            let female_ok = !woman
                                || members
                                    .iter()
                                    .any(|&m| region.officers[m].gender == Gender::Female);
                            (female_ok
                                && members
                                    .iter()
                                    .all(|&m| self.officer_free(ctx, m, opt.depart, opt.back)))
                            .then_some(ti)
                        })
                        .ok_or(BookFail::Team)?;
                    picked[v] = Some(ti);
                }
                let picked: Vec<usize> = picked.into_iter().flatten().collect();
                let mut officers = Vec::new();
                let mut by_vehicle = Vec::with_capacity(picked.len());
                for &ti in &picked {
                    self.teams[ti].push((opt.depart, opt.back));
                    self.undo.push(Added::Team(ti));
                    let members: Vec<usize> = region.escort_teams[ti]
                        .members
                        .iter()
                        .filter_map(|m| ctx.officer_index.get(m.as_str()).copied())
                        .collect();
                    for &m in &members {
                        self.busy(m, opt.depart, opt.back);
                    }
                    officers.extend(members.iter().copied());
                    by_vehicle.push(members);
                }
                Ok(Escorted {
                    officers,
                    teams: picked,
                    by_vehicle,
                })
            }
        }
    }

    /// The room of one step.
    fn book_room(
        &mut self,
        ctx: &Context<'_>,
        opt: &Opt,
        pj: usize,
        step: Step,
        from: i64,
        to: i64,
    ) -> Result<String, BookFail> {
        let case = &ctx.state.pending[opt.case].case;
        let site = &ctx.region.sites[opt.site];
        let person = &case.persons[opt.persons[pj].person];
        let kind = step.room_kind(case.category);
        // A juvenile is questioned in a juvenile-suitable room (when the
        // policy says so); others in the other rooms first, to keep those free.
        let juvenile_room =
            step == Step::Questioning && person.juvenile && ctx.region.policy.juvenile_questioning;
        let mut rooms: Vec<&casehub_model::Room> = site
            .rooms
            .iter()
            .filter(|r| r.kind == kind && r.recording && (!juvenile_room || r.juvenile_suitable))
            .collect();
        if step == Step::Questioning && !juvenile_room {
            rooms.sort_by_key(|r| r.juvenile_suitable);
        }
        let (ri, room) = rooms
            .into_iter()
            .map(|r| (ctx.room_index[r.id.as_str()], r))
            .find(|&(ri, r)| {
                let juvenile_room_ok =
                    kind != RoomKind::Holding || r.juvenile_suitable == person.juvenile;
                juvenile_room_ok
                    && self.room_fits(ri, r, from, to, person.juvenile, &person.co_suspect_group)
            })
            .ok_or(BookFail::Room(step))?;
        self.rooms[ri].push(Stay {
            from,
            to,
            juvenile: person.juvenile,
            group: person.co_suspect_group.clone(),
        });
        self.undo.push(Added::Room(ri));
        Ok(room.id.to_string())
    }

    /// The searcher of a search. Women search women; men are searched by men
    /// where possible, to keep the female searchers free.
    fn book_searcher(
        &mut self,
        ctx: &Context<'_>,
        opt: &Opt,
        pj: usize,
        from: i64,
        to: i64,
    ) -> Result<usize, BookFail> {
        let region = ctx.region;
        let person = &ctx.state.pending[opt.case].case.persons[opt.persons[pj].person];
        let searcher = region
            .officers
            .iter()
            .enumerate()
            .filter(|(oi, o)| {
                ctx.searcher(*oi, opt.site)
                    && (person.gender == Gender::Male || o.gender == Gender::Female)
                    && self.officer_free(ctx, *oi, from, to)
            })
            .min_by_key(|(_, o)| o.gender != person.gender)
            .map(|(oi, _)| oi)
            .ok_or(BookFail::Searcher)?;
        self.busy(searcher, from, to);
        Ok(searcher)
    }

    /// The questioning officers: the escorting station officers, or the
    /// site's own questioning officers.
    fn book_questioners(
        &mut self,
        ctx: &Context<'_>,
        opt: &Opt,
        pj: usize,
        from: i64,
        to: i64,
        escort: &[usize],
    ) -> Result<Vec<usize>, BookFail> {
        if opt.mode == EscortMode::Station {
            return Ok(escort.to_vec());
        }
        let region = ctx.region;
        let k_q = region.policy.min_questioning_officers as usize;
        let case = &ctx.state.pending[opt.case].case;
        let person = &case.persons[opt.persons[pj].person];
        // (officer, woman, juvenile-trained)
        let mut pool: Vec<(usize, bool, bool)> = region
            .officers
            .iter()
            .enumerate()
            .filter(|(oi, _)| {
                ctx.questioner(*oi, opt.site) && self.officer_free(ctx, *oi, from, to)
            })
            .map(|(oi, o)| {
                (
                    oi,
                    o.gender == Gender::Female,
                    o.can(Qualification::Juvenile),
                )
            })
            .collect();
        // Men and the untrained first, to keep the fewer women and
        // juvenile-trained officers free; a female juvenile gets one woman
        // and a juvenile one trained officer (the capacities the options
        // count), trained women first for both at once.
        pool.sort_by_key(|&(_, f, j)| (f, j));
        let juvenile = person.juvenile && region.policy.juvenile_questioning;
        if person.gender == Gender::Female && person.juvenile {
            let at = pool
                .iter()
                .position(|p| p.1 && (p.2 || !juvenile))
                .or_else(|| pool.iter().position(|p| p.1))
                .ok_or(BookFail::FemaleQuestioner)?;
            let woman = pool.remove(at);
            pool.insert(0, woman);
        }
        if juvenile && !pool.iter().take(k_q.min(1)).any(|p| p.2) {
            let at = pool
                .iter()
                .skip(1)
                .position(|p| p.2)
                .ok_or(BookFail::JuvenileQuestioner)?;
            let trained = pool.remove(at + 1);
            pool.insert(1.min(pool.len()), trained);
        }
        if pool.len() < k_q {
            return Err(BookFail::Questioners);
        }
        let chosen: Vec<usize> = pool.iter().take(k_q).map(|p| p.0).collect();
        for &oi in &chosen {
            self.busy(oi, from, to);
        }
        Ok(chosen)
    }
}

/// Serve, where they can be, the cases a choice leaves out: each (earliest
/// deadline first) is booked at its earliest departure, slot by slot up to
/// the horizon, that still fits beside everything else, and is marked as
/// deferred with why it could not leave sooner. The choice's own cases are
/// booked again together first, so that their named rooms and officers and
/// the new ones agree. Returns the cases so served.
pub fn serve_later(ctx: &Context<'_>, chosen: &mut [Option<(Opt, Booking)>]) -> Vec<usize> {
    let mut left_out: Vec<usize> = (0..chosen.len())
        .filter(|&ci| chosen[ci].is_none())
        .collect();
    if left_out.is_empty() {
        return Vec::new();
    }
    let mut booker = Booker::new(ctx);
    let placed: Vec<usize> = (0..chosen.len())
        .filter(|&ci| chosen[ci].is_some())
        .collect();
    let opts: Vec<Opt> = placed
        .iter()
        .filter_map(|&ci| chosen[ci].as_ref().map(|(o, _)| o.clone()))
        .collect();
    let refs: Vec<&Opt> = opts.iter().collect();
    let Ok(bookings) = booker.book_all(ctx, &refs) else {
        return Vec::new();
    };
    for (&ci, b) in placed.iter().zip(bookings) {
        if let Some((_, old)) = &mut chosen[ci] {
            *old = b;
        }
    }
    left_out.sort_by_key(|&ci| ctx.deadline(&ctx.state.pending[ci].case).0);
    let regular = ctx.settings.start_delays.iter().copied().max().unwrap_or(0);
    let mut served = Vec::new();
    for ci in left_out {
        let why = "every earlier departure conflicts with the other cases' bookings";
        'delays: for delay in 0..ctx.settings.horizon_slots().max(0) as u32 {
            let (options, exhausted) = options_leaving_at(ctx, ci, delay);
            for mut o in options {
                if let Ok(b) = booker.book(ctx, &o) {
                    if delay > regular {
                        o.deferred.get_or_insert_with(|| why.to_string());
                    }
                    chosen[ci] = Some((o, b));
                    served.push(ci);
                    break 'delays;
                }
            }
            if exhausted {
                break;
            }
        }
    }
    served
}

/// The case plan for a booked option.
pub fn case_plan(ctx: &Context<'_>, opt: &Opt, b: &Booking) -> CasePlan {
    let region = ctx.region;
    let case = &ctx.state.pending[opt.case].case;
    let officer_id = |oi: usize| region.officers[oi].id.clone();
    let persons = opt
        .persons
        .iter()
        .enumerate()
        .map(|(pi, tl)| {
            let steps = tl
                .steps
                .iter()
                .zip(&b.rooms[pi])
                .map(|(&(step, from, to), room)| StepBooking {
                    step,
                    room: casehub_model::RoomId::new(room.clone())
                        .expect("room ids come from the validated region"),
                    start: ctx.time_of(from),
                    end: ctx.time_of(to),
                    staff: if step == Step::Search {
                        vec![officer_id(b.searcher[pi])]
                    } else {
                        Vec::new()
                    },
                })
                .collect();
            PersonPlan {
                person: case.persons[tl.person].id.clone(),
                steps,
                questioning_officers: b.questioners[pi].iter().map(|&oi| officer_id(oi)).collect(),
            }
        })
        .collect();
    let (deadline, _) = ctx.deadline(case);
    let q_end = ctx.time_of(opt.questioning_end);
    CasePlan {
        case: case.id.clone(),
        site: region.sites[opt.site].id.clone(),
        escort: Escort {
            mode: opt.mode,
            team: b
                .teams
                .first()
                .map(|&ti| region.escort_teams[ti].id.clone()),
            officers: b.escort_officers.iter().map(|&oi| officer_id(oi)).collect(),
            vehicles: if opt.vehicles.len() > 1 {
                opt.vehicles
                    .iter()
                    .enumerate()
                    .map(|(v, persons)| Vehicle {
                        team: b.teams.get(v).map(|&ti| region.escort_teams[ti].id.clone()),
                        officers: b
                            .vehicle_officers
                            .get(v)
                            .map(|o| o.iter().map(|&oi| officer_id(oi)).collect())
                            .unwrap_or_default(),
                        persons: persons
                            .iter()
                            .map(|&i| case.persons[i].id.clone())
                            .collect(),
                    })
                    .collect()
            } else {
                Vec::new()
            },
            depart: ctx.time_of(opt.depart),
            pickup: ctx.time_of(opt.pickup),
            arrive: ctx.time_of(opt.arrive),
            back: ctx.time_of(opt.back),
            drive_min: opt.drive_min,
            km: opt.km,
        },
        persons,
        deadline,
        slack_min: (deadline - q_end).num_minutes(),
        pinned: false,
        cost: opt.cost,
        explanation: None,
        deferred: opt.deferred.clone(),
    }
}
