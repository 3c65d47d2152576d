//! Measures over intervals: the peak of intervals open at once, and the
//! minutes each station spends below its minimum on duty.

use chrono::{DateTime, Utc};

use casehub_model::{Post, Region};

/// The highest number of intervals `[from, to)` open at once.
pub fn peak(intervals: &[(f64, f64)]) -> u32 {
    let mut d: Vec<(f64, i32)> = Vec::with_capacity(intervals.len() * 2);
    for &(a, b) in intervals {
        if b > a {
            d.push((a, 1));
            d.push((b, -1));
        }
    }
    d.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
    let (mut cur, mut best) = (0i32, 0i32);
    for (_, v) in d {
        cur += v;
        best = best.max(cur);
    }
    best as u32
}

/// Minutes each station of `region` spends below its minimum on duty over
/// `[0, end)` minutes after `start`, given each officer's away intervals
/// (`away[officer]`, in the region's officer order). An officer counts when
/// on shift and not away.
pub fn below_minimum(
    region: &Region,
    start: DateTime<Utc>,
    end: f64,
    away: &[Vec<(f64, f64)>],
) -> Vec<f64> {
    let offset = region.info.utc_offset_min as f64;
    let start_local = start.timestamp() as f64 / 60.0 + offset;
    let windows: Vec<Option<casehub_model::DailyWindow>> = region
        .officers
        .iter()
        .map(|o| region.shift(o.shift.as_str()).map(|s| s.window))
        .collect();
    region
        .stations
        .iter()
        .map(|st| {
            let officers: Vec<usize> = region
                .officers
                .iter()
                .enumerate()
                .filter(|(_, o)| o.post == Post::Station(st.id.clone()))
                .map(|(i, _)| i)
                .collect();
            let mut cuts = vec![0.0, end];
            // Shift boundaries, in simulation minutes.
            let mut bounds: Vec<f64> = Vec::new();
            for &o in &officers {
                if let Some(w) = windows[o].filter(|w| !w.is_always()) {
                    bounds.push(f64::from(w.start().minutes()));
                    bounds.push(f64::from(w.end().minutes()));
                }
                for &(a, b) in &away[o] {
                    cuts.push(a.clamp(0.0, end));
                    cuts.push(b.clamp(0.0, end));
                }
            }
            bounds.sort_by(f64::total_cmp);
            bounds.dedup();
            if !bounds.is_empty() {
                let first_day = (start_local / 1440.0).floor() - 1.0;
                let last_day = ((start_local + end) / 1440.0).ceil() + 1.0;
                let mut day = first_day;
                while day <= last_day {
                    for &b in &bounds {
                        let t = day * 1440.0 + b - start_local;
                        if t > 0.0 && t < end {
                            cuts.push(t);
                        }
                    }
                    day += 1.0;
                }
            }
            cuts.sort_by(f64::total_cmp);
            cuts.dedup();
            let mut below = 0.0;
            for w in cuts.windows(2) {
                let (a, b) = (w[0], w[1]);
                if b <= a {
                    continue;
                }
                let mid = (a + b) / 2.0;
                let local = (start_local + mid).floor() as i64;
                let on_duty = officers
                    .iter()
                    .filter(|&&o| windows[o].is_some_and(|w| w.contains(local)))
                    .filter(|&&o| !away[o].iter().any(|&(x, y)| x <= mid && mid < y))
                    .count();
                if (on_duty as u32) < st.min_on_duty {
                    below += b - a;
                }
            }
            below
        })
        .collect()
}
