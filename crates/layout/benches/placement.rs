//! Times exact p-median solves of OR-Library pmed1, pmed2 and pmed5 (parse excluded).
//!
//! Run: `cargo bench -p casehub-layout --bench placement`

use std::hint::black_box;
use std::time::Duration;

use casehub_layout::orlib::parse_pmed;
use casehub_layout::{Model, SolveOptions, SolveStatus, solve};
use criterion::{Criterion, criterion_group, criterion_main};

const INSTANCES: [(&str, &str, f64); 3] = [
    ("pmed1", include_str!("../tests/fixtures/pmed1.txt"), 5819.0),
    ("pmed2", include_str!("../tests/fixtures/pmed2.txt"), 4093.0),
    ("pmed5", include_str!("../tests/fixtures/pmed5.txt"), 1355.0),
];

fn p_median(c: &mut Criterion) {
    let mut group = c.benchmark_group("p-median");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for (name, text, optimum) in INSTANCES {
        let file = parse_pmed(text).expect("fixture parses");
        let model = Model::PMedian { p: file.p };
        let options = SolveOptions::default();
        group.bench_function(name, |b| {
            b.iter(|| {
                let solution = solve(black_box(&file.instance), &model, &options).unwrap();
                assert_eq!(solution.status, SolveStatus::Optimal);
                assert_eq!(solution.objective, optimum);
                solution
            })
        });
    }
    group.finish();
}

criterion_group!(benches, p_median);
criterion_main!(benches);
