//! Imported travel matrix: parsing, lookup and line-numbered errors.

use casehub_travel::{Leg, Place, TravelError, TravelMatrix, TravelModel};

const MATRIX: &str = "\
from,to,minutes,km
# exported by the city router, 2024-05
station-01,site-main,34.5,21.7
station-01,site-east,51,
site-main,station-01,36,22.4

station-02,site-main,0,0
";

fn place(id: &str, lat: f64, lon: f64) -> Place {
    Place::at(id, lat, lon).unwrap()
}

#[test]
fn lookup_is_directed_and_exact() {
    let m = TravelMatrix::from_csv("matrix.csv", MATRIX).unwrap();
    let s1 = place("station-01", 30.0, 120.0);
    let s2 = place("station-02", 30.5, 120.0);
    let main = place("site-main", 30.2, 120.1);
    assert_eq!(
        m.leg(&s1, &main).unwrap(),
        Leg {
            km: 21.7,
            minutes: 34.5
        }
    );
    assert_eq!(
        m.leg(&main, &s1).unwrap(),
        Leg {
            km: 22.4,
            minutes: 36.0
        }
    );
    assert_eq!(m.leg(&s2, &main).unwrap(), Leg::ZERO);
    assert_eq!(m.len(), 4);
    assert!(m.contains("station-01", "site-east"));
    assert!(!m.contains("site-east", "station-01"));
    assert_eq!(m.leg(&s1, &s1).unwrap(), Leg::ZERO, "a place to itself");
}

#[test]
fn missing_pair_is_an_error() {
    let m = TravelMatrix::from_csv("matrix.csv", MATRIX).unwrap();
    let s2 = place("station-02", 30.5, 120.0);
    let east = place("site-east", 30.0, 121.0);
    let err = m.leg(&s2, &east).unwrap_err();
    assert_eq!(
        err,
        TravelError::MissingPair {
            from: "station-02".into(),
            to: "site-east".into()
        }
    );
    assert!(
        err.to_string()
            .contains("no entry from station-02 to site-east")
    );
}

#[test]
fn empty_km_falls_back_to_great_circle_times_detour() {
    // station-01 (0, 0) → site-east (1, 0): 1° of latitude = 111.19508 km
    // (2π × 6371.0088 / 360); minutes come from the file.
    let s1 = place("station-01", 0.0, 0.0);
    let east = place("site-east", 1.0, 0.0);
    let m = TravelMatrix::from_csv("matrix.csv", MATRIX).unwrap();
    let leg = m.leg(&s1, &east).unwrap();
    assert_eq!(leg.minutes, 51.0);
    assert!((leg.km - 111.19508).abs() < 1e-4, "{leg:?}");
    let m = m.with_fallback_detour(1.5).unwrap();
    assert!((m.leg(&s1, &east).unwrap().km - 166.79262).abs() < 1e-4);
    assert!(m.describe().contains("1 without km"), "{}", m.describe());
    assert!(m.with_fallback_detour(0.5).is_err());
}

#[test]
fn km_column_is_optional() {
    let m = TravelMatrix::from_csv("m.csv", "minutes,to,from\n12,b,a\n").unwrap();
    let leg = m.leg(&place("a", 0.0, 0.0), &place("b", 0.0, 0.0)).unwrap();
    assert_eq!(
        leg,
        Leg {
            km: 0.0,
            minutes: 12.0
        }
    );
}

fn error(text: &str) -> String {
    TravelMatrix::from_csv("matrix.csv", text)
        .unwrap_err()
        .to_string()
}

#[test]
fn parse_errors_carry_file_and_line() {
    assert_eq!(
        error("from,to,minutes,km\na,b,1,1\nc,d,1,1\na,b,2,2\n"),
        "matrix.csv line 4: duplicate pair \"a\" -> \"b\" (first given on line 2)"
    );
    assert_eq!(
        error("from,to,minutes,km\na,b,1,1\na,c,-4,1\n"),
        "matrix.csv line 3: column minutes: \"-4\" must not be negative"
    );
    assert_eq!(
        error("from,to,minutes,km\na,b,1,nan\n"),
        "matrix.csv line 2: column km: \"nan\" must be a finite number"
    );
    assert_eq!(
        error("from,to,minutes,km\na,b,1,-0.5\n"),
        "matrix.csv line 2: column km: \"-0.5\" must not be negative"
    );
    assert_eq!(
        error("from,to,minutes,km\na,b,,3\n"),
        "matrix.csv line 2: column minutes: must not be empty"
    );
    assert_eq!(
        error("from,to,minutes,km\n,b,3,3\n"),
        "matrix.csv line 2: column from: must not be empty"
    );
    assert_eq!(
        error("from,to,minutes,km\na,b,3 min,3\n"),
        "matrix.csv line 2: column minutes: \"3 min\" is not a number"
    );
    assert_eq!(
        error("from,to,km\na,b,3\n"),
        "matrix.csv line 1: missing column \"minutes\" in the header (expected `from,to,minutes,km`)"
    );
    assert_eq!(
        error("from,to,minutes,km\na,b,3,3,extra\n"),
        "matrix.csv line 2: expected 4 fields as in the header, found 5"
    );
    assert!(error("").starts_with("matrix.csv line 1: missing header row"));
}
