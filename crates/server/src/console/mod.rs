//! The browser console: server-rendered pages (maud) with live partial
//! updates (htmx, and server-sent events), served on the client listener
//! under `/console/`, over the node's TLS.
//!
//! Who: the authorization layer ([`crate::auth::AuthLayer`]) authenticates
//! every console request by its session cookie (a login token from
//! `AuthService.Login`, the same as the API's) and runs the handler with
//! the caller in scope; a request without a valid session is sent to the
//! login page. May they: every page and action calls the API's own
//! service methods in-process, each after [`crate::auth::allowed`] checks
//! that RPC's entry in the one table ([`crate::auth::RPC_ACCESS`]). There
//! is no other path to the store.
//!
//! Text: one message catalogue per language ([`i18n`]), zh-CN by default,
//! English one click away (the `lang` cookie). Times: the region's UTC
//! offset (`utc_offset_min`; Asia/Shanghai, UTC+8, by default), 24-hour
//! clock.

pub mod admin;
pub mod availability;
pub mod case;
pub mod exceptions;
pub mod i18n;
pub mod map;
pub mod overrides;
pub mod pages;
pub mod resources;
pub mod supervision;

use std::time::Duration;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::Markup;
use serde::Deserialize;
use tonic::{Code, Status};

use crate::auth::{Caller, caller};
use crate::grpc_api::Api;
use crate::proto;
use crate::proto::alert_service_server::AlertService;
use crate::proto::auth_service_server::AuthService;
use crate::proto::dispatch_service_server::DispatchService;
use i18n::{Lang, t, t_args};

/// The session cookie: a login token.
pub const SESSION_COOKIE: &str = "casehub_session";
/// The language cookie: `zh-CN` or `en`.
pub const LANG_COOKIE: &str = "lang";

/// The console's paths that need no session: the login page, the
/// language switch and the static files.
pub fn is_public(path: &str) -> bool {
    matches!(path, "/console/login" | "/console/lang") || path.starts_with("/console/static/")
}

/// The value of cookie `name` in `headers`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The console's routes, to merge into the client listener's.
pub fn router(api: Api) -> axum::Router {
    // Times in the region's zone: the replicated region's, which a new
    // region version may change, looked up at each request.
    let zone_api = api.clone();
    let zone = axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let api = zone_api.clone();
            async move {
                pages::set_zone(api.ctx.utc_offset_min(api.core.read_local().state()));
                next.run(request).await
            }
        },
    );
    axum::Router::new()
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route("/console/", get(board_page))
        .route("/console/board", get(board_fragment))
        .route("/console/proposals", get(proposals_page))
        .route("/console/proposals/accept", post(accept))
        .route(
            "/console/proposals/override",
            get(overrides::override_page).post(overrides::submit),
        )
        .route("/console/proposals/override/check", post(overrides::check))
        .route("/console/alerts", get(alerts_page))
        .route("/console/alerts/list", get(alerts_fragment))
        .route("/console/alerts/ack", post(acknowledge))
        .route("/console/admin", get(admin::admin_page))
        .route("/console/admin/users", post(admin::save_user))
        .route("/console/admin/users/remove", post(admin::remove_user))
        .route("/console/admin/absence", post(resources::add_absence))
        .route(
            "/console/admin/absence/remove",
            post(resources::remove_absence),
        )
        .route("/console/admin/active", post(resources::set_active))
        .route("/console/exceptions", get(exceptions::exceptions_page))
        .route("/console/exceptions/request", post(exceptions::ask))
        .route("/console/exceptions/decide", post(exceptions::decide))
        .route(
            "/console/availability",
            get(availability::availability_page),
        )
        .route("/console/availability/chart", get(availability::chart))
        .route("/console/availability/slot", get(availability::slot))
        .route("/console/map", get(map::map_page))
        .route("/console/map/view", get(map::view))
        .route("/console/cases/{id}", get(case::case_page))
        .route("/console/cases/{id}/detail", get(case::detail))
        .route("/console/cases/{id}/step", post(case::step))
        .route("/console/cases/{id}/delay", post(case::delay))
        .route("/console/cases/{id}/exit", post(case::exit))
        .route("/console/supervision", get(supervision::supervision_page))
        .route("/console/supervision/audit.csv", get(supervision::export))
        .route("/console/events", get(events))
        .route("/console/login", get(login_page).post(login))
        .route("/console/logout", post(logout))
        .route("/console/lang", post(switch_lang))
        .route("/console/static/{file}", get(static_file))
        .layer(zone)
        .with_state(api)
}

fn lang(headers: &HeaderMap) -> Lang {
    Lang::from_cookie(cookie(headers, LANG_COOKIE))
}

/// The caller the layer put in scope (every non-public console path has one).
fn me() -> Result<Caller, Status> {
    caller().ok_or_else(|| Status::unauthenticated("no session"))
}

/// The write identity of a console action: the user's console as the
/// client, a fresh request id.
fn write_meta() -> Option<proto::WriteMeta> {
    let user = caller().map(|c| c.name).unwrap_or_default();
    Some(proto::WriteMeta {
        client_id: format!("console {user}"),
        request_id: chrono::Utc::now().timestamp_micros().max(1) as u64,
        ..Default::default()
    })
}

/// Call the API's `rpc` (its full path, for the table) as the caller.
async fn call<T>(
    path: &str,
    f: impl std::future::Future<Output = Result<tonic::Response<T>, Status>>,
) -> Result<T, Status> {
    let c = me()?;
    crate::auth::allowed(&c, path)?;
    f.await.map(tonic::Response::into_inner)
}

/// The page after an action: `render` with the outcome above it, and a
/// refusal's HTTP code.
async fn after<F, Fut>(lang: Lang, outcome: Result<String, Status>, render: F) -> Response
where
    F: FnOnce(Option<maud::Markup>) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    match outcome {
        Ok(text) => render(Some(pages::message(&text, false))).await,
        Err(s) => {
            let (code, msg) = refusal(lang, &s);
            let mut r = render(Some(pages::message(&msg, true))).await;
            if code != StatusCode::OK {
                *r.status_mut() = code;
            }
            r
        }
    }
}

/// A status as a page's message and HTTP code.
fn refusal(lang: Lang, s: &Status) -> (StatusCode, String) {
    let detail = s.message().to_string();
    match s.code() {
        Code::PermissionDenied => (
            StatusCode::FORBIDDEN,
            t_args(lang, "forbidden", &[("detail", detail.into())]),
        ),
        Code::Unavailable | Code::DeadlineExceeded => (
            StatusCode::SERVICE_UNAVAILABLE,
            t_args(lang, "cluster-lost", &[("detail", detail.into())]),
        ),
        Code::Unauthenticated => (StatusCode::UNAUTHORIZED, t(lang, "login-expired")),
        _ => (
            StatusCode::BAD_REQUEST,
            t_args(lang, "error", &[("detail", detail.into())]),
        ),
    }
}

fn page(lang: Lang, title_key: &str, body: Markup) -> Response {
    let who = caller();
    pages::layout(lang, &t(lang, title_key), who.as_ref(), body).into_response()
}

async fn board_page(headers: HeaderMap) -> Response {
    let lang = lang(&headers);
    page(lang, "board-title", pages::live("/console/board"))
}

async fn board_fragment(State(api): State<Api>, headers: HeaderMap) -> Response {
    let lang = lang(&headers);
    let listed = call(
        "/casehub.v1.DispatchService/ListCases",
        api.list_cases(tonic::Request::new(proto::ListCasesRequest::default())),
    )
    .await;
    match listed {
        Ok(list) => {
            let state = api.core.view.current();
            let names = state
                .state
                .stations
                .iter()
                .map(|(id, s)| (id.to_string(), s.value.name.clone()))
                .collect();
            pages::board(
                lang,
                &list.cases,
                &state.state.policy,
                &names,
                chrono::Utc::now(),
            )
            .into_response()
        }
        Err(s) => {
            let (code, msg) = refusal(lang, &s);
            (code, pages::message(&msg, true)).into_response()
        }
    }
}

async fn proposals_page(State(api): State<Api>, headers: HeaderMap) -> Response {
    let lang = lang(&headers);
    let reply = call(
        "/casehub.v1.DispatchService/ProposePlan",
        api.propose_plan(tonic::Request::new(proto::ProposePlanRequest::default())),
    )
    .await;
    match reply {
        Ok(p) => page(lang, "proposals-title", pages::proposal(lang, &p, None)),
        Err(s) => {
            let (code, msg) = refusal(lang, &s);
            (
                code,
                page(lang, "proposals-title", pages::message(&msg, true)),
            )
                .into_response()
        }
    }
}

#[derive(Deserialize)]
struct AcceptForm {
    plan_json: String,
    versions_json: String,
}

async fn accept(State(api): State<Api>, headers: HeaderMap, Form(f): Form<AcceptForm>) -> Response {
    let lang = lang(&headers);
    let versions: Vec<(String, String, u64)> = match serde_json::from_str(&f.versions_json) {
        Ok(v) => v,
        Err(e) => {
            let msg = t_args(
                lang,
                "error",
                &[("detail", format!("versions: {e}").into())],
            );
            return (
                StatusCode::BAD_REQUEST,
                page(lang, "proposals-title", pages::message(&msg, true)),
            )
                .into_response();
        }
    };
    let request = proto::AcceptPlanRequest {
        meta: write_meta(),
        plan_json: f.plan_json,
        versions: versions
            .into_iter()
            .map(|(kind, id, version)| proto::EntityVersion { kind, id, version })
            .collect(),
        case_ids: Vec::new(),
        ..Default::default()
    };
    let accepted = call(
        "/casehub.v1.DispatchService/AcceptPlan",
        api.accept_plan(tonic::Request::new(request)),
    )
    .await;
    let (code, notice) = match accepted {
        Ok(ack) => (
            StatusCode::OK,
            pages::message(
                &t_args(
                    lang,
                    "proposal-accepted",
                    &[("index", ack.log_index.into())],
                ),
                false,
            ),
        ),
        Err(s) => {
            let (code, msg) = refusal(lang, &s);
            (code, pages::message(&msg, true))
        }
    };
    // The next proposal (the cases still waiting), under the notice.
    let next = match me()
        .and_then(|c| crate::auth::allowed(&c, "/casehub.v1.DispatchService/ProposePlan"))
    {
        Ok(()) => api
            .propose_plan(tonic::Request::new(proto::ProposePlanRequest::default()))
            .await
            .ok()
            .map(tonic::Response::into_inner),
        Err(_) => None,
    };
    let body = match next {
        Some(p) => pages::proposal(lang, &p, Some(notice)),
        None => notice,
    };
    (code, page(lang, "proposals-title", body)).into_response()
}

async fn alerts_page(headers: HeaderMap) -> Response {
    let lang = lang(&headers);
    page(
        lang,
        "alerts-title",
        maud::html! { div id="alert-msg" {} (pages::live("/console/alerts/list")) },
    )
}

#[derive(Deserialize)]
struct AckForm {
    key: String,
}

/// Acknowledge an alert: a notice for `#alert-msg`; the list follows live.
async fn acknowledge(
    State(api): State<Api>,
    headers: HeaderMap,
    Form(f): Form<AckForm>,
) -> Response {
    let lang = lang(&headers);
    let acked = call(
        "/casehub.v1.AlertService/AcknowledgeAlert",
        api.acknowledge_alert(tonic::Request::new(proto::AcknowledgeAlertRequest {
            meta: write_meta(),
            key: f.key.clone(),
        })),
    )
    .await;
    match acked {
        Ok(_) => pages::message(&t(lang, "alert-acked"), false).into_response(),
        Err(s) => pages::message(&refusal(lang, &s).1, true).into_response(),
    }
}

async fn alerts_fragment(State(api): State<Api>, headers: HeaderMap) -> Response {
    let lang = lang(&headers);
    let listed = call(
        "/casehub.v1.AlertService/ListAlerts",
        api.list_alerts(tonic::Request::new(proto::ListAlertsRequest {
            history: true,
            limit: 50,
            ..Default::default()
        })),
    )
    .await;
    let may_ack = caller().is_some_and(|c| c.may(crate::auth::Permission::AcknowledgeAlerts));
    match listed {
        Ok(list) => pages::alerts(lang, &list.alerts, may_ack).into_response(),
        Err(s) => {
            let (code, msg) = refusal(lang, &s);
            (code, pages::message(&msg, true)).into_response()
        }
    }
}

/// `changed` events, one per applied change (the pages re-read their
/// fragments on it). Counted against the node's and the user's stream
/// limits.
async fn events(State(api): State<Api>) -> Response {
    let permit = match api.stream_permit() {
        Ok(p) => p,
        Err(s) => return (StatusCode::TOO_MANY_REQUESTS, s.message().to_string()).into_response(),
    };
    let start = api.core.view.current().index;
    let stream =
        futures_util::stream::unfold((api, start, permit), |(api, seen, permit)| async move {
            loop {
                if !api.next_change(seen, Duration::from_secs(15)).await {
                    // The node is stopping: end the stream.
                    return None;
                }
                let now = api.core.view.current().index;
                if now != seen {
                    let data = now.unwrap_or(0).to_string();
                    let event = Event::default().event("changed").data(data);
                    return Some((Ok::<_, std::convert::Infallible>(event), (api, now, permit)));
                }
            }
        });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
        .into_response()
}

async fn login_page(headers: HeaderMap) -> Response {
    pages::login(lang(&headers), None).into_response()
}

#[derive(Deserialize)]
struct LoginForm {
    user: String,
    password: String,
}

async fn login(State(api): State<Api>, headers: HeaderMap, Form(f): Form<LoginForm>) -> Response {
    let lang = lang(&headers);
    let reply = api
        .login(tonic::Request::new(proto::LoginRequest {
            user: f.user,
            password: f.password,
        }))
        .await;
    match reply {
        Ok(r) => {
            let r = r.into_inner();
            let cookie = format!(
                "{SESSION_COOKIE}={}; Path=/console; HttpOnly; Secure; SameSite=Strict",
                r.token
            );
            ([(header::SET_COOKIE, cookie)], Redirect::to("/console/")).into_response()
        }
        Err(s) if s.code() == Code::Unauthenticated => (
            StatusCode::UNAUTHORIZED,
            pages::login(lang, Some(&t(lang, "login-failed"))),
        )
            .into_response(),
        Err(s) => {
            let (code, msg) = refusal(lang, &s);
            (code, pages::login(lang, Some(&msg))).into_response()
        }
    }
}

async fn logout() -> Response {
    let cookie =
        format!("{SESSION_COOKIE}=; Path=/console; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
    (
        [(header::SET_COOKIE, cookie)],
        Redirect::to("/console/login"),
    )
        .into_response()
}

#[derive(Deserialize)]
struct LangForm {
    to: String,
    back: Option<String>,
}

async fn switch_lang(Form(f): Form<LangForm>) -> Response {
    let to = Lang::from_cookie(Some(f.to.as_str()));
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/console; Secure; SameSite=Strict; Max-Age=31536000",
        to.tag()
    );
    // Back to a console page only.
    let back = f
        .back
        .filter(|b| b.starts_with("/console/") && !b.contains("//"))
        .unwrap_or_else(|| "/console/".into());
    ([(header::SET_COOKIE, cookie)], Redirect::to(&back)).into_response()
}

const HTMX: &str = include_str!("static/htmx.min.js");
const JS: &str = include_str!("static/console.js");
const CSS: &str = include_str!("static/console.css");

async fn static_file(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "htmx.min.js" => (HTMX, "text/javascript; charset=utf-8"),
        "console.js" => (JS, "text/javascript; charset=utf-8"),
        "console.css" => (CSS, "text/css; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        body,
    )
        .into_response()
}
