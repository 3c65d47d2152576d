//! Availability: a Gantt chart (SVG, drawn on the server) of one site's
//! rooms, escort teams and officers over a chosen window, live, and the
//! earliest-slot search. Both are `AvailabilityService` calls.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Timelike, Utc};
use maud::{Markup, html};
use serde::Deserialize;
use tonic::Status;

use super::i18n::{Lang, t, t_args};
use super::pages::{self, local, time_of as time};
use super::{call, lang, page, refusal};
use crate::grpc_api::Api;
use crate::proto;
use crate::proto::availability_service_server::AvailabilityService;

/// The window lengths offered, in hours.
const HOURS: [u32; 4] = [4, 8, 12, 24];
/// The chart's geometry, in SVG units.
const LABEL_W: f64 = 200.0;
const CHART_W: f64 = 900.0;
const ROW_H: f64 = 18.0;
const HEAD_H: f64 = 24.0;

#[derive(Debug, Default, Clone, Deserialize)]
pub struct Window {
    #[serde(default)]
    site: String,
    /// `YYYY-MM-DDTHH:MM`, the console's time zone; empty for the current hour.
    #[serde(default)]
    start: String,
    #[serde(default)]
    hours: Option<u32>,
}

fn ts(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    }
}

impl Window {
    /// The site (the first one when none is chosen), start and end.
    fn resolve(&self, api: &Api) -> Result<(String, DateTime<Utc>, DateTime<Utc>, u32), Status> {
        let site = if self.site.is_empty() {
            api.core
                .view
                .current()
                .state
                .sites
                .keys()
                .next()
                .map(|s| s.to_string())
                .unwrap_or_default()
        } else {
            self.site.clone()
        };
        let hours = self.hours.unwrap_or(12);
        if !HOURS.contains(&hours) {
            return Err(Status::invalid_argument(format!(
                "hours: {hours}: must be one of 4, 8, 12, 24"
            )));
        }
        let now = Utc::now();
        let start = pages::parse_local("start", &self.start)
            .map_err(Status::invalid_argument)?
            .unwrap_or_else(|| {
                now.with_minute(0)
                    .and_then(|t| t.with_second(0))
                    .and_then(|t| t.with_nanosecond(0))
                    .unwrap_or(now)
            });
        Ok((
            site,
            start,
            start + Duration::hours(i64::from(hours)),
            hours,
        ))
    }
}

/// The page: the window form, the live chart, the earliest-slot search.
pub async fn availability_page(
    State(api): State<Api>,
    headers: HeaderMap,
    Query(w): Query<Window>,
) -> Response {
    let lang = lang(&headers);
    let state = api.core.view.current();
    let (site, start, hours) = match w.resolve(&api) {
        Ok((site, start, _, hours)) => (site, start, hours),
        Err(s) => {
            let (code, msg) = refusal(lang, &s);
            return (
                code,
                page(lang, "availability-title", pages::message(&msg, true)),
            )
                .into_response();
        }
    };
    let start_local = start
        .with_timezone(&pages::zone())
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("site", &site)
        .append_pair("start", &start_local)
        .append_pair("hours", &hours.to_string());
    let src = format!("/console/availability/chart?{}", q.finish());
    let sites: Vec<(String, String)> = state
        .state
        .sites
        .iter()
        .map(|(id, s)| (id.to_string(), s.value.name.clone()))
        .collect();
    page(
        lang,
        "availability-title",
        html! {
            form.filter id="window" method="get" action="/console/availability" {
                label { (t(lang, "override-site")) " "
                    select name="site" id="gantt-site" {
                        @for (id, name) in &sites {
                            option value=(id) selected[*id == site] { (name) " (" (id) ")" }
                        }
                    }
                }
                " "
                label { (t(lang, "availability-start")) " "
                    input type="datetime-local" name="start" value=(start_local);
                }
                " "
                label { (t(lang, "availability-hours")) " "
                    select name="hours" {
                        @for h in HOURS {
                            option value=(h) selected[h == hours] { (t_args(lang, "availability-h", &[("h", h.into())])) }
                        }
                    }
                }
                " "
                button type="submit" id="gantt-show" { (t(lang, "availability-show")) }
            }
            (pages::live(&src))
            h3 { (t(lang, "slot-title")) }
            (slot_form(lang, &sites))
            div id="slot-result" {}
        },
    )
}

/// The chart, re-read at every applied change.
pub async fn chart(
    State(api): State<Api>,
    headers: HeaderMap,
    Query(w): Query<Window>,
) -> Response {
    let lang = lang(&headers);
    let answer = async {
        let (site, start, end, _) = w.resolve(&api)?;
        call(
            "/casehub.v1.AvailabilityService/GetAvailability",
            api.get_availability(tonic::Request::new(proto::GetAvailabilityRequest {
                site_id: site,
                window: Some(proto::Interval {
                    start: Some(ts(start)),
                    end: Some(ts(end)),
                }),
            })),
        )
        .await
        .map(|a| (a, start, end))
    }
    .await;
    match answer {
        Ok((a, start, end)) => gantt(lang, &a, start, end).into_response(),
        Err(s) => {
            let (code, msg) = refusal(lang, &s);
            (code, pages::message(&msg, true)).into_response()
        }
    }
}

/// One row of the chart.
struct Row<'a> {
    label: String,
    free: &'a [proto::Interval],
}

/// The Gantt chart: a row per room, team and officer; free time green,
/// the rest grey; an hour grid; now as a red line.
pub fn gantt(
    lang: Lang,
    a: &proto::GetAvailabilityReply,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Markup {
    let mut rows: Vec<Row> = Vec::new();
    for r in &a.rooms {
        rows.push(Row {
            label: format!("{} · {}", r.room_id, t(lang, &format!("room-{}", r.kind))),
            free: &r.free,
        });
    }
    for tm in &a.teams {
        rows.push(Row {
            label: format!("{} · {}", tm.team_id, t(lang, "escort-team")),
            free: &tm.free,
        });
    }
    for o in &a.officers {
        rows.push(Row {
            label: o.officer_id.clone(),
            free: &o.free,
        });
    }
    let span = (end - start).num_seconds().max(1) as f64;
    let x = |t: DateTime<Utc>| {
        LABEL_W + ((t - start).num_seconds() as f64 / span).clamp(0.0, 1.0) * CHART_W
    };
    let height = HEAD_H + ROW_H * rows.len() as f64 + 4.0;
    let hours = (end - start).num_hours();
    let step = if hours > 12 { 2 } else { 1 };
    let now = Utc::now();
    html! {
        @if rows.is_empty() {
            p { (t(lang, "availability-empty")) }
        } @else {
            p.legend {
                span.free-key { "■" } " " (t(lang, "availability-free")) "　"
                span.busy-key { "■" } " " (t(lang, "availability-busy"))
            }
            svg.gantt id="gantt" xmlns="http://www.w3.org/2000/svg" role="img"
                viewBox=(format!("0 0 {} {height}", LABEL_W + CHART_W + 10.0))
                aria-label=(t(lang, "availability-title")) {
                @for h in (0..=hours).step_by(step) {
                    @let at = start + Duration::hours(h);
                    line x1=(x(at)) y1=(HEAD_H - 4.0) x2=(x(at)) y2=(height) stroke="#ccd" stroke-width="0.5" {}
                    text x=(x(at)) y="14" font-size="11" text-anchor="middle" {
                        (at.with_timezone(&pages::zone()).format("%H:%M"))
                    }
                }
                @for (i, row) in rows.iter().enumerate() {
                    @let y = HEAD_H + ROW_H * i as f64;
                    text x="4" y=(y + ROW_H - 5.0) font-size="11" { (row.label) }
                    rect.busy x=(LABEL_W) y=(y + 2.0) width=(CHART_W) height=(ROW_H - 4.0) {}
                    @for f in row.free {
                        @if let (Some(a), Some(b)) = (time(f.start.as_ref()), time(f.end.as_ref())) {
                            rect.free x=(x(a)) y=(y + 2.0) width=((x(b) - x(a)).max(0.5)) height=(ROW_H - 4.0) {
                                title { (local(lang, a)) " – " (local(lang, b)) }
                            }
                        }
                    }
                }
                @if now > start && now < end {
                    line.now x1=(x(now)) y1=(HEAD_H - 4.0) x2=(x(now)) y2=(height) stroke="#c00" stroke-width="1.5" {}
                }
            }
        }
    }
}

fn slot_form(lang: Lang, sites: &[(String, String)]) -> Markup {
    let steps = [
        "intake",
        "search",
        "information_collection",
        "medical",
        "holding",
        "questioning",
    ];
    html! {
        form.filter id="slot-form" method="get" action="/console/availability/slot"
            hx-get="/console/availability/slot" hx-target="#slot-result" {
            label { (t(lang, "override-site")) " "
                select name="site" {
                    option value="" { (t(lang, "slot-any-site")) }
                    @for (id, name) in sites { option value=(id) { (name) " (" (id) ")" } }
                }
            }
            " "
            label { (t(lang, "col-step")) " "
                select name="step" id="slot-step" {
                    @for s in steps { option value=(s) selected[s == "questioning"] { (t(lang, &format!("step-{s}"))) } }
                }
            }
            " "
            label { (t(lang, "col-category")) " "
                select name="category" {
                    @for c in casehub_model::LegalCategory::ALL {
                        option value=(c.as_str()) { (t(lang, &format!("category-{}", c.as_str()))) }
                    }
                }
            }
            " "
            label { (t(lang, "slot-duration")) " "
                input type="number" name="duration" id="slot-duration" min="1" max="1440" value="120" required;
            }
            " "
            label { (t(lang, "override-not-before")) " " input type="datetime-local" name="not_before"; }
            " "
            button type="submit" id="slot-search" { (t(lang, "slot-search")) }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct SlotQuery {
    #[serde(default)]
    site: String,
    #[serde(default)]
    step: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    duration: String,
    #[serde(default)]
    not_before: String,
}

/// The earliest slot, as a fragment.
pub async fn slot(
    State(api): State<Api>,
    headers: HeaderMap,
    Query(q): Query<SlotQuery>,
) -> Response {
    let lang = lang(&headers);
    let answer = async {
        let duration_min: u32 = q.duration.trim().parse().map_err(|_| {
            Status::invalid_argument(format!(
                "duration: {}: not a whole number of minutes",
                q.duration
            ))
        })?;
        let not_before = pages::parse_local("not_before", &q.not_before)
            .map_err(Status::invalid_argument)?
            .map(ts);
        call(
            "/casehub.v1.AvailabilityService/EarliestSlot",
            api.earliest_slot(tonic::Request::new(proto::EarliestSlotRequest {
                site_id: q.site.clone(),
                step: q.step.clone(),
                category: q.category.clone(),
                duration_min,
                not_before,
            })),
        )
        .await
    }
    .await;
    match answer {
        Ok(r) if r.found => {
            let slot = r.slot.as_ref();
            let (a, b) = (
                time(slot.and_then(|s| s.start.as_ref())),
                time(slot.and_then(|s| s.end.as_ref())),
            );
            pages::message(
                &t_args(
                    lang,
                    "slot-found",
                    &[
                        ("site", r.site_id.into()),
                        ("room", r.room_id.into()),
                        (
                            "start",
                            a.map(|a| local(lang, a)).unwrap_or_default().into(),
                        ),
                        ("end", b.map(|b| local(lang, b)).unwrap_or_default().into()),
                    ],
                ),
                false,
            )
            .into_response()
        }
        Ok(_) => pages::message(&t(lang, "slot-none"), true).into_response(),
        Err(s) => pages::message(&refusal(lang, &s).1, true).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_draws_free_time_to_scale_and_names_every_row() {
        let start: DateTime<Utc> = "2026-12-07T00:00:00Z".parse().unwrap();
        let end = start + Duration::hours(4);
        let iv = |a: i64, b: i64| proto::Interval {
            start: Some(ts(start + Duration::minutes(a))),
            end: Some(ts(start + Duration::minutes(b))),
        };
        let reply = proto::GetAvailabilityReply {
            rooms: vec![proto::RoomAvailability {
                room_id: "MC-讯问-1".into(),
                site_id: "MC".into(),
                kind: "interrogation".into(),
                capacity: 1,
                free: vec![iv(0, 60), iv(120, 240)],
            }],
            teams: vec![proto::TeamAvailability {
                team_id: "MC-team-1".into(),
                site_id: "MC".into(),
                free: vec![],
            }],
            ..Default::default()
        };
        let svg = gantt(Lang::ZhCn, &reply, start, end).into_string();
        assert!(svg.contains("MC-讯问-1 · 讯问室"), "{svg}");
        assert!(svg.contains("MC-team-1 · 押解队"));
        assert_eq!(svg.matches("class=\"busy\"").count(), 2, "one row each");
        assert_eq!(svg.matches("class=\"free\"").count(), 2);
        // An hour of four is a quarter of the chart, two hours half of it.
        assert!(
            svg.contains(&format!("width=\"{}\"", CHART_W / 4.0)),
            "{svg}"
        );
        assert!(
            svg.contains(&format!("width=\"{}\"", CHART_W / 2.0)),
            "{svg}"
        );
        // 08:00 to 12:00 in Shanghai, hourly.
        assert!(svg.contains(">08:00<") && svg.contains(">12:00<"), "{svg}");
        let empty = gantt(
            Lang::En,
            &proto::GetAvailabilityReply::default(),
            start,
            end,
        );
        assert!(empty.into_string().contains("no rooms"));
    }
}
