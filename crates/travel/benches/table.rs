//! Build a TravelTable for 30 stations × 8 sites on a synthetic 2,000-node grid road network.

use std::fmt::Write;
use std::hint::black_box;

use casehub_travel::{Place, RoadNetwork, TravelTable};
use criterion::{Criterion, criterion_group, criterion_main};

const ROWS: usize = 50;
const COLS: usize = 40;
const LAT0: f64 = 30.0;
const LON0: f64 = 120.0;
const STEP: f64 = 0.01;

/// A 50 × 40 grid (~1 km spacing): every 10th row/column is a 60 km/h
/// arterial, the rest 30 km/h streets; every 7th row is one-way eastbound.
fn grid() -> RoadNetwork {
    let id = |r: usize, c: usize| format!("n{r}_{c}");
    let mut nodes = String::from("id,lat,lon\n");
    let mut edges = String::from("from,to,km,speed_kmh,oneway\n");
    for r in 0..ROWS {
        for c in 0..COLS {
            let (lat, lon) = (LAT0 + r as f64 * STEP, LON0 + c as f64 * STEP);
            writeln!(nodes, "{},{lat},{lon}", id(r, c)).unwrap();
            if c + 1 < COLS {
                let speed = if r % 10 == 0 { 60 } else { 30 };
                let oneway = r % 7 == 3;
                writeln!(edges, "{},{},,{speed},{oneway}", id(r, c), id(r, c + 1)).unwrap();
            }
            if r + 1 < ROWS {
                let speed = if c % 10 == 0 { 60 } else { 30 };
                writeln!(edges, "{},{},,{speed},", id(r, c), id(r + 1, c)).unwrap();
            }
        }
    }
    RoadNetwork::from_csv("grid_nodes.csv", &nodes, "grid_edges.csv", &edges, 40.0).unwrap()
}

/// Deterministic pseudo-random places inside the grid.
fn places(prefix: &str, n: usize, seed: u64) -> Vec<Place> {
    let mut state = seed;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|i| {
            let lat = LAT0 + next() * STEP * (ROWS - 1) as f64;
            let lon = LON0 + next() * STEP * (COLS - 1) as f64;
            Place::at(format!("{prefix}{i}"), lat, lon).unwrap()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let network = grid();
    let stations = places("station-", 30, 1);
    let sites = places("site-", 8, 2);
    c.bench_function("travel_table_road_2000_nodes_30x8", |b| {
        b.iter(|| TravelTable::build(black_box(&network), &stations, &sites).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
