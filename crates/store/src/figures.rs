//! A day's figures for the supervisors: the legal limits kept, the near
//! misses and the breaches, the waits before questioning, and the escorts.
//! A pure query over the [`SchedulingState`] for a window (a local day).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use casehub_model::{Post, SiteId, Step};

use crate::state::{CaseStatus, SchedulingState};

/// The figures of one site (or of every site) over a window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    /// Cases that exited in the window.
    pub exited: u32,
    /// Of those, the ones whose legal limit was kept (exited by it).
    pub limits_kept: u32,
    /// Of those kept, the ones that exited within the policy's largest
    /// alert lead time of the limit: near misses.
    pub near_misses: u32,
    /// Cases whose legal limit passed in the window with the case still
    /// open (whether it exited later or not).
    pub breaches: u32,
    /// Minutes from a person's first step to the start of their
    /// questioning, for the questionings that started in the window.
    pub waits_min: Vec<i64>,
    /// Escorts that set off in the window: by an escort team, and by a
    /// station's own officers.
    pub team_escorts: u32,
    pub station_escorts: u32,
}

impl Figures {
    /// The `q` quantile of the waits (0 when there are none).
    pub fn wait_quantile(&self, q: f64) -> i64 {
        if self.waits_min.is_empty() {
            return 0;
        }
        let mut w = self.waits_min.clone();
        w.sort_unstable();
        let i = ((w.len() as f64 - 1.0) * q).round() as usize;
        w[i.min(w.len() - 1)]
    }
}

/// The figures for `[from, to)` as they stand at `now`, in all (`None`)
/// and per site, the site of a case being that of its first room booking.
pub fn figures(
    state: &SchedulingState,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> BTreeMap<Option<SiteId>, Figures> {
    let policy = &state.policy;
    let lead = Duration::minutes(i64::from(
        policy.alert_lead_min.iter().copied().max().unwrap_or(60),
    ));
    let in_window = |t: DateTime<Utc>| from <= t && t < to;
    // Each case's site: its first room booking's.
    let mut site_of: BTreeMap<&casehub_model::CaseId, (DateTime<Utc>, &SiteId)> = BTreeMap::new();
    for r in state.rooms.values() {
        for b in &r.bookings {
            let e = site_of.entry(&b.case).or_insert((b.start, &r.value.site));
            if b.start < e.0 {
                *e = (b.start, &r.value.site);
            }
        }
    }
    let mut out: BTreeMap<Option<SiteId>, Figures> = BTreeMap::new();
    let mut add = |site: Option<&SiteId>, f: &dyn Fn(&mut Figures)| {
        f(out.entry(None).or_default());
        if let Some(s) = site {
            f(out.entry(Some(s.clone())).or_default());
        }
    };
    for (id, entry) in &state.cases {
        let c = &entry.value;
        let site = site_of.get(id).map(|s| s.1);
        let limit = Duration::minutes(i64::from(policy.legal_limits.limit_min(c.case.category)));
        let Some(deadline) = c.case.clock_started_at.checked_add_signed(limit) else {
            continue;
        };
        let exit = c.exited_at.filter(|_| c.status == CaseStatus::Exited);
        if let Some(exit) = exit.filter(|e| in_window(*e)) {
            let kept = exit <= deadline;
            let near = kept && deadline - exit <= lead;
            add(site, &|f| {
                f.exited += 1;
                if kept {
                    f.limits_kept += 1;
                }
                if near {
                    f.near_misses += 1;
                }
            });
        }
        // A breach counts on the day its limit passed (if it has).
        if in_window(deadline) && deadline <= now && exit.is_none_or(|e| e > deadline) {
            add(site, &|f| f.breaches += 1);
        }
        for progress in c.progress.values() {
            let steps = progress
                .completed
                .iter()
                .map(|&(s, start, _)| (s, start))
                .chain(progress.current);
            let mut first: Option<DateTime<Utc>> = None;
            let mut questioning: Option<DateTime<Utc>> = None;
            for (s, start) in steps {
                first = Some(first.map_or(start, |f| f.min(start)));
                if s == Step::Questioning {
                    questioning = Some(questioning.map_or(start, |q| q.min(start)));
                }
            }
            if let (Some(a), Some(q)) = (first, questioning)
                && in_window(q)
            {
                let w = (q - a).num_minutes();
                add(site, &|f| f.waits_min.push(w));
            }
        }
    }
    for team in state.teams.values() {
        for b in team.bookings.iter().filter(|b| in_window(b.start)) {
            let site = site_of.get(&b.case).map(|s| s.1);
            add(site, &|f| f.team_escorts += 1);
        }
    }
    // A station's officers out for a case of their station: one escort per
    // case, from the earliest of their bookings.
    let mut station_out: BTreeMap<&casehub_model::CaseId, DateTime<Utc>> = BTreeMap::new();
    for o in state.officers.values() {
        let Post::Station(post) = &o.value.post else {
            continue;
        };
        for b in &o.bookings {
            let own = state
                .cases
                .get(&b.case)
                .is_some_and(|c| &c.value.case.origin == post);
            if own {
                let e = station_out.entry(&b.case).or_insert(b.start);
                *e = (*e).min(b.start);
            }
        }
    }
    for (case, start) in station_out {
        if in_window(start) {
            let site = site_of.get(case).map(|s| s.1);
            add(site, &|f| f.station_escorts += 1);
        }
    }
    out
}
