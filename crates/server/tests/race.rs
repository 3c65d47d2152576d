//! Many clients race to book the same room through different nodes of a
//! real cluster: exactly one wins, every other gets a conflict naming what
//! conflicted.

mod common;

use std::sync::Arc;

use casehub_model::{CaseId, RoomId};
use casehub_server::Node;
use casehub_server::client::Client;
use casehub_store::{Booking, Command, Conflict, EntityRef, PlannedBooking, ResourceRef, Response};
use chrono::Duration as Minutes;
use common::*;

const CLIENTS: usize = 32;

fn booking(room: &str, case: &str, from: i64, to: i64) -> PlannedBooking {
    PlannedBooking {
        resource: ResourceRef::Room(RoomId::new(room).unwrap()),
        booking: Booking {
            case: CaseId::new(case).unwrap(),
            start: t0() + Minutes::minutes(from),
            end: t0() + Minutes::minutes(to),
            person: None,
            step: None,
        },
    }
}

/// Cluster of 3 with site s1, station st1 and cases r0..r31; the nodes are
/// taken out of the cluster so that tasks can share them.
async fn setup() -> (Cluster, Vec<Arc<Node>>, Vec<String>) {
    let mut cluster = Cluster::voters(3, config()).await;
    cluster.write(Command::UpsertSite(site())).await;
    cluster.write(Command::UpsertStation(station("st1"))).await;
    for i in 0..CLIENTS {
        let (_, r) = cluster
            .write(Command::SubmitCase(case(&format!("r{i}"), "st1")))
            .await;
        assert!(r.is_applied(), "{r:?}");
    }
    let addrs: Vec<String> = cluster.addrs.values().cloned().collect();
    let nodes = std::mem::take(&mut cluster.nodes)
        .into_values()
        .map(Arc::new)
        .collect();
    (cluster, nodes, addrs)
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
    let (_cluster, nodes, addrs) = setup().await;
    let q1 = EntityRef::Room(RoomId::new("q1").unwrap());
    let seen = nodes[0].read_linearizable().await.unwrap();
    let version = seen.state().version_of(&q1).unwrap();

    // Every dispatcher computed its plan against the same version of q1.
    let results = race(&nodes, &addrs, |i| Command::CommitPlan {
        bookings: vec![booking("q1", &format!("r{i}"), 0, 60)],
        expected_versions: vec![(q1.clone(), version)],
    })
    .await;
    let winners: Vec<usize> = results
        .iter()
        .filter(|(_, r)| r.is_applied())
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let winner = winners[0];
    for (i, r) in &results {
        if *i == winner {
            continue;
        }
        let Response::Rejected { conflicts, .. } = r else {
            panic!("{i}: {r:?}");
        };
        assert_eq!(
            conflicts,
            &vec![Conflict::StaleVersion {
                entity: q1.clone(),
                expected: version,
                actual: version + 1,
            }],
            "{i}"
        );
    }
    // Every node ends with one booking of q1: the winner's.
    let read = nodes[1].read_linearizable().await.unwrap();
    for node in &nodes {
        let s = wait_applied(node.state(), read.read_index.unwrap()).await;
        let q1 = &s.rooms[&RoomId::new("q1").unwrap()];
        assert_eq!(q1.bookings.len(), 1);
        assert_eq!(q1.bookings[0].case.as_str(), format!("r{winner}"));
        assert_eq!(q1.version, version + 1);
    }
    stop(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_plans_without_versions_one_wins_the_others_overlap_it() {
    let (_cluster, nodes, addrs) = setup().await;
    // No expected versions: the capacity check alone decides. Each plan
    // overlaps every other one on the one-person room q1.
    let results = race(&nodes, &addrs, |i| Command::CommitPlan {
        bookings: vec![booking("q1", &format!("r{i}"), i as i64, 100 + i as i64)],
        expected_versions: vec![],
    })
    .await;
    let winners: Vec<usize> = results
        .iter()
        .filter(|(_, r)| r.is_applied())
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let winner = winners[0];
    let won = booking(
        "q1",
        &format!("r{winner}"),
        winner as i64,
        100 + winner as i64,
    );
    for (i, r) in &results {
        if *i == winner {
            continue;
        }
        let Response::Rejected { conflicts, .. } = r else {
            panic!("{i}: {r:?}");
        };
        assert_eq!(
            conflicts,
            &vec![Conflict::Overlap {
                resource: ResourceRef::Room(RoomId::new("q1").unwrap()),
                case: won.booking.case.clone(),
                start: won.booking.start,
                end: won.booking.end,
            }],
            "{i}"
        );
    }
    let read = nodes[2].read_linearizable().await.unwrap();
    assert_eq!(
        read.state().rooms[&RoomId::new("q1").unwrap()].bookings,
        vec![won.booking]
    );
    stop(nodes).await;
}
