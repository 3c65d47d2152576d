//! `AdminService`: entities, regions, resources that change, and the
//! cluster's members.

use std::collections::BTreeSet;

use openraft::BasicNode;
use serde::de::DeserializeOwned;

use tonic::{Code, Request as GrpcRequest, Response as GrpcResponse, Status};

use casehub_model::{EscortTeam, Officer, Policy, Region, Site, Station};
use casehub_store::Command;
use casehub_store::region::RegionStatic;
use casehub_travel::TravelTable;

use crate::dispatch::region_commands;
use crate::proto;
use crate::proto::admin_service_server::AdminService;
use crate::service::cluster_status;

use crate::grpc_api::*;

/// The travel table of a region being loaded: the one sent
/// (`travel_table_json`), checked to cover every station and site, or for a
/// great-circle region the one computed here.
pub(crate) fn region_table(region: &Region, json: &str) -> Result<TravelTable, Status> {
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

pub(crate) fn entity_json<T: DeserializeOwned>(kind: &str, json: &str) -> Result<T, Status> {
    serde_json::from_str(json).map_err(|e| {
        Status::invalid_argument(format!(
            "json: not a valid {kind}: line {} column {}: {e}",
            e.line(),
            e.column()
        ))
    })
}

impl Api {
    pub(crate) fn cluster(&self) -> proto::ClusterStatusReply {
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
    pub(crate) fn leader_only(&self, rpc: &str) -> Result<(), Status> {
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
        Ok(GrpcResponse::new(
            self.write("AddAbsence", r.meta.as_ref(), 0, command)
                .await?,
        ))
    }

    #[tracing::instrument(name = "casehub.v1.AdminService/RemoveAbsence", skip_all)]
    async fn remove_absence(
        &self,
        request: GrpcRequest<proto::RemoveAbsenceRequest>,
    ) -> Result<GrpcResponse<proto::WriteAck>, Status> {
        let r = request.into_inner();
        let command = crate::grpc_resources::remove_absence(&r)?;
        Ok(GrpcResponse::new(
            self.write("RemoveAbsence", r.meta.as_ref(), 0, command)
                .await?,
        ))
    }

    #[tracing::instrument(name = "casehub.v1.AdminService/SetActive", skip_all)]
    async fn set_active(
        &self,
        request: GrpcRequest<proto::SetActiveRequest>,
    ) -> Result<GrpcResponse<proto::WriteAck>, Status> {
        let r = request.into_inner();
        let command = crate::grpc_resources::set_active(&r)?;
        Ok(GrpcResponse::new(
            self.write("SetActive", r.meta.as_ref(), 0, command).await?,
        ))
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
