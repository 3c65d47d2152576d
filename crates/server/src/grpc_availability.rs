//! `AvailabilityService`: what rooms, officers and escort teams are free,
//! the earliest slot, the stations' staffing and the change stream.

use chrono::{DateTime, Utc};
use tokio_stream::wrappers::ReceiverStream;

use tonic::{Request as GrpcRequest, Response as GrpcResponse, Status};

use casehub_model::{Gender, LegalCategory, SiteId, Step};
use casehub_store::availability::{availability, check_window, earliest_slot};

use crate::auth::Permission;
use crate::proto;
use crate::proto::availability_service_server::AvailabilityService;

use crate::grpc_api::*;

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
