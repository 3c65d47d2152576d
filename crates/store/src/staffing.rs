//! Who is where now: each station's officers on duty and out on bookings
//! against its minimum, and the escorts under way. A pure query over the
//! [`SchedulingState`] at a moment, used by the alerts
//! (`station_below_minimum`) and the console's map.

use chrono::{DateTime, Duration, Utc};

use casehub_model::{CaseId, Post, Shift, ShiftId, SiteId, StationId, TeamId};

use crate::availability::daily_intervals;
use crate::state::SchedulingState;

/// One station's staffing at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationStaffing {
    pub station: StationId,
    /// Officers posted at the station and on shift.
    pub on_duty: u32,
    /// Of those, the ones out on a booking (an escort, a questioning).
    pub away: u32,
    /// The station's minimum on duty.
    pub min_on_duty: u32,
}

impl StationStaffing {
    /// Officers at the station now.
    pub fn present(&self) -> u32 {
        self.on_duty.saturating_sub(self.away)
    }

    /// Bookings took it below its minimum.
    pub fn below_minimum(&self) -> bool {
        self.away > 0 && self.present() < self.min_on_duty
    }
}

/// Whether a shift covers `now`.
pub fn on_shift(
    shifts: &[Shift],
    utc_offset_min: i32,
    shift: &ShiftId,
    now: DateTime<Utc>,
) -> bool {
    shifts.iter().find(|s| &s.id == shift).is_some_and(|s| {
        !daily_intervals(&s.window, utc_offset_min, now, now + Duration::minutes(1)).is_empty()
    })
}

/// Every station's staffing at `now`, in station order.
pub fn stations(
    state: &SchedulingState,
    shifts: &[Shift],
    utc_offset_min: i32,
    now: DateTime<Utc>,
) -> Vec<StationStaffing> {
    state
        .stations
        .iter()
        .map(|(id, st)| {
            let mut s = StationStaffing {
                station: id.clone(),
                on_duty: 0,
                away: 0,
                min_on_duty: st.value.min_on_duty,
            };
            for o in state.officers.values() {
                if o.value.post != Post::Station(id.clone())
                    || !on_shift(shifts, utc_offset_min, &o.value.shift, now)
                {
                    continue;
                }
                s.on_duty += 1;
                if o.bookings.iter().any(|b| b.start <= now && now < b.end) {
                    s.away += 1;
                }
            }
            s
        })
        .collect()
}

/// An escort under way: a team, or a station's own officers, out for a
/// case between its station and its site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscortUnderWay {
    pub case: CaseId,
    /// The team, or `None` for the station's own officers.
    pub team: Option<TeamId>,
    /// Officers out for it.
    pub officers: u32,
    /// The case's origin station.
    pub station: StationId,
    /// The site the case is booked at (its first room booking's).
    pub site: Option<SiteId>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The escorts under way at `now`: every team booked now, and the station
/// officers booked now away from their station, by case.
pub fn escorts(state: &SchedulingState, now: DateTime<Utc>) -> Vec<EscortUnderWay> {
    let site_of = |case: &CaseId| {
        state
            .rooms
            .values()
            .filter_map(|r| {
                r.bookings
                    .iter()
                    .filter(|b| &b.case == case)
                    .map(|b| b.start)
                    .min()
                    .map(|start| (start, r.value.site.clone()))
            })
            .min()
            .map(|(_, site)| site)
    };
    let origin = |case: &CaseId| state.cases.get(case).map(|c| c.value.case.origin.clone());
    let mut out = Vec::new();
    for (id, team) in &state.teams {
        for b in team
            .bookings
            .iter()
            .filter(|b| b.start <= now && now < b.end)
        {
            if let Some(station) = origin(&b.case) {
                out.push(EscortUnderWay {
                    case: b.case.clone(),
                    team: Some(id.clone()),
                    officers: team.value.members.len() as u32,
                    station,
                    site: site_of(&b.case),
                    start: b.start,
                    end: b.end,
                });
            }
        }
    }
    // Station officers out for a case of their own station.
    let mut by_case: std::collections::BTreeMap<CaseId, EscortUnderWay> = Default::default();
    for o in state.officers.values() {
        let Post::Station(post) = &o.value.post else {
            continue;
        };
        for b in o.bookings.iter().filter(|b| b.start <= now && now < b.end) {
            if origin(&b.case).as_ref() != Some(post) {
                continue;
            }
            let e = by_case
                .entry(b.case.clone())
                .or_insert_with(|| EscortUnderWay {
                    case: b.case.clone(),
                    team: None,
                    officers: 0,
                    station: post.clone(),
                    site: site_of(&b.case),
                    start: b.start,
                    end: b.end,
                });
            e.officers += 1;
            e.start = e.start.min(b.start);
            e.end = e.end.max(b.end);
        }
    }
    out.extend(by_case.into_values());
    out
}
