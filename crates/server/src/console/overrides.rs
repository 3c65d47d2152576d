//! Overriding a proposal: the dispatcher picks another site, escort or
//! start (the engine re-plans the case under that choice), or another room
//! for a step (checked against every rule as it is chosen), gives a reason,
//! and accepts. Every step is an API call: `ProposePlan` with a
//! restriction, `AcceptPlan` with `validate_only`, then `AcceptPlan` with
//! `override_reason` (kept in the audit).

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use tonic::Status;

use casehub_model::{OfficerId, Qualification, RoomId, RoomKind, TeamId};
use casehub_planning::{EscortMode, PersonPlan, Plan};
use casehub_store::SchedulingState;

use super::i18n::{Lang, t, t_args};
use super::pages::{self, local};
use super::{call, lang, page, refusal, write_meta};
use crate::grpc_api::Api;
use crate::proto;
use crate::proto::dispatch_service_server::DispatchService;

/// The plan of `person`, in whichever case of `plan` it is.
fn person_mut<'p>(plan: &'p mut Plan, person: &str) -> Option<&'p mut PersonPlan> {
    plan.cases
        .iter_mut()
        .flat_map(|c| c.persons.iter_mut())
        .find(|p| p.person.as_str() == person)
}

/// The restriction, as the form sends it.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Choice {
    #[serde(default)]
    case: String,
    #[serde(default)]
    site: String,
    #[serde(default)]
    escort: String,
    /// `YYYY-MM-DDTHH:MM`, the console's time zone (the browser's datetime-local).
    #[serde(default)]
    not_before: String,
}

/// The engine's plan for the case under `choice`.
async fn replan(api: &Api, choice: &Choice) -> Result<proto::ProposePlanReply, Status> {
    let not_before = pages::parse_local("not_before", &choice.not_before)
        .map_err(Status::invalid_argument)?
        .map(|t| prost_types::Timestamp {
            seconds: t.timestamp(),
            nanos: 0,
        });
    let request = proto::ProposePlanRequest {
        case_ids: vec![choice.case.clone()],
        restriction: Some(proto::PlanRestriction {
            site_id: choice.site.clone(),
            escort: choice.escort.clone(),
            not_before,
        }),
        ..Default::default()
    };
    call(
        "/casehub.v1.DispatchService/ProposePlan",
        api.propose_plan(tonic::Request::new(request)),
    )
    .await
}

/// The override page: the choices, the engine's plan under them, a room
/// per step, the reason.
pub async fn override_page(
    State(api): State<Api>,
    headers: HeaderMap,
    Query(choice): Query<Choice>,
) -> Response {
    let lang = lang(&headers);
    if choice.case.trim().is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            page(
                lang,
                "override-title",
                pages::message(&t(lang, "override-no-case"), true),
            ),
        )
            .into_response();
    }
    let state = api.core.view.current();
    match replan(&api, &choice).await {
        Ok(reply) => page(
            lang,
            "override-title",
            form(lang, &state.state, &choice, &reply, &[], "", None),
        ),
        Err(s) => {
            let (code, msg) = refusal(lang, &s);
            (
                code,
                page(
                    lang,
                    "override-title",
                    html! {
                        (pages::message(&msg, true))
                        (form(lang, &state.state, &choice, &proto::ProposePlanReply::default(), &[], "", None))
                    },
                ),
            )
                .into_response()
        }
    }
}

/// The fields of the plan form.
struct Posted {
    choice: Choice,
    plan_json: String,
    versions_json: String,
    reason: String,
    /// The dispatcher's choices: `room/<person>/<step index>` → room id,
    /// `team/<case>` → escort team, `officer/<person>/<index>` → a
    /// questioning officer.
    rooms: Vec<(String, String)>,
}

impl Posted {
    fn of(fields: Vec<(String, String)>) -> Posted {
        let mut p = Posted {
            choice: Choice::default(),
            plan_json: String::new(),
            versions_json: String::new(),
            reason: String::new(),
            rooms: Vec::new(),
        };
        for (k, v) in fields {
            match k.as_str() {
                "case" => p.choice.case = v,
                "site" => p.choice.site = v,
                "escort" => p.choice.escort = v,
                "not_before" => p.choice.not_before = v,
                "plan_json" => p.plan_json = v,
                "versions_json" => p.versions_json = v,
                "reason" => p.reason = v,
                _ if k.starts_with("room/")
                    || k.starts_with("team/")
                    || k.starts_with("officer/") =>
                {
                    p.rooms.push((k, v))
                }
                _ => {}
            }
        }
        p
    }

    /// The engine's plan with the rooms, teams and officers the dispatcher
    /// chose (a team brings its members as the escort officers).
    fn plan(&self, state: &SchedulingState) -> Result<Plan, String> {
        let mut plan: Plan =
            serde_json::from_str(&self.plan_json).map_err(|e| format!("plan_json: {e}"))?;
        for (field, value) in &self.rooms {
            if let Some(case) = field.strip_prefix("team/") {
                let team = TeamId::new(value.clone()).map_err(|e| format!("{field}: {e}"))?;
                let members = state
                    .teams
                    .get(&team)
                    .map(|t| t.value.members.clone())
                    .ok_or_else(|| format!("{field}: no escort team {team}"))?;
                let cp = plan
                    .cases
                    .iter_mut()
                    .find(|c| c.case.as_str() == case)
                    .ok_or_else(|| format!("{field}: no such case in the plan"))?;
                if cp.escort.team.as_ref() != Some(&team) {
                    cp.escort.team = Some(team.clone());
                    if let Some(first) = cp.escort.vehicles.first_mut() {
                        // The first vehicle's team, of an escort of several.
                        first.team = Some(team);
                        first.officers = members;
                        cp.escort.officers = cp
                            .escort
                            .vehicles
                            .iter()
                            .flat_map(|v| v.officers.iter().cloned())
                            .collect();
                    } else {
                        cp.escort.officers = members;
                    }
                }
                continue;
            }
            if let Some(rest) = field.strip_prefix("officer/") {
                let (person, i) = rest
                    .rsplit_once('/')
                    .ok_or_else(|| format!("{field}: not officer/<person>/<index>"))?;
                let i: usize = i
                    .parse()
                    .map_err(|_| format!("{field}: {i}: not an index"))?;
                let officer = OfficerId::new(value.clone()).map_err(|e| format!("{field}: {e}"))?;
                let slot = person_mut(&mut plan, person)
                    .and_then(|p| p.questioning_officers.get_mut(i))
                    .ok_or_else(|| format!("{field}: no such officer in the plan"))?;
                *slot = officer;
                continue;
            }
            let room = value;
            let mut parts = field.splitn(3, '/').skip(1);
            let (Some(person), Some(i)) = (parts.next(), parts.next()) else {
                return Err(format!("{field}: not room/<person>/<step>"));
            };
            let i: usize = i.parse().map_err(|_| format!("{field}: {i}: not a step"))?;
            let room = RoomId::new(room.clone()).map_err(|e| format!("{field}: {e}"))?;
            let booking = person_mut(&mut plan, person)
                .and_then(|p| p.steps.get_mut(i))
                .ok_or_else(|| format!("{field}: no such step in the plan"))?;
            booking.room = room;
        }
        Ok(plan)
    }

    fn request(
        &self,
        plan: &Plan,
        validate_only: bool,
    ) -> Result<proto::AcceptPlanRequest, String> {
        let versions: Vec<(String, String, u64)> =
            serde_json::from_str(&self.versions_json).map_err(|e| format!("versions_json: {e}"))?;
        Ok(proto::AcceptPlanRequest {
            meta: write_meta(),
            plan_json: serde_json::to_string(plan).map_err(|e| format!("plan: {e}"))?,
            versions: versions
                .into_iter()
                .map(|(kind, id, version)| proto::EntityVersion { kind, id, version })
                .collect(),
            override_reason: if validate_only {
                String::new()
            } else {
                self.reason.clone()
            },
            validate_only,
            ..Default::default()
        })
    }
}

async fn accept(
    api: &Api,
    posted: &Posted,
    validate_only: bool,
) -> Result<proto::WriteAck, Result<Status, String>> {
    let plan = posted.plan(&api.core.view.current().state).map_err(Err)?;
    let request = posted.request(&plan, validate_only).map_err(Err)?;
    call(
        "/casehub.v1.DispatchService/AcceptPlan",
        api.accept_plan(tonic::Request::new(request)),
    )
    .await
    .map_err(Ok)
}

fn failure(lang: Lang, e: &Result<Status, String>) -> (StatusCode, String) {
    match e {
        Ok(s) => refusal(lang, s),
        Err(detail) => (
            StatusCode::BAD_REQUEST,
            t_args(lang, "error", &[("detail", detail.clone().into())]),
        ),
    }
}

/// Check the plan with the rooms chosen so far (htmx, at every change).
pub async fn check(
    State(api): State<Api>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let lang = lang(&headers);
    let posted = Posted::of(fields);
    match accept(&api, &posted, true).await {
        Ok(_) => pages::message(&t(lang, "override-checked"), false).into_response(),
        // The fragment replaces the check line; htmx swaps 200s only.
        Err(e) => pages::message(&failure(lang, &e).1, true).into_response(),
    }
}

/// Accept the overridden plan with its reason.
pub async fn submit(
    State(api): State<Api>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let lang = lang(&headers);
    let posted = Posted::of(fields);
    let state = api.core.view.current();
    let again = |notice: Markup| {
        // The same form again, with what the dispatcher chose and wrote.
        let reply = proto::ProposePlanReply {
            plan_json: posted.plan_json.clone(),
            ..Default::default()
        };
        let versions = serde_json::from_str::<Vec<(String, String, u64)>>(&posted.versions_json)
            .unwrap_or_default()
            .into_iter()
            .map(|(kind, id, version)| proto::EntityVersion { kind, id, version })
            .collect();
        let reply = proto::ProposePlanReply { versions, ..reply };
        form(
            lang,
            &state.state,
            &posted.choice,
            &reply,
            &posted.rooms,
            &posted.reason,
            Some(notice),
        )
    };
    if posted.reason.trim().is_empty() {
        let msg = pages::message(&t(lang, "override-reason-missing"), true);
        return (
            StatusCode::BAD_REQUEST,
            page(lang, "override-title", again(msg)),
        )
            .into_response();
    }
    match accept(&api, &posted, false).await {
        Ok(ack) => page(
            lang,
            "override-title",
            html! {
                (pages::message(&t_args(lang, "override-accepted", &[("index", ack.log_index.into())]), false))
                p { a href="/console/proposals" id="next" { (t(lang, "nav-proposals")) } }
            },
        ),
        Err(e) => {
            let (code, msg) = failure(lang, &e);
            (
                code,
                page(lang, "override-title", again(pages::message(&msg, true))),
            )
                .into_response()
        }
    }
}

fn escort_name(lang: Lang, m: EscortMode) -> String {
    match m {
        EscortMode::Team => t(lang, "escort-team"),
        EscortMode::Station => t(lang, "escort-station"),
    }
}

/// The officers posted at `site` who may question, for a questioner's
/// choice.
fn questioners<'a>(state: &'a SchedulingState, site: &str) -> Vec<&'a OfficerId> {
    state
        .officers
        .iter()
        .filter(|(_, o)| {
            matches!(&o.value.post, casehub_model::Post::Site(s) if s.as_str() == site)
                && o.value.can(Qualification::Questioning)
        })
        .map(|(id, _)| id)
        .collect()
}

/// The rooms of `kind` at `site`, for a step's choice.
fn rooms_of<'a>(state: &'a SchedulingState, site: &str, kind: RoomKind) -> Vec<&'a RoomId> {
    state
        .rooms
        .iter()
        .filter(|(_, r)| r.value.site.as_str() == site && r.value.room.kind == kind)
        .map(|(id, _)| id)
        .collect()
}

/// The override form: the choices (the engine re-plans at each change), the
/// plan with a room choice per step (checked at each change), the reason.
fn form(
    lang: Lang,
    state: &SchedulingState,
    choice: &Choice,
    reply: &proto::ProposePlanReply,
    rooms_chosen: &[(String, String)],
    reason: &str,
    notice: Option<Markup>,
) -> Markup {
    let plan: Option<Plan> = serde_json::from_str(&reply.plan_json).ok();
    let versions: Vec<(&str, &str, u64)> = reply
        .versions
        .iter()
        .map(|v| (v.kind.as_str(), v.id.as_str(), v.version))
        .collect();
    let versions_json = serde_json::to_string(&versions).unwrap_or_else(|_| "[]".into());
    let chosen = |field: &str| {
        rooms_chosen
            .iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v.as_str())
    };
    html! {
        div id="override" {
            @if let Some(n) = notice { (n) }
            h3 { (t_args(lang, "override-case", &[("case", choice.case.clone().into())])) }
            form id="restrict" method="get" action="/console/proposals/override"
                hx-get="/console/proposals/override" hx-trigger="change"
                hx-target="#override" hx-select="#override" hx-swap="outerHTML" hx-push-url="true" {
                input type="hidden" name="case" value=(choice.case);
                label { (t(lang, "override-site")) " "
                    select name="site" id="override-site" {
                        option value="" { (t(lang, "override-engine-choice")) }
                        @for (id, s) in &state.sites {
                            option value=(id) selected[choice.site == id.as_str()] {
                                (s.value.name) " (" (id) ")"
                            }
                        }
                    }
                }
                " "
                label { (t(lang, "override-escort")) " "
                    select name="escort" id="override-escort" {
                        option value="" { (t(lang, "override-engine-choice")) }
                        option value="team" selected[choice.escort == "team"] { (t(lang, "escort-team")) }
                        option value="station" selected[choice.escort == "station"] { (t(lang, "escort-station")) }
                    }
                }
                " "
                label { (t(lang, "override-not-before")) " "
                    input type="datetime-local" name="not_before" id="override-not-before" value=(choice.not_before);
                }
            }
            @for b in &reply.blocked {
                (pages::message(&t_args(lang, "proposal-blocked", &[
                    ("case", b.case_id.clone().into()),
                    ("rule", b.rule.clone().into()),
                    ("reason", b.reason.clone().into()),
                ]), true))
            }
            @if let Some(plan) = plan.as_ref().filter(|p| !p.cases.is_empty()) {
                p { (t(lang, "override-replan")) }
                form id="override-form" method="post" action="/console/proposals/override" {
                    input type="hidden" name="case" value=(choice.case);
                    input type="hidden" name="site" value=(choice.site);
                    input type="hidden" name="escort" value=(choice.escort);
                    input type="hidden" name="not_before" value=(choice.not_before);
                    input type="hidden" name="plan_json" value=(reply.plan_json);
                    input type="hidden" name="versions_json" value=(versions_json);
                    @for c in &plan.cases {
                        p.escort {
                            strong { (t(lang, "override-site")) ": " }
                            (state.sites.get(&c.site).map_or(String::new(), |s| s.value.name.clone())) " (" (c.site) ") · "
                            (t_args(lang, "override-escort-line", &[
                                ("mode", escort_name(lang, c.escort.mode).into()),
                                ("team", c.escort.teams().iter().map(|t| format!(" {t}")).collect::<String>().into()),
                                ("depart", local(lang, c.escort.depart).into()),
                                ("arrive", local(lang, c.escort.arrive).into()),
                                ("officers", c.escort.officers.iter().map(|o| o.to_string()).collect::<Vec<_>>().join(lang.list_separator()).into()),
                            ]))
                        }
                        @if let Some(team) = &c.escort.team {
                            @let field = format!("team/{}", c.case);
                            @let current = chosen(&field).unwrap_or(team.as_str()).to_string();
                            @let team_site = state.teams.get(team).map(|t| t.value.site.clone());
                            p {
                                label { (t(lang, "override-team")) " "
                                    select name=(field) id="override-team"
                                        hx-post="/console/proposals/override/check" hx-trigger="change"
                                        hx-target="#check" hx-include="#override-form" {
                                        @for (id, tm) in state.teams.iter().filter(|(_, tm)| Some(&tm.value.site) == team_site.as_ref()) {
                                            option value=(id) selected[id.as_str() == current] {
                                                (id) " (" (tm.value.members.len()) ")"
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        table.steps {
                            thead { tr {
                                th { (t(lang, "col-person")) } th { (t(lang, "col-step")) }
                                th { (t(lang, "col-time")) } th { (t(lang, "col-room")) }
                            } }
                            tbody {
                                @for p in &c.persons {
                                    @for (i, s) in p.steps.iter().enumerate() {
                                        @let field = format!("room/{}/{}", p.person, i);
                                        @let current = chosen(&field).unwrap_or(s.room.as_str()).to_string();
                                        @let kind = state.rooms.get(&s.room).map(|r| r.value.room.kind);
                                        tr {
                                            td { (p.person) }
                                            td { (t(lang, &format!("step-{}", s.step.as_str()))) }
                                            td { (local(lang, s.start)) " – " (local(lang, s.end)) }
                                            td {
                                                select name=(field)
                                                    hx-post="/console/proposals/override/check" hx-trigger="change"
                                                    hx-target="#check" hx-include="#override-form" {
                                                    @let options = kind.map(|k| rooms_of(state, c.site.as_str(), k)).unwrap_or_default();
                                                    @if !options.iter().any(|r| r.as_str() == current) {
                                                        option value=(current) selected { (current) }
                                                    }
                                                    @for r in options {
                                                        option value=(r) selected[r.as_str() == current] { (r) }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                    tr.questioners { td colspan="4" {
                                        (t(lang, "override-questioners-label")) " "
                                        @let candidates = questioners(state, c.site.as_str());
                                        @for (i, o) in p.questioning_officers.iter().enumerate() {
                                            @let field = format!("officer/{}/{}", p.person, i);
                                            @let current = chosen(&field).unwrap_or(o.as_str()).to_string();
                                            select name=(field) class="questioner"
                                                hx-post="/console/proposals/override/check" hx-trigger="change"
                                                hx-target="#check" hx-include="#override-form" {
                                                @if !candidates.iter().any(|x| x.as_str() == current) {
                                                    option value=(current) selected { (current) }
                                                }
                                                @for x in &candidates {
                                                    option value=(x) selected[x.as_str() == current] { (x) }
                                                }
                                            }
                                            " "
                                        }
                                    } }
                                }
                            }
                        }
                    }
                    div id="check" {
                        @if rooms_chosen.is_empty() { (pages::message(&t(lang, "override-valid"), false)) }
                    }
                    label for="reason" { (t(lang, "override-reason")) }
                    textarea id="reason" name="reason" required maxlength="500" rows="3" { (reason) }
                    p { button.primary type="submit" id="override-submit" { (t(lang, "override-submit")) } }
                }
            }
        }
    }
}
