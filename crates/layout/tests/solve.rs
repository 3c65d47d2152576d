//! Validation, errors, hand-made instances, time limits and serde.

use std::time::Duration;

use casehub_layout::orlib::parse_pmed;
use casehub_layout::{
    Instance, LayoutError, Model, ModelKind, Solution, SolveOptions, SolveStatus, solve,
};

/// Points on a line; clients and candidate facilities at the same places.
fn line(points: &[f64], demand: &[f64]) -> Instance {
    let cost = points
        .iter()
        .map(|a| points.iter().map(|b| (a - b).abs()).collect())
        .collect();
    Instance::new(demand.to_vec(), cost, vec![], vec![], vec![], vec![]).unwrap()
}

#[test]
fn instance_errors_name_field_and_value() {
    let err = Instance::new(
        vec![1.0, -2.0],
        vec![vec![0.0]; 2],
        vec![],
        vec![],
        vec![],
        vec![],
    )
    .unwrap_err();
    assert_eq!(
        err,
        LayoutError::InvalidValue {
            field: "demand[1]".into(),
            value: -2.0,
            reason: "negative"
        }
    );
    assert!(err.to_string().contains("demand[1]"));
    assert!(err.to_string().contains("-2"));

    let err = Instance::new(
        vec![1.0, 1.0],
        vec![vec![0.0, 1.0], vec![f64::NAN, 0.0]],
        vec![],
        vec![],
        vec![],
        vec![],
    )
    .unwrap_err();
    assert!(
        matches!(err, LayoutError::InvalidValue { ref field, reason: "not a number", .. } if field == "cost[1][0]")
    );

    let err = Instance::new(
        vec![1.0, 1.0],
        vec![vec![0.0, 1.0], vec![0.0]],
        vec![],
        vec![],
        vec![],
        vec![],
    )
    .unwrap_err();
    assert_eq!(
        err,
        LayoutError::Dimension {
            field: "cost[1]".into(),
            expected: 2,
            found: 1
        }
    );

    let err = Instance::new(
        vec![1.0],
        vec![vec![0.0, 1.0]],
        vec![1.0],
        vec![],
        vec![],
        vec![],
    )
    .unwrap_err();
    assert!(
        matches!(err, LayoutError::Dimension { ref field, expected: 2, found: 1 } if field == "fixed_cost")
    );

    let err = Instance::new(
        vec![1.0],
        vec![vec![0.0, 1.0]],
        vec![],
        vec![f64::INFINITY, 1.0],
        vec![],
        vec![],
    )
    .unwrap_err();
    assert!(
        matches!(err, LayoutError::InvalidValue { ref field, reason: "not finite", .. } if field == "capacity[0]")
    );

    let err = Instance::new(
        vec![1.0],
        vec![vec![0.0]],
        vec![],
        vec![],
        vec!["a".into(), "b".into()],
        vec![],
    )
    .unwrap_err();
    assert!(matches!(err, LayoutError::Dimension { ref field, .. } if field == "client_names"));

    assert!(matches!(
        Instance::new(vec![], vec![], vec![], vec![], vec![], vec![]),
        Err(LayoutError::InvalidInstance(_))
    ));
    assert!(matches!(
        Instance::new(vec![1.0], vec![vec![]], vec![], vec![], vec![], vec![]),
        Err(LayoutError::InvalidInstance(_))
    ));
}

#[test]
fn names_default_to_one_based_numbers() {
    let inst = line(&[0.0, 1.0, 2.0], &[1.0; 3]);
    assert_eq!(inst.client_names, vec!["1", "2", "3"]);
    assert_eq!(inst.facility_names, vec!["1", "2", "3"]);
}

#[test]
fn solve_revalidates_a_mutated_instance() {
    let mut inst = line(&[0.0, 1.0], &[1.0; 2]);
    inst.demand[0] = f64::NAN;
    assert!(matches!(
        solve(&inst, &Model::PMedian { p: 1 }, &SolveOptions::default()),
        Err(LayoutError::InvalidValue { .. })
    ));
}

#[test]
fn infeasible_and_invalid_models_are_reported_up_front() {
    let inst = line(&[0.0, 1.0, 2.0], &[1.0; 3]);
    let opts = SolveOptions::default();
    for model in [
        Model::PMedian { p: 4 },
        Model::PCenter { p: 4 },
        Model::Mclp { p: 4, radius: 1.0 },
    ] {
        let err = solve(&inst, &model, &opts).unwrap_err();
        assert!(matches!(err, LayoutError::Infeasible(_)), "{err:?}");
        assert!(err.to_string().contains("only 3 candidate"), "{err}");
    }
    for model in [
        Model::PMedian { p: 0 },
        Model::PCenter { p: 0 },
        Model::Mclp { p: 1, radius: -1.0 },
        Model::Mclp {
            p: 1,
            radius: f64::NAN,
        },
    ] {
        assert!(matches!(
            solve(&inst, &model, &opts),
            Err(LayoutError::InvalidModel(_))
        ));
    }
    let short = Instance::new(
        vec![10.0, 10.0],
        vec![vec![1.0, 1.0]; 2],
        vec![1.0, 1.0],
        vec![5.0, 14.0],
        vec![],
        vec![],
    )
    .unwrap();
    let err = solve(&short, &Model::Cflp, &opts).unwrap_err();
    assert!(matches!(err, LayoutError::Infeasible(_)));
    assert!(err.to_string().contains("total capacity 19"), "{err}");

    let bad_gap = SolveOptions {
        mip_rel_gap: -1.0,
        ..SolveOptions::default()
    };
    assert!(matches!(
        solve(&inst, &Model::PMedian { p: 1 }, &bad_gap),
        Err(LayoutError::InvalidModel(_))
    ));
}

#[test]
fn p_center_on_a_line() {
    // 0, 1, 5, 6, 10 with two centers: the best is radius 4 (e.g. {1, 6}).
    let inst = line(&[0.0, 1.0, 5.0, 6.0, 10.0], &[1.0; 5]);
    let sol = solve(&inst, &Model::PCenter { p: 2 }, &SolveOptions::default()).unwrap();
    assert_eq!(sol.objective, 4.0);
    assert_eq!(sol.open.len(), 2);
    assert_eq!(sol.status, SolveStatus::Optimal);
    assert_eq!(sol.gap, Some(0.0));
    // One center: the middle point 5 reaches everyone within 5.
    let sol = solve(&inst, &Model::PCenter { p: 1 }, &SolveOptions::default()).unwrap();
    assert_eq!(sol.objective, 5.0);
    assert_eq!(sol.open, vec![2]);
}

#[test]
fn mclp_on_a_line() {
    // Demand 5 sits alone at 10; the others come in pairs.
    let inst = line(&[0.0, 1.0, 5.0, 6.0, 10.0], &[1.0, 1.0, 1.0, 1.0, 5.0]);
    let sol = solve(
        &inst,
        &Model::Mclp { p: 1, radius: 1.0 },
        &SolveOptions::default(),
    )
    .unwrap();
    assert_eq!(sol.open, vec![4]);
    assert_eq!(sol.covered_demand, Some(5.0));
    // Uncovered clients still go to their nearest open facility.
    assert_eq!(sol.assignment[0], vec![(4, 1.0)]);
    let sol = solve(
        &inst,
        &Model::Mclp { p: 2, radius: 1.0 },
        &SolveOptions::default(),
    )
    .unwrap();
    assert_eq!(sol.objective, 7.0);
    assert!(sol.open.contains(&4));
}

#[test]
fn cflp_splits_demand_when_capacity_binds() {
    // One client of demand 15, two free facilities of capacity 10. Serving all 15 costs 10
    // from the first and 20 from the second: 2/3 * 10 + 1/3 * 20.
    let inst = Instance::new(
        vec![15.0],
        vec![vec![10.0, 20.0]],
        vec![0.0, 0.0],
        vec![10.0, 10.0],
        vec!["station".into()],
        vec!["north".into(), "south".into()],
    )
    .unwrap();
    let sol = solve(&inst, &Model::Cflp, &SolveOptions::default()).unwrap();
    assert_eq!(sol.open, vec![0, 1]);
    assert!((sol.objective - 40.0 / 3.0).abs() < 1e-6);
    let parts = &sol.assignment[0];
    assert_eq!(parts.len(), 2);
    assert!((parts[0].1 - 2.0 / 3.0).abs() < 1e-6);
    assert!((parts[1].1 - 1.0 / 3.0).abs() < 1e-6);
}

#[test]
fn cflp_weighs_fixed_costs() {
    // Uncapacitated: a free far facility against an expensive near one.
    let inst = Instance::new(
        vec![1.0, 1.0],
        vec![vec![1.0, 5.0], vec![1.0, 5.0]],
        vec![100.0, 0.0],
        vec![],
        vec![],
        vec![],
    )
    .unwrap();
    let sol = solve(&inst, &Model::Cflp, &SolveOptions::default()).unwrap();
    assert_eq!(sol.open, vec![1]);
    assert_eq!(sol.objective, 10.0);
}

#[test]
fn zero_time_limit_returns_the_greedy_start_as_time_limit() {
    let file = parse_pmed(include_str!("fixtures/pmed5.txt")).unwrap();
    let opts = SolveOptions {
        time_limit: Some(Duration::ZERO),
        ..SolveOptions::default()
    };
    for model in [
        Model::PMedian { p: file.p },
        Model::PCenter { p: file.p },
        Model::Mclp {
            p: file.p,
            radius: 20.0,
        },
    ] {
        let sol = solve(&file.instance, &model, &opts).unwrap();
        assert_eq!(sol.status, SolveStatus::TimeLimit, "{model:?}");
        assert_eq!(sol.open.len(), file.p);
        if let (Some(gap), Some(bound)) = (sol.gap, sol.bound) {
            assert!(gap >= 0.0);
            match model {
                Model::Mclp { .. } => assert!(bound >= sol.objective - 1e-9),
                _ => assert!(bound <= sol.objective + 1e-9),
            }
        }
    }
    // p-center knows its bracket even without any MILP: the greedy radius above, the
    // largest "nearest facility" distance (0 here, every vertex is a candidate) below.
    let sol = solve(&file.instance, &Model::PCenter { p: file.p }, &opts).unwrap();
    assert!(sol.objective >= 48.0);
    assert_eq!(sol.bound, Some(0.0));
    assert_eq!(sol.gap, Some(1.0));
}

#[test]
fn short_time_limit_is_honoured() {
    let file = parse_pmed(include_str!("fixtures/pmed5.txt")).unwrap();
    let opts = SolveOptions {
        time_limit: Some(Duration::from_millis(30)),
        ..SolveOptions::default()
    };
    let sol = solve(&file.instance, &Model::PMedian { p: file.p }, &opts).unwrap();
    assert!(sol.objective >= 1355.0);
    assert!(sol.solve_seconds < 5.0, "{}", sol.solve_seconds);
    if sol.status == SolveStatus::Optimal {
        assert_eq!(sol.objective, 1355.0);
    }
}

#[test]
fn thread_counts_can_change_between_solves_on_one_thread() {
    // HiGHS refuses a run whose `threads` differs from the pool it already has on a thread;
    // the crate must hide that.
    let inst = line(&[0.0, 1.0, 5.0, 6.0, 10.0], &[1.0; 5]);
    for threads in [None, Some(1), Some(2), None, Some(1)] {
        let opts = SolveOptions {
            threads,
            ..SolveOptions::default()
        };
        let sol = solve(&inst, &Model::PMedian { p: 2 }, &opts).unwrap();
        assert_eq!(sol.objective, 6.0, "{threads:?}");
    }
}

#[test]
fn model_kinds_parse_and_take_parameters() {
    assert_eq!("p-median".parse::<ModelKind>().unwrap(), ModelKind::PMedian);
    assert_eq!("P_Center".parse::<ModelKind>().unwrap(), ModelKind::PCenter);
    assert_eq!(" mclp ".parse::<ModelKind>().unwrap(), ModelKind::Mclp);
    assert_eq!("cflp".parse::<ModelKind>().unwrap(), ModelKind::Cflp);
    let err = "kmeans".parse::<ModelKind>().unwrap_err();
    assert!(err.to_string().contains("kmeans"));
    for kind in ModelKind::ALL {
        assert_eq!(kind.to_string().parse::<ModelKind>().unwrap(), kind);
    }

    assert_eq!(
        ModelKind::Mclp.with_params(Some(3), Some(12.5)).unwrap(),
        Model::Mclp { p: 3, radius: 12.5 }
    );
    assert_eq!(
        ModelKind::PMedian.with_params(Some(2), None).unwrap(),
        Model::PMedian { p: 2 }
    );
    assert_eq!(
        ModelKind::Cflp.with_params(None, None).unwrap(),
        Model::Cflp
    );
    assert!(ModelKind::PCenter.with_params(None, None).is_err());
    assert!(ModelKind::Mclp.with_params(Some(2), None).is_err());
    assert!(ModelKind::PMedian.with_params(Some(2), Some(1.0)).is_err());
    assert!(ModelKind::Cflp.with_params(Some(2), None).is_err());
    assert_eq!(Model::Mclp { p: 1, radius: 1.0 }.kind(), ModelKind::Mclp);
}

#[test]
fn serde_round_trips_and_validates() {
    let inst = line(&[0.0, 3.0], &[1.0, 2.0]);
    let sol = solve(&inst, &Model::PMedian { p: 1 }, &SolveOptions::default()).unwrap();
    let json = serde_json::to_string(&sol).unwrap();
    assert!(json.contains(r#""model":"p-median""#), "{json}");
    assert!(json.contains(r#""status":"optimal""#), "{json}");
    let back: Solution = serde_json::from_str(&json).unwrap();
    assert_eq!(back, sol);

    let json = serde_json::to_string(&inst).unwrap();
    let back: Instance = serde_json::from_str(&json).unwrap();
    assert_eq!(back, inst);

    // Optional fields may be left out; bad values are rejected with the field named.
    let minimal: Instance = serde_json::from_str(r#"{"demand":[1],"cost":[[0,2]]}"#).unwrap();
    assert_eq!(minimal.facility_names, vec!["1", "2"]);
    let err = serde_json::from_str::<Instance>(r#"{"demand":[-1],"cost":[[0]]}"#).unwrap_err();
    assert!(err.to_string().contains("demand[0]"), "{err}");

    let model: Model = serde_json::from_str(r#"{"model":"mclp","p":2,"radius":5.0}"#).unwrap();
    assert_eq!(model, Model::Mclp { p: 2, radius: 5.0 });
}
