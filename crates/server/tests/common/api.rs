//! Three nodes with the casehub API over TLS, the user the tests act as,
//! and the requests they send.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use casehub_model::scenario::parse_region;
use casehub_planning::Settings;
use casehub_server::grpc_api::{ApiContext, LocalRegion};
use casehub_server::pki;
use casehub_server::proto::admin_service_client::AdminServiceClient;
use casehub_server::proto::{self as pb};
use casehub_server::tls::Tls;
use casehub_server::{Node, NodeOptions};
use casehub_travel::{GreatCircle, TravelTable};
use tonic::transport::Channel;

pub const REGION: &str = include_str!("../../../../simulations/sample-county/region-3-sites.toml");
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Three nodes with the API, over TLS with a CA of their own.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub nodes: BTreeMap<u64, Node>,
    /// The cluster CA (PEM), which clients verify nodes with.
    pub ca_pem: pki::CertifiedPem,
    pub ca: String,
    /// The certificate of the user the tests act as ([`OPERATOR`], every
    /// role).
    pub user: pki::CertifiedPem,
}

/// The user the tests act as: every role, a Unicode name.
pub const OPERATOR: &str = "调度员 李";

/// Add `name` with `roles` to the cluster through `node` (in process, as an
/// operator on a node would bootstrap the first admin).
pub async fn add_user(node: &Node, name: &str, roles: &[casehub_store::Role]) {
    add_scoped_user(node, name, roles, &[]).await
}

/// [`add_user`], acting for `sites` only.
pub async fn add_scoped_user(
    node: &Node,
    name: &str,
    roles: &[casehub_store::Role],
    sites: &[&str],
) {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let request = casehub_store::Request {
        client_id: "test-users".into(),
        request_id: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        actor: "node operator".into(),
        site: None,
        time: chrono::Utc::now(),
        command: casehub_store::Command::UpsertUser(casehub_store::User {
            name: name.into(),
            roles: roles.iter().copied().collect(),
            sites: sites
                .iter()
                .map(|s| casehub_model::SiteId::new(*s).unwrap())
                .collect(),
            password_hash: None,
            disabled: false,
        }),
        trace: None,
    };
    let w = node.write(&request).await.unwrap();
    assert!(w.response.is_applied(), "{w:?}");
    for _ in 0..200 {
        if node.state().current().state.users.users.contains_key(name) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("user {name} not applied");
}

impl Cluster {
    pub async fn start() -> Cluster {
        Cluster::start_with(false).await
    }

    /// [`Cluster::start`]; with `particulars`, every node seals with one
    /// key file, `DIR/particulars.key` (outside the nodes' data
    /// directories).
    pub async fn start_with(particulars: bool) -> Cluster {
        Cluster::start_each(particulars, |_| sample_context()).await
    }

    /// [`Cluster::start_with`], node `id` with the context `ctx(id)`.
    pub async fn start_each(particulars: bool, ctx: impl Fn(u64) -> ApiContext) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let ca = pki::new_ca("api test CA", 1).unwrap();
        let keys = particulars.then(|| {
            let path = dir.path().join("particulars.key");
            std::fs::write(
                &path,
                casehub_server::particulars::new_key_file("k1").unwrap(),
            )
            .unwrap();
            casehub_server::particulars::Keys::from_file(path).unwrap()
        });
        let mut nodes = BTreeMap::new();
        for id in 1..=3u64 {
            let own = pki::node_cert(&ca, id, &["127.0.0.1".into()], 1).unwrap();
            let options = NodeOptions {
                api: Some(Arc::new(ctx(id))),
                tls: Some(Tls::from_pem(&ca.cert, &own).unwrap()),
                particulars: keys.clone(),
                ..NodeOptions::new(id, "127.0.0.1:0", dir.path().join(format!("node-{id}")))
            };
            nodes.insert(id, Node::start_with_options(options).await.unwrap());
        }
        let members: BTreeMap<u64, _> = nodes.iter().map(|(id, n)| (*id, n.basic_node())).collect();
        nodes[&1].raft().initialize(members).await.unwrap();
        let user = pki::user_cert(&ca, OPERATOR, 1).unwrap();
        let c = Cluster {
            dir,
            nodes,
            ca: ca.cert.clone(),
            ca_pem: ca,
            user,
        };
        c.leader().await;
        // The leader raises the new cluster's rules version first.
        super::rules_current(c.nodes.values()).await;
        add_user(&c.nodes[&1], OPERATOR, &casehub_store::Role::ALL).await;
        for n in c.nodes.values() {
            let deadline = Instant::now() + TIMEOUT;
            while !n.state().current().state.users.users.contains_key(OPERATOR) {
                assert!(Instant::now() < deadline, "the user did not replicate");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        c
    }

    pub async fn leader(&self) -> u64 {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(l) = self.nodes[&1].raft().metrics().borrow().current_leader {
                return l;
            }
            assert!(Instant::now() < deadline, "no leader");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A TLS channel to node `id`'s client listener, verified with the CA,
    /// presenting the operator's certificate.
    pub async fn channel(&self, id: u64) -> Channel {
        self.channel_as(id, Some(&self.user)).await
    }

    /// A TLS channel to node `id`'s client listener presenting `identity`.
    pub async fn channel_as(&self, id: u64, identity: Option<&pki::CertifiedPem>) -> Channel {
        Channel::from_shared(format!("https://{}", self.nodes[&id].client_addr()))
            .unwrap()
            .tls_config(casehub_server::tls::client_config(&self.ca, identity, None))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// Load the sample region through node `id`'s AdminService.
    pub async fn load_region(&self, id: u64) -> pb::LoadRegionReply {
        AdminServiceClient::new(self.channel(id).await)
            .load_region(pb::LoadRegionRequest {
                meta: meta(1000),
                file_name: "region-3-sites.toml".into(),
                text: REGION.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
    }

    pub async fn shutdown(self) {
        for (_, n) in self.nodes {
            n.shutdown().await;
        }
    }
}

pub fn meta(request_id: u64) -> Option<pb::WriteMeta> {
    Some(pb::WriteMeta {
        client_id: "dispatch-console-1".into(),
        request_id,
        actor: "dispatcher Li".into(),
        site_id: "MAIN".into(),
    })
}

pub fn ts(t: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    }
}

pub fn a_case(id: &str) -> pb::Case {
    pb::Case {
        case_id: id.into(),
        origin_station_id: "S03".into(),
        clock_started_at: Some(ts(chrono::Utc::now() - chrono::Duration::minutes(10))),
        category: "criminal_summons".into(),
        persons: vec![pb::Person {
            person_id: "P1".into(),
            gender: "male".into(),
            juvenile: false,
            co_suspect_group: String::new(),
            ..Default::default()
        }],
    }
}

/// The sample county's three sites as a node's own region file, with the
/// engine's settings of these tests.
pub fn sample_context() -> ApiContext {
    let region = parse_region("region-3-sites.toml", REGION).unwrap();
    let travel = TravelTable::for_region(&GreatCircle::new(1.35, 45.0).unwrap(), &region).unwrap();
    ApiContext {
        local: Some(LocalRegion { region, travel }),
        settings: Settings {
            time_limit: Duration::from_secs(5),
            ..Settings::default()
        },
    }
}
