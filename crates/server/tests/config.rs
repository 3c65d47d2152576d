//! The node configuration: layers (flags over environment over file over
//! defaults), validation errors naming the key and the value, bootstrap.

use std::collections::BTreeMap;
use std::time::Duration;

use casehub_server::config::{ConfigError, ConfigLayer, NodeConfig, bootstrap, run};
use casehub_server::telemetry::LogFormat;

const FILE: &str = r#"
node_id = 1
site = "main"
listen = "127.0.0.1:7401"
data_dir = "/var/lib/casehub"

[tls]
ca = "/etc/casehub/tls/ca.pem"
cert = "/etc/casehub/tls/node-1.pem"
key = "/etc/casehub/tls/node-1-key.pem"

[cluster]
init = true
members = { "1" = "127.0.0.1:7401", "2" = "127.0.0.1:7402", "3" = "127.0.0.1:7403" }
"#;

fn file() -> ConfigLayer {
    ConfigLayer::from_toml(FILE).unwrap()
}

fn env(vars: &[(&str, &str)]) -> ConfigLayer {
    ConfigLayer::from_env(vars.iter().copied()).unwrap()
}

#[track_caller]
fn refused(layer: ConfigLayer) -> String {
    NodeConfig::resolve(layer).unwrap_err().to_string()
}

#[test]
fn a_file_alone_resolves_with_defaults() {
    let c = NodeConfig::resolve(file()).unwrap();
    assert_eq!(c.node_id, 1);
    assert_eq!(c.site, "main");
    assert_eq!(c.advertise, "127.0.0.1:7401");
    assert_eq!(c.log_format, LogFormat::Text);
    assert_eq!(c.request_deadline, Duration::from_secs(10));
    assert!(c.init);
    assert_eq!(c.members.len(), 3);
    assert_eq!(c.members[&2], "127.0.0.1:7402");
    assert_eq!(c.client_listen.to_string(), "127.0.0.1:7400");
    let tls = c.tls.unwrap();
    assert_eq!(tls.cert.to_str(), Some("/etc/casehub/tls/node-1.pem"));
}

#[test]
fn tls_is_required_unless_plaintext_is_asked_for() {
    let mut l = file();
    l.tls.key = None;
    let e = refused(l.clone());
    assert!(e.starts_with("tls.key is not set"), "{e}");
    assert!(
        e.contains("CASEHUB_TLS_KEY") && e.contains("--tls-key"),
        "{e}"
    );
    l.tls = Default::default();
    assert!(refused(l.clone()).starts_with("tls.ca is not set"));

    // Development only, and said so.
    l.insecure_plaintext = Some(true);
    let c = NodeConfig::resolve(l.clone()).unwrap();
    assert_eq!(c.tls, None);
    // Not both.
    let both = ConfigLayer {
        insecure_plaintext: Some(true),
        ..file()
    };
    let e = refused(both);
    assert!(e.starts_with("insecure_plaintext = \"true\""), "{e}");
    assert!(e.contains("choose one"), "{e}");

    let e = env(&[
        ("CASEHUB_TLS_CA", "/x/ca.pem"),
        ("CASEHUB_TLS_CERT", "/x/n.pem"),
        ("CASEHUB_TLS_KEY", "/x/n-key.pem"),
        ("CASEHUB_CLIENT_LISTEN", "127.0.0.1:9400"),
    ]);
    let c = NodeConfig::resolve(e.over(l)).unwrap_err();
    assert!(c.to_string().contains("choose one"), "{c}");
    let e = ConfigLayer::from_env([("CASEHUB_INSECURE_PLAINTEXT", "yes")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "CASEHUB_INSECURE_PLAINTEXT = \"yes\": expected true or false"
    );
}

#[test]
fn the_two_listeners_are_apart() {
    let mut l = file();
    l.client_listen = Some("127.0.0.1:7401".into());
    let e = refused(l.clone());
    assert!(e.starts_with("client_listen = \"127.0.0.1:7401\""), "{e}");
    l.client_listen = Some("nowhere".into());
    assert!(refused(l).starts_with("client_listen = \"nowhere\""));
}

#[test]
fn flags_override_the_environment_which_overrides_the_file() {
    let e = env(&[
        ("CASEHUB_NODE_ID", "2"),
        ("CASEHUB_LISTEN", "127.0.0.1:7402"),
        ("CASEHUB_LOG_FORMAT", "json"),
        ("CASEHUB_CLUSTER_INIT", "false"),
        ("CASEHUB_DATA_DIR", ""),
        ("PATH", "/bin"),
    ]);
    let c = NodeConfig::resolve(e.clone().over(file())).unwrap();
    assert_eq!(c.node_id, 2);
    assert_eq!(c.listen.to_string(), "127.0.0.1:7402");
    assert_eq!(c.log_format, LogFormat::Json);
    assert!(!c.init);
    // An empty variable counts as unset: the file's value stays.
    assert_eq!(c.data_dir.to_str(), Some("/var/lib/casehub"));

    let flags = ConfigLayer {
        node_id: Some(3),
        listen: Some("127.0.0.1:7403".into()),
        ..ConfigLayer::default()
    };
    let c = NodeConfig::resolve(flags.over(e.over(file()))).unwrap();
    assert_eq!(c.node_id, 3);
    assert_eq!(c.advertise, "127.0.0.1:7403");
    assert_eq!(c.log_format, LogFormat::Json);

    let members = env(&[("CASEHUB_CLUSTER_MEMBERS", "1=a:1, 2=b:2")]);
    assert_eq!(
        members.cluster.members,
        Some(BTreeMap::from([
            ("1".to_string(), "a:1".to_string()),
            ("2".to_string(), "b:2".to_string())
        ]))
    );
}

#[test]
fn bad_values_are_named_with_their_key() {
    let with = |f: fn(&mut ConfigLayer)| {
        let mut l = file();
        f(&mut l);
        refused(l)
    };
    assert_eq!(
        with(|l| l.listen = Some("localhost".into())),
        "listen = \"localhost\": not a socket address such as 127.0.0.1:7401 or 0.0.0.0:7401"
    );
    assert!(with(|l| l.node_id = Some(0)).starts_with("node_id = \"0\""));
    assert!(with(|l| l.node_id = None).contains("CASEHUB_NODE_ID"));
    assert!(with(|l| l.site = Some("two words".into())).starts_with("site = \"two words\""));
    assert!(with(|l| l.log_format = Some("xml".into())).starts_with("log_format = \"xml\""));
    assert!(
        with(|l| l.listen = Some("0.0.0.0:7401".into()))
            .contains("set advertise to the address peers use")
    );
    assert!(with(|l| l.advertise = Some("nohost".into())).starts_with("advertise = \"nohost\""));
    assert!(with(|l| l.request_deadline_ms = Some(5)).starts_with("request_deadline_ms = \"5\""));
    let m = with(|l| {
        l.cluster
            .members
            .as_mut()
            .unwrap()
            .insert("two".into(), "127.0.0.1:1".into());
    });
    assert!(m.starts_with("cluster.members.\"two\""), "{m}");
    let m = with(|l| {
        l.cluster.members.as_mut().unwrap().remove("1");
    });
    assert!(m.contains("this node (1) is not one of the members"), "{m}");
    let m = with(|l| l.advertise = Some("10.0.0.1:7401".into()));
    assert!(
        m.starts_with("cluster.members.\"1\" = \"127.0.0.1:7401\""),
        "{m}"
    );

    let e = ConfigLayer::from_env([("CASEHUB_NODE_ID", "x1")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "CASEHUB_NODE_ID = \"x1\": not a node id (a positive integer)"
    );
    let e = ConfigLayer::from_env([("CASEHUB_CLUSTER_MEMBERS", "1:a")]).unwrap_err();
    assert!(e.to_string().contains("id=host:port"), "{e}");
    let e = ConfigLayer::from_toml("node_id = \"one\"").unwrap_err();
    assert!(e.contains("node_id"), "{e}");
    let e = ConfigLayer::from_toml("[cluster]\nvoters = {}").unwrap_err();
    assert!(e.contains("voters"), "{e}");
    let e = ConfigLayer::from_file(std::path::Path::new("/nonexistent/node.toml")).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_once_then_a_no_op_and_run_stops_on_signal() {
    let dir = tempfile::TempDir::new().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let text = format!(
        "node_id = 1\nsite = \"main\"\nlisten = \"{addr}\"\nclient_listen = \"127.0.0.1:0\"\ninsecure_plaintext = true\ndata_dir = {:?}\n[cluster]\ninit = true\nmembers = {{ \"1\" = \"{addr}\" }}\n",
        dir.path().join("data")
    );
    let config = NodeConfig::resolve(ConfigLayer::from_toml(&text).unwrap()).unwrap();

    let node = casehub_server::Node::start_with_options(config.node_options().unwrap())
        .await
        .unwrap();
    assert!(bootstrap(&node, &config).await.unwrap());
    // A second bootstrap on the initialized directory does nothing.
    assert!(!bootstrap(&node, &config).await.unwrap());
    node.shutdown().await;

    // `run` restarts from the directory (bootstrap skipped), serves, and
    // stops when told to. (The store's lock may outlive the first node's
    // shutdown for a moment: a start that finds it locked is retried.)
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let client = casehub_server::client::Client::connect(&addr)
        .unwrap()
        .with_deadline(Duration::from_secs(2));
    loop {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(run(config.clone(), None, async {
            let _ = stopped.await;
        }));
        match client.read_linearizable().await {
            Ok(read) => {
                assert_eq!(read.leader_id, Some(1));
                assert!(read.applied_index().is_some());
                stop.send(()).unwrap();
                running.await.unwrap().unwrap();
                break;
            }
            Err(e) => {
                assert!(running.is_finished(), "run is up but does not serve: {e}");
                let failed = running.await.unwrap().unwrap_err();
                assert!(
                    std::time::Instant::now() < deadline,
                    "run does not start: {failed}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}
