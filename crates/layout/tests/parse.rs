//! OR-Library parsers: the fixtures, the duplicate-edge rule, error messages, and a proptest
//! that random text never panics.

use casehub_layout::LayoutError;
use casehub_layout::orlib::{MAX_PMED_VERTICES, parse_cap, parse_pmed};
use proptest::prelude::*;

const PMED1: &str = include_str!("fixtures/pmed1.txt");
const PMED2: &str = include_str!("fixtures/pmed2.txt");
const PMED5: &str = include_str!("fixtures/pmed5.txt");
const CAP71: &str = include_str!("fixtures/cap71.txt");
const CAP72: &str = include_str!("fixtures/cap72.txt");

fn parse_error(err: LayoutError) -> (usize, String, String) {
    match err {
        LayoutError::Parse {
            line,
            found,
            expected,
        } => (line, found, expected),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn pmed_fixtures_have_the_announced_shape() {
    for (text, p) in [(PMED1, 5), (PMED2, 10), (PMED5, 33)] {
        let file = parse_pmed(text).unwrap();
        assert_eq!(file.p, p);
        let inst = &file.instance;
        assert_eq!(inst.num_clients(), 100);
        assert_eq!(inst.num_facilities(), 100);
        assert!(inst.demand.iter().all(|&d| d == 1.0));
        assert_eq!(inst.client_names[0], "1");
        assert_eq!(inst.facility_names[99], "100");
        for a in 0..100 {
            assert_eq!(inst.cost[a][a], 0.0);
            for b in 0..100 {
                assert_eq!(inst.cost[a][b], inst.cost[b][a]);
                assert!(inst.cost[a][b].is_finite());
            }
        }
    }
}

#[test]
fn pmed1_takes_the_last_of_a_duplicated_edge() {
    // pmed1 lists edge {19,20} as "19 20 22" and later as "20 19 30", and edge {30,70} as
    // "30 70 5" and later as "70 30 74"; no detour is shorter than the last costs.
    let file = parse_pmed(PMED1).unwrap();
    assert_eq!(file.instance.cost[18][19], 30.0);
    assert_eq!(file.instance.cost[29][69], 74.0);
}

#[test]
fn duplicated_edge_last_occurrence_wins() {
    // A path 1 - 2 - 3; edge {1,2} given as 1, then (reversed) as 10.
    let text = "3 3 1\n1 2 1\n2 3 1\n2 1 10\n";
    let file = parse_pmed(text).unwrap();
    assert_eq!(file.instance.cost[0][1], 10.0);
    assert_eq!(file.instance.cost[0][2], 11.0);
    assert_eq!(file.instance.cost[1][2], 1.0);
}

#[test]
fn shortest_paths_go_around() {
    // Triangle with a long direct edge: 1-3 is 100 directly, 2 via vertex 2.
    let file = parse_pmed("3 3 1\n1 3 100\n1 2 1\n2 3 1\n").unwrap();
    assert_eq!(file.instance.cost[0][2], 2.0);
    assert_eq!(file.instance.cost[2][0], 2.0);
}

#[test]
fn pmed_errors_name_line_and_token() {
    let (line, found, expected) = parse_error(parse_pmed("3 2 1\n1 2 5\n2 x 5\n").unwrap_err());
    assert_eq!(line, 3);
    assert_eq!(found, "'x'");
    assert!(expected.contains("edge 2"), "{expected}");

    let (line, found, expected) = parse_error(parse_pmed("3 2 1\n1 2 5\n2 4 5\n").unwrap_err());
    assert_eq!((line, found.as_str()), (3, "'4'"));
    assert!(expected.contains("1..=3"), "{expected}");

    let (line, found, _) = parse_error(parse_pmed("3 2 1\n1 2 5\n2 3 -5\n").unwrap_err());
    assert_eq!((line, found.as_str()), (3, "'-5'"));

    let (line, found, expected) = parse_error(parse_pmed("3 2 1\n1 2 5\n").unwrap_err());
    assert_eq!((line, found.as_str()), (2, "end of input"));
    assert!(expected.contains("edge 2"), "{expected}");

    let (line, found, expected) = parse_error(parse_pmed("2 1 1\n1 2 5\n7\n").unwrap_err());
    assert_eq!((line, found.as_str()), (3, "'7'"));
    assert!(expected.contains("end of input"), "{expected}");

    let (line, _, expected) = parse_error(parse_pmed("3 2 4\n1 2 5\n2 3 5\n").unwrap_err());
    assert_eq!(line, 1);
    assert!(expected.contains("between 1 and n = 3"), "{expected}");

    let (line, found, _) = parse_error(parse_pmed("").unwrap_err());
    assert_eq!((line, found.as_str()), (1, "end of input"));

    let too_big = format!("{} 0 1\n", MAX_PMED_VERTICES + 1);
    let (line, _, _) = parse_error(parse_pmed(&too_big).unwrap_err());
    assert_eq!(line, 1);
}

#[test]
fn pmed_rejects_disconnected_graphs() {
    for text in ["4 2 1\n1 2 1\n3 4 1\n", "5 1 1\n1 2 1\n"] {
        match parse_pmed(text).unwrap_err() {
            LayoutError::InvalidInstance(msg) => assert!(msg.contains("not connected"), "{msg}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn cap_fixtures_have_the_announced_shape() {
    for (text, fixed) in [(CAP71, 7500.0), (CAP72, 12500.0)] {
        let inst = parse_cap(text, None).unwrap();
        assert_eq!(inst.num_facilities(), 16);
        assert_eq!(inst.num_clients(), 50);
        assert_eq!(inst.total_demand(), 58268.0);
        assert!(inst.capacity.iter().all(|&u| u == 58268.0));
        // Warehouse 11 is free in the whole cap7x family.
        assert_eq!(inst.fixed_cost[10], 0.0);
        assert_eq!(inst.fixed_cost[0], fixed);
        assert_eq!(inst.demand[0], 146.0);
        assert_eq!(inst.cost[0][0], 6739.725);
        assert_eq!(inst.cost[49][15], 7448.1);
        // ".00000" is zero.
        assert_eq!(inst.cost[22][10], 0.0);
    }
}

/// capa/capb/capc style: the literal word `capacity`, costs wrapping across lines.
const CAP_LITERAL: &str = "2 3\ncapacity 100.\ncapacity 50.\n10\n 1. 2.\n20 3.\n4.\n30 5. 6.\n";

#[test]
fn cap_literal_capacity_needs_an_override() {
    let (line, found, expected) = parse_error(parse_cap(CAP_LITERAL, None).unwrap_err());
    assert_eq!((line, found.as_str()), (2, "'capacity'"));
    assert!(expected.contains("capacity override"), "{expected}");

    let inst = parse_cap(CAP_LITERAL, Some(40.0)).unwrap();
    assert_eq!(inst.capacity, vec![40.0, 40.0]);
    assert_eq!(inst.fixed_cost, vec![100.0, 50.0]);
    assert_eq!(inst.demand, vec![10.0, 20.0, 30.0]);
    assert_eq!(
        inst.cost,
        vec![vec![1.0, 2.0], vec![3.0, 4.0], vec![5.0, 6.0]]
    );
}

#[test]
fn cap_override_replaces_numeric_capacities_and_is_validated() {
    let inst = parse_cap(CAP71, Some(5000.0)).unwrap();
    assert!(inst.capacity.iter().all(|&u| u == 5000.0));
    assert!(matches!(
        parse_cap(CAP71, Some(f64::NAN)),
        Err(LayoutError::InvalidValue { .. })
    ));
}

#[test]
fn cap_errors_name_line_and_token() {
    let (line, found, expected) = parse_error(parse_cap("1 1\n5 5\n1 nan\n", None).unwrap_err());
    assert_eq!((line, found.as_str()), (3, "'nan'"));
    assert!(
        expected.contains("customer 1 from warehouse 1"),
        "{expected}"
    );

    let (line, found, expected) = parse_error(parse_cap("2 1\n5 5\n", None).unwrap_err());
    assert_eq!((line, found.as_str()), (2, "end of input"));
    assert!(expected.contains("warehouse 2"), "{expected}");

    let (line, found, _) = parse_error(parse_cap("1 1\n5 5\n1 2 3\n", None).unwrap_err());
    assert_eq!((line, found.as_str()), (3, "'3'"));
}

fn soup() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        (0u32..20).prop_map(|v| v.to_string()),
        any::<u64>().prop_map(|v| v.to_string()),
        Just("capacity".to_string()),
        Just("-1".to_string()),
        Just("1e400".to_string()),
        Just("NaN".to_string()),
        Just(".5".to_string()),
        "[a-z]{1,3}",
    ];
    let sep = prop_oneof![Just(" "), Just("\n"), Just("\r\n"), Just("\t")];
    prop::collection::vec((token, sep), 0..60)
        .prop_map(|parts| parts.into_iter().map(|(t, s)| t + s).collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic_on_random_text(text in "\\PC{0,200}") {
        let _ = parse_pmed(&text);
        let _ = parse_cap(&text, None);
        let _ = parse_cap(&text, Some(10.0));
    }

    #[test]
    fn parsers_never_panic_on_token_soup(text in soup()) {
        let _ = parse_pmed(&text);
        let _ = parse_cap(&text, None);
        let _ = parse_cap(&text, Some(10.0));
    }

    #[test]
    fn parsers_never_panic_on_a_mangled_fixture(cut in 0usize..2200, junk in "\\PC{0,5}") {
        let mut text: String = PMED1.chars().take(cut).collect();
        text.push_str(&junk);
        let _ = parse_pmed(&text);
        let mut text: String = CAP71.chars().take(cut * 4).collect();
        text.push_str(&junk);
        let _ = parse_cap(&text, None);
    }
}
