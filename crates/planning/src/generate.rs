//! Deterministic pending cases drawn from a region's caseload, for tests,
//! benchmarks and the command line (`casehub plan --generate N`).

use chrono::{DateTime, Duration, Utc};

use casehub_model::{Case, CaseId, Gender, GroupId, LegalCategory, Person, PersonId, Region};

use crate::state::PendingCase;

/// A small, fast, seedable generator (SplitMix64); enough for test data.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Index drawn with probability proportional to `weights`.
    fn pick(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut r = self.unit() * total;
        for (i, &w) in weights.iter().enumerate() {
            if r < w {
                return i;
            }
            r -= w;
        }
        weights.len() - 1
    }
}

/// `n` cases whose clocks start between `past_min` minutes before `now` and
/// `future_min` minutes after it (a future start is a scheduled summons),
/// from stations in proportion to their caseload, with the region's mix of
/// categories, women, juveniles and co-suspect groups.
pub fn pending_cases(
    region: &Region,
    now: DateTime<Utc>,
    n: usize,
    past_min: i64,
    future_min: i64,
    seed: u64,
) -> Vec<PendingCase> {
    let mut rng = SplitMix(seed ^ 0x5EED);
    let cl = &region.caseload;
    let stations: Vec<_> = cl.cases_per_day.iter().filter(|(_, r)| **r > 0.0).collect();
    let station_w: Vec<f64> = stations.iter().map(|(_, r)| **r).collect();
    let cats: Vec<(LegalCategory, f64)> = cl.mix.iter().map(|(&c, &w)| (c, w)).collect();
    let cat_w: Vec<f64> = cats.iter().map(|c| c.1).collect();
    let mut out = Vec::with_capacity(n);
    if station_w.iter().sum::<f64>() <= 0.0 || cat_w.iter().sum::<f64>() <= 0.0 {
        // No station sends cases: nothing to draw from.
        return out;
    }
    for i in 0..n {
        let station = stations[rng.pick(&station_w)].0.clone();
        let category = cats[rng.pick(&cat_w)].0;
        let span = past_min.max(0) + future_min.max(0);
        let ago = past_min.max(0) - (rng.unit() * span as f64) as i64;
        let group = rng.unit() < cl.group_share;
        let size = if group {
            cl.group_size.min
                + (rng.next() % u64::from(cl.group_size.max - cl.group_size.min + 1)) as u32
        } else {
            1
        };
        let persons = (0..size)
            .map(|j| Person {
                id: PersonId::new(format!("P{}-{}", i + 1, j + 1))
                    .expect("generated ids are valid"),
                gender: if rng.unit() < cl.female_share {
                    Gender::Female
                } else {
                    Gender::Male
                },
                juvenile: rng.unit() < cl.juvenile_share,
                co_suspect_group: group
                    .then(|| GroupId::new(format!("G{}", i + 1)).expect("generated ids are valid")),
            })
            .collect();
        let case = Case::new(
            CaseId::new(format!("C{}", i + 1)).expect("generated ids are valid"),
            station,
            now - Duration::minutes(ago),
            category,
            persons,
        )
        .expect("generated cases are valid");
        out.push(PendingCase {
            case,
            pinned: None,
            restriction: None,
        });
    }
    out
}
