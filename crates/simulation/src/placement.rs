//! From the placement models (casehub-layout) to layouts to simulate.
//!
//! The region's stations are the clients (demand: cases per day), its sites
//! and candidate sites the facilities, travel minutes the costs (for CFLP,
//! minutes × daily demand, with the candidates' fixed costs and
//! capacities). Each model's solution becomes a [`Layout`]: the opened
//! facilities, plus the main center, which is always open.

use casehub_layout::{Instance, Model, SolveOptions, solve};
use casehub_model::Region;
use casehub_travel::TravelTable;
use serde::{Deserialize, Serialize};

use crate::{Layout, SimError, SubCenterTemplate};

/// The placement instance of a region.
pub fn instance(region: &Region, travel: &TravelTable) -> Result<Instance, SimError> {
    instance_with(region, travel, None)
}

/// The placement instance of a region: its stations (demand: cases per day)
/// against its sites and candidate sites (cost: travel minutes; fixed costs
/// and capacities from the candidates, none for existing sites, whose
/// capacity is `site_capacity` or, by default, the whole demand).
pub fn instance_with(
    region: &Region,
    travel: &TravelTable,
    site_capacity: Option<f64>,
) -> Result<Instance, SimError> {
    let facilities: Vec<String> = region
        .sites
        .iter()
        .map(|s| s.id.to_string())
        .chain(region.candidate_sites.iter().map(|c| c.id.to_string()))
        .collect();
    let demand: Vec<f64> = region
        .stations
        .iter()
        .map(|s| {
            region
                .caseload
                .cases_per_day
                .get(&s.id)
                .copied()
                .unwrap_or(0.0)
        })
        .collect();
    let mut cost = Vec::new();
    for s in &region.stations {
        let mut row = Vec::new();
        for f in &facilities {
            let leg = travel.leg(s.id.as_str(), f).ok_or_else(|| {
                SimError::invalid("travel", format!("{} -> {f}", s.id), "no travel leg")
            })?;
            row.push(leg.minutes);
        }
        cost.push(row);
    }
    let total: f64 = demand.iter().sum();
    let fixed = facilities
        .iter()
        .map(|f| {
            region
                .candidate_sites
                .iter()
                .find(|c| c.id.as_str() == f)
                .map_or(0.0, |c| c.fixed_cost)
        })
        .collect();
    let capacity = facilities
        .iter()
        .map(|f| {
            region
                .candidate_sites
                .iter()
                .find(|c| c.id.as_str() == f)
                .map_or(site_capacity.unwrap_or(total.max(1.0)), |c| {
                    c.capacity_per_day
                })
        })
        .collect();
    Instance::new(
        demand,
        cost,
        fixed,
        capacity,
        region.stations.iter().map(|s| s.id.to_string()).collect(),
        facilities,
    )
    .map_err(|e| SimError::Invalid(format!("placement instance: {e}")))
}

/// A layout proposed by a placement model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposedLayout {
    /// The models that chose it, e.g. `p-median p=2, cflp`.
    pub source: String,
    pub objective: f64,
    pub layout: Layout,
}

/// Which models to run: p-median, p-center and (with a radius) MCLP for
/// each `p` in `ps`, and CFLP once.
#[derive(Debug, Clone, PartialEq)]
pub struct ProposalSpec {
    pub ps: Vec<usize>,
    /// MCLP coverage radius in minutes; `None` leaves MCLP out.
    pub mclp_radius_min: Option<f64>,
    pub cflp: bool,
    pub time_limit_s: f64,
}

/// Solve the models on the region and turn each solution into a layout.
/// Layouts that open the same sites are kept once, with every model that
/// chose them in `source`; the region's own layout comes first.
pub fn propose(
    region: &Region,
    travel: &TravelTable,
    spec: &ProposalSpec,
    template: &SubCenterTemplate,
) -> Result<Vec<ProposedLayout>, SimError> {
    let inst = instance(region, travel)?;
    let mut models: Vec<(String, Model)> = Vec::new();
    let m = inst.num_facilities();
    for &p in &spec.ps {
        if p == 0 || p > m {
            return Err(SimError::invalid(
                "p",
                p.to_string(),
                format!("must be 1 to the {m} sites and candidate sites"),
            ));
        }
        models.push((format!("p-median p={p}"), Model::PMedian { p }));
        models.push((format!("p-center p={p}"), Model::PCenter { p }));
        if let Some(radius) = spec.mclp_radius_min {
            models.push((format!("mclp p={p} r={radius}"), Model::Mclp { p, radius }));
        }
    }
    if spec.cflp {
        models.push(("cflp".into(), Model::Cflp));
    }
    let options = SolveOptions {
        time_limit: Some(std::time::Duration::from_secs_f64(
            spec.time_limit_s.clamp(0.01, 3600.0),
        )),
        ..SolveOptions::default()
    };
    let mut out = vec![ProposedLayout {
        source: "region as is".into(),
        objective: f64::NAN,
        layout: Layout {
            template: template.clone(),
            ..Layout::from_region(region)
        },
    }];
    for (source, model) in models {
        let sol = solve(&inst, &model, &options)
            .map_err(|e| SimError::Invalid(format!("{source}: {e}")))?;
        let layout =
            Layout::from_solution(region, &inst.facility_names, &sol.open, template.clone())?;
        let mut key = layout.open.clone();
        key.sort();
        if let Some(same) = out.iter_mut().find(|p| {
            let mut k = p.layout.open.clone();
            k.sort();
            k == key
        }) {
            same.source.push_str(", ");
            same.source.push_str(&source);
            continue;
        }
        out.push(ProposedLayout {
            source,
            objective: sol.objective,
            layout,
        });
    }
    Ok(out)
}
