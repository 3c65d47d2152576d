//! The results as CSV (for spreadsheets) and the layout as GeoJSON (for QGIS).
//! JSON is the results' serde form.

use casehub_model::Region;
use geojson::{Feature, FeatureCollection, Geometry};

use crate::report::kpi_rows;
use crate::{Estimate, LayoutResult};

fn write_rows(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).expect("in memory");
    for r in rows {
        w.write_record(&r).expect("in memory");
    }
    String::from_utf8(w.into_inner().expect("in memory")).expect("UTF-8 fields")
}

fn est(layout: &str, policy: &str, kpi: &str, unit: &str, e: &Estimate) -> Vec<String> {
    vec![
        layout.to_string(),
        policy.to_string(),
        kpi.to_string(),
        unit.to_string(),
        e.mean.to_string(),
        e.lo.to_string(),
        e.hi.to_string(),
        e.half_width.to_string(),
        e.std_dev.to_string(),
        e.n.to_string(),
    ]
}

/// One row per layout and KPI (headline, per site, per station): the mean,
/// the 95% confidence interval, the standard deviation and the replications.
pub fn kpis_csv(results: &[LayoutResult]) -> String {
    let mut rows = Vec::new();
    for r in results {
        let (l, p) = (r.layout.name.as_str(), r.policy.as_str());
        for row in kpi_rows() {
            rows.push(est(l, p, row.key, row.unit, &(row.get)(r)));
        }
        for s in &r.sites {
            rows.push(est(
                l,
                p,
                &format!("site.{}.cases", s.site),
                "cases",
                &s.cases,
            ));
            rows.push(est(
                l,
                p,
                &format!("site.{}.room_utilisation", s.site),
                "share",
                &s.room_utilisation,
            ));
            rows.push(est(
                l,
                p,
                &format!("site.{}.peak_holding", s.site),
                "persons",
                &s.peak_holding,
            ));
        }
        for st in &r.stations {
            rows.push(est(
                l,
                p,
                &format!("station.{}.below_min_minutes", st.station),
                "min",
                &st.below_min_minutes,
            ));
        }
    }
    write_rows(
        &[
            "layout",
            "policy",
            "kpi",
            "unit",
            "mean",
            "ci_low",
            "ci_high",
            "half_width",
            "std_dev",
            "replications",
        ],
        rows,
    )
}

/// One row per layout and replication, with the raw figures.
pub fn replications_csv(results: &[LayoutResult]) -> String {
    let mut rows = Vec::new();
    for r in results {
        for x in &r.replications {
            rows.push(vec![
                r.layout.name.clone(),
                x.index.to_string(),
                x.cases.to_string(),
                x.persons.to_string(),
                x.placed.to_string(),
                x.unplaced.to_string(),
                x.breaches.to_string(),
                x.escort_officer_hours.to_string(),
                x.station_officer_hours_away.to_string(),
                x.escort_km.to_string(),
                x.wait_mean_min.to_string(),
                x.wait_p95_min.to_string(),
                x.below_min_minutes.iter().sum::<f64>().to_string(),
                x.below_min_minutes
                    .iter()
                    .copied()
                    .fold(0.0, f64::max)
                    .to_string(),
                x.sites
                    .iter()
                    .map(|s| s.peak_holding)
                    .max()
                    .unwrap_or(0)
                    .to_string(),
                x.events.to_string(),
                x.policy_calls.to_string(),
            ]);
        }
    }
    write_rows(
        &[
            "layout",
            "replication",
            "cases",
            "persons",
            "placed",
            "unplaced",
            "breaches",
            "escort_officer_hours",
            "station_officer_hours_away",
            "escort_km",
            "wait_mean_min",
            "wait_p95_min",
            "below_min_station_minutes",
            "below_min_worst_station_minutes",
            "peak_holding",
            "events",
            "engine_calls",
        ],
        rows,
    )
}

/// The layout of `result` on `region` (the scenario as read) as a GeoJSON
/// FeatureCollection: open sites and stations as points (`kind` `site` or
/// `station`, with their figures), and each station's flow to each site as
/// a line (`kind` `flow`, `cases_per_day`).
pub fn layout_geojson(region: &Region, result: &LayoutResult) -> String {
    let days = result.config.days.max(1e-9);
    let place = |id: &str| region.places().find(|(i, _)| *i == id).map(|(_, l)| l);
    let mut features = Vec::new();
    for s in &result.sites {
        let Some(loc) = place(&s.site) else { continue };
        let mut f = Feature::from(Geometry::new_point([loc.lon(), loc.lat()]));
        f.set_property("kind", "site");
        f.set_property("id", s.site.clone());
        f.set_property("name", s.name.clone());
        f.set_property("layout", result.layout.name.clone());
        f.set_property("cases_per_day", s.cases.mean / days);
        f.set_property("room_utilisation", s.room_utilisation.mean);
        f.set_property("peak_holding", s.peak_holding.mean);
        features.push(f);
    }
    for st in &result.stations {
        let Some(loc) = place(&st.station) else {
            continue;
        };
        let main = st
            .cases_to_site
            .iter()
            .filter(|(_, v)| **v > 0.0)
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(k, _)| k.clone());
        let total: f64 = st.cases_to_site.values().sum();
        let mut f = Feature::from(Geometry::new_point([loc.lon(), loc.lat()]));
        f.set_property("kind", "station");
        f.set_property("id", st.station.clone());
        f.set_property("site", main);
        f.set_property("cases_per_day", total / days);
        f.set_property("below_min_minutes", st.below_min_minutes.mean);
        features.push(f);
        for (site, &n) in &st.cases_to_site {
            if n <= 0.0 {
                continue;
            }
            let Some(to) = place(site) else { continue };
            let mut f = Feature::from(Geometry::new_line_string([
                [loc.lon(), loc.lat()],
                [to.lon(), to.lat()],
            ]));
            f.set_property("kind", "flow");
            f.set_property("station", st.station.clone());
            f.set_property("site", site.clone());
            f.set_property("cases_per_day", n / days);
            features.push(f);
        }
    }
    FeatureCollection::new(features).to_string()
}
