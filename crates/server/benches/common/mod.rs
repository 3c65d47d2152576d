//! What the Raft and read benches share: the certificates of one CA for
//! casehub's nodes, its users and etcd, and a 3-member etcd cluster started
//! from the `etcd` binary of Debian's `etcd-server`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use casehub_server::pki;
use tonic::transport::{Channel, Endpoint};

/// The bench's certificates: one CA, and certificates for casehub's nodes
/// (the store client's too, node 9's), its users and etcd's members.
pub struct Certs {
    pub ca: pki::CertifiedPem,
    pub dir: PathBuf,
}

impl Certs {
    pub fn new(dir: &Path) -> Certs {
        let ca = pki::new_ca("bench CA", 1).expect("a CA");
        let dir = dir.join("tls");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ca.pem"), &ca.cert).unwrap();
        Certs { ca, dir }
    }

    pub fn node(&self, id: u64) -> pki::CertifiedPem {
        pki::node_cert(&self.ca, id, &["127.0.0.1".into()], 1).expect("a node certificate")
    }

    pub fn user(&self, name: &str) -> pki::CertifiedPem {
        pki::user_cert(&self.ca, name, 1).expect("a user certificate")
    }

    /// A certificate's files, for etcd.
    pub fn files(&self, name: &str, pem: &pki::CertifiedPem) -> (PathBuf, PathBuf) {
        let (c, k) = (
            self.dir.join(format!("{name}.pem")),
            self.dir.join(format!("{name}-key.pem")),
        );
        std::fs::write(&c, &pem.cert).unwrap();
        std::fs::write(&k, &pem.key).unwrap();
        (c, k)
    }

    /// A TLS channel to `addr` presenting `identity`, connected.
    pub async fn channel(&self, addr: &str, identity: &pki::CertifiedPem) -> Channel {
        Endpoint::from_shared(format!("https://{addr}"))
            .unwrap()
            .tls_config(casehub_server::tls::client_config(
                &self.ca.cert,
                Some(identity),
                None,
            ))
            .unwrap()
            .tcp_nodelay(true)
            .connect()
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {addr}: {e:?}"))
    }
}

/// etcd's members, killed when dropped.
pub struct Etcd {
    children: Vec<Child>,
}

impl Drop for Etcd {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Three etcd members on loopback, over mutual TLS (clients and peers)
/// with `certs`, else in plaintext; their client addresses, or why not.
pub fn start_etcd(
    bin: &Path,
    dir: &Path,
    certs: Option<&Certs>,
) -> Result<(Etcd, Vec<String>), String> {
    let ports: Vec<(u16, u16)> = (0..3).map(|_| (free_port(), free_port())).collect();
    let scheme = if certs.is_some() { "https" } else { "http" };
    let cluster: Vec<String> = ports
        .iter()
        .enumerate()
        .map(|(i, (_, peer))| format!("e{i}={scheme}://127.0.0.1:{peer}"))
        .collect();
    // One certificate for etcd's members (server and client use; etcd checks
    // its peers against the CA and the address).
    let tls_args: Vec<String> = match certs {
        Some(c) => {
            let (cert, key) = c.files("etcd", &c.node(100));
            let ca = c.dir.join("ca.pem");
            vec![
                format!("--cert-file={}", cert.display()),
                format!("--key-file={}", key.display()),
                format!("--trusted-ca-file={}", ca.display()),
                "--client-cert-auth".into(),
                format!("--peer-cert-file={}", cert.display()),
                format!("--peer-key-file={}", key.display()),
                format!("--peer-trusted-ca-file={}", ca.display()),
                "--peer-client-cert-auth".into(),
            ]
        }
        None => Vec::new(),
    };
    let mut etcd = Etcd {
        children: Vec::new(),
    };
    for (i, (client, peer)) in ports.iter().enumerate() {
        let log = std::fs::File::create(dir.join(format!("etcd-{i}.log"))).unwrap();
        let child = Command::new(bin)
            .arg(format!("--name=e{i}"))
            .arg(format!(
                "--data-dir={}",
                dir.join(format!("etcd-{i}")).display()
            ))
            .arg(format!(
                "--listen-client-urls={scheme}://127.0.0.1:{client}"
            ))
            .arg(format!(
                "--advertise-client-urls={scheme}://127.0.0.1:{client}"
            ))
            .arg(format!("--listen-peer-urls={scheme}://127.0.0.1:{peer}"))
            .arg(format!(
                "--initial-advertise-peer-urls={scheme}://127.0.0.1:{peer}"
            ))
            .args(&tls_args)
            .arg(format!("--initial-cluster={}", cluster.join(",")))
            .arg("--initial-cluster-state=new")
            .arg("--initial-cluster-token=casehub-bench")
            .arg("--logger=zap")
            .arg("--log-level=error")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot run {}: {e} (apt-get install etcd-server)",
                    bin.display()
                )
            })?;
        etcd.children.push(child);
    }
    let addrs = ports
        .iter()
        .map(|(c, _)| format!("127.0.0.1:{c}"))
        .collect();
    Ok((etcd, addrs))
}
