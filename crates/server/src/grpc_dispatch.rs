//! `DispatchService`: cases submitted, plans proposed and accepted, steps,
//! exits, delays and the proposals stream.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::streams::until_closed;
use tonic::{Request as GrpcRequest, Response as GrpcResponse, Status};

use casehub_model::{CaseId, PersonId, SiteId, StationId, Step, TeamId};
use casehub_planning::{Method, Plan, validate};
use casehub_store::alerts::{Alert as StoreAlert, alerts};
use casehub_store::state::{DelayOutcome, MAX_DELAY_MIN, MAX_REASON_CHARS};
use casehub_store::{AuditEntry as StoreAudit, Command, Conflict, EntityRef, Response};

use crate::auth::Permission;
use crate::dispatch::{plan_bookings_for, planning_state};
use crate::proto;
use crate::proto::dispatch_service_server::DispatchService;
use crate::service::cluster_status;

use crate::grpc_api::*;

impl Api {
    /// Send the audit entries from `from` on (0: only new ones; the
    /// archived ones first), then each new one, until the client goes away
    /// or the node stops.
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
            // Entries before the live audit's are in the node's archive:
            // send them first, a page at a time.
            loop {
                let applied = api.core.view.current();
                let live_from = applied.state.audit.front().map_or(u64::MAX, |e| e.index);
                if applied.state.archived.is_none() || next >= live_from {
                    break;
                }
                let archive = api.core.view.archive().clone();
                let from = next;
                let page = tokio::task::spawn_blocking(move || {
                    let mut page = Vec::new();
                    archive
                        .audit_from(from, |a| {
                            if a.index >= live_from || page.len() >= ARCHIVE_PAGE {
                                return std::ops::ControlFlow::Break(());
                            }
                            page.push(a);
                            std::ops::ControlFlow::Continue(())
                        })
                        .map(|()| page)
                })
                .await;
                let page = match page
                    .map_err(|e| e.to_string())
                    .and_then(|read| read.map_err(|e| e.to_string()))
                {
                    Ok(page) => page,
                    Err(e) => {
                        let _ = tx.send(Err(Status::internal(e))).await;
                        return;
                    }
                };
                if page.is_empty() {
                    // The archive here starts later (this node caught up
                    // from a snapshot): go on from the live audit.
                    next = live_from;
                    break;
                }
                for a in &page {
                    if tx.send(Ok(make(a))).await.is_err() {
                        return;
                    }
                    next = a.index + 1;
                }
            }
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

/// Archived audit entries read at a time by a stream.
const ARCHIVE_PAGE: usize = 1000;

// ---------------------------------------------------------------------------
// Dispatch
// ---------------------------------------------------------------------------

pub(crate) fn method(value: &str) -> Result<Method, Status> {
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
        let case = crate::convert::case_from_proto("case", r.case.as_ref())?;
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

    #[tracing::instrument(name = "casehub.v1.DispatchService/RequestException", skip_all)]
    async fn request_exception(
        &self,
        request: GrpcRequest<proto::RequestExceptionRequest>,
    ) -> Result<GrpcResponse<proto::RequestExceptionReply>, Status> {
        let r = request.into_inner();
        let case = id("case_id", &r.case_id, CaseId::new)?;
        if r.kind.trim().is_empty() {
            return Err(Status::invalid_argument("kind: missing"));
        }
        if r.reason.trim().is_empty() {
            return Err(Status::invalid_argument(
                "reason: missing; an exception needs a reason",
            ));
        }
        let ack = self
            .write(
                "RequestException",
                r.meta.as_ref(),
                0,
                Command::RequestException {
                    case,
                    kind: r.kind.clone(),
                    reason: r.reason.clone(),
                },
            )
            .await?;
        Ok(GrpcResponse::new(proto::RequestExceptionReply {
            exception_id: ack.log_index,
            ack: Some(ack),
        }))
    }

    #[tracing::instrument(name = "casehub.v1.DispatchService/DecideException", skip_all)]
    async fn decide_exception(
        &self,
        request: GrpcRequest<proto::DecideExceptionRequest>,
    ) -> Result<GrpcResponse<proto::WriteAck>, Status> {
        let r = request.into_inner();
        let ack = self
            .write(
                "DecideException",
                r.meta.as_ref(),
                0,
                Command::DecideException {
                    id: r.exception_id,
                    approve: r.approve,
                    note: r.note.clone(),
                },
            )
            .await?;
        Ok(GrpcResponse::new(ack))
    }

    #[tracing::instrument(name = "casehub.v1.DispatchService/ListExceptions", skip_all)]
    async fn list_exceptions(
        &self,
        request: GrpcRequest<proto::ListExceptionsRequest>,
    ) -> Result<GrpcResponse<proto::ListExceptionsReply>, Status> {
        let r = request.into_inner();
        let read = self.core.read_local();
        let state = read.state();
        let scope = crate::auth::caller()
            .and_then(|c| crate::scope::limit(&c, Permission::ReadCases).cloned());
        let exceptions = state
            .exceptions
            .values()
            .filter(|e| !r.pending_only || e.decision.is_none())
            .filter(|e| {
                crate::scope::allows(
                    scope.as_ref(),
                    &crate::scope::case_sites(state, self.ctx.travel(state), &e.case),
                )
            })
            .map(|e| proto::ExceptionRecord {
                exception_id: e.id,
                case_id: e.case.to_string(),
                kind: e.kind.clone(),
                rule: e.rule.as_str().into(),
                reason: e.reason.clone(),
                requested_by: e.requested_by.clone(),
                requested_at: Some(ts(e.requested_at)),
                state: match (&e.decision, e.used_at) {
                    (_, Some(_)) => "used",
                    (None, _) => "pending",
                    (Some(d), _) if d.approved => "approved",
                    (Some(_), _) => "refused",
                }
                .into(),
                decided_by: e
                    .decision
                    .as_ref()
                    .map(|d| d.by.clone())
                    .unwrap_or_default(),
                decided_at: e.decision.as_ref().map(|d| ts(d.at)),
                note: e
                    .decision
                    .as_ref()
                    .map(|d| d.note.clone())
                    .unwrap_or_default(),
                used_at: e.used_at.map(ts),
            })
            .collect();
        Ok(GrpcResponse::new(proto::ListExceptionsReply { exceptions }))
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
        if !r.exception_ids.is_empty() && !state.rules_at_least(6) {
            return Err(Status::failed_precondition(format!(
                "exception_ids: exceptions need rules version 6 on every node; the cluster applies version {}",
                state.applied_rules()
            )));
        }
        state
            .check_exceptions(&r.exception_ids, &ids)
            .map_err(|e| match e {
                Response::Rejected { reason, conflicts } => rejected_status(&reason, &conflicts),
                Response::Applied { .. } => Status::internal("an exception check applied"),
            })?;
        let s = planning_state(state, region, travel, now, &ids).map_err(dispatch_status)?;
        // What an approved exception waives is not a violation.
        let violations = state.waive(validate(&s, &plan), &r.exception_ids);
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
                exceptions: r.exception_ids.clone(),
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

pub(crate) fn step_of(r: &proto::StepRequest) -> Result<(CaseId, PersonId, Step), Status> {
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
    pub(crate) fn standing(
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
    pub(crate) fn alert_in_view(
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
pub(crate) fn dispatch_scope() -> Option<BTreeSet<SiteId>> {
    crate::auth::caller().and_then(|c| crate::scope::limit(&c, Permission::Dispatch).cloned())
}
