//! `AuditService` of the casehub API: the audit trail, read, streamed and
//! verified (its hash chain, see `casehub_store::audit`).

use std::ops::ControlFlow;

use casehub_store::SchedulingState;
use casehub_store::rocks::{ArchiveReader, VerifyError};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request as GrpcRequest, Response as GrpcResponse, Status};

use crate::grpc_api::{Api, audit_entry, invalid};
use crate::proto;
use crate::proto::audit_service_server::AuditService;

type BoxStream<T> = crate::grpc_api::BoxStream<T>;

/// ReadAudit's filters, checked.
struct AuditFilter {
    actor: Option<String>,
    /// Lower case.
    contains: Option<String>,
    overrides_only: bool,
    since: Option<chrono::DateTime<chrono::Utc>>,
    until: Option<chrono::DateTime<chrono::Utc>>,
}

impl AuditFilter {
    fn of(r: &proto::ReadAuditRequest) -> Result<Self, Status> {
        let when = |field: &str, t: Option<&prost_types::Timestamp>| {
            t.map(|t| {
                chrono::DateTime::from_timestamp(t.seconds, 0)
                    .ok_or_else(|| invalid(&format!("{field}.seconds"), t.seconds, "out of range"))
            })
            .transpose()
        };
        let since = when("since", r.since.as_ref())?;
        let until = when("until", r.until.as_ref())?;
        if let (Some(a), Some(b)) = (since, until)
            && b <= a
        {
            return Err(invalid("until", b, "must be after since"));
        }
        if r.contains.chars().count() > 200 {
            return Err(invalid(
                "contains",
                r.contains.chars().count(),
                "at most 200 characters",
            ));
        }
        let text = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        Ok(AuditFilter {
            actor: text(&r.actor),
            contains: text(&r.contains).map(|c| c.to_lowercase()),
            overrides_only: r.overrides_only,
            since,
            until,
        })
    }

    fn matches(&self, a: &casehub_store::AuditEntry) -> bool {
        self.actor.as_ref().is_none_or(|x| &a.actor == x)
            && (!self.overrides_only || a.is_override())
            && self.since.is_none_or(|t| a.time >= t)
            && self.until.is_none_or(|t| a.time < t)
            && self.contains.as_ref().is_none_or(|c| {
                a.summary.to_lowercase().contains(c)
                    || a.reason
                        .as_ref()
                        .is_some_and(|r| r.to_lowercase().contains(c))
            })
    }
}

/// Audit entries per ReadAudit by default, and at most.
const DEFAULT_AUDIT_LIMIT: u32 = 1000;
const MAX_AUDIT_LIMIT: u32 = 10_000;

#[tonic::async_trait]
impl AuditService for Api {
    #[tracing::instrument(name = "casehub.v1.AuditService/ReadAudit", skip_all)]
    async fn read_audit(
        &self,
        request: GrpcRequest<proto::ReadAuditRequest>,
    ) -> Result<GrpcResponse<proto::ReadAuditReply>, Status> {
        let r = request.into_inner();
        let limit = match r.limit {
            0 => DEFAULT_AUDIT_LIMIT,
            l if l <= MAX_AUDIT_LIMIT => l,
            l => return Err(invalid("limit", l, "must be 0 (default 1000) to 10000")),
        };
        let filter = AuditFilter::of(&r)?;
        let applied = self.core.view.current();
        let archive = self.core.view.archive().clone();
        let from = r.from_index.max(1);
        let newest_first = r.newest_first;
        // The archive is read from RocksDB: off the async workers.
        let entries = tokio::task::spawn_blocking(move || {
            let mut page = Page {
                filter: &filter,
                limit: limit as usize,
                // Oldest first, requests written together share a log
                // index: the limit never splits them, so that `from_index`
                // = last index + 1 resumes.
                whole_indexes: !newest_first,
                out: Vec::new(),
                last_index: None,
            };
            read_audit_page(&applied.state, &archive, from, newest_first, &mut page)
                .map(|()| page.out)
        })
        .await
        .map_err(|e| Status::internal(format!("reading the audit: {e}")))?
        .map_err(|e| Status::internal(e.to_string()))?;
        Ok(GrpcResponse::new(proto::ReadAuditReply {
            applied_index: self.core.view.applied_index().unwrap_or(0),
            entries: entries.iter().map(audit_entry).collect(),
        }))
    }

    type StreamAuditStream = BoxStream<proto::AuditEntry>;

    #[tracing::instrument(name = "casehub.v1.AuditService/GetDailyFigures", skip_all)]
    async fn get_daily_figures(
        &self,
        request: GrpcRequest<proto::GetDailyFiguresRequest>,
    ) -> Result<GrpcResponse<proto::GetDailyFiguresReply>, Status> {
        let r = request.into_inner();
        let read = self.core.read_local();
        let state = read.state();
        let offset = chrono::FixedOffset::east_opt(self.ctx.utc_offset_min(state) * 60)
            .ok_or_else(|| Status::internal("the region's UTC offset is out of range"))?;
        let day = if r.day.trim().is_empty() {
            chrono::Utc::now().with_timezone(&offset).date_naive()
        } else {
            chrono::NaiveDate::parse_from_str(r.day.trim(), "%Y-%m-%d")
                .map_err(|e| invalid("day", &r.day, format!("not YYYY-MM-DD: {e}")))?
        };
        let from = day
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(offset).single())
            .map(|t| t.with_timezone(&chrono::Utc))
            .ok_or_else(|| invalid("day", &r.day, "out of range"))?;
        let to = from + chrono::Duration::days(1);
        let figures = casehub_store::figures::figures(state, from, to, chrono::Utc::now());
        let overrides = state
            .audit
            .iter()
            .filter(|a| a.is_override() && a.rejected.is_none() && from <= a.time && a.time < to)
            .count() as u32;
        let row = |site: &Option<casehub_model::SiteId>, f: &casehub_store::figures::Figures| {
            proto::DailyFigures {
                site_id: site.as_ref().map(|s| s.to_string()).unwrap_or_default(),
                exited: f.exited,
                limits_kept: f.limits_kept,
                near_misses: f.near_misses,
                breaches: f.breaches,
                questionings: f.waits_min.len() as u32,
                wait_p50_min: f.wait_quantile(0.5),
                wait_p90_min: f.wait_quantile(0.9),
                team_escorts: f.team_escorts,
                station_escorts: f.station_escorts,
                overrides: if site.is_none() { overrides } else { 0 },
            }
        };
        let mut rows = vec![row(
            &None,
            figures.get(&None).unwrap_or(&Default::default()),
        )];
        rows.extend(
            figures
                .iter()
                .filter(|(site, _)| site.is_some())
                .map(|(site, f)| row(site, f)),
        );
        Ok(GrpcResponse::new(proto::GetDailyFiguresReply {
            day: day.format("%Y-%m-%d").to_string(),
            rows,
        }))
    }

    #[tracing::instrument(name = "casehub.v1.AuditService/VerifyAudit", skip_all)]
    async fn verify_audit(
        &self,
        request: GrpcRequest<proto::VerifyAuditRequest>,
    ) -> Result<GrpcResponse<proto::VerifyAuditReply>, Status> {
        let at = request.into_inner().at_index;
        let applied = self.core.view.current();
        let archive = self.core.view.archive().clone();
        let reply = tokio::task::spawn_blocking(move || verify(&applied.state, &archive, at))
            .await
            .map_err(|e| Status::internal(format!("verifying the audit: {e}")))?
            .map_err(|e| Status::internal(e.to_string()))?;
        Ok(GrpcResponse::new(reply))
    }

    #[tracing::instrument(name = "casehub.v1.AuditService/StreamAudit", skip_all)]
    async fn stream_audit(
        &self,
        request: GrpcRequest<proto::WatchRequest>,
    ) -> Result<GrpcResponse<Self::StreamAuditStream>, Status> {
        let from = request.into_inner().from_index;
        let permit = self.stream_permit()?;
        let rx = self.follow_audit(permit, from, audit_entry);
        Ok(GrpcResponse::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// Matching entries up to a limit.
struct Page<'a> {
    filter: &'a AuditFilter,
    limit: usize,
    /// Never split the entries of one log index.
    whole_indexes: bool,
    out: Vec<casehub_store::AuditEntry>,
    last_index: Option<u64>,
}

impl Page<'_> {
    fn push(&mut self, a: &casehub_store::AuditEntry) -> ControlFlow<()> {
        if !self.filter.matches(a) {
            return ControlFlow::Continue(());
        }
        if self.out.len() >= self.limit && (!self.whole_indexes || self.last_index != Some(a.index))
        {
            return ControlFlow::Break(());
        }
        self.last_index = Some(a.index);
        self.out.push(a.clone());
        ControlFlow::Continue(())
    }
}

/// One page of the audit from log index `from` on: the node's archive,
/// then the live audit (or the other way round, newest first).
fn read_audit_page(
    state: &SchedulingState,
    archive: &ArchiveReader,
    from: u64,
    newest_first: bool,
    page: &mut Page<'_>,
) -> Result<(), casehub_store::rocks::ArchiveError> {
    let live = state.audit_from(from);
    // Entries before the live audit's first are in the archive.
    let in_archive =
        state.archived.is_some() && state.audit.front().is_none_or(|first| from < first.index);
    if newest_first {
        for a in live.iter().rev() {
            if page.push(a).is_break() {
                return Ok(());
            }
        }
        if in_archive {
            archive.audit_newest_first(from, |a| page.push(&a))?;
        }
        return Ok(());
    }
    if in_archive {
        let mut stopped = false;
        archive.audit_from(from, |a| {
            let flow = page.push(&a);
            stopped = flow.is_break();
            flow
        })?;
        if stopped {
            return Ok(());
        }
    }
    for a in live.iter() {
        if page.push(a).is_break() {
            break;
        }
    }
    Ok(())
}

/// VerifyAudit's reply: the whole chain on this node, the archive's part
/// and the live part.
fn verify(
    state: &SchedulingState,
    archive: &ArchiveReader,
    at: u64,
) -> Result<proto::VerifyAuditReply, casehub_store::rocks::ArchiveError> {
    let last = state.audit.last();
    let mut hash_at_index = String::new();
    if at != 0 {
        match state.audit.iter().find(|e| e.index == at) {
            Some(e) => hash_at_index = e.hash.clone(),
            None if state.archived.is_some() => archive.audit_from(at, |e| {
                if e.index == at {
                    hash_at_index = e.hash;
                }
                ControlFlow::Break(())
            })?,
            None => {}
        }
    }
    let mut reply = proto::VerifyAuditReply {
        last_index: last.map_or(0, |e| e.index),
        last_hash: last.map(|e| e.hash.clone()).unwrap_or_default(),
        hash_at_index,
        archived_entries: state.archived.as_ref().map_or(0, |m| m.audit_entries),
        ..Default::default()
    };
    match archive.verify(state) {
        Ok(report) => {
            reply.ok = true;
            reply.hashed_entries = report.hashed as u64;
            reply.archive_complete = report.complete;
            reply.archived_here = report.archived;
        }
        Err(VerifyError::Broken(b)) => {
            reply.broken_at_index = b.index;
            reply.reason = b.reason;
        }
        Err(VerifyError::Unreadable(e)) => return Err(e),
    }
    Ok(reply)
}
