//! Supervision: search and filter the audit trail, see the overrides with
//! their reasons, and export what the filter finds as CSV. Every read is
//! `AuditService.ReadAudit` with its filters.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use maud::{Markup, html};
use serde::Deserialize;
use tonic::Status;

use super::i18n::{Lang, t, t_args};
use super::pages::{self, local};
use super::{call, lang, page, refusal};
use crate::grpc_api::Api;
use crate::proto;
use crate::proto::audit_service_server::AuditService;

/// Entries the page shows, newest first.
const PAGE_ENTRIES: u32 = 200;
/// Entries an export holds at most (ReadAudit's largest answer).
const EXPORT_ENTRIES: u32 = 10_000;

/// The filter form.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Filter {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    contains: String,
    /// A checkbox: present ("on") when ticked.
    #[serde(default)]
    overrides: Option<String>,
    /// `YYYY-MM-DD`, a day in the console's time zone (from its start).
    #[serde(default)]
    since: String,
    /// `YYYY-MM-DD`, a day in the console's time zone (to its end).
    #[serde(default)]
    until: String,
    /// The day of the figures, `YYYY-MM-DD`; empty for today.
    #[serde(default)]
    day: String,
}

impl Filter {
    fn day(field: &str, v: &str, next: bool) -> Result<Option<prost_types::Timestamp>, Status> {
        let v = v.trim();
        if v.is_empty() {
            return Ok(None);
        }
        let d = NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map_err(|e| Status::invalid_argument(format!("{field}: {v}: {e}")))?;
        let d = if next { d.succ_opt().unwrap_or(d) } else { d };
        let start: Option<DateTime<Utc>> = d.and_hms_opt(0, 0, 0).and_then(|n| {
            pages::zone()
                .from_local_datetime(&n)
                .single()
                .map(|t| t.with_timezone(&Utc))
        });
        Ok(start.map(|t| prost_types::Timestamp {
            seconds: t.timestamp(),
            nanos: 0,
        }))
    }

    fn request(&self, limit: u32) -> Result<proto::ReadAuditRequest, Status> {
        Ok(proto::ReadAuditRequest {
            from_index: 0,
            limit,
            actor: self.actor.clone(),
            contains: self.contains.clone(),
            overrides_only: self.overrides.is_some(),
            since: Self::day("since", &self.since, false)?,
            until: Self::day("until", &self.until, true)?,
            newest_first: true,
        })
    }

    /// The same filter as a query string, for the export link.
    fn query(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("actor", &self.actor)
            .append_pair("contains", &self.contains)
            .append_pair("since", &self.since)
            .append_pair("until", &self.until);
        if self.overrides.is_some() {
            q.append_pair("overrides", "on");
        }
        q.finish()
    }
}

async fn read(api: &Api, filter: &Filter, limit: u32) -> Result<proto::ReadAuditReply, Status> {
    let request = filter.request(limit)?;
    call(
        "/casehub.v1.AuditService/ReadAudit",
        api.read_audit(tonic::Request::new(request)),
    )
    .await
}

/// The supervision page: the filter and the entries it finds.
pub async fn supervision_page(
    State(api): State<Api>,
    headers: HeaderMap,
    Query(filter): Query<Filter>,
) -> Response {
    let lang = lang(&headers);
    let figures = call(
        "/casehub.v1.AuditService/GetDailyFigures",
        api.get_daily_figures(tonic::Request::new(proto::GetDailyFiguresRequest {
            day: filter.day.clone(),
        })),
    )
    .await;
    let figures = match figures {
        Ok(f) => daily(lang, &f),
        Err(s) => pages::message(&refusal(lang, &s).1, true),
    };
    match read(&api, &filter, PAGE_ENTRIES).await {
        Ok(reply) => page(
            lang,
            "supervision-title",
            html! { (figures) (filter_form(lang, &filter)) (entries(lang, &reply.entries)) },
        ),
        Err(s) => {
            let (code, msg) = refusal(lang, &s);
            (
                code,
                page(
                    lang,
                    "supervision-title",
                    html! { (filter_form(lang, &filter)) (pages::message(&msg, true)) },
                ),
            )
                .into_response()
        }
    }
}

/// What the filter finds, as CSV (UTF-8 with a byte-order mark, so that
/// spreadsheet programs read the Chinese text right).
pub async fn export(
    State(api): State<Api>,
    headers: HeaderMap,
    Query(filter): Query<Filter>,
) -> Response {
    let lang = lang(&headers);
    let reply = match read(&api, &filter, EXPORT_ENTRIES).await {
        Ok(r) => r,
        Err(s) => {
            let (code, msg) = refusal(lang, &s);
            return (code, msg).into_response();
        }
    };
    match csv_of(&reply.entries) {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"casehub-audit.csv\"",
                ),
            ],
            body,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// The entries as CSV, times in UTC (RFC 3339), oldest first.
pub fn csv_of(entries: &[proto::AuditEntry]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    w.write_record([
        "index",
        "time",
        "actor",
        "site_id",
        "client_id",
        "request_id",
        "summary",
        "reason",
        "override",
        "rejected",
        "hash",
    ])?;
    for e in entries.iter().rev() {
        let time = e
            .time
            .as_ref()
            .and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default();
        w.write_record([
            e.index.to_string().as_str(),
            &time,
            &e.actor,
            &e.site_id,
            &e.client_id,
            &e.request_id.to_string(),
            &e.summary,
            &e.reason,
            if e.is_override { "yes" } else { "" },
            &e.rejected,
            &e.hash,
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// The day's figures, in all and per site.
fn daily(lang: Lang, f: &proto::GetDailyFiguresReply) -> Markup {
    html! {
        h3 { (t_args(lang, "figures-title", &[("day", f.day.clone().into())])) }
        form.filter method="get" action="/console/supervision" {
            label { (t(lang, "figures-day")) " " input type="date" name="day" id="figures-day" value=(f.day); }
            " " button type="submit" { (t(lang, "audit-search")) }
        }
        table id="figures" {
            thead { tr {
                th { (t(lang, "col-sites")) }
                th { (t(lang, "figures-exited")) } th { (t(lang, "figures-kept")) }
                th { (t(lang, "figures-near")) } th { (t(lang, "figures-breaches")) }
                th { (t(lang, "figures-questionings")) } th { (t(lang, "figures-wait")) }
                th { (t(lang, "figures-escorts")) } th { (t(lang, "figures-overrides")) }
            } }
            tbody {
                @for r in &f.rows {
                    tr.all[r.site_id.is_empty()] {
                        td { @if r.site_id.is_empty() { strong { (t(lang, "figures-all")) } } @else { (r.site_id) } }
                        td { (r.exited) }
                        td { (r.limits_kept) }
                        td.lead[r.near_misses > 0] { (r.near_misses) }
                        td.overdue[r.breaches > 0] { (r.breaches) }
                        td { (r.questionings) }
                        td { @if r.questionings > 0 { (r.wait_p50_min) " / " (r.wait_p90_min) } }
                        td { (t_args(lang, "figures-escort-split", &[("team", r.team_escorts.into()), ("station", r.station_escorts.into())])) }
                        td { @if r.site_id.is_empty() { (r.overrides) } }
                    }
                }
            }
        }
    }
}

fn filter_form(lang: Lang, f: &Filter) -> Markup {
    html! {
        form.filter id="audit-filter" method="get" action="/console/supervision" {
            label { (t(lang, "audit-actor")) " " input name="actor" id="audit-actor" value=(f.actor); }
            " "
            label { (t(lang, "audit-contains")) " " input name="contains" id="audit-contains" value=(f.contains); }
            " "
            label { (t(lang, "audit-since")) " " input type="date" name="since" value=(f.since); }
            " "
            label { (t(lang, "audit-until")) " " input type="date" name="until" value=(f.until); }
            " "
            label { input type="checkbox" name="overrides" id="audit-overrides" checked[f.overrides.is_some()]; " " (t(lang, "audit-overrides-only")) }
            " "
            button type="submit" id="audit-search" { (t(lang, "audit-search")) }
            " "
            a id="audit-export" href=(format!("/console/supervision/audit.csv?{}", f.query())) { (t(lang, "audit-export")) }
        }
    }
}

fn entries(lang: Lang, list: &[proto::AuditEntry]) -> Markup {
    html! {
        @if list.is_empty() {
            p id="audit-empty" { (t(lang, "audit-empty")) }
        } @else {
            p { (t_args(lang, "audit-count", &[("n", list.len().into())])) }
            table id="audit" {
                thead { tr {
                    th { (t(lang, "col-index")) } th { (t(lang, "col-at")) }
                    th { (t(lang, "col-actor")) } th { (t(lang, "col-message")) }
                    th { (t(lang, "col-reason")) } th { (t(lang, "col-outcome")) }
                } }
                tbody {
                    @for e in list {
                        tr.override[e.is_override] data-index=(e.index) {
                            td { (e.index) }
                            td { @if let Some(at) = e.time.as_ref().and_then(|t| DateTime::from_timestamp(t.seconds, 0)) { (local(lang, at)) } }
                            td { (e.actor) }
                            td { (e.summary) }
                            td.reason { (e.reason) }
                            td {
                                @if e.rejected.is_empty() { (t(lang, "audit-applied")) }
                                @else { span.bad { (t_args(lang, "audit-rejected", &[("reason", e.rejected.clone().into())])) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_export_is_utf8_csv_with_a_bom_oldest_first_and_quoted() {
        let entry = |index: u64, reason: &str| proto::AuditEntry {
            index,
            time: Some(prost_types::Timestamp {
                seconds: 1_796_000_000 + index as i64,
                nanos: 0,
            }),
            actor: "调度员 王".into(),
            summary: format!("override plan: 11 bookings for case(s) C-{index}"),
            reason: reason.into(),
            is_override: true,
            ..Default::default()
        };
        // As ReadAudit answers with newest_first.
        let bytes = csv_of(&[entry(8, "家属等候, \"西南\""), entry(7, "车辆故障")]).unwrap();
        assert_eq!(&bytes[..3], &[0xEF, 0xBB, 0xBF]);
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
        assert_eq!(r.headers().unwrap().get(7), Some("reason"));
        assert_eq!(rows.len(), 2);
        assert_eq!(&rows[0][0], "7", "oldest first");
        assert_eq!(
            &rows[1][7], "家属等候, \"西南\"",
            "quoted and read back whole"
        );
        assert_eq!(&rows[1][2], "调度员 王");
        assert_eq!(&rows[1][8], "yes");
        assert!(rows[0][1].ends_with('Z'), "{}", &rows[0][1]);
    }

    #[test]
    fn days_are_read_in_shanghai_and_bad_ones_named() {
        let f = Filter {
            since: "2026-12-07".into(),
            until: "2026-12-07".into(),
            ..Filter::default()
        };
        let r = f.request(10).unwrap();
        let since = r.since.unwrap().seconds;
        let until = r.until.unwrap().seconds;
        // 00:00 in Shanghai is 16:00 UTC the day before; the end is the
        // next midnight.
        assert_eq!(
            DateTime::from_timestamp(since, 0).unwrap().to_rfc3339(),
            "2026-12-06T16:00:00+00:00"
        );
        assert_eq!(until - since, 86_400);
        let bad = Filter {
            since: "07/12/2026".into(),
            ..Filter::default()
        };
        let e = bad.request(10).unwrap_err();
        assert!(
            e.message().starts_with("since: 07/12/2026"),
            "{}",
            e.message()
        );
    }
}
