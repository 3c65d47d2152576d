//! Turning chosen options into named rooms, officers and teams.
//!
//! Options only count capacity; the [`Booker`] picks the actual room, searcher,
//! investigators, escort officers or team for each, keeping every booking it
//! has made (and everything already booked in the state) in an exact
//! per-room, per-officer, per-team ledger. Booking fails, and changes nothing,
//! when no concrete choice fits.

use std::collections::HashMap;

use casehub_model::{Gender, GroupId, Post, Qualification, RoomKind, Step};

use crate::options::{Context, Opt};
use crate::plan::{CasePlan, Escort, EscortMode, PersonPlan, StepBooking};

#[derive(Debug, Clone)]
struct Stay {
    from: i64,
    to: i64,
    juvenile: bool,
    group: Option<GroupId>,
}

/// The exact ledger of who and what is booked when.
#[derive(Debug, Clone)]
pub struct Booker {
    rooms: HashMap<String, Vec<Stay>>,
    officers: Vec<Vec<(i64, i64)>>,
    teams: Vec<Vec<(i64, i64)>>,
    /// Officers away from each station per slot.
    away: Vec<Vec<i32>>,
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
    pub team: Option<usize>,
}

fn overlaps(list: &[(i64, i64)], from: i64, to: i64) -> bool {
    list.iter().any(|&(a, b)| a < to && from < b)
}

impl Booker {
    /// A ledger holding everything already booked in the state.
    pub fn new(ctx: &Context<'_>) -> Self {
        let region = ctx.region;
        let mut b = Booker {
            rooms: HashMap::new(),
            officers: vec![Vec::new(); region.officers.len()],
            teams: vec![Vec::new(); region.escort_teams.len()],
            away: vec![vec![0; ctx.slots as usize]; region.stations.len()],
        };
        for r in &ctx.state.room_bookings {
            b.rooms.entry(r.room.to_string()).or_default().push(Stay {
                from: ctx.slot_of(r.start),
                to: ctx.slot_of_ceil(r.end),
                juvenile: r.juvenile,
                group: r.group.clone(),
            });
        }
        for c in &ctx.state.officer_commitments {
            if let Some(&oi) = ctx.officer_index.get(c.officer.as_str()) {
                let (from, to) = (ctx.slot_of(c.start), ctx.slot_of_ceil(c.end));
                b.officers[oi].push((from, to));
                if let (true, Post::Station(s)) = (c.away_from_station, &region.officers[oi].post) {
                    let sti = ctx.station_index[s.as_str()];
                    b.add_away(sti, from, to, 1);
                }
            }
        }
        for c in &ctx.state.team_commitments {
            if let Some(ti) = region.escort_teams.iter().position(|t| t.id == c.team) {
                b.teams[ti].push((ctx.slot_of(c.start), ctx.slot_of_ceil(c.end)));
            }
        }
        b
    }

    fn add_away(&mut self, sti: usize, from: i64, to: i64, d: i32) {
        let row = &mut self.away[sti];
        let len = row.len() as i64;
        for k in from.max(0)..to.min(len) {
            row[k as usize] += d;
        }
    }

    fn officer_free(&self, ctx: &Context<'_>, oi: usize, from: i64, to: i64) -> bool {
        let shift_ok = (from.max(0)..to.min(ctx.slots)).all(|k| ctx.on_shift[oi][k as usize]);
        shift_ok && !overlaps(&self.officers[oi], from, to)
    }

    fn room_fits(
        &self,
        ctx: &Context<'_>,
        room: &casehub_model::Room,
        from: i64,
        to: i64,
        juvenile: bool,
        group: &Option<GroupId>,
    ) -> bool {
        let stays = self
            .rooms
            .get(room.id.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let _ = ctx;
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

    /// Book an option with concrete rooms, officers and team, or return `None`
    /// and leave the ledger unchanged.
    pub fn book(&mut self, ctx: &Context<'_>, opt: &Opt) -> Option<Booking> {
        let mut trial = self.clone();
        let booking = trial.book_in_place(ctx, opt)?;
        *self = trial;
        Some(booking)
    }

    fn book_in_place(&mut self, ctx: &Context<'_>, opt: &Opt) -> Option<Booking> {
        let region = ctx.region;
        let policy = &region.policy;
        let case = &ctx.state.pending[opt.case].case;
        let site = &region.sites[opt.site];
        let any_female = case.persons.iter().any(|p| p.gender == Gender::Female);
        let k_q = policy.min_questioning_officers as usize;
        let mut booking = Booking {
            rooms: Vec::new(),
            searcher: Vec::new(),
            questioners: Vec::new(),
            escort_officers: Vec::new(),
            team: None,
        };

        // Escort first: station officers or a team.
        match opt.mode {
            EscortMode::Station => {
                let sti = ctx.station_index[case.origin.as_str()];
                let k = (policy.min_escort_officers as usize).max(k_q);
                let mut crew: Vec<(usize, bool)> = ctx
                    .station_crew(sti)
                    .filter(|&(oi, _)| self.officer_free(ctx, oi, opt.depart, opt.back))
                    .map(|(oi, o)| (oi, o.gender == Gender::Female))
                    .collect();
                if any_female {
                    // A woman first, so that one is always in the crew.
                    crew.sort_by_key(|&(_, f)| !f);
                    if !crew.first().is_some_and(|c| c.1) {
                        return None;
                    }
                } else {
                    // Keep the women for the cases that need them.
                    crew.sort_by_key(|&(_, f)| f);
                }
                if crew.len() < k {
                    return None;
                }
                let chosen: Vec<usize> = crew.iter().take(k).map(|c| c.0).collect();
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
                    if on_duty - self.away[sti][slot as usize] - (k as i32)
                        < station.min_on_duty as i32
                    {
                        return None;
                    }
                }
                self.add_away(sti, opt.depart, opt.back, k as i32);
                for &oi in &chosen {
                    self.officers[oi].push((opt.depart, opt.back));
                }
                booking.escort_officers = chosen;
            }
            EscortMode::Team => {
                let ts = &region.sites[opt.team_site?];
                let n = case.persons.len() as u32;
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
                let ti = teams.into_iter().find_map(|(ti, t)| {
                    if t.site != ts.id
                        || t.passenger_seats() < n
                        || overlaps(&self.teams[ti], opt.depart, opt.back)
                    {
                        return None;
                    }
                    let members: Vec<usize> = t
                        .members
                        .iter()
                        .filter_map(|m| ctx.officer_index.get(m.as_str()).copied())
                        .collect();
                    let female_ok = !any_female
                        || members
                            .iter()
                            .any(|&m| region.officers[m].gender == Gender::Female);
                    (female_ok
                        && members
                            .iter()
                            .all(|&m| self.officer_free(ctx, m, opt.depart, opt.back)))
                    .then_some(ti)
                })?;
                self.teams[ti].push((opt.depart, opt.back));
                let members: Vec<usize> = region.escort_teams[ti]
                    .members
                    .iter()
                    .filter_map(|m| ctx.officer_index.get(m.as_str()).copied())
                    .collect();
                for &m in &members {
                    self.officers[m].push((opt.depart, opt.back));
                }
                booking.escort_officers = members;
                booking.team = Some(ti);
            }
        }

        for tl in &opt.persons {
            let person = &case.persons[tl.person];
            let mut rooms = Vec::new();
            for &(step, from, to) in &tl.steps {
                let kind = step.room_kind(case.category);
                let room = site
                    .rooms
                    .iter()
                    .filter(|r| r.kind == kind && r.recording)
                    .find(|r| {
                        let juvenile_room_ok =
                            kind != RoomKind::Holding || r.juvenile_suitable == person.juvenile;
                        juvenile_room_ok
                            && self.room_fits(
                                ctx,
                                r,
                                from,
                                to,
                                person.juvenile,
                                &person.co_suspect_group,
                            )
                    })?;
                self.rooms
                    .entry(room.id.to_string())
                    .or_default()
                    .push(Stay {
                        from,
                        to,
                        juvenile: person.juvenile,
                        group: person.co_suspect_group.clone(),
                    });
                rooms.push(room.id.to_string());
                match step {
                    Step::Search => {
                        // Women search women; men are searched by men where possible,
                        // to keep the female searchers free.
                        let searcher = region
                            .officers
                            .iter()
                            .enumerate()
                            .filter(|(oi, o)| {
                                o.post == Post::Site(site.id.clone())
                                    && o.can(Qualification::Search)
                                    && (person.gender == Gender::Male || o.gender == Gender::Female)
                                    && self.officer_free(ctx, *oi, from, to)
                            })
                            .min_by_key(|(_, o)| o.gender != person.gender)
                            .map(|(oi, _)| oi)?;
                        self.officers[searcher].push((from, to));
                        booking.searcher.push(searcher);
                    }
                    Step::Questioning => {
                        let questioners = if opt.mode == EscortMode::Station {
                            booking.escort_officers.clone()
                        } else {
                            let mut pool: Vec<(usize, bool)> = region
                                .officers
                                .iter()
                                .enumerate()
                                .filter(|(oi, o)| {
                                    o.post == Post::Site(site.id.clone())
                                        && o.can(Qualification::Questioning)
                                        && self.officer_free(ctx, *oi, from, to)
                                })
                                .map(|(oi, o)| (oi, o.gender == Gender::Female))
                                .collect();
                            if person.gender == Gender::Female && person.juvenile {
                                pool.sort_by_key(|&(_, f)| !f);
                                if !pool.first().is_some_and(|p| p.1) {
                                    return None;
                                }
                            } else {
                                pool.sort_by_key(|&(_, f)| f);
                            }
                            if pool.len() < k_q {
                                return None;
                            }
                            let chosen: Vec<usize> = pool.iter().take(k_q).map(|p| p.0).collect();
                            for &oi in &chosen {
                                self.officers[oi].push((from, to));
                            }
                            chosen
                        };
                        booking.questioners.push(questioners);
                    }
                    _ => {}
                }
            }
            booking.rooms.push(rooms);
        }
        Some(booking)
    }
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
            team: b.team.map(|ti| region.escort_teams[ti].id.clone()),
            officers: b.escort_officers.iter().map(|&oi| officer_id(oi)).collect(),
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
    }
}
