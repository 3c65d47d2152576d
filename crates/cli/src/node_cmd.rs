//! `casehub node`: run a site's node. Flags over `CASEHUB_*` environment
//! variables over the `--config` file over defaults; the configuration and
//! the node's life are casehub-server's (`casehub_server::config`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use casehub_planning::Settings;
use casehub_server::config::{ClusterLayer, ConfigLayer, NodeConfig, TlsLayer, run};
use casehub_server::grpc_api::{ApiContext, LocalRegion};
use casehub_server::telemetry::{self, TelemetryOptions};
use clap::Args;

#[derive(Args)]
pub struct NodeArgs {
    /// The TOML config file (see docs/node-config.md).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// This node's id in the cluster (overrides CASEHUB_NODE_ID and node_id).
    #[arg(long)]
    node_id: Option<u64>,
    /// The site this node runs at (overrides CASEHUB_SITE and site).
    #[arg(long)]
    site: Option<String>,
    /// The peer listener's address, e.g. 127.0.0.1:7401 (overrides CASEHUB_LISTEN and listen).
    #[arg(long)]
    listen: Option<String>,
    /// The client listener's address, e.g. 127.0.0.1:7400 (overrides
    /// CASEHUB_CLIENT_LISTEN and client_listen).
    #[arg(long)]
    client_listen: Option<String>,
    /// The peer address the other nodes use (overrides CASEHUB_ADVERTISE and advertise).
    #[arg(long)]
    advertise: Option<String>,
    /// The cluster CA's certificate (overrides CASEHUB_TLS_CA and tls.ca).
    #[arg(long, value_name = "FILE")]
    tls_ca: Option<PathBuf>,
    /// This node's certificate (overrides CASEHUB_TLS_CERT and tls.cert).
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// This node's private key (overrides CASEHUB_TLS_KEY and tls.key).
    #[arg(long, value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Plaintext instead of TLS, for development only: anyone on the network
    /// can then read and write the node's traffic (overrides
    /// CASEHUB_INSECURE_PLAINTEXT and insecure_plaintext).
    #[arg(long)]
    insecure_plaintext: bool,
    /// The directory of the node's store (overrides CASEHUB_DATA_DIR and data_dir).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// text or json (overrides CASEHUB_LOG_FORMAT and log_format).
    #[arg(long)]
    log_format: Option<String>,
    /// The region scenario the casehub API plans with (overrides
    /// CASEHUB_REGION and region); without one the node serves only Raft
    /// and the store.
    #[arg(long)]
    region: Option<PathBuf>,
    /// The key file that seals the persons' particulars, outside the data
    /// directory (`casehub key new`; overrides CASEHUB_PARTICULARS_KEY and
    /// particulars_key). Without one the node refuses names and identity
    /// numbers.
    #[arg(long, value_name = "FILE")]
    particulars_key: Option<PathBuf>,
    /// Bootstrap the cluster with the configured members if the data
    /// directory is new (overrides CASEHUB_CLUSTER_INIT and cluster.init).
    #[arg(long)]
    init: bool,
    /// Print the resolved configuration and exit without starting.
    #[arg(long)]
    check: bool,
}

impl NodeArgs {
    fn layer(&self) -> ConfigLayer {
        ConfigLayer {
            node_id: self.node_id,
            site: self.site.clone(),
            listen: self.listen.clone(),
            client_listen: self.client_listen.clone(),
            advertise: self.advertise.clone(),
            insecure_plaintext: self.insecure_plaintext.then_some(true),
            tls: TlsLayer {
                ca: self.tls_ca.clone(),
                cert: self.tls_cert.clone(),
                key: self.tls_key.clone(),
            },
            data_dir: self.data_dir.clone(),
            log_format: self.log_format.clone(),
            request_deadline_ms: None,
            region: self.region.clone(),
            particulars_key: self.particulars_key.clone(),
            cluster: ClusterLayer {
                init: self.init.then_some(true),
                members: None,
            },
        }
    }
}

/// Resolve the configuration: flags, then the environment, then the file.
fn resolve(args: &NodeArgs) -> Result<NodeConfig> {
    let env = ConfigLayer::from_env(std::env::vars())?;
    let file = match &args.config {
        Some(path) => ConfigLayer::from_file(path)?,
        None => ConfigLayer::default(),
    };
    Ok(NodeConfig::resolve(args.layer().over(env.over(file)))?)
}

pub fn run_node(args: NodeArgs) -> Result<ExitCode> {
    let config = resolve(&args)?;
    if args.check {
        println!("{config:#?}");
        return Ok(ExitCode::SUCCESS);
    }
    // A region file of the node's own, read and checked before the node
    // starts: planned from only until the cluster has a replicated region.
    let local = match &config.region {
        Some(path) => {
            let region = crate::load::region(path, None)
                .with_context(|| format!("region = {}", path.display()))?;
            let model = crate::load::travel_model(&region, path)?;
            let travel = crate::load::full_table(&region, model.as_ref())?;
            Some(LocalRegion { region, travel })
        }
        None => None,
    };
    let api = Some(std::sync::Arc::new(ApiContext {
        local,
        settings: Settings::default(),
    }));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let _telemetry = telemetry::init(&TelemetryOptions {
            log_format: config.log_format,
            ..TelemetryOptions::new(config.site.clone())
        })?;
        run(config, api, shutdown_signal()).await?;
        Ok::<_, anyhow::Error>(ExitCode::SUCCESS)
    })
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("Ctrl-C received"),
        _ = term => tracing::info!("SIGTERM received"),
    }
}
