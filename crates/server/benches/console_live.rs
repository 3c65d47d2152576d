//! How soon an open board shows a change: from the moment a client's
//! `SubmitCase` is acknowledged (committed and applied on the leader) to
//! the moment the new case's row is in the page of a logged-in dispatcher
//! in headless Chromium, whose board listens on another node (a follower).
//! The page records when each row appears (a MutationObserver, in the
//! browser's clock, the same machine's); the bench compares it with the
//! acknowledgement's time.
//!
//! ```text
//! cargo bench -p casehub-server --bench console_live -- --changes 100 --background 300
//! ```
//!
//! `--background N` first submits N cases (not shown in the timing), so the
//! board re-renders with N open cases at every change.

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use casehub_server::proto::dispatch_service_client::DispatchServiceClient;
use casehub_server::proto::{self as pb};
use casehub_store::Role;
use clap::Parser;
use fantoccini::Locator;

use common::api::*;
use common::browser::*;

#[derive(Parser, Debug)]
struct Args {
    /// Changes to time.
    #[arg(long, default_value_t = 100)]
    changes: usize,
    /// Open cases on the board before the timing starts.
    #[arg(long, default_value_t = 300)]
    background: usize,
    /// Milliseconds between changes.
    #[arg(long, default_value_t = 200)]
    gap_ms: u64,
    #[arg(long, hide = true)]
    bench: bool,
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64()
        * 1000.0
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

const OBSERVER: &str = r#"
window.__seen = {};
new MutationObserver(() => {
  for (const tr of document.querySelectorAll('tr[data-case]')) {
    const id = tr.getAttribute('data-case');
    if (!(id in window.__seen)) window.__seen[id] = Date.now();
  }
}).observe(document.body, { childList: true, subtree: true });
return true;
"#;

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let args = Args::parse();
    let c = Cluster::start().await;
    c.load_region(1).await;
    add_user_with_password(&c, "调度员 王", Role::Dispatcher).await;
    let leader = c.leader().await;
    let follower = (1..=3).find(|&i| i != leader).expect("a follower");
    let base = format!("https://{}", c.nodes[&follower].client_addr());
    let op = DispatchServiceClient::new(c.channel(leader).await);
    let mut n = 0u64;
    let mut submit = |id: String| {
        n += 1;
        let request = pb::SubmitCaseRequest {
            meta: meta(n),
            case: Some(a_case(&id)),
        };
        let mut op = op.clone();
        async move { op.submit_case(request).await.expect("submitted") }
    };
    for i in 0..args.background {
        submit(format!("BG-{i:04}")).await;
    }
    let driver = chromedriver().await;
    let b = browser(&driver).await;
    log_in(&b, &base, "调度员 王", PASSWORD).await;
    if args.background > 0 {
        wait_text(&b, &format!("BG-{:04}", args.background - 1)).await;
    } else {
        wait_text(&b, "暂无在办案件").await;
    }
    b.execute(OBSERVER, vec![]).await.expect("the observer");

    let mut acked = Vec::with_capacity(args.changes);
    for i in 0..args.changes {
        let id = format!("LIVE-{i:04}");
        submit(id.clone()).await;
        acked.push((id, now_ms()));
        tokio::time::sleep(Duration::from_millis(args.gap_ms)).await;
    }
    // Wait for the last row, then read when each appeared.
    wait_text(&b, &acked.last().expect("a change").0).await;
    let seen = b
        .execute("return window.__seen;", vec![])
        .await
        .expect("the times");
    let mut ms: Vec<f64> = acked
        .iter()
        .map(|(id, at)| {
            let shown = seen[id.as_str()].as_f64().unwrap_or(f64::NAN);
            shown - at
        })
        .collect();
    let missing = ms.iter().filter(|m| m.is_nan()).count();
    ms.retain(|m| !m.is_nan());
    ms.sort_by(f64::total_cmp);
    let board = b
        .find_all(Locator::Css("tr[data-case]"))
        .await
        .map(|v| v.len())
        .unwrap_or(0);
    println!(
        "change to board: {} changes ({missing} not seen), board of {board} open cases, \
         the board on a follower: p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms (min {:.0} ms)",
        ms.len(),
        quantile(&ms, 0.5),
        quantile(&ms, 0.9),
        quantile(&ms, 0.99),
        ms.last().copied().unwrap_or(f64::NAN),
        ms.first().copied().unwrap_or(f64::NAN),
    );
    b.close().await.ok();
    drop(driver);
    c.shutdown().await;
}
