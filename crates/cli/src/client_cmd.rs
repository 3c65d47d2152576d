//! Client subcommands: talk to a running node over the casehub API.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use tonic::transport::{Channel, Endpoint};

use casehub_server::proto::admin_service_client::AdminServiceClient;
use casehub_server::proto::alert_service_client::AlertServiceClient;
use casehub_server::proto::audit_service_client::AuditServiceClient;
use casehub_server::proto::availability_service_client::AvailabilityServiceClient;
use casehub_server::proto::dispatch_service_client::DispatchServiceClient;
use casehub_server::proto::{self as pb};

/// Where the node is, how it is verified, and who is asking.
#[derive(Args, Debug, Clone)]
pub struct Conn {
    /// The node's client address (any node: writes are forwarded to the leader).
    #[arg(long, env = "CASEHUB_ADDR", default_value = "127.0.0.1:7400")]
    pub addr: String,
    /// The cluster CA's certificate, to verify the node (`casehub cert ca`).
    #[arg(long, env = "CASEHUB_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// A user certificate to present (`casehub cert user`), with --key.
    #[arg(long, env = "CASEHUB_CERT", value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// The user certificate's private key.
    #[arg(long, env = "CASEHUB_KEY", value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Talk to a development node without TLS.
    #[arg(long, env = "CASEHUB_INSECURE_PLAINTEXT", conflicts_with_all = ["ca", "cert", "key"])]
    pub insecure_plaintext: bool,
    /// Seconds to wait for an answer.
    #[arg(long, default_value_t = 30)]
    pub timeout_s: u64,
}

/// Who writes: the audit trail keeps it, and a retry with the same request
/// id is applied once.
#[derive(Args, Debug, Clone)]
pub struct Author {
    /// A stable id of this client.
    #[arg(long, env = "CASEHUB_CLIENT_ID", default_value = "casehub-cli")]
    pub client_id: String,
    /// The request id (unique per client; reuse it to retry). Default: the
    /// current time in milliseconds.
    #[arg(long)]
    pub request_id: Option<u64>,
    /// The site acting, for the audit trail.
    #[arg(long, env = "CASEHUB_SITE", default_value = "")]
    pub site: String,
}

impl Author {
    pub(crate) fn meta(&self) -> Option<pb::WriteMeta> {
        Some(pb::WriteMeta {
            client_id: self.client_id.clone(),
            request_id: self
                .request_id
                .unwrap_or_else(|| Utc::now().timestamp_millis().max(1) as u64),
            // The audit names the authenticated user, whatever is sent.
            actor: String::new(),
            site_id: self.site.clone(),
        })
    }
}

#[derive(Subcommand, Debug)]
pub enum ClusterCmd {
    /// Members, leader, term and applied index, as one node sees them.
    Status {
        #[command(flatten)]
        conn: Conn,
    },
    /// Add a node as a learner: it receives the log and catches up, without
    /// voting (send to the leader; another node answers with its address).
    AddLearner {
        #[command(flatten)]
        conn: Conn,
        /// The new node's id (never used before in this cluster).
        #[arg(long)]
        node_id: u64,
        /// The address the other nodes reach it at (host:port).
        #[arg(long)]
        node_addr: String,
    },
    /// Make exactly these nodes the voters: promote learners, and remove
    /// (or, with --retain, demote) the others.
    ChangeMembership {
        #[command(flatten)]
        conn: Conn,
        /// The voters after the change, e.g. 1,2,3,4.
        #[arg(long, value_delimiter = ',', required = true)]
        voters: Vec<u64>,
        /// Keep the nodes that stop voting as learners instead of removing them.
        #[arg(long)]
        retain: bool,
    },
    /// Load a region scenario's sites, stations, officers, teams and policy.
    LoadRegion {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        author: Author,
        /// The scenario file (TOML or JSON).
        #[arg(long)]
        region: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct AvailabilityArgs {
    #[command(flatten)]
    conn: Conn,
    /// One site (default: every site).
    #[arg(long, default_value = "")]
    site: String,
    /// Start of the window (RFC 3339; default: now).
    #[arg(long)]
    from: Option<DateTime<Utc>>,
    /// Length of the window in hours (at most 168).
    #[arg(long, default_value_t = 8)]
    hours: u32,
    /// Print the answer as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct SubmitArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(flatten)]
    author: Author,
    /// The case as JSON: {"id", "origin", "clock_started_at", "category",
    /// "persons": [{"id", "gender", "juvenile", "co_suspect_group"}]}.
    #[arg(long)]
    case: PathBuf,
    /// A person's name, PERSON=NAME (repeatable): personal data, sealed by
    /// the node and shown only to the roles that need it.
    #[arg(long = "name", value_name = "PERSON=NAME")]
    names: Vec<String>,
    /// A person's resident identity number, PERSON=NUMBER (repeatable).
    #[arg(long = "id-number", value_name = "PERSON=NUMBER")]
    id_numbers: Vec<String>,
    /// Where to write the proposal (plan and versions) for `casehub accept`.
    #[arg(long)]
    proposal_out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CasesArgs {
    #[command(flatten)]
    conn: Conn,
    /// One case, in full.
    #[arg(long)]
    case: Option<String>,
    /// Also the cases that have exited.
    #[arg(long)]
    all: bool,
    /// JSON instead of lines.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct AcceptArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(flatten)]
    author: Author,
    /// A proposal written by `casehub submit --proposal-out` (its
    /// `plan_json` may be edited to override the plan).
    #[arg(long)]
    proposal: PathBuf,
    /// The plan was edited (another site, room, escort, officers or time):
    /// why, 1 to 500 characters, kept in the audit. Required by policy
    /// whenever the plan is not the engine's proposal as is.
    #[arg(long, value_name = "REASON")]
    override_reason: Option<String>,
    /// Check every rule and the versions; commit nothing.
    #[arg(long)]
    validate_only: bool,
    /// An approved exception the plan uses (its id, as RequestException
    /// answered); repeat for several.
    #[arg(long, value_name = "ID")]
    exception: Vec<u64>,
}

#[derive(Args, Debug)]
pub struct DelayArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(flatten)]
    author: Author,
    /// The case whose escort is late (it must have an accepted plan).
    #[arg(long)]
    case: String,
    /// The escort team that is late (default: the case's escort as a whole).
    #[arg(long, default_value = "")]
    team: String,
    /// How many minutes late, 1 to 720.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=720))]
    minutes: u32,
    /// Why, for the audit trail and the alert.
    #[arg(long, default_value = "")]
    reason: String,
    /// The escort already has the persons aboard (the case has left its
    /// station: it is never re-planned from there).
    #[arg(long)]
    picked_up: bool,
}

#[derive(Args, Debug)]
pub struct AlertsArgs {
    #[command(flatten)]
    conn: Conn,
    /// One site (default: every site).
    #[arg(long, default_value = "")]
    site: String,
    /// Keep printing new alerts as they arise.
    #[arg(long, conflicts_with_all = ["history", "ack"])]
    follow: bool,
    /// Also the resolved alerts, newest first.
    #[arg(long)]
    history: bool,
    /// Acknowledge the open alert with this key (its record names you).
    #[arg(long, value_name = "KEY", conflicts_with = "history")]
    ack: Option<String>,
    /// A stable id of this client, for --ack.
    #[arg(long, env = "CASEHUB_CLIENT_ID", default_value = "casehub-cli")]
    client_id: String,
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    #[command(subcommand)]
    verify: Option<AuditVerify>,
    #[command(flatten)]
    conn: Option<Conn>,
    /// The first log index to print.
    #[arg(long, default_value_t = 1)]
    from: u64,
    /// Keep printing new entries as they are applied (every entry: the
    /// filters below read what is applied already).
    #[arg(long, conflicts_with_all = ["actor", "contains", "overrides"])]
    follow: bool,
    /// Only the entries of this actor.
    #[arg(long, default_value = "")]
    actor: String,
    /// Only the entries whose summary or reason contains this text (for
    /// example a case id).
    #[arg(long, default_value = "")]
    contains: String,
    /// Only overrides, with their reasons.
    #[arg(long)]
    overrides: bool,
}

#[derive(Subcommand, Debug)]
pub enum AuditVerify {
    /// Check the audit's hash chain on the node, and (with --also) that the
    /// other nodes hold the same chain. Exit status 1 if it does not verify.
    Verify {
        #[command(flatten)]
        conn: Conn,
        /// Another node's client address to compare with (repeat it).
        #[arg(long = "also", value_name = "ADDR")]
        also: Vec<String>,
    },
}

pub(crate) async fn channel(conn: &Conn) -> Result<Channel> {
    if conn.addr.contains("://") {
        bail!(
            "--addr {:?}: give host:port; TLS is on unless --insecure-plaintext",
            conn.addr
        );
    }
    let scheme = if conn.insecure_plaintext {
        "http"
    } else {
        "https"
    };
    let uri = format!("{scheme}://{}", conn.addr);
    let mut endpoint = Endpoint::from_shared(uri.clone())
        .with_context(|| format!("--addr {:?} is not a host:port", conn.addr))?
        .timeout(Duration::from_secs(conn.timeout_s))
        .connect_timeout(Duration::from_secs(conn.timeout_s.min(10)));
    if !conn.insecure_plaintext {
        let Some(ca_path) = &conn.ca else {
            bail!(
                "--ca is not set: the cluster CA's certificate verifies the node (--ca FILE or \
                 CASEHUB_CA; `casehub cert ca` makes one). For a development node without TLS, \
                 --insecure-plaintext"
            );
        };
        let read = |flag: &str, p: &PathBuf| {
            std::fs::read_to_string(p)
                .with_context(|| format!("{flag} {}: cannot read it", p.display()))
        };
        let ca = read("--ca", ca_path)?;
        let identity = match (&conn.cert, &conn.key) {
            (Some(c), Some(k)) => Some(casehub_server::pki::CertifiedPem {
                cert: read("--cert", c)?,
                key: read("--key", k)?,
            }),
            _ => None,
        };
        endpoint = endpoint
            .tls_config(casehub_server::tls::client_config(
                &ca,
                identity.as_ref(),
                None,
            ))
            .with_context(|| format!("--ca {}: not usable for TLS", ca_path.display()))?;
    }
    endpoint
        .connect()
        .await
        .with_context(|| format!("cannot reach the node at {uri}"))
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub(crate) fn status(e: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{:?}: {}", e.code(), e.message())
}

fn time(t: &Option<prost_types::Timestamp>) -> String {
    t.as_ref()
        .and_then(casehub_server::convert::from_ts)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "-".into())
}

fn interval(i: &pb::Interval) -> String {
    format!("{}–{}", time(&i.start), time(&i.end))
}

fn print_members(s: &pb::ClusterStatusReply) {
    println!(
        "node {}: leader {} ({}), term {}, applied index {}",
        s.node_id,
        s.leader_id,
        if s.leader_addr.is_empty() {
            "-"
        } else {
            &s.leader_addr
        },
        s.term,
        s.applied_index
    );
    for m in &s.members {
        println!(
            "  {:>3}  {:<24} {}",
            m.node_id,
            m.addr,
            if m.voter { "voter" } else { "learner" }
        );
    }
}

pub fn run_cluster(cmd: ClusterCmd) -> Result<ExitCode> {
    runtime()?.block_on(async {
        match cmd {
            ClusterCmd::Status { conn } => {
                let mut c = AdminServiceClient::new(channel(&conn).await?);
                let s = c
                    .cluster_status(pb::ClusterStatusRequest {})
                    .await
                    .map_err(status)?
                    .into_inner();
                print_members(&s);
            }
            ClusterCmd::AddLearner {
                conn,
                node_id,
                node_addr,
            } => {
                let mut c = AdminServiceClient::new(channel(&conn).await?);
                let s = c
                    .add_learner(pb::AddNodeRequest {
                        node_id,
                        addr: node_addr,
                    })
                    .await
                    .map_err(status)?
                    .into_inner();
                print_members(&s);
            }
            ClusterCmd::ChangeMembership {
                conn,
                voters,
                retain,
            } => {
                let mut c = AdminServiceClient::new(channel(&conn).await?);
                let s = c
                    .change_membership(pb::ChangeMembershipRequest { voters, retain })
                    .await
                    .map_err(status)?
                    .into_inner();
                print_members(&s);
            }
            ClusterCmd::LoadRegion {
                conn,
                author,
                region,
            } => {
                let text = std::fs::read_to_string(&region)
                    .with_context(|| format!("--region {}: cannot read", region.display()))?;
                // The travel table, from the files beside the region: the
                // nodes plan with this one, not with files of their own.
                let parsed = crate::load::region(&region, None)
                    .with_context(|| format!("--region {}", region.display()))?;
                let model = crate::load::travel_model(&parsed, &region)?;
                let table = crate::load::full_table(&parsed, model.as_ref())?;
                let mut c = AdminServiceClient::new(channel(&conn).await?);
                let r = c
                    .load_region(pb::LoadRegionRequest {
                        meta: author.meta(),
                        file_name: region.display().to_string(),
                        text,
                        travel_table_json: serde_json::to_string(&table)?,
                    })
                    .await
                    .map_err(status)?
                    .into_inner();
                println!(
                    "{} requests applied, up to log index {}",
                    r.applied, r.last_index
                );
                if r.region_version > 0 {
                    println!(
                        "region version {} (sha256 {})",
                        r.region_version, r.region_digest
                    );
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn run_availability(a: AvailabilityArgs) -> Result<ExitCode> {
    if a.hours == 0 || a.hours > 168 {
        bail!("--hours {}: must be 1 to 168", a.hours);
    }
    runtime()?.block_on(async {
        let mut c = AvailabilityServiceClient::new(channel(&a.conn).await?);
        let from = a.from.unwrap_or_else(Utc::now);
        let to = from + chrono::Duration::hours(i64::from(a.hours));
        let ts = |t: DateTime<Utc>| prost_types::Timestamp {
            seconds: t.timestamp(),
            nanos: 0,
        };
        let r = c
            .get_availability(pb::GetAvailabilityRequest {
                site_id: a.site.clone(),
                window: Some(pb::Interval {
                    start: Some(ts(from)),
                    end: Some(ts(to)),
                }),
            })
            .await
            .map_err(status)?
            .into_inner();
        if a.json {
            let v = serde_json::json!({
                "applied_index": r.applied_index,
                "rooms": r.rooms.iter().map(|x| serde_json::json!({
                    "room": x.room_id, "site": x.site_id, "kind": x.kind,
                    "capacity": x.capacity,
                    "free": x.free.iter().map(interval).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "officers": r.officers.iter().map(|x| serde_json::json!({
                    "officer": x.officer_id, "post": x.post, "gender": x.gender,
                    "free": x.free.iter().map(interval).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "teams": r.teams.iter().map(|x| serde_json::json!({
                    "team": x.team_id, "site": x.site_id,
                    "free": x.free.iter().map(interval).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
            return Ok(ExitCode::SUCCESS);
        }
        println!(
            "free from {} for {} h (state at log index {})",
            from.format("%Y-%m-%d %H:%M"),
            a.hours,
            r.applied_index
        );
        println!("{:<14} {:<8} {:<22} free", "room", "site", "kind");
        for x in &r.rooms {
            let free: Vec<String> = x.free.iter().map(interval).collect();
            println!(
                "{:<14} {:<8} {:<22} {}",
                x.room_id,
                x.site_id,
                x.kind,
                if free.is_empty() {
                    "none".into()
                } else {
                    free.join(", ")
                }
            );
        }
        println!("\n{:<12} {:<8} free", "team", "site");
        for x in &r.teams {
            let free: Vec<String> = x.free.iter().map(interval).collect();
            println!("{:<12} {:<8} {}", x.team_id, x.site_id, free.join(", "));
        }
        let on_duty = r.officers.iter().filter(|o| !o.free.is_empty()).count();
        println!(
            "\n{on_duty} of {} officers have free time in the window",
            r.officers.len()
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// A case file in the scenario's JSON encoding, as the API's message.
fn case_message(path: &PathBuf) -> Result<pb::Case> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--case {}: cannot read", path.display()))?;
    let case: casehub_model::Case =
        casehub_model::scenario::from_json(&path.display().to_string(), &text)
            .map_err(|e| anyhow::anyhow!("--case: {e}"))?;
    Ok(casehub_server::convert::case_to_proto(&case))
}

fn print_proposal(p: &pb::ProposePlanReply) {
    for line in &p.summary {
        println!("{line}");
    }
    for b in &p.blocked {
        println!("BLOCKED {} ({}): {}", b.case_id, b.rule, b.reason);
    }
    for w in &p.warnings {
        println!("warning: {w}");
    }
}

/// Set `field` of the persons named in `pairs` (`PERSON=VALUE`).
fn set_particulars(
    case: &mut pb::Case,
    flag: &str,
    pairs: &[String],
    field: fn(&mut pb::Person) -> &mut String,
) -> Result<()> {
    for pair in pairs {
        let Some((person, value)) = pair.split_once('=') else {
            anyhow::bail!("{flag} {pair:?}: expected PERSON=VALUE");
        };
        let Some(p) = case.persons.iter_mut().find(|p| p.person_id == person) else {
            anyhow::bail!("{flag} {pair:?}: the case has no person {person:?}");
        };
        *field(p) = value.to_string();
    }
    Ok(())
}

pub fn run_submit(a: SubmitArgs) -> Result<ExitCode> {
    let mut case = case_message(&a.case)?;
    set_particulars(&mut case, "--name", &a.names, |p| &mut p.name)?;
    set_particulars(&mut case, "--id-number", &a.id_numbers, |p| {
        &mut p.id_number
    })?;
    runtime()?.block_on(async {
        let mut c = DispatchServiceClient::new(channel(&a.conn).await?);
        let p = c
            .submit_case(pb::SubmitCaseRequest {
                meta: a.author.meta(),
                case: Some(case),
            })
            .await
            .map_err(status)?
            .into_inner();
        print_proposal(&p);
        if let Some(out) = &a.proposal_out {
            let v = serde_json::json!({
                "plan": serde_json::from_str::<serde_json::Value>(&p.plan_json)?,
                "versions": p.versions.iter().map(|v| serde_json::json!({
                    "kind": v.kind, "id": v.id, "version": v.version
                })).collect::<Vec<_>>(),
            });
            std::fs::write(out, serde_json::to_string_pretty(&v)?)
                .with_context(|| format!("--proposal-out {}: cannot write", out.display()))?;
            println!("proposal written to {}", out.display());
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn run_cases(a: CasesArgs) -> Result<ExitCode> {
    runtime()?.block_on(async {
        let mut c = DispatchServiceClient::new(channel(&a.conn).await?);
        let records = match &a.case {
            Some(id) => vec![
                c.get_case(pb::GetCaseRequest {
                    case_id: id.clone(),
                })
                .await
                .map_err(status)?
                .into_inner(),
            ],
            None => {
                c.list_cases(pb::ListCasesRequest {
                    include_exited: a.all,
                    limit: 0,
                })
                .await
                .map_err(status)?
                .into_inner()
                .cases
            }
        };
        for r in &records {
            let Some(case) = &r.case else { continue };
            if a.json {
                let persons: Vec<_> = case
                    .persons
                    .iter()
                    .map(|p| {
                        serde_json::json!({
                            "person_id": p.person_id, "pseudonym": p.pseudonym,
                            "name": p.name, "id_number": p.id_number,
                            "gender": p.gender, "juvenile": p.juvenile,
                        })
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::json!({
                        "case_id": case.case_id, "status": r.status,
                        "origin_station_id": case.origin_station_id,
                        "category": case.category, "sites": r.site_ids,
                        "particulars": r.particulars, "persons": persons,
                    })
                );
                continue;
            }
            let persons: Vec<String> = case
                .persons
                .iter()
                .map(|p| {
                    let who = if p.name.is_empty() {
                        p.pseudonym.clone()
                    } else {
                        format!("{} {}", p.name, p.id_number)
                    };
                    format!("{} {}", p.person_id, who.trim())
                })
                .collect();
            println!(
                "{}\t{}\t{} ({})\tsites {}\t{}",
                case.case_id,
                r.status,
                case.origin_station_id,
                case.category,
                r.site_ids.join(","),
                persons.join("; ")
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn run_accept(a: AcceptArgs) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&a.proposal)
        .with_context(|| format!("--proposal {}: cannot read", a.proposal.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("--proposal {}: not JSON", a.proposal.display()))?;
    let plan = v
        .get("plan")
        .with_context(|| format!("--proposal {}: no \"plan\"", a.proposal.display()))?;
    let versions = v
        .get("versions")
        .and_then(|x| x.as_array())
        .with_context(|| format!("--proposal {}: no \"versions\" list", a.proposal.display()))?
        .iter()
        .map(|x| pb::EntityVersion {
            kind: x["kind"].as_str().unwrap_or_default().into(),
            id: x["id"].as_str().unwrap_or_default().into(),
            version: x["version"].as_u64().unwrap_or_default(),
        })
        .collect();
    runtime()?.block_on(async {
        let mut c = DispatchServiceClient::new(channel(&a.conn).await?);
        let ack = c
            .accept_plan(pb::AcceptPlanRequest {
                meta: a.author.meta(),
                plan_json: plan.to_string(),
                versions,
                case_ids: vec![],
                override_reason: a.override_reason.clone().unwrap_or_default(),
                validate_only: a.validate_only,
                exception_ids: a.exception.clone(),
            })
            .await
            .map_err(status)?
            .into_inner();
        if a.validate_only {
            println!("the plan keeps every rule and its versions are current (nothing committed)");
            return Ok(ExitCode::SUCCESS);
        }
        println!(
            "committed at log index {}{}",
            ack.log_index,
            if ack.duplicate {
                " (a retry: committed before)"
            } else {
                ""
            }
        );
        Ok(ExitCode::SUCCESS)
    })
}

pub fn run_delay(a: DelayArgs) -> Result<ExitCode> {
    runtime()?.block_on(async {
        let mut c = DispatchServiceClient::new(channel(&a.conn).await?);
        let r = c
            .report_delay(pb::ReportDelayRequest {
                meta: a.author.meta(),
                case_id: a.case.clone(),
                team_id: a.team.clone(),
                minutes: a.minutes,
                reason: a.reason.clone(),
                picked_up: a.picked_up,
            })
            .await
            .map_err(status)?
            .into_inner();
        let ack = r.ack.unwrap_or_default();
        println!(
            "delay recorded at log index {}{}",
            ack.log_index,
            if ack.duplicate {
                " (a retry: recorded before)"
            } else {
                ""
            }
        );
        match r.outcome.as_str() {
            "slipped" => println!("case {}: the rest of its plan slipped by {} min", a.case, a.minutes),
            "replanned" => println!(
                "case {}: the delayed plan does not fit; it waits to be re-planned",
                a.case
            ),
            "broken" => {
                println!(
                    "case {}: the delayed plan collides with bookings that cannot move; nothing moved, the plan is marked broken",
                    a.case
                );
                for conflict in &r.conflicts {
                    println!("  conflict: {conflict}");
                }
            }
            other => println!("case {}: {other}", a.case),
        }
        for case in r.replanned_case_ids.iter().filter(|c| **c != a.case) {
            println!("case {case}: its plan collided with the delay; it waits to be re-planned");
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn print_alert(a: &pb::Alert) {
    let handled = if a.acknowledged_by.is_empty() {
        String::new()
    } else {
        format!(
            " (acknowledged by {} at {})",
            a.acknowledged_by,
            time(&a.acknowledged_at)
        )
    };
    println!(
        "{} {:<22} {:<12} {}  [{}]{handled}",
        time(&a.at),
        a.kind,
        a.status,
        a.message,
        a.key
    );
}

pub fn run_alerts(a: AlertsArgs) -> Result<ExitCode> {
    runtime()?.block_on(async {
        let mut c = AlertServiceClient::new(channel(&a.conn).await?);
        if let Some(key) = &a.ack {
            let ack = c
                .acknowledge_alert(pb::AcknowledgeAlertRequest {
                    meta: Some(pb::WriteMeta {
                        client_id: a.client_id.clone(),
                        request_id: chrono::Utc::now().timestamp_millis().max(1) as u64,
                        ..Default::default()
                    }),
                    key: key.clone(),
                })
                .await
                .map_err(status)?
                .into_inner();
            println!("acknowledged {key} at log index {}", ack.log_index);
            return Ok(ExitCode::SUCCESS);
        }
        if !a.follow {
            let r = c
                .list_alerts(pb::ListAlertsRequest {
                    site_id: a.site.clone(),
                    history: a.history,
                    ..Default::default()
                })
                .await
                .map_err(status)?
                .into_inner();
            for x in &r.alerts {
                print_alert(x);
            }
            if r.alerts.is_empty() {
                println!("no alerts (state at log index {})", r.applied_index);
            }
            return Ok(ExitCode::SUCCESS);
        }
        let mut s = c
            .stream_alerts(pb::StreamAlertsRequest {
                site_id: a.site.clone(),
                check_every_s: 0,
            })
            .await
            .map_err(status)?
            .into_inner();
        while let Some(x) = s.message().await.map_err(status)? {
            print_alert(&x);
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn print_audit(e: &pb::AuditEntry) {
    println!(
        "{:>6} {} {:<16} {:<8} {}{}",
        e.index,
        time(&e.time),
        e.actor,
        if e.site_id.is_empty() {
            "-"
        } else {
            &e.site_id
        },
        e.summary,
        if e.rejected.is_empty() {
            String::new()
        } else {
            format!("  REJECTED: {}", e.rejected)
        }
    );
}

pub fn run_audit(a: AuditArgs) -> Result<ExitCode> {
    if let Some(AuditVerify::Verify { conn, also }) = a.verify {
        return runtime()?.block_on(verify_audit(conn, also));
    }
    let conn = a.conn.context("--addr and the connection flags")?;
    runtime()?.block_on(async {
        let mut c = AuditServiceClient::new(channel(&conn).await?);
        if !a.follow {
            let r = c
                .read_audit(pb::ReadAuditRequest {
                    from_index: a.from,
                    limit: 0,
                    actor: a.actor.clone(),
                    contains: a.contains.clone(),
                    overrides_only: a.overrides,
                    ..Default::default()
                })
                .await
                .map_err(status)?
                .into_inner();
            for e in &r.entries {
                print_audit(e);
            }
            return Ok(ExitCode::SUCCESS);
        }
        let mut s = c
            .stream_audit(pb::WatchRequest { from_index: a.from })
            .await
            .map_err(status)?
            .into_inner();
        while let Some(e) = s.message().await.map_err(status)? {
            print_audit(&e);
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `casehub audit verify`: the chain on one node, then the same entry's
/// hash on every other node named.
async fn verify_audit(conn: Conn, also: Vec<String>) -> Result<ExitCode> {
    let ask = |conn: Conn, at_index: u64| async move {
        let mut c = AuditServiceClient::new(channel(&conn).await?);
        let r = c
            .verify_audit(pb::VerifyAuditRequest { at_index })
            .await
            .map_err(status)?
            .into_inner();
        Ok::<_, anyhow::Error>(r)
    };
    let first = ask(conn.clone(), 0).await?;
    if !first.ok {
        println!(
            "{}: the audit does not verify: entry at log index {}: {}",
            conn.addr, first.broken_at_index, first.reason
        );
        return Ok(ExitCode::from(1));
    }
    println!(
        "{}: {} hashed entries verify; last index {} hash {}",
        conn.addr, first.hashed_entries, first.last_index, first.last_hash
    );
    let mut ok = true;
    for addr in also {
        let other = Conn {
            addr: addr.clone(),
            ..conn.clone()
        };
        let mine = first.last_index;
        let r = ask(other, mine).await?;
        if !r.ok {
            println!(
                "{addr}: the audit does not verify: entry at log index {}: {}",
                r.broken_at_index, r.reason
            );
            ok = false;
        } else if r.hash_at_index.is_empty() {
            println!(
                "{addr}: has not applied log index {mine} yet (at {}): not compared",
                r.last_index
            );
        } else if r.hash_at_index != first.last_hash {
            println!(
                "{addr}: the entry at log index {mine} differs: hash {} (a node's log or state was changed)",
                r.hash_at_index
            );
            ok = false;
        } else {
            println!("{addr}: the same chain at log index {mine}");
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
