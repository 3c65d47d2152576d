//! `casehub demo`: a real local cluster — three nodes on loopback, each with
//! its own RocksDB directory — loaded with a region, and a short stream of
//! simulated cases dispatched through the gRPC API, with the plans and the
//! alerts printed as they come. Ctrl-C stops it cleanly; a rerun reuses the
//! data.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use clap::Args;
use tonic::transport::Channel;

use casehub_planning::Settings;
use casehub_server::grpc_api::ApiContext;
use casehub_server::pki;
use casehub_server::proto::admin_service_client::AdminServiceClient;
use casehub_server::proto::alert_service_client::AlertServiceClient;
use casehub_server::proto::dispatch_service_client::DispatchServiceClient;
use casehub_server::proto::{self as pb};
use casehub_server::tls::Tls;
use casehub_server::{Node, NodeOptions};
use casehub_store::Role;

use crate::load;

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// The region to load.
    #[arg(long, default_value = "simulations/sample-county/region-3-sites.toml")]
    region: PathBuf,
    /// Where the three nodes keep their data (node-1, node-2, node-3).
    #[arg(long, default_value = ".casehub-demo")]
    data_dir: PathBuf,
    /// Node n's peer listener is on 127.0.0.1:(base_port + n), its client
    /// listener (the API) on 127.0.0.1:(base_port + 10 + n).
    #[arg(long, default_value_t = 7410)]
    base_port: u16,
    /// Cases to replay.
    #[arg(long, default_value_t = 8)]
    cases: usize,
    /// Pause between two cases, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    interval_ms: u64,
    /// Seed of the simulated cases.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stop after the replay instead of watching alerts until Ctrl-C.
    #[arg(long)]
    exit_after_replay: bool,
}

/// The demo's users: one per role, to try the API as each, and the demo's
/// own dispatching console.
const DEMO_USERS: [(&str, &[Role]); 6] = [
    ("调度员", &[Role::Dispatcher]),
    ("值班员", &[Role::Site]),
    ("规划员", &[Role::Planner]),
    ("监督员", &[Role::Supervisor]),
    ("管理员", &[Role::Admin]),
    (DEMO_CONSOLE, &[Role::Admin, Role::Dispatcher]),
];
/// The user the demo replays cases as.
const DEMO_CONSOLE: &str = "演示调度台";

/// How the demo's client reaches a node: TLS verified against the demo's
/// CA, as the demo console's user.
#[derive(Clone)]
struct Dial {
    ca: String,
    console: pki::CertifiedPem,
}

impl Dial {
    async fn connect(&self, addr: &str) -> Result<Channel> {
        let endpoint = Channel::from_shared(format!("https://{addr}"))?
            .tls_config(casehub_server::tls::client_config(
                &self.ca,
                Some(&self.console),
                None,
            ))?
            .timeout(Duration::from_secs(60));
        endpoint
            .connect()
            .await
            .with_context(|| format!("cannot reach the node at {addr}"))
    }
}

/// The demo's development certificates in DIR/tls: the CA (made once, kept
/// for reruns), a fresh certificate per node, and one per user
/// (`user-NAME.pem`, `user-NAME-key.pem`).
fn demo_tls(dir: &std::path::Path) -> Result<(Dial, BTreeMap<u64, Arc<Tls>>)> {
    let tls_dir = dir.join("tls");
    let (ca_path, key_path) = (tls_dir.join("ca.pem"), tls_dir.join("ca-key.pem"));
    let ca = if ca_path.exists() && key_path.exists() {
        pki::CertifiedPem {
            cert: load::read(&ca_path)?,
            key: load::read(&key_path)?,
        }
    } else {
        let ca = pki::new_ca("casehub demo CA", 365)?;
        std::fs::create_dir_all(&tls_dir)
            .with_context(|| format!("cannot create {}", tls_dir.display()))?;
        crate::cert_cmd::write(&ca_path, &ca.cert, 0o644)?;
        crate::cert_cmd::write(&key_path, &ca.key, 0o600)?;
        ca
    };
    let mut nodes = BTreeMap::new();
    for id in 1..=3u64 {
        let own = pki::node_cert(&ca, id, &["127.0.0.1".into(), "localhost".into()], 30)?;
        nodes.insert(id, Tls::from_pem(&ca.cert, &own)?);
    }
    let mut console = None;
    for (name, _) in DEMO_USERS {
        let user = pki::user_cert(&ca, name, 30)?;
        crate::cert_cmd::write(&tls_dir.join(format!("user-{name}.pem")), &user.cert, 0o644)?;
        crate::cert_cmd::write(
            &tls_dir.join(format!("user-{name}-key.pem")),
            &user.key,
            0o600,
        )?;
        if name == DEMO_CONSOLE {
            console = Some(user);
        }
    }
    let dial = Dial {
        ca: ca.cert,
        console: console.expect("the console is a demo user"),
    };
    Ok((dial, nodes))
}

/// The demo users in the cluster, written through node `node` once the
/// cluster applies the rules that have users.
async fn add_demo_users(node: &Node, stamp: u64, password: &str) -> Result<()> {
    let hash = casehub_server::grpc_users::hash_password(password).map_err(anyhow::Error::msg)?;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while node.state().current().state.rules_version < casehub_store::RULES_VERSION {
        if std::time::Instant::now() > deadline {
            bail!(
                "the cluster did not raise its rules version to {}",
                casehub_store::RULES_VERSION
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (i, (name, roles)) in DEMO_USERS.iter().enumerate() {
        let request = casehub_store::Request {
            client_id: "casehub-demo-users".into(),
            request_id: stamp + i as u64,
            actor: "casehub demo".into(),
            site: None,
            time: Utc::now(),
            command: casehub_store::Command::UpsertUser(casehub_store::User {
                name: name.to_string(),
                roles: roles.iter().copied().collect(),
                sites: Default::default(),
                password_hash: Some(hash.clone()),
                disabled: false,
            }),
            trace: None,
        };
        let w = node
            .write(&request)
            .await
            .with_context(|| format!("adding the demo user {name}"))?;
        if let casehub_store::Response::Rejected { reason, .. } = &w.response {
            bail!("the demo user {name}: {reason}");
        }
        // The demo's calls go to this node: it authenticates with its own
        // applied state.
        node.state().wait_applied(w.log_index).await;
    }
    Ok(())
}

/// The demo users' console password: made once, kept in DATA_DIR.
fn demo_password(dir: &std::path::Path) -> Result<String> {
    let path = dir.join("console-password.txt");
    if let Ok(p) = std::fs::read_to_string(&path) {
        return Ok(p.trim().to_string());
    }
    let mut bytes = [0u8; 6];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| anyhow::anyhow!("no randomness for the demo password"))?;
    let password: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    crate::cert_cmd::write(&path, &format!("{password}\n"), 0o600)?;
    Ok(password)
}

fn meta(request_id: u64) -> Option<pb::WriteMeta> {
    Some(pb::WriteMeta {
        client_id: "casehub-demo".into(),
        request_id,
        // The audit names the authenticated user (the demo console).
        actor: String::new(),
        site_id: String::new(),
    })
}

pub fn run(a: DemoArgs) -> Result<ExitCode> {
    if a.base_port == 0 || a.base_port > 65_000 {
        bail!("--base-port {}: must be 1 to 65000", a.base_port);
    }
    let region = load::region(&a.region, None)?;
    let model = load::travel_model(&region, &a.region)?;
    let travel = load::full_table(&region, model.as_ref())?;
    let text = load::read(&a.region)?;
    // The nodes have no region file of their own: they plan from the one
    // loaded into the cluster, travel table included.
    let table_json = serde_json::to_string(&travel)?;
    let ctx = Arc::new(ApiContext {
        local: None,
        settings: Settings {
            time_limit: Duration::from_secs(5),
            ..Settings::default()
        },
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (dial, mut tls) = demo_tls(&a.data_dir)?;
    // The particulars key, beside the nodes' data directories (not in them).
    let key_path = a.data_dir.join("particulars.key");
    if !key_path.exists() {
        std::fs::create_dir_all(&a.data_dir)
            .with_context(|| format!("cannot create {}", a.data_dir.display()))?;
        let text = casehub_server::particulars::new_key_file("demo").map_err(anyhow::Error::msg)?;
        crate::cert_cmd::write(&key_path, &text, 0o600)?;
    }
    let keys = casehub_server::particulars::Keys::from_file(&key_path)?;
    rt.block_on(async move {
        let mut nodes: BTreeMap<u64, Node> = BTreeMap::new();
        for id in 1..=3u64 {
            let dir = a.data_dir.join(format!("node-{id}"));
            let listen = format!("127.0.0.1:{}", a.base_port + id as u16);
            let options = NodeOptions {
                api: Some(ctx.clone()),
                client_listen: format!("127.0.0.1:{}", a.base_port + 10 + id as u16),
                tls: tls.remove(&id),
                particulars: Some(keys.clone()),
                ..NodeOptions::new(id, listen, &dir)
            };
            let node = Node::start_with_options(options)
                .await
                .with_context(|| format!("starting node {id} in {}", dir.display()))?;
            println!(
                "node {id}: API on {}, peers on {} (data in {})",
                node.client_addr(),
                node.addr(),
                dir.display()
            );
            nodes.insert(id, node);
        }
        println!(
            "TLS is on, with a development CA and certificates in {}",
            a.data_dir.join("tls").display()
        );
        println!(
            "persons' particulars are sealed with the key in {}",
            key_path.display()
        );
        if nodes[&1].raft().is_initialized().await? {
            println!("reusing the cluster in {}", a.data_dir.display());
        } else {
            let members: BTreeMap<u64, _> =
                nodes.iter().map(|(id, n)| (*id, n.basic_node())).collect();
            nodes[&1]
                .raft()
                .initialize(members)
                .await
                .context("initializing the cluster")?;
            println!("initialized a new cluster of 3 nodes");
        }
        let addrs: Vec<String> = nodes
            .values()
            .map(|n| n.client_addr().to_string())
            .collect();
        let stamp = Utc::now().timestamp_millis() as u64;
        let password = demo_password(&a.data_dir)?;
        add_demo_users(&nodes[&1], stamp, &password).await?;
        let tls_dir = a.data_dir.join("tls");
        println!(
            "the console: https://{}/console/ (the browser must trust {}); every demo user's password: {password}",
            addrs[0],
            a.data_dir.join("tls").join("ca.pem").display()
        );
        println!("one user per role; to call the API as one of them:");
        for (name, roles) in DEMO_USERS {
            let roles: Vec<&str> = roles.iter().map(|r| r.name()).collect();
            println!(
                "  {name} ({}): casehub availability --addr {} --ca {} --cert {} --key {}",
                roles.join(", "),
                addrs[0],
                tls_dir.join("ca.pem").display(),
                tls_dir.join(format!("user-{name}.pem")).display(),
                tls_dir.join(format!("user-{name}-key.pem")).display(),
            );
        }
        let result = tokio::select! {
            r = replay(&a, &dial, &addrs, (&text, &table_json), &region, stamp) => r,
            _ = tokio::signal::ctrl_c() => {
                println!("stopping");
                Ok(())
            }
        };
        if result.is_ok() && !a.exit_after_replay {
            println!("watching alerts on node 1; Ctrl-C to stop");
            let _ = tokio::signal::ctrl_c().await;
            println!("stopping");
        }
        for (_, n) in nodes {
            n.shutdown().await;
        }
        result.map(|_| ExitCode::SUCCESS)
    })
}

async fn replay(
    a: &DemoArgs,
    dial: &Dial,
    addrs: &[String],
    (text, table_json): (&str, &str),
    region: &casehub_model::Region,
    stamp: u64,
) -> Result<()> {
    let mut admin = AdminServiceClient::new(dial.connect(&addrs[0]).await?);
    let loaded = admin
        .load_region(pb::LoadRegionRequest {
            meta: meta(stamp),
            file_name: a.region.display().to_string(),
            text: text.to_string(),
            travel_table_json: table_json.to_string(),
        })
        .await
        .map_err(|e| anyhow::anyhow!("loading the region: {}", e.message()))?
        .into_inner();
    println!(
        "loaded {}: {} requests, up to log index {}",
        a.region.display(),
        loaded.applied,
        loaded.last_index
    );
    // Alerts from node 1, printed as they arise.
    let mut alerts = AlertServiceClient::new(dial.connect(&addrs[0]).await?)
        .stream_alerts(pb::StreamAlertsRequest {
            site_id: String::new(),
            check_every_s: 5,
        })
        .await
        .map_err(|e| anyhow::anyhow!("alerts: {}", e.message()))?
        .into_inner();
    tokio::spawn(async move {
        while let Ok(Some(x)) = alerts.message().await {
            println!("ALERT {:<22} {}", x.kind, x.message);
        }
    });
    let now = Utc::now();
    let cases = casehub_planning::generate::pending_cases(region, now, a.cases, 90, 0, a.seed);
    let mut request = stamp + 1000;
    let mut first_accepted: Option<(String, String)> = None;
    for (i, pc) in cases.into_iter().enumerate() {
        let c = pc.case;
        let id = format!("DEMO-{stamp}-{}", i + 1);
        let addr = &addrs[i % addrs.len()];
        let mut dispatch = DispatchServiceClient::new(dial.connect(addr).await?);
        let case = pb::Case {
            case_id: id.clone(),
            ..casehub_server::convert::case_to_proto(&c)
        };
        request += 1;
        println!(
            "\n#{} {id}: {} person(s) from {} ({}), via node at {addr}",
            i + 1,
            c.persons.len(),
            c.origin,
            c.category.as_str()
        );
        let proposal = dispatch
            .submit_case(pb::SubmitCaseRequest {
                meta: meta(request),
                case: Some(case),
            })
            .await
            .map_err(|e| anyhow::anyhow!("submitting {id}: {}", e.message()))?
            .into_inner();
        request += 1;
        if show_and_accept(&mut dispatch, proposal, request, false).await {
            first_accepted.get_or_insert((id.clone(), addr.clone()));
        }
        tokio::time::sleep(Duration::from_millis(a.interval_ms)).await;
    }
    // The first case's escort runs late: its plan slips, and plans it
    // breaks are returned to re-planning.
    if let Some((id, addr)) = first_accepted {
        request += 1;
        let mut dispatch = DispatchServiceClient::new(dial.connect(&addr).await?);
        println!("\nthe escort of {id} reports 30 min of delay (traffic)");
        match dispatch
            .report_delay(pb::ReportDelayRequest {
                meta: meta(request),
                case_id: id.clone(),
                team_id: String::new(),
                minutes: 30,
                reason: "traffic".into(),
                picked_up: false,
            })
            .await
        {
            Ok(r) => {
                let r = r.into_inner();
                println!(
                    "  delay: {} at log index {}; re-planning: {}",
                    r.outcome,
                    r.ack.unwrap_or_default().log_index,
                    if r.replanned_case_ids.is_empty() {
                        "none".to_string()
                    } else {
                        r.replanned_case_ids.join(", ")
                    }
                );
                for c in &r.conflicts {
                    println!("  conflict: {c}");
                }
                // The cases it returned to planning get a new plan, accepted.
                if !r.replanned_case_ids.is_empty() {
                    request += 1;
                    replan(&mut dispatch, r.replanned_case_ids, request).await;
                }
            }
            Err(e) => println!("  delay not recorded ({:?}): {}", e.code(), e.message()),
        }
    }
    Ok(())
}

/// Propose a new plan for `cases` and accept it, printing both.
async fn replan(dispatch: &mut DispatchServiceClient<Channel>, cases: Vec<String>, request: u64) {
    match dispatch
        .propose_plan(pb::ProposePlanRequest {
            case_ids: cases,
            method: String::new(),
            ..Default::default()
        })
        .await
    {
        Ok(p) => {
            show_and_accept(dispatch, p.into_inner(), request, true).await;
        }
        Err(e) => println!("  no new plan ({:?}): {}", e.code(), e.message()),
    }
}

/// Print a proposal and accept it if it plans a case (`new`: a case
/// planned again); whether it was accepted.
async fn show_and_accept(
    dispatch: &mut DispatchServiceClient<Channel>,
    proposal: pb::ProposePlanReply,
    request: u64,
    new: bool,
) -> bool {
    let (plan, accepted, refused) = if new {
        ("new plan", "new plan accepted", "new plan not accepted")
    } else {
        ("plan", "accepted", "not accepted")
    };
    for line in &proposal.summary {
        println!("  {plan}: {line}");
    }
    for b in &proposal.blocked {
        println!("  BLOCKED {} by {}: {}", b.case_id, b.rule, b.reason);
    }
    for w in &proposal.warnings {
        println!("  warning: {w}");
    }
    if proposal.summary.is_empty() {
        return false;
    }
    match dispatch
        .accept_plan(pb::AcceptPlanRequest {
            meta: meta(request),
            plan_json: proposal.plan_json,
            versions: proposal.versions,
            case_ids: vec![],
            ..Default::default()
        })
        .await
    {
        Ok(ack) => {
            let index = ack.into_inner().log_index;
            println!("  {accepted} at log index {index}");
            true
        }
        Err(e) => {
            println!("  {refused} ({:?}): {}", e.code(), e.message());
            false
        }
    }
}
