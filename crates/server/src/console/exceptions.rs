//! Exceptions: a dispatcher asks for one (a situation the policy names in
//! which a rule of local practice bends for one case), a supervisor other
//! than the one who asked approves or refuses it, and every one is listed
//! with who asked, why, who decided and whether a plan used it.
//! `RequestException`, `DecideException`, `ListExceptions`.

use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{Markup, html};
use tonic::Status;

use super::i18n::{Lang, t, t_args};
use super::pages::{self, local};
use super::{call, lang, page, refusal, write_meta};
use crate::auth::{Permission, caller};
use crate::grpc_api::Api;
use crate::proto;
use crate::proto::dispatch_service_server::DispatchService;

async fn render(api: &Api, lang: Lang, notice: Option<Markup>) -> Response {
    let list = call(
        "/casehub.v1.DispatchService/ListExceptions",
        api.list_exceptions(tonic::Request::new(proto::ListExceptionsRequest::default())),
    )
    .await;
    let me = caller();
    let may_ask = me.as_ref().is_some_and(|c| c.may(Permission::Dispatch));
    let may_decide = me
        .as_ref()
        .is_some_and(|c| c.may(Permission::ApproveExceptions));
    let kinds: Vec<(String, String)> = api
        .core
        .view
        .current()
        .state
        .policy
        .exceptions
        .iter()
        .map(|e| (e.name.clone(), e.rule.as_str().to_string()))
        .collect();
    page(
        lang,
        "exc-title",
        html! {
            @if let Some(n) = notice { (n) }
            p.note { (t(lang, "exc-intro")) }
            @if may_ask {
                form.exception id="exception-form" method="post" action="/console/exceptions/request" {
                    label { (t(lang, "exc-case")) " " input name="case_id" id="exception-case" required maxlength="64"; }
                    " "
                    label { (t(lang, "exc-kind")) " "
                        select name="kind" id="exception-kind" {
                            @for (name, rule) in &kinds { option value=(name) { (name) " (" (rule) ")" } }
                        }
                    }
                    " "
                    label { (t(lang, "exc-reason")) " " input name="reason" id="exception-reason" required maxlength="500"; }
                    " "
                    button.primary type="submit" id="exception-ask" { (t(lang, "exc-ask")) }
                }
            }
            @match &list {
                Err(s) => (pages::message(&refusal(lang, s).1, true)),
                Ok(l) if l.exceptions.is_empty() => p.note { (t(lang, "exc-none")) },
                Ok(l) => (table(lang, &l.exceptions, may_decide, me.as_ref().map(|c| c.name.as_str()))),
            }
        },
    )
}

fn table(
    lang: Lang,
    list: &[proto::ExceptionRecord],
    may_decide: bool,
    me: Option<&str>,
) -> Markup {
    html! {
        table id="exceptions" {
            thead { tr {
                th { "#" } th { (t(lang, "exc-case")) } th { (t(lang, "exc-kind")) } th { (t(lang, "exc-rule")) }
                th { (t(lang, "exc-reason")) } th { (t(lang, "exc-asked-by")) } th { (t(lang, "exc-state")) } th {}
            } }
            tbody {
                @for e in list.iter().rev() {
                    tr id=(format!("exception-{}", e.exception_id)) {
                        td { (e.exception_id) }
                        td { a href=(format!("/console/cases/{}", e.case_id)) { (e.case_id) } }
                        td { (e.kind) } td { (e.rule) } td { (e.reason) }
                        td { (e.requested_by) " " @if let Some(at) = e.requested_at.as_ref().and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0)) { (local(lang, at)) } }
                        td.state {
                            (t(lang, &format!("exc-state-{}", e.state)))
                            @if !e.decided_by.is_empty() { " · " (e.decided_by) }
                            @if !e.note.is_empty() { " · " (e.note) }
                        }
                        td {
                            @if may_decide && e.state == "pending" && me != Some(e.requested_by.as_str()) {
                                form method="post" action="/console/exceptions/decide" {
                                    input type="hidden" name="exception_id" value=(e.exception_id);
                                    input name="note" maxlength="500" placeholder=(t(lang, "exc-note"));
                                    " "
                                    button.primary type="submit" name="approve" value="true" id=(format!("approve-{}", e.exception_id)) { (t(lang, "exc-approve")) }
                                    " "
                                    button type="submit" name="approve" value="false" { (t(lang, "exc-refuse")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub async fn exceptions_page(State(api): State<Api>, headers: HeaderMap) -> Response {
    render(&api, lang(&headers), None).await
}

#[derive(serde::Deserialize)]
pub struct AskForm {
    case_id: String,
    kind: String,
    reason: String,
}

pub async fn ask(State(api): State<Api>, headers: HeaderMap, Form(f): Form<AskForm>) -> Response {
    let lang = lang(&headers);
    let outcome = call(
        "/casehub.v1.DispatchService/RequestException",
        api.request_exception(tonic::Request::new(proto::RequestExceptionRequest {
            meta: write_meta(),
            case_id: f.case_id.trim().into(),
            kind: f.kind.clone(),
            reason: f.reason.trim().into(),
        })),
    )
    .await;
    done(
        &api,
        lang,
        outcome.map(|r| {
            t_args(
                lang,
                "exc-asked",
                &[("id", r.exception_id.to_string().into())],
            )
        }),
    )
    .await
}

#[derive(serde::Deserialize)]
pub struct DecideForm {
    exception_id: u64,
    approve: bool,
    #[serde(default)]
    note: String,
}

pub async fn decide(
    State(api): State<Api>,
    headers: HeaderMap,
    Form(f): Form<DecideForm>,
) -> Response {
    let lang = lang(&headers);
    let outcome = call(
        "/casehub.v1.DispatchService/DecideException",
        api.decide_exception(tonic::Request::new(proto::DecideExceptionRequest {
            meta: write_meta(),
            exception_id: f.exception_id,
            approve: f.approve,
            note: f.note.trim().into(),
        })),
    )
    .await;
    let key = if f.approve {
        "exc-approved"
    } else {
        "exc-refused"
    };
    done(
        &api,
        lang,
        outcome.map(|_| t_args(lang, key, &[("id", f.exception_id.to_string().into())])),
    )
    .await
}

async fn done(api: &Api, lang: Lang, outcome: Result<String, Status>) -> Response {
    super::after(lang, outcome, |notice| render(api, lang, notice)).await
}
