//! `AuditService` of the casehub API: the audit trail, read, streamed and
//! verified (its hash chain, see `casehub_store::audit`).

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
        let read = self.core.read_local();
        if r.newest_first {
            return Ok(GrpcResponse::new(proto::ReadAuditReply {
                applied_index: read.applied_index().unwrap_or(0),
                entries: read
                    .state()
                    .audit_from(r.from_index.max(1))
                    .iter()
                    .rev()
                    .filter(|a| filter.matches(a))
                    .take(limit as usize)
                    .map(audit_entry)
                    .collect(),
            }));
        }
        Ok(GrpcResponse::new(proto::ReadAuditReply {
            applied_index: read.applied_index().unwrap_or(0),
            entries: read
                .state()
                .audit_from(r.from_index.max(1))
                .iter()
                .filter(|a| filter.matches(a))
                .enumerate()
                // Requests written together share a log index: the limit
                // never splits them, so `from_index` = last index + 1 resumes.
                .scan(None, |last_index, (i, a)| {
                    if i >= limit as usize && *last_index != Some(a.index) {
                        return None;
                    }
                    *last_index = Some(a.index);
                    Some(a)
                })
                .map(audit_entry)
                .collect(),
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
        let audit = &applied.state.audit;
        let last = audit.last();
        let mut reply = proto::VerifyAuditReply {
            last_index: last.map_or(0, |e| e.index),
            last_hash: last.map(|e| e.hash.clone()).unwrap_or_default(),
            hash_at_index: if at == 0 {
                String::new()
            } else {
                audit
                    .iter()
                    .find(|e| e.index == at)
                    .map(|e| e.hash.clone())
                    .unwrap_or_default()
            },
            ..Default::default()
        };
        match applied.state.verify_audit() {
            Ok(n) => {
                reply.ok = true;
                reply.hashed_entries = n as u64;
            }
            Err(b) => {
                reply.broken_at_index = b.index;
                reply.reason = b.reason;
            }
        }
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
