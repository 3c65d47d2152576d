//! Great-circle legs against distances computed independently.
//!
//! Expected figures were computed outside this crate with Python's `math`
//! module, using the haversine formula on a sphere of radius 6371.0088 km:
//!
//! ```text
//! p1, p2 = radians(lat1), radians(lat2); dl = radians(lon2 - lon1)
//! h = sin((p2 - p1) / 2)**2 + cos(p1) * cos(p2) * sin(dl / 2)**2
//! d = 2 * 6371.0088 * asin(sqrt(h))
//! ```

use casehub_travel::{GreatCircle, Leg, Place, TravelError, TravelModel, great_circle_km};

fn place(id: &str, lat: f64, lon: f64) -> Place {
    Place::at(id, lat, lon).unwrap()
}

fn assert_close(actual: f64, expected: f64, tolerance: f64) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{actual} is not within {tolerance} of {expected}"
    );
}

#[test]
fn beijing_tiananmen_to_shanghai_peoples_square() {
    let beijing = place("beijing", 39.9087, 116.3975);
    let shanghai = place("shanghai", 31.2304, 121.4737);
    // Python haversine (see module docs): 1068.14034 km.
    assert_close(
        great_circle_km(&beijing.location, &shanghai.location),
        1068.1403,
        0.01,
    );
    let straight = GreatCircle::new(1.0, 60.0).unwrap();
    let leg = straight.leg(&beijing, &shanghai).unwrap();
    assert_close(leg.km, 1068.1403, 0.01);
    // 1068.1403 km at 60 km/h is 1068.1403 minutes.
    assert_close(leg.minutes, 1068.1403, 0.01);
}

#[test]
fn one_degree_of_latitude_is_about_111_2_km() {
    // 2π × 6371.0088 / 360 = 111.19508 km, anywhere along a meridian.
    for lon in [0.0, 116.4, -75.0] {
        let a = place("a", 0.0, lon);
        let b = place("b", 1.0, lon);
        assert_close(great_circle_km(&a.location, &b.location), 111.19508, 1e-4);
        let c = place("c", 45.0, lon);
        let d = place("d", 46.0, lon);
        assert_close(great_circle_km(&c.location, &d.location), 111.19508, 1e-4);
    }
}

#[test]
fn one_degree_of_longitude_at_60_north_is_about_half() {
    // Python haversine (60, 0) → (60, 1): 55.59701 km (slightly less than the
    // 55.5975 km along the parallel, since the great circle cuts the corner).
    let a = place("a", 60.0, 0.0);
    let b = place("b", 60.0, 1.0);
    assert_close(great_circle_km(&a.location, &b.location), 55.59701, 1e-4);
}

#[test]
fn detour_and_speed_arithmetic() {
    let model = GreatCircle::new(1.3, 40.0).unwrap();
    let a = place("a", 0.0, 0.0);
    let b = place("b", 1.0, 0.0);
    let leg = model.leg(&a, &b).unwrap();
    // 111.19508 km × 1.3 = 144.55360 km; at 40 km/h: 144.55360 / 40 × 60 = 216.83041 min.
    assert_close(leg.km, 144.55360, 1e-4);
    assert_close(leg.minutes, 216.83041, 1e-4);
    assert_eq!(model.leg(&a, &a).unwrap(), Leg::ZERO);
    assert_eq!(model.detour_factor(), 1.3);
    assert_eq!(model.speed_kmh(), 40.0);
    assert!(model.describe().contains("1.3") && model.describe().contains("40"));
}

#[test]
fn parameters_are_validated_and_errors_name_field_and_value() {
    let message =
        |detour: f64, speed: f64| GreatCircle::new(detour, speed).unwrap_err().to_string();
    assert!(message(0.9, 40.0).starts_with("invalid detour_factor = 0.9:"));
    assert!(message(f64::NAN, 40.0).starts_with("invalid detour_factor = NaN:"));
    assert!(message(f64::INFINITY, 40.0).starts_with("invalid detour_factor = inf:"));
    assert!(message(1.2, 0.0).starts_with("invalid speed_kmh = 0:"));
    assert!(message(1.2, -5.0).starts_with("invalid speed_kmh = -5:"));
    assert!(message(1.2, f64::NAN).starts_with("invalid speed_kmh = NaN:"));
    assert!(GreatCircle::new(1.0, 0.001).is_ok());
    assert!(matches!(
        GreatCircle::new(0.5, 1.0),
        Err(TravelError::Invalid(e)) if e.field == "detour_factor"
    ));
}

#[test]
fn serde_goes_through_validation() {
    let ok: GreatCircle =
        serde_json::from_str(r#"{"detour_factor": 1.25, "speed_kmh": 45}"#).unwrap();
    assert_eq!(ok, GreatCircle::new(1.25, 45.0).unwrap());
    let bad = serde_json::from_str::<GreatCircle>(r#"{"detour_factor": 0.5, "speed_kmh": 45}"#);
    assert!(bad.unwrap_err().to_string().contains("detour_factor"));
}

#[test]
fn place_at_rejects_bad_coordinates() {
    assert!(Place::at("x", 91.0, 0.0).is_err());
    assert!(Place::at("x", 0.0, -181.0).is_err());
    assert!(Place::at("x", f64::NAN, 0.0).is_err());
}
