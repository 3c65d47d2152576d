//! The configuration of a site's node (`casehub node`), and running it.
//!
//! A [`NodeConfig`] is assembled from three [`ConfigLayer`]s, highest first:
//! command-line flags, environment variables (`CASEHUB_*`, see
//! [`ConfigLayer::from_env`]), a TOML file ([`ConfigLayer::from_toml`]), then
//! the defaults. [`NodeConfig::resolve`] validates the result; every error
//! names the key and the value. `docs/node-config.md` documents the keys.
//!
//! [`run`] starts the node, bootstraps the cluster if asked (a no-op on a
//! data directory that is already initialized), waits for the shutdown
//! signal and stops the node cleanly.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use openraft::BasicNode;
use openraft::error::{InitializeError, RaftError};
use serde::Deserialize;

use crate::node::{Node, NodeError, NodeOptions};
use crate::telemetry::LogFormat;
use crate::tls::{Tls, TlsError, TlsFiles};

type NodeId = u64;

/// The default `listen` address (the peer listener).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7401";
/// The default `client_listen` address (the client listener).
pub const DEFAULT_CLIENT_LISTEN: &str = "127.0.0.1:7400";
/// The default `request_deadline_ms`.
pub const DEFAULT_REQUEST_DEADLINE_MS: u64 = 10_000;

/// The environment variables read by [`ConfigLayer::from_env`], with the key
/// each sets.
pub const ENV_VARS: [(&str, &str); 16] = [
    ("CASEHUB_NODE_ID", "node_id"),
    ("CASEHUB_SITE", "site"),
    ("CASEHUB_LISTEN", "listen"),
    ("CASEHUB_CLIENT_LISTEN", "client_listen"),
    ("CASEHUB_TLS_CA", "tls.ca"),
    ("CASEHUB_TLS_CERT", "tls.cert"),
    ("CASEHUB_TLS_KEY", "tls.key"),
    ("CASEHUB_INSECURE_PLAINTEXT", "insecure_plaintext"),
    ("CASEHUB_ADVERTISE", "advertise"),
    ("CASEHUB_DATA_DIR", "data_dir"),
    ("CASEHUB_LOG_FORMAT", "log_format"),
    ("CASEHUB_REQUEST_DEADLINE_MS", "request_deadline_ms"),
    ("CASEHUB_CLUSTER_INIT", "cluster.init"),
    ("CASEHUB_CLUSTER_MEMBERS", "cluster.members"),
    ("CASEHUB_REGION", "region"),
    ("CASEHUB_PARTICULARS_KEY", "particulars_key"),
];

/// Why a configuration was refused. Every variant names the key (or the
/// file) and the value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a key is unknown or of the wrong type.
    #[error("config file {}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    /// A value that is not acceptable.
    #[error("{key} = {value:?}: {reason}")]
    Invalid {
        key: String,
        value: String,
        reason: String,
    },
    /// A required key is not set anywhere.
    #[error("{key} is not set: set it in the config file, with {env} or with {flag}")]
    Missing {
        key: &'static str,
        env: &'static str,
        flag: &'static str,
    },
}

fn invalid(
    key: impl Into<String>,
    value: impl Into<String>,
    reason: impl Into<String>,
) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        value: value.into(),
        reason: reason.into(),
    }
}

/// One source of settings: every key optional. Values stay as written
/// (strings) until [`NodeConfig::resolve`] checks them, so that an error names
/// the value as the user wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigLayer {
    /// This node's id in the cluster (at least 1).
    pub node_id: Option<NodeId>,
    /// The id of the site this node runs at.
    pub site: Option<String>,
    /// The socket address of the peer listener (the other nodes).
    pub listen: Option<String>,
    /// The socket address of the client listener (the casehub API).
    pub client_listen: Option<String>,
    /// The peer address the other nodes use (default: `listen`).
    pub advertise: Option<String>,
    /// Plaintext instead of TLS: for development only.
    pub insecure_plaintext: Option<bool>,
    /// The `[tls]` table.
    #[serde(default)]
    pub tls: TlsLayer,
    /// The directory of the node's RocksDB store.
    pub data_dir: Option<PathBuf>,
    /// `text` or `json`.
    pub log_format: Option<String>,
    /// How long a write or a linearizable read may take, in milliseconds.
    pub request_deadline_ms: Option<u64>,
    /// The region scenario whose static parts (shifts, step durations,
    /// caseload, travel) the casehub API plans with; without it the node
    /// serves only Raft and the store.
    pub region: Option<PathBuf>,
    /// The key file that seals the persons' particulars (outside
    /// `data_dir`; `casehub key new`); without it the node refuses
    /// particulars.
    pub particulars_key: Option<PathBuf>,
    /// The `[cluster]` table.
    #[serde(default)]
    pub cluster: ClusterLayer,
}

/// The `[tls]` table of a [`ConfigLayer`]: PEM files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsLayer {
    /// The cluster CA's certificate.
    pub ca: Option<PathBuf>,
    /// This node's certificate (`casehub cert node`).
    pub cert: Option<PathBuf>,
    /// This node's private key.
    pub key: Option<PathBuf>,
}

/// The `[cluster]` table of a [`ConfigLayer`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterLayer {
    /// Bootstrap the cluster with `members` if the data directory is new.
    pub init: Option<bool>,
    /// The initial voters: node id (a string key in TOML) → address.
    pub members: Option<BTreeMap<String, String>>,
}

impl ConfigLayer {
    /// The layer of a TOML file.
    pub fn from_file(path: &Path) -> Result<ConfigLayer, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text).map_err(|message| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })
    }

    /// The layer of a TOML document; the error is toml's message (with the
    /// line, the column and the key).
    pub fn from_toml(text: &str) -> Result<ConfigLayer, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())
    }

    /// The layer of the environment variables in [`ENV_VARS`] (pass
    /// `std::env::vars()`). An empty variable counts as unset.
    /// `CASEHUB_CLUSTER_MEMBERS` is a list `1=host:port,2=host:port`;
    /// `CASEHUB_CLUSTER_INIT` is `true` or `false`.
    pub fn from_env<I, K, V>(vars: I) -> Result<ConfigLayer, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut layer = ConfigLayer::default();
        for (k, v) in vars {
            let (k, v) = (k.as_ref(), v.as_ref().trim());
            if v.is_empty() || !k.starts_with("CASEHUB_") {
                continue;
            }
            match k {
                "CASEHUB_NODE_ID" => {
                    layer.node_id = Some(
                        v.parse()
                            .map_err(|_| invalid(k, v, "not a node id (a positive integer)"))?,
                    )
                }
                "CASEHUB_SITE" => layer.site = Some(v.to_string()),
                "CASEHUB_LISTEN" => layer.listen = Some(v.to_string()),
                "CASEHUB_CLIENT_LISTEN" => layer.client_listen = Some(v.to_string()),
                "CASEHUB_TLS_CA" => layer.tls.ca = Some(PathBuf::from(v)),
                "CASEHUB_TLS_CERT" => layer.tls.cert = Some(PathBuf::from(v)),
                "CASEHUB_TLS_KEY" => layer.tls.key = Some(PathBuf::from(v)),
                "CASEHUB_INSECURE_PLAINTEXT" => {
                    layer.insecure_plaintext = Some(parse_bool(k, v)?);
                }
                "CASEHUB_ADVERTISE" => layer.advertise = Some(v.to_string()),
                "CASEHUB_DATA_DIR" => layer.data_dir = Some(PathBuf::from(v)),
                "CASEHUB_REGION" => layer.region = Some(PathBuf::from(v)),
                "CASEHUB_PARTICULARS_KEY" => layer.particulars_key = Some(PathBuf::from(v)),
                "CASEHUB_LOG_FORMAT" => layer.log_format = Some(v.to_string()),
                "CASEHUB_REQUEST_DEADLINE_MS" => {
                    layer.request_deadline_ms = Some(
                        v.parse()
                            .map_err(|_| invalid(k, v, "not a number of milliseconds"))?,
                    )
                }
                "CASEHUB_CLUSTER_INIT" => layer.cluster.init = Some(parse_bool(k, v)?),
                "CASEHUB_CLUSTER_MEMBERS" => {
                    let mut members = BTreeMap::new();
                    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        let Some((id, addr)) = item.split_once('=') else {
                            return Err(invalid(
                                k,
                                v,
                                format!("{item:?} is not of the form id=host:port"),
                            ));
                        };
                        members.insert(id.trim().to_string(), addr.trim().to_string());
                    }
                    layer.cluster.members = Some(members);
                }
                // Other CASEHUB_ variables belong to other commands.
                _ => {}
            }
        }
        Ok(layer)
    }

    /// This layer, with every key it does not set taken from `lower`.
    pub fn over(self, lower: ConfigLayer) -> ConfigLayer {
        ConfigLayer {
            node_id: self.node_id.or(lower.node_id),
            site: self.site.or(lower.site),
            listen: self.listen.or(lower.listen),
            client_listen: self.client_listen.or(lower.client_listen),
            advertise: self.advertise.or(lower.advertise),
            insecure_plaintext: self.insecure_plaintext.or(lower.insecure_plaintext),
            tls: TlsLayer {
                ca: self.tls.ca.or(lower.tls.ca),
                cert: self.tls.cert.or(lower.tls.cert),
                key: self.tls.key.or(lower.tls.key),
            },
            data_dir: self.data_dir.or(lower.data_dir),
            log_format: self.log_format.or(lower.log_format),
            request_deadline_ms: self.request_deadline_ms.or(lower.request_deadline_ms),
            region: self.region.or(lower.region),
            particulars_key: self.particulars_key.or(lower.particulars_key),
            cluster: ClusterLayer {
                init: self.cluster.init.or(lower.cluster.init),
                members: self.cluster.members.or(lower.cluster.members),
            },
        }
    }
}

fn parse_bool(key: &str, v: &str) -> Result<bool, ConfigError> {
    match v {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(invalid(key, v, "expected true or false")),
    }
}

/// A node's validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeConfig {
    pub node_id: NodeId,
    pub site: String,
    /// The peer listener.
    pub listen: SocketAddr,
    /// The client listener.
    pub client_listen: SocketAddr,
    /// The peer address the other nodes use.
    pub advertise: String,
    /// TLS material; `None` only with `insecure_plaintext`.
    pub tls: Option<TlsFiles>,
    pub data_dir: PathBuf,
    pub log_format: LogFormat,
    pub request_deadline: Duration,
    /// Bootstrap the cluster with `members` if the data directory is new.
    pub init: bool,
    /// The initial voters and their addresses (may be empty unless `init`).
    pub members: BTreeMap<NodeId, String>,
    /// The region scenario for the casehub API, if the node serves it.
    pub region: Option<PathBuf>,
    /// The particulars key file, if the node takes particulars.
    pub particulars_key: Option<PathBuf>,
}

/// Whether `addr` can be a node's address (`host:port`) in a gRPC URI.
fn check_addr(key: &str, addr: &str) -> Result<(), ConfigError> {
    let Some((host, port)) = addr.rsplit_once(':') else {
        return Err(invalid(key, addr, "expected host:port"));
    };
    if host.is_empty() {
        return Err(invalid(key, addr, "the host is empty"));
    }
    if port.parse::<u16>().map_or(true, |p| p == 0) {
        return Err(invalid(
            key,
            addr,
            "the port is not a number from 1 to 65535",
        ));
    }
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .map(|_| ())
        .map_err(|e| invalid(key, addr, format!("not a valid address: {e}")))
}

impl NodeConfig {
    /// Validate the merged layers (flags over environment over file) and
    /// fill in the defaults.
    pub fn resolve(layer: ConfigLayer) -> Result<NodeConfig, ConfigError> {
        let node_id = layer.node_id.ok_or(ConfigError::Missing {
            key: "node_id",
            env: "CASEHUB_NODE_ID",
            flag: "--node-id",
        })?;
        if node_id == 0 {
            return Err(invalid("node_id", "0", "node ids start at 1"));
        }
        let site = layer.site.ok_or(ConfigError::Missing {
            key: "site",
            env: "CASEHUB_SITE",
            flag: "--site",
        })?;
        if site.trim().is_empty() || site.chars().any(char::is_whitespace) {
            return Err(invalid(
                "site",
                &site,
                "a site id is not empty and has no spaces",
            ));
        }
        let listen_text = layer.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            invalid(
                "listen",
                &listen_text,
                "not a socket address such as 127.0.0.1:7401 or 0.0.0.0:7401",
            )
        })?;
        let client_text = layer
            .client_listen
            .unwrap_or_else(|| DEFAULT_CLIENT_LISTEN.to_string());
        let client_listen: SocketAddr = client_text.parse().map_err(|_| {
            invalid(
                "client_listen",
                &client_text,
                "not a socket address such as 127.0.0.1:7400 or 0.0.0.0:7400",
            )
        })?;
        if client_listen == listen && listen.port() != 0 {
            return Err(invalid(
                "client_listen",
                &client_text,
                "the client and the peer listeners need two different ports",
            ));
        }
        let tls = resolve_tls(layer.tls, layer.insecure_plaintext.unwrap_or(false))?;
        let advertise = match layer.advertise {
            Some(a) => {
                check_addr("advertise", &a)?;
                a
            }
            None if listen.ip().is_unspecified() => {
                return Err(invalid(
                    "listen",
                    &listen_text,
                    "listening on every interface: set advertise to the address peers use",
                ));
            }
            None if listen.port() == 0 => {
                return Err(invalid(
                    "listen",
                    &listen_text,
                    "port 0 picks a port at random: peers could not find this node",
                ));
            }
            None => listen.to_string(),
        };
        let data_dir = layer.data_dir.ok_or(ConfigError::Missing {
            key: "data_dir",
            env: "CASEHUB_DATA_DIR",
            flag: "--data-dir",
        })?;
        if data_dir.as_os_str().is_empty() {
            return Err(invalid("data_dir", "", "the path is empty"));
        }
        let particulars_key = match layer.particulars_key {
            Some(p) if p.as_os_str().is_empty() => {
                return Err(invalid("particulars_key", "", "the path is empty"));
            }
            Some(p) => {
                crate::particulars::check_outside(&p, &data_dir).map_err(|reason| {
                    invalid("particulars_key", p.display().to_string(), reason)
                })?;
                Some(p)
            }
            None => None,
        };
        let log_format = match layer.log_format {
            None => LogFormat::Text,
            Some(f) => f
                .parse()
                .map_err(|_| invalid("log_format", &f, "expected \"text\" or \"json\""))?,
        };
        let deadline_ms = layer
            .request_deadline_ms
            .unwrap_or(DEFAULT_REQUEST_DEADLINE_MS);
        if deadline_ms < 100 {
            return Err(invalid(
                "request_deadline_ms",
                deadline_ms.to_string(),
                "at least 100 ms (an election takes about a second)",
            ));
        }
        let mut members = BTreeMap::new();
        for (id_text, addr) in layer.cluster.members.unwrap_or_default() {
            let key = format!("cluster.members.\"{id_text}\"");
            let id: NodeId = id_text
                .trim()
                .parse()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| {
                    invalid(
                        &key,
                        &addr,
                        format!("{id_text:?} is not a node id (an integer from 1)"),
                    )
                })?;
            check_addr(&key, &addr)?;
            members.insert(id, addr);
        }
        if let Some(r) = &layer.region
            && r.as_os_str().is_empty()
        {
            return Err(invalid("region", "", "the path is empty"));
        }
        let init = layer.cluster.init.unwrap_or(false);
        if init {
            match members.get(&node_id) {
                None => {
                    return Err(invalid(
                        "cluster.members",
                        format!("{members:?}"),
                        format!(
                            "cluster.init is true but this node ({node_id}) is not one of the members"
                        ),
                    ));
                }
                Some(addr) if *addr != advertise => {
                    return Err(invalid(
                        format!("cluster.members.\"{node_id}\""),
                        addr,
                        format!("this node advertises {advertise}: the two must be the same"),
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(NodeConfig {
            node_id,
            site,
            listen,
            client_listen,
            advertise,
            tls,
            data_dir,
            log_format,
            request_deadline: Duration::from_millis(deadline_ms),
            init,
            members,
            region: layer.region,
            particulars_key,
        })
    }

    /// What [`Node::start_with_options`] needs, with the default Raft
    /// timings and the TLS material read from its files.
    pub fn node_options(&self) -> Result<NodeOptions, TlsError> {
        let tls = match &self.tls {
            Some(files) => Some(Tls::from_files(files.clone())?),
            None => None,
        };
        Ok(NodeOptions {
            client_listen: self.client_listen.to_string(),
            tls,
            advertise: Some(self.advertise.clone()),
            request_deadline: self.request_deadline,
            ..NodeOptions::new(self.node_id, self.listen.to_string(), &self.data_dir)
        })
    }
}

/// TLS is required: all three files, unless `insecure_plaintext` (then
/// none).
fn resolve_tls(layer: TlsLayer, insecure_plaintext: bool) -> Result<Option<TlsFiles>, ConfigError> {
    let TlsLayer { ca, cert, key } = layer;
    if insecure_plaintext {
        if let Some(p) = ca.as_ref().or(cert.as_ref()).or(key.as_ref()) {
            return Err(invalid(
                "insecure_plaintext",
                "true",
                format!("TLS files are also set ({}): choose one", p.display()),
            ));
        }
        return Ok(None);
    }
    let missing = |key: &'static str, env: &'static str, flag: &'static str| ConfigError::Missing {
        key,
        env,
        flag,
    };
    let files = TlsFiles {
        ca: ca.ok_or(missing("tls.ca", "CASEHUB_TLS_CA", "--tls-ca"))?,
        cert: cert.ok_or(missing("tls.cert", "CASEHUB_TLS_CERT", "--tls-cert"))?,
        key: key.ok_or(missing("tls.key", "CASEHUB_TLS_KEY", "--tls-key"))?,
    };
    for (k, p) in [
        ("tls.ca", &files.ca),
        ("tls.cert", &files.cert),
        ("tls.key", &files.key),
    ] {
        if p.as_os_str().is_empty() {
            return Err(invalid(k, "", "the path is empty"));
        }
    }
    Ok(Some(files))
}

/// Why [`run`] failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Start(#[from] NodeError),
    #[error("node {id}: {source}")]
    Tls { id: NodeId, source: TlsError },
    #[error("node {id}: {source}")]
    Particulars {
        id: NodeId,
        source: crate::particulars::KeyError,
    },
    #[error("node {id}: bootstrapping the cluster failed: {message}")]
    Bootstrap { id: NodeId, message: String },
}

/// Initialize the cluster with the configured members unless this node's
/// data directory already holds a membership (then nothing happens). Returns
/// whether it initialized.
pub async fn bootstrap(node: &Node, config: &NodeConfig) -> Result<bool, RunError> {
    let id = node.id();
    let failed = |message: String| RunError::Bootstrap { id, message };
    if node
        .raft()
        .is_initialized()
        .await
        .map_err(|e| failed(e.to_string()))?
    {
        return Ok(false);
    }
    let members: BTreeMap<NodeId, BasicNode> = config
        .members
        .iter()
        .map(|(id, addr)| (*id, BasicNode::new(addr.clone())))
        .collect();
    match node.raft().initialize(members).await {
        Ok(()) => Ok(true),
        // Another member's leader got here first: the cluster exists.
        Err(RaftError::APIError(InitializeError::NotAllowed(_))) => Ok(false),
        Err(e) => Err(failed(e.to_string())),
    }
}

/// Run a node until `shutdown` completes: start it from its data directory
/// (serving the casehub API when `api` is given: the caller reads the
/// configured region), bootstrap the cluster if `init` is set and the
/// directory is new, then on `shutdown` stop Raft (closing the store) and the
/// server.
pub async fn run(
    config: NodeConfig,
    api: Option<std::sync::Arc<crate::grpc_api::ApiContext>>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RunError> {
    let options = config.node_options().map_err(|source| RunError::Tls {
        id: config.node_id,
        source,
    })?;
    let particulars = match &config.particulars_key {
        Some(path) => Some(crate::particulars::Keys::from_file(path).map_err(|source| {
            RunError::Particulars {
                id: config.node_id,
                source,
            }
        })?),
        None => None,
    };
    let tls = options.tls.clone();
    let node = Node::start_with_options(NodeOptions {
        api,
        particulars: particulars.clone(),
        ..options
    })
    .await?;
    spawn_reload_on_sighup(config.node_id, tls, particulars);
    tracing::info!(
        node_id = config.node_id,
        site = %config.site,
        listen = %node.addr(),
        client_listen = %node.client_addr(),
        tls = config.tls.is_some(),
        advertise = %config.advertise,
        data_dir = %config.data_dir.display(),
        "node started"
    );
    if config.init {
        match bootstrap(&node, &config).await {
            Ok(true) => tracing::info!(members = ?config.members, "cluster initialized"),
            Ok(false) => tracing::info!("cluster already initialized; bootstrap skipped"),
            Err(e) => {
                node.shutdown().await;
                return Err(e);
            }
        }
    }
    shutdown.await;
    tracing::info!(node_id = config.node_id, "shutting down");
    node.shutdown().await;
    tracing::info!(node_id = config.node_id, "stopped");
    Ok(())
}

/// Reload the TLS files and the particulars key file on every SIGHUP: new
/// connections use the new certificates, new particulars are sealed with
/// the new first key; a file that does not load is logged and the old
/// material stays in use.
fn spawn_reload_on_sighup(
    id: NodeId,
    tls: Option<std::sync::Arc<Tls>>,
    particulars: Option<std::sync::Arc<crate::particulars::Keys>>,
) {
    if tls.is_none() && particulars.is_none() {
        return;
    }
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::warn!(
            node_id = id,
            "cannot listen for SIGHUP: certificates and keys reload only on restart"
        );
        return;
    };
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            if let Some(tls) = &tls {
                match tls.reload() {
                    Ok(()) => tracing::info!(node_id = id, "TLS certificates reloaded"),
                    Err(e) => {
                        tracing::error!(node_id = id, error = %e, "TLS reload failed; the certificates in use stay")
                    }
                }
            }
            if let Some(keys) = &particulars {
                match keys.reload() {
                    Ok(()) => tracing::info!(
                        node_id = id,
                        sealing_key = keys.current().active_id(),
                        "particulars keys reloaded"
                    ),
                    Err(e) => {
                        tracing::error!(node_id = id, error = %e, "particulars key reload failed; the keys in use stay")
                    }
                }
            }
        }
    });
}
