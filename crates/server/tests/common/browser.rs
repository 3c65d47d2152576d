//! The console in a real browser: Debian's Chromium, headless, driven over
//! WebDriver (chromium-driver, fantoccini); shared by the browser tests and
//! the console's live-update bench.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use casehub_store::Role;
use fantoccini::{Client, ClientBuilder, Locator};

use super::api::*;
use super::prereq;

/// The password of every user these make.
pub const PASSWORD: &str = "correct horse battery";

/// A user with a password, written through `node` as an operator would.
pub async fn add_user_with_password(c: &Cluster, name: &str, role: Role) {
    add_user(&c.nodes[&1], name, &[role]).await;
    let request = casehub_store::Request {
        client_id: "console-test".into(),
        request_id: u64::from(name.chars().map(u32::from).sum::<u32>()),
        actor: "node operator".into(),
        site: None,
        time: chrono::Utc::now(),
        command: casehub_store::Command::UpsertUser(casehub_store::User {
            name: name.into(),
            roles: [role].into(),
            sites: Default::default(),
            password_hash: Some(casehub_server::grpc_users::hash_password(PASSWORD).unwrap()),
            disabled: false,
        }),
        trace: None,
    };
    let w = c.nodes[&1].write(&request).await.unwrap();
    assert!(w.response.is_applied(), "{w:?}");
    for n in c.nodes.values() {
        n.state().wait_applied(w.log_index).await;
    }
}

pub struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub async fn chromedriver() -> Driver {
    prereq::CHROMIUM.require();
    prereq::CHROMEDRIVER.require();
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let deadline = Instant::now() + TIMEOUT;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not listen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Driver { child, port }
}

pub async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                // The cluster's CA is the test's own.
                "--ignore-certificate-errors",
                "--window-size=1366,768",
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Chromium session")
}

pub fn shots() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../screenshots/console");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub async fn shot(b: &Client, name: &str) {
    let png = b.screenshot().await.unwrap();
    std::fs::write(shots().join(format!("{name}.png")), png).unwrap();
}

/// Wait until the page's text contains `want`.
pub async fn wait_text(b: &Client, want: &str) -> String {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        // The page may be navigating: a body gone stale is read again.
        let text = match b.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text.contains(want) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{want:?} not on the page:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn log_in(b: &Client, base: &str, user: &str, password: &str) {
    b.goto(&format!("{base}/console/")).await.unwrap();
    // Without a session: the login page.
    b.wait().for_element(Locator::Id("user")).await.unwrap();
    b.find(Locator::Id("user"))
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    b.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    b.find(Locator::Id("login"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Until the login has answered: signed in (the log-out button), or
    // refused (a message on the login form).
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if b.find(Locator::Id("logout")).await.is_ok()
            || b.find(Locator::Css("form.login .msg.bad")).await.is_ok()
        {
            return;
        }
        assert!(Instant::now() < deadline, "the login did not answer");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
