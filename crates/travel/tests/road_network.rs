//! Road network: shortest paths on a hand-drawn graph, access legs, parse errors.

use casehub_travel::{Leg, Place, RoadNetwork, TravelError, TravelModel};

/// Hand-drawn graph (km and speeds given explicitly, so positions only matter
/// for attaching places):
///
/// ```text
///             C
///   6 km@60 /   \ 8 km@80, oneway C→B
///          /     \
///         A ----- B      A–B direct: 10 km @ 20 km/h = 30 min
///          \     /
///   5 km@60 \   / 5 km@60, oneway B→D
///             D
///   E: isolated
/// ```
///
/// A→B: direct 30 min; A→C→B 6 + 6 = 12 min, 14 km; A→D→B is not allowed
/// (D→B would be against the oneway, else 5 + 5 = 10 min). So the fastest
/// A→B is the 2-edge path through C, not the 1-edge direct road, and the
/// answer would be 10 min if the oneway were ignored.
/// B→A: B→C is against the oneway; B→D→A 5 + 5 = 10 min, 10 km.
const NODES: &str = "\
id,lat,lon
A,30.0,120.0
B,30.0,120.1
C,30.05,120.05
D,29.95,120.05
E,31.0,121.0
";

const EDGES: &str = "\
from,to,km,speed_kmh,oneway
A,B,10,20,
A,C,6,60,false
C,B,8,80,true
B,D,5,60,yes
D,A,5,60,
";

fn network() -> RoadNetwork {
    RoadNetwork::from_csv("nodes.csv", NODES, "edges.csv", EDGES, 50.0).unwrap()
}

fn place(id: &str, lat: f64, lon: f64) -> Place {
    Place::at(id, lat, lon).unwrap()
}

fn assert_leg(actual: Leg, km: f64, minutes: f64) {
    assert!(
        (actual.km - km).abs() < 1e-9 && (actual.minutes - minutes).abs() < 1e-9,
        "{actual:?} is not {km} km, {minutes} min"
    );
}

#[test]
fn fastest_path_is_not_fewest_edges_and_oneway_matters() {
    let net = network();
    let a = place("station-a", 30.0, 120.0);
    let b = place("site-b", 30.0, 120.1);
    assert_leg(net.leg(&a, &b).unwrap(), 14.0, 12.0);
    assert_leg(net.leg(&b, &a).unwrap(), 10.0, 10.0);
    // A→D: direct edge D–A is two-way, 5 km @ 60 = 5 min.
    let d = place("d", 29.95, 120.05);
    assert_leg(net.leg(&a, &d).unwrap(), 5.0, 5.0);
    // D→B: D→A→C→B = 5 + 6 + 8 km, 5 + 6 + 6 min (D→A→B direct would be 35 min).
    assert_leg(net.leg(&d, &b).unwrap(), 19.0, 17.0);
    assert_eq!(net.node_count(), 5);
    assert_eq!(net.edge_count(), 5);
}

#[test]
fn access_legs_use_the_access_speed() {
    let net = network();
    // 0.01° north of A: nearest node is A, 1.1119508 km away (haversine,
    // Python math module, R = 6371.0088 km); at 30 km/h that is 2.2239016 min.
    let near_a = place("near-a", 30.01, 120.0);
    let b = place("b", 30.0, 120.1);
    assert_eq!(net.nearest_node(&near_a.location).0, "A");
    assert_leg(
        net.leg(&near_a, &b).unwrap(),
        14.0 + 1.1119508023,
        12.0 + 2.2239016047,
    );
    // Both ends have an access leg: near-a → A → ... → A → near-a' is two
    // access legs when the destination also sits off the node.
    let south_of_a = place("south-a", 29.99, 120.0);
    let both = net.leg(&near_a, &south_of_a).unwrap();
    assert_leg(both, 2.0 * 1.1119508023, 2.0 * 2.2239016047);

    let fast = network().with_access_speed(60.0).unwrap();
    assert_leg(
        fast.leg(&near_a, &b).unwrap(),
        14.0 + 1.1119508023,
        12.0 + 1.1119508023,
    );
    assert!(network().with_access_speed(0.0).is_err());
    assert!(network().with_access_speed(f64::NAN).is_err());
}

#[test]
fn same_position_is_zero() {
    let net = network();
    let p = place("p", 30.02, 120.01);
    let q = place("q", 30.02, 120.01);
    assert_eq!(net.leg(&p, &q).unwrap(), Leg::ZERO);
}

#[test]
fn unreachable_pair_is_a_clear_error() {
    let net = network();
    let a = place("station-a", 30.0, 120.0);
    let e = place("site-e", 31.0, 121.0);
    let err = net.leg(&a, &e).unwrap_err();
    assert_eq!(
        err,
        TravelError::Unreachable {
            from: "station-a".into(),
            to: "site-e".into()
        }
    );
    assert!(
        err.to_string()
            .starts_with("no road route from station-a to site-e")
    );
}

#[test]
fn empty_km_is_the_great_circle_and_empty_speed_the_default() {
    // P–Q is 1° of latitude: 111.19508 km (2π × 6371.0088 / 360); at the
    // default 50 km/h that is 133.43410 min. Columns in a different order.
    let nodes = "lon,id,lat\n0,P,0\n0,Q,1\n";
    let edges = "to,from\nQ,P\n";
    let net = RoadNetwork::from_csv("n.csv", nodes, "e.csv", edges, 50.0).unwrap();
    let leg = net
        .leg(&place("p", 0.0, 0.0), &place("q", 1.0, 0.0))
        .unwrap();
    assert!((leg.km - 111.19508).abs() < 1e-4, "{leg:?}");
    assert!((leg.minutes - 133.43410).abs() < 1e-4, "{leg:?}");
    // No oneway column: both ways.
    let back = net
        .leg(&place("q", 1.0, 0.0), &place("p", 0.0, 0.0))
        .unwrap();
    assert_eq!(back, leg);
}

#[test]
fn legs_from_agrees_with_leg() {
    let net = network();
    let from = place("x", 30.01, 120.02);
    let to = [
        place("a", 30.0, 120.0),
        place("b", 30.0, 120.1),
        place("b2", 30.0, 120.1),
        place("x2", 30.01, 120.02),
        place("d", 29.96, 120.05),
    ];
    let all = net.legs_from(&from, &to).unwrap();
    assert_eq!(all.len(), to.len());
    for (dest, leg) in to.iter().zip(&all) {
        assert_eq!(*leg, net.leg(&from, dest).unwrap(), "to {}", dest.id);
    }
    assert!(net.legs_from(&from, &[]).unwrap().is_empty());
}

fn error(nodes: &str, edges: &str) -> String {
    RoadNetwork::from_csv("roads_nodes.csv", nodes, "roads_edges.csv", edges, 40.0)
        .unwrap_err()
        .to_string()
}

const OK_EDGES: &str = "from,to\nA,B\n";
const OK_NODES: &str = "id,lat,lon\nA,30,120\nB,30.1,120\n";

#[test]
fn parse_error_unknown_node_in_edge() {
    assert_eq!(
        error(OK_NODES, "from,to,km\nA,B,1\nA,Z,2\n"),
        "roads_edges.csv line 3: column to: \"Z\" is not a node in roads_nodes.csv"
    );
}

#[test]
fn parse_error_duplicate_node_id() {
    assert_eq!(
        error("id,lat,lon\nA,30,120\nB,30.1,120\nA,30.2,120\n", OK_EDGES),
        "roads_nodes.csv line 4: column id: \"A\" duplicates the node on line 2"
    );
}

#[test]
fn parse_error_bad_numbers() {
    assert_eq!(
        error(
            OK_NODES,
            "from,to,km,speed_kmh,oneway\nA,B,1,,\nB,A,1,,\nA,B,1,,\nA,B,1,,\nA,B,1,,\nA,B,-3,,\n"
        ),
        "roads_edges.csv line 7: column km: \"-3\" must not be negative"
    );
    assert_eq!(
        error(OK_NODES, "from,to,km\nA,B,NaN\n"),
        "roads_edges.csv line 2: column km: \"NaN\" must be a finite number"
    );
    assert_eq!(
        error(OK_NODES, "from,to,km,speed_kmh\nA,B,1,0\n"),
        "roads_edges.csv line 2: column speed_kmh: \"0\" must be greater than 0"
    );
    assert_eq!(
        error(OK_NODES, "from,to,km,speed_kmh\nA,B,1,-20\n"),
        "roads_edges.csv line 2: column speed_kmh: \"-20\" must be greater than 0"
    );
    assert_eq!(
        error(OK_NODES, "from,to,km\nA,B,two\n"),
        "roads_edges.csv line 2: column km: \"two\" is not a number"
    );
    assert_eq!(
        error("id,lat,lon\nA,30,120\nB,inf,120\n", OK_EDGES),
        "roads_nodes.csv line 3: column lat: \"inf\" must be a finite number"
    );
    assert_eq!(
        error(OK_NODES, "from,to,oneway\nA,B,sometimes\n"),
        "roads_edges.csv line 2: column oneway: \"sometimes\" must be true/yes/1 or false/no/0 (empty means false)"
    );
}

#[test]
fn parse_error_coordinates_out_of_range() {
    let lat = error("id,lat,lon\nA,30,120\n\nB,95,120\n", OK_EDGES);
    assert!(
        lat.starts_with("roads_nodes.csv line 4: column lat: \"95\""),
        "{lat}"
    );
    assert!(lat.contains("between -90 and 90"), "{lat}");
    let lon = error("id,lat,lon\nA,30,-200\n", OK_EDGES);
    assert!(
        lon.starts_with("roads_nodes.csv line 2: column lon: \"-200\""),
        "{lon}"
    );
    assert!(lon.contains("between -180 and 180"), "{lon}");
}

#[test]
fn parse_error_missing_column_and_structure() {
    assert_eq!(
        error("id,lat\nA,30\n", OK_EDGES),
        "roads_nodes.csv line 1: missing column \"lon\" in the header (expected `id,lat,lon`)"
    );
    assert_eq!(
        error(OK_NODES, "from,km\nA,1\n"),
        "roads_edges.csv line 1: missing column \"to\" in the header (expected `from,to,km,speed_kmh,oneway`)"
    );
    assert!(
        error(OK_NODES, "from,to,speed\nA,B,3\n")
            .starts_with("roads_edges.csv line 1: unknown column \"speed\"")
    );
    assert_eq!(
        error(OK_NODES, "from,to\nA,B\nA\n"),
        "roads_edges.csv line 3: expected 2 fields as in the header, found 1"
    );
    assert_eq!(
        error(OK_NODES, "from,to\nA,A\n"),
        "roads_edges.csv line 2: edge from node \"A\" to itself"
    );
    assert_eq!(
        error(OK_NODES, "from,to\nA,\n"),
        "roads_edges.csv line 2: column to: must not be empty"
    );
    assert_eq!(
        error("id,lat,lon\n", OK_EDGES),
        "roads_nodes.csv line 1: no road nodes: the file has a header but no data rows"
    );
    assert!(error("", OK_EDGES).starts_with("roads_nodes.csv line 1: missing header row"));
    assert!(
        RoadNetwork::from_csv("n", OK_NODES, "e", OK_EDGES, 0.0)
            .unwrap_err()
            .to_string()
            .starts_with("invalid default_speed_kmh = 0")
    );
}

#[test]
fn describe_names_the_parameters() {
    let text = network().with_access_speed(25.0).unwrap().describe();
    assert!(
        text.contains("5 nodes") && text.contains("5 edges"),
        "{text}"
    );
    assert!(
        text.contains("50 km/h") && text.contains("25 km/h"),
        "{text}"
    );
}
