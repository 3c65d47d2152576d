//! TravelTable: build, lookup, summary, serde.

use casehub_travel::{
    GreatCircle, Leg, Place, RoadNetwork, TravelError, TravelMatrix, TravelModel, TravelTable,
};

fn place(id: &str, lat: f64, lon: f64) -> Place {
    Place::at(id, lat, lon).unwrap()
}

fn stations() -> Vec<Place> {
    vec![
        place("st-1", 30.00, 120.00),
        place("st-2", 30.03, 120.08),
        place("st-3", 29.96, 120.04),
        place("st-4", 30.06, 120.01),
    ]
}

fn sites() -> Vec<Place> {
    vec![place("main", 30.02, 120.05), place("sub", 29.95, 120.10)]
}

/// A 5 × 5 grid, 0.025° apart, every edge two-way at the default speed,
/// except a faster east-west row and one oneway.
fn grid() -> RoadNetwork {
    let mut nodes = String::from("id,lat,lon\n");
    let mut edges = String::from("from,to,km,speed_kmh,oneway\n");
    for r in 0..5 {
        for c in 0..5 {
            let (lat, lon) = (29.95 + 0.025 * r as f64, 120.0 + 0.025 * c as f64);
            nodes += &format!("n{r}{c},{lat},{lon}\n");
            if c < 4 {
                let speed = if r == 2 { "70" } else { "" };
                let oneway = if r == 4 { "true" } else { "" };
                edges += &format!("n{r}{c},n{r}{},,{speed},{oneway}\n", c + 1);
            }
            if r < 4 {
                edges += &format!("n{r}{c},n{}{c},,,\n", r + 1);
            }
        }
    }
    RoadNetwork::from_csv("grid_nodes.csv", &nodes, "grid_edges.csv", &edges, 35.0).unwrap()
}

fn assert_agrees(model: &dyn TravelModel, origins: &[Place], destinations: &[Place]) {
    let table = TravelTable::build(model, origins, destinations).unwrap();
    assert_eq!(table.origins(), origins);
    assert_eq!(table.destinations(), destinations);
    assert_eq!(table.source(), model.describe());
    for (i, o) in origins.iter().enumerate() {
        for (j, d) in destinations.iter().enumerate() {
            let direct = model.leg(o, d).unwrap();
            assert_eq!(
                table.leg(&o.id, &d.id),
                Some(direct),
                "{} -> {}",
                o.id,
                d.id
            );
            assert_eq!(table.leg_at(i, j), direct);
        }
    }
    assert_eq!(table.leg("nope", &destinations[0].id), None);
    assert_eq!(table.leg(&origins[0].id, "nope"), None);
}

#[test]
fn table_agrees_with_direct_legs_for_every_model() {
    assert_agrees(&grid(), &stations(), &sites());
    assert_agrees(&GreatCircle::new(1.3, 45.0).unwrap(), &stations(), &sites());
    let matrix = TravelMatrix::from_csv(
        "m.csv",
        "from,to,minutes,km\nst-1,main,10,8\nst-1,sub,20,\nst-2,main,5,4\nst-2,sub,7,6\n",
    )
    .unwrap();
    assert_agrees(&matrix, &stations()[..2], &sites());
}

#[test]
fn road_network_rows_differ_by_direction() {
    // The oneway top row makes some legs asymmetric; the table must keep direction.
    let net = grid();
    let west = place("west", 30.05, 120.0);
    let east = place("east", 30.05, 120.1);
    let there = TravelTable::build(
        &net,
        std::slice::from_ref(&west),
        std::slice::from_ref(&east),
    )
    .unwrap();
    let back = TravelTable::build(
        &net,
        std::slice::from_ref(&east),
        std::slice::from_ref(&west),
    )
    .unwrap();
    let (there, back) = (
        there.leg("west", "east").unwrap(),
        back.leg("east", "west").unwrap(),
    );
    assert!(there.minutes < back.minutes, "{there:?} vs {back:?}");
}

#[test]
fn summary_figures_are_hand_checkable() {
    let matrix = TravelMatrix::from_csv(
        "m.csv",
        "from,to,minutes,km\n\
         a,x,10,8\na,y,20,15\n\
         b,x,30,25\nb,y,5,4\n\
         c,x,50,40\nc,y,50,41\n",
    )
    .unwrap();
    let origins = [
        place("a", 0.0, 0.0),
        place("b", 0.0, 0.1),
        place("c", 0.0, 0.2),
    ];
    let dests = [place("x", 0.1, 0.0), place("y", 0.1, 0.1)];
    let summary = TravelTable::build(&matrix, &origins, &dests)
        .unwrap()
        .summary();
    let x = &summary.destinations[0];
    assert_eq!(
        (x.id.as_str(), x.min_minutes, x.max_minutes),
        ("x", 10.0, 50.0)
    );
    assert!((x.mean_minutes - 30.0).abs() < 1e-12);
    let y = &summary.destinations[1];
    assert_eq!((y.min_minutes, y.max_minutes), (5.0, 50.0));
    assert!((y.mean_minutes - 25.0).abs() < 1e-12);
    let nearest: Vec<_> = summary
        .origins
        .iter()
        .map(|n| (n.origin.as_str(), n.destination.as_str(), n.minutes, n.km))
        .collect();
    // c ties at 50 min: the destination listed first wins.
    assert_eq!(
        nearest,
        [
            ("a", "x", 10.0, 8.0),
            ("b", "y", 5.0, 4.0),
            ("c", "x", 50.0, 40.0)
        ]
    );
    let text = summary.to_string();
    assert!(text.contains("travel matrix m.csv"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("b ") && l.contains("y") && l.contains("5.0")),
        "{text}"
    );
}

#[test]
fn build_errors() {
    let gc = GreatCircle::new(1.0, 30.0).unwrap();
    let dup = [place("s", 0.0, 0.0), place("s", 1.0, 1.0)];
    assert_eq!(
        TravelTable::build(&gc, &dup, &sites()).unwrap_err(),
        TravelError::DuplicatePlace {
            list: "origins",
            id: "s".into()
        }
    );
    assert!(matches!(
        TravelTable::build(&gc, &stations(), &[]),
        Err(TravelError::InvalidTable { .. })
    ));
    // The model's error is passed on: first failing origin in order.
    let matrix = TravelMatrix::from_csv("m.csv", "from,to,minutes\nst-1,main,3\n").unwrap();
    assert_eq!(
        TravelTable::build(&matrix, &stations(), &sites()).unwrap_err(),
        TravelError::MissingPair {
            from: "st-1".into(),
            to: "sub".into()
        }
    );
    let isolated = RoadNetwork::from_csv(
        "n.csv",
        "id,lat,lon\na,30,120\nb,30.1,120\nc,31,121\n",
        "e.csv",
        "from,to\na,b\n",
        40.0,
    )
    .unwrap();
    let far = [place("far", 31.0, 121.0)];
    assert!(matches!(
        TravelTable::build(&isolated, &stations(), &far),
        Err(TravelError::Unreachable { .. })
    ));
}

#[test]
fn serde_round_trip_rebuilds_the_index() {
    let table = TravelTable::build(&grid(), &stations(), &sites()).unwrap();
    let json = serde_json::to_string(&table).unwrap();
    let back: TravelTable = serde_json::from_str(&json).unwrap();
    assert_eq!(back.origins(), table.origins());
    assert_eq!(back.destinations(), table.destinations());
    assert_eq!(back.source(), table.source());
    // serde_json (without its float_roundtrip feature) may change the last bit.
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(1.0);
    for (row, back_row) in table.legs().iter().zip(back.legs()) {
        for (leg, b) in row.iter().zip(back_row) {
            assert!(
                close(leg.km, b.km) && close(leg.minutes, b.minutes),
                "{leg:?} vs {b:?}"
            );
        }
    }
    assert_eq!(back.leg("st-3", "sub"), Some(back.leg_at(2, 1)));
    assert_eq!(back.origin_index("st-2"), Some(1));
    assert_eq!(back.destination_index("sub"), Some(1));
}

#[test]
fn inconsistent_tables_are_rejected() {
    let origins = vec![place("a", 0.0, 0.0)];
    let dests = vec![place("x", 0.0, 0.0), place("y", 0.0, 0.0)];
    let leg = Leg {
        km: 1.0,
        minutes: 2.0,
    };
    let short = TravelTable::new("t".into(), origins.clone(), dests.clone(), vec![vec![leg]]);
    assert!(
        short
            .unwrap_err()
            .to_string()
            .contains("origin a has 1 legs for 2 destinations")
    );
    let negative = Leg {
        km: -1.0,
        minutes: 2.0,
    };
    let bad = TravelTable::new(
        "t".into(),
        origins.clone(),
        dests.clone(),
        vec![vec![leg, negative]],
    );
    assert!(bad.unwrap_err().to_string().contains("a -> y"));
    let ok = TravelTable::new("t".into(), origins, dests, vec![vec![leg, leg]]).unwrap();

    let mut json: serde_json::Value = serde_json::to_value(&ok).unwrap();
    json["legs"][0].as_array_mut().unwrap().pop();
    let err = serde_json::from_value::<TravelTable>(json).unwrap_err();
    assert!(
        err.to_string().contains("1 legs for 2 destinations"),
        "{err}"
    );
}
