//! The planner's report: one self-contained HTML page (inline CSS and SVG,
//! no script, no external file or font) with a map per layout, KPI charts
//! with confidence intervals, the KPI table and the scenario's provenance.

use std::fmt::Write as _;

use casehub_model::Region;

use crate::{Estimate, LayoutResult};

/// Where the run came from, printed at the end of the report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Provenance {
    /// The scenario file as given.
    pub scenario: String,
    /// A digest of the scenario file's bytes, to tell versions apart.
    pub scenario_digest: String,
    /// The command line.
    pub command: String,
    /// casehub's version.
    pub version: String,
}

/// One KPI row: its label, unit, and how to read it from a result.
pub struct KpiRow {
    pub key: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    pub get: fn(&LayoutResult) -> Estimate,
    /// Lower is better (all but none today); shown in the chart caption.
    pub lower_is_better: bool,
}

/// The headline KPIs in report order.
pub fn kpi_rows() -> Vec<KpiRow> {
    vec![
        KpiRow {
            key: "escort_officer_hours",
            label: "Escort officer-hours",
            unit: "h",
            get: |r| r.kpis.escort_officer_hours,
            lower_is_better: true,
        },
        KpiRow {
            key: "station_officer_hours_away",
            label: "Station officer-hours away escorting",
            unit: "h",
            get: |r| r.kpis.station_officer_hours_away,
            lower_is_better: true,
        },
        KpiRow {
            key: "escort_km",
            label: "Escort km driven",
            unit: "km",
            get: |r| r.kpis.escort_km,
            lower_is_better: true,
        },
        KpiRow {
            key: "wait_mean_min",
            label: "Detention to questioning, mean",
            unit: "min",
            get: |r| r.kpis.wait_mean_min,
            lower_is_better: true,
        },
        KpiRow {
            key: "wait_p95_min",
            label: "Detention to questioning, p95",
            unit: "min",
            get: |r| r.kpis.wait_p95_min,
            lower_is_better: true,
        },
        KpiRow {
            key: "breaches",
            label: "Legal-limit breaches",
            unit: "cases",
            get: |r| r.kpis.breaches,
            lower_is_better: true,
        },
        KpiRow {
            key: "breach_share",
            label: "Breaches, share of cases",
            unit: "%",
            get: |r| scale(r.kpis.breach_share, 100.0),
            lower_is_better: true,
        },
        KpiRow {
            key: "below_min_station_minutes",
            label: "Station-minutes below minimum, all",
            unit: "min",
            get: |r| r.kpis.below_min_station_minutes,
            lower_is_better: true,
        },
        KpiRow {
            key: "below_min_worst_station_minutes",
            label: "Minutes below minimum, worst station",
            unit: "min",
            get: |r| r.kpis.below_min_worst_station_minutes,
            lower_is_better: true,
        },
        KpiRow {
            key: "peak_holding",
            label: "Peak holding occupancy",
            unit: "persons",
            get: |r| r.kpis.peak_holding,
            lower_is_better: true,
        },
        KpiRow {
            key: "unplaced",
            label: "Cases never placed in time",
            unit: "cases",
            get: |r| r.kpis.unplaced,
            lower_is_better: true,
        },
        KpiRow {
            key: "cases",
            label: "Cases detained",
            unit: "cases",
            get: |r| r.kpis.cases,
            lower_is_better: false,
        },
    ]
}

fn scale(e: Estimate, k: f64) -> Estimate {
    Estimate {
        mean: e.mean * k,
        half_width: e.half_width * k,
        lo: e.lo * k,
        hi: e.hi * k,
        std_dev: e.std_dev * k,
        n: e.n,
    }
}

/// Escape text for HTML and SVG.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// A number for tables: no more digits than it deserves.
pub fn fmt_num(x: f64) -> String {
    if x.is_nan() {
        return "–".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if a >= 1000.0 {
        format!("{x:.0}")
    } else if a >= 100.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// Layout colours in the charts.
const LAYOUT_COLOURS: [&str; 8] = [
    "#4c72b0", "#dd8452", "#55a868", "#8172b3", "#937860", "#da8bc3", "#8c8c8c", "#ccb974",
];

/// Site colours on the maps.
const PALETTE: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
];

/// The report for one or more simulated layouts of `region` (the scenario
/// as read, with its candidate sites).
pub fn html(region: &Region, results: &[LayoutResult], prov: &Provenance) -> String {
    let mut h = String::new();
    let title = if results.len() == 1 {
        format!("casehub simulation — {}", region.info.name)
    } else {
        format!(
            "casehub comparison of {} layouts — {}",
            results.len(),
            region.info.name
        )
    };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        esc(&title),
        CSS,
        esc(&title)
    );
    if let Some(first) = results.first() {
        let c = &first.config;
        let _ = writeln!(
            h,
            "<p class=\"lead\">{} simulated days × {} replications (seed {}), policy <b>{}</b>. \
             Every figure is the mean over replications with its 95% confidence interval.</p>",
            fmt_num(c.days),
            c.replications,
            c.seed,
            esc(&first.policy)
        );
    }
    h.push_str("<h2 id=\"maps\">Maps</h2>\n<p>Stations (circles), open sites (squares) and where each station's cases went; line width is the mean number of cases per day sent along it.</p>\n<div class=\"maps\">\n");
    for (k, r) in results.iter().enumerate() {
        h.push_str(&map_svg(region, r, k));
    }
    h.push_str("</div>\n<h2 id=\"charts\">KPIs</h2>\n<div class=\"charts\">\n");
    for row in kpi_rows() {
        h.push_str(&chart_svg(&row, results));
    }
    h.push_str("</div>\n<h2 id=\"table\">KPI table</h2>\n");
    h.push_str(&kpi_table(results));
    h.push_str("<h2 id=\"sites\">Sites</h2>\n");
    h.push_str(&site_table(results));
    h.push_str("<h2 id=\"stations\">Stations</h2>\n");
    h.push_str(&station_table(results));
    h.push_str("<h2 id=\"provenance\">Provenance</h2>\n<dl class=\"prov\">\n");
    let mut dd = |k: &str, v: &str| {
        let _ = writeln!(h, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
    };
    dd("region", &region.info.name);
    if !region.info.description.is_empty() {
        dd("description", &region.info.description);
    }
    dd("scenario", &prov.scenario);
    if !prov.scenario_digest.is_empty() {
        dd("scenario digest", &prov.scenario_digest);
    }
    if !prov.command.is_empty() {
        dd("command", &prov.command);
    }
    if !prov.version.is_empty() {
        dd("casehub", &prov.version);
    }
    if let Some(first) = results.first() {
        let c = &first.config;
        dd("start", &c.start.to_rfc3339());
        dd(
            "engine",
            &format!(
                "slot {} min, horizon {} h, retry {} min, planned at duration quantile {}",
                c.slot_min, c.horizon_h, c.retry_min, c.duration_quantile
            ),
        );
    }
    h.push_str("</dl>\n<ul class=\"prov\">\n");
    for p in &region.info.provenance {
        let _ = writeln!(h, "<li>{}</li>", esc(p));
    }
    h.push_str("</ul>\n</body>\n</html>\n");
    h
}

const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px;color:#222;max-width:1400px}\
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}\
.lead{color:#444}.maps,.charts{display:flex;flex-wrap:wrap;gap:16px}\
figure{margin:0;border:1px solid #ddd;border-radius:4px;padding:8px;background:#fff}\
figcaption{font-size:13px;font-weight:600;margin-bottom:4px}\
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}\
th:first-child,td:first-child{text-align:left}table.sites td:nth-child(2),table.sites th:nth-child(2),td.flows{text-align:left}thead th{background:#f4f4f4}\
.ci{color:#777;font-size:11px}dl.prov{display:grid;grid-template-columns:max-content 1fr;gap:4px 12px;font-size:13px}\
dt{font-weight:600}dd{margin:0}ul.prov{font-size:13px;color:#444}svg text{font-family:inherit}";

struct Proj {
    min_lon: f64,
    max_lat: f64,
    k: f64,
    kx: f64,
    ox: f64,
    oy: f64,
}

impl Proj {
    fn new(points: &[(f64, f64)], w: f64, hgt: f64, pad: f64) -> Proj {
        let (mut a, mut b, mut c, mut d) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(lat, lon) in points {
            a = a.min(lat);
            b = b.max(lat);
            c = c.min(lon);
            d = d.max(lon);
        }
        let kx = ((a + b) / 2.0).to_radians().cos().max(0.05);
        let span_x = ((d - c) * kx).max(1e-6);
        let span_y = (b - a).max(1e-6);
        let k = ((w - 2.0 * pad) / span_x).min((hgt - 2.0 * pad) / span_y);
        Proj {
            min_lon: c,
            max_lat: b,
            k,
            kx,
            // Centre the drawing in the box.
            ox: (w - span_x * k) / 2.0,
            oy: (hgt - span_y * k) / 2.0,
        }
    }
    fn xy(&self, lat: f64, lon: f64) -> (f64, f64) {
        (
            self.ox + (lon - self.min_lon) * self.kx * self.k,
            self.oy + (self.max_lat - lat) * self.k,
        )
    }
}

fn map_svg(region: &Region, r: &LayoutResult, k: usize) -> String {
    let (w, hgt) = (460.0, 400.0);
    let mut pts: Vec<(f64, f64)> = region.places().map(|(_, l)| (l.lat(), l.lon())).collect();
    if pts.is_empty() {
        pts.push((0.0, 0.0));
    }
    let p = Proj::new(&pts, w, hgt, 28.0);
    let loc = |id: &str| {
        region
            .places()
            .find(|(i, _)| *i == id)
            .map(|(_, l)| p.xy(l.lat(), l.lon()))
    };
    let days = r.config.days.max(1e-9);
    let open: Vec<&str> = r.sites.iter().map(|s| s.site.as_str()).collect();
    let mut s = String::new();
    let _ = write!(
        s,
        "<figure><figcaption>{}</figcaption><svg id=\"map-{k}\" class=\"map\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{hgt}\" viewBox=\"0 0 {w} {hgt}\" role=\"img\" aria-label=\"map of layout {}\">\
         <rect width=\"{w}\" height=\"{hgt}\" fill=\"#f7f9fb\"/>",
        esc(&r.layout.name),
        esc(&r.layout.name)
    );
    for (si, site) in r.sites.iter().enumerate() {
        let colour = PALETTE[si % PALETTE.len()];
        let Some((x2, y2)) = loc(&site.site) else {
            continue;
        };
        for st in &r.stations {
            let per_day = st.cases_to_site.get(&site.site).copied().unwrap_or(0.0) / days;
            if per_day <= 0.0 {
                continue;
            }
            let Some((x1, y1)) = loc(&st.station) else {
                continue;
            };
            let width = (0.6 + per_day * 2.2).min(12.0);
            let _ = write!(
                s,
                "<line class=\"flow\" x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"{colour}\" stroke-opacity=\"0.55\" stroke-width=\"{width:.2}\" stroke-linecap=\"round\"><title>{} → {}: {:.2} cases/day</title></line>",
                esc(&st.station),
                esc(&site.site),
                per_day
            );
        }
    }
    for st in &region.stations {
        let (x, y) = p.xy(st.location.lat(), st.location.lon());
        let _ = write!(
            s,
            "<circle class=\"station\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"4\" fill=\"#fff\" stroke=\"#333\" stroke-width=\"1.2\"><title>{} {}</title></circle>",
            esc(st.id.as_str()),
            esc(&st.name)
        );
    }
    for c in &region.candidate_sites {
        if open.contains(&c.id.as_str()) {
            continue;
        }
        let (x, y) = p.xy(c.location.lat(), c.location.lon());
        let _ = write!(
            s,
            "<rect class=\"candidate\" x=\"{:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"none\" stroke=\"#999\" stroke-dasharray=\"2 2\"><title>candidate {} (not built)</title></rect>",
            x - 5.0,
            y - 5.0,
            esc(c.id.as_str())
        );
    }
    for (si, site) in r.sites.iter().enumerate() {
        let colour = PALETTE[si % PALETTE.len()];
        let Some((x, y)) = loc(&site.site) else {
            continue;
        };
        let _ = write!(
            s,
            "<rect class=\"site\" x=\"{:.1}\" y=\"{:.1}\" width=\"14\" height=\"14\" fill=\"{colour}\" stroke=\"#000\"><title>{} {}: {:.1} cases/day</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" font-weight=\"600\">{}</text>",
            x - 7.0,
            y - 7.0,
            esc(&site.site),
            esc(&site.name),
            site.cases.mean / days,
            x + 9.0,
            y - 8.0,
            esc(&site.site)
        );
    }
    // Scale bar: 10 km.
    let km_per_deg = 111.32;
    let px10 = 10.0 / km_per_deg * p.k;
    let _ = writeln!(
        s,
        "<line x1=\"12\" y1=\"{y:.1}\" x2=\"{x2:.1}\" y2=\"{y:.1}\" stroke=\"#333\" stroke-width=\"2\"/><text x=\"12\" y=\"{ty:.1}\" font-size=\"10\">10 km</text></svg></figure>",
        y = hgt - 12.0,
        x2 = 12.0 + px10,
        ty = hgt - 16.0
    );
    s
}

fn chart_svg(row: &KpiRow, results: &[LayoutResult]) -> String {
    let bar_h = 22.0;
    let label_w = 150.0;
    let w = 440.0;
    let top = 8.0;
    let hgt = top + results.len() as f64 * (bar_h + 8.0) + 26.0;
    let vals: Vec<Estimate> = results.iter().map(|r| (row.get)(r)).collect();
    let max = vals
        .iter()
        .map(|e| if e.hi.is_nan() { e.mean } else { e.hi })
        .filter(|x| x.is_finite())
        .fold(0.0f64, f64::max);
    let max = if max > 0.0 { max * 1.1 } else { 1.0 };
    let plot_w = w - label_w - 20.0;
    let x = |v: f64| label_w + (v.max(0.0) / max) * plot_w;
    let mut s = String::new();
    let _ = write!(
        s,
        "<figure><figcaption>{} ({}){}</figcaption><svg class=\"chart\" id=\"chart-{}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{hgt}\" viewBox=\"0 0 {w} {hgt}\" role=\"img\" aria-label=\"{}\">",
        esc(row.label),
        esc(row.unit),
        if row.lower_is_better {
            " — lower is better"
        } else {
            ""
        },
        row.key,
        esc(row.label)
    );
    for (i, (r, e)) in results.iter().zip(&vals).enumerate() {
        let y = top + i as f64 * (bar_h + 8.0);
        let colour = LAYOUT_COLOURS[i % LAYOUT_COLOURS.len()];
        let name: String = r.layout.name.chars().take(24).collect();
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
            label_w - 6.0,
            y + bar_h / 2.0 + 4.0,
            esc(&name)
        );
        if e.mean.is_finite() {
            let _ = write!(
                s,
                "<rect class=\"bar\" x=\"{label_w}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bar_h}\" fill=\"{colour}\" fill-opacity=\"0.75\"><title>{}: {} [{}, {}]</title></rect>",
                (x(e.mean) - label_w).max(0.5),
                esc(&r.layout.name),
                fmt_num(e.mean),
                fmt_num(e.lo),
                fmt_num(e.hi)
            );
            if e.half_width.is_finite() && e.half_width > 0.0 {
                let (xl, xh, ym) = (x(e.lo), x(e.hi), y + bar_h / 2.0);
                let _ = write!(
                    s,
                    "<g class=\"ci\" stroke=\"#222\" stroke-width=\"1.4\"><line x1=\"{xl:.1}\" y1=\"{ym:.1}\" x2=\"{xh:.1}\" y2=\"{ym:.1}\"/><line x1=\"{xl:.1}\" y1=\"{:.1}\" x2=\"{xl:.1}\" y2=\"{:.1}\"/><line x1=\"{xh:.1}\" y1=\"{:.1}\" x2=\"{xh:.1}\" y2=\"{:.1}\"/></g>",
                    ym - 6.0,
                    ym + 6.0,
                    ym - 6.0,
                    ym + 6.0
                );
            }
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#222\">{}</text>",
                (x(e.hi.max(e.mean)) + 4.0).min(w - 40.0),
                y + bar_h / 2.0 - 6.0,
                fmt_num(e.mean)
            );
        }
    }
    let axis_y = top + results.len() as f64 * (bar_h + 8.0) + 4.0;
    let _ = write!(
        s,
        "<line x1=\"{label_w}\" y1=\"{axis_y:.1}\" x2=\"{:.1}\" y2=\"{axis_y:.1}\" stroke=\"#888\"/>",
        label_w + plot_w
    );
    for t in 0..=4 {
        let v = max * f64::from(t) / 4.0;
        let xx = x(v);
        let _ = write!(
            s,
            "<line x1=\"{xx:.1}\" y1=\"{axis_y:.1}\" x2=\"{xx:.1}\" y2=\"{:.1}\" stroke=\"#888\"/><text x=\"{xx:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
            axis_y + 4.0,
            axis_y + 15.0,
            fmt_num(v)
        );
    }
    s.push_str("</svg></figure>\n");
    s
}

fn cell(e: &Estimate) -> String {
    if e.half_width > 0.0 {
        format!(
            "{} <span class=\"ci\">± {}</span>",
            fmt_num(e.mean),
            fmt_num(e.half_width)
        )
    } else {
        fmt_num(e.mean)
    }
}

fn kpi_table(results: &[LayoutResult]) -> String {
    let mut s = String::from("<table class=\"kpis\"><thead><tr><th>KPI</th><th>unit</th>");
    for r in results {
        let _ = write!(s, "<th>{}</th>", esc(&r.layout.name));
    }
    s.push_str("</tr></thead><tbody>\n");
    for row in kpi_rows() {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td>",
            esc(row.label),
            esc(row.unit)
        );
        for r in results {
            let _ = write!(s, "<td>{}</td>", cell(&(row.get)(r)));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table>\n<p class=\"ci\">mean ± half-width of the 95% confidence interval across replications</p>\n");
    s
}

fn site_table(results: &[LayoutResult]) -> String {
    let mut s = String::from(
        "<table class=\"sites\"><thead><tr><th>layout</th><th>site</th><th>cases</th><th>questioning-room utilisation</th><th>peak holding</th></tr></thead><tbody>\n",
    );
    for r in results {
        for site in &r.sites {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&r.layout.name),
                esc(&site.site),
                esc(&site.name),
                cell(&site.cases),
                cell(&scale(site.room_utilisation, 100.0)) + " %",
                cell(&site.peak_holding)
            );
        }
    }
    s.push_str("</tbody></table>\n");
    s
}

/// Per station and layout: cases a day, where they went, minutes below the minimum.
fn station_table(results: &[LayoutResult]) -> String {
    let mut s = String::from("<table class=\"stations\"><thead><tr><th>station</th>");
    for r in results {
        let _ = write!(
            s,
            "<th>{} — cases/day by site</th><th>below minimum (min)</th>",
            esc(&r.layout.name)
        );
    }
    s.push_str("</tr></thead><tbody>\n");
    let Some(first) = results.first() else {
        s.push_str("</tbody></table>\n");
        return s;
    };
    for (i, st) in first.stations.iter().enumerate() {
        let _ = write!(s, "<tr><td>{}</td>", esc(&st.station));
        for r in results {
            let days = r.config.days.max(1e-9);
            let Some(x) = r.stations.get(i) else {
                s.push_str("<td></td><td></td>");
                continue;
            };
            let flows: Vec<String> = x
                .cases_to_site
                .iter()
                .filter(|(_, n)| **n > 0.0)
                .map(|(site, n)| format!("{} {}", esc(site), fmt_num(n / days)))
                .collect();
            let _ = write!(
                s,
                "<td class=\"flows\">{}</td><td>{}</td>",
                flows.join(", "),
                cell(&x.below_min_minutes)
            );
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(fmt_num(f64::NAN), "–");
        assert_eq!(fmt_num(1234.56), "1235");
        assert_eq!(fmt_num(0.01234), "0.012");
    }
}
