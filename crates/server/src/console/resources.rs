//! Resources that change, on the admin page: an officer or an escort team
//! away over a window (leave, sickness, training, court, non-case duty,
//! maintenance), and rooms, officers and teams taken out of service and
//! back. `AddAbsence`, `RemoveAbsence`, `SetActive`.

use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{Markup, html};

use casehub_store::SchedulingState;
use casehub_store::absence::AbsenceKind;

use super::i18n::{Lang, t, t_args};
use super::pages::{local, parse_local};
use super::{call, lang, write_meta};
use crate::grpc_api::Api;
use crate::proto;
use crate::proto::admin_service_server::AdminService;

const KINDS: [&str; 5] = ["room", "officer", "team", "site", "station"];

/// The section: the forms, the absences standing or to come, and what is
/// out of service.
pub fn section(lang: Lang, state: &SchedulingState) -> Markup {
    let mut away = Vec::new();
    let mut inactive = Vec::new();
    for (id, o) in &state.officers {
        for a in &o.absences {
            away.push(("officer", id.to_string(), a.clone()));
        }
        if let Some(t) = o.inactive_since {
            inactive.push(("officer", id.to_string(), t));
        }
    }
    for (id, e) in &state.teams {
        for a in &e.absences {
            away.push(("team", id.to_string(), a.clone()));
        }
        if let Some(t) = e.inactive_since {
            inactive.push(("team", id.to_string(), t));
        }
    }
    for (id, r) in &state.rooms {
        for a in &r.absences {
            away.push(("room", id.to_string(), a.clone()));
        }
        if let Some(t) = r.inactive_since {
            inactive.push(("room", id.to_string(), t));
        }
    }
    for (id, e) in &state.sites {
        if let Some(t) = e.inactive_since {
            inactive.push(("site", id.to_string(), t));
        }
    }
    for (id, e) in &state.stations {
        if let Some(t) = e.inactive_since {
            inactive.push(("station", id.to_string(), t));
        }
    }
    html! {
        h3 { (t(lang, "res-title")) }
        form.resource id="absence-form" method="post" action="/console/admin/absence" {
            h4 { (t(lang, "res-away")) }
            label { (t(lang, "res-kind")) " "
                select name="resource_kind" id="absence-resource-kind" {
                    @for k in ["officer", "team", "room"] { option value=(k) { (t(lang, &format!("res-{k}"))) } }
                }
            }
            " "
            label { (t(lang, "res-id")) " " input name="resource_id" id="absence-resource-id" required maxlength="64"; }
            " "
            label { (t(lang, "res-why")) " "
                select name="kind" id="absence-kind" {
                    @for k in AbsenceKind::ALL { option value=(k.as_str()) { (t(lang, &format!("absence-{}", k.as_str()))) } }
                }
            }
            " "
            label { (t(lang, "res-from")) " " input type="datetime-local" name="from" id="absence-from" required; }
            " "
            label { (t(lang, "res-to")) " " input type="datetime-local" name="to" id="absence-to" required; }
            " "
            label { (t(lang, "res-note")) " " input name="note" maxlength="200"; }
            " "
            button.primary type="submit" id="absence-save" { (t(lang, "res-save")) }
        }
        form.resource id="service-form" method="post" action="/console/admin/active" {
            h4 { (t(lang, "res-service")) }
            label { (t(lang, "res-kind")) " "
                select name="resource_kind" id="service-resource-kind" {
                    @for k in KINDS { option value=(k) { (t(lang, &format!("res-{k}"))) } }
                }
            }
            " "
            label { (t(lang, "res-id")) " " input name="resource_id" id="service-resource-id" required maxlength="64"; }
            " "
            select name="active" id="service-active" {
                option value="false" { (t(lang, "res-deactivate")) }
                option value="true" { (t(lang, "res-activate")) }
            }
            " "
            button.primary type="submit" id="service-save" { (t(lang, "res-save")) }
        }
        h4 { (t(lang, "res-away-list")) }
        @if away.is_empty() {
            p.note { (t(lang, "res-none")) }
        } @else {
            table id="absences" {
                thead { tr {
                    th { (t(lang, "res-kind")) } th { (t(lang, "res-id")) } th { (t(lang, "res-why")) }
                    th { (t(lang, "res-from")) } th { (t(lang, "res-to")) } th { (t(lang, "res-note")) } th {}
                } }
                tbody {
                    @for (kind, id, a) in &away {
                        tr {
                            td { (t(lang, &format!("res-{kind}"))) } td { (id) }
                            td { (t(lang, &format!("absence-{}", a.kind.as_str()))) }
                            td { (local(lang, a.start)) } td { (local(lang, a.end)) } td { (a.note) }
                            td { form method="post" action="/console/admin/absence/remove" {
                                input type="hidden" name="resource_kind" value=(kind);
                                input type="hidden" name="resource_id" value=(id);
                                input type="hidden" name="start" value=(a.start.to_rfc3339());
                                button type="submit" { (t(lang, "res-remove")) }
                            } }
                        }
                    }
                }
            }
        }
        h4 { (t(lang, "res-inactive-list")) }
        @if inactive.is_empty() {
            p.note { (t(lang, "res-none")) }
        } @else {
            table id="inactive" {
                thead { tr { th { (t(lang, "res-kind")) } th { (t(lang, "res-id")) } th { (t(lang, "res-since")) } th {} } }
                tbody {
                    @for (kind, id, since) in &inactive {
                        tr {
                            td { (t(lang, &format!("res-{kind}"))) } td { (id) } td { (local(lang, *since)) }
                            td { form method="post" action="/console/admin/active" {
                                input type="hidden" name="resource_kind" value=(kind);
                                input type="hidden" name="resource_id" value=(id);
                                input type="hidden" name="active" value="true";
                                button type="submit" { (t(lang, "res-activate")) }
                            } }
                        }
                    }
                }
            }
        }
    }
}

#[derive(serde::Deserialize)]
pub struct AbsenceForm {
    resource_kind: String,
    resource_id: String,
    kind: String,
    from: String,
    to: String,
    #[serde(default)]
    note: String,
}

fn resource(kind: &str, id: &str) -> Option<proto::ResourceId> {
    Some(proto::ResourceId {
        kind: kind.into(),
        id: id.trim().into(),
    })
}

fn at(field: &str, v: &str) -> Result<Option<prost_types::Timestamp>, tonic::Status> {
    match parse_local(field, v) {
        Ok(Some(t)) => Ok(Some(crate::grpc_api::ts(t))),
        Ok(None) => Err(tonic::Status::invalid_argument(format!("{field}: missing"))),
        Err(e) => Err(tonic::Status::invalid_argument(e)),
    }
}

/// An officer or team away.
pub async fn add_absence(
    State(api): State<Api>,
    headers: HeaderMap,
    Form(f): Form<AbsenceForm>,
) -> Response {
    let lang = lang(&headers);
    let outcome = async {
        let request = proto::AddAbsenceRequest {
            meta: write_meta(),
            resource: resource(&f.resource_kind, &f.resource_id),
            kind: f.kind.clone(),
            start: at("from", &f.from)?,
            end: at("to", &f.to)?,
            note: f.note.clone(),
        };
        call(
            "/casehub.v1.AdminService/AddAbsence",
            api.add_absence(tonic::Request::new(request)),
        )
        .await
    }
    .await;
    let id = f.resource_id.trim().to_string();
    super::admin::done(
        &api,
        lang,
        outcome.map(|_| t_args(lang, "res-away-saved", &[("id", id.into())])),
    )
    .await
}

#[derive(serde::Deserialize)]
pub struct RemoveAbsenceForm {
    resource_kind: String,
    resource_id: String,
    start: String,
}

/// An absence dropped.
pub async fn remove_absence(
    State(api): State<Api>,
    headers: HeaderMap,
    Form(f): Form<RemoveAbsenceForm>,
) -> Response {
    let lang = lang(&headers);
    let outcome = async {
        let start = chrono::DateTime::parse_from_rfc3339(&f.start)
            .map_err(|e| tonic::Status::invalid_argument(format!("start: {}: {e}", f.start)))?;
        call(
            "/casehub.v1.AdminService/RemoveAbsence",
            api.remove_absence(tonic::Request::new(proto::RemoveAbsenceRequest {
                meta: write_meta(),
                resource: resource(&f.resource_kind, &f.resource_id),
                start: Some(crate::grpc_api::ts(start.with_timezone(&chrono::Utc))),
            })),
        )
        .await
    }
    .await;
    let id = f.resource_id.trim().to_string();
    super::admin::done(
        &api,
        lang,
        outcome.map(|_| t_args(lang, "res-away-removed", &[("id", id.into())])),
    )
    .await
}

#[derive(serde::Deserialize)]
pub struct ActiveForm {
    resource_kind: String,
    resource_id: String,
    active: bool,
}

/// Out of service, or back.
pub async fn set_active(
    State(api): State<Api>,
    headers: HeaderMap,
    Form(f): Form<ActiveForm>,
) -> Response {
    let lang = lang(&headers);
    let outcome = call(
        "/casehub.v1.AdminService/SetActive",
        api.set_active(tonic::Request::new(proto::SetActiveRequest {
            meta: write_meta(),
            resource: resource(&f.resource_kind, &f.resource_id),
            active: f.active,
        })),
    )
    .await;
    let id = f.resource_id.trim().to_string();
    let key = if f.active {
        "res-activated"
    } else {
        "res-deactivated"
    };
    super::admin::done(
        &api,
        lang,
        outcome.map(|_| t_args(lang, key, &[("id", id.into())])),
    )
    .await
}
