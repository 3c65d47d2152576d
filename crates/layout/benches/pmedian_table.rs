//! Times exact p-median solves of OR-Library pmed1, pmed2, pmed5, pmed6, pmed11 and pmed16
//! (100 to 400 vertices) and prints one markdown table: instance, nodes, p, published
//! optimum, objective found, status, solve seconds (median of the runs; parsing and the
//! shortest-path matrix excluded).
//!
//! Run: `cargo bench -p casehub-layout --bench pmedian_table`
//!
//! Arguments after `--`: `--csv` prints `instance,nodes,p,optimum,objective,status,seconds`
//! instead of markdown (what `simulations/bench/compare_pmedian.sh` reads); `--runs N`
//! solves each instance N times (default 3) and reports the median; instance names
//! (`pmed6 pmed11`) restrict the run to those.

use std::time::Instant;

use casehub_layout::orlib::parse_pmed;
use casehub_layout::{Model, SolveOptions, SolveStatus, solve};

/// Name, file text, published optimum (Beasley's `pmedopt`).
const INSTANCES: [(&str, &str, f64); 6] = [
    ("pmed1", include_str!("../tests/fixtures/pmed1.txt"), 5819.0),
    ("pmed2", include_str!("../tests/fixtures/pmed2.txt"), 4093.0),
    ("pmed5", include_str!("../tests/fixtures/pmed5.txt"), 1355.0),
    ("pmed6", include_str!("../tests/fixtures/pmed6.txt"), 7824.0),
    (
        "pmed11",
        include_str!("../tests/fixtures/pmed11.txt"),
        7696.0,
    ),
    (
        "pmed16",
        include_str!("../tests/fixtures/pmed16.txt"),
        8162.0,
    ),
];

struct Row {
    name: &'static str,
    nodes: usize,
    p: usize,
    optimum: f64,
    objective: f64,
    status: SolveStatus,
    seconds: f64,
}

fn main() {
    let mut csv = false;
    let mut runs = 3usize;
    let mut only = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--csv" => csv = true,
            "--runs" => {
                runs = args
                    .next()
                    .and_then(|r| r.parse().ok())
                    .filter(|&r| r >= 1)
                    .expect("--runs takes a positive integer");
            }
            // `cargo bench` passes `--bench`; ignore it and any other flag.
            flag if flag.starts_with("--") => {}
            name => only.push(name.to_string()),
        }
    }
    if let Some(unknown) = only
        .iter()
        .find(|o| !INSTANCES.iter().any(|(name, _, _)| name == o))
    {
        panic!("unknown instance `{unknown}`");
    }

    if csv {
        println!("instance,nodes,p,optimum,objective,status,seconds");
    } else {
        println!("| instance | nodes | p | optimum | objective | status | casehub s |");
        println!("|---|---:|---:|---:|---:|---|---:|");
    }
    for (name, text, optimum) in INSTANCES {
        if !only.is_empty() && !only.iter().any(|o| o == name) {
            continue;
        }
        let row = measure(name, text, optimum, runs);
        let status = match row.status {
            SolveStatus::Optimal => "optimal",
            SolveStatus::TimeLimit => "time-limit",
        };
        if csv {
            println!(
                "{},{},{},{},{},{},{:.4}",
                row.name, row.nodes, row.p, row.optimum, row.objective, status, row.seconds
            );
        } else {
            println!(
                "| {} | {} | {} | {} | {} | {} | {:.3} |",
                row.name, row.nodes, row.p, row.optimum, row.objective, status, row.seconds
            );
        }
    }
}

/// Solves one instance `runs` times; the median wall-clock time of `solve` (model build,
/// HiGHS, assignment) and the last run's result.
fn measure(name: &'static str, text: &str, optimum: f64, runs: usize) -> Row {
    let file = parse_pmed(text).expect("fixture parses");
    let model = Model::PMedian { p: file.p };
    let options = SolveOptions::default();
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        let solution = solve(&file.instance, &model, &options).expect("p-median solves");
        times.push(started.elapsed().as_secs_f64());
        last = Some(solution);
    }
    let solution = last.expect("at least one run");
    times.sort_by(f64::total_cmp);
    Row {
        name,
        nodes: file.instance.num_clients(),
        p: file.p,
        optimum,
        objective: solution.objective,
        status: solution.status,
        seconds: times[times.len() / 2],
    }
}
