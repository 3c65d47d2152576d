//! The placement instance: clients with demand, candidate facilities, and the cost between them.

use serde::{Deserialize, Serialize};

use crate::LayoutError;

/// A facility-location instance.
///
/// `n` clients (police stations, townships, ... anything that sends cases) and `m` candidate
/// facilities (sites where a sub-center could be built). Build it with [`Instance::new`],
/// which validates it; the fields are public for reading, and [`crate::solve`] validates
/// again, so an instance mutated by hand cannot reach the solver in a broken state.
///
/// Deserialising (serde) goes through the same validation; the name vectors and
/// `fixed_cost`/`capacity` may be left out there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "InstanceData")]
pub struct Instance {
    /// Demand per client (cases per period, or 1 for "every client counts once").
    pub demand: Vec<f64>,
    /// `cost[client][facility]`. For p-median, p-center and MCLP this is a distance or
    /// travel time (the p-median objective multiplies it by the demand). For CFLP it is the
    /// cost of serving *all* of the client's demand from that facility, as in the
    /// OR-Library `cap` files.
    pub cost: Vec<Vec<f64>>,
    /// Fixed opening cost per facility (CFLP); empty means zero for every facility.
    pub fixed_cost: Vec<f64>,
    /// Capacity per facility, in demand units (CFLP); empty means uncapacitated.
    pub capacity: Vec<f64>,
    /// One name per client.
    pub client_names: Vec<String>,
    /// One name per facility; its length is the number of facilities `m`.
    pub facility_names: Vec<String>,
}

/// The serde shape of an [`Instance`], validated by `TryFrom`.
#[derive(Deserialize)]
struct InstanceData {
    demand: Vec<f64>,
    cost: Vec<Vec<f64>>,
    #[serde(default)]
    fixed_cost: Vec<f64>,
    #[serde(default)]
    capacity: Vec<f64>,
    #[serde(default)]
    client_names: Vec<String>,
    #[serde(default)]
    facility_names: Vec<String>,
}

impl TryFrom<InstanceData> for Instance {
    type Error = LayoutError;

    fn try_from(d: InstanceData) -> Result<Self, Self::Error> {
        Instance::new(
            d.demand,
            d.cost,
            d.fixed_cost,
            d.capacity,
            d.client_names,
            d.facility_names,
        )
    }
}

impl Instance {
    /// Builds and validates an instance.
    ///
    /// * `demand`: one entry per client; its length is `n`.
    /// * `cost`: `n` rows of `m` entries.
    /// * `fixed_cost`, `capacity`: empty, or `m` entries.
    /// * `client_names`, `facility_names`: empty (then `"1"`, `"2"`, ... are generated, 1-based
    ///   like the OR-Library files), or `n` / `m` entries.
    ///
    /// `m` is taken from `facility_names` if given, else from the first cost row.
    /// All numbers must be finite and non-negative; the error names the field, index and value.
    pub fn new(
        demand: Vec<f64>,
        cost: Vec<Vec<f64>>,
        fixed_cost: Vec<f64>,
        capacity: Vec<f64>,
        client_names: Vec<String>,
        facility_names: Vec<String>,
    ) -> Result<Instance, LayoutError> {
        let m = if !facility_names.is_empty() {
            facility_names.len()
        } else if let Some(row) = cost.first() {
            row.len()
        } else {
            fixed_cost.len().max(capacity.len())
        };
        let client_names = if client_names.is_empty() {
            numbered(demand.len())
        } else {
            client_names
        };
        let facility_names = if facility_names.is_empty() {
            numbered(m)
        } else {
            facility_names
        };
        let instance = Instance {
            demand,
            cost,
            fixed_cost,
            capacity,
            client_names,
            facility_names,
        };
        instance.validate()?;
        Ok(instance)
    }

    /// Number of clients `n`.
    pub fn num_clients(&self) -> usize {
        self.demand.len()
    }

    /// Number of candidate facilities `m`.
    pub fn num_facilities(&self) -> usize {
        self.facility_names.len()
    }

    /// Sum of all demand.
    pub fn total_demand(&self) -> f64 {
        self.demand.iter().sum()
    }

    /// Fixed opening cost of facility `j` (0 when `fixed_cost` is empty).
    pub fn fixed_cost_of(&self, j: usize) -> f64 {
        self.fixed_cost.get(j).copied().unwrap_or(0.0)
    }

    /// Checks dimensions and values; [`Instance::new`] and [`crate::solve`] call it.
    pub fn validate(&self) -> Result<(), LayoutError> {
        let n = self.demand.len();
        let m = self.facility_names.len();
        if n == 0 {
            return Err(LayoutError::InvalidInstance(
                "no clients: `demand` is empty".into(),
            ));
        }
        if m == 0 {
            return Err(LayoutError::InvalidInstance(
                "no candidate facilities: `facility_names` and the cost rows are empty".into(),
            ));
        }
        check_len("client_names", self.client_names.len(), n)?;
        check_len("cost", self.cost.len(), n)?;
        for (i, row) in self.cost.iter().enumerate() {
            check_len(&format!("cost[{i}]"), row.len(), m)?;
        }
        if !self.fixed_cost.is_empty() {
            check_len("fixed_cost", self.fixed_cost.len(), m)?;
        }
        if !self.capacity.is_empty() {
            check_len("capacity", self.capacity.len(), m)?;
        }
        for (i, &d) in self.demand.iter().enumerate() {
            check_value(|| format!("demand[{i}]"), d)?;
        }
        for (i, row) in self.cost.iter().enumerate() {
            for (j, &c) in row.iter().enumerate() {
                check_value(|| format!("cost[{i}][{j}]"), c)?;
            }
        }
        for (j, &f) in self.fixed_cost.iter().enumerate() {
            check_value(|| format!("fixed_cost[{j}]"), f)?;
        }
        for (j, &u) in self.capacity.iter().enumerate() {
            check_value(|| format!("capacity[{j}]"), u)?;
        }
        Ok(())
    }
}

fn numbered(count: usize) -> Vec<String> {
    (1..=count).map(|k| k.to_string()).collect()
}

fn check_len(field: &str, found: usize, expected: usize) -> Result<(), LayoutError> {
    if found == expected {
        Ok(())
    } else {
        Err(LayoutError::Dimension {
            field: field.to_string(),
            expected,
            found,
        })
    }
}

/// Rejects NaN, infinities and negative numbers, naming the field lazily.
pub(crate) fn check_value(field: impl FnOnce() -> String, value: f64) -> Result<(), LayoutError> {
    let reason = if value.is_nan() {
        "not a number"
    } else if value.is_infinite() {
        "not finite"
    } else if value < 0.0 {
        "negative"
    } else {
        return Ok(());
    };
    Err(LayoutError::InvalidValue {
        field: field(),
        value,
        reason,
    })
}
