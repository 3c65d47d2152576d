//! Many clients race to commit plans for the same resources through
//! different nodes of a real cluster: exactly one wins, every other gets a
//! conflict naming what conflicted (a stale version, or the rule its plan
//! would now break).

mod common;

use std::sync::Arc;

use casehub_model::scenario::parse_region;
use casehub_planning::{CasePlan, Method, Settings, plan};
use casehub_server::Node;
use casehub_server::client::Client;
use casehub_server::dispatch::{plan_bookings_for, planning_state, region_commands, versions_for};
use casehub_store::{Command, Conflict, EntityRef, RegionStatic, Response, Rule};
use casehub_travel::{GreatCircle, TravelTable};
use common::*;

const CLIENTS: usize = 32;

/// Cluster of 3 with the sample county's three sites loaded (and its
/// region replicated) and cases r0..r31, alike: one man each from S01,
/// brought in at t0. Each case's plan, made on this one state, and the
/// versions it was made against. The nodes are taken out of the cluster so
/// that tasks can share them.
async fn setup() -> (
    Cluster,
    Vec<Arc<Node>>,
    Vec<String>,
    Vec<(CasePlan, Vec<(EntityRef, u64)>)>,
) {
    let mut cluster = Cluster::voters(3, config()).await;
    rules_current(cluster.nodes.values()).await;
    let region = parse_region(
        "region-3-sites.toml",
        include_str!("../../../simulations/sample-county/region-3-sites.toml"),
    )
    .unwrap();
    let table = TravelTable::for_region(&GreatCircle::new(1.35, 45.0).unwrap(), &region).unwrap();
    let mut commands = region_commands(&region);
    commands.push(Command::SetRegion(Box::new(RegionStatic::of(
        &region, table,
    ))));
    for i in 0..CLIENTS {
        commands.push(Command::SubmitCase(case(&format!("r{i}"), "S01")));
    }
    for c in commands {
        let (_, r) = cluster.write(c).await;
        assert!(r.is_applied(), "{r:?}");
    }
    let leader = cluster.leader().await;
    let read = cluster.nodes[&leader].read_linearizable().await.unwrap();
    let state = read.state();
    let (model, travel, _) = state.region_model().unwrap();
    let all = planning_state(state, model, travel, t0(), &[]).unwrap();
    let settings = Settings {
        method: Method::Greedy,
        ..Settings::default()
    };
    let mut plans = Vec::new();
    for i in 0..CLIENTS {
        let mut one = all.clone();
        one.pending
            .retain(|p| p.case.id.as_str() == format!("r{i}"));
        let p = plan(&one, &settings).unwrap();
        assert_eq!(p.cases.len(), 1, "{:?}", p.blocked);
        let versions = versions_for(state, &plan_bookings_for(&p, &[]));
        plans.push((p.cases[0].clone(), versions));
    }
    drop(read);
    let addrs: Vec<String> = cluster.addrs.values().cloned().collect();
    let nodes = std::mem::take(&mut cluster.nodes)
        .into_values()
        .map(Arc::new)
        .collect();
    (cluster, nodes, addrs, plans)
}

fn accept(cp: &CasePlan, versions: Vec<(EntityRef, u64)>) -> Command {
    Command::AcceptPlan {
        plans: vec![cp.clone()],
        now: t0(),
        region_version: 1,
        expected_versions: versions,
        reason: None,
        exceptions: Vec::new(),
    }
}

/// Run `CLIENTS` tasks, each committing `plan(i)`: even ones through a
/// node's `Node::write`, odd ones over gRPC, spread over the three nodes.
async fn race(
    nodes: &[Arc<Node>],
    addrs: &[String],
    plan: impl Fn(usize) -> Command,
) -> Vec<(usize, Response)> {
    let mut tasks = tokio::task::JoinSet::new();
    let start = Arc::new(tokio::sync::Barrier::new(CLIENTS));
    for i in 0..CLIENTS {
        let request = casehub_store::Request {
            client_id: format!("dispatcher-{i}"),
            ..req(plan(i))
        };
        let node = nodes[i % nodes.len()].clone();
        let addr = addrs[i % addrs.len()].clone();
        let start = start.clone();
        tasks.spawn(async move {
            start.wait().await;
            let written = if i % 2 == 0 {
                node.write(&request).await.unwrap()
            } else {
                Client::connect(&addr)
                    .unwrap()
                    .write(&request)
                    .await
                    .unwrap()
            };
            (i, written.response)
        });
    }
    let mut out = Vec::new();
    while let Some(r) = tasks.join_next().await {
        out.push(r.unwrap());
    }
    out.sort_by_key(|(i, _)| *i);
    out
}

async fn stop(nodes: Vec<Arc<Node>>) {
    for node in nodes {
        Arc::into_inner(node).unwrap().shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_plans_on_the_same_versions_one_wins_the_others_are_stale() {
    let (_cluster, nodes, addrs, plans) = setup().await;
    // Alike cases planned on one state book the same room at the same time.
    let room = plans[0].0.persons[0].steps[0].room.clone();
    assert!(
        plans
            .iter()
            .all(|(cp, _)| cp.persons[0].steps[0].room == room)
    );
    let results = race(&nodes, &addrs, |i| accept(&plans[i].0, plans[i].1.clone())).await;
    let winners: Vec<usize> = results
        .iter()
        .filter(|(_, r)| r.is_applied())
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let winner = winners[0];
    let room_ref = EntityRef::Room(room.clone());
    for (i, r) in &results {
        if *i == winner {
            continue;
        }
        let Response::Rejected { conflicts, .. } = r else {
            panic!("{i}: {r:?}");
        };
        // Every conflict is a version that moved, the shared room's among them.
        assert!(
            conflicts
                .iter()
                .all(|c| matches!(c, Conflict::StaleVersion { .. })),
            "{i}: {conflicts:?}"
        );
        assert!(
            conflicts.iter().any(|c| matches!(c,
                Conflict::StaleVersion { entity, actual, expected }
                    if entity == &room_ref && actual == &(expected + 1))),
            "{i}: {conflicts:?}"
        );
    }
    // Every node ends with the winner's bookings of the room, and no other.
    let read = nodes[1].read_linearizable().await.unwrap();
    for node in &nodes {
        let s = wait_applied(node.state(), read.read_index.unwrap()).await;
        let booked = &s.rooms[&room].bookings;
        assert!(!booked.is_empty());
        assert!(
            booked
                .iter()
                .all(|b| b.case.as_str() == format!("r{winner}")),
            "{booked:?}"
        );
    }
    stop(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_plans_without_versions_one_wins_the_others_break_a_rule() {
    let (_cluster, nodes, addrs, plans) = setup().await;
    // No expected versions: the rules at commit alone decide. Each plan
    // takes the same room, officers and escort at the same time.
    let results = race(&nodes, &addrs, |i| accept(&plans[i].0, Vec::new())).await;
    let winners: Vec<usize> = results
        .iter()
        .filter(|(_, r)| r.is_applied())
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let winner = winners[0];
    let won = format!("r{winner}");
    for (i, r) in &results {
        if *i == winner {
            continue;
        }
        let Response::Rejected { conflicts, .. } = r else {
            panic!("{i}: {r:?}");
        };
        assert!(
            conflicts.iter().any(|c| matches!(c,
                Conflict::Rule { rule: Rule::RoomDoubleBooked, detail, .. }
                    if detail.contains(&won))),
            "{i}: {conflicts:?}"
        );
        assert!(
            conflicts.iter().all(|c| matches!(c, Conflict::Rule { .. })),
            "{i}: {conflicts:?}"
        );
    }
    let read = nodes[2].read_linearizable().await.unwrap();
    let room = &plans[0].0.persons[0].steps[0].room;
    assert!(
        read.state().rooms[room]
            .bookings
            .iter()
            .all(|b| b.case.as_str() == won)
    );
    stop(nodes).await;
}
