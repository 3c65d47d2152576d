//! The node configs shipped in `deploy/` are accepted by the node's own
//! config parser and describe one consistent cluster each: the systemd
//! examples, the compose stack's configs and the Kubernetes ConfigMap.
//!
//! They are also secure by default: every node speaks TLS with its own
//! certificate, serves clients on port 7400 apart from the peer port 7401,
//! and no deployment exposes the peer port beyond the other nodes (compose
//! publishes only client ports, Kubernetes keeps the peer port on the
//! headless Service behind a NetworkPolicy) or a node's key beyond its node.
//! Every node names the cluster's one particulars key file, outside its data
//! directory, which each deployment mounts read-only and shared by all nodes,
//! never in a node's data volume.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use casehub_server::config::{ConfigLayer, NodeConfig};
use casehub_server::telemetry::LogFormat;

/// The client port of every shipped node.
const CLIENT_PORT: u16 = 7400;
/// The peer port of every shipped node: for the other nodes only.
const PEER_PORT: u16 = 7401;
/// The particulars key file of every shipped node: the same file on every
/// node, in a directory of its own, outside the data directory.
const PARTICULARS_KEY: &str = "/etc/casehub/keys/particulars.key";
/// The directory deployments mount the particulars key file in.
const KEYS_DIR: &str = "/etc/casehub/keys";

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
/// address. And secure: TLS with the CA and a certificate and key under
/// /etc/casehub/tls, a client listener on port 7400 of every interface
/// apart from the peer listener on 7401, and the one particulars key file
/// under /etc/casehub/keys, outside the data directory.
fn check_cluster(what: &str, configs: &BTreeMap<String, NodeConfig>) {
    assert_eq!(configs.len(), 3, "{what}: {:?}", configs.keys());
    let ids: BTreeSet<u64> = configs.values().map(|c| c.node_id).collect();
    assert_eq!(ids.len(), configs.len(), "{what}: node ids {ids:?}");
    let sites: BTreeSet<&str> = configs.values().map(|c| c.site.as_str()).collect();
    assert_eq!(sites.len(), configs.len(), "{what}: sites {sites:?}");
    // Node settings only: the nodes plan from the replicated region.
    for (name, c) in configs {
        assert_eq!(
            c.region, None,
            "{what}: {name} names a region file of its own"
        );
    }
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

        // The peer listener on 7401, advertised and listed on 7401.
        assert_eq!(c.listen.port(), PEER_PORT, "{what}: {name}: listen");
        assert!(
            c.advertise.ends_with(&format!(":{PEER_PORT}")),
            "{what}: {name}: advertise {}",
            c.advertise
        );
        // The client listener: every interface, port 7400, not the peer
        // listener.
        assert!(
            c.client_listen.ip().is_unspecified(),
            "{what}: {name}: client_listen {}",
            c.client_listen
        );
        assert_eq!(
            c.client_listen.port(),
            CLIENT_PORT,
            "{what}: {name}: client_listen"
        );
        assert_ne!(c.client_listen, c.listen, "{what}: {name}");
        assert_ne!(c.client_listen.port(), c.listen.port(), "{what}: {name}");
        // TLS, never plaintext: the three files under /etc/casehub/tls.
        let tls = c
            .tls
            .as_ref()
            .unwrap_or_else(|| panic!("{what}: {name}: no [tls]: plaintext"));
        assert_eq!(
            tls.ca,
            Path::new("/etc/casehub/tls/ca.pem"),
            "{what}: {name}"
        );
        for p in [&tls.cert, &tls.key] {
            assert!(
                p.starts_with("/etc/casehub/tls/"),
                "{what}: {name}: {}",
                p.display()
            );
        }
        assert_ne!(tls.cert, tls.key, "{what}: {name}");
        assert_ne!(tls.cert, tls.ca, "{what}: {name}");
        // The particulars key: the same file on every node, in its own
        // directory, neither in the data directory nor beside the node's own
        // TLS files.
        check_particulars_key(&format!("{what}: {name}"), c);
    }
}

/// A node's particulars key is the shared file under /etc/casehub/keys,
/// outside its data directory (which `NodeConfig::resolve` also checks).
fn check_particulars_key(what: &str, c: &NodeConfig) {
    let key = c
        .particulars_key
        .as_ref()
        .unwrap_or_else(|| panic!("{what}: no particulars_key: particulars refused"));
    assert_eq!(key, Path::new(PARTICULARS_KEY), "{what}");
    assert!(key.starts_with(KEYS_DIR), "{what}: {}", key.display());
    assert!(key.is_absolute(), "{what}: {}", key.display());
    assert!(
        !key.starts_with(&c.data_dir) && !c.data_dir.starts_with(KEYS_DIR),
        "{what}: {} and the data directory {}",
        key.display(),
        c.data_dir.display()
    );
    if let Some(tls) = &c.tls {
        let tls_dir = tls.key.parent().unwrap();
        assert!(!key.starts_with(tls_dir), "{what}: {}", key.display());
    }
}

/// `casehub cert node --id N` writes node-N.pem and node-N-key.pem: the
/// configs of compose and systemd name this node's.
fn check_node_cert_files(what: &str, configs: &BTreeMap<String, NodeConfig>) {
    for (name, c) in configs {
        let tls = c.tls.as_ref().unwrap();
        let id = c.node_id;
        assert_eq!(
            tls.cert,
            Path::new(&format!("/etc/casehub/tls/node-{id}.pem")),
            "{what}: {name}"
        );
        assert_eq!(
            tls.key,
            Path::new(&format!("/etc/casehub/tls/node-{id}-key.pem")),
            "{what}: {name}"
        );
    }
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// The lines under the first line equal to `header` (e.g. `"  main:"`): all
/// that follow it indented deeper, blank and comment lines included, up to
/// the next line indented as much or less.
fn block<'a>(text: &'a str, header: &str) -> Vec<&'a str> {
    let mut lines = text.lines();
    lines
        .by_ref()
        .find(|l| *l == header)
        .unwrap_or_else(|| panic!("no line {header:?}"));
    let depth = indent(header);
    lines
        .take_while(|l| is_blank_or_comment(l) || indent(l) > depth)
        .collect()
}

/// The block under the first line that is `key:` (trimmed) in `lines`, or
/// nothing if there is none.
fn block_in<'a>(lines: &[&'a str], key: &str) -> Vec<&'a str> {
    let Some(i) = lines.iter().position(|l| l.trim() == key) else {
        return Vec::new();
    };
    let depth = indent(lines[i]);
    lines[i + 1..]
        .iter()
        .take_while(|l| is_blank_or_comment(l) || indent(l) > depth)
        .copied()
        .collect()
}

/// The items of the block sequence in `lines` (each item's lines joined,
/// without comments): an item starts at a line `- …` at the indentation of
/// the first such line.
fn items(lines: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut depth = None;
    for l in lines.iter().filter(|l| !is_blank_or_comment(l)) {
        let starts = l.trim_start().starts_with("- ");
        if starts && depth.is_none_or(|d| d == indent(l)) {
            depth = Some(indent(l));
            out.push(String::new());
        }
        if let Some(item) = out.last_mut() {
            item.push_str(l);
            item.push('\n');
        }
    }
    out
}

/// The container port of a compose short-syntax port mapping
/// (`"127.0.0.1:7400:7400"`, `7400:7400/tcp`, …).
fn container_port(mapping: &str) -> String {
    let m = mapping
        .trim()
        .trim_start_matches("- ")
        .trim()
        .trim_matches('"')
        .trim_matches('\'');
    let last = m.rsplit(':').next().unwrap();
    last.split('/').next().unwrap().to_string()
}

#[test]
fn the_systemd_example_configs_make_one_cluster() {
    let configs = configs_in(&deploy().join("systemd"));
    check_cluster("deploy/systemd", &configs);
    check_node_cert_files("deploy/systemd", &configs);
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

    // The unit's environment over each config, as the node resolves it
    // (%S = /var/lib, %i = the site): still a valid config, whose
    // particulars key stays outside the data directory the unit gives it.
    let env: Vec<(String, String)> = unit
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Environment="))
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect();
    assert!(
        !env.iter().any(|(k, _)| k == "CASEHUB_PARTICULARS_KEY"),
        "the particulars key comes from the config, as the TLS paths: {env:?}"
    );
    for name in configs.keys() {
        let path = deploy().join(format!("systemd/{name}.toml"));
        let vars = env
            .iter()
            .map(|(k, v)| (k.clone(), v.replace("%S", "/var/lib").replace("%i", name)));
        let layer = ConfigLayer::from_env(vars)
            .unwrap()
            .over(ConfigLayer::from_file(&path).unwrap());
        let c = NodeConfig::resolve(layer).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(c.data_dir, Path::new("/var/lib/casehub").join(name));
        check_particulars_key(&format!("deploy/systemd: {name} under the unit"), &c);
    }
}

#[test]
fn the_systemd_unit_reads_the_tls_files_and_reloads_them() {
    let unit = read(&deploy().join("systemd/casehub@.service"));
    let directives: Vec<&str> = unit
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    // The TLS paths come from the config's [tls] table; the unit makes them
    // readable by its dynamic user (the group of the key), read-only.
    assert!(
        directives.contains(&"SupplementaryGroups=casehub-tls"),
        "{unit}"
    );
    assert!(
        directives.contains(&"ReadOnlyPaths=-/etc/casehub/tls"),
        "{unit}"
    );
    // The particulars key's directory likewise, read-only; not the state
    // directory, nor under it.
    assert!(
        directives.contains(&format!("ReadOnlyPaths=-{KEYS_DIR}").as_str()),
        "{unit}"
    );
    for d in &directives {
        if let Some(dir) = d
            .strip_prefix("StateDirectory=")
            .or_else(|| d.strip_prefix("Environment=CASEHUB_DATA_DIR="))
        {
            assert!(!dir.contains("/etc/casehub"), "{d}");
            assert!(!dir.contains("keys"), "{d}");
        }
    }
    // `systemctl reload` sends SIGHUP: the node reloads its certificates
    // and its particulars key.
    assert!(
        directives.contains(&"ExecReload=/bin/kill -HUP $MAINPID"),
        "{unit}"
    );
    // Nothing in the unit turns TLS off.
    assert!(!unit.contains("INSECURE_PLAINTEXT"), "{unit}");
    assert!(!unit.contains("insecure-plaintext"), "{unit}");
}

#[test]
fn the_compose_configs_make_one_cluster_of_the_compose_services() {
    let configs = configs_in(&deploy().join("config"));
    check_cluster("deploy/config", &configs);
    check_node_cert_files("deploy/config", &configs);
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

#[test]
fn compose_publishes_client_ports_only_and_mounts_each_node_its_own_certificates() {
    let configs = configs_in(&deploy().join("config"));
    let compose = read(&deploy().join("docker-compose.yml"));
    assert!(
        !compose.contains("network_mode"),
        "host networking exposes every port"
    );
    assert!(
        !compose.to_lowercase().contains("insecure"),
        "plaintext in compose"
    );

    // The casehub services: those built from the node template.
    let services: Vec<String> = block(&compose, "services:")
        .iter()
        .filter(|l| indent(l) == 2 && !is_blank_or_comment(l))
        .map(|l| l.trim().trim_end_matches(':').to_string())
        .collect();
    let casehub: BTreeSet<String> = services
        .iter()
        .filter(|s| {
            block(&compose, &format!("  {s}:"))
                .iter()
                .any(|l| l.trim() == "<<: *node")
        })
        .cloned()
        .collect();
    assert_eq!(
        casehub,
        configs.keys().cloned().collect::<BTreeSet<_>>(),
        "the casehub services are the configs' sites"
    );

    // The template publishes nothing; it gives the node the group of the
    // keys.
    let template = block(&compose, "x-casehub-node: &node");
    assert!(block_in(&template, "ports:").is_empty(), "{template:?}");
    assert!(block_in(&template, "expose:").is_empty(), "{template:?}");
    assert!(
        template.iter().any(|l| l.contains("${CASEHUB_TLS_GID")),
        "no group_add for the keys: {template:?}"
    );

    let mut host_ports = BTreeSet::new();
    for name in &casehub {
        let service = block(&compose, &format!("  {name}:"));
        // Only the client port, on the host's loopback; never the peer port.
        let ports = items(&block_in(&service, "ports:"));
        assert!(!ports.is_empty(), "{name} publishes no client port");
        for p in &ports {
            assert!(
                !p.contains(&PEER_PORT.to_string()),
                "{name} publishes the peer port: {p}"
            );
            assert_eq!(
                container_port(p),
                CLIENT_PORT.to_string(),
                "{name} publishes another port than the client port: {p}"
            );
            assert!(
                p.trim_start()
                    .trim_start_matches("- ")
                    .trim_matches('"')
                    .starts_with("127.0.0.1:"),
                "{name}: publish on the loopback: {p}"
            );
            assert!(host_ports.insert(p.clone()), "{name}: {p} twice");
        }
        // Its own TLS directory, read-only, at the configs' directory; a
        // missing one is an error rather than an empty mount. No CA key.
        let volumes = items(&block_in(&service, "volumes:"));
        let tls = volumes
            .iter()
            .find(|v| v.contains("target: /etc/casehub/tls\n"))
            .unwrap_or_else(|| panic!("{name}: no /etc/casehub/tls mount: {volumes:?}"));
        assert!(tls.contains("type: bind\n"), "{name}: {tls}");
        assert!(
            tls.contains(&format!("source: ./tls/{name}\n")),
            "{name}: {tls}"
        );
        assert!(tls.contains("read_only: true\n"), "{name}: {tls}");
        assert!(tls.contains("create_host_path: false\n"), "{name}: {tls}");
        for v in &volumes {
            assert!(!v.contains("./ca"), "{name} mounts the CA: {v}");
        }
    }
    assert!(!compose.contains("./ca"), "the CA's directory is mounted");

    // The keys never reach git or an image.
    let gitignore = read(&deploy().join(".gitignore"));
    for dir in ["/ca/", "/tls/", "/keys/", "/.env"] {
        assert!(gitignore.lines().any(|l| l == dir), ".gitignore: {dir}");
    }
    let dockerignore = read(&deploy().join("Dockerfile.dockerignore"));
    for dir in [
        "deploy/ca/",
        "deploy/tls/",
        "deploy/keys/",
        "**/*.pem",
        "**/particulars.key",
    ] {
        assert!(
            dockerignore.lines().any(|l| l == dir),
            "dockerignore: {dir}"
        );
    }
    // The script that makes them names each node's compose service.
    let script = read(&deploy().join("compose-certs.sh"));
    assert!(script.contains("for service in main sub-north sub-south"));
    assert!(script.contains(r#"--host "$service""#));
}

#[test]
fn compose_mounts_the_one_particulars_key_read_only_into_every_node() {
    let configs = configs_in(&deploy().join("config"));
    let compose = read(&deploy().join("docker-compose.yml"));
    assert!(
        Path::new(PARTICULARS_KEY).starts_with(KEYS_DIR),
        "{PARTICULARS_KEY}"
    );
    for name in configs.keys() {
        let service = block(&compose, &format!("  {name}:"));
        let volumes = items(&block_in(&service, "volumes:"));

        // The particulars key: the one directory deploy/keys/ in every node,
        // read-only, at the configs' directory, never a missing one made
        // empty.
        let keys = volumes
            .iter()
            .filter(|v| v.contains(&format!("target: {KEYS_DIR}\n")))
            .collect::<Vec<_>>();
        assert_eq!(
            keys.len(),
            1,
            "{name}: no one {KEYS_DIR} mount: {volumes:?}"
        );
        let keys = keys[0];
        assert!(keys.contains("type: bind\n"), "{name}: {keys}");
        assert!(keys.contains("source: ./keys\n"), "{name}: {keys}");
        assert!(keys.contains("read_only: true\n"), "{name}: {keys}");
        assert!(keys.contains("create_host_path: false\n"), "{name}: {keys}");
        // ...and in no other mount: not in the data volume (nor is the data
        // volume under it), not beside the TLS files.
        let data_dir = &configs[name].data_dir;
        for v in &volumes {
            let target = mount_target(v);
            if v == keys {
                continue;
            }
            assert!(
                !Path::new(PARTICULARS_KEY).starts_with(&target),
                "{name}: the particulars key is under the mount {v}"
            );
            assert!(
                !Path::new(&target).starts_with(KEYS_DIR),
                "{name}: a mount inside {KEYS_DIR}: {v}"
            );
            assert!(!v.contains("keys"), "{name}: {v}");
        }
        assert!(
            volumes
                .iter()
                .any(|v| mount_target(v) == data_dir.to_string_lossy() && !v.contains("./")),
            "{name}: no data volume at {}: {volumes:?}",
            data_dir.display()
        );
    }

    // The script makes the key, with the node's own command, once: an
    // existing key is never replaced (what it sealed opens with it only).
    let script = read(&deploy().join("compose-certs.sh"));
    assert!(
        script.contains("if [ ! -f keys/particulars.key ]; then"),
        "{script}"
    );
    assert!(
        script.contains(r#""$casehub" key new --out keys/particulars.key"#),
        "{script}"
    );
    assert!(
        !script
            .lines()
            .any(|l| l.contains("key new") && l.contains("force")),
        "the particulars key is never overwritten"
    );
    assert!(
        script.contains("chmod 0640 keys/particulars.key"),
        "{script}"
    );
}

/// The path a compose volume item mounts at: `target:` of the long syntax,
/// the second field of the short one (`src:target[:ro]`).
fn mount_target(item: &str) -> String {
    if let Some(t) = item
        .lines()
        .find_map(|l| l.trim().trim_start_matches("- ").strip_prefix("target: "))
    {
        return t.trim().to_string();
    }
    let short = item
        .trim()
        .trim_start_matches("- ")
        .trim()
        .trim_matches('"');
    short.split(':').nth(1).unwrap_or(short).to_string()
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

/// The documents of a multi-document YAML file, by `kind`, in order.
fn documents(yaml: &str) -> Vec<(String, String)> {
    yaml.split("\n---\n")
        .map(|doc| {
            let kind = doc
                .lines()
                .find_map(|l| l.strip_prefix("kind: "))
                .unwrap_or_else(|| panic!("a document without a kind:\n{doc}"))
                .trim()
                .to_string();
            (kind, format!("{doc}\n"))
        })
        .collect()
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
        // The pod's Secret holds its node's certificate as node.pem and
        // node-key.pem, whatever the node id.
        let tls = config.tls.as_ref().unwrap();
        assert_eq!(tls.cert, Path::new("/etc/casehub/tls/node.pem"), "{key}");
        assert_eq!(tls.key, Path::new("/etc/casehub/tls/node-key.pem"), "{key}");
        configs.insert(pod, config);
    }
    check_cluster("deploy/k8s", &configs);
    assert!(configs["casehub-0"].init, "the first pod initializes");
    assert!(yaml.contains("clusterIP: None"));
    assert!(yaml.contains("serviceName: casehub"));
    assert!(yaml.contains("replicas: 3"));
    assert!(yaml.contains(r#"args: ["node", "--config", "/etc/casehub/$(POD_NAME).toml"]"#));
    assert!(
        !yaml.to_lowercase().contains("insecure"),
        "plaintext in k8s"
    );
}

#[test]
fn kubernetes_mounts_each_pod_its_own_secret_and_keeps_the_peer_port_to_the_pods() {
    let yaml = read(&deploy().join("k8s/statefulset.yaml"));
    let docs = documents(&yaml);
    let kinds: Vec<&str> = docs.iter().map(|(k, _)| k.as_str()).collect();
    let of = |kind: &str| -> Vec<&String> {
        docs.iter()
            .filter(|(k, _)| k == kind)
            .map(|(_, d)| d)
            .collect()
    };
    let peer = format!("port: {PEER_PORT}\n");
    let client = format!("port: {CLIENT_PORT}\n");

    // Only the headless Service carries the peer port; a Service carries
    // the client port.
    let services = of("Service");
    assert_eq!(services.len(), 2, "{kinds:?}");
    for s in &services {
        let headless = s.contains("  clusterIP: None\n");
        assert_eq!(s.contains(&peer), headless, "{s}");
        assert_eq!(s.contains(&client), !headless, "{s}");
        assert!(!s.contains("nodePort"), "{s}");
        assert!(!s.contains("LoadBalancer") || !s.contains(&peer), "{s}");
    }
    assert!(
        services
            .iter()
            .any(|s| s.contains("  name: casehub-client\n"))
    );

    // The StatefulSet: both ports on the container, the TLS files from the
    // Secrets casehub-tls-<n>, each pod mounting its own directory only.
    let sts = of("StatefulSet");
    assert_eq!(sts.len(), 1, "{kinds:?}");
    let sts = sts[0];
    assert!(
        sts.contains(&format!("containerPort: {CLIENT_PORT}\n")),
        "{sts}"
    );
    assert!(
        sts.contains(&format!("containerPort: {PEER_PORT}\n")),
        "{sts}"
    );
    assert!(
        !sts.contains("hostNetwork") && !sts.contains("hostPort"),
        "{sts}"
    );
    let lines: Vec<&str> = sts.lines().collect();
    let mounts = items(&block_in(&lines, "volumeMounts:"));
    let tls_mount = mounts
        .iter()
        .find(|m| m.contains("mountPath: /etc/casehub/tls\n"))
        .unwrap_or_else(|| panic!("no mount at /etc/casehub/tls: {mounts:?}"));
    assert!(tls_mount.contains("name: tls\n"), "{tls_mount}");
    assert!(
        tls_mount.contains("subPathExpr: $(POD_NAME)\n"),
        "{tls_mount}"
    );
    assert!(tls_mount.contains("readOnly: true\n"), "{tls_mount}");
    let volumes = items(&block_in(&lines, "volumes:"));
    let tls = volumes
        .iter()
        .find(|v| v.trim_start().starts_with("- name: tls\n"))
        .unwrap_or_else(|| panic!("no volume tls: {volumes:?}"));
    assert!(tls.contains("projected:\n"), "{tls}");
    assert!(tls.contains("defaultMode: 0440\n"), "{tls}");
    for n in 0..3 {
        // Secret casehub-tls-<n> into the directory of pod casehub-<n>.
        let source = tls
            .split("- secret:\n")
            .find(|s| s.contains(&format!("name: casehub-tls-{n}\n")))
            .unwrap_or_else(|| panic!("no Secret casehub-tls-{n} in {tls}"));
        for key in ["ca.pem", "node.pem", "node-key.pem"] {
            assert!(
                source.contains(&format!("- key: {key}\n"))
                    && source.contains(&format!("path: casehub-{n}/{key}\n")),
                "casehub-tls-{n}: {key}: {source}"
            );
        }
        assert!(!source.contains("optional: true"), "{source}");
    }
    assert!(sts.contains("fsGroup: 10001\n") && sts.contains("runAsNonRoot: true\n"));

    // The NetworkPolicy: over the casehub pods, ingress only, the peer port
    // from the casehub pods only, the client port open, nothing else.
    let policies = of("NetworkPolicy");
    assert_eq!(policies.len(), 1, "{kinds:?}");
    let policy = policies[0];
    let app = "app.kubernetes.io/name: casehub\n";
    let spec = block(policy, "spec:");
    let selector = block_in(&spec, "podSelector:").join("\n");
    assert!(selector.contains(app.trim_end()), "{policy}");
    assert!(
        items(&block_in(&spec, "policyTypes:"))
            .iter()
            .any(|t| t.trim() == "- Ingress"),
        "{policy}"
    );
    assert!(!policy.contains("endPort"), "{policy}");
    let rules = items(&block_in(&spec, "ingress:"));
    assert_eq!(rules.len(), 2, "{rules:?}");
    let mut admitted = BTreeSet::new();
    for rule in &rules {
        // A rule without ports admits every port.
        assert!(rule.contains("ports:\n"), "a rule for every port: {rule}");
        let ports: Vec<String> = rule
            .lines()
            .filter_map(|l| l.trim().strip_prefix("port: ").map(str::to_string))
            .collect();
        assert_eq!(ports.len(), 1, "{rule}");
        admitted.insert(ports[0].clone());
        if ports[0] == PEER_PORT.to_string() {
            // From the casehub pods of this namespace only.
            assert!(rule.contains("from:\n"), "{rule}");
            assert!(
                rule.contains("podSelector:\n") && rule.contains(app),
                "{rule}"
            );
            assert!(!rule.contains("namespaceSelector"), "{rule}");
            assert!(!rule.contains("ipBlock"), "{rule}");
            assert_eq!(rule.matches("- podSelector:").count(), 1, "{rule}");
        } else {
            assert_eq!(ports[0], CLIENT_PORT.to_string(), "{rule}");
        }
    }
    assert_eq!(
        admitted,
        BTreeSet::from([CLIENT_PORT.to_string(), PEER_PORT.to_string()])
    );
}

#[test]
fn kubernetes_mounts_one_particulars_secret_shared_by_every_pod() {
    let yaml = read(&deploy().join("k8s/statefulset.yaml"));
    let docs = documents(&yaml);
    let sts: Vec<&String> = docs
        .iter()
        .filter(|(k, _)| k == "StatefulSet")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(sts.len(), 1);
    let sts = sts[0];
    let lines: Vec<&str> = sts.lines().collect();
    let mounts = items(&block_in(&lines, "volumeMounts:"));
    let volumes = items(&block_in(&lines, "volumes:"));
    let tls = volumes
        .iter()
        .find(|v| v.trim_start().starts_with("- name: tls\n"))
        .unwrap_or_else(|| panic!("no volume tls: {volumes:?}"));

    // The particulars key: one Secret, casehub-particulars, the same for
    // every pod (not one per pod), mounted whole and read-only at the
    // configs' directory, apart from the data claim.
    let keys_mounts: Vec<&String> = mounts
        .iter()
        .filter(|m| m.contains(&format!("mountPath: {KEYS_DIR}\n")))
        .collect();
    assert_eq!(
        keys_mounts.len(),
        1,
        "no one mount at {KEYS_DIR}: {mounts:?}"
    );
    let keys_mount = keys_mounts[0];
    assert!(keys_mount.contains("name: particulars\n"), "{keys_mount}");
    assert!(keys_mount.contains("readOnly: true\n"), "{keys_mount}");
    // A subPath would not follow a rotated Secret; a per-pod path would
    // mean one key per pod.
    assert!(!keys_mount.contains("subPath"), "{keys_mount}");
    assert!(!keys_mount.contains("POD_NAME"), "{keys_mount}");
    for m in &mounts {
        let path = m
            .lines()
            .find_map(|l| l.trim().strip_prefix("mountPath: "))
            .unwrap_or_else(|| panic!("a mount without a mountPath: {m}"))
            .trim();
        if m.contains("name: data\n") {
            assert!(
                !Path::new(PARTICULARS_KEY).starts_with(path),
                "the key is in the data claim: {m}"
            );
            assert!(!Path::new(path).starts_with(KEYS_DIR), "{m}");
        }
        if m != keys_mount {
            assert!(
                !Path::new(path).starts_with(KEYS_DIR),
                "another mount inside {KEYS_DIR}: {m}"
            );
        }
    }
    let keys = volumes
        .iter()
        .find(|v| v.trim_start().starts_with("- name: particulars\n"))
        .unwrap_or_else(|| panic!("no volume particulars: {volumes:?}"));
    assert!(keys.contains("secret:\n"), "{keys}");
    assert!(!keys.contains("projected:"), "{keys}");
    assert!(keys.contains("secretName: casehub-particulars\n"), "{keys}");
    assert_eq!(keys.matches("secretName:").count(), 1, "one Secret: {keys}");
    // As the TLS files: owner root, group 10001 (fsGroup), which the node
    // reads it with; 0400 or 0600 would leave it to root.
    assert!(keys.contains("defaultMode: 0440\n"), "{keys}");
    assert!(sts.contains("fsGroup: 10001\n"), "{sts}");
    assert!(
        keys.contains("- key: particulars.key\n") && keys.contains("path: particulars.key\n"),
        "{keys}"
    );
    assert!(!keys.contains("optional: true"), "{keys}");
    assert!(
        !keys.contains("POD_NAME") && !keys.contains("casehub-0"),
        "{keys}"
    );
    let refs: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !is_blank_or_comment(l) && l.contains("particulars"))
        .collect();
    assert_eq!(
        refs.iter()
            .filter(|l| l.contains("casehub-particulars"))
            .count(),
        1,
        "one particulars Secret for the StatefulSet: {refs:?}"
    );
    assert!(
        !tls.contains("particulars"),
        "the particulars key is not with a pod's own TLS files: {tls}"
    );
}

#[test]
fn the_image_exposes_both_ports() {
    let dockerfile = read(&deploy().join("Dockerfile"));
    assert!(
        dockerfile
            .lines()
            .any(|l| l == format!("EXPOSE {CLIENT_PORT} {PEER_PORT}")),
        "{dockerfile}"
    );
}
