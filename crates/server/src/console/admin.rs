//! Admin: the cluster's members and how far each has replicated (every
//! role that may read the cluster), and the users with their roles and
//! sites (admins: list, add or change, remove). `ClusterStatus`,
//! `ListUsers`, `UpsertUser`, `RemoveUser`.

use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use tonic::Status;

use super::i18n::{Lang, t, t_args};
use super::pages::{self, local};
use super::{call, lang, page, refusal, write_meta};
use crate::auth::{Permission, caller};
use crate::grpc_api::Api;
use crate::proto;
use crate::proto::admin_service_server::AdminService;
use crate::proto::user_service_server::UserService;

const ROLES: [&str; 5] = ["dispatcher", "site", "planner", "supervisor", "admin"];

/// The admin page, with a notice from an action above it.
async fn render(api: &Api, lang: Lang, notice: Option<Markup>) -> Response {
    let cluster = call(
        "/casehub.v1.AdminService/ClusterStatus",
        api.cluster_status(tonic::Request::new(proto::ClusterStatusRequest {})),
    )
    .await;
    let may_users = caller().is_some_and(|c| c.may(Permission::ManageUsers));
    let may_region = caller().is_some_and(|c| c.may(Permission::ManageRegion));
    let users = if may_users {
        Some(
            call(
                "/casehub.v1.UserService/ListUsers",
                api.list_users(tonic::Request::new(proto::ListUsersRequest {})),
            )
            .await,
        )
    } else {
        None
    };
    let sites: Vec<String> = api
        .core
        .view
        .current()
        .state
        .sites
        .keys()
        .map(|s| s.to_string())
        .collect();
    page(
        lang,
        "admin-title",
        html! {
            @if let Some(n) = notice { (n) }
            h3 { (t(lang, "admin-cluster")) }
            @match &cluster {
                Ok(c) => (members(lang, c)),
                Err(s) => (pages::message(&refusal(lang, s).1, true)),
            }
            @if let Some(users) = &users {
                h3 { (t(lang, "admin-users")) }
                @match users {
                    Ok(u) => (user_table(lang, &u.users)),
                    Err(s) => (pages::message(&refusal(lang, s).1, true)),
                }
                h4 { (t(lang, "admin-user-form")) }
                (user_form(lang, &sites))
            }
            @if may_region {
                (super::resources::section(lang, &api.core.view.current().state))
                p.note { (t(lang, "admin-resources-note")) }
            }
        },
    )
}

pub async fn admin_page(State(api): State<Api>, headers: HeaderMap) -> Response {
    render(&api, lang(&headers), None).await
}

fn members(lang: Lang, c: &proto::ClusterStatusReply) -> Markup {
    let leader_last = c
        .members
        .iter()
        .find(|m| m.node_id == c.leader_id)
        .map(|m| m.matched_index)
        .unwrap_or(0);
    html! {
        p id="cluster-summary" {
            (t_args(lang, "admin-cluster-line", &[
                ("node", c.node_id.into()),
                ("leader", if c.leader_id == 0 { t(lang, "admin-no-leader") } else { c.leader_id.to_string() }.into()),
                ("term", c.term.into()),
                ("applied", c.applied_index.into()),
            ]))
        }
        @if c.leader_id == 0 {
            (pages::message(&t(lang, "admin-no-leader-warning"), true))
        }
        table id="members" {
            thead { tr {
                th { (t(lang, "admin-node")) } th { (t(lang, "admin-addr")) }
                th { (t(lang, "admin-kind")) } th { (t(lang, "admin-matched")) }
            } }
            tbody {
                @for m in &c.members {
                    tr data-node=(m.node_id) {
                        td {
                            (m.node_id)
                            @if m.node_id == c.leader_id { " " strong { (t(lang, "admin-leader")) } }
                            @if m.node_id == c.node_id { " " small { (t(lang, "admin-this-node")) } }
                        }
                        td { (m.addr) }
                        td { (t(lang, if m.voter { "admin-voter" } else { "admin-learner" })) }
                        td {
                            @if m.matched_index == 0 {
                                (t(lang, "admin-matched-unknown"))
                            } @else {
                                (m.matched_index)
                                @if leader_last > m.matched_index {
                                    " " span.bad { (t_args(lang, "admin-behind", &[("n", (leader_last - m.matched_index).into())])) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn user_table(lang: Lang, users: &[proto::UserRecord]) -> Markup {
    html! {
        table id="users" {
            thead { tr {
                th { (t(lang, "admin-user")) } th { (t(lang, "admin-roles")) }
                th { (t(lang, "admin-sites")) } th { (t(lang, "admin-state")) } th {}
            } }
            tbody {
                @for u in users {
                    tr data-user=(u.name) {
                        td { (u.name) }
                        td { (u.roles.iter().map(|r| t(lang, &format!("role-{r}"))).collect::<Vec<_>>().join(lang.list_separator())) }
                        td { @if u.sites.is_empty() { (t(lang, "admin-all-sites")) } @else { (u.sites.join(lang.list_separator())) } }
                        td {
                            @if u.disabled { span.bad { (t(lang, "admin-disabled")) } }
                            @else if let Some(l) = u.locked_until.as_ref().and_then(|l| DateTime::from_timestamp(l.seconds, 0)).filter(|l| *l > Utc::now()) {
                                span.bad { (t_args(lang, "admin-locked", &[("until", local(lang, l).into())])) }
                            }
                            @else { (t(lang, "admin-active")) }
                            @if !u.has_password { " · " (t(lang, "admin-no-password")) }
                        }
                        td {
                            form method="post" action="/console/admin/users/remove" {
                                input type="hidden" name="name" value=(u.name);
                                button type="submit" { (t(lang, "admin-remove")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn user_form(lang: Lang, sites: &[String]) -> Markup {
    html! {
        form.user id="user-form" method="post" action="/console/admin/users" {
            label { (t(lang, "admin-user")) " " input name="name" id="new-user" required maxlength="64"; }
            fieldset {
                legend { (t(lang, "admin-roles")) }
                @for r in ROLES {
                    label { input type="checkbox" name="role" value=(r) id=(format!("role-{r}")); " " (t(lang, &format!("role-{r}"))) }
                    " "
                }
            }
            fieldset {
                legend { (t(lang, "admin-sites-pick")) }
                @for s in sites {
                    label { input type="checkbox" name="site" value=(s); " " (s) }
                    " "
                }
            }
            label { (t(lang, "admin-password")) " " input type="password" name="password" id="new-password" autocomplete="new-password"; }
            " "
            label { input type="checkbox" name="disabled"; " " (t(lang, "admin-disabled")) }
            p { button.primary type="submit" id="user-save" { (t(lang, "admin-save")) } }
        }
    }
}

/// Add or change a user.
pub async fn save_user(
    State(api): State<Api>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let lang = lang(&headers);
    let mut user = proto::UserRecord::default();
    let mut password = String::new();
    for (k, v) in fields {
        match k.as_str() {
            "name" => user.name = v.trim().to_string(),
            "role" => user.roles.push(v),
            "site" => user.sites.push(v),
            "password" => password = v,
            "disabled" => user.disabled = true,
            _ => {}
        }
    }
    let name = user.name.clone();
    let outcome = call(
        "/casehub.v1.UserService/UpsertUser",
        api.upsert_user(tonic::Request::new(proto::UpsertUserRequest {
            meta: write_meta(),
            user: Some(user),
            password,
        })),
    )
    .await;
    done(
        &api,
        lang,
        outcome.map(|_| t_args(lang, "admin-saved", &[("user", name.into())])),
    )
    .await
}

#[derive(serde::Deserialize)]
pub struct RemoveForm {
    name: String,
}

/// Remove a user.
pub async fn remove_user(
    State(api): State<Api>,
    headers: HeaderMap,
    Form(f): Form<RemoveForm>,
) -> Response {
    let lang = lang(&headers);
    let outcome = call(
        "/casehub.v1.UserService/RemoveUser",
        api.remove_user(tonic::Request::new(proto::RemoveUserRequest {
            meta: write_meta(),
            name: f.name.clone(),
        })),
    )
    .await;
    done(
        &api,
        lang,
        outcome.map(|_| t_args(lang, "admin-removed", &[("user", f.name.into())])),
    )
    .await
}

pub(super) async fn done(api: &Api, lang: Lang, outcome: Result<String, Status>) -> Response {
    super::after(lang, outcome, |notice| render(api, lang, notice)).await
}
