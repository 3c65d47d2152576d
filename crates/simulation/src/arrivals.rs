//! Arrivals: cases detained at each station, drawn from the region's caseload.
//!
//! Each station's arrivals are a non-homogeneous Poisson process whose rate
//! follows the caseload's hour-of-day profile: in each hour of the simulated
//! period the number of cases from a station is Poisson with mean
//! `cases_per_day × weight(local hour) / Σ weights`, and their times are
//! uniform within the hour (exact for a piecewise-constant rate). Each case
//! draws its legal category from the mix, and is a co-suspect group (of a
//! uniform size between the group bounds) with the group share; each person
//! is a woman and a juvenile with the region's shares.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand_distr::{Distribution, Poisson};

use casehub_model::{Case, CaseId, Gender, GroupId, LegalCategory, Person, PersonId, Region};

/// A case detained at `at_min` minutes after the start of the simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrival {
    pub at_min: f64,
    pub case: Case,
}

/// Draw every arrival in `[0, duration_min)` after `start`, in time order.
pub fn draw<R: Rng>(
    region: &Region,
    start: DateTime<Utc>,
    duration_min: f64,
    rng: &mut R,
) -> Vec<Arrival> {
    let cl = &region.caseload;
    let total_w: f64 = cl.hour_profile.iter().sum();
    let cats: Vec<(LegalCategory, f64)> = cl.mix.iter().map(|(&c, &w)| (c, w)).collect();
    let cat_total: f64 = cats.iter().map(|c| c.1).sum();
    let offset = i64::from(region.info.utc_offset_min);
    let start_local_min = start.timestamp().div_euclid(60) + offset;
    let hours = (duration_min / 60.0).ceil() as i64;
    let mut times: Vec<(f64, usize)> = Vec::new();
    let stations: Vec<_> = cl.cases_per_day.iter().filter(|(_, r)| **r > 0.0).collect();
    for h in 0..hours {
        let from = h as f64 * 60.0;
        let to = (from + 60.0).min(duration_min);
        let local_hour = (start_local_min + h * 60).div_euclid(60).rem_euclid(24) as usize;
        let share = cl.hour_profile[local_hour] / total_w * (to - from) / 60.0;
        if share <= 0.0 {
            continue;
        }
        for (si, &(_, &per_day)) in stations.iter().enumerate() {
            let mean = per_day * share;
            if mean <= 0.0 {
                continue;
            }
            let n = Poisson::new(mean).map_or(0.0, |p| p.sample(rng)) as u64;
            for _ in 0..n {
                times.push((from + rng.random::<f64>() * (to - from), si));
            }
        }
    }
    times.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out = Vec::with_capacity(times.len());
    for (i, (at, si)) in times.into_iter().enumerate() {
        let n = i + 1;
        let mut r = rng.random::<f64>() * cat_total;
        let mut category = cats
            .last()
            .map_or(LegalCategory::AdministrativeQuestioning, |c| c.0);
        for &(c, w) in &cats {
            if r < w {
                category = c;
                break;
            }
            r -= w;
        }
        let group = rng.random::<f64>() < cl.group_share;
        let size = if group {
            rng.random_range(cl.group_size.min..=cl.group_size.max)
        } else {
            1
        };
        let persons = (1..=size)
            .map(|k| Person {
                id: PersonId::new(format!("C{n}-P{k}")).expect("valid id"),
                gender: if rng.random::<f64>() < cl.female_share {
                    Gender::Female
                } else {
                    Gender::Male
                },
                juvenile: rng.random::<f64>() < cl.juvenile_share,
                co_suspect_group: group.then(|| GroupId::new(format!("G{n}")).expect("valid id")),
            })
            .collect();
        let ms = (at * 60_000.0).round() as i64;
        let clock = start + Duration::milliseconds(ms);
        let case = Case::new(
            CaseId::new(format!("C{n}")).expect("valid id"),
            stations[si].0.clone(),
            clock,
            category,
            persons,
        )
        .expect("at least one person with unique ids");
        out.push(Arrival {
            at_min: ms as f64 / 60_000.0,
            case,
        });
    }
    out
}
