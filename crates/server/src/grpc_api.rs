//! The casehub API (`proto/casehub/v1/casehub.proto`): availability,
//! dispatch, alerts, audit and admin, served by every node.
//!
//! Reads are answered from this node's applied state, with the index it was
//! applied up to. Writes become [`casehub_store::Request`]s that go through
//! Raft (a follower forwards them to the leader). Input is validated here,
//! at the edge: a bad field is `INVALID_ARGUMENT` naming the field and the
//! value; an id the state does not know is `NOT_FOUND`; a write the state
//! machine rejects is `FAILED_PRECONDITION` with every conflict named.
//!
//! This module holds what the services share: [`Api`], its [`ApiContext`],
//! the routes, the write path and the checks of fields. Each service is a
//! module of its own: `grpc_availability`, `grpc_dispatch` (with
//! `grpc_cases`), `grpc_alerts`, `grpc_audit`, `grpc_admin` (with
//! `grpc_resources`) and `grpc_users`.

use std::collections::BTreeSet;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_core::Stream;

use tonic::Status;

use casehub_model::{CaseId, OfficerId, Region, RoomId, Shift, SiteId, StationId, Step, TeamId};
use casehub_planning::{EscortMode, Method, Restriction, Settings, validate};
use casehub_store::availability::QueryError;
use casehub_store::region::RegionError;
use casehub_store::state::{CaseStatus, MAX_REASON_CHARS};
use casehub_store::{
    AuditEntry as StoreAudit, Command, Conflict, EntityRef, Request, Response, SchedulingState,
};
use casehub_travel::TravelTable;

use crate::auth::Permission;
use crate::dispatch::{DispatchError, plan_bookings_for, planning_state, versions_for};
use crate::forward::Core;
use crate::proto;
use crate::service::cluster_status;

/// What the API needs besides the replicated state: the engine's settings
/// and, if the node's config names a region file, that region with its
/// travel table, planned from only while the cluster has no replicated
/// region (a cluster of rules older than version 6, or before the first
/// `LoadRegion`).
#[derive(Debug, Clone, Default)]
pub struct ApiContext {
    pub local: Option<LocalRegion>,
    pub settings: Settings,
}

/// A node's own region file: the region and its travel table.
#[derive(Debug, Clone)]
pub struct LocalRegion {
    pub region: Region,
    pub travel: TravelTable,
}

impl ApiContext {
    /// The context of a node with its own region file.
    pub fn with_region(region: Region, travel: TravelTable, settings: Settings) -> ApiContext {
        ApiContext {
            local: Some(LocalRegion { region, travel }),
            settings,
        }
    }
}

/// The travel table of a node that has none yet: one place of no station
/// or site (a table needs one), so that no station has a nearest site.
pub(crate) fn no_travel() -> &'static TravelTable {
    static NONE: std::sync::LazyLock<Option<TravelTable>> = std::sync::LazyLock::new(|| {
        let place = casehub_travel::Place::new(
            "(no region loaded)",
            casehub_model::Location::new(0.0, 0.0).ok()?,
        );
        TravelTable::new(
            "no region loaded".into(),
            vec![place.clone()],
            vec![place],
            vec![vec![casehub_travel::Leg::ZERO]],
        )
        .ok()
    });
    NONE.as_ref().expect("a one-place table is valid")
}

/// Times are shown in Asia/Shanghai until a region says otherwise.
pub(crate) const DEFAULT_UTC_OFFSET_MIN: i32 = 8 * 60;

impl ApiContext {
    /// The travel table the node plans with: the cluster's replicated
    /// region's (rules version 6), or the node's own before one is loaded.
    pub fn travel<'a>(&'a self, state: &'a SchedulingState) -> &'a TravelTable {
        match (&state.region, &self.local) {
            (Some(r), _) => &r.value.table,
            (None, Some(l)) => &l.travel,
            (None, None) => no_travel(),
        }
    }

    /// The shifts the node plans with (see [`ApiContext::travel`]).
    pub fn shifts<'a>(&'a self, state: &'a SchedulingState) -> &'a [Shift] {
        match (&state.region, &self.local) {
            (Some(r), _) => &r.value.shifts,
            (None, Some(l)) => &l.region.shifts,
            (None, None) => &[],
        }
    }

    /// Local time = UTC + this many minutes (see [`ApiContext::travel`];
    /// UTC+8 before any region is known).
    pub fn utc_offset_min(&self, state: &SchedulingState) -> i32 {
        match (&state.region, &self.local) {
            (Some(r), _) => r.value.info.utc_offset_min,
            (None, Some(l)) => l.region.info.utc_offset_min,
            (None, None) => DEFAULT_UTC_OFFSET_MIN,
        }
    }

    /// The region the node plans with, its travel table and its version:
    /// the cluster's replicated region, or (version 0) the node's own
    /// region file with the replicated entities, before one is loaded.
    pub fn region_model<'a>(
        &'a self,
        state: &'a SchedulingState,
    ) -> Result<(Region, &'a TravelTable, u64), RegionError> {
        match (&state.region, &self.local) {
            (Some(_), _) | (None, None) => state.region_model(),
            (None, Some(l)) => Ok((state.region_with(&l.region)?, &l.travel, 0)),
        }
    }
}

/// The five API services, over one node.
#[derive(Clone)]
pub struct Api {
    pub(crate) core: Arc<Core>,
    pub(crate) ctx: Arc<ApiContext>,
    streams: Arc<crate::streams::StreamLimits>,
    /// The particulars keys (see [`crate::particulars`]).
    pub(crate) keys: Option<Arc<crate::particulars::Keys>>,
}

impl Api {
    pub(crate) fn new(
        core: Arc<Core>,
        ctx: Arc<ApiContext>,
        keys: Option<Arc<crate::particulars::Keys>>,
    ) -> Self {
        Api {
            core,
            ctx,
            streams: Arc::default(),
            keys,
        }
    }

    /// A place for a new stream of the caller (see [`crate::streams`]).
    pub(crate) fn stream_permit(&self) -> Result<crate::streams::StreamPermit, Status> {
        let who = crate::auth::caller().map_or_else(String::new, |c| c.name);
        self.streams.acquire(&who)
    }
}

/// The encoded descriptors of the casehub protos, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/casehub_descriptor.bin"));

/// The client listener's routes: the API's five services, gRPC health (every
/// service reported serving, and the whole server as "") and server
/// reflection.
pub(crate) async fn add_routes(
    core: Arc<Core>,
    ctx: Arc<ApiContext>,
    keys: Option<Arc<crate::particulars::Keys>>,
) -> Result<tonic::service::Routes, tonic_reflection::server::Error> {
    use crate::proto::admin_service_server::AdminServiceServer;
    use crate::proto::alert_service_server::AlertServiceServer;
    use crate::proto::audit_service_server::AuditServiceServer;
    use crate::proto::availability_service_server::AvailabilityServiceServer;
    use crate::proto::dispatch_service_server::DispatchServiceServer;
    let api = Api::new(core, ctx, keys);
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_serving::<AvailabilityServiceServer<Api>>()
        .await;
    reporter.set_serving::<DispatchServiceServer<Api>>().await;
    reporter.set_serving::<AlertServiceServer<Api>>().await;
    reporter.set_serving::<AuditServiceServer<Api>>().await;
    reporter.set_serving::<AdminServiceServer<Api>>().await;
    reporter
        .set_serving::<crate::proto::auth_service_server::AuthServiceServer<Api>>()
        .await;
    reporter
        .set_serving::<crate::proto::user_service_server::UserServiceServer<Api>>()
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let limit = API_MESSAGE_LIMIT;
    use crate::proto::auth_service_server::AuthServiceServer;
    use crate::proto::user_service_server::UserServiceServer;
    Ok(tonic::service::Routes::new(health)
        .add_service(AuthServiceServer::new(api.clone()).max_decoding_message_size(limit))
        .add_service(UserServiceServer::new(api.clone()).max_decoding_message_size(limit))
        .add_service(AvailabilityServiceServer::new(api.clone()).max_decoding_message_size(limit))
        .add_service(DispatchServiceServer::new(api.clone()).max_decoding_message_size(limit))
        .add_service(AlertServiceServer::new(api.clone()).max_decoding_message_size(limit))
        .add_service(AuditServiceServer::new(api.clone()).max_decoding_message_size(limit))
        .add_service(AdminServiceServer::new(api.clone()).max_decoding_message_size(limit))
        .add_service(reflection)
        .into_axum_router()
        .merge(crate::console::router(api))
        .into())
}

/// How old a proposal's "now" may be when it is accepted: a dispatcher
/// reviewing it. An older plan is checked at the node's clock less this.
pub(crate) const ACCEPT_GRACE: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

/// The largest API request a node accepts: [`crate::MAX_REQUEST_SIZE`].
/// Larger ones are refused with OUT_OF_RANGE (tonic's code for a message
/// over the limit).
pub const API_MESSAGE_LIMIT: usize = crate::MAX_REQUEST_SIZE;

pub(crate) type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// The default and the bounds of an alert stream's check period.
pub(crate) const DEFAULT_CHECK_S: u32 = 30;
pub(crate) const MAX_CHECK_S: u32 = 3600;

// ---------------------------------------------------------------------------
// Conversions and validation at the edge (the messages themselves: see
// `crate::convert`)
// ---------------------------------------------------------------------------

pub(crate) use crate::convert::{
    CATEGORIES, STEPS, id, interval, invalid, optional_id, rule_code, time, ts, word,
};

pub(crate) fn query_status(e: QueryError) -> Status {
    match e {
        QueryError::UnknownSite(_) => Status::not_found(e.to_string()),
        _ => Status::invalid_argument(e.to_string()),
    }
}

pub(crate) fn region_status(e: RegionError) -> Status {
    Status::failed_precondition(e.to_string())
}

pub(crate) fn dispatch_status(e: DispatchError) -> Status {
    match e {
        DispatchError::UnknownCase { .. } => Status::not_found(e.to_string()),
        DispatchError::NotSubmitted { .. } => Status::failed_precondition(e.to_string()),
        DispatchError::Region(_) => Status::failed_precondition(e.to_string()),
    }
}

pub(crate) fn entity_kind(e: &EntityRef) -> (&'static str, String) {
    match e {
        EntityRef::Site(i) => ("site", i.to_string()),
        EntityRef::Room(i) => ("room", i.to_string()),
        EntityRef::Station(i) => ("station", i.to_string()),
        EntityRef::Officer(i) => ("officer", i.to_string()),
        EntityRef::Team(i) => ("team", i.to_string()),
        EntityRef::Case(i) => ("case", i.to_string()),
    }
}

pub(crate) fn entity_ref(field: &str, kind: &str, value: &str) -> Result<EntityRef, Status> {
    let f = format!("{field}.id");
    Ok(match kind {
        "site" => EntityRef::Site(id(&f, value, SiteId::new)?),
        "room" => EntityRef::Room(id(&f, value, RoomId::new)?),
        "station" => EntityRef::Station(id(&f, value, StationId::new)?),
        "officer" => EntityRef::Officer(id(&f, value, OfficerId::new)?),
        "team" => EntityRef::Team(id(&f, value, TeamId::new)?),
        "case" => EntityRef::Case(id(&f, value, CaseId::new)?),
        other => {
            return Err(invalid(
                &format!("{field}.kind"),
                other,
                "not one of site, room, station, officer, team, case",
            ));
        }
    })
}

pub(crate) fn audit_entry(a: &StoreAudit) -> proto::AuditEntry {
    proto::AuditEntry {
        index: a.index,
        time: Some(ts(a.time)),
        actor: a.actor.clone(),
        site_id: a.site.as_ref().map(|s| s.to_string()).unwrap_or_default(),
        client_id: a.client_id.clone(),
        request_id: a.request_id,
        summary: a.summary.clone(),
        rejected: a.rejected.clone().unwrap_or_default(),
        hash: a.hash.clone(),
        reason: a.reason.clone().unwrap_or_default(),
        is_override: a.is_override(),
    }
}

/// An override's reason: `None` when empty; at most
/// [`MAX_REASON_CHARS`] characters, none of them control characters.
pub(crate) fn override_reason(raw: &str) -> Result<Option<String>, Status> {
    let reason = raw.trim();
    if reason.is_empty() {
        return Ok(None);
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(Status::invalid_argument(format!(
            "override_reason: {} characters; at most {MAX_REASON_CHARS}",
            reason.chars().count()
        )));
    }
    if reason.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Status::invalid_argument(
            "override_reason: contains a control character",
        ));
    }
    Ok(Some(reason.to_string()))
}

/// A write's identity and author, checked. The author is the
/// authenticated caller ([`crate::auth::caller`]), never the request's
/// `meta.actor`.
pub(crate) fn meta(
    m: Option<&proto::WriteMeta>,
) -> Result<(String, u64, String, Option<SiteId>), Status> {
    let m = m.ok_or_else(|| Status::invalid_argument("meta: missing"))?;
    if m.client_id.trim().is_empty() {
        return Err(Status::invalid_argument("meta.client_id: missing"));
    }
    if m.client_id == crate::rules::RULES_CLIENT
        || m.client_id == crate::retention::RETENTION_CLIENT
        || m.client_id == crate::alert_monitor::ALERTS_CLIENT
        || m.client_id.starts_with(crate::grpc_users::AUTH_CLIENT)
    {
        return Err(invalid(
            "meta.client_id",
            &m.client_id,
            "reserved for the nodes' own requests",
        ));
    }
    if m.request_id == 0 {
        return Err(invalid("meta.request_id", 0, "must be at least 1"));
    }
    let actor = crate::auth::caller()
        .map(|c| c.name)
        .ok_or_else(|| Status::unauthenticated("a write needs an authenticated user"))?;
    let site = optional_id("meta.site_id", &m.site_id, SiteId::new)?;
    Ok((m.client_id.clone(), m.request_id, actor, site))
}

pub(crate) fn rejected_status(reason: &str, conflicts: &[Conflict]) -> Status {
    let detail: Vec<String> = conflicts.iter().map(|c| c.to_string()).collect();
    let message = if detail.is_empty() {
        reason.to_string()
    } else {
        format!("{reason}: {}", detail.join("; "))
    };
    if !conflicts.is_empty()
        && conflicts
            .iter()
            .all(|c| matches!(c, Conflict::Unknown { .. }))
    {
        Status::not_found(message)
    } else {
        Status::failed_precondition(message)
    }
}

impl Api {
    /// Commit one command through Raft; a rejection is an error status.
    pub(crate) async fn write(
        &self,
        rpc: &str,
        m: Option<&proto::WriteMeta>,
        offset: u64,
        command: Command,
    ) -> Result<proto::WriteAck, Status> {
        let (client_id, first_id, actor, site) = meta(m)?;
        if let Some(caller) = crate::auth::caller() {
            let permission = match command {
                Command::SubmitCase(_) | Command::SubmitCaseWithParticulars { .. } => {
                    Permission::SubmitCase
                }
                _ => Permission::Dispatch,
            };
            let read = self.core.read_local();
            crate::scope::check_command(
                &caller,
                permission,
                read.state(),
                self.ctx.travel(read.state()),
                &command,
            )?;
        }
        let request_id = first_id.checked_add(offset).ok_or_else(|| {
            invalid(
                "meta.request_id",
                first_id,
                format!("{rpc}: request id {first_id} + {offset} is past the largest id"),
            )
        })?;
        let request = Request {
            client_id,
            request_id,
            actor,
            site,
            time: Utc::now(),
            command,
            // Stamped by the leader's proposer (`forward::Proposer`).
            trace: None,
        };
        let written = self
            .core
            .write(&request)
            .await
            .map_err(|e| cluster_status(rpc, &e))?;
        // Read your writes: later reads on this node see this one.
        self.applied(written.log_index).await?;
        // A retry is answered from the first application, whose audit entry
        // holds the index it was applied at.
        let first = self
            .core
            .view
            .current()
            .state
            .applied_at(&request.client_id, request.request_id);
        let log_index = first.unwrap_or(written.log_index);
        match &written.response {
            Response::Applied { .. } => Ok(proto::WriteAck {
                log_index,
                duplicate: log_index != written.log_index,
            }),
            Response::Rejected { reason, conflicts } => Err(rejected_status(reason, conflicts)),
        }
    }

    /// Whether the state knows `entity`: on this node's applied state, or,
    /// when not there yet, on a linearizable read. Unknown ids are refused
    /// here, before anything is written.
    pub(crate) async fn known(&self, field: &str, entity: EntityRef) -> Result<(), Status> {
        if self.core.read_local().state().version_of(&entity).is_some() {
            return Ok(());
        }
        let read = self
            .core
            .read_linearizable()
            .await
            .map_err(|e| cluster_status(field, &e))?;
        if read.state().version_of(&entity).is_some() {
            Ok(())
        } else {
            Err(Status::not_found(format!("{field}: no {entity}")))
        }
    }

    /// The submitted cases within `scope` (a site-scoped caller's sites),
    /// or all of them (`None`).
    pub(crate) fn waiting_in_scope(
        &self,
        state: &casehub_store::SchedulingState,
        scope: Option<&BTreeSet<SiteId>>,
    ) -> Vec<CaseId> {
        let sites = scope.map(|_| crate::scope::sites_by_case(state, self.ctx.travel(state)));
        state
            .cases
            .iter()
            .filter(|(_, c)| c.value.status == CaseStatus::Submitted)
            .filter(|(id, _)| {
                sites
                    .as_ref()
                    .is_none_or(|s| s.get(*id).is_some_and(|s| crate::scope::allows(scope, s)))
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Propose a plan for the submitted cases named (or all of them),
    /// within `scope` (a site-scoped caller's sites; `None`: every site).
    /// A proposal's restriction (an override of one case), checked: `None`
    /// when every field is empty.
    pub(crate) fn restriction(
        &self,
        r: &proto::PlanRestriction,
        cases: &[CaseId],
    ) -> Result<Option<Restriction>, Status> {
        let site = optional_id("restriction.site_id", &r.site_id, SiteId::new)?;
        let escort = match r.escort.as_str() {
            "" => None,
            "team" => Some(EscortMode::Team),
            "station" => Some(EscortMode::Station),
            other => {
                return Err(invalid(
                    "restriction.escort",
                    other,
                    "must be team, station or empty",
                ));
            }
        };
        let not_before = r
            .not_before
            .as_ref()
            .map(|t| time("restriction.not_before", Some(t)))
            .transpose()?;
        if site.is_none() && escort.is_none() && not_before.is_none() {
            return Ok(None);
        }
        if cases.len() != 1 {
            return Err(Status::invalid_argument(format!(
                "restriction: overrides one case; case_ids names {}",
                cases.len()
            )));
        }
        if let Some(site) = &site
            && !self.core.read_local().state().sites.contains_key(site)
        {
            return Err(Status::not_found(format!(
                "restriction.site_id: no site {site}"
            )));
        }
        Ok(Some(Restriction {
            site,
            escort,
            not_before,
        }))
    }

    #[tracing::instrument(name = "plan", skip_all, fields(cases = cases.len(), method = ?method))]
    pub(crate) fn propose(
        &self,
        cases: &[CaseId],
        method: Method,
        scope: Option<&BTreeSet<SiteId>>,
        restriction: Option<Restriction>,
    ) -> Result<proto::ProposePlanReply, Status> {
        let read = self.core.read_local();
        let state = read.state();
        let now = Utc::now();
        let scoped: Vec<CaseId>;
        let cases = match scope {
            None => cases,
            Some(_) if cases.is_empty() => {
                scoped = self.waiting_in_scope(state, scope);
                if scoped.is_empty() {
                    // Nothing of the caller's sites waits.
                    return Ok(proto::ProposePlanReply::default());
                }
                &scoped
            }
            Some(_) => {
                for id in cases {
                    if !crate::scope::allows(
                        scope,
                        &crate::scope::case_sites(state, self.ctx.travel(state), id),
                    ) {
                        return Err(Status::not_found(format!("case_ids: no case {id}")));
                    }
                }
                cases
            }
        };
        let (region, travel, region_version) =
            self.ctx.region_model(state).map_err(region_status)?;
        let mut s = planning_state(state, region, travel, now, cases).map_err(dispatch_status)?;
        if let Some(r) = restriction {
            for p in &mut s.pending {
                p.restriction = Some(r.clone());
            }
        }
        let settings = Settings {
            method,
            ..self.ctx.settings.clone()
        };
        let mut plan = casehub_planning::plan(&s, &settings)
            .map_err(|e| Status::internal(format!("planning failed: {e}")))?;
        plan.region_version = region_version;
        let violations = validate(&s, &plan);
        if !violations.is_empty() {
            // Never hand out a plan that breaks a rule.
            return Err(Status::internal(format!(
                "the engine produced a plan the validator rejects: {violations:?}"
            )));
        }
        let bookings = plan_bookings_for(&plan, &[]);
        let versions = versions_for(state, &bookings)
            .iter()
            .map(|(e, v)| {
                let (kind, id) = entity_kind(e);
                proto::EntityVersion {
                    kind: kind.into(),
                    id,
                    version: *v,
                }
            })
            .collect();
        // Times as the sites read them: local, at the region's UTC offset.
        let offset = chrono::FixedOffset::east_opt(self.ctx.utc_offset_min(read.state()) * 60)
            .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("zero offset"));
        let local = |t: DateTime<Utc>| t.with_timezone(&offset);
        let summary = plan
            .cases
            .iter()
            .map(|cp| {
                let q = cp
                    .persons
                    .iter()
                    .flat_map(|p| p.steps.iter().filter(|s| s.step == Step::Questioning))
                    .map(|s| format!("{} at {}", s.room, local(s.start).format("%H:%M")))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!(
                    "{}: to {} by {} leaving {}, questioning in {}; {} min of slack before the limit at {} (local time)",
                    cp.case,
                    cp.site,
                    match cp.escort.teams().as_slice() {
                        [] => "station officers".to_string(),
                        [t] => format!("escort team {t}"),
                        teams => format!(
                            "escort teams {}",
                            teams.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    },
                    local(cp.escort.depart).format("%H:%M"),
                    q,
                    cp.slack_min,
                    local(cp.deadline).format("%m-%d %H:%M")
                )
            })
            .collect();
        let blocked = plan
            .blocked
            .iter()
            .map(|b| proto::BlockedCase {
                case_id: b.case.to_string(),
                rule: b.rule.as_str().to_string(),
                reason: b.detail.clone(),
                rule_code: rule_code(b.rule) as i32,
            })
            .collect();
        let lead = state
            .policy
            .alert_lead_min
            .iter()
            .copied()
            .max()
            .unwrap_or(0);
        let mut warnings: Vec<String> = plan
            .cases
            .iter()
            .filter(|cp| cp.slack_min < i64::from(lead))
            .map(|cp| {
                format!(
                    "case {}: only {} min of slack before its legal limit",
                    cp.case, cp.slack_min
                )
            })
            .collect();
        // Cases proposed again because a late event broke their plan.
        warnings.extend(plan.cases.iter().filter(|cp| !cp.pinned).filter_map(|cp| {
            let broken = state.cases.get(&cp.case)?.value.plan_broken.as_ref()?;
            Some(format!(
                "case {}: a new plan, because {}",
                cp.case, broken.reason
            ))
        }));
        Ok(proto::ProposePlanReply {
            applied_index: read.applied_index().unwrap_or(0),
            plan_json: serde_json::to_string_pretty(&plan)
                .map_err(|e| Status::internal(format!("plan_json: {e}")))?,
            versions,
            summary,
            blocked,
            warnings,
        })
    }

    /// Wait until this node has applied `index`, up to the node's deadline.
    pub(crate) async fn applied(&self, index: u64) -> Result<(), Status> {
        match tokio::time::timeout(self.core.deadline, self.core.view.wait_applied(index)).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(Status::unavailable("the node is stopping")),
            Err(_) => Err(Status::deadline_exceeded(format!(
                "this node did not apply log index {index} within {:?}",
                self.core.deadline
            ))),
        }
    }

    /// Wait until this node applies an index after `after` (or `tick`
    /// passes); false when the node stops.
    pub(crate) async fn next_change(&self, after: Option<u64>, tick: Duration) -> bool {
        let want = after.map_or(1, |i| i + 1);
        match tokio::time::timeout(tick, self.core.view.wait_applied(want)).await {
            Ok(Some(_)) | Err(_) => true,
            Ok(None) => false,
        }
    }
}

// ---------------------------------------------------------------------------
// Availability
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_apis_rule_enum_is_the_catalogue() {
        let mut codes = std::collections::BTreeSet::new();
        for rule in casehub_model::Rule::ALL {
            let code = rule_code(rule);
            assert_ne!(code, proto::Rule::Unspecified, "{rule} is not in the proto");
            assert!(codes.insert(code as i32), "{rule} shares a value");
        }
        // And nothing more: every value but the unspecified one is a rule.
        for v in 1..=codes.len() as i32 + 5 {
            assert_eq!(
                proto::Rule::try_from(v).is_ok(),
                codes.contains(&v),
                "value {v}"
            );
        }
    }
}
