//! Instances the brute-force comparison (tests/brute_force.rs) found where
//! HiGHS reported an optimum found in its presolved space but handed back
//! the greedy start's columns, worth more; the model now solves again
//! without the start when the two disagree.

use casehub_layout::{Instance, Model, SolveOptions, solve};

#[test]
fn clients_without_demand_do_not_open_facilities() {
    // Facility 3 alone (fixed 1) serves both clients at cost 0: total 1.
    let instance = Instance::new(
        vec![0.0, 0.0],
        vec![vec![0.0, 5.0, 0.0, 0.0], vec![15.0, 13.0, 14.0, 0.0]],
        vec![1.0, 1.0, 0.0, 1.0],
        vec![],
        vec![],
        vec![],
    )
    .unwrap();
    let s = solve(&instance, &Model::Cflp, &SolveOptions::default()).unwrap();
    assert!((s.objective - 1.0).abs() < 1e-9, "{s:?}");
}

#[test]
fn the_optimum_is_returned_even_when_presolve_improves_the_start() {
    // Found by tests/brute_force.rs. Opening all three facilities, client 1
    // takes 2 units free at facility 0 and 1 at facility 2, 5 at facility 1
    // (13 × 5/8); client 0 pays 12; client 2 pays 0: 3 + 12 + 8.125. HiGHS
    // used to report this optimum while handing back the greedy start's
    // columns, worth 26.375.
    let instance = Instance::new(
        vec![7.0, 8.0, 10.0],
        vec![
            vec![12.0, 12.0, 12.0],
            vec![0.0, 13.0, 0.0],
            vec![0.0, 0.0, 0.0],
        ],
        vec![1.0, 1.0, 1.0],
        vec![2.0, 22.0, 1.0],
        vec![],
        vec![],
    )
    .unwrap();
    let s = solve(&instance, &Model::Cflp, &SolveOptions::default()).unwrap();
    assert!((s.objective - 23.125).abs() < 1e-9, "{s:?}");
}
