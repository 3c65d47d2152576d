//! TLS on a node's two listeners and on its calls to other nodes (rustls).
//!
//! A node's [`Tls`] holds the cluster CA, the node's certificate (which must
//! name the node: see [`crate::pki`]) and its key, loaded from files and
//! reloaded by [`Tls::reload`] (SIGHUP) without a restart:
//!
//! * the **peer listener** requires a client certificate signed by the
//!   cluster CA (mutual TLS); [`PeerIdentity`] then accepts node
//!   certificates only;
//! * the **client listener** verifies a client certificate when one is
//!   presented (users may authenticate with one) and accepts none as well;
//! * calls to node `N` present this node's certificate and verify the
//!   server's against the CA for the name `node-N.casehub`, so a node cannot
//!   answer for another.
//!
//! Each listener's connections are accepted by a task of their own
//! ([`incoming`]): the TLS handshake runs per connection, bounded by
//! [`HANDSHAKE_TIMEOUT`], with the configuration current at accept time, so a
//! reload applies to new connections while open ones carry on.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

use crate::pki::{self, CertifiedPem, Principal};

/// How long a client may take to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a node's TLS material is: the cluster CA's certificate, the node's
/// certificate and its private key (PEM files). Keep the key readable by the
/// node's user only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Why TLS material was refused. Every variant names the file or the part.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {what} {}: {source}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
}

fn invalid(what: impl Into<String>, message: impl std::fmt::Display) -> TlsError {
    TlsError::Invalid {
        what: what.into(),
        message: message.to_string(),
    }
}

/// Which listener a connection came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// Raft, forwarding and the raw store: node certificates only.
    Peer,
    /// The public API, health and reflection.
    Client,
}

/// The material as loaded, and the server configurations built from it.
struct Loaded {
    ca: String,
    own: CertifiedPem,
    principal: Principal,
    peer: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ServerConfig>,
}

/// A node's TLS material, reloadable.
pub struct Tls {
    files: Option<TlsFiles>,
    loaded: RwLock<Arc<Loaded>>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("files", &self.files)
            .field("principal", &self.principal())
            .finish_non_exhaustive()
    }
}

/// rustls on *ring*, the provider tonic's `tls-ring` uses for the client
/// side too. rustls 0.23.48 deprecates it for lacking post-quantum key
/// exchange (ML-KEM); moving both sides to aws-lc-rs would bring that, at the
/// cost of building aws-lc (docs/security.md).
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(what: &'static str, path: &Path) -> Result<String, TlsError> {
    std::fs::read_to_string(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })
}

fn load(ca: &str, own: &CertifiedPem, names: [&str; 3]) -> Result<Loaded, TlsError> {
    let [ca_name, cert_name, key_name] = names;
    let ca_certs = CertificateDer::pem_slice_iter(ca.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(ca_name, format!("not PEM certificates: {e}")))?;
    if ca_certs.is_empty() {
        return Err(invalid(ca_name, "holds no certificate"));
    }
    let mut roots = RootCertStore::empty();
    for c in &ca_certs {
        roots
            .add(c.clone())
            .map_err(|e| invalid(ca_name, format!("not a CA certificate: {e}")))?;
    }
    let roots = Arc::new(roots);
    let chain = CertificateDer::pem_slice_iter(own.cert.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(cert_name, format!("not a PEM certificate: {e}")))?;
    let Some(leaf) = chain.first() else {
        return Err(invalid(cert_name, "holds no certificate"));
    };
    let principal = pki::principal_of(leaf).map_err(|e| invalid(cert_name, e))?;
    let key = PrivateKeyDer::from_pem_slice(own.key.as_bytes())
        .map_err(|e| invalid(key_name, format!("not a PEM private key: {e}")))?;

    let server = |verifier: Arc<dyn rustls::server::danger::ClientCertVerifier>| {
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("TLS", e))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain.clone(), key.clone_key())
            .map_err(|e| invalid(format!("{cert_name} and {key_name}"), e))?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok::<_, TlsError>(Arc::new(config))
    };
    let required = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider())
        .build()
        .map_err(|e| invalid(ca_name, e))?;
    let optional = WebPkiClientVerifier::builder_with_provider(roots, provider())
        .allow_unauthenticated()
        .build()
        .map_err(|e| invalid(ca_name, e))?;
    Ok(Loaded {
        ca: ca.to_string(),
        own: own.clone(),
        principal,
        peer: server(required)?,
        client: server(optional)?,
    })
}

impl Tls {
    /// The material in `files`.
    pub fn from_files(files: TlsFiles) -> Result<Arc<Tls>, TlsError> {
        let loaded = Self::read_files(&files)?;
        Ok(Arc::new(Tls {
            files: Some(files),
            loaded: RwLock::new(Arc::new(loaded)),
        }))
    }

    fn read_files(files: &TlsFiles) -> Result<Loaded, TlsError> {
        let ca = read("the CA certificate", &files.ca)?;
        let own = CertifiedPem {
            cert: read("the certificate", &files.cert)?,
            key: read("the private key", &files.key)?,
        };
        let names = [
            format!("the CA certificate {}", files.ca.display()),
            format!("the certificate {}", files.cert.display()),
            format!("the private key {}", files.key.display()),
        ];
        load(&ca, &own, [&names[0], &names[1], &names[2]])
    }

    /// Material given as PEM text (tests, tools).
    pub fn from_pem(ca: &str, own: &CertifiedPem) -> Result<Arc<Tls>, TlsError> {
        let loaded = load(
            ca,
            own,
            ["the CA certificate", "the certificate", "the private key"],
        )?;
        Ok(Arc::new(Tls {
            files: None,
            loaded: RwLock::new(Arc::new(loaded)),
        }))
    }

    fn current(&self) -> Arc<Loaded> {
        self.loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Read the files again. On an error the material in use stays, and the
    /// error says what is wrong; new connections use the new material.
    pub fn reload(&self) -> Result<(), TlsError> {
        let Some(files) = &self.files else {
            return Ok(());
        };
        let loaded = Self::read_files(files)?;
        *self.loaded.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(loaded);
        Ok(())
    }

    /// Who this material's certificate names.
    pub fn principal(&self) -> Principal {
        self.current().principal.clone()
    }

    /// The configuration of a call to the node or client that answers for
    /// `server_name` (for another node: [`pki::node_dns_name`]), presenting
    /// this certificate.
    pub fn client_config(&self, server_name: &str) -> ClientTlsConfig {
        let l = self.current();
        client_config(&l.ca, Some(&l.own), Some(server_name))
    }

    fn acceptor(&self, listener: Listener) -> TlsAcceptor {
        let l = self.current();
        TlsAcceptor::from(match listener {
            Listener::Peer => l.peer.clone(),
            Listener::Client => l.client.clone(),
        })
    }
}

/// The client side of a connection to a node: the cluster CA, and the
/// certificate to present, if any (a user's, or none for a token).
pub fn client_config(
    ca_pem: &str,
    identity: Option<&CertifiedPem>,
    server_name: Option<&str>,
) -> ClientTlsConfig {
    let mut c = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca_pem));
    if let Some(id) = identity {
        c = c.identity(Identity::from_pem(&id.cert, &id.key));
    }
    if let Some(name) = server_name {
        c = c.domain_name(name);
    }
    c
}

/// The TLS connections accepted on `listener`, handshaken with `tls`'s
/// configuration for `which`, until `stopped` turns true. A failed or slow
/// handshake is logged and dropped; it never stops the listener.
pub fn incoming(
    listener: TcpListener,
    tls: Arc<Tls>,
    which: Listener,
    mut stopped: watch::Receiver<bool>,
) -> tokio_stream::wrappers::ReceiverStream<std::io::Result<TlsStream<TcpStream>>> {
    // A small queue: the server takes connections as fast as they come.
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = stopped.wait_for(|s| *s) => return,
                _ = tx.closed() => return,
            };
            let (tcp, remote) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: pause, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = tls.acceptor(which);
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let _ = tx.send(Ok(stream)).await;
                    }
                    // A TCP probe (a load balancer's, a kubelet's) that
                    // hangs up before saying anything is no news.
                    Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                        tracing::debug!(%remote, listener = ?which, "connection closed before the TLS handshake")
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(%remote, listener = ?which, error = %e, "TLS handshake refused")
                    }
                    Err(_) => {
                        tracing::warn!(%remote, listener = ?which, "TLS handshake timed out")
                    }
                }
            });
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

/// The verified principal of a request's TLS client certificate, if the
/// connection was TLS and one was presented.
pub fn peer_principal<T>(request: &tonic::Request<T>) -> Option<Result<Principal, String>> {
    let certs = request.peer_certs()?;
    let leaf = certs.first()?;
    Some(pki::principal_of(leaf).map_err(|e| e.to_string()))
}

/// The node a peer-port call comes from, as its certificate names it;
/// inserted into the request's extensions by [`PeerIdentity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerNode(pub u64);

/// The peer listener's check, run before every call: the caller's
/// certificate must name a node. A user certificate is PERMISSION_DENIED;
/// without TLS (a development cluster) every call passes unnamed.
#[derive(Debug, Clone, Copy)]
pub struct PeerIdentity {
    /// Whether the listener is TLS: then a call without a node certificate
    /// is refused.
    pub tls: bool,
}

impl tonic::service::Interceptor for PeerIdentity {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if !self.tls {
            return Ok(request);
        }
        match peer_principal(&request) {
            Some(Ok(Principal::Node(id))) => {
                request.extensions_mut().insert(PeerNode(id));
                Ok(request)
            }
            Some(Ok(other)) => Err(tonic::Status::permission_denied(format!(
                "the peer port accepts node certificates only; this certificate names {other}"
            ))),
            Some(Err(e)) => Err(tonic::Status::unauthenticated(e)),
            None => Err(tonic::Status::unauthenticated(
                "the peer port needs a node certificate",
            )),
        }
    }
}
