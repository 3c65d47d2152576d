//! `AlertService`: the alerts standing, their history, the stream, and
//! acknowledgements.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::streams::until_closed;
use tonic::{Request as GrpcRequest, Response as GrpcResponse, Status};

use casehub_model::SiteId;
use casehub_store::Command;
use casehub_store::alert_records::AlertRecord;
use casehub_store::alerts::Alert as StoreAlert;
use casehub_store::availability::check_site;

use crate::auth::Permission;
use crate::proto;
use crate::proto::alert_service_server::AlertService;

use crate::grpc_api::*;

/// A standing alert, with its record's lifecycle when the leader has
/// recorded it ("new" until then).
pub(crate) fn alert_message(a: &StoreAlert, record: Option<&AlertRecord>) -> proto::Alert {
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

pub(crate) fn lifecycle(m: &mut proto::Alert, r: &AlertRecord) {
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
pub(crate) fn record_message(r: &AlertRecord) -> proto::Alert {
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
pub(crate) const DEFAULT_ALERT_HISTORY: u32 = 200;
pub(crate) const MAX_ALERT_HISTORY: u32 = casehub_store::alert_records::HISTORY as u32;

/// The sites the caller's alerts are limited to (see [`crate::scope`]).
pub(crate) fn alert_scope() -> Option<BTreeSet<SiteId>> {
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
