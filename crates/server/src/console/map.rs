//! The map: the region's sites and stations drawn from their own
//! coordinates (SVG, no tile server), each station coloured by its
//! officers present against its minimum, and the escorts under way as
//! lines between station and site; live. One call:
//! `AvailabilityService.GetOverview`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::i18n::{Lang, t, t_args};
use super::pages::{self, local, time_of as time};
use super::{call, lang, page, refusal};
use crate::grpc_api::Api;
use crate::proto;
use crate::proto::availability_service_server::AvailabilityService;

const W: f64 = 900.0;
const H: f64 = 560.0;
const PAD: f64 = 40.0;

pub async fn map_page(headers: HeaderMap) -> Response {
    let lang = lang(&headers);
    page(lang, "map-title", pages::live("/console/map/view"))
}

pub async fn view(State(api): State<Api>, headers: HeaderMap) -> Response {
    let lang = lang(&headers);
    let overview = call(
        "/casehub.v1.AvailabilityService/GetOverview",
        api.get_overview(tonic::Request::new(proto::GetOverviewRequest {})),
    )
    .await;
    match overview {
        Ok(o) => draw(lang, &o).into_response(),
        Err(s) => {
            let (code, msg) = refusal(lang, &s);
            (code, pages::message(&msg, true)).into_response()
        }
    }
}

/// How a station stands: above its minimum, at it, or below it.
fn standing(s: &proto::StationStaffing) -> &'static str {
    let present = s.on_duty.saturating_sub(s.away);
    if present < s.min_on_duty {
        "below"
    } else if present == s.min_on_duty {
        "at"
    } else {
        "above"
    }
}

/// Longitude and latitude to the drawing, one scale for both axes (the
/// longitude shrunk by the cosine of the middle latitude).
struct Projection {
    lon0: f64,
    lat1: f64,
    k: f64,
    coslat: f64,
}

impl Projection {
    fn fit(points: &[(f64, f64)]) -> Projection {
        let (mut lat0, mut lat1, mut lon0, mut lon1) = (90.0f64, -90.0f64, 180.0f64, -180.0f64);
        for &(lat, lon) in points {
            lat0 = lat0.min(lat);
            lat1 = lat1.max(lat);
            lon0 = lon0.min(lon);
            lon1 = lon1.max(lon);
        }
        if points.is_empty() {
            (lat0, lat1, lon0, lon1) = (0.0, 1.0, 0.0, 1.0);
        }
        let coslat = ((lat0 + lat1) / 2.0).to_radians().cos().max(0.01);
        let w = ((lon1 - lon0) * coslat).max(1e-6);
        let h = (lat1 - lat0).max(1e-6);
        let k = ((W - 2.0 * PAD) / w).min((H - 2.0 * PAD) / h);
        Projection {
            lon0,
            lat1,
            k,
            coslat,
        }
    }

    fn xy(&self, lat: f64, lon: f64) -> (f64, f64) {
        (
            PAD + (lon - self.lon0) * self.coslat * self.k,
            PAD + (self.lat1 - lat) * self.k,
        )
    }
}

/// The map and, under it, the stations from the most short-handed.
pub fn draw(lang: Lang, o: &proto::GetOverviewReply) -> Markup {
    let points: Vec<(f64, f64)> = o
        .sites
        .iter()
        .map(|s| (s.lat, s.lon))
        .chain(o.stations.iter().map(|s| (s.lat, s.lon)))
        .collect();
    let p = Projection::fit(&points);
    let site_xy = |id: &str| {
        o.sites
            .iter()
            .find(|s| s.site_id == id)
            .map(|s| p.xy(s.lat, s.lon))
    };
    let station_xy = |id: &str| {
        o.stations
            .iter()
            .find(|s| s.station_id == id)
            .map(|s| p.xy(s.lat, s.lon))
    };
    let mut by_margin: Vec<&proto::StationStaffing> = o.stations.iter().collect();
    by_margin.sort_by_key(|s| {
        (
            i64::from(s.on_duty.saturating_sub(s.away)) - i64::from(s.min_on_duty),
            s.station_id.clone(),
        )
    });
    html! {
        p.legend {
            span.key.above { "●" } " " (t(lang, "map-above")) "　"
            span.key.at { "●" } " " (t(lang, "map-at")) "　"
            span.key.below { "●" } " " (t(lang, "map-below")) "　"
            span.key.site { "■" } " " (t(lang, "map-site")) "　"
            span.key.escort { "╌" } " " (t(lang, "map-escort"))
        }
        svg.map id="map" xmlns="http://www.w3.org/2000/svg" role="img"
            viewBox=(format!("0 0 {W} {H}")) aria-label=(t(lang, "map-title")) {
            @for e in &o.escorts {
                @if let (Some(a), Some(b)) = (station_xy(&e.station_id), site_xy(&e.site_id)) {
                    line.escort x1=(a.0) y1=(a.1) x2=(b.0) y2=(b.1) data-case=(e.case_id) {
                        title {
                            (t_args(lang, "map-escort-title", &[
                                ("case", e.case_id.clone().into()),
                                ("who", if e.team_id.is_empty() { t(lang, "escort-station") } else { e.team_id.clone() }.into()),
                                ("officers", e.officers.into()),
                                ("until", time(e.end.as_ref()).map(|x| local(lang, x)).unwrap_or_default().into()),
                            ]))
                        }
                    }
                }
            }
            @for s in &o.stations {
                @let (x, y) = p.xy(s.lat, s.lon);
                g data-station=(s.station_id) class=(format!("station {}", standing(s))) {
                    circle cx=(x) cy=(y) r="6" {
                        title {
                            (t_args(lang, "map-station-title", &[
                                ("name", s.name.clone().into()),
                                ("present", s.on_duty.saturating_sub(s.away).into()),
                                ("on_duty", s.on_duty.into()),
                                ("away", s.away.into()),
                                ("min", s.min_on_duty.into()),
                            ]))
                        }
                    }
                    text x=(x + 8.0) y=(y + 4.0) font-size="10" {
                        (s.station_id) " " (s.on_duty.saturating_sub(s.away)) "/" (s.min_on_duty)
                    }
                }
            }
            @for s in &o.sites {
                @let (x, y) = p.xy(s.lat, s.lon);
                @let half = if s.kind == "main_center" { 9.0 } else { 7.0 };
                g.site data-site=(s.site_id) {
                    rect x=(x - half) y=(y - half) width=(2.0 * half) height=(2.0 * half) {
                        title { (s.name) }
                    }
                    text x=(x + half + 3.0) y=(y - half) font-size="12" font-weight="600" { (s.name) }
                }
            }
        }
        h3 { (t(lang, "map-stations")) }
        table id="staffing" {
            thead { tr {
                th { (t(lang, "col-station")) } th { (t(lang, "map-present")) }
                th { (t(lang, "map-on-duty")) } th { (t(lang, "map-away")) } th { (t(lang, "map-min")) }
            } }
            tbody {
                @for s in by_margin {
                    tr class=(standing(s)) {
                        td { (s.name) " (" (s.station_id) ")" }
                        td { (s.on_duty.saturating_sub(s.away)) }
                        td { (s.on_duty) }
                        td { (s.away) }
                        td { (s.min_on_duty) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn station(
        id: &str,
        lat: f64,
        lon: f64,
        on_duty: u32,
        away: u32,
        min: u32,
    ) -> proto::StationStaffing {
        proto::StationStaffing {
            station_id: id.into(),
            name: format!("{id}派出所"),
            lat,
            lon,
            on_duty,
            away,
            min_on_duty: min,
            rural: false,
        }
    }

    #[test]
    fn the_map_keeps_north_up_colours_stations_by_their_minimum_and_draws_escorts() {
        let o = proto::GetOverviewReply {
            sites: vec![proto::SitePoint {
                site_id: "MC".into(),
                name: "县执法办案管理中心".into(),
                kind: "main_center".into(),
                lat: 28.0,
                lon: 113.0,
            }],
            stations: vec![
                station("N", 28.5, 113.0, 5, 1, 2),
                station("S", 27.5, 113.0, 4, 2, 2),
                station("E", 28.0, 113.5, 3, 2, 2),
            ],
            escorts: vec![proto::EscortUnderWay {
                case_id: "C-9".into(),
                team_id: "MC-team-1".into(),
                officers: 3,
                station_id: "E".into(),
                site_id: "MC".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let html = draw(Lang::ZhCn, &o).into_string();
        assert!(html.contains("县执法办案管理中心"));
        assert!(
            html.contains(r#"data-station="N" class="station above""#),
            "{html}"
        );
        assert!(html.contains(r#"data-station="S" class="station at""#));
        assert!(html.contains(r#"data-station="E" class="station below""#));
        assert!(html.contains(r#"data-case="C-9""#));
        // The short-handed first in the table.
        let (e, n) = (
            html.find("E派出所 (E)").unwrap(),
            html.find("N派出所 (N)").unwrap(),
        );
        assert!(e < n);
        // North is up: N is drawn above S; the east station to the right.
        let p = Projection::fit(&[(28.5, 113.0), (27.5, 113.0), (28.0, 113.5), (28.0, 113.0)]);
        assert!(p.xy(28.5, 113.0).1 < p.xy(27.5, 113.0).1);
        assert!(p.xy(28.0, 113.5).0 > p.xy(28.0, 113.0).0);
        // Everything inside the drawing.
        for (lat, lon) in [(28.5, 113.0), (27.5, 113.0), (28.0, 113.5)] {
            let (x, y) = p.xy(lat, lon);
            assert!((0.0..=W).contains(&x) && (0.0..=H).contains(&y), "{x},{y}");
        }
    }
}
