//! Trust on real nodes with real TLS: mutual TLS between nodes, a node
//! certificate that names its node, the peer and client listeners apart,
//! and certificates from a wrong CA, expired or of a user refused where
//! they do not belong.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use casehub_server::pki::{self, CertifiedPem};
use casehub_server::proto::raft_service_client::RaftServiceClient;
use casehub_server::proto::store_service_client::StoreServiceClient;
use casehub_server::proto::{RaftPayload, ReadIndexRequest, RulesVersionRequest};
use casehub_server::tls::Tls;
use casehub_server::{Node, NodeError, NodeOptions};
use casehub_store::{Command, TypeConfig};
use openraft::Vote;
use openraft::raft::VoteRequest;
use tempfile::TempDir;
use tonic::Code;
use tonic::transport::{Channel, Endpoint};

use common::TIMEOUT;

const LOCALHOST: &str = "127.0.0.1";

/// Three nodes over mutual TLS, each with a certificate of the cluster CA
/// naming it.
struct TlsCluster {
    _dir: TempDir,
    ca: CertifiedPem,
    nodes: BTreeMap<u64, Node>,
}

impl TlsCluster {
    async fn start() -> TlsCluster {
        let dir = tempfile::tempdir().unwrap();
        let ca = pki::new_ca("security test CA", 1).unwrap();
        let mut nodes = BTreeMap::new();
        for id in 1..=3u64 {
            let own = pki::node_cert(&ca, id, &[LOCALHOST.into()], 1).unwrap();
            let node = Node::start_with_options(NodeOptions {
                tls: Some(Tls::from_pem(&ca.cert, &own).unwrap()),
                ..NodeOptions::new(id, "127.0.0.1:0", dir.path().join(format!("node-{id}")))
            })
            .await
            .unwrap();
            nodes.insert(id, node);
        }
        let members: BTreeMap<u64, _> = nodes.iter().map(|(id, n)| (*id, n.basic_node())).collect();
        nodes[&1].raft().initialize(members).await.unwrap();
        let c = TlsCluster {
            _dir: dir,
            ca,
            nodes,
        };
        c.leader().await;
        c
    }

    async fn leader(&self) -> u64 {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let leaders: Vec<u64> = self
                .nodes
                .iter()
                .filter(|(_, n)| n.raft().metrics().borrow().state.is_leader())
                .map(|(id, _)| *id)
                .collect();
            if let [l] = leaders[..]
                && self
                    .nodes
                    .values()
                    .all(|n| n.raft().metrics().borrow().current_leader == Some(l))
            {
                return l;
            }
            assert!(Instant::now() < deadline, "no leader over mutual TLS");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn shutdown(self) {
        for (_, n) in self.nodes {
            n.shutdown().await;
        }
    }
}

/// An endpoint over TLS to `addr`, trusting `ca`, presenting `identity`,
/// expecting the server to be `server_name` (default: the address's host).
fn tls_endpoint(
    addr: impl std::fmt::Display,
    ca: &str,
    identity: Option<&CertifiedPem>,
    server_name: Option<&str>,
) -> Endpoint {
    Endpoint::from_shared(format!("https://{addr}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .tls_config(casehub_server::tls::client_config(
            ca,
            identity,
            server_name,
        ))
        .unwrap()
}

async fn connect(endpoint: Endpoint) -> Result<Channel, String> {
    endpoint.connect().await.map_err(|e| format!("{e:?}"))
}

/// A RulesVersion call over `endpoint` (the cheapest peer-port call).
async fn rules_version(endpoint: Endpoint) -> Result<u32, String> {
    let ch = connect(endpoint).await?;
    RaftServiceClient::new(ch)
        .rules_version(RulesVersionRequest {})
        .await
        .map(|r| r.into_inner().version)
        .map_err(|s| format!("{:?}: {}", s.code(), s.message()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cluster_replicates_over_mutual_tls() {
    let c = TlsCluster::start().await;
    let leader = c.leader().await;
    let written = c.nodes[&leader]
        .write(&common::req(Command::UpsertSite(common::site())))
        .await
        .unwrap();
    for n in c.nodes.values() {
        common::wait_applied(n.state(), written.log_index).await;
    }
    // A write through a follower is forwarded to the leader over mutual TLS.
    let follower = *c.nodes.keys().find(|id| **id != leader).unwrap();
    let again = c.nodes[&follower]
        .write(&common::req(Command::UpsertStation(common::station("st1"))))
        .await
        .unwrap();
    assert!(again.log_index > written.log_index);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_peer_port_takes_node_certificates_of_the_cluster_ca_only() {
    let c = TlsCluster::start().await;
    let peer = c.nodes[&1].addr();
    let node2 = pki::node_cert(&c.ca, 2, &[], 1).unwrap();

    // Node 2's certificate is let in.
    let v = rules_version(tls_endpoint(peer, &c.ca.cert, Some(&node2), None))
        .await
        .unwrap();
    assert!(v > 0);

    // No client certificate: the TLS handshake is refused.
    let err = rules_version(tls_endpoint(peer, &c.ca.cert, None, None))
        .await
        .unwrap_err();
    assert!(!err.starts_with("Ok"), "{err}");

    // A user certificate of the same CA: PERMISSION_DENIED.
    let user = pki::user_cert(&c.ca, "dispatcher-1", 1).unwrap();
    let err = rules_version(tls_endpoint(peer, &c.ca.cert, Some(&user), None))
        .await
        .unwrap_err();
    assert!(err.starts_with("PermissionDenied"), "{err}");
    assert!(err.contains("node certificates only"), "{err}");

    // A node certificate from another CA: refused in the handshake.
    let other_ca = pki::new_ca("another CA", 1).unwrap();
    let forged = pki::node_cert(&other_ca, 2, &[LOCALHOST.into()], 1).unwrap();
    let err = rules_version(tls_endpoint(peer, &c.ca.cert, Some(&forged), None))
        .await
        .unwrap_err();
    assert!(
        !err.starts_with("PermissionDenied"),
        "refused before any call: {err}"
    );

    // An expired node certificate of the right CA: refused in the handshake.
    let expired = pki::expired_node_cert(&c.ca, 2, &[LOCALHOST.into()]).unwrap();
    let err = rules_version(tls_endpoint(peer, &c.ca.cert, Some(&expired), None))
        .await
        .unwrap_err();
    assert!(
        !err.starts_with("PermissionDenied"),
        "refused before any call: {err}"
    );

    // Plaintext to a TLS node: no answer.
    let plain = Endpoint::from_shared(format!("http://{peer}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(5));
    assert!(rules_version(plain).await.is_err());

    // The cluster is unharmed.
    c.leader().await;
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_certificate_cannot_speak_for_another_node() {
    let c = TlsCluster::start().await;
    let before = c.nodes[&1].raft().metrics().borrow().current_term;
    let node2 = pki::node_cert(&c.ca, 2, &[], 1).unwrap();
    let ch = connect(tls_endpoint(
        c.nodes[&1].addr(),
        &c.ca.cert,
        Some(&node2),
        None,
    ))
    .await
    .unwrap();
    // Node 2's certificate asks for votes as node 3, at a higher term.
    let vote: VoteRequest<u64> = VoteRequest::new(Vote::new(before + 10, 3), None);
    let err = RaftServiceClient::new(ch.clone())
        .vote(RaftPayload {
            payload: serde_json::to_vec(&vote).unwrap(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert!(err.message().contains("names node 2"), "{}", err.message());
    // And sends entries as a leader 3 of a higher term.
    let append: openraft::raft::AppendEntriesRequest<TypeConfig> =
        openraft::raft::AppendEntriesRequest {
            vote: Vote::new_committed(before + 10, 3),
            prev_log_id: None,
            entries: vec![],
            leader_commit: None,
        };
    let err = RaftServiceClient::new(ch)
        .append_entries(RaftPayload {
            payload: serde_json::to_vec(&append).unwrap(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    // Neither reached Raft: the term did not move and the leader stands.
    assert_eq!(c.nodes[&1].raft().metrics().borrow().current_term, before);
    c.leader().await;

    // A server that is not node 3 cannot answer as node 3: a client expecting
    // node-3.casehub at node 1's address refuses node 1's certificate.
    let err = rules_version(tls_endpoint(
        c.nodes[&1].addr(),
        &c.ca.cert,
        Some(&node2),
        Some(&pki::node_dns_name(3)),
    ))
    .await
    .unwrap_err();
    assert!(!err.starts_with("Ok"), "{err}");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_client_port_does_not_serve_raft_or_the_raw_store() {
    let c = TlsCluster::start().await;
    let client = c.nodes[&1].client_addr();
    let ch = connect(tls_endpoint(client, &c.ca.cert, None, None))
        .await
        .unwrap();
    let err = RaftServiceClient::new(ch.clone())
        .rules_version(RulesVersionRequest {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented, "{err:?}");
    let err = StoreServiceClient::new(ch.clone())
        .read_index(ReadIndexRequest {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented, "{err:?}");
    // Health answers there.
    let mut health = tonic_health::pb::health_client::HealthClient::new(ch);
    health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap();
    // A client that trusts another CA refuses the node.
    let other_ca = pki::new_ca("another CA", 1).unwrap();
    assert!(
        connect(tls_endpoint(client, &other_ca.cert, None, None))
            .await
            .is_err()
    );
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_refuses_to_start_with_another_nodes_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let ca = pki::new_ca("ca", 1).unwrap();
    let for_two = pki::node_cert(&ca, 2, &[], 1).unwrap();
    let err = Node::start_with_options(NodeOptions {
        tls: Some(Tls::from_pem(&ca.cert, &for_two).unwrap()),
        ..NodeOptions::new(3, "127.0.0.1:0", dir.path().join("n3"))
    })
    .await
    .unwrap_err();
    assert!(matches!(err, NodeError::Tls { id: 3, .. }), "{err}");
    assert!(err.to_string().contains("names node 2"), "{err}");
    let user = pki::user_cert(&ca, "alice", 1).unwrap();
    let err = Node::start_with_options(NodeOptions {
        tls: Some(Tls::from_pem(&ca.cert, &user).unwrap()),
        ..NodeOptions::new(3, "127.0.0.1:0", dir.path().join("n3"))
    })
    .await
    .unwrap_err();
    assert!(err.to_string().contains("user alice"), "{err}");
}

#[test]
fn bad_tls_material_is_refused_naming_the_part() {
    let ca = pki::new_ca("ca", 1).unwrap();
    let own = pki::node_cert(&ca, 1, &[], 1).unwrap();
    let err = Tls::from_pem("not a pem", &own).unwrap_err();
    assert!(err.to_string().contains("CA certificate"), "{err}");
    let bad_key = CertifiedPem {
        cert: own.cert.clone(),
        key: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".into(),
    };
    assert!(Tls::from_pem(&ca.cert, &bad_key).is_err());
    let other = pki::node_cert(&ca, 1, &[], 1).unwrap();
    let mismatched = CertifiedPem {
        cert: own.cert.clone(),
        key: other.key,
    };
    let err = Tls::from_pem(&ca.cert, &mismatched).unwrap_err();
    assert!(err.to_string().contains("private key"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_reload_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let old_ca = pki::new_ca("old CA", 1).unwrap();
    let files = casehub_server::tls::TlsFiles {
        ca: dir.path().join("ca.pem"),
        cert: dir.path().join("node.pem"),
        key: dir.path().join("node-key.pem"),
    };
    let write = |ca: &CertifiedPem, id: u64| {
        let own = pki::node_cert(ca, id, &[LOCALHOST.into()], 1).unwrap();
        std::fs::write(&files.ca, &ca.cert).unwrap();
        std::fs::write(&files.cert, &own.cert).unwrap();
        std::fs::write(&files.key, &own.key).unwrap();
    };
    write(&old_ca, 1);
    let tls = Tls::from_files(files.clone()).unwrap();
    let node = Node::start_with_options(NodeOptions {
        tls: Some(tls.clone()),
        ..NodeOptions::new(1, "127.0.0.1:0", dir.path().join("data"))
    })
    .await
    .unwrap();
    let addr = node.addr();
    let old_peer = pki::node_cert(&old_ca, 2, &[], 1).unwrap();
    rules_version(tls_endpoint(addr, &old_ca.cert, Some(&old_peer), None))
        .await
        .unwrap();

    // A broken file: the reload fails and the material in use stays.
    std::fs::write(&files.cert, "garbage").unwrap();
    let err = tls.reload().unwrap_err();
    assert!(err.to_string().contains("node.pem"), "{err}");
    rules_version(tls_endpoint(addr, &old_ca.cert, Some(&old_peer), None))
        .await
        .unwrap();

    // Rotated to a new CA: new connections use it, the old CA is refused.
    let new_ca = pki::new_ca("new CA", 1).unwrap();
    write(&new_ca, 1);
    tls.reload().unwrap();
    let new_peer = pki::node_cert(&new_ca, 2, &[], 1).unwrap();
    rules_version(tls_endpoint(addr, &new_ca.cert, Some(&new_peer), None))
        .await
        .unwrap();
    assert!(
        rules_version(tls_endpoint(addr, &old_ca.cert, Some(&old_peer), None))
            .await
            .is_err()
    );
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_request_size_limit_for_every_way_in() {
    use casehub_server::MAX_REQUEST_SIZE;
    use casehub_server::proto::{ClientWriteRequest, WriteRequest};

    let c = TlsCluster::start().await;
    let node2 = pki::node_cert(&c.ca, 2, &[], 1).unwrap();
    let ch = connect(tls_endpoint(
        c.nodes[&1].addr(),
        &c.ca.cert,
        Some(&node2),
        None,
    ))
    .await
    .unwrap();
    let oversized = vec![b' '; MAX_REQUEST_SIZE + 1024];
    let e = StoreServiceClient::new(ch.clone())
        .write(WriteRequest {
            request: oversized.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::OutOfRange, "{e:?}");
    let e = RaftServiceClient::new(ch)
        .client_write(ClientWriteRequest { request: oversized })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::OutOfRange, "{e:?}");
    assert!(e.message().contains("over the limit"), "{}", e.message());
    // Nothing reached the log, and the cluster carries on.
    c.leader().await;
    c.shutdown().await;
}
