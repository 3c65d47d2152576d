//! Travel over a road graph: nearest-node attachment plus Dijkstra by travel time.

use std::collections::{HashMap, HashSet};
use std::ops::Add;

use casehub_model::Location;
use petgraph::algo::dijkstra;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::csv_input::Sheet;
use crate::great_circle::check_speed;
use crate::{Leg, Place, TravelError, TravelModel, great_circle_km};

/// Speed of the straight access leg from a place to its nearest road node
/// unless changed with [`RoadNetwork::with_access_speed`].
pub const DEFAULT_ACCESS_SPEED_KMH: f64 = 30.0;

/// A road graph read from CSV; see the crate docs for the file formats.
///
/// A leg from place A to place B is: A → nearest node of A (straight line at
/// the access speed) + fastest path between the two nodes + nearest node of
/// B → B (straight line at the access speed). Two places at the same position
/// are zero apart. Nearest nodes are found by a linear scan over the nodes.
#[derive(Debug, Clone)]
pub struct RoadNetwork {
    graph: DiGraph<RoadNode, Cost>,
    index: HashMap<String, NodeIndex>,
    /// Edge rows in the edges file (a two-way row is two arcs in `graph`).
    edge_rows: usize,
    default_speed_kmh: f64,
    access_speed_kmh: f64,
}

#[derive(Debug, Clone)]
struct RoadNode {
    id: String,
    location: Location,
}

/// Dijkstra cost: minutes first, then km, compared lexicographically, so the
/// fastest path wins and among equally fast paths the shortest does.
#[derive(Debug, Clone, Copy, Default, PartialEq, PartialOrd)]
struct Cost {
    minutes: f64,
    km: f64,
}

impl Add for Cost {
    type Output = Cost;
    fn add(self, other: Cost) -> Cost {
        Cost {
            minutes: self.minutes + other.minutes,
            km: self.km + other.km,
        }
    }
}

impl From<Cost> for Leg {
    fn from(cost: Cost) -> Leg {
        Leg {
            km: cost.km,
            minutes: cost.minutes,
        }
    }
}

impl RoadNetwork {
    /// Parse the nodes (`id,lat,lon`) and edges (`from,to,km,speed_kmh,oneway`)
    /// CSV texts. `nodes_name` and `edges_name` are the file names used in error
    /// messages; `default_speed_kmh` is used for edges with an empty `speed_kmh`.
    pub fn from_csv(
        nodes_name: &str,
        nodes_csv: &str,
        edges_name: &str,
        edges_csv: &str,
        default_speed_kmh: f64,
    ) -> Result<RoadNetwork, TravelError> {
        let default_speed_kmh = check_speed("default_speed_kmh", default_speed_kmh)?;
        let mut graph = DiGraph::new();
        let mut index = HashMap::new();
        let mut first_line = HashMap::new();

        let nodes = Sheet::read(nodes_name, nodes_csv, &["id", "lat", "lon"], &[])?;
        for row in nodes.rows() {
            let id = row.id("id")?;
            if let Some(line) = first_line.get(id) {
                return Err(row.cell_error(
                    "id",
                    id,
                    &format!("duplicates the node on line {line}"),
                ));
            }
            let location = row.location()?;
            first_line.insert(id.to_string(), row.line());
            let node = graph.add_node(RoadNode {
                id: id.to_string(),
                location,
            });
            index.insert(id.to_string(), node);
        }
        if graph.node_count() == 0 {
            return Err(TravelError::Parse {
                file: nodes_name.to_string(),
                line: 1,
                reason: "no road nodes: the file has a header but no data rows".to_string(),
            });
        }

        let edges = Sheet::read(
            edges_name,
            edges_csv,
            &["from", "to"],
            &["km", "speed_kmh", "oneway"],
        )?;
        let mut edge_rows = 0;
        for row in edges.rows() {
            let endpoint = |column: &str| {
                let id = row.id(column)?;
                index.get(id).copied().ok_or_else(|| {
                    row.cell_error(column, id, &format!("is not a node in {nodes_name}"))
                })
            };
            let from = endpoint("from")?;
            let to = endpoint("to")?;
            if from == to {
                return Err(row.error(format!("edge from node {:?} to itself", graph[from].id)));
            }
            let km = match row.non_negative("km")? {
                Some(km) => km,
                None => great_circle_km(&graph[from].location, &graph[to].location),
            };
            let speed = row.positive("speed_kmh")?.unwrap_or(default_speed_kmh);
            let oneway = row.flag("oneway")?;
            let leg = Leg::at_speed(km, speed);
            if !leg.minutes.is_finite() {
                return Err(row.error(format!(
                    "{km} km at {speed} km/h gives a travel time too large to represent"
                )));
            }
            let cost = Cost {
                minutes: leg.minutes,
                km: leg.km,
            };
            graph.add_edge(from, to, cost);
            if !oneway {
                graph.add_edge(to, from, cost);
            }
            edge_rows += 1;
        }

        Ok(RoadNetwork {
            graph,
            index,
            edge_rows,
            default_speed_kmh,
            access_speed_kmh: DEFAULT_ACCESS_SPEED_KMH,
        })
    }

    /// Set the speed of the straight access legs between a place and its
    /// nearest road node (finite, above 0).
    pub fn with_access_speed(mut self, kmh: f64) -> Result<RoadNetwork, TravelError> {
        self.access_speed_kmh = check_speed("access_speed_kmh", kmh)?;
        Ok(self)
    }

    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    /// Edge rows read (a two-way edge counts once).
    pub fn edge_count(&self) -> usize {
        self.edge_rows
    }

    pub fn default_speed_kmh(&self) -> f64 {
        self.default_speed_kmh
    }

    pub fn access_speed_kmh(&self) -> f64 {
        self.access_speed_kmh
    }

    /// The position of a road node, if the id exists.
    pub fn node_location(&self, id: &str) -> Option<Location> {
        self.index.get(id).map(|&n| self.graph[n].location)
    }

    /// The road node nearest to `location` (great-circle) and its distance in
    /// km. Ties go to the node listed first in the nodes file.
    pub fn nearest_node(&self, location: &Location) -> (&str, f64) {
        let (node, km) = self.nearest(location);
        (&self.graph[node].id, km)
    }

    fn nearest(&self, location: &Location) -> (NodeIndex, f64) {
        self.graph
            .node_indices()
            .map(|n| (n, great_circle_km(location, &self.graph[n].location)))
            .fold(None, |best: Option<(NodeIndex, f64)>, (n, km)| match best {
                Some((_, best_km)) if best_km <= km => best,
                _ => Some((n, km)),
            })
            .expect("a road network has at least one node")
    }

    /// The access leg between a place and a point `km` away, at the access speed.
    fn access(&self, km: f64) -> Leg {
        Leg::at_speed(km, self.access_speed_kmh)
    }
}

impl TravelModel for RoadNetwork {
    fn leg(&self, from: &Place, to: &Place) -> Result<Leg, TravelError> {
        Ok(self.legs_from(from, std::slice::from_ref(to))?[0])
    }

    /// One Dijkstra run from the origin's nearest node, stopped once every
    /// destination's node is settled.
    fn legs_from(&self, from: &Place, to: &[Place]) -> Result<Vec<Leg>, TravelError> {
        let (start, start_km) = self.nearest(&from.location);
        let targets: Vec<(NodeIndex, f64)> = to
            .iter()
            .map(|place| self.nearest(&place.location))
            .collect();

        let mut pending: HashSet<NodeIndex> = targets.iter().map(|&(n, _)| n).collect();
        let settled = dijkstra::with_dynamic_goal(
            &self.graph,
            start,
            |node| {
                pending.remove(node);
                pending.is_empty()
            },
            |edge| *edge.weight(),
        )
        .scores;

        to.iter()
            .zip(&targets)
            .map(|(place, &(node, end_km))| {
                if place.location == from.location {
                    return Ok(Leg::ZERO);
                }
                let path = settled.get(&node).ok_or_else(|| TravelError::Unreachable {
                    from: from.id.clone(),
                    to: place.id.clone(),
                })?;
                Ok(self.access(start_km) + Leg::from(*path) + self.access(end_km))
            })
            .collect()
    }

    fn describe(&self) -> String {
        format!(
            "road network: {} nodes, {} edges, default speed {} km/h, access legs at {} km/h",
            self.node_count(),
            self.edge_count(),
            self.default_speed_kmh,
            self.access_speed_kmh
        )
    }
}
