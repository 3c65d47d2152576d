//! The casehub API (`proto/casehub/v1/casehub.proto`): availability,
//! dispatch, alerts, audit and admin, served by every node.
//!
//! Reads are answered from this node's applied state, with the index it was
//! applied up to. Writes become [`casehub_store::Request`]s that go through
//! Raft (a follower forwards them to the leader). Input is validated here,
//! at the edge: a bad field is `INVALID_ARGUMENT` naming the field and the
//! value; an id the state does not know is `NOT_FOUND`; a write the state
//! machine rejects is `FAILED_PRECONDITION` with every conflict named.

use std::collections::BTreeSet;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, Utc};
use futures_core::Stream;
use openraft::BasicNode;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::streams::until_closed;
use tonic::{Code, Request as GrpcRequest, Response as GrpcResponse, Status};

use casehub_model::{
    Case, CaseId, EscortTeam, Gender, GroupId, LegalCategory, Officer, OfficerId, Person, PersonId,
    Policy, Region, RoomId, Shift, Site, SiteId, Station, StationId, Step, TeamId,
};
use casehub_planning::{EscortMode, Method, Plan, Restriction, Settings, validate};
use casehub_store::alert_records::AlertRecord;
use casehub_store::alerts::{Alert as StoreAlert, alerts};
use casehub_store::availability::{
    QueryError, availability, check_site, check_window, earliest_slot,
};
use casehub_store::region::{RegionError, RegionStatic};
use casehub_store::state::{CaseStatus, DelayOutcome, MAX_DELAY_MIN, MAX_REASON_CHARS};
use casehub_store::{
    AuditEntry as StoreAudit, Command, Conflict, EntityRef, Request, Response, SchedulingState,
};
use casehub_travel::TravelTable;

use crate::auth::Permission;
use crate::dispatch::{
    DispatchError, plan_bookings_for, planning_state, region_commands, versions_for,
};
use crate::forward::Core;
use crate::proto;
use crate::proto::admin_service_server::AdminService;
use crate::proto::alert_service_server::AlertService;
use crate::proto::availability_service_server::AvailabilityService;
use crate::proto::dispatch_service_server::DispatchService;
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
fn no_travel() -> &'static TravelTable {
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
const DEFAULT_UTC_OFFSET_MIN: i32 = 8 * 60;

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
const ACCEPT_GRACE: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

/// The largest API request a node accepts: [`crate::MAX_REQUEST_SIZE`].
/// Larger ones are refused with OUT_OF_RANGE (tonic's code for a message
/// over the limit).
pub const API_MESSAGE_LIMIT: usize = crate::MAX_REQUEST_SIZE;

pub(crate) type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// The default and the bounds of an alert stream's check period.
const DEFAULT_CHECK_S: u32 = 30;
const MAX_CHECK_S: u32 = 3600;

// ---------------------------------------------------------------------------
// Conversions and validation at the edge
// ---------------------------------------------------------------------------

pub(crate) fn invalid(
    field: &str,
    value: impl std::fmt::Display,
    reason: impl std::fmt::Display,
) -> Status {
    Status::invalid_argument(format!(
        "{field} = {value:?}: {reason}",
        value = value.to_string()
    ))
}

pub(crate) fn ts(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub(crate) fn time(
    field: &str,
    t: Option<&prost_types::Timestamp>,
) -> Result<DateTime<Utc>, Status> {
    let t = t.ok_or_else(|| Status::invalid_argument(format!("{field}: missing")))?;
    let nanos = u32::try_from(t.nanos)
        .ok()
        .filter(|n| *n < 1_000_000_000)
        .ok_or_else(|| invalid(&format!("{field}.nanos"), t.nanos, "must be 0 to 999999999"))?;
    let (first, last) = casehub_store::state::BOOKING_TIMES;
    DateTime::from_timestamp(t.seconds, nanos)
        .filter(|t| (first..=last).contains(&t.year()))
        .ok_or_else(|| {
            invalid(
                &format!("{field}.seconds"),
                t.seconds,
                format!("not a time in the years {first} to {last}"),
            )
        })
}

fn interval(a: DateTime<Utc>, b: DateTime<Utc>) -> proto::Interval {
    proto::Interval {
        start: Some(ts(a)),
        end: Some(ts(b)),
    }
}

/// An id field: `Ok(None)` when empty and optional.
pub(crate) fn id<T>(
    field: &str,
    value: &str,
    make: impl Fn(String) -> Result<T, casehub_model::error::ValidationError>,
) -> Result<T, Status> {
    if value.is_empty() {
        return Err(Status::invalid_argument(format!("{field}: missing")));
    }
    make(value.to_string()).map_err(|e| invalid(field, value, e.reason))
}

fn optional_id<T>(
    field: &str,
    value: &str,
    make: impl Fn(String) -> Result<T, casehub_model::error::ValidationError>,
) -> Result<Option<T>, Status> {
    if value.is_empty() {
        Ok(None)
    } else {
        id(field, value, make).map(Some)
    }
}

/// A lower-case word of the API (a step, a category, a gender) through serde.
fn word<T: DeserializeOwned>(field: &str, value: &str, allowed: &str) -> Result<T, Status> {
    if value.is_empty() {
        return Err(Status::invalid_argument(format!(
            "{field}: missing; one of {allowed}"
        )));
    }
    serde_json::from_value(serde_json::Value::String(value.to_string()))
        .map_err(|_| invalid(field, value, format!("not one of {allowed}")))
}

const STEPS: &str = "intake, search, information_collection, medical, holding, questioning";
const CATEGORIES: &str = "criminal_summons, criminal_summons_serious, administrative_questioning, \
    administrative_questioning_complex, administrative_questioning_detention, \
    continued_questioning, continued_questioning_extended";

fn query_status(e: QueryError) -> Status {
    match e {
        QueryError::UnknownSite(_) => Status::not_found(e.to_string()),
        _ => Status::invalid_argument(e.to_string()),
    }
}

/// The travel table of a region being loaded: the one sent
/// (`travel_table_json`), checked to cover every station and site, or for a
/// great-circle region the one computed here.
fn region_table(region: &Region, json: &str) -> Result<TravelTable, Status> {
    if json.trim().is_empty() {
        return match region.travel {
            casehub_model::region::TravelConfig::GreatCircle {
                detour_factor,
                speed_kmh,
            } => casehub_travel::GreatCircle::new(detour_factor, speed_kmh)
                .map_err(|e| Status::invalid_argument(format!("text: travel: {e}")))
                .and_then(|m| {
                    TravelTable::for_region(&m, region)
                        .map_err(|e| Status::invalid_argument(format!("text: travel: {e}")))
                }),
            _ => Err(Status::invalid_argument(
                "travel_table_json: missing; the region's travel comes from files the node does not read: send the table computed from them (`casehub cluster load-region` does)",
            )),
        };
    }
    let table: TravelTable = serde_json::from_str(json).map_err(|e| {
        Status::invalid_argument(format!(
            "travel_table_json: line {} column {}: {e}",
            e.line(),
            e.column()
        ))
    })?;
    for station in &region.stations {
        for site in &region.sites {
            if table.leg(station.id.as_str(), site.id.as_str()).is_none() {
                return Err(invalid(
                    "travel_table_json",
                    format!("{} → {}", station.id, site.id),
                    "no travel time for this station and site of the region",
                ));
            }
        }
    }
    Ok(table)
}

/// A rule of the catalogue as the API's enum (`RULE_` and its name).
pub fn rule_code(rule: casehub_model::Rule) -> proto::Rule {
    proto::Rule::from_str_name(&format!("RULE_{}", rule.as_str().to_ascii_uppercase()))
        .unwrap_or(proto::Rule::Unspecified)
}

fn region_status(e: RegionError) -> Status {
    Status::failed_precondition(e.to_string())
}

fn dispatch_status(e: DispatchError) -> Status {
    match e {
        DispatchError::UnknownCase { .. } => Status::not_found(e.to_string()),
        DispatchError::NotSubmitted { .. } => Status::failed_precondition(e.to_string()),
        DispatchError::Region(_) => Status::failed_precondition(e.to_string()),
    }
}

fn entity_kind(e: &EntityRef) -> (&'static str, String) {
    match e {
        EntityRef::Site(i) => ("site", i.to_string()),
        EntityRef::Room(i) => ("room", i.to_string()),
        EntityRef::Station(i) => ("station", i.to_string()),
        EntityRef::Officer(i) => ("officer", i.to_string()),
        EntityRef::Team(i) => ("team", i.to_string()),
        EntityRef::Case(i) => ("case", i.to_string()),
    }
}

fn entity_ref(field: &str, kind: &str, value: &str) -> Result<EntityRef, Status> {
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
fn override_reason(raw: &str) -> Result<Option<String>, Status> {
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

/// A standing alert, with its record's lifecycle when the leader has
/// recorded it ("new" until then).
fn alert_message(a: &StoreAlert, record: Option<&AlertRecord>) -> proto::Alert {
    let s = |x: &Option<String>| x.clone().unwrap_or_default();
    let mut m = proto::Alert {
        kind: a.kind.as_str().into(),
        key: a.key.clone(),
        case_id: s(&a.case.as_ref().map(|c| c.to_string())),
        person_id: s(&a.person.as_ref().map(|c| c.to_string())),
        station_id: s(&a.station.as_ref().map(|c| c.to_string())),
        site_id: s(&a.site.as_ref().map(|c| c.to_string())),
        at: Some(ts(a.at)),
        deadline: a.deadline.map(ts),
        message: a.message.clone(),
        status: "new".into(),
        ..Default::default()
    };
    if let Some(r) = record {
        lifecycle(&mut m, r);
    }
    m
}

fn lifecycle(m: &mut proto::Alert, r: &AlertRecord) {
    m.status = r.status().into();
    m.raised_at = Some(ts(r.raised_at));
    if let Some(a) = &r.acknowledged {
        m.acknowledged_by = a.by.clone();
        m.acknowledged_at = Some(ts(a.at));
    }
    m.escalated_at = r.escalated_at.map(ts);
    m.resolved_at = r.resolved_at.map(ts);
}

/// A recorded alert (the history): as it was raised, with its lifecycle.
fn record_message(r: &AlertRecord) -> proto::Alert {
    let a = &r.alert;
    let s = |x: Option<String>| x.unwrap_or_default();
    let mut m = proto::Alert {
        kind: a.kind.as_str().into(),
        key: a.key.clone(),
        case_id: s(a.case.as_ref().map(|c| c.to_string())),
        person_id: s(a.person.as_ref().map(|c| c.to_string())),
        station_id: s(a.station.as_ref().map(|c| c.to_string())),
        site_id: s(a.site.as_ref().map(|c| c.to_string())),
        at: Some(ts(r.raised_at)),
        deadline: a.deadline.map(ts),
        message: a.message.clone(),
        ..Default::default()
    };
    lifecycle(&mut m, r);
    m
}

/// Alerts shown per ListAlerts history by default, and at most.
const DEFAULT_ALERT_HISTORY: u32 = 200;
const MAX_ALERT_HISTORY: u32 = casehub_store::alert_records::HISTORY as u32;

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

fn rejected_status(reason: &str, conflicts: &[Conflict]) -> Status {
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
    async fn known(&self, field: &str, entity: EntityRef) -> Result<(), Status> {
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
    fn waiting_in_scope(
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
    fn restriction(
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
    fn propose(
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
                    cp.escort
                        .team
                        .as_ref()
                        .map(|t| format!("escort team {t}"))
                        .unwrap_or_else(|| "station officers".into()),
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
    async fn applied(&self, index: u64) -> Result<(), Status> {
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

#[tonic::async_trait]
impl AvailabilityService for Api {
    #[tracing::instrument(name = "casehub.v1.AvailabilityService/GetAvailability", skip_all)]
    async fn get_availability(
        &self,
        request: GrpcRequest<proto::GetAvailabilityRequest>,
    ) -> Result<GrpcResponse<proto::GetAvailabilityReply>, Status> {
        let r = request.into_inner();
        let site = optional_id("site_id", &r.site_id, SiteId::new)?;
        let w = r
            .window
            .as_ref()
            .ok_or_else(|| Status::invalid_argument("window: missing"))?;
        let (start, end) = (
            time("window.start", w.start.as_ref())?,
            time("window.end", w.end.as_ref())?,
        );
        check_window(start, end).map_err(query_status)?;
        let read = self.core.read_local();
        let a = availability(
            read.state(),
            self.ctx.shifts(read.state()),
            self.ctx.utc_offset_min(read.state()),
            site.as_ref(),
            start,
            end,
        )
        .map_err(query_status)?;
        let iv =
            |v: &[(DateTime<Utc>, DateTime<Utc>)]| v.iter().map(|&(a, b)| interval(a, b)).collect();
        Ok(GrpcResponse::new(proto::GetAvailabilityReply {
            applied_index: read.applied_index().unwrap_or(0),
            rooms: a
                .rooms
                .iter()
                .map(|r| proto::RoomAvailability {
                    room_id: r.room.to_string(),
                    site_id: r.site.to_string(),
                    kind: r.kind.as_str().into(),
                    capacity: r.capacity,
                    free: iv(&r.free),
                })
                .collect(),
            officers: a
                .officers
                .iter()
                .map(|o| proto::OfficerAvailability {
                    officer_id: o.officer.to_string(),
                    post: match &o.post {
                        casehub_model::Post::Site(s) => format!("site:{s}"),
                        casehub_model::Post::Station(s) => format!("station:{s}"),
                    },
                    gender: match o.gender {
                        Gender::Female => "female".into(),
                        Gender::Male => "male".into(),
                    },
                    free: iv(&o.free),
                })
                .collect(),
            teams: a
                .teams
                .iter()
                .map(|t| proto::TeamAvailability {
                    team_id: t.team.to_string(),
                    site_id: t.site.to_string(),
                    free: iv(&t.free),
                })
                .collect(),
        }))
    }

    #[tracing::instrument(name = "casehub.v1.AvailabilityService/GetOverview", skip_all)]
    async fn get_overview(
        &self,
        _request: GrpcRequest<proto::GetOverviewRequest>,
    ) -> Result<GrpcResponse<proto::GetOverviewReply>, Status> {
        let read = self.core.read_local();
        let state = read.state();
        let now = Utc::now();
        let limit = crate::auth::caller()
            .and_then(|c| crate::scope::limit(&c, Permission::ReadAvailability).cloned());
        let staffing = casehub_store::staffing::stations(
            state,
            self.ctx.shifts(state),
            self.ctx.utc_offset_min(state),
            now,
        );
        Ok(GrpcResponse::new(proto::GetOverviewReply {
            applied_index: read.applied_index().unwrap_or(0),
            at: Some(ts(now)),
            sites: state
                .sites
                .values()
                .map(|s| {
                    let s = &s.value;
                    proto::SitePoint {
                        site_id: s.id.to_string(),
                        name: s.name.clone(),
                        kind: match s.kind {
                            casehub_model::SiteKind::MainCenter => "main_center",
                            casehub_model::SiteKind::SubCenter => "sub_center",
                        }
                        .into(),
                        lat: s.location.lat(),
                        lon: s.location.lon(),
                    }
                })
                .collect(),
            stations: staffing
                .iter()
                .filter_map(|st| {
                    let s = &state.stations.get(&st.station)?.value;
                    Some(proto::StationStaffing {
                        station_id: s.id.to_string(),
                        name: s.name.clone(),
                        lat: s.location.lat(),
                        lon: s.location.lon(),
                        on_duty: st.on_duty,
                        away: st.away,
                        min_on_duty: st.min_on_duty,
                        rural: s.rural,
                    })
                })
                .collect(),
            escorts: casehub_store::staffing::escorts(state, now)
                .into_iter()
                .filter(|e| {
                    crate::scope::allows(
                        limit.as_ref(),
                        &crate::scope::case_sites(state, self.ctx.travel(state), &e.case),
                    )
                })
                .map(|e| proto::EscortUnderWay {
                    case_id: e.case.to_string(),
                    team_id: e.team.map(|t| t.to_string()).unwrap_or_default(),
                    officers: e.officers,
                    station_id: e.station.to_string(),
                    site_id: e.site.map(|s| s.to_string()).unwrap_or_default(),
                    start: Some(ts(e.start)),
                    end: Some(ts(e.end)),
                })
                .collect(),
        }))
    }

    #[tracing::instrument(name = "casehub.v1.AvailabilityService/EarliestSlot", skip_all)]
    async fn earliest_slot(
        &self,
        request: GrpcRequest<proto::EarliestSlotRequest>,
    ) -> Result<GrpcResponse<proto::EarliestSlotReply>, Status> {
        let r = request.into_inner();
        let site = optional_id("site_id", &r.site_id, SiteId::new)?;
        let step: Step = word("step", &r.step, STEPS)?;
        let category: LegalCategory = if r.category.is_empty() {
            if step == Step::Questioning {
                return Err(Status::invalid_argument(format!(
                    "category: missing; a questioning needs the case's category, one of {CATEGORIES}"
                )));
            }
            LegalCategory::CriminalSummons
        } else {
            word("category", &r.category, CATEGORIES)?
        };
        if !(1..=1440).contains(&r.duration_min) {
            return Err(invalid("duration_min", r.duration_min, "must be 1 to 1440"));
        }
        let not_before = match r.not_before.as_ref() {
            Some(_) => time("not_before", r.not_before.as_ref())?,
            None => Utc::now(),
        };
        let read = self.core.read_local();
        let slot = earliest_slot(
            read.state(),
            self.ctx.utc_offset_min(read.state()),
            site.as_ref(),
            step,
            category,
            i64::from(r.duration_min),
            not_before,
        )
        .map_err(query_status)?;
        Ok(GrpcResponse::new(match slot {
            Some(s) => proto::EarliestSlotReply {
                applied_index: read.applied_index().unwrap_or(0),
                found: true,
                site_id: s.site.to_string(),
                room_id: s.room.to_string(),
                slot: Some(interval(s.start, s.end)),
            },
            None => proto::EarliestSlotReply {
                applied_index: read.applied_index().unwrap_or(0),
                ..Default::default()
            },
        }))
    }

    type WatchStream = BoxStream<proto::Change>;

    #[tracing::instrument(name = "casehub.v1.AvailabilityService/Watch", skip_all)]
    async fn watch(
        &self,
        request: GrpcRequest<proto::WatchRequest>,
    ) -> Result<GrpcResponse<Self::WatchStream>, Status> {
        let from = request.into_inner().from_index;
        let permit = self.stream_permit()?;
        // A site-scoped caller learns that the state changed (index and
        // time), not what or who changed it elsewhere: that is the audit's.
        let scoped = crate::auth::caller()
            .is_some_and(|c| crate::scope::limit(&c, Permission::Watch).is_some());
        let rx = self.follow_audit(permit, from, move |a| proto::Change {
            entry: Some(if scoped {
                proto::AuditEntry {
                    index: a.index,
                    time: Some(ts(a.time)),
                    ..Default::default()
                }
            } else {
                audit_entry(a)
            }),
        });
        Ok(GrpcResponse::new(Box::pin(ReceiverStream::new(rx))))
    }
}

impl Api {
    /// Send the audit entries from `from` on (0: only new ones), then each
    /// new one, until the client goes away or the node stops.
    pub(crate) fn follow_audit<T: Send + 'static>(
        &self,
        permit: crate::streams::StreamPermit,
        from: u64,
        make: impl Fn(&StoreAudit) -> T + Send + 'static,
    ) -> mpsc::Receiver<Result<T, Status>> {
        let (tx, rx) = mpsc::channel(64);
        let api = self.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let mut next = if from == 0 {
                api.core.view.applied_index().map_or(1, |i| i + 1)
            } else {
                from
            };
            loop {
                let applied = api.core.view.current();
                for a in applied.state.audit_from(next).iter() {
                    if tx.send(Ok(make(a))).await.is_err() {
                        return;
                    }
                    next = a.index + 1;
                }
                let seen = applied.index;
                let next_change = api.next_change(seen, Duration::from_secs(3600));
                if until_closed(&tx, next_change).await != Some(true) {
                    return;
                }
            }
        });
        rx
    }
}

// ---------------------------------------------------------------------------
// Dispatch
// ---------------------------------------------------------------------------

fn case_of(field: &str, c: Option<&proto::Case>) -> Result<Case, Status> {
    let c = c.ok_or_else(|| Status::invalid_argument(format!("{field}: missing")))?;
    let case_id = id(&format!("{field}.case_id"), &c.case_id, CaseId::new)?;
    let origin = id(
        &format!("{field}.origin_station_id"),
        &c.origin_station_id,
        StationId::new,
    )?;
    let clock = time(
        &format!("{field}.clock_started_at"),
        c.clock_started_at.as_ref(),
    )?;
    let category: LegalCategory = word(&format!("{field}.category"), &c.category, CATEGORIES)?;
    let mut persons = Vec::new();
    for (i, p) in c.persons.iter().enumerate() {
        let f = format!("{field}.persons[{i}]");
        persons.push(Person {
            id: id(&format!("{f}.person_id"), &p.person_id, PersonId::new)?,
            gender: word(&format!("{f}.gender"), &p.gender, "female, male")?,
            juvenile: p.juvenile,
            co_suspect_group: optional_id(
                &format!("{f}.co_suspect_group"),
                &p.co_suspect_group,
                GroupId::new,
            )?,
        });
    }
    Case::new(case_id, origin, clock, category, persons)
        .map_err(|e| invalid(&format!("{field}.{}", e.field), e.value, e.reason))
}

fn method(value: &str) -> Result<Method, Status> {
    match value {
        "" | "milp" => Ok(Method::Milp),
        "greedy" => Ok(Method::Greedy),
        other => Err(invalid("method", other, "not one of milp, greedy")),
    }
}

#[tonic::async_trait]
impl DispatchService for Api {
    #[tracing::instrument(name = "casehub.v1.DispatchService/SubmitCase", skip_all)]
    async fn submit_case(
        &self,
        request: GrpcRequest<proto::SubmitCaseRequest>,
    ) -> Result<GrpcResponse<proto::ProposePlanReply>, Status> {
        let r = request.into_inner();
        let case = case_of("case", r.case.as_ref())?;
        let given = match r.case.as_ref() {
            Some(c) => crate::grpc_cases::given("case", c)?,
            None => Default::default(),
        };
        meta(r.meta.as_ref())?;
        self.known(
            "case.origin_station_id",
            EntityRef::Station(case.origin.clone()),
        )
        .await?;
        let id = case.id.clone();
        let command = self.submit_command(case, given)?;
        let ack = self
            .write("SubmitCase", r.meta.as_ref(), 0, command)
            .await?;
        // Read our own write: this node may be a follower not there yet.
        self.applied(ack.log_index).await?;
        // Plan it with the others still waiting, on the state that has it.
        let api = self.clone();
        let ids = vec![id];
        let scope = crate::auth::caller()
            .and_then(|c| crate::scope::limit(&c, Permission::SubmitCase).cloned());
        let span = tracing::Span::current();
        let reply = tokio::task::spawn_blocking(move || {
            span.in_scope(|| api.propose(&ids, Method::Milp, scope.as_ref(), None))
        })
        .await
        .map_err(|e| Status::internal(format!("planning task: {e}")))??;
        Ok(GrpcResponse::new(reply))
    }

    #[tracing::instrument(name = "casehub.v1.DispatchService/GetCase", skip_all)]
    async fn get_case(
        &self,
        request: GrpcRequest<proto::GetCaseRequest>,
    ) -> Result<GrpcResponse<proto::CaseRecord>, Status> {
        self.get_case_impl(request).await
    }

    #[tracing::instrument(name = "casehub.v1.DispatchService/ListCases", skip_all)]
    async fn list_cases(
        &self,
        request: GrpcRequest<proto::ListCasesRequest>,
    ) -> Result<GrpcResponse<proto::ListCasesReply>, Status> {
        self.list_cases_impl(request).await
    }

    #[tracing::instrument(name = "casehub.v1.DispatchService/ProposePlan", skip_all)]
    async fn propose_plan(
        &self,
        request: GrpcRequest<proto::ProposePlanRequest>,
    ) -> Result<GrpcResponse<proto::ProposePlanReply>, Status> {
        let r = request.into_inner();
        let ids = r
            .case_ids
            .iter()
            .enumerate()
            .map(|(i, c)| id(&format!("case_ids[{i}]"), c, CaseId::new))
            .collect::<Result<Vec<_>, _>>()?;
        let m = method(&r.method)?;
        let restriction = match r.restriction.as_ref() {
            Some(pr) => self.restriction(pr, &ids)?,
            None => None,
        };
        let api = self.clone();
        let span = tracing::Span::current();
        let scope = dispatch_scope();
        let reply = tokio::task::spawn_blocking(move || {
            span.in_scope(|| api.propose(&ids, m, scope.as_ref(), restriction))
        })
        .await
        .map_err(|e| Status::internal(format!("planning task: {e}")))??;
        Ok(GrpcResponse::new(reply))
    }

    #[tracing::instrument(name = "casehub.v1.DispatchService/AcceptPlan", skip_all)]
    async fn accept_plan(
        &self,
        request: GrpcRequest<proto::AcceptPlanRequest>,
    ) -> Result<GrpcResponse<proto::WriteAck>, Status> {
        let r = request.into_inner();
        let (client_id, request_id, _, _) = meta(r.meta.as_ref())?;
        // Validate on the latest state; a retry is answered as the first time.
        let read = self
            .core
            .read_linearizable()
            .await
            .map_err(|e| cluster_status("AcceptPlan", &e))?;
        if let Some(first) = read.state().earlier_response(&client_id, request_id) {
            return match first {
                Response::Applied { .. } => {
                    let log_index = read.state().applied_at(&client_id, request_id).unwrap_or(0);
                    Ok(GrpcResponse::new(proto::WriteAck {
                        log_index,
                        duplicate: true,
                    }))
                }
                Response::Rejected { reason, conflicts } => Err(rejected_status(reason, conflicts)),
            };
        }
        if r.plan_json.trim().is_empty() {
            return Err(Status::invalid_argument("plan_json: missing"));
        }
        let plan: Plan = serde_json::from_str(&r.plan_json).map_err(|e| {
            Status::invalid_argument(format!(
                "plan_json: line {} column {}: {e}",
                e.line(),
                e.column()
            ))
        })?;
        if r.versions.is_empty() {
            return Err(Status::invalid_argument(
                "versions: missing; send back the versions the plan was proposed with",
            ));
        }
        let mut expected = Vec::new();
        for (i, v) in r.versions.iter().enumerate() {
            expected.push((
                entity_ref(&format!("versions[{i}]"), &v.kind, &v.id)?,
                v.version,
            ));
        }
        let only = r
            .case_ids
            .iter()
            .enumerate()
            .map(|(i, c)| id(&format!("case_ids[{i}]"), c, CaseId::new))
            .collect::<Result<Vec<_>, _>>()?;
        let mut plan = plan;
        plan.cases
            .retain(|cp| !cp.pinned && (only.is_empty() || only.contains(&cp.case)));
        if plan.cases.is_empty() {
            return Err(Status::invalid_argument(
                "plan_json: no case of the plan to commit (case_ids names none of it)",
            ));
        }
        plan.blocked.clear();
        let reason = override_reason(&r.override_reason)?;
        if reason.is_some() && !read.state().rules_at_least(5) {
            return Err(Status::failed_precondition(format!(
                "override_reason: overrides need rules version 5 on every node; the cluster applies version {}",
                read.state().applied_rules()
            )));
        }
        // Every rule again, on the state as it is now, with the plan's cases
        // as the pending ones: an override may have broken one. "Now" is the
        // node's clock (the plan's own, if it was proposed within
        // ACCEPT_GRACE): a client cannot move it to book the past.
        let ids: Vec<CaseId> = plan.cases.iter().map(|c| c.case.clone()).collect();
        let node_now = Utc::now();
        let now = plan.now.clamp(node_now - ACCEPT_GRACE, node_now);
        let state = read.state();
        let (region, travel, region_version) =
            self.ctx.region_model(state).map_err(region_status)?;
        if plan.region_version != region_version {
            return Err(Status::failed_precondition(format!(
                "plan_json: the plan was made from region version {}; the cluster's region is at version {region_version}: propose again",
                plan.region_version
            )));
        }
        let s = planning_state(state, region, travel, now, &ids).map_err(dispatch_status)?;
        let violations = validate(&s, &plan);
        if !violations.is_empty() {
            let list: Vec<String> = violations.iter().map(|v| format!("{v:?}")).collect();
            return Err(Status::failed_precondition(format!(
                "the plan breaks {} rule(s): {}",
                list.len(),
                list.join("; ")
            )));
        }
        let bookings = plan_bookings_for(&plan, &[]);
        if r.validate_only {
            // What the commit would say of the versions; nothing is written.
            let stale: Vec<Conflict> = expected
                .iter()
                .filter_map(|(entity, v)| match read.state().version_of(entity) {
                    Some(actual) if actual != *v => Some(Conflict::StaleVersion {
                        entity: entity.clone(),
                        expected: *v,
                        actual,
                    }),
                    Some(_) => None,
                    None => Some(Conflict::Unknown {
                        entity: entity.clone(),
                    }),
                })
                .collect();
            if !stale.is_empty() {
                return Err(rejected_status(
                    "the plan was computed against stale versions",
                    &stale,
                ));
            }
            return Ok(GrpcResponse::new(proto::WriteAck {
                log_index: 0,
                duplicate: false,
            }));
        }
        let command = if state.rules_at_least(6) {
            // Checked again at commit, against every rule of the catalogue.
            Command::AcceptPlan {
                plans: plan.cases.clone(),
                now,
                region_version,
                expected_versions: expected,
                reason,
            }
        } else {
            match reason {
                Some(reason) => Command::OverridePlan {
                    bookings,
                    expected_versions: expected,
                    reason,
                },
                None => Command::CommitPlan {
                    bookings,
                    expected_versions: expected,
                },
            }
        };
        let ack = self
            .write("AcceptPlan", r.meta.as_ref(), 0, command)
            .await?;
        Ok(GrpcResponse::new(ack))
    }

    #[tracing::instrument(name = "casehub.v1.DispatchService/StartStep", skip_all)]
    async fn start_step(
        &self,
        request: GrpcRequest<proto::StepRequest>,
    ) -> Result<GrpcResponse<proto::WriteAck>, Status> {
        let r = request.into_inner();
        let (case, person, step) = step_of(&r)?;
        let ack = self
            .write(
                "StartStep",
                r.meta.as_ref(),
                0,
                Command::StartStep { case, person, step },
            )
            .await?;
        Ok(GrpcResponse::new(ack))
    }

    #[tracing::instrument(name = "casehub.v1.DispatchService/CompleteStep", skip_all)]
    async fn complete_step(
        &self,
        request: GrpcRequest<proto::StepRequest>,
    ) -> Result<GrpcResponse<proto::WriteAck>, Status> {
        let r = request.into_inner();
        let (case, person, step) = step_of(&r)?;
        self.known("case_id", EntityRef::Case(case.clone())).await?;
        let ack = self
            .write(
                "CompleteStep",
                r.meta.as_ref(),
                0,
                Command::CompleteStep { case, person, step },
            )
            .await?;
        Ok(GrpcResponse::new(ack))
    }

    type WatchProposalsStream = BoxStream<proto::ProposePlanReply>;

    #[tracing::instrument(name = "casehub.v1.DispatchService/WatchProposals", skip_all)]
    async fn watch_proposals(
        &self,
        request: GrpcRequest<proto::WatchProposalsRequest>,
    ) -> Result<GrpcResponse<Self::WatchProposalsStream>, Status> {
        let m = method(&request.into_inner().method)?;
        let permit = self.stream_permit()?;
        let (tx, rx) = mpsc::channel(16);
        let api = self.clone();
        // Taken here: the stream's task runs outside the call's scope.
        let scope = dispatch_scope();
        tokio::spawn(async move {
            let _permit = permit;
            loop {
                let applied = api.core.view.current();
                let waiting = !api
                    .waiting_in_scope(&applied.state, scope.as_ref())
                    .is_empty();
                if waiting {
                    let a = api.clone();
                    let scope = scope.clone();
                    let reply = tokio::task::spawn_blocking(move || {
                        a.propose(&[], m, scope.as_ref(), None)
                    })
                    .await
                    .unwrap_or_else(|e| Err(Status::internal(format!("planning task: {e}"))));
                    if tx.send(reply).await.is_err() {
                        return;
                    }
                }
                let next_change = api.next_change(applied.index, Duration::from_secs(3600));
                if until_closed(&tx, next_change).await != Some(true) {
                    return;
                }
            }
        });
        Ok(GrpcResponse::new(Box::pin(ReceiverStream::new(rx))))
    }

    #[tracing::instrument(name = "casehub.v1.DispatchService/ReportDelay", skip_all)]
    async fn report_delay(
        &self,
        request: GrpcRequest<proto::ReportDelayRequest>,
    ) -> Result<GrpcResponse<proto::ReportDelayReply>, Status> {
        let r = request.into_inner();
        let case = id("case_id", &r.case_id, CaseId::new)?;
        let team = optional_id("team_id", &r.team_id, TeamId::new)?;
        if r.minutes == 0 || r.minutes > MAX_DELAY_MIN {
            return Err(invalid(
                "minutes",
                r.minutes,
                format!("must be between 1 and {MAX_DELAY_MIN}"),
            ));
        }
        if r.reason.chars().count() > MAX_REASON_CHARS {
            return Err(Status::invalid_argument(format!(
                "reason: longer than {MAX_REASON_CHARS} characters"
            )));
        }
        let (client_id, request_id, _, _) = meta(r.meta.as_ref())?;
        self.known("case_id", EntityRef::Case(case.clone())).await?;
        if let Some(t) = &team {
            self.known("team_id", EntityRef::Team(t.clone())).await?;
        }
        let ack = self
            .write(
                "ReportDelay",
                r.meta.as_ref(),
                0,
                Command::ReportDelay {
                    case: case.clone(),
                    team,
                    minutes: r.minutes,
                    picked_up: r.picked_up,
                    reason: r.reason.trim().to_string(),
                },
            )
            .await?;
        // What it did, as the state machine recorded it for this request
        // (several requests can share a log index).
        let view = self.core.view.current();
        let delay = view.state.cases.get(&case).and_then(|c| {
            c.value
                .delays
                .iter()
                .find(|d| d.client_id == client_id && d.request_id == request_id)
        });
        let (outcome, replanned, conflicts) = match delay.map(|d| &d.outcome) {
            Some(DelayOutcome::Slipped { replanned }) => (
                "slipped",
                replanned.iter().map(|c| c.to_string()).collect(),
                Vec::new(),
            ),
            Some(DelayOutcome::Replanned) => ("replanned", vec![case.to_string()], Vec::new()),
            Some(DelayOutcome::Broken { conflicts }) => ("broken", Vec::new(), conflicts.clone()),
            None => {
                return Err(Status::failed_precondition(format!(
                    "meta.request_id: request {request_id} of client {client_id} was applied at log index {} and is not a delay report of case {case}",
                    ack.log_index
                )));
            }
        };
        Ok(GrpcResponse::new(proto::ReportDelayReply {
            ack: Some(ack),
            outcome: outcome.into(),
            replanned_case_ids: replanned,
            conflicts,
        }))
    }

    #[tracing::instrument(name = "casehub.v1.DispatchService/ExitCase", skip_all)]
    async fn exit_case(
        &self,
        request: GrpcRequest<proto::ExitCaseRequest>,
    ) -> Result<GrpcResponse<proto::WriteAck>, Status> {
        let r = request.into_inner();
        let case = id("case_id", &r.case_id, CaseId::new)?;
        meta(r.meta.as_ref())?;
        let disposition = match r.disposition.trim() {
            "" => None,
            d => Some(
                d.parse::<casehub_model::Disposition>()
                    .map_err(|e| invalid("disposition", d, e.reason))?,
            ),
        };
        if disposition.is_some() {
            let state = &self.core.read_local().applied.state;
            if !state.rules_at_least(5) {
                return Err(Status::failed_precondition(format!(
                    "disposition: needs rules version 5 on every node; the cluster applies version {}",
                    state.applied_rules()
                )));
            }
        }
        self.known("case_id", EntityRef::Case(case.clone())).await?;
        let ack = self
            .write(
                "ExitCase",
                r.meta.as_ref(),
                0,
                Command::ExitCase { case, disposition },
            )
            .await?;
        Ok(GrpcResponse::new(ack))
    }
}

fn step_of(r: &proto::StepRequest) -> Result<(CaseId, PersonId, Step), Status> {
    Ok((
        id("case_id", &r.case_id, CaseId::new)?,
        id("person_id", &r.person_id, PersonId::new)?,
        word("step", &r.step, STEPS)?,
    ))
}

// ---------------------------------------------------------------------------
// Alerts
// ---------------------------------------------------------------------------

impl Api {
    /// The alerts standing now, of `site` (or all), within `scope` (a
    /// site-scoped caller's sites; `None`: every site).
    fn standing(
        &self,
        site: &Option<SiteId>,
        scope: Option<&BTreeSet<SiteId>>,
    ) -> (u64, Vec<StoreAlert>) {
        let read = self.core.read_local();
        let state = read.state();
        let travel = self.ctx.travel(state);
        let case_sites = scope.map(|_| crate::scope::sites_by_case(state, travel));
        let list = alerts(
            read.state(),
            self.ctx.shifts(state),
            self.ctx.utc_offset_min(state),
            Utc::now(),
        )
        .into_iter()
        .filter(|a| {
            self.alert_in_view(
                state,
                case_sites.as_ref(),
                site,
                scope,
                (&a.case, &a.site, &a.station),
            )
        })
        .collect();
        (read.applied_index().unwrap_or(0), list)
    }

    /// Whether an alert about (case, site, station) is in the site filter
    /// and the caller's scope.
    fn alert_in_view(
        &self,
        state: &casehub_store::SchedulingState,
        case_sites: Option<&std::collections::BTreeMap<CaseId, BTreeSet<SiteId>>>,
        site: &Option<SiteId>,
        scope: Option<&BTreeSet<SiteId>>,
        about: (&Option<CaseId>, &Option<SiteId>, &Option<StationId>),
    ) -> bool {
        let (case, a_site, station) = about;
        if site.is_some() && a_site.is_some() && a_site != site {
            return false;
        }
        let Some(scope) = scope else { return true };
        let sites: BTreeSet<SiteId> = match (case, a_site, station) {
            (Some(case), _, _) => case_sites
                .and_then(|all| all.get(case).cloned())
                .unwrap_or_default(),
            (None, Some(site), _) => BTreeSet::from([site.clone()]),
            (None, None, Some(station)) => {
                crate::scope::home_site(state, self.ctx.travel(state), station)
                    .into_iter()
                    .collect()
            }
            // A condition of the whole region.
            (None, None, None) => return true,
        };
        crate::scope::allows(Some(scope), &sites)
    }
}

/// The sites the caller's dispatching is limited to (see [`crate::scope`]).
fn dispatch_scope() -> Option<BTreeSet<SiteId>> {
    crate::auth::caller().and_then(|c| crate::scope::limit(&c, Permission::Dispatch).cloned())
}

/// The sites the caller's alerts are limited to (see [`crate::scope`]).
fn alert_scope() -> Option<BTreeSet<SiteId>> {
    crate::auth::caller().and_then(|c| crate::scope::limit(&c, Permission::ReadAlerts).cloned())
}

#[tonic::async_trait]
impl AlertService for Api {
    #[tracing::instrument(name = "casehub.v1.AlertService/ListAlerts", skip_all)]
    async fn list_alerts(
        &self,
        request: GrpcRequest<proto::ListAlertsRequest>,
    ) -> Result<GrpcResponse<proto::ListAlertsReply>, Status> {
        let r = request.into_inner();
        let site = optional_id("site_id", &r.site_id, SiteId::new)?;
        let limit = match r.limit {
            0 => DEFAULT_ALERT_HISTORY,
            l if l <= MAX_ALERT_HISTORY => l,
            l => {
                return Err(invalid(
                    "limit",
                    l,
                    format!("must be 0 (default {DEFAULT_ALERT_HISTORY}) to {MAX_ALERT_HISTORY}"),
                ));
            }
        };
        let read = self.core.read_local();
        check_site(&read.applied.state, site.as_ref()).map_err(query_status)?;
        let scope = alert_scope();
        let (applied_index, list) = self.standing(&site, scope.as_ref());
        let records = &read.state().alerts;
        let mut alerts: Vec<proto::Alert> = list
            .iter()
            .map(|a| alert_message(a, records.open.get(&a.key)))
            .collect();
        if r.history {
            let state = read.state();
            let case_sites = scope
                .as_ref()
                .map(|_| crate::scope::sites_by_case(state, self.ctx.travel(state)));
            alerts.extend(
                records
                    .history
                    .iter()
                    .rev()
                    .filter(|rec| {
                        let a = &rec.alert;
                        self.alert_in_view(
                            state,
                            case_sites.as_ref(),
                            &site,
                            scope.as_ref(),
                            (&a.case, &a.site, &a.station),
                        )
                    })
                    .take(limit as usize)
                    .map(record_message),
            );
        }
        Ok(GrpcResponse::new(proto::ListAlertsReply {
            applied_index,
            alerts,
        }))
    }

    #[tracing::instrument(name = "casehub.v1.AlertService/AcknowledgeAlert", skip_all)]
    async fn acknowledge_alert(
        &self,
        request: GrpcRequest<proto::AcknowledgeAlertRequest>,
    ) -> Result<GrpcResponse<proto::WriteAck>, Status> {
        let r = request.into_inner();
        let key = r.key.trim().to_string();
        if key.is_empty() {
            return Err(Status::invalid_argument("key: missing"));
        }
        // The caller must see the alert (its sites), and it must be open.
        let scope = crate::auth::caller()
            .and_then(|c| crate::scope::limit(&c, Permission::AcknowledgeAlerts).cloned());
        {
            let read = self.core.read_local();
            let state = read.state();
            if !state.rules_at_least(5) {
                return Err(Status::failed_precondition(format!(
                    "alerts are recorded from rules version 5 on; the cluster applies version {}",
                    state.applied_rules()
                )));
            }
            let case_sites = scope
                .as_ref()
                .map(|_| crate::scope::sites_by_case(state, self.ctx.travel(state)));
            match state.alerts.open.get(&key) {
                Some(rec)
                    if self.alert_in_view(
                        state,
                        case_sites.as_ref(),
                        &None,
                        scope.as_ref(),
                        (&rec.alert.case, &rec.alert.site, &rec.alert.station),
                    ) => {}
                _ => {
                    let (_, standing) = self.standing(&None, scope.as_ref());
                    if standing.iter().any(|a| a.key == key) {
                        return Err(Status::unavailable(format!(
                            "key: alert {key} is being recorded by the leader; retry in a few seconds"
                        )));
                    }
                    return Err(Status::not_found(format!("key: no open alert {key}")));
                }
            }
        }
        let ack = self
            .write(
                "AcknowledgeAlert",
                r.meta.as_ref(),
                0,
                Command::AcknowledgeAlert { key },
            )
            .await?;
        Ok(GrpcResponse::new(ack))
    }

    type StreamAlertsStream = BoxStream<proto::Alert>;

    #[tracing::instrument(name = "casehub.v1.AlertService/StreamAlerts", skip_all)]
    async fn stream_alerts(
        &self,
        request: GrpcRequest<proto::StreamAlertsRequest>,
    ) -> Result<GrpcResponse<Self::StreamAlertsStream>, Status> {
        let r = request.into_inner();
        let site = optional_id("site_id", &r.site_id, SiteId::new)?;
        check_site(&self.core.read_local().applied.state, site.as_ref()).map_err(query_status)?;
        let every = match r.check_every_s {
            0 => DEFAULT_CHECK_S,
            s if s <= MAX_CHECK_S => s,
            s => {
                return Err(invalid(
                    "check_every_s",
                    s,
                    "must be 0 (default 30) to 3600",
                ));
            }
        };
        let permit = self.stream_permit()?;
        let (tx, rx) = mpsc::channel(64);
        let api = self.clone();
        // Taken here: the stream's task runs outside the call's scope.
        let scope = alert_scope();
        tokio::spawn(async move {
            let _permit = permit;
            // Keys of the conditions already sent and still standing.
            let mut sent: BTreeSet<String> = BTreeSet::new();
            loop {
                let (index, list) = api.standing(&site, scope.as_ref());
                let standing: BTreeSet<String> = list.iter().map(|a| a.key.clone()).collect();
                for a in list.iter().filter(|a| !sent.contains(&a.key)) {
                    let record = api
                        .core
                        .view
                        .current()
                        .state
                        .alerts
                        .open
                        .get(&a.key)
                        .cloned();
                    if tx
                        .send(Ok(alert_message(a, record.as_ref())))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                sent = standing;
                let next_change =
                    api.next_change(Some(index), Duration::from_secs(u64::from(every)));
                if until_closed(&tx, next_change).await != Some(true) {
                    return;
                }
            }
        });
        Ok(GrpcResponse::new(Box::pin(ReceiverStream::new(rx))))
    }
}

// ---------------------------------------------------------------------------
// Admin
// ---------------------------------------------------------------------------

fn entity_json<T: DeserializeOwned>(kind: &str, json: &str) -> Result<T, Status> {
    serde_json::from_str(json).map_err(|e| {
        Status::invalid_argument(format!(
            "json: not a valid {kind}: line {} column {}: {e}",
            e.line(),
            e.column()
        ))
    })
}

impl Api {
    fn cluster(&self) -> proto::ClusterStatusReply {
        let m = self.core.raft.metrics().borrow().clone();
        let membership = m.membership_config.membership();
        let voters: BTreeSet<u64> = membership.voter_ids().collect();
        let leader_addr = m
            .current_leader
            .and_then(|l| membership.get_node(&l).map(|n| n.addr.clone()))
            .unwrap_or_default();
        proto::ClusterStatusReply {
            node_id: self.core.id,
            leader_id: m.current_leader.unwrap_or(0),
            leader_addr,
            term: m.current_term,
            applied_index: m.last_applied.map_or(0, |l| l.index),
            members: membership
                .nodes()
                .map(|(id, n)| proto::Member {
                    node_id: *id,
                    addr: n.addr.clone(),
                    voter: voters.contains(id),
                    matched_index: m
                        .replication
                        .as_ref()
                        .and_then(|r| r.get(id).copied().flatten())
                        .map(|l| l.index)
                        .or_else(|| {
                            (m.replication.is_some() && *id == self.core.id)
                                .then_some(m.last_log_index)
                                .flatten()
                        })
                        .unwrap_or(0),
                })
                .collect(),
        }
    }

    /// A membership change must be made on the leader: name it otherwise.
    fn leader_only(&self, rpc: &str) -> Result<(), Status> {
        let reply = self.cluster();
        if reply.leader_id == self.core.id {
            return Ok(());
        }
        let mut status = if reply.leader_id == 0 {
            Status::unavailable(format!("{rpc}: no leader is known; retry"))
        } else {
            Status::failed_precondition(format!(
                "{rpc}: node {} is not the leader; send it to node {} at {}",
                self.core.id, reply.leader_id, reply.leader_addr
            ))
        };
        if let Ok(v) = reply.leader_addr.parse() {
            status.metadata_mut().insert(crate::LEADER_ADDR_KEY, v);
        }
        Err(status)
    }
}

#[tonic::async_trait]
impl AdminService for Api {
    #[tracing::instrument(name = "casehub.v1.AdminService/Upsert", skip_all)]
    async fn upsert(
        &self,
        request: GrpcRequest<proto::UpsertRequest>,
    ) -> Result<GrpcResponse<proto::WriteAck>, Status> {
        let r = request.into_inner();
        meta(r.meta.as_ref())?;
        let command = match r.kind.as_str() {
            "site" => Command::UpsertSite(entity_json::<Site>("site", &r.json)?),
            "station" => Command::UpsertStation(entity_json::<Station>("station", &r.json)?),
            "officer" => Command::UpsertOfficer(entity_json::<Officer>("officer", &r.json)?),
            "team" => Command::UpsertTeam(entity_json::<EscortTeam>("team", &r.json)?),
            "policy" => Command::SetPolicy(entity_json::<Policy>("policy", &r.json)?),
            other => {
                return Err(invalid(
                    "kind",
                    other,
                    "not one of site, station, officer, team, policy",
                ));
            }
        };
        let ack = self.write("Upsert", r.meta.as_ref(), 0, command).await?;
        Ok(GrpcResponse::new(ack))
    }

    #[tracing::instrument(name = "casehub.v1.AdminService/LoadRegion", skip_all)]
    async fn load_region(
        &self,
        request: GrpcRequest<proto::LoadRegionRequest>,
    ) -> Result<GrpcResponse<proto::LoadRegionReply>, Status> {
        let r = request.into_inner();
        let (_, first_id, _, _) = meta(r.meta.as_ref())?;
        let name = if r.file_name.is_empty() {
            "region.toml"
        } else {
            r.file_name.as_str()
        };
        let region = casehub_model::scenario::parse_region(name, &r.text)
            .map_err(|e| Status::invalid_argument(format!("text: {e}")))?;
        let mut commands = region_commands(&region);
        // The static parts, last: the table must cover the stations and
        // sites registered before it.
        if self.core.read_local().state().rules_at_least(6) {
            let table = region_table(&region, &r.travel_table_json)?;
            commands.push(Command::SetRegion(Box::new(RegionStatic::of(
                &region, table,
            ))));
        }
        // One request id per command, from meta.request_id: all of them must
        // exist before the first is written.
        if first_id.checked_add(commands.len() as u64).is_none() {
            return Err(invalid(
                "meta.request_id",
                first_id,
                format!(
                    "the region takes {} request ids from it: past the largest id",
                    commands.len()
                ),
            ));
        }
        let mut applied = 0;
        let mut last_index = 0;
        for (i, c) in commands.into_iter().enumerate() {
            let ack = self
                .write("LoadRegion", r.meta.as_ref(), i as u64, c)
                .await?;
            applied += 1;
            last_index = ack.log_index;
        }
        let read = self
            .core
            .read_linearizable()
            .await
            .map_err(|e| cluster_status("LoadRegion", &e))?;
        let (region_version, region_digest) = read
            .state()
            .region
            .as_ref()
            .map(|r| (r.version, r.digest.clone()))
            .unwrap_or_default();
        Ok(GrpcResponse::new(proto::LoadRegionReply {
            applied,
            last_index,
            region_version,
            region_digest,
        }))
    }

    #[tracing::instrument(name = "casehub.v1.AdminService/ClusterStatus", skip_all)]
    async fn cluster_status(
        &self,
        _request: GrpcRequest<proto::ClusterStatusRequest>,
    ) -> Result<GrpcResponse<proto::ClusterStatusReply>, Status> {
        Ok(GrpcResponse::new(self.cluster()))
    }

    #[tracing::instrument(name = "casehub.v1.AdminService/AddLearner", skip_all)]
    async fn add_learner(
        &self,
        request: GrpcRequest<proto::AddNodeRequest>,
    ) -> Result<GrpcResponse<proto::ClusterStatusReply>, Status> {
        let r = request.into_inner();
        if r.node_id == 0 {
            return Err(invalid("node_id", 0, "must be at least 1"));
        }
        if r.addr.parse::<std::net::SocketAddr>().is_err() && !r.addr.contains(':') {
            return Err(invalid("addr", &r.addr, "not host:port"));
        }
        self.leader_only("AddLearner")?;
        // A node must apply the cluster's rules (see `rules`): one of an
        // older build would apply the log differently.
        let applies = self.core.view.current().state.applied_rules();
        match crate::rules::version_at(&self.core, r.node_id, &r.addr).await {
            0 => {
                return Err(Status::unavailable(format!(
                    "addr: node {} at {} does not answer; start it before adding it",
                    r.node_id, r.addr
                )));
            }
            theirs if theirs < applies => {
                return Err(Status::failed_precondition(format!(
                    "addr: node {} at {} applies rules version {theirs}, the cluster applies {applies}: upgrade it first",
                    r.node_id, r.addr
                )));
            }
            _ => {}
        }
        self.core
            .raft
            .add_learner(r.node_id, BasicNode::new(r.addr.clone()), true)
            .await
            .map_err(|e| Status::new(Code::FailedPrecondition, format!("AddLearner: {e}")))?;
        Ok(GrpcResponse::new(self.cluster()))
    }

    #[tracing::instrument(name = "casehub.v1.AdminService/AddAbsence", skip_all)]
    async fn add_absence(
        &self,
        request: GrpcRequest<proto::AddAbsenceRequest>,
    ) -> Result<GrpcResponse<proto::WriteAck>, Status> {
        let r = request.into_inner();
        let command = crate::grpc_resources::add_absence(&r)?;
        self.resource_write("AddAbsence", r.meta.as_ref(), command)
            .await
    }

    #[tracing::instrument(name = "casehub.v1.AdminService/RemoveAbsence", skip_all)]
    async fn remove_absence(
        &self,
        request: GrpcRequest<proto::RemoveAbsenceRequest>,
    ) -> Result<GrpcResponse<proto::WriteAck>, Status> {
        let r = request.into_inner();
        let command = crate::grpc_resources::remove_absence(&r)?;
        self.resource_write("RemoveAbsence", r.meta.as_ref(), command)
            .await
    }

    #[tracing::instrument(name = "casehub.v1.AdminService/SetActive", skip_all)]
    async fn set_active(
        &self,
        request: GrpcRequest<proto::SetActiveRequest>,
    ) -> Result<GrpcResponse<proto::WriteAck>, Status> {
        let r = request.into_inner();
        let command = crate::grpc_resources::set_active(&r)?;
        self.resource_write("SetActive", r.meta.as_ref(), command)
            .await
    }

    #[tracing::instrument(name = "casehub.v1.AdminService/ChangeMembership", skip_all)]
    async fn change_membership(
        &self,
        request: GrpcRequest<proto::ChangeMembershipRequest>,
    ) -> Result<GrpcResponse<proto::ClusterStatusReply>, Status> {
        let r = request.into_inner();
        if r.voters.is_empty() {
            return Err(Status::invalid_argument(
                "voters: missing; name at least one node",
            ));
        }
        let known: BTreeSet<u64> = self.cluster().members.iter().map(|m| m.node_id).collect();
        if let Some(v) = r.voters.iter().find(|v| !known.contains(v)) {
            return Err(Status::not_found(format!(
                "voters: node {v} is not a member; add it as a learner first"
            )));
        }
        self.leader_only("ChangeMembership")?;
        let voters: BTreeSet<u64> = r.voters.iter().copied().collect();
        self.core
            .raft
            .change_membership(voters, r.retain)
            .await
            .map_err(|e| Status::failed_precondition(format!("ChangeMembership: {e}")))?;
        Ok(GrpcResponse::new(self.cluster()))
    }
}

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
