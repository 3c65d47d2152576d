//! A year of a county's work on one node's state machine, with and without
//! the archive: the live state's snapshot size, the process's RSS and the
//! apply latency after 1, 6 and 12 months.
//!
//! Every hour of the simulated year, the bench submits that hour's share of
//! `--per-day` cases (drawn from the sample county's caseload), plans the
//! pending ones with the greedy engine on the replicated state, commits the
//! plan (`AcceptPlan`, every rule checked), and exits the cases submitted
//! 24 h before. Each night the leader's archive runs with the cut-off
//! `--retention-days` before midnight (0: never, the peer to compare with).
//! Every request goes through `StateMachineStore::apply` on RocksDB.
//!
//! ```text
//! cargo bench -p casehub-store --bench archive_year -- --days 365 --per-day 150 --retention-days 30
//! cargo bench -p casehub-store --bench archive_year -- --days 365 --per-day 150 --retention-days 0
//! ```

use std::collections::BTreeMap;
use std::time::{Duration as Wall, Instant};

use chrono::{DateTime, Duration, Utc};
use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine};
use openraft::testing::log_id;
use openraft::{Entry, EntryPayload};

use casehub_model::CaseId;
use casehub_model::scenario::parse_region;
use casehub_planning::{Method, Settings, generate, plan};
use casehub_store::plan_view::planning_state;
use casehub_store::rocks::{self, StateMachineStore};
use casehub_store::{Command, RULES_VERSION, RegionStatic, Request};
use casehub_travel::{GreatCircle, TravelTable};

struct Args {
    days: i64,
    per_day: f64,
    retention_days: i64,
}

fn args() -> Args {
    let mut a = Args {
        days: 365,
        per_day: 150.0,
        retention_days: 30,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let value = |i: usize| -> f64 {
            argv.get(i + 1)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| {
                    eprintln!("{} needs a number", argv[i]);
                    std::process::exit(2)
                })
        };
        match argv[i].as_str() {
            "--days" => a.days = value(i) as i64,
            "--per-day" => a.per_day = value(i),
            "--retention-days" => a.retention_days = value(i) as i64,
            // cargo bench passes --bench.
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

struct Node {
    sm: StateMachineStore,
    index: u64,
    rt: tokio::runtime::Runtime,
    /// Apply latencies since the last checkpoint.
    latencies: Vec<Wall>,
}

impl Node {
    fn apply(&mut self, now: DateTime<Utc>, command: Command) -> casehub_store::Response {
        self.index += 1;
        let entry = Entry {
            log_id: log_id(1, 0, self.index),
            payload: EntryPayload::Normal(
                Request {
                    client_id: "bench".into(),
                    request_id: self.index,
                    actor: "调度员".into(),
                    site: None,
                    time: now,
                    command,
                    trace: None,
                }
                .into(),
            ),
        };
        let t = Instant::now();
        let mut out = self.rt.block_on(self.sm.apply(vec![entry])).expect("apply");
        self.latencies.push(t.elapsed());
        out.remove(0).remove(0)
    }
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn quantile(v: &mut [Wall], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort();
    let i = ((v.len() as f64 - 1.0) * q).round() as usize;
    v[i].as_secs_f64() * 1000.0
}

fn main() {
    let a = args();
    let region = parse_region(
        "region.toml",
        include_str!("../../../simulations/sample-county/region.toml"),
    )
    .expect("the sample county");
    let travel = TravelTable::for_region(&GreatCircle::new(1.35, 45.0).unwrap(), &region).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_log, sm) = rt.block_on(rocks::open(dir.path())).expect("open");
    let mut node = Node {
        sm,
        index: 0,
        rt,
        latencies: Vec::new(),
    };
    let day0: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
    let mut setup = vec![Command::SetRulesVersion(RULES_VERSION)];
    setup.extend(region.sites.iter().cloned().map(Command::UpsertSite));
    setup.extend(region.stations.iter().cloned().map(Command::UpsertStation));
    setup.extend(region.officers.iter().cloned().map(Command::UpsertOfficer));
    setup.extend(region.escort_teams.iter().cloned().map(Command::UpsertTeam));
    setup.push(Command::SetPolicy(region.policy.clone()));
    setup.push(Command::SetRegion(Box::new(RegionStatic::of(
        &region, travel,
    ))));
    for c in setup {
        assert!(node.apply(day0, c).is_applied());
    }
    let settings = Settings {
        method: Method::Greedy,
        ..Settings::default()
    };
    let checkpoints = [30, 90, 182, 365];
    println!(
        "# {} days, {} cases a day, retention {} days{}",
        a.days,
        a.per_day,
        a.retention_days,
        if a.retention_days == 0 {
            " (never archived)"
        } else {
            ""
        }
    );
    println!(
        "| day | cases submitted | planned | live cases | live audit entries | snapshot MiB | RSS MiB | apply p50 ms | apply p99 ms | SubmitCase p99 ms | AcceptPlan p99 ms | ExitCase p99 ms | archived audit entries |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut submitted: BTreeMap<DateTime<Utc>, Vec<CaseId>> = BTreeMap::new();
    let (mut total, mut planned) = (0u64, 0u64);
    let mut carry = 0.0;
    let mut accept_latencies = Vec::new();
    let mut submit_latencies = Vec::new();
    let mut exit_latencies = Vec::new();
    let started = Instant::now();
    for day in 0..a.days {
        for hour in 0..24 {
            let now = day0 + Duration::days(day) + Duration::hours(hour);
            carry += a.per_day / 24.0;
            let n = carry.floor() as usize;
            carry -= n as f64;
            let mut ids = Vec::new();
            for (i, mut pc) in
                generate::pending_cases(&region, now, n, 30, 0, (day * 24 + hour) as u64)
                    .into_iter()
                    .enumerate()
            {
                pc.case.id = CaseId::new(format!("D{day}-{hour}-{i}")).unwrap();
                ids.push(pc.case.id.clone());
                let t = Instant::now();
                node.apply(now, Command::SubmitCase(pc.case));
                submit_latencies.push(t.elapsed());
                total += 1;
            }
            submitted.insert(now, ids);
            // Plan what is pending, and commit it.
            let state = node.sm.state();
            let (model, travel, _) = state.region_model().expect("the region");
            let version = state.region_version();
            let s = planning_state(state, model, travel, now, &[]).expect("the planning state");
            let p = plan(&s, &settings).expect("a plan");
            if !p.cases.is_empty() {
                let n = p.cases.len() as u64;
                let t = Instant::now();
                let r = node.apply(
                    now,
                    Command::AcceptPlan {
                        plans: p.cases,
                        now,
                        region_version: version,
                        expected_versions: Vec::new(),
                        reason: None,
                        exceptions: Vec::new(),
                    },
                );
                accept_latencies.push(t.elapsed());
                if r.is_applied() {
                    planned += n;
                }
            }
            // The cases submitted a day ago leave.
            let due: Vec<DateTime<Utc>> = submitted
                .range(..=now - Duration::hours(24))
                .map(|(t, _)| *t)
                .collect();
            for t in due {
                for id in submitted.remove(&t).unwrap_or_default() {
                    let t = Instant::now();
                    node.apply(
                        now,
                        Command::ExitCase {
                            case: id,
                            disposition: None,
                        },
                    );
                    exit_latencies.push(t.elapsed());
                }
            }
        }
        let midnight = day0 + Duration::days(day + 1);
        if a.retention_days > 0 {
            let cutoff = midnight - Duration::days(a.retention_days);
            if node.sm.state().to_archive(cutoff) {
                node.apply(midnight, Command::Archive { before: cutoff });
            }
        }
        let done = day + 1;
        if checkpoints.contains(&done) || done == a.days {
            let snap = node
                .rt
                .block_on(async { node.sm.get_snapshot_builder().await.build_snapshot().await })
                .expect("a snapshot");
            let bytes = snap.snapshot.into_inner().len();
            let state = node.sm.state();
            println!(
                "| {done} | {total} | {planned} | {} | {} | {:.2} | {:.0} | {:.3} | {:.3} | {:.3} | {:.1} | {:.3} | {} |",
                state.cases.len(),
                state.audit.len(),
                bytes as f64 / (1024.0 * 1024.0),
                rss_mib(),
                quantile(&mut node.latencies, 0.5),
                quantile(&mut node.latencies, 0.99),
                quantile(&mut submit_latencies, 0.99),
                quantile(&mut accept_latencies, 0.99),
                quantile(&mut exit_latencies, 0.99),
                state.archived.as_ref().map_or(0, |m| m.audit_entries),
            );
        }
        // Latencies per day: the checkpoint's figures are its day's.
        node.latencies.clear();
        accept_latencies.clear();
        submit_latencies.clear();
        exit_latencies.clear();
    }
    eprintln!("ran in {:.0} s", started.elapsed().as_secs_f64());
}
