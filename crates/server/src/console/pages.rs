//! The console's pages and fragments (maud): every string through the
//! catalogue, every time in the region's time zone (Asia/Shanghai by
//! default).

use chrono::{DateTime, FixedOffset, Utc};
use maud::{DOCTYPE, Markup, html};

use super::i18n::{Lang, t, t_args};
use crate::auth::{Caller, Permission};
use crate::proto;

/// The console's time zone as a UTC offset in minutes: the region's
/// (`utc_offset_min` in the region file; Asia/Shanghai, UTC+8, for the
/// sample county and by default).
static ZONE_MIN: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(8 * 60);

/// Show times at `utc_offset_min` from UTC (set once from the region).
pub fn set_zone(utc_offset_min: i32) {
    if FixedOffset::east_opt(utc_offset_min * 60).is_some() {
        ZONE_MIN.store(utc_offset_min, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The console's time zone (see [`set_zone`]).
pub fn zone() -> FixedOffset {
    FixedOffset::east_opt(ZONE_MIN.load(std::sync::atomic::Ordering::Relaxed) * 60)
        .unwrap_or_else(|| FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
}

/// A time as the room reads it: 24-hour clock, Chinese date format in zh-CN.
pub fn local(lang: Lang, t: DateTime<Utc>) -> String {
    let l = t.with_timezone(&zone());
    match lang {
        Lang::ZhCn => l.format("%m月%d日 %H:%M").to_string(),
        Lang::En => l.format("%m-%d %H:%M").to_string(),
    }
}

/// A duration as the room reads it: "25 分钟", "3 小时 5 分".
pub fn span(lang: Lang, minutes: i64) -> String {
    let m = minutes.abs();
    if m < 60 {
        t_args(lang, "minutes", &[("m", m.into())])
    } else {
        t_args(
            lang,
            "hours-minutes",
            &[("h", (m / 60).into()), ("m", (m % 60).into())],
        )
    }
}

/// A protobuf time, if set and in range.
pub fn time_of(ts: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    ts.and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
}

/// A `datetime-local` value (`YYYY-MM-DDTHH:MM`) in the console's time
/// zone, as UTC; `None` when empty. The error names the field.
pub fn parse_local(field: &str, v: &str) -> Result<Option<DateTime<Utc>>, String> {
    use chrono::TimeZone;
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let naive = chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M")
        .map_err(|e| format!("{field}: {v}: {e}"))?;
    Ok(zone()
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc)))
}

/// The whole page around `body`.
pub fn layout(lang: Lang, title: &str, who: Option<&Caller>, body: Markup) -> Markup {
    let nav: Vec<(&str, &str, Permission)> = vec![
        ("/console/", "nav-board", Permission::ReadCases),
        ("/console/proposals", "nav-proposals", Permission::Dispatch),
        ("/console/alerts", "nav-alerts", Permission::ReadAlerts),
        (
            "/console/exceptions",
            "nav-exceptions",
            Permission::ReadCases,
        ),
        (
            "/console/availability",
            "nav-availability",
            Permission::ReadAvailability,
        ),
        ("/console/map", "nav-map", Permission::ReadAvailability),
        (
            "/console/supervision",
            "nav-supervision",
            Permission::ReadAudit,
        ),
        ("/console/admin", "nav-admin", Permission::ReadCluster),
    ];
    let here = t(lang, "nav-board");
    html! {
        (DOCTYPE)
        html lang=(lang.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (t(lang, "app-title")) }
                link rel="stylesheet" href="/console/static/console.css";
                script src="/console/static/htmx.min.js" {}
                script src="/console/static/console.js" defer {}
            }
            body {
                header {
                    h1 { (t(lang, "app-title")) }
                    @if let Some(c) = who {
                        nav {
                            @for (href, key, p) in &nav {
                                @if c.may(*p) {
                                    @let label = t(lang, key);
                                    a href=(href) class=[(label == title || (key == &"nav-board" && title == here)).then_some("here")] { (label) }
                                }
                            }
                        }
                        span.who {
                            (t_args(lang, "signed-in-as", &[
                                ("user", c.name.clone().into()),
                                ("roles", c.roles.iter().map(|r| t(lang, &format!("role-{}", r.name()))).collect::<Vec<_>>().join(lang.list_separator()).into()),
                            ]))
                        }
                        form method="post" action="/console/logout" {
                            button type="submit" id="logout" { (t(lang, "nav-logout")) }
                        }
                    }
                    form method="post" action="/console/lang" {
                        input type="hidden" name="to" value=(lang.other().tag());
                        button type="submit" id="lang" { (t(lang, "lang-switch")) }
                    }
                }
                main { h2 { (title) } (body) }
            }
        }
    }
}

/// A part of the page that re-reads `src` at load and at every change.
pub fn live(src: &str) -> Markup {
    html! {
        div data-live hx-get=(src) hx-trigger="load, changed from:body" hx-swap="innerHTML" {}
    }
}

/// A notice (or an error, `bad`).
pub fn message(text: &str, bad: bool) -> Markup {
    html! { div.msg.bad[bad] role="status" { (text) } }
}

/// The login page.
pub fn login(lang: Lang, error: Option<&str>) -> Markup {
    let body = html! {
        form.login method="post" action="/console/login" {
            @if let Some(e) = error { (message(e, true)) }
            label for="user" { (t(lang, "login-user")) }
            input id="user" name="user" autocomplete="username" required autofocus;
            label for="password" { (t(lang, "login-password")) }
            input id="password" name="password" type="password" autocomplete="current-password" required;
            p { button.primary type="submit" id="login" { (t(lang, "login-submit")) } }
        }
    };
    layout(lang, &t(lang, "login-title"), None, body)
}

/// The board's table: every open case with its clocks.
pub fn board(
    lang: Lang,
    cases: &[proto::CaseRecord],
    policy: &casehub_model::legal::Policy,
    station_names: &std::collections::BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Markup {
    let lead = policy.alert_lead_min.iter().copied().max().unwrap_or(60) as i64;
    html! {
        @if cases.is_empty() {
            p { (t(lang, "board-empty")) }
        } @else {
            table id="board" {
                thead { tr {
                    th { (t(lang, "col-case")) } th { (t(lang, "col-persons")) }
                    th { (t(lang, "col-station")) } th { (t(lang, "col-status")) }
                    th { (t(lang, "col-held")) } th { (t(lang, "col-deadline")) }
                    th { (t(lang, "col-left")) } th { (t(lang, "col-sites")) }
                } }
                tbody {
                    @for r in cases {
                        @if let Some(c) = &r.case {
                            @let started = time_of(c.clock_started_at.as_ref());
                            @let limit = c.category.parse::<casehub_model::LegalCategory>().ok()
                                .map(|k| i64::from(policy.legal_limits.limit_min(k)));
                            @let deadline = started.zip(limit).map(|(s, l)| s + chrono::TimeDelta::minutes(l));
                            @let left = deadline.map(|d| (d - now).num_minutes());
                            @let class = match left {
                                Some(l) if l < 0 => Some("overdue"),
                                Some(l) if l <= lead => Some("lead"),
                                _ => None,
                            };
                            tr class=[class] data-case=(c.case_id) {
                                td { a href=(format!("/console/cases/{}", c.case_id)) { (c.case_id) } }
                                td {
                                    @for p in &c.persons {
                                        div {
                                            @if !p.name.is_empty() {
                                                (p.name)
                                                @if !p.id_number.is_empty() { " " small { (p.id_number) } }
                                            } @else {
                                                span.pseudonym { (if p.pseudonym.is_empty() { &p.person_id } else { &p.pseudonym }) }
                                                @match r.particulars.as_str() {
                                                    "withheld" => { " " small { (t(lang, "particulars-withheld")) } }
                                                    "unavailable" => { " " small { (t(lang, "particulars-unavailable")) } }
                                                    "purged" => { " " small { (t(lang, "particulars-purged")) } }
                                                    _ => {}
                                                }
                                            }
                                        }
                                    }
                                }
                                td {
                                    @match station_names.get(&c.origin_station_id) {
                                        Some(name) if !name.is_empty() => { (name) " " small { (c.origin_station_id) } }
                                        _ => { (c.origin_station_id) }
                                    }
                                }
                                td { (t(lang, &format!("status-{}", r.status))) }
                                td { @if let Some(s) = started { (span(lang, (now - s).num_minutes())) } }
                                td { @if let Some(d) = deadline { (local(lang, d)) } }
                                td {
                                    @if let Some(l) = left {
                                        @if l < 0 { (t_args(lang, "overdue", &[("t", span(lang, l).into())])) }
                                        @else { (span(lang, l)) }
                                    }
                                }
                                td { (r.site_ids.join(", ")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A proposal with its explanation and the accept button.
pub fn proposal(lang: Lang, p: &proto::ProposePlanReply, notice: Option<Markup>) -> Markup {
    let versions: Vec<(&str, &str, u64)> = p
        .versions
        .iter()
        .map(|v| (v.kind.as_str(), v.id.as_str(), v.version))
        .collect();
    let versions_json = serde_json::to_string(&versions).unwrap_or_else(|_| "[]".into());
    html! {
        @if let Some(n) = notice { (n) }
        @if p.summary.is_empty() && p.blocked.is_empty() {
            p id="no-proposal" { (t(lang, "proposals-empty")) }
        } @else {
            ul.plan id="plan" {
                @for line in &p.summary { li { (line) } }
            }
            @for b in &p.blocked {
                (message(&t_args(lang, "proposal-blocked", &[
                    ("case", b.case_id.clone().into()),
                    ("rule", b.rule.clone().into()),
                    ("reason", b.reason.clone().into()),
                ]), true))
            }
            @if !p.warnings.is_empty() {
                h3 { (t(lang, "proposal-warnings")) }
                ul { @for w in &p.warnings { li { (w) } } }
            }
            @if let Ok(plan) = serde_json::from_str::<casehub_planning::Plan>(&p.plan_json) {
                @for c in plan.cases.iter().filter(|c| !c.pinned) {
                    (explanation(lang, c))
                }
                @if !plan.cases.is_empty() {
                    p.overrides {
                        @for c in plan.cases.iter().filter(|c| !c.pinned) {
                            a.override href=(format!("/console/proposals/override?case={}", c.case)) data-case=(c.case) {
                                (t(lang, "override-link")) " " (c.case)
                            }
                            " "
                        }
                    }
                }
            }
            @if !p.summary.is_empty() {
                form method="post" action="/console/proposals/accept" {
                    input type="hidden" name="plan_json" value=(p.plan_json);
                    input type="hidden" name="versions_json" value=(versions_json);
                    button.primary type="submit" id="accept" accesskey="a" { (t(lang, "proposal-accept")) }
                }
            }
        }
    }
}

/// Why the engine chose this plan for a case: where and how, the legal
/// clock, the cost breakdown, and the best alternative.
fn explanation(lang: Lang, c: &casehub_planning::CasePlan) -> Markup {
    let mode = |m: casehub_planning::EscortMode| match m {
        casehub_planning::EscortMode::Team => t(lang, "escort-team"),
        casehub_planning::EscortMode::Station => t(lang, "escort-station"),
    };
    let cost = |v: f64| format!("{v:.1}");
    html! {
        details.explain open data-case=(c.case) {
            summary {
                (t_args(lang, "explain-head", &[
                    ("case", c.case.to_string().into()),
                    ("site", c.site.to_string().into()),
                    ("escort", mode(c.escort.mode).into()),
                ]))
            }
            dl.facts {
                dt { (t(lang, "col-escort")) }
                dd {
                    (mode(c.escort.mode))
                    @for team in c.escort.teams() { " " (team) }
                    " · " (local(lang, c.escort.depart)) " → " (local(lang, c.escort.arrive))
                    " · " (t_args(lang, "explain-drive", &[("min", format!("{:.0}", c.escort.drive_min).into()), ("km", format!("{:.1}", c.escort.km).into())]))
                }
                dt { (t(lang, "col-deadline")) }
                dd { (local(lang, c.deadline)) " · " (t_args(lang, "explain-slack", &[("t", span(lang, c.slack_min).into())])) }
                @if let Some(why) = &c.deferred {
                    dt { (t(lang, "explain-deferred")) }
                    dd.deferred {
                        (t_args(lang, "explain-deferred-line", &[("depart", local(lang, c.escort.depart).into())]))
                        " " span.engine-text { (why) }
                    }
                }
                dt { (t(lang, "explain-cost")) }
                dd {
                    (t_args(lang, "explain-cost-parts", &[
                        ("away", cost(c.cost.officer_away_cost).into()),
                        ("hours", format!("{:.1}", c.cost.officer_hours_away).into()),
                        ("travel", cost(c.cost.escort_travel_cost).into()),
                        ("wait", cost(c.cost.waiting_cost).into()),
                        ("slack", cost(c.cost.thin_slack_cost).into()),
                        ("total", cost(c.cost.total).into()),
                    ]))
                }
                dt { (t(lang, "explain-alternative")) }
                dd {
                    @match &c.explanation {
                        Some(e) if e.alternative_site.is_some() || e.alternative_escort.is_some() => {
                            (t_args(lang, "explain-alternative-line", &[
                                ("site", e.alternative_site.as_ref().map_or(c.site.to_string(), |s| s.to_string()).into()),
                                ("escort", e.alternative_escort.map_or(mode(c.escort.mode), mode).into()),
                                ("extra", cost(e.extra_cost).into()),
                            ]))
                            @if !e.reasons.is_empty() {
                                ul { @for r in &e.reasons { li { (r) } } }
                            }
                        }
                        _ => { (t(lang, "explain-no-alternative")) }
                    }
                }
            }
        }
    }
}

/// An alert in the user's language, from its kind and fields (the node's
/// one-line message stays in the cell's title, for the details).
pub fn alert_text(lang: Lang, a: &proto::Alert) -> String {
    let deadline = time_of(a.deadline.as_ref())
        .map(|d| local(lang, d))
        .unwrap_or_default();
    let args = [
        ("case", a.case_id.clone().into()),
        ("person", a.person_id.clone().into()),
        ("station", a.station_id.clone().into()),
        ("deadline", deadline.into()),
    ];
    let key = format!("alert-text-{}", a.kind);
    let text = t_args(lang, &key, &args);
    if text == key { a.message.clone() } else { text }
}

/// The alerts standing now, with their lifecycle and an acknowledge
/// button (for the roles that may), then the resolved ones.
pub fn alerts(lang: Lang, list: &[proto::Alert], may_ack: bool) -> Markup {
    let (history, standing): (Vec<&proto::Alert>, Vec<&proto::Alert>) =
        list.iter().partition(|a| a.status == "resolved");
    let who_when = |a: &proto::Alert| -> String {
        match time_of(a.acknowledged_at.as_ref()) {
            Some(at) => t_args(
                lang,
                "alert-acked-by",
                &[
                    ("user", a.acknowledged_by.clone().into()),
                    ("at", local(lang, at).into()),
                ],
            ),
            None => String::new(),
        }
    };
    html! {
        @if standing.is_empty() {
            p { (t(lang, "alerts-empty")) }
        } @else {
            table id="alerts" {
                thead { tr {
                    th { (t(lang, "col-kind")) } th { (t(lang, "col-case")) }
                    th { (t(lang, "col-at")) } th { (t(lang, "col-deadline")) }
                    th { (t(lang, "col-message")) } th { (t(lang, "col-status")) } th {}
                } }
                tbody {
                    @for a in &standing {
                        tr data-alert=(a.key) class=(format!("alert-{}", a.status)) {
                            td { (t(lang, &format!("alert-kind-{}", a.kind))) }
                            td { (a.case_id) }
                            td { @if let Some(at) = time_of(a.raised_at.as_ref().or(a.at.as_ref())) { (local(lang, at)) } }
                            td { @if let Some(d) = time_of(a.deadline.as_ref()) { (local(lang, d)) } }
                            td title=(a.message) { (alert_text(lang, a)) }
                            td.status {
                                (t(lang, &format!("alert-status-{}", a.status)))
                                @if !a.acknowledged_by.is_empty() { br; small { (who_when(a)) } }
                            }
                            td {
                                @if may_ack && a.acknowledged_by.is_empty() && a.status != "new" {
                                    form method="post" action="/console/alerts/ack"
                                        hx-post="/console/alerts/ack" hx-target="#alert-msg" {
                                        input type="hidden" name="key" value=(a.key);
                                        button type="submit" class="ack" { (t(lang, "alert-ack")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !history.is_empty() {
            h3 { (t(lang, "alerts-history")) }
            table id="alert-history" {
                thead { tr {
                    th { (t(lang, "col-kind")) } th { (t(lang, "col-case")) }
                    th { (t(lang, "col-at")) } th { (t(lang, "alert-resolved-at")) }
                    th { (t(lang, "col-message")) } th { (t(lang, "alert-handled")) }
                } }
                tbody {
                    @for a in &history {
                        tr data-alert=(a.key) {
                            td { (t(lang, &format!("alert-kind-{}", a.kind))) }
                            td { (a.case_id) }
                            td { @if let Some(at) = time_of(a.raised_at.as_ref()) { (local(lang, at)) } }
                            td { @if let Some(at) = time_of(a.resolved_at.as_ref()) { (local(lang, at)) } }
                            td title=(a.message) { (alert_text(lang, a)) }
                            td {
                                @if a.acknowledged_by.is_empty() { (t(lang, "alert-never-acked")) } @else { (who_when(a)) }
                                @if a.escalated_at.is_some() { " · " (t(lang, "alert-status-escalated")) }
                            }
                        }
                    }
                }
            }
        }
    }
}
