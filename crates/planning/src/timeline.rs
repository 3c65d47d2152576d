//! The timeline of one option, and why an option could not be built.
//!
//! [`build_option`] takes a case, a destination site, an escort and a pair of
//! delays (departure, questioning) and works out the whole timeline on the
//! slot grid: departure, pickup, arrival, each person's intake → search →
//! information collection → holding → questioning (persons taken in in batches staggered by the
//! scarcest pre-processing room, co-suspects questioned in turn when rooms or
//! questioning officers are too few), and the escort's return. It lists the
//! capacity the option uses per slot and prices it, or says which rule the
//! option breaks on its own ([`Why`], put into words only when reported).

use casehub_model::{Gender, Qualification, RoomKind, Step};

use crate::capacity::{Context, Resource, describe, rule_of};
use crate::options::{Opt, PersonTimeline, Usage};
use crate::plan::{CostBreakdown, EscortMode, Rule};
use crate::vehicles::{female_vehicles, seating};

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

/// Why an option was not built, put into words only when it is reported
/// (most rejected options are never reported: formatting them all cost
/// more than building them).
#[derive(Debug)]
pub(crate) enum Why {
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
    /// Too few teams of this site on shift for the whole escort.
    TeamOff {
        site: usize,
        /// Teams needed at once, one per vehicle.
        vehicles: u32,
    },
    /// Fewer than `k` questioning officers of the site on shift for the questioning.
    QuestionersOff {
        k: u32,
        site: usize,
    },
    /// A resource with no capacity left at a slot.
    Short(Resource, i64),
}

impl Why {
    pub(crate) fn text(self, ctx: &Context<'_>) -> String {
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
            Why::TeamOff { site, vehicles: 1 } => format!(
                "no team of {} is on shift for the whole escort",
                region.sites[site].id
            ),
            Why::TeamOff { site, vehicles } => format!(
                "fewer than {vehicles} teams of {} (one per vehicle) are on shift for the whole escort",
                region.sites[site].id
            ),
            Why::QuestionersOff { k, site } => format!(
                "fewer than {k} questioning officers of {} on shift for the whole questioning",
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

/// The earliest slot in `[from, until]` at which a person can be taken in:
/// the rooms of each pre-processing step `pre` (in turn, without a break)
/// left at the site beside the case's own persons already taken in at
/// `placed` ((intake slot, woman)), and a searcher for the search, a woman
/// for a woman. `None` when no slot does.
fn earliest_intake(
    ctx: &Context<'_>,
    si: usize,
    category: casehub_model::LegalCategory,
    pre: &[(Step, i64)],
    (from, until): (i64, i64),
    female: bool,
    placed: &[(i64, bool)],
) -> Option<i64> {
    let left = |r: Resource, k: i64| ctx.left(r, k);
    // Where each step starts, from the intake.
    let mut at = 0;
    let steps: Vec<(Step, i64, i64)> = pre
        .iter()
        .map(|&(step, len)| {
            let s = (step, at, at + len);
            at += len;
            s
        })
        .collect();
    let fits = |s: i64| {
        steps.iter().all(|&(step, a, b)| {
            let kind = step.room_kind(category);
            (s + a..s + b).all(|k| {
                // The case's own persons in this step at slot k.
                let own = placed.iter().filter(|&&(p, _)| p + a <= k && k < p + b);
                let (n, women) = own.fold((0, 0), |(n, w), &(_, f)| (n + 1, w + i32::from(f)));
                left(Resource::Rooms(si, kind), k) > n
                    && (step != Step::Search
                        || (left(Resource::Searchers(si), k) > n
                            && (!female || left(Resource::FemaleSearchers(si), k) > women)))
            })
        })
    };
    (from.max(0)..=until).find(|&s| fits(s))
}

/// What a person's questioning needs beyond a room and a pair.
#[derive(Debug, Clone, Copy)]
struct Needs {
    /// A woman among the questioners.
    female_juvenile: bool,
    /// A juvenile-suitable room and a juvenile-trained questioner (when the
    /// policy's rule is on).
    juvenile: bool,
}

/// The earliest start at or after `from` (and before `until`) at which a
/// questioning of `len` slots fits beside the case's own questionings
/// `placed` ((start, end, needs)): a room of `q_kind` left at the site (a
/// juvenile-suitable one where needed), and in team mode a pair of the
/// site's questioning officers left (a woman among them for a female
/// juvenile, a juvenile-trained one for a juvenile) with enough of them on
/// shift for the whole questioning. `None` when no start fits.
#[allow(clippy::too_many_arguments)]
fn earliest_questioning(
    ctx: &Context<'_>,
    si: usize,
    mode: EscortMode,
    q_kind: RoomKind,
    (from, len): (i64, i64),
    needs: Needs,
    placed: &[(i64, i64, Needs)],
    until: i64,
) -> Option<i64> {
    let k_q = ctx.region.policy.min_questioning_officers as i32;
    let left = |r: Resource, k: i64| ctx.left(r, k);
    let fits_at = |k: i64| {
        let busy = placed.iter().filter(|&&(a, b, _)| a <= k && k < b);
        let (n, fj, j) = busy.fold((0, 0, 0), |(n, fj, j), &(_, _, x)| {
            (
                n + 1,
                fj + i32::from(x.female_juvenile),
                j + i32::from(x.juvenile),
            )
        });
        let room = left(Resource::Rooms(si, q_kind), k) > n
            && (!needs.juvenile || left(Resource::JuvenileRooms(si, q_kind), k) > j);
        match mode {
            EscortMode::Station => n == 0 && room,
            EscortMode::Team => {
                room && left(Resource::Questioners(si), k) >= (n + 1) * k_q
                    && (!needs.female_juvenile || left(Resource::FemaleQuestioners(si), k) > fj)
                    && (!needs.juvenile || left(Resource::JuvenileQuestioners(si), k) > j)
            }
        }
    };
    let mut s = from.max(0);
    while s + len <= until {
        match (s..s + len).find(|&k| !fits_at(k)) {
            // No start up to the slot that does not fit can fit.
            Some(k) => s = k + 1,
            None if mode == EscortMode::Station
                || enough_on_shift(
                    ctx,
                    ctx.site_questioners[si].iter().copied(),
                    s,
                    s + len,
                    k_q as usize,
                ) =>
            {
                return Some(s);
            }
            None => s += 1,
        }
    }
    None
}

/// What every option of one case shares: the case, its station, the
/// pre-processing steps' lengths, the questioning's length and room kind,
/// and the legal deadline (slot, and minute of the grid).
pub(crate) struct CaseFrame<'a> {
    pub ci: usize,
    pub sti: usize,
    pub pre: &'a [(Step, i64)],
    pub q_len: i64,
    pub q_kind: RoomKind,
    pub deadline: i64,
    pub deadline_min: i64,
}

/// A built option, or the rule it breaks, why, and whether every later
/// delay is bound to break it too (the search stops).
pub(crate) type Built = Result<Opt, (Rule, Why, bool)>;

#[allow(clippy::too_many_arguments)]
pub(crate) fn build_option(
    ctx: &Context<'_>,
    frame: &CaseFrame<'_>,
    si: usize,
    mode: EscortMode,
    team_site: Option<usize>,
    depart: i64,
    q_delay: i64,
    to_site: (i64, f64, f64),
) -> Built {
    let &CaseFrame {
        ci,
        sti,
        pre,
        q_len,
        q_kind,
        deadline,
        deadline_min,
    } = frame;
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
    // Persons are taken in `batch` at a time, each batch `stagger` after the
    // last, so that no step needs more rooms than the site has (a no-wait
    // flow shop of identical jobs): of the batch sizes the rooms allow, the
    // one that takes the last person in soonest.
    let rooms_of = |kind: RoomKind| ctx.recording_rooms(si, kind).max(1) as i64;
    let spacing = |batch: i64| {
        pre.iter()
            .map(|&(step, len)| {
                let at_once = rooms_of(step.room_kind(case.category)) / batch;
                if at_once == 0 {
                    i64::MAX
                } else {
                    (len + at_once - 1) / at_once
                }
            })
            .max()
            .unwrap_or(1)
            .max(1)
    };
    let (batch, stagger) = (1..=n.max(1))
        .map(|b| (b, spacing(b)))
        .filter(|&(_, d)| d < i64::MAX)
        .min_by_key(|&(b, d)| (((n - 1) / b) * d, b))
        .unwrap_or((1, spacing(1)));
    let offset = |pj: i64| (pj / batch) * stagger;
    // Each person is taken in at the first slot from arrival at which the
    // rooms of every pre-processing step, and a searcher (a woman for a
    // woman), are left for them beside the case's own persons, within the
    // policy's longest wait; when none is, at the batch spacing above, for
    // the checks below to say what is short.
    let most_wait = i64::from(region.policy.max_intake_wait_min) / ctx.slot;
    let mut intakes: Vec<(i64, bool)> = Vec::with_capacity(case.persons.len());
    let mut last_offset = 0;
    let mut persons = Vec::with_capacity(case.persons.len());
    let mut usage_list = Vec::with_capacity(case.persons.len() * 8 + 4);
    let mut q_end_max = 0;
    let mut wait_min = 0.0;
    // When each person is questioned: at the earliest slot from the end of
    // their pre-processing (plus the option's questioning delay) at which a
    // questioning room and, for the site's questioning officers, a pair on
    // shift are left for the whole questioning, counting the case's own
    // persons already placed. The station's own officers question one person
    // at a time. Shifts change within the search: a night pair takes the
    // third co-suspect when the day pairs have gone home.
    let juvenile_rule = region.policy.juvenile_questioning;
    let needs = |pj: usize| {
        let p = &case.persons[pj];
        Needs {
            female_juvenile: p.gender == Gender::Female && p.juvenile,
            juvenile: juvenile_rule && p.juvenile,
        }
    };
    let mut q_slots: Vec<(i64, i64, Needs)> = Vec::with_capacity(case.persons.len());
    let mut held_too_long = None;
    for (pj, person) in case.persons.iter().enumerate() {
        let female = person.gender == Gender::Female;
        let mut t = earliest_intake(
            ctx,
            si,
            case.category,
            pre,
            (arrive, arrive + most_wait),
            female,
            &intakes,
        )
        .unwrap_or(arrive + offset(pj as i64));
        intakes.push((t, female));
        last_offset = last_offset.max(t - arrive);
        let mut steps = Vec::with_capacity(pre.len() + 2);
        for &(step, len) in pre {
            steps.push((step, t, t + len));
            t += len;
        }
        let q_start = earliest_questioning(
            ctx,
            si,
            mode,
            q_kind,
            (t + q_delay, q_len),
            needs(pj),
            &q_slots,
            deadline.min(ctx.slots),
        )
        // None fits before the deadline: after the case's other
        // questionings, for the checks below to say what is short or late.
        .unwrap_or_else(|| {
            q_slots
                .iter()
                .map(|&(_, b, _)| b)
                .fold(t + q_delay, i64::max)
        });
        if q_start > t {
            // Never longer in holding than the policy allows (said after
            // the legal limit, the rule that matters more).
            let held = (q_start - t) * ctx.slot;
            if held > i64::from(region.policy.max_holding_min) && held_too_long.is_none() {
                held_too_long = Some((person.id.clone(), held));
            }
            steps.push((Step::Holding, t, q_start));
        }
        let q_end = q_start + q_len;
        q_slots.push((q_start, q_end, needs(pj)));
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
                    if juvenile_rule && person.juvenile {
                        usage(
                            &mut usage_list,
                            Resource::JuvenileRooms(si, q_kind),
                            a,
                            b,
                            1,
                        );
                    }
                    if mode == EscortMode::Team {
                        usage(&mut usage_list, Resource::Questioners(si), a, b, k_q);
                        if person.gender == Gender::Female && person.juvenile {
                            usage(&mut usage_list, Resource::FemaleQuestioners(si), a, b, 1);
                        }
                        if juvenile_rule && person.juvenile {
                            usage(&mut usage_list, Resource::JuvenileQuestioners(si), a, b, 1);
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
    // Each person goes into intake on arrival, or within the policy's
    // longest wait: the last is taken in `last_offset` after arrival
    // (said after the legal limit, as the hold).
    let last_wait = last_offset * ctx.slot;
    if last_wait > i64::from(region.policy.max_intake_wait_min) {
        let why = format!(
            "person {} would wait {last_wait} min after arrival at {} before intake, over the policy's {} min",
            intakes
                .iter()
                .position(|&(t, _)| t - arrive == last_offset)
                .map_or(case.persons[case.persons.len() - 1].id.as_str(), |pj| {
                    case.persons[pj].id.as_str()
                }),
            site.id,
            region.policy.max_intake_wait_min
        );
        return Err((Rule::IntakeWait, Why::Text(why), false));
    }
    if let Some((person, held)) = held_too_long {
        let why = format!(
            "person {person} would be held {held} min, over the policy's {} min",
            region.policy.max_holding_min
        );
        return Err((Rule::HoldingTime, Why::Text(why), false));
    }
    let slack_min = deadline_min - q_end_min;
    // The vehicles: each a team of the pool (its passenger seats), or a car
    // of the station's officers; those carrying a woman need a woman.
    let seats = match mode {
        EscortMode::Team => ctx.site_teams[team_site.expect("team site")]
            .first()
            .map(|&ti| region.escort_teams[ti].passenger_seats() as usize),
        EscortMode::Station => None,
    };
    let vehicles = seating(&case.persons, region.policy.separate_vehicles, seats);
    let n_vehicles = vehicles.len().max(1) as u32;
    let female_vehicles = female_vehicles(&case.persons, &vehicles) as u32;
    // Every vehicle drives the route.
    drive_min *= f64::from(n_vehicles);
    km *= f64::from(n_vehicles);
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
            drive_min += ret_min * f64::from(n_vehicles);
            km += ret_km * f64::from(n_vehicles);
            let k = (k_escort * n_vehicles).max(k_q);
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
            usage(
                &mut usage_list,
                Resource::FemaleStationOfficers(sti),
                depart,
                back,
                female_vehicles,
            );
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
            if female_vehicles > 0
                && !enough_on_shift(
                    ctx,
                    ctx.station_crew(sti)
                        .filter(|c| c.1.gender == Gender::Female)
                        .map(|c| c.0),
                    depart,
                    back,
                    female_vehicles as usize,
                )
            {
                return Err((
                    Rule::FemaleEscort,
                    Why::FemaleCrewOff { station: sti },
                    false,
                ));
            }
            if juvenile_rule
                && case.persons.iter().any(|p| p.juvenile)
                && !enough_on_shift(
                    ctx,
                    ctx.station_crew(sti)
                        .filter(|c| c.1.can(Qualification::Juvenile))
                        .map(|c| c.0),
                    depart,
                    back,
                    1,
                )
            {
                return Err((
                    Rule::JuvenileQuestioning,
                    Why::Text(format!(
                        "no juvenile-trained officer of {} is on shift for the whole escort",
                        station.id
                    )),
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
            back = arrive + last_offset + home_leg_slots;
            usage(
                &mut usage_list,
                Resource::Teams(ts),
                depart,
                back,
                n_vehicles,
            );
            usage(
                &mut usage_list,
                Resource::FemaleTeams(ts),
                depart,
                back,
                female_vehicles,
            );
            // Teams on shift for the whole escort: one per vehicle, with a
            // woman for each vehicle carrying a woman.
            let (mut on, mut female_on) = (0, 0);
            for &ti in &ctx.site_teams[ts] {
                let members = &ctx.team_members[ti];
                if enough_on_shift(ctx, members.iter().copied(), depart, back, members.len()) {
                    on += 1;
                    female_on += u32::from(
                        members
                            .iter()
                            .any(|&m| region.officers[m].gender == Gender::Female),
                    );
                }
            }
            let team_ok = on >= n_vehicles && female_on >= female_vehicles;
            if !team_ok {
                return Err((
                    Rule::TeamUnavailable,
                    Why::TeamOff {
                        site: ts,
                        vehicles: n_vehicles,
                    },
                    false,
                ));
            }
        }
    }
    // Questioning staff on shift for the whole questioning.
    if mode == EscortMode::Team {
        let staff = &ctx.site_questioners[si];
        for p in &persons {
            let &(_, a, b) = p.steps.last().expect("questioning step");
            if !enough_on_shift(ctx, staff.iter().copied(), a, b, k_q as usize) {
                return Err((
                    Rule::QuestioningOfficers,
                    Why::QuestionersOff { k: k_q, site: si },
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
        deferred: None,
        vehicles,
    })
}
