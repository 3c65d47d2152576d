//! Running `casehub node` processes for the tests: configs, start, SIGKILL,
//! SIGTERM, logs on failure.
#![allow(dead_code)]

#[path = "../../../server/tests/common/prereq.rs"]
pub mod prereq;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A failure deadline, generous for a loaded machine: never a timing assert.
pub const DEADLINE: Duration = Duration::from_secs(90);

/// Free loopback ports: bound, then released for the nodes.
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// Three `casehub node` processes over TLS, with certificates made by
/// `casehub cert` in `dir/tls`.
pub struct Nodes {
    pub dir: PathBuf,
    /// The peer listeners (the members' addresses).
    pub addrs: BTreeMap<u64, String>,
    /// The client listeners (the casehub API).
    pub client_addrs: BTreeMap<u64, String>,
    pub children: BTreeMap<u64, Child>,
    /// More lines for every node's config file (for example `region = ...`).
    pub extra: String,
}

impl Nodes {
    /// Three nodes on free loopback ports, their config files (each with
    /// `extra`) in `dir`, all started.
    pub fn start_three(dir: &std::path::Path, extra: String) -> Nodes {
        let ports = free_ports(6);
        let mut nodes = Nodes {
            dir: dir.to_path_buf(),
            addrs: (1..=3)
                .map(|id| (id, format!("127.0.0.1:{}", ports[id as usize - 1])))
                .collect(),
            client_addrs: (1..=3)
                .map(|id| (id, format!("127.0.0.1:{}", ports[id as usize + 2])))
                .collect(),
            children: BTreeMap::new(),
            extra,
        };
        nodes.make_certificates();
        nodes.write_configs();
        for id in 1..=3 {
            nodes.start(id);
        }
        nodes
    }

    /// Where the certificates are: ca.pem, node-N.pem, node-N-key.pem.
    pub fn tls_dir(&self) -> PathBuf {
        self.dir.join("tls")
    }

    /// The cluster CA's certificate, for clients (`--ca`).
    pub fn ca(&self) -> String {
        self.tls_dir().join("ca.pem").display().to_string()
    }

    /// The CA and a certificate per node, made by `casehub cert`.
    fn make_certificates(&self) {
        let tls = self.tls_dir();
        let tls = tls.to_str().unwrap();
        let cert = |args: &[&str]| {
            let out = Command::new(env!("CARGO_BIN_EXE_casehub"))
                .arg("cert")
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "casehub cert {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        cert(&["ca", "--out", tls]);
        for id in self.addrs.keys() {
            let id = id.to_string();
            cert(&[
                "node",
                "--ca-dir",
                tls,
                "--out",
                tls,
                "--id",
                &id,
                "--host",
                "127.0.0.1",
            ]);
        }
    }

    /// Add the user `name` with every role, as the first admin is added: the
    /// CLI's `user add --peer` through node 1's peer port with its node
    /// certificate (retried while the cluster elects and raises its rules),
    /// and make its certificate with `casehub cert user`. Returns the
    /// certificate and key files.
    pub fn bootstrap_user(&self, name: &str) -> (String, String) {
        let tls = self.tls_dir();
        let file = |f: &str| tls.join(f).display().to_string();
        let deadline = Instant::now() + DEADLINE;
        loop {
            let out = Command::new(env!("CARGO_BIN_EXE_casehub"))
                .args(["user", "add", "--peer", "--addr", &self.addrs[&1]])
                .args(["--ca", &file("ca.pem")])
                .args([
                    "--cert",
                    &file("node-1.pem"),
                    "--key",
                    &file("node-1-key.pem"),
                ])
                .args(["--name", name])
                .args([
                    "--role",
                    "admin",
                    "--role",
                    "dispatcher",
                    "--role",
                    "supervisor",
                ])
                .output()
                .unwrap();
            if out.status.success() {
                break;
            }
            let stderr = String::from_utf8_lossy(&out.stderr);
            // Only what a moment fixes is retried: an election, the rules
            // version not raised yet.
            let transient = [
                "Unavailable",
                "no leader",
                "rules of version",
                "cannot reach",
            ]
            .iter()
            .any(|t| stderr.contains(t));
            assert!(
                transient && Instant::now() < deadline,
                "casehub user add --peer: {stderr}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
        let out = Command::new(env!("CARGO_BIN_EXE_casehub"))
            .args(["cert", "user", "--ca-dir", &file(""), "--out", &file("")])
            .args(["--name", name])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            file(&format!("user-{name}.pem")),
            file(&format!("user-{name}-key.pem")),
        )
    }

    /// TLS for a store client on the peer port: node 1's certificate,
    /// verifying the node against the CA.
    pub fn peer_tls(&self) -> tonic::transport::ClientTlsConfig {
        let read = |name: &str| std::fs::read_to_string(self.tls_dir().join(name)).unwrap();
        casehub_server::tls::client_config(
            &read("ca.pem"),
            Some(&casehub_server::pki::CertifiedPem {
                cert: read("node-1.pem"),
                key: read("node-1-key.pem"),
            }),
            None,
        )
    }

    pub fn config_path(&self, id: u64) -> PathBuf {
        self.dir.join(format!("node-{id}.toml"))
    }

    pub fn write_configs(&self) {
        let members: Vec<String> = self
            .addrs
            .iter()
            .map(|(id, a)| format!("\"{id}\" = \"{a}\""))
            .collect();
        let tls = self.tls_dir();
        for (id, addr) in &self.addrs {
            let data = self.dir.join(format!("data-{id}"));
            let client = &self.client_addrs[id];
            let (ca, cert, key) = (
                tls.join("ca.pem"),
                tls.join(format!("node-{id}.pem")),
                tls.join(format!("node-{id}-key.pem")),
            );
            let text = format!(
                "node_id = {id}\nsite = \"site-{id}\"\nlisten = \"{addr}\"\n\
                 client_listen = \"{client}\"\ndata_dir = {data:?}\n\
                 log_format = \"json\"\n{}\n[tls]\nca = {ca:?}\ncert = {cert:?}\nkey = {key:?}\n\
                 [cluster]\ninit = {}\nmembers = {{ {} }}\n",
                self.extra,
                *id == 1,
                members.join(", ")
            );
            std::fs::write(self.config_path(*id), text).unwrap();
        }
    }

    pub fn start(&mut self, id: u64) {
        let log = |kind: &str| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.join(format!("node-{id}.{kind}")))
                .unwrap()
        };
        let child = Command::new(env!("CARGO_BIN_EXE_casehub"))
            .arg("node")
            .arg("--config")
            .arg(self.config_path(id))
            .env("RUST_LOG", "info")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdout(Stdio::from(log("stdout")))
            .stderr(Stdio::from(log("stderr")))
            .spawn()
            .expect("casehub node starts");
        self.children.insert(id, child);
    }

    /// SIGKILL: no shutdown, no flush beyond what the node already synced.
    pub fn kill9(&mut self, id: u64) {
        let mut child = self.children.remove(&id).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Send node `id` the signal `name` (HUP, …) with kill(1).
    pub fn signal(&self, id: u64, name: &str) {
        prereq::KILL.require();
        let ok = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.children[&id].id().to_string())
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// The node's log so far (its standard output and error).
    pub fn log(&self, id: u64) -> String {
        ["stdout", "stderr"]
            .iter()
            .map(|k| {
                std::fs::read_to_string(self.dir.join(format!("node-{id}.{k}"))).unwrap_or_default()
            })
            .collect()
    }

    /// SIGTERM, and the exit status once the node has stopped cleanly.
    pub fn terminate(&mut self, id: u64) -> std::process::ExitStatus {
        let mut child = self.children.remove(&id).unwrap();
        prereq::KILL.require();
        let ok = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(ok.success());
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "node {id} ignores SIGTERM");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn logs(&self) -> String {
        let mut out = String::new();
        for id in self.addrs.keys() {
            let path = self.dir.join(format!("node-{id}.stderr"));
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(30).collect();
            out += &format!("--- node {id} ({}) ---\n", path.display());
            for line in tail.into_iter().rev() {
                out += line;
                out.push('\n');
            }
        }
        out
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
        for child in self.children.values_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Retry `f` until it returns `Some`, or panic at the deadline.
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
