//! Scenario format: the sample region loads, round-trips, and bad files give
//! errors that name the file, the place and the reason.

use casehub_model::scenario::{self, import_geojson, parse_region};
use casehub_model::{Region, RoomKind, SiteKind};

const SAMPLE: &str = include_str!("../../../simulations/sample-county/region.toml");

fn sample() -> Region {
    parse_region("region.toml", SAMPLE).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn sample_region_loads_and_matches_its_description() {
    let r = sample();
    assert_eq!(r.main_center().kind, SiteKind::MainCenter);
    assert_eq!(r.candidate_sites.len(), 2);
    assert!(
        (20..=30).contains(&r.stations.len()),
        "{} stations",
        r.stations.len()
    );
    let total = r.caseload.total_per_day();
    assert!(
        (10.0..100.0).contains(&total),
        "tens of cases a day, got {total}"
    );
    // Rural stations have 3 to 6 officers.
    for s in r.stations.iter().filter(|s| s.rural) {
        let n = r.station_officers(&s.id).count();
        assert!((3..=6).contains(&n), "{} has {n} officers", s.id);
    }
    assert!(r.main_center().rooms_of(RoomKind::Interrogation).count() >= 4);
    assert!(
        r.officers
            .iter()
            .any(|o| o.gender == casehub_model::Gender::Female)
    );
}

#[test]
fn toml_and_json_round_trip() {
    let r = sample();
    let toml_text = scenario::region_to_toml(&r);
    let back = parse_region("again.toml", &toml_text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, r);
    let json_text = scenario::region_to_json(&r);
    let back = parse_region("again.json", &json_text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, r);
}

#[test]
fn geojson_points_round_trip_and_merge() {
    let r = sample();
    let text = r.points_geojson();
    let points = import_geojson("points.geojson", &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(points.stations.len(), r.stations.len());
    assert_eq!(points.candidate_sites.len(), 2);
    assert_eq!(points.site_locations.len(), 1);
    let merged = r.merge_points("points.geojson", points).unwrap();
    assert_eq!(merged, r);

    // Moving a station in QGIS moves it in the region.
    let moved = text.replacen(&format!("{}", r.stations[0].location.lon()), "113.5", 1);
    let merged = r
        .merge_points("p.geojson", import_geojson("p.geojson", &moved).unwrap())
        .unwrap();
    assert_eq!(merged.stations[0].location.lon(), 113.5);
}

#[test]
fn geojson_errors_name_the_feature() {
    let bad = r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","geometry":{"type":"Point","coordinates":[112.9,95.0]},"properties":{"kind":"station","id":"X","min_on_duty":2}}]}"#;
    let e = import_geojson("p.geojson", bad).unwrap_err();
    assert_eq!(
        e.path.as_deref(),
        Some("features[0].geometry.coordinates[1]")
    );
    assert!(e.to_string().contains("95"), "{e}");

    let bad = r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","geometry":{"type":"Point","coordinates":[112.9,27.0]},"properties":{"kind":"tower","id":"X"}}]}"#;
    let e = import_geojson("p.geojson", bad).unwrap_err();
    assert!(e.to_string().contains("tower"), "{e}");

    let e = import_geojson("p.geojson", "{not json").unwrap_err();
    assert!(e.to_string().starts_with("p.geojson"), "{e}");

    let r = sample();
    let unknown_site = r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","geometry":{"type":"Point","coordinates":[112.9,27.0]},"properties":{"kind":"site","id":"NOPE"}}]}"#;
    let e = r
        .merge_points(
            "p.geojson",
            import_geojson("p.geojson", unknown_site).unwrap(),
        )
        .unwrap_err();
    assert!(e.reason.contains("NOPE"), "{e}");
}

/// Replace the first occurrence of `from` in the sample with `to` and parse it.
fn sample_with(from: &str, to: &str) -> scenario::ScenarioError {
    assert!(SAMPLE.contains(from), "test setup: {from:?} not in sample");
    let text = SAMPLE.replacen(from, to, 1);
    parse_region("region.toml", &text).expect_err("should be rejected")
}

#[test]
fn toml_errors_give_line_path_and_reason() {
    // Latitude out of range.
    let e = sample_with(
        "location = { lat = 27.8012,",
        "location = { lat = 127.8012,",
    );
    let msg = e.to_string();
    assert!(msg.starts_with("region.toml:"), "{msg}");
    assert!(e.line.is_some(), "{msg}");
    assert_eq!(e.path.as_deref(), Some("sites[0].location"), "{msg}");
    assert!(
        msg.contains("127.8012") && msg.contains("latitude"),
        "{msg}"
    );

    // Unknown room kind.
    let e = sample_with("kind = \"medical\"", "kind = \"sauna\"");
    assert!(e.to_string().contains("sauna"), "{e}");
    assert_eq!(e.path.as_deref(), Some("sites[0].rooms[6].kind"));

    // Holding capacity of 0.
    let e = sample_with(
        "kind = \"holding\", capacity = 2",
        "kind = \"holding\", capacity = 0",
    );
    assert!(e.to_string().contains("capacity = 0"), "{e}");

    // Negative duration.
    let e = sample_with(
        "medical = { dist = \"triangular\", min = 15.0",
        "medical = { dist = \"triangular\", min = -15.0",
    );
    assert!(e.to_string().contains("-15"), "{e}");
    assert_eq!(e.path.as_deref(), Some("step_durations.medical"));

    // NaN in a rate.
    let e = sample_with("S01 = 3.6", "S01 = nan");
    assert!(e.to_string().contains("NaN"), "{e}");

    // Syntax error: line number.
    let e = sample_with("[[shifts]]", "[[shifts]");
    let (line, _) = e.line.expect("syntax errors have a line");
    let expected = SAMPLE
        .lines()
        .position(|l| l.starts_with("[[shifts]]"))
        .unwrap()
        + 1;
    assert_eq!(line, expected, "{e}");

    // Unsupported format version.
    let e = sample_with("format_version = 1", "format_version = 7");
    assert!(e.to_string().contains("format_version = 7"), "{e}");
}

#[test]
fn cross_reference_errors_name_the_field() {
    // An officer posted to a site that does not exist.
    let e = sample_with(
        "gender = \"male\"\nsite = \"MC\"",
        "gender = \"male\"\nsite = \"GHOST\"",
    );
    assert!(
        e.to_string().contains("GHOST") && e.to_string().contains("officers["),
        "{e}"
    );

    // Duplicate station id.
    let e = sample_with("id = \"S02\"", "id = \"S01\"");
    assert!(
        e.to_string().contains("duplicate") && e.to_string().contains("S01"),
        "{e}"
    );

    // Caseload for an unknown station.
    let e = sample_with("S26 = 0.45", "S99 = 0.45");
    assert!(e.to_string().contains("S99"), "{e}");

    // Station minimum above the officers it has.
    let e = sample_with(
        "min_on_duty = 2\nrural = true",
        "min_on_duty = 9\nrural = true",
    );
    assert!(e.to_string().contains("min_on_duty"), "{e}");

    // Legal limit looser than the law.
    let e = sample_with(
        "[policy]\n",
        "[policy]\nlegal_limits_h = { criminal_summons = 13 }\n",
    );
    assert!(
        e.to_string().contains("criminal_summons") && e.to_string().contains("13"),
        "{e}"
    );
}

#[test]
fn json_errors_give_the_json_path() {
    let r = sample();
    let mut v: serde_json::Value = serde_json::from_str(&scenario::region_to_json(&r)).unwrap();
    v["stations"][4]["location"]["lon"] = serde_json::json!(-190.0);
    let text = serde_json::to_string_pretty(&v).unwrap();
    let e = parse_region("region.json", &text).unwrap_err();
    assert_eq!(e.path.as_deref(), Some("stations[4].location"), "{e}");
    assert!(e.to_string().contains("-190"), "{e}");
    assert!(e.line.is_some());
}
