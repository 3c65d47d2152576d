//! Bench binary: one simulated year of the sample county with the greedy policy.
//!
//! `cargo bench -p casehub-simulation --bench year` prints, for the region as
//! it is (the main center alone) and with both candidate sub-centers built,
//! the wall time per replication (one replication on one core, then two
//! replications in parallel), the events processed per second and the
//! engine calls. `-- --days N` changes the simulated days.

use std::time::Instant;

use casehub_model::scenario::parse_region;
use casehub_simulation::{Layout, Policy, SimConfig, SubCenterTemplate, simulate};
use casehub_travel::{GreatCircle, TravelTable};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let days = args
        .iter()
        .position(|a| a == "--days")
        .and_then(|i| args.get(i + 1))
        .and_then(|d| d.parse::<f64>().ok())
        .unwrap_or(365.0);
    let flag = |name: &str, default: u32| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|d| d.parse::<u32>().ok())
            .unwrap_or(default)
    };
    let defaults = SimConfig::default();
    let slot_min = flag("--slot", defaults.slot_min);
    let horizon_h = flag("--horizon", defaults.horizon_h);
    let retry_min = flag("--retry", defaults.retry_min);
    let only_first = args.iter().any(|a| a == "--one");
    let region = parse_region(
        "region.toml",
        include_str!("../../../simulations/sample-county/region.toml"),
    )
    .expect("sample region");
    let model = GreatCircle::new(1.35, 45.0).expect("model");
    let travel = TravelTable::for_region(&model, &region).expect("table");
    let layouts = [
        Layout::from_region(&region),
        Layout::with_sites(
            &region,
            &["CAND-NE", "CAND-SW"],
            SubCenterTemplate::default(),
        )
        .expect("layout"),
    ];
    println!(
        "| layout | days | replications | threads | wall s | s per replication | cases per replication | events | events/s | engine calls | ms per engine call |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for layout in &layouts {
        for (reps, threads) in [(1u32, 1usize), (2, 2)] {
            if only_first && reps > 1 {
                continue;
            }
            let cfg = SimConfig {
                days,
                replications: reps,
                seed: 7,
                policy: Policy::Greedy { interval_min: 0 },
                slot_min,
                horizon_h,
                retry_min,
                ..SimConfig::default()
            };
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            let started = Instant::now();
            let r = pool
                .install(|| simulate(&region, &travel, layout, &cfg, &|_| {}))
                .expect("simulates");
            let wall = started.elapsed().as_secs_f64();
            let calls: u64 = r.replications.iter().map(|x| x.policy_calls).sum();
            println!(
                "| {} | {days} | {reps} | {threads} | {wall:.2} | {:.2} | {:.0} | {} | {:.0} | {calls} | {:.2} |",
                layout.name,
                wall / f64::from(reps) * threads as f64,
                r.kpis.cases.mean,
                r.events,
                r.events as f64 / wall,
                wall * threads as f64 * 1000.0 / calls.max(1) as f64,
            );
        }
    }
}
