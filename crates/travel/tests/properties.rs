//! Property tests: parsers never panic; great-circle legs behave like a metric.

use casehub_travel::{GreatCircle, Place, RoadNetwork, TravelMatrix, TravelModel};
use proptest::prelude::*;

/// Cell text that is a number (any sign, NaN, infinities, huge), empty or junk.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<f64>().prop_map(|x| x.to_string()),
        (-1e4f64..1e4).prop_map(|x| x.to_string()),
        Just(String::new()),
        Just("NaN".to_string()),
        Just("-inf".to_string()),
        Just("1e309".to_string()),
        "[ -~]{0,6}",
    ]
}

/// Mostly a valid coordinate, so that many networks parse and get routed.
fn coordinate_cell() -> impl Strategy<Value = String> {
    prop_oneof![
        9 => (-90.0f64..90.0).prop_map(|x| x.to_string()),
        1 => cell(),
    ]
}

/// Mostly a plausible non-negative number or empty, sometimes anything.
fn number_cell() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => (0.0f64..500.0).prop_map(|x| x.to_string()),
        2 => Just(String::new()),
        1 => cell(),
    ]
}

fn flag_cell() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("true".to_string()),
        Just("no".to_string()),
        cell(),
    ]
}

/// Mostly two different nodes of the three, sometimes a self-loop or a node
/// that does not exist (n3).
fn endpoints() -> impl Strategy<Value = (usize, usize)> {
    prop_oneof![
        12 => (0usize..3, 1usize..3).prop_map(|(from, step)| (from, (from + step) % 3)),
        1 => (0usize..4, 0usize..4),
    ]
}

fn location() -> impl Strategy<Value = (f64, f64)> {
    (-90.0f64..=90.0, -180.0f64..=180.0)
}

proptest! {
    #[test]
    fn garbage_never_panics(nodes in "\\PC{0,200}", edges in "\\PC{0,200}", matrix in "\\PC{0,200}") {
        let _ = RoadNetwork::from_csv("n.csv", &nodes, "e.csv", &edges, 40.0);
        let _ = TravelMatrix::from_csv("m.csv", &matrix);
        // Garbage after a valid header reaches the row parsers.
        let _ = RoadNetwork::from_csv(
            "n.csv",
            &format!("id,lat,lon\n{nodes}"),
            "e.csv",
            &format!("from,to,km,speed_kmh,oneway\n{edges}"),
            40.0,
        );
        let _ = RoadNetwork::from_csv(
            "n.csv",
            "id,lat,lon\na,0,0\nb,1,1\n",
            "e.csv",
            &format!("from,to,km,speed_kmh,oneway\na,b,{edges}"),
            40.0,
        );
        let with_header = format!("from,to,minutes,km\n{matrix}");
        let _ = TravelMatrix::from_csv("m.csv", &with_header);
    }

    #[test]
    fn random_numbers_in_csv_give_errors_or_sane_legs(
        node_cells in prop::collection::vec((coordinate_cell(), coordinate_cell()), 3),
        edge_cells in prop::collection::vec((endpoints(), number_cell(), number_cell(), flag_cell()), 0..6),
        matrix_cells in prop::collection::vec((number_cell(), number_cell()), 0..4),
    ) {
        let mut nodes = String::from("id,lat,lon\n");
        for (i, (lat, lon)) in node_cells.iter().enumerate() {
            nodes += &format!("n{i},{lat},{lon}\n");
        }
        let mut edges = String::from("from,to,km,speed_kmh,oneway\n");
        for ((from, to), km, speed, oneway) in &edge_cells {
            edges += &format!("n{from},n{to},{km},{speed},{oneway}\n");
        }
        if let Ok(net) = RoadNetwork::from_csv("n.csv", &nodes, "e.csv", &edges, 40.0) {
            let a = Place::at("a", 10.0, 10.0).unwrap();
            let b = Place::at("b", -10.0, -10.0).unwrap();
            if let Ok(leg) = net.leg(&a, &b) {
                prop_assert!(leg.km >= 0.0 && leg.minutes >= 0.0, "{leg:?}");
                prop_assert!(!leg.km.is_nan() && !leg.minutes.is_nan(), "{leg:?}");
            }
        }

        let mut matrix = String::from("from,to,minutes,km\n");
        for (i, (minutes, km)) in matrix_cells.iter().enumerate() {
            matrix += &format!("s{i},t,{minutes},{km}\n");
        }
        if let Ok(m) = TravelMatrix::from_csv("m.csv", &matrix) {
            for i in 0..matrix_cells.len() {
                let s = Place::at(format!("s{i}"), 0.0, 0.0).unwrap();
                let t = Place::at("t", 0.0, 1.0).unwrap();
                let leg = m.leg(&s, &t).unwrap();
                prop_assert!(leg.km.is_finite() && leg.km >= 0.0, "{leg:?}");
                prop_assert!(leg.minutes.is_finite() && leg.minutes >= 0.0, "{leg:?}");
            }
        }
    }

    #[test]
    fn great_circle_is_symmetric_non_negative_and_triangular(
        a in location(), b in location(), c in location(),
        detour in 1.0f64..3.0, speed in 1.0f64..200.0,
    ) {
        let model = GreatCircle::new(detour, speed).unwrap();
        let pa = Place::at("a", a.0, a.1).unwrap();
        let pb = Place::at("b", b.0, b.1).unwrap();
        let pc = Place::at("c", c.0, c.1).unwrap();
        let ab = model.leg(&pa, &pb).unwrap();
        let ba = model.leg(&pb, &pa).unwrap();
        let bc = model.leg(&pb, &pc).unwrap();
        let ac = model.leg(&pa, &pc).unwrap();
        prop_assert!(ab.km >= 0.0 && ab.minutes >= 0.0);
        prop_assert!((ab.km - ba.km).abs() <= 1e-9 * (1.0 + ab.km));
        prop_assert!((ab.minutes - ba.minutes).abs() <= 1e-9 * (1.0 + ab.minutes));
        // Half the circumference × the detour bounds every leg.
        prop_assert!(ab.km <= std::f64::consts::PI * 6371.0088 * detour + 1e-6);
        let slack = 1e-9 * (ab.km + bc.km) + 1e-6;
        prop_assert!(ac.km <= ab.km + bc.km + slack, "{ac:?} > {ab:?} + {bc:?}");
        prop_assert!(ac.minutes <= ab.minutes + bc.minutes + slack * 60.0 / speed);
    }
}
