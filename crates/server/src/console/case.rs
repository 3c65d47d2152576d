//! A case's page: its persons and legal clock, the timeline of its steps
//! (start and complete them), an escort delay reported, the exit, and the
//! case's own audit history. Every read and action is an API call
//! (`GetCase`, `StartStep`, `CompleteStep`, `ReportDelay`, `ExitCase`,
//! `ReadAudit`), checked in the one table.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde::Deserialize;
use tonic::Status;

use super::i18n::{Lang, t, t_args};
use super::pages::{self, local, span, time_of as time};
use super::{call, lang, page, refusal, write_meta};
use crate::auth::{Permission, caller};
use crate::grpc_api::Api;
use crate::proto;
use crate::proto::audit_service_server::AuditService;
use crate::proto::dispatch_service_server::DispatchService;

/// Audit entries the case page shows, newest first.
const HISTORY: u32 = 100;

/// The case page: a live fragment, re-read at every applied change.
pub async fn case_page(headers: HeaderMap, Path(id): Path<String>) -> Response {
    let lang = lang(&headers);
    let src = format!("/console/cases/{}/detail", urlencode(&id));
    page(
        lang,
        "case-title",
        html! {
            div id="case-msg" {}
            (pages::live(&src))
        },
    )
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The case's detail: clocks, timeline with actions, delay and exit forms,
/// history.
pub async fn detail(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let lang = lang(&headers);
    let record = call(
        "/casehub.v1.DispatchService/GetCase",
        api.get_case(tonic::Request::new(proto::GetCaseRequest {
            case_id: id.clone(),
        })),
    )
    .await;
    let record = match record {
        Ok(r) => r,
        Err(s) => {
            let (code, msg) = refusal(lang, &s);
            return (code, pages::message(&msg, true)).into_response();
        }
    };
    let me = caller();
    let may = |p: Permission| me.as_ref().is_some_and(|c| c.may(p));
    // The case's own audit history, for the roles that read the audit.
    let history: Option<Vec<proto::AuditEntry>> = if may(Permission::ReadAudit) {
        call(
            "/casehub.v1.AuditService/ReadAudit",
            api.read_audit(tonic::Request::new(proto::ReadAuditRequest {
                contains: id.clone(),
                limit: HISTORY,
                newest_first: true,
                ..Default::default()
            })),
        )
        .await
        .ok()
        .map(|r| {
            // The entries that name this case (the filter matches text:
            // C-1 is in C-10 too).
            let named = |summary: &str| {
                summary
                    .split(|ch: char| ch.is_whitespace() || ",():;".contains(ch))
                    .any(|w| w == id)
            };
            r.entries
                .into_iter()
                .filter(|e| named(&e.summary))
                .collect()
        })
    } else {
        None
    };
    let state = api.core.view.current();
    view(
        lang,
        &record,
        &state.state.policy,
        Utc::now(),
        may(Permission::Dispatch),
        history.as_deref(),
    )
    .into_response()
}

#[derive(Deserialize)]
pub struct StepForm {
    person: String,
    step: String,
    /// start or complete.
    action: String,
}

#[derive(Deserialize)]
pub struct DelayForm {
    minutes: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    team: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    picked_up: Option<String>,
}

/// An action's answer: a notice in `#case-msg` (htmx), or the whole page.
fn answer(lang: Lang, headers: &HeaderMap, id: &str, outcome: Result<String, Status>) -> Response {
    let (code, notice) = match outcome {
        Ok(text) => (StatusCode::OK, pages::message(&text, false)),
        Err(s) => {
            let (code, msg) = refusal(lang, &s);
            (code, pages::message(&msg, true))
        }
    };
    if headers.contains_key("hx-request") {
        // htmx swaps 2xx answers only: the refusal's code goes in a header.
        let mut r = notice.into_response();
        if code != StatusCode::OK {
            r.headers_mut().insert(
                "x-casehub-status",
                code.as_u16().to_string().parse().expect("a status number"),
            );
        }
        return r;
    }
    let src = format!("/console/cases/{}/detail", urlencode(id));
    (
        code,
        page(
            lang,
            "case-title",
            html! { div id="case-msg" { (notice) } (pages::live(&src)) },
        ),
    )
        .into_response()
}

/// Start or complete a person's step.
pub async fn step(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<StepForm>,
) -> Response {
    let lang = lang(&headers);
    let request = proto::StepRequest {
        meta: write_meta(),
        case_id: id.clone(),
        person_id: f.person.clone(),
        step: f.step.clone(),
    };
    let step_name = t(lang, &format!("step-{}", f.step));
    let outcome = match f.action.as_str() {
        "start" => call(
            "/casehub.v1.DispatchService/StartStep",
            api.start_step(tonic::Request::new(request)),
        )
        .await
        .map(|_| {
            t_args(
                lang,
                "case-step-started",
                &[("person", f.person.into()), ("step", step_name.into())],
            )
        }),
        "complete" => call(
            "/casehub.v1.DispatchService/CompleteStep",
            api.complete_step(tonic::Request::new(request)),
        )
        .await
        .map(|_| {
            t_args(
                lang,
                "case-step-completed",
                &[("person", f.person.into()), ("step", step_name.into())],
            )
        }),
        other => Err(Status::invalid_argument(format!(
            "action: {other}: must be start or complete"
        ))),
    };
    answer(lang, &headers, &id, outcome)
}

/// Report an escort delay.
pub async fn delay(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<DelayForm>,
) -> Response {
    let lang = lang(&headers);
    let minutes = match f.minutes.trim().parse::<u32>() {
        Ok(m) => m,
        Err(_) => {
            let s = Status::invalid_argument(format!(
                "minutes: {}: not a whole number of minutes",
                f.minutes
            ));
            return answer(lang, &headers, &id, Err(s));
        }
    };
    let outcome = call(
        "/casehub.v1.DispatchService/ReportDelay",
        api.report_delay(tonic::Request::new(proto::ReportDelayRequest {
            meta: write_meta(),
            case_id: id.clone(),
            team_id: f.team.trim().to_string(),
            minutes,
            reason: f.reason.trim().to_string(),
            picked_up: f.picked_up.is_some(),
        })),
    )
    .await
    .map(|r| {
        t_args(
            lang,
            "case-delay-reported",
            &[(
                "outcome",
                t(lang, &format!("delay-outcome-{}", r.outcome)).into(),
            )],
        )
    });
    answer(lang, &headers, &id, outcome)
}

#[derive(Deserialize)]
pub struct ExitForm {
    #[serde(default)]
    disposition: String,
}

/// The case exits, with its disposition.
pub async fn exit(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<ExitForm>,
) -> Response {
    let lang = lang(&headers);
    if f.disposition.trim().is_empty() {
        return answer(
            lang,
            &headers,
            &id,
            Err(Status::invalid_argument(t(
                lang,
                "case-disposition-missing",
            ))),
        );
    }
    let outcome = call(
        "/casehub.v1.DispatchService/ExitCase",
        api.exit_case(tonic::Request::new(proto::ExitCaseRequest {
            meta: write_meta(),
            case_id: id.clone(),
            disposition: f.disposition.clone(),
        })),
    )
    .await
    .map(|ack| t_args(lang, "case-exited", &[("index", ack.log_index.into())]));
    answer(lang, &headers, &id, outcome)
}

/// The case's detail fragment.
pub fn view(
    lang: Lang,
    r: &proto::CaseRecord,
    policy: &casehub_model::legal::Policy,
    now: DateTime<Utc>,
    may_dispatch: bool,
    history: Option<&[proto::AuditEntry]>,
) -> Markup {
    let Some(c) = &r.case else {
        return html! {};
    };
    let id = urlencode(&c.case_id);
    let started = time(c.clock_started_at.as_ref());
    let limit = c
        .category
        .parse::<casehub_model::LegalCategory>()
        .ok()
        .map(|k| i64::from(policy.legal_limits.limit_min(k)));
    let deadline = started
        .zip(limit)
        .map(|(s, l)| s + chrono::TimeDelta::minutes(l));
    let open = r.status != "exited";
    let under_way: Vec<&str> = r
        .steps
        .iter()
        .filter(|s| s.state == "under_way")
        .map(|s| s.person_id.as_str())
        .collect();
    html! {
        h3 id="case-heading" { (t_args(lang, "case-heading", &[("case", c.case_id.clone().into())])) }
        dl.facts {
            dt { (t(lang, "col-station")) } dd { (c.origin_station_id) }
            dt { (t(lang, "col-category")) } dd { (t(lang, &format!("category-{}", c.category))) }
            dt { (t(lang, "col-status")) } dd id="case-status" { (t(lang, &format!("status-{}", r.status))) }
            dt { (t(lang, "col-sites")) } dd { (r.site_ids.join(lang.list_separator())) }
            @if let Some(s) = started {
                dt { (t(lang, "col-held")) }
                dd { (local(lang, s)) " · " (span(lang, (now - s).num_minutes())) }
            }
            @if let Some(d) = deadline {
                dt { (t(lang, "col-deadline")) }
                dd.lead[open && (d - now).num_minutes() >= 0 && (d - now).num_minutes() <= policy.alert_lead_min.iter().copied().max().unwrap_or(60) as i64]
                  .overdue[open && d < now] {
                    (local(lang, d))
                    @if open {
                        " · "
                        @if d < now { (t_args(lang, "overdue", &[("t", span(lang, (now - d).num_minutes()).into())])) }
                        @else { (t(lang, "col-left")) " " (span(lang, (d - now).num_minutes())) }
                    }
                }
            }
            @if let Some(x) = time(r.exited_at.as_ref()) {
                dt { (t(lang, "case-exited-at")) } dd { (local(lang, x)) }
            }
            @if !r.disposition.is_empty() {
                dt { (t(lang, "case-disposition")) }
                dd id="case-disposition" { (t(lang, &format!("disposition-{}", r.disposition))) }
            }
        }
        h4 { (t(lang, "col-persons")) }
        ul.persons {
            @for p in &c.persons {
                li {
                    @if !p.name.is_empty() { (p.name) " " small { (p.id_number) } }
                    @else { span.pseudonym { (if p.pseudonym.is_empty() { &p.person_id } else { &p.pseudonym }) } }
                    " (" (p.person_id) ")"
                }
            }
        }
        @if !r.plan_broken.is_empty() {
            (pages::message(&t_args(lang, "case-plan-broken", &[("reason", r.plan_broken.clone().into())]), true))
        }
        h4 { (t(lang, "case-timeline")) }
        @if r.steps.is_empty() {
            p { (t(lang, "case-no-steps")) }
        } @else {
            table id="timeline" {
                thead { tr {
                    th { (t(lang, "col-person")) } th { (t(lang, "col-step")) }
                    th { (t(lang, "col-room")) } th { (t(lang, "case-planned")) }
                    th { (t(lang, "case-started")) } th { (t(lang, "case-completed")) }
                    @if may_dispatch && open { th {} }
                } }
                tbody {
                    @for s in &r.steps {
                        tr.(s.state.as_str()) data-step=(format!("{}/{}", s.person_id, s.step)) {
                            td { (s.person_id) }
                            td { (t(lang, &format!("step-{}", s.step))) }
                            td { (s.room_id) }
                            td {
                                @if let (Some(a), Some(b)) = (time(s.planned_start.as_ref()), time(s.planned_end.as_ref())) {
                                    (local(lang, a)) " – " (local(lang, b))
                                }
                            }
                            td { @if let Some(a) = time(s.started_at.as_ref()) { (local(lang, a)) } }
                            td { @if let Some(a) = time(s.completed_at.as_ref()) { (local(lang, a)) } }
                            @if may_dispatch && open {
                                td {
                                    @let action = match s.state.as_str() {
                                        "booked" if !under_way.contains(&s.person_id.as_str()) => Some(("start", "case-start")),
                                        "under_way" => Some(("complete", "case-complete")),
                                        _ => None,
                                    };
                                    @if let Some((action, label)) = action {
                                        form method="post" action=(format!("/console/cases/{id}/step"))
                                            hx-post=(format!("/console/cases/{id}/step")) hx-target="#case-msg" {
                                            input type="hidden" name="person" value=(s.person_id);
                                            input type="hidden" name="step" value=(s.step);
                                            input type="hidden" name="action" value=(action);
                                            button type="submit" class=(format!("step-{action}")) { (t(lang, label)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !r.delays.is_empty() {
            h4 { (t(lang, "case-delays")) }
            ul {
                @for d in &r.delays {
                    li {
                        @if let Some(a) = time(d.reported_at.as_ref()) { (local(lang, a)) " · " }
                        (t_args(lang, "minutes", &[("m", d.minutes.into())]))
                        @if !d.team_id.is_empty() { " · " (d.team_id) }
                        @if !d.reason.is_empty() { " · " (d.reason) }
                    }
                }
            }
        }
        @if may_dispatch && open {
            h4 { (t(lang, "case-report-delay")) }
            form.delay id="delay-form" method="post" action=(format!("/console/cases/{id}/delay"))
                hx-post=(format!("/console/cases/{id}/delay")) hx-target="#case-msg" {
                label { (t(lang, "case-delay-minutes")) " " input name="minutes" id="delay-minutes" type="number" min="1" max="720" required; }
                " "
                label { (t(lang, "case-delay-reason")) " " input name="reason" id="delay-reason" maxlength="500"; }
                " "
                label { input type="checkbox" name="picked_up"; " " (t(lang, "case-delay-picked-up")) }
                " "
                button type="submit" id="delay-submit" { (t(lang, "case-delay-submit")) }
            }
            h4 { (t(lang, "case-exit")) }
            form method="post" action=(format!("/console/cases/{id}/exit"))
                hx-post=(format!("/console/cases/{id}/exit")) hx-target="#case-msg"
                hx-confirm=(t(lang, "case-exit-confirm")) {
                label { (t(lang, "case-disposition")) " "
                    select name="disposition" id="disposition" required {
                        option value="" { (t(lang, "case-disposition-pick")) }
                        @for d in casehub_model::Disposition::ALL {
                            option value=(d.as_str()) { (t(lang, &format!("disposition-{}", d.as_str()))) }
                        }
                    }
                }
                " "
                button type="submit" id="exit" { (t(lang, "case-exit")) }
            }
        }
        @if let Some(entries) = history {
            h4 { (t(lang, "case-history")) }
            @if entries.is_empty() {
                p { (t(lang, "audit-empty")) }
            } @else {
                table id="case-history" {
                    thead { tr {
                        th { (t(lang, "col-index")) } th { (t(lang, "col-at")) }
                        th { (t(lang, "col-actor")) } th { (t(lang, "col-message")) }
                        th { (t(lang, "col-reason")) }
                    } }
                    tbody {
                        @for e in entries {
                            tr.bad[!e.rejected.is_empty()] {
                                td { (e.index) }
                                td { @if let Some(a) = time(e.time.as_ref()) { (local(lang, a)) } }
                                td { (e.actor) }
                                td { (e.summary) @if !e.rejected.is_empty() { " — " (e.rejected) } }
                                td { (e.reason) }
                            }
                        }
                    }
                }
            }
        }
    }
}
