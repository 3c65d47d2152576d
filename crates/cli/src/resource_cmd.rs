//! `casehub resource`: officers and escort teams away over a window, rooms
//! closed for maintenance, and rooms, officers, teams, sites and stations
//! taken out of service and back (the API's `AddAbsence`, `RemoveAbsence`
//! and `SetActive`).

use std::process::ExitCode;

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};

use casehub_server::proto::admin_service_client::AdminServiceClient;
use casehub_server::proto::{self as pb};

use crate::client_cmd::{Author, Conn, channel, runtime, status};

/// Which resource: exactly one of --room, --officer, --team, --site-id,
/// --station (a site or a station is only taken out of service and back;
/// `--site` is the site the author acts for).
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct Which {
    /// A room id.
    #[arg(long)]
    room: Option<String>,
    /// An officer id.
    #[arg(long)]
    officer: Option<String>,
    /// An escort team id.
    #[arg(long)]
    team: Option<String>,
    /// A site id (with its rooms, escort teams and officers).
    #[arg(long)]
    site_id: Option<String>,
    /// A station id (no case is taken from it while out of service).
    #[arg(long)]
    station: Option<String>,
}

impl Which {
    fn resource(&self) -> pb::ResourceId {
        let named = [
            ("room", &self.room),
            ("officer", &self.officer),
            ("team", &self.team),
            ("site", &self.site_id),
            ("station", &self.station),
        ];
        let (kind, id) = named
            .into_iter()
            .find_map(|(kind, id)| id.as_ref().map(|id| (kind, id)))
            .expect("clap requires one of --room, --officer, --team, --site-id, --station");
        pb::ResourceId {
            kind: kind.into(),
            id: id.clone(),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum ResourceCmd {
    /// An officer or team away from --from to --to, or a room closed for
    /// maintenance (--kind maintenance): plans that needed it go back to
    /// re-planning.
    Away {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        author: Author,
        #[command(flatten)]
        which: Which,
        /// leave, sickness, training, court, duty or maintenance.
        #[arg(long)]
        kind: String,
        /// RFC 3339, e.g. 2026-12-08T08:00:00+08:00.
        #[arg(long)]
        from: DateTime<Utc>,
        #[arg(long)]
        to: DateTime<Utc>,
        /// Why (at most 200 characters).
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Drop the absence that starts at --from.
    Back {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        author: Author,
        #[command(flatten)]
        which: Which,
        #[arg(long)]
        from: DateTime<Utc>,
    },
    /// Take a room, officer, team, site or station out of service from now.
    Deactivate {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        author: Author,
        #[command(flatten)]
        which: Which,
    },
    /// Put it back into service.
    Activate {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        author: Author,
        #[command(flatten)]
        which: Which,
    },
}

fn ts(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub fn run(cmd: ResourceCmd) -> Result<ExitCode> {
    runtime()?.block_on(async {
        let ack = match cmd {
            ResourceCmd::Away {
                conn,
                author,
                which,
                kind,
                from,
                to,
                note,
            } => {
                if to <= from {
                    bail!("--to {to}: must be after --from {from}");
                }
                AdminServiceClient::new(channel(&conn).await?)
                    .add_absence(pb::AddAbsenceRequest {
                        meta: author.meta(),
                        resource: Some(which.resource()),
                        kind,
                        start: Some(ts(from)),
                        end: Some(ts(to)),
                        note,
                    })
                    .await
            }
            ResourceCmd::Back {
                conn,
                author,
                which,
                from,
            } => {
                AdminServiceClient::new(channel(&conn).await?)
                    .remove_absence(pb::RemoveAbsenceRequest {
                        meta: author.meta(),
                        resource: Some(which.resource()),
                        start: Some(ts(from)),
                    })
                    .await
            }
            ResourceCmd::Deactivate {
                conn,
                author,
                which,
            } => set_active(&conn, &author, &which, false).await?,
            ResourceCmd::Activate {
                conn,
                author,
                which,
            } => set_active(&conn, &author, &which, true).await?,
        }
        .map_err(status)?
        .into_inner();
        println!("applied at log index {}", ack.log_index);
        Ok(ExitCode::SUCCESS)
    })
}

async fn set_active(
    conn: &Conn,
    author: &Author,
    which: &Which,
    active: bool,
) -> Result<Result<tonic::Response<pb::WriteAck>, tonic::Status>> {
    Ok(AdminServiceClient::new(channel(conn).await?)
        .set_active(pb::SetActiveRequest {
            meta: author.meta(),
            resource: Some(which.resource()),
            active,
        })
        .await)
}
