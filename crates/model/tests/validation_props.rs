//! Property tests: random bad values always give an error, never a panic;
//! random good values are accepted.

use casehub_model::scenario::{import_geojson, parse_region};
use casehub_model::steps::DurationDist;
use casehub_model::time::DailyWindow;
use casehub_model::{Location, Room, RoomId, RoomKind, SiteId};
use proptest::prelude::*;

fn bad_lat() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        (90.000_001f64..1e12),
        (-1e12f64..-90.000_001),
    ]
}

proptest! {
    #[test]
    fn bad_latitudes_are_rejected(lat in bad_lat(), lon in -180.0f64..180.0) {
        let e = Location::new(lat, lon).unwrap_err();
        prop_assert_eq!(e.field, "lat");
    }

    #[test]
    fn bad_longitudes_are_rejected(lat in -90.0f64..90.0, lon in prop_oneof![Just(f64::NAN), 180.000_001f64..1e9, -1e9f64..-180.000_001]) {
        let e = Location::new(lat, lon).unwrap_err();
        prop_assert_eq!(e.field, "lon");
    }

    #[test]
    fn good_locations_are_accepted(lat in -90.0f64..=90.0, lon in -180.0f64..=180.0) {
        let l = Location::new(lat, lon).unwrap();
        prop_assert_eq!((l.lat(), l.lon()), (lat, lon));
    }

    #[test]
    fn negative_or_nan_durations_are_rejected(bad in prop_oneof![Just(f64::NAN), -1e9f64..-1e-9], ok in 0.0f64..100.0) {
        prop_assert!(DurationDist::fixed(bad).is_err());
        prop_assert!(DurationDist::uniform(bad, ok).is_err());
        prop_assert!(DurationDist::triangular(ok, ok, bad).is_err());
        prop_assert!(DurationDist::triangular(ok, bad, ok + 1.0).is_err());
    }

    #[test]
    fn quantiles_stay_within_bounds(a in 0.0f64..100.0, b in 0.0f64..100.0, c in 0.0f64..100.0, p in proptest::num::f64::ANY) {
        let mut v = [a, b, c];
        v.sort_by(|x, y| x.partial_cmp(y).unwrap());
        let d = DurationDist::triangular(v[0], v[1], v[2]).unwrap();
        let q = d.quantile(p);
        prop_assert!(q >= v[0] - 1e-9 && q <= v[2] + 1e-9, "{q} outside [{}, {}]", v[0], v[2]);
    }

    #[test]
    fn ids_reject_bad_characters(prefix in "[a-z]{0,5}", bad in "[ /\\\\:*?\"<>|#@!\u{4e00}-\u{4e10}]", suffix in "[a-z]{0,5}") {
        let s = format!("{prefix}{bad}{suffix}");
        prop_assert!(SiteId::new(s).is_err());
    }

    #[test]
    fn only_holding_rooms_hold_more_than_one(cap in 0u32..50, kind_ix in 0usize..8) {
        let kind = RoomKind::ALL[kind_ix];
        let r = Room::new(RoomId::new("r").unwrap(), kind, Some(cap), true, false);
        let ok = cap == 1 || (cap > 1 && kind == RoomKind::Holding);
        prop_assert_eq!(r.is_ok(), ok);
    }

    #[test]
    fn windows_never_panic(s in "\\PC{0,16}") {
        let _ = DailyWindow::parse("w", &s);
    }

    #[test]
    fn arbitrary_text_never_panics_the_parsers(s in "\\PC{0,200}") {
        let _ = parse_region("x.toml", &s);
        let _ = parse_region("x.json", &s);
        let _ = import_geojson("x.geojson", &s);
    }

    #[test]
    fn mutated_sample_never_panics(pos in 0usize..20_000, byte in any::<u8>()) {
        let mut text = include_str!("../../../simulations/sample-county/region.toml").as_bytes().to_vec();
        let pos = pos % text.len();
        text[pos] = byte;
        if let Ok(s) = String::from_utf8(text) {
            let _ = parse_region("x.toml", &s);
        }
    }
}
