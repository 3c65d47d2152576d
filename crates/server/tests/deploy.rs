//! The node configs shipped in `deploy/` are accepted by the node's own
//! config parser and describe one consistent cluster each: the systemd
//! examples, the compose stack's configs and the Kubernetes ConfigMap.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use casehub_server::config::{ConfigLayer, NodeConfig};
use casehub_server::telemetry::LogFormat;

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `*.toml` in `dir`, by file stem, resolved.
fn configs_in(dir: &Path) -> BTreeMap<String, NodeConfig> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let layer = ConfigLayer::from_file(&path).unwrap();
            let config =
                NodeConfig::resolve(layer).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let stem = path.file_stem().unwrap().to_string_lossy().to_string();
            out.insert(stem, config);
        }
    }
    out
}

/// One cluster: distinct ids and sites, exactly one node initializing it,
/// the same members everywhere, each node among them at its advertised
/// address.
fn check_cluster(what: &str, configs: &BTreeMap<String, NodeConfig>) {
    assert_eq!(configs.len(), 3, "{what}: {:?}", configs.keys());
    let ids: BTreeSet<u64> = configs.values().map(|c| c.node_id).collect();
    assert_eq!(ids.len(), configs.len(), "{what}: node ids {ids:?}");
    let sites: BTreeSet<&str> = configs.values().map(|c| c.site.as_str()).collect();
    assert_eq!(sites.len(), configs.len(), "{what}: sites {sites:?}");
    let inits: Vec<&String> = configs
        .iter()
        .filter(|(_, c)| c.init)
        .map(|(name, _)| name)
        .collect();
    assert_eq!(inits.len(), 1, "{what}: initializing nodes {inits:?}");
    let members = &configs.values().next().unwrap().members;
    assert_eq!(
        members.keys().copied().collect::<BTreeSet<_>>(),
        ids,
        "{what}"
    );
    for (name, c) in configs {
        assert_eq!(&c.members, members, "{what}: {name}");
        assert_eq!(
            members.get(&c.node_id),
            Some(&c.advertise),
            "{what}: {name}"
        );
        assert!(
            c.listen.ip().is_unspecified(),
            "{what}: {name}: {}",
            c.listen
        );
        assert_eq!(c.log_format, LogFormat::Json, "{what}: {name}");
    }
}

#[test]
fn the_systemd_example_configs_make_one_cluster() {
    let configs = configs_in(&deploy().join("systemd"));
    check_cluster("deploy/systemd", &configs);
    let unit = read(&deploy().join("systemd/casehub@.service"));
    for (name, c) in &configs {
        // The instance name is the site id, and the unit's data directory
        // is the config's.
        assert_eq!(name, &c.site);
        assert_eq!(
            c.data_dir,
            Path::new("/var/lib/casehub").join(&c.site),
            "{name}"
        );
    }
    assert!(unit.contains("ExecStart=/usr/local/bin/casehub node --config /etc/casehub/%i.toml"));
    assert!(unit.contains("Environment=CASEHUB_DATA_DIR=%S/casehub/%i"));
    assert!(unit.contains("StateDirectory=casehub/%i"));
}

#[test]
fn the_compose_configs_make_one_cluster_of_the_compose_services() {
    let configs = configs_in(&deploy().join("config"));
    check_cluster("deploy/config", &configs);
    let compose = read(&deploy().join("docker-compose.yml"));
    for (name, c) in &configs {
        // Mounted into the service of the same name, which its peers reach
        // by that name.
        assert!(
            compose.contains(&format!("./config/{name}.toml:/etc/casehub/node.toml:ro")),
            "{name} is not mounted"
        );
        assert!(
            compose.contains(&format!("\n  {name}:\n")),
            "no service {name}"
        );
        assert!(
            c.advertise.starts_with(&format!("{name}:")),
            "{name} advertises {}",
            c.advertise
        );
    }
}

/// The TOML documents of the ConfigMap's `data`, by key (`casehub-0.toml`).
fn configmap_tomls(yaml: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in yaml.lines() {
        if let Some((_, body)) = current.as_mut() {
            if line.is_empty() || line.starts_with("    ") {
                body.push_str(line.strip_prefix("    ").unwrap_or(line));
                body.push('\n');
                continue;
            }
            let (key, body) = current.take().unwrap();
            out.insert(key, body);
        }
        if let Some(key) = line
            .strip_prefix("  ")
            .and_then(|l| l.strip_suffix(": |"))
            .filter(|k| k.ends_with(".toml"))
        {
            current = Some((key.to_string(), String::new()));
        }
    }
    if let Some((key, body)) = current {
        out.insert(key, body);
    }
    out
}

#[test]
fn the_kubernetes_configs_make_one_cluster_of_the_statefulset_pods() {
    let yaml = read(&deploy().join("k8s/statefulset.yaml"));
    let tomls = configmap_tomls(&yaml);
    assert_eq!(tomls.len(), 3, "{:?}", tomls.keys());
    let mut configs = BTreeMap::new();
    for (key, text) in &tomls {
        let layer = ConfigLayer::from_toml(text).unwrap_or_else(|e| panic!("{key}: {e}"));
        let config = NodeConfig::resolve(layer).unwrap_or_else(|e| panic!("{key}: {e}"));
        let pod = key.strip_suffix(".toml").unwrap().to_string();
        // Pod casehub-<n> is node n+1, at its stable name under the
        // headless service.
        let ordinal: u64 = pod.strip_prefix("casehub-").unwrap().parse().unwrap();
        assert_eq!(config.node_id, ordinal + 1, "{key}");
        assert_eq!(
            config.advertise,
            format!("{pod}.casehub.casehub.svc.cluster.local:7401"),
            "{key}"
        );
        assert_eq!(config.data_dir, Path::new("/var/lib/casehub"));
        configs.insert(pod, config);
    }
    check_cluster("deploy/k8s", &configs);
    assert!(configs["casehub-0"].init, "the first pod initializes");
    assert!(yaml.contains("clusterIP: None"));
    assert!(yaml.contains("serviceName: casehub"));
    assert!(yaml.contains("replicas: 3"));
    assert!(yaml.contains(r#"args: ["node", "--config", "/etc/casehub/$(POD_NAME).toml"]"#));
}
