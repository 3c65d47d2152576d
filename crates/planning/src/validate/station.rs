//! Rule 17: an escort never takes a station below its minimum on duty,
//! counting the officers on shift and not away, checked at every start of
//! an absence and every shift change during a plan escort.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use casehub_model::{CaseId, Officer, Post};

use super::Checker;
use crate::plan::Rule;

/// Days of shift boundaries looked at inside one escort interval, at most.
const MAX_BOUNDARY_DAYS: i64 = 1000;

/// A station officer away from the station over `[start, end)`: escorting a
/// plan case (`case`), or by an existing commitment.
struct Away<'a> {
    officer: &'a str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    case: Option<&'a CaseId>,
}

impl<'a> Checker<'a> {
    pub(super) fn check_stations(&mut self) {
        let region = &self.state.region;
        for station in &region.stations {
            let home = Post::Station(station.id.clone());
            let posted: Vec<&Officer> = region.officers.iter().filter(|o| o.post == home).collect();
            let mut away: Vec<Away<'_>> = Vec::new();
            for cp in &self.plan.cases {
                let e = &cp.escort;
                if e.depart >= e.back {
                    continue;
                }
                let distinct: BTreeSet<&str> = e.officers.iter().map(|o| o.as_str()).collect();
                for id in distinct {
                    if posted.iter().any(|o| o.id.as_str() == id) {
                        away.push(Away {
                            officer: id,
                            start: e.depart,
                            end: e.back,
                            case: Some(&cp.case),
                        });
                    }
                }
            }
            if away.is_empty() {
                continue;
            }
            for c in &self.state.officer_commitments {
                if c.away_from_station
                    && c.start < c.end
                    && posted.iter().any(|o| o.id == c.officer)
                {
                    away.push(Away {
                        officer: c.officer.as_str(),
                        start: c.start,
                        end: c.end,
                        case: None,
                    });
                }
            }
            // Check at every start, and where a shift changes during a plan escort.
            let mut points: BTreeSet<DateTime<Utc>> = away.iter().map(|a| a.start).collect();
            let windows: BTreeSet<(u32, i64)> = posted
                .iter()
                .filter_map(|o| self.shift_window(o))
                .filter(|w| !w.is_always())
                .map(|w| (w.start().minutes(), w.len_min()))
                .collect();
            for a in away.iter().filter(|a| a.case.is_some()) {
                let (s, e) = (a.start, a.end);
                let (ls, le) = (self.local_min(s), self.local_min(e));
                for &(ws, len) in &windows {
                    let ws = i64::from(ws);
                    let first = (ls - ws).div_euclid(1440) - 1;
                    let last = ((le - ws).div_euclid(1440) + 1).min(first + MAX_BOUNDARY_DAYS);
                    for day in first..=last {
                        let open = day * 1440 + ws;
                        for b in [open, open + len] {
                            if let Some(t) = self.instant_of_local(b)
                                && s <= t
                                && t < e
                            {
                                points.insert(t);
                            }
                        }
                    }
                }
            }
            let mut last_reported: Option<Vec<&str>> = None;
            for t in points {
                let lm = self.local_min(t);
                let on_shift: Vec<&Officer> = posted
                    .iter()
                    .copied()
                    .filter(|o| self.shift_window(o).is_some_and(|w| w.contains(lm)))
                    .collect();
                let now_away: Vec<&Away<'_>> = away
                    .iter()
                    .filter(|a| {
                        a.start <= t
                            && t < a.end
                            && on_shift.iter().any(|o| o.id.as_str() == a.officer)
                    })
                    .collect();
                let Some(blame) = now_away.iter().find_map(|a| a.case) else {
                    last_reported = None;
                    continue;
                };
                let away_ids: BTreeSet<&str> = now_away.iter().map(|a| a.officer).collect();
                let left = on_shift.len().saturating_sub(away_ids.len());
                if left >= station.min_on_duty as usize {
                    last_reported = None;
                    continue;
                }
                let key: Vec<&str> = away_ids.iter().copied().collect();
                if last_reported.as_ref() == Some(&key) {
                    continue;
                }
                let why: Vec<String> = away_ids
                    .iter()
                    .map(|id| {
                        let reasons: BTreeSet<String> = now_away
                            .iter()
                            .filter(|a| a.officer == *id)
                            .map(|a| match a.case {
                                Some(c) => format!("escorting case {c}"),
                                None => "existing commitment".to_string(),
                            })
                            .collect();
                        format!(
                            "{id} {}",
                            reasons.into_iter().collect::<Vec<_>>().join(" and ")
                        )
                    })
                    .collect();
                let detail = format!(
                    "station {} at {}: {} officers on shift, {} away ({}), {left} left; the minimum on duty is {}",
                    station.id,
                    self.at(t),
                    on_shift.len(),
                    away_ids.len(),
                    why.join("; "),
                    station.min_on_duty
                );
                self.push(Rule::StationMinimum, Some(blame), detail);
                last_reported = Some(key);
            }
        }
    }
}
