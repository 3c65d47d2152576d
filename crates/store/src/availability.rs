//! What is free, where and when: a pure query over the [`SchedulingState`].
//!
//! A room is free while its site is open and it can take one more person (a
//! holding room: fewer persons than its capacity); an officer while on shift
//! and not booked; an escort team while not booked. Shifts and open hours
//! are local times; the region's UTC offset turns them into instants.

use chrono::{DateTime, Duration, Utc};

use casehub_model::{
    DailyWindow, LegalCategory, OfficerId, Post, RoomId, RoomKind, Shift, SiteId, Step, TeamId,
};

use crate::ResourceRef;
use crate::state::{Booking, SchedulingState};

/// A half-open interval of time `[start, end)`.
pub type Interval = (DateTime<Utc>, DateTime<Utc>);

/// The longest window a query may cover.
pub const MAX_WINDOW: Duration = Duration::days(7);

/// Why a query was refused; names the field and the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("window: the end {end} is not after the start {start}")]
    EmptyWindow {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
    #[error("window: {start} to {end} is longer than the 7 days a query may cover")]
    WindowTooLong {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
    #[error("site_id: no site {0:?}")]
    UnknownSite(String),
    #[error("duration_min: {0} is not between 1 and 1440")]
    Duration(i64),
}

/// A room and when it can take one more person.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomFree {
    pub room: RoomId,
    pub site: SiteId,
    pub kind: RoomKind,
    pub capacity: u32,
    pub free: Vec<Interval>,
}

/// An officer and when they are on shift and not booked.
#[derive(Debug, Clone, PartialEq)]
pub struct OfficerFree {
    pub officer: OfficerId,
    pub post: Post,
    pub gender: casehub_model::Gender,
    pub free: Vec<Interval>,
}

/// An escort team and when it is not booked.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamFree {
    pub team: TeamId,
    pub site: SiteId,
    pub free: Vec<Interval>,
}

/// Everything free at one site, or at every site, over a window.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Availability {
    pub rooms: Vec<RoomFree>,
    pub officers: Vec<OfficerFree>,
    pub teams: Vec<TeamFree>,
}

/// The earliest room free for a step.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    pub site: SiteId,
    pub room: RoomId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Check a window: it ends after it starts, and covers at most [`MAX_WINDOW`].
pub fn check_window(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<(), QueryError> {
    if end <= start {
        return Err(QueryError::EmptyWindow { start, end });
    }
    if end - start > MAX_WINDOW {
        return Err(QueryError::WindowTooLong { start, end });
    }
    Ok(())
}

/// Check that `site`, when given, is a site of the state.
pub fn check_site(state: &SchedulingState, site: Option<&SiteId>) -> Result<(), QueryError> {
    match site {
        Some(s) if !state.sites.contains_key(s) => Err(QueryError::UnknownSite(s.to_string())),
        _ => Ok(()),
    }
}

/// The occurrences of a daily (local-time) window that meet `[start, end)`,
/// as UTC instants, clipped to it.
pub fn daily_intervals(
    window: &DailyWindow,
    utc_offset_min: i32,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<Interval> {
    if window.is_always() {
        return vec![(start, end)];
    }
    let offset = Duration::minutes(i64::from(utc_offset_min));
    let local_start = start + offset;
    let first_day = local_start.timestamp().div_euclid(86_400) - 1;
    let last_day = (end + offset).timestamp().div_euclid(86_400) + 1;
    let open_min = i64::from(window.start().minutes());
    let mut out = Vec::new();
    for day in first_day..=last_day {
        let open_local = day * 86_400 + open_min * 60;
        let close_local = open_local + window.len_min() * 60;
        let (Some(open), Some(close)) = (
            DateTime::from_timestamp(open_local, 0),
            DateTime::from_timestamp(close_local, 0),
        ) else {
            continue;
        };
        let (open, close) = ((open - offset).max(start), (close - offset).min(end));
        if open < close {
            out.push((open, close));
        }
    }
    out
}

/// `within` minus a resource's absences and its time out of service
/// (`since`: its own, or its site's; see
/// [`SchedulingState::out_of_service_since`]).
fn minus_away<T>(
    within: Vec<Interval>,
    entry: &crate::state::Bookable<T>,
    since: Option<DateTime<Utc>>,
) -> Vec<Interval> {
    let mut away: Vec<Interval> = entry.absences.iter().map(|a| (a.start, a.end)).collect();
    if let Some(since) = since {
        away.push((since, DateTime::<Utc>::MAX_UTC));
    }
    let mut out = within;
    for (a, b) in away {
        out = out
            .into_iter()
            .flat_map(|(s, e)| {
                if b <= s || e <= a {
                    vec![(s, e)]
                } else {
                    [(s, a.min(e)), (b.max(s), e)]
                        .into_iter()
                        .filter(|(x, y)| x < y)
                        .collect()
                }
            })
            .collect();
    }
    out
}

/// `within` minus the times when at least `capacity` of `bookings` are under way.
fn free_of(within: &[Interval], bookings: &[Booking], capacity: u32) -> Vec<Interval> {
    // The instants at which the number of bookings under way changes.
    let mut cuts: Vec<DateTime<Utc>> = bookings.iter().flat_map(|b| [b.start, b.end]).collect();
    cuts.sort();
    cuts.dedup();
    let full = |a: DateTime<Utc>| {
        bookings
            .iter()
            .filter(|b| b.start <= a && a < b.end)
            .count()
            >= capacity.max(1) as usize
    };
    let mut out: Vec<Interval> = Vec::new();
    for &(s, e) in within {
        let mut points: Vec<DateTime<Utc>> = vec![s];
        points.extend(cuts.iter().copied().filter(|&c| s < c && c < e));
        points.push(e);
        for w in points.windows(2) {
            let (a, b) = (w[0], w[1]);
            if full(a) {
                continue;
            }
            match out.last_mut() {
                Some(last) if last.1 == a => last.1 = b,
                _ => out.push((a, b)),
            }
        }
    }
    out
}

/// What is free at `site` (every site when `None`) within `[start, end)`.
/// Officers are those posted at the site (or, with no site, everyone), with
/// the shifts given (an officer whose shift is unknown is never free).
pub fn availability(
    state: &SchedulingState,
    shifts: &[Shift],
    utc_offset_min: i32,
    site: Option<&SiteId>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Availability, QueryError> {
    check_window(start, end)?;
    check_site(state, site)?;
    let wanted = |s: &SiteId| site.is_none_or(|x| x == s);
    let mut out = Availability::default();
    for (id, r) in &state.rooms {
        if !wanted(&r.value.site) {
            continue;
        }
        let open = state
            .sites
            .get(&r.value.site)
            .map(|s| daily_intervals(&s.value.open_hours, utc_offset_min, start, end))
            .unwrap_or_default();
        out.rooms.push(RoomFree {
            room: id.clone(),
            site: r.value.site.clone(),
            kind: r.value.room.kind,
            capacity: r.value.room.capacity,
            free: free_of(
                &minus_away(
                    open,
                    r,
                    state.out_of_service_since(&ResourceRef::Room(id.clone())),
                ),
                &r.bookings,
                r.value.room.capacity,
            ),
        });
    }
    for (id, o) in &state.officers {
        if let (Some(s), Post::Site(at)) = (site, &o.value.post)
            && s != at
        {
            continue;
        }
        if site.is_some() && matches!(o.value.post, Post::Station(_)) {
            continue;
        }
        let on_shift = shifts
            .iter()
            .find(|s| s.id == o.value.shift)
            .map(|s| daily_intervals(&s.window, utc_offset_min, start, end))
            .unwrap_or_default();
        out.officers.push(OfficerFree {
            officer: id.clone(),
            post: o.value.post.clone(),
            gender: o.value.gender,
            free: free_of(
                &minus_away(
                    on_shift,
                    o,
                    state.out_of_service_since(&ResourceRef::Officer(id.clone())),
                ),
                &o.bookings,
                1,
            ),
        });
    }
    for (id, t) in &state.teams {
        if !wanted(&t.value.site) {
            continue;
        }
        out.teams.push(TeamFree {
            team: id.clone(),
            site: t.value.site.clone(),
            free: free_of(
                &minus_away(
                    vec![(start, end)],
                    t,
                    state.out_of_service_since(&ResourceRef::Team(id.clone())),
                ),
                &t.bookings,
                1,
            ),
        });
    }
    Ok(out)
}

/// The earliest `[start, start + duration)` from `not_before` on, within
/// [`MAX_WINDOW`], at which a room for `step` (of a case of `category`) is
/// free at `site` (any site when `None`). Ties go to the first room by id.
pub fn earliest_slot(
    state: &SchedulingState,
    utc_offset_min: i32,
    site: Option<&SiteId>,
    step: Step,
    category: LegalCategory,
    duration_min: i64,
    not_before: DateTime<Utc>,
) -> Result<Option<Slot>, QueryError> {
    if !(1..=1440).contains(&duration_min) {
        return Err(QueryError::Duration(duration_min));
    }
    check_site(state, site)?;
    let kind = step.room_kind(category);
    let need = Duration::minutes(duration_min);
    let end = not_before + MAX_WINDOW;
    let mut best: Option<Slot> = None;
    for (id, r) in &state.rooms {
        if r.value.room.kind != kind || site.is_some_and(|s| *s != r.value.site) {
            continue;
        }
        // Questioning needs a recording room, as the engine requires.
        if step == Step::Questioning && !r.value.room.recording {
            continue;
        }
        let open = state
            .sites
            .get(&r.value.site)
            .map(|s| daily_intervals(&s.value.open_hours, utc_offset_min, not_before, end))
            .unwrap_or_default();
        let since = state.out_of_service_since(&ResourceRef::Room(id.clone()));
        let fit = free_of(
            &minus_away(open, r, since),
            &r.bookings,
            r.value.room.capacity,
        )
        .into_iter()
        .find(|&(a, b)| b - a >= need)
        .map(|(a, _)| a);
        if let Some(at) = fit
            && best.as_ref().is_none_or(|b| at < b.start)
        {
            best = Some(Slot {
                site: r.value.site.clone(),
                room: id.clone(),
                start: at,
                end: at + need,
            });
        }
    }
    Ok(best)
}
