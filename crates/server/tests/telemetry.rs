//! Spans really leave the node: nodes traced through `telemetry::init`
//! export their spans over OTLP/gRPC to a receiver built on the published
//! OpenTelemetry protocol types, with the site as the service name. A
//! three-node cluster shows a client write from the gRPC call through the
//! Raft commit to each node's apply, in one trace: written through a
//! follower by a client that sends its own `traceparent`, the client's
//! span, the follower's handler, the leader's handler of the forwarded call,
//! the Raft write and the apply on the three nodes share the client's trace
//! id and nest in that order. A node serving the dispatcher's API shows a
//! submitted case planned within its request.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use casehub_model::scenario::parse_region;
use casehub_planning::Settings;
use casehub_server::grpc_api::{ApiContext, LocalRegion};
use casehub_server::proto::admin_service_client::AdminServiceClient;
use casehub_server::proto::dispatch_service_client::DispatchServiceClient;
use casehub_server::proto::store_service_client::StoreServiceClient;
use casehub_server::proto::{self as pb, WriteRequest};
use casehub_server::telemetry::{self, LogFormat, OtlpExport, TelemetryOptions};
use casehub_server::{Node, NodeOptions};
use casehub_store::Command;
use casehub_travel::{GreatCircle, TravelTable};
use common::*;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;

/// An OTLP trace receiver that keeps every request.
#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.received.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// A received span with its resource's `service.name`.
#[derive(Debug, Clone)]
struct Received {
    service: Option<String>,
    span: Span,
}

impl Receiver {
    async fn serve() -> (Receiver, SocketAddr) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let receiver = Receiver::default();
        let service = TraceServiceServer::new(receiver.clone());
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(TcpIncoming::from(listener)),
        );
        (receiver, addr)
    }

    fn spans(&self) -> Vec<Received> {
        let mut out = vec![];
        for req in self.received.lock().unwrap().iter() {
            for rs in &req.resource_spans {
                let service = rs.resource.as_ref().and_then(|r| {
                    r.attributes
                        .iter()
                        .find(|kv| kv.key == "service.name")
                        .and_then(|kv| kv.value.as_ref())
                        .and_then(|v| match &v.value {
                            Some(Value::StringValue(s)) => Some(s.clone()),
                            _ => None,
                        })
                });
                for ss in &rs.scope_spans {
                    for span in &ss.spans {
                        out.push(Received {
                            service: service.clone(),
                            span: span.clone(),
                        });
                    }
                }
            }
        }
        out
    }

    /// Wait until spans named `names` have all arrived; then every span.
    async fn wait_for(&self, names: &[&str]) -> Vec<Received> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let spans = self.spans();
            if names
                .iter()
                .all(|n| spans.iter().any(|s| s.span.name == *n))
            {
                return spans;
            }
            let got: Vec<&str> = spans.iter().map(|s| s.span.name.as_str()).collect();
            assert!(
                Instant::now() < deadline,
                "spans {names:?} not all received; got {got:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn attr(span: &Span, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.clone())
}

/// An unsigned attribute: tracing-opentelemetry sends a `u64` as a string
/// (it may not fit OTLP's signed integer).
fn attr_u64(span: &Span, key: &str) -> Option<u64> {
    match attr(span, key)? {
        Value::IntValue(i) => u64::try_from(i).ok(),
        Value::StringValue(s) => s.parse().ok(),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn spans_from_grpc_requests_through_plan_and_raft_to_apply_are_exported() {
    let (receiver, addr) = Receiver::serve().await;
    let guard = telemetry::init(&TelemetryOptions {
        service_name: "main".into(),
        log_format: LogFormat::Json,
        otlp: OtlpExport::To(format!("http://{addr}")),
        filter: Some("info,openraft=warn,casehub_server=debug".into()),
    })
    .unwrap();
    assert_eq!(guard.endpoint(), Some(format!("http://{addr}").as_str()));

    let cluster = Cluster::voters(3, config()).await;
    let request = req(Command::UpsertSite(site()));
    let (reply, response) = cluster.write_request(&request).await;
    assert!(response.is_applied(), "{response:?}");
    cluster.applied_everywhere(reply.log_index).await;
    guard.force_flush().unwrap();

    let grpc = "casehub.v1.RaftService/ClientWrite";
    let spans = receiver
        .wait_for(&[
            grpc,
            "raft.client_write",
            "raft.apply",
            "state.apply",
            "casehub.v1.RaftService/AppendEntries",
        ])
        .await;
    for s in &spans {
        assert_eq!(s.service.as_deref(), Some("main"), "{:?}", s.span.name);
    }

    // The gRPC request is the parent of the Raft write, in one trace; the
    // Raft write names the client request.
    let by_id: BTreeMap<&[u8], &Span> = spans
        .iter()
        .map(|s| (s.span.span_id.as_slice(), &s.span))
        .collect();
    let write = spans
        .iter()
        .map(|s| &s.span)
        .find(|s| {
            s.name == "raft.client_write" && attr_u64(s, "request_id") == Some(request.request_id)
        })
        .unwrap_or_else(|| {
            let writes: Vec<_> = spans
                .iter()
                .filter(|s| s.span.name == "raft.client_write")
                .map(|s| &s.span.attributes)
                .collect();
            panic!("no raft.client_write span of the request among {writes:?}")
        });
    assert_eq!(
        attr(write, "client_id"),
        Some(Value::StringValue(request.client_id.clone()))
    );
    let parent = by_id
        .get(write.parent_span_id.as_slice())
        .expect("raft.client_write has its parent among the exported spans");
    assert_eq!(parent.name, grpc);
    assert_eq!(parent.trace_id, write.trace_id);
    // The write ends after the request is applied on the leader, within the
    // gRPC call.
    assert!(write.end_time_unix_nano <= parent.end_time_unix_nano);

    // Every one of the three nodes applied the request at its log index, in
    // the trace of the Raft write that proposed it (the log entry carries
    // its traceparent), linked to the applied batch.
    let applied: Vec<&Span> = spans
        .iter()
        .map(|s| &s.span)
        .filter(|s| s.name == "state.apply" && attr_u64(s, "index") == Some(reply.log_index))
        .collect();
    assert_eq!(applied.len(), 3, "{applied:?}");
    for s in applied {
        assert_eq!(attr_u64(s, "request_id"), Some(request.request_id));
        assert_applied_in_trace_of(s, write, &by_id);
    }

    // A write through a follower's StoreService, from a client that sends
    // its own W3C trace context, is one trace across the nodes: the
    // client's span → the follower's Write → the leader's ClientWrite (the
    // forwarded call) → the Raft write → the apply on every node.
    let leader = cluster.leader().await;
    let follower = *cluster.nodes.keys().find(|id| **id != leader).unwrap();
    let second = req(Command::UpsertStation(station("st1")));
    let mut store = StoreServiceClient::connect(format!("http://{}", cluster.addrs[&follower]))
        .await
        .unwrap();
    let mut call = tonic::Request::new(WriteRequest {
        request: serde_json::to_vec(&second).unwrap(),
    });
    call.metadata_mut().insert(
        "traceparent",
        format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01")
            .parse()
            .unwrap(),
    );
    let written = store.write(call).await.unwrap().into_inner();
    assert!(written.forwarded, "{written:?}");
    cluster.applied_everywhere(written.log_index).await;

    // A malformed trace context is ignored: the write goes through.
    let third = req(Command::UpsertStation(station("st2")));
    let mut call = tonic::Request::new(WriteRequest {
        request: serde_json::to_vec(&third).unwrap(),
    });
    call.metadata_mut()
        .insert("traceparent", "00-zz-not-a-trace".parse().unwrap());
    call.metadata_mut()
        .insert("tracestate", "=,=,;".parse().unwrap());
    let written = store.write(call).await.unwrap().into_inner();
    cluster.applied_everywhere(written.log_index).await;

    guard.force_flush().unwrap();
    receiver.wait_for(&["casehub.v1.StoreService/Write"]).await;
    let deadline = Instant::now() + TIMEOUT;
    let spans = loop {
        let spans = receiver.spans();
        let applied = spans
            .iter()
            .filter(|s| {
                s.span.name == "state.apply"
                    && attr_u64(&s.span, "request_id") == Some(second.request_id)
                    && attr(&s.span, "client_id")
                        == Some(Value::StringValue(second.client_id.clone()))
            })
            .count();
        if applied == 3 {
            break spans;
        }
        assert!(
            Instant::now() < deadline,
            "state.apply of the second request on {applied} nodes"
        );
        guard.force_flush().unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(spans.iter().all(|s| s.service.as_deref() == Some("main")));
    forwarded_write_is_one_trace(&spans, second.request_id);

    for (_, node) in cluster.nodes {
        node.shutdown().await;
    }

    // The dispatcher's API: a case submitted over gRPC is planned inside the
    // request's trace, and its write is applied.
    dispatch_is_traced(&receiver, &guard).await;
    guard.shutdown().unwrap();
}

/// The trace and span ids of the outside client's span, as it sends them
/// in `traceparent`.
const CLIENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `applied` (a `state.apply` span) is a child of `write` (the
/// `raft.client_write` that proposed the request), names it in its
/// `traceparent` attribute, and is linked to its node's `raft.apply`.
fn assert_applied_in_trace_of(applied: &Span, write: &Span, by_id: &BTreeMap<&[u8], &Span>) {
    assert_eq!(applied.trace_id, write.trace_id, "{applied:?}");
    assert_eq!(applied.parent_span_id, write.span_id, "{applied:?}");
    assert_eq!(
        attr(applied, "traceparent"),
        Some(Value::StringValue(format!(
            "00-{}-{}-01",
            hex(&write.trace_id),
            hex(&write.span_id)
        ))),
        "{applied:?}"
    );
    let batches: Vec<&str> = applied
        .links
        .iter()
        .filter_map(|l| by_id.get(l.span_id.as_slice()))
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(batches, ["raft.apply"], "{applied:?}");
}

/// The spans of the write `request_id`, sent by an outside client (trace
/// [`CLIENT_TRACE`]) to a follower, which forwarded it to the leader.
fn forwarded_write_is_one_trace(spans: &[Received], request_id: u64) {
    let trace = (0..CLIENT_TRACE.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&CLIENT_TRACE[i..i + 2], 16).unwrap())
        .collect::<Vec<u8>>();
    let by_id: BTreeMap<&[u8], &Span> = spans
        .iter()
        .map(|s| (s.span.span_id.as_slice(), &s.span))
        .collect();
    let in_trace: Vec<&Span> = spans
        .iter()
        .map(|s| &s.span)
        .filter(|s| s.trace_id == trace)
        .collect();
    let names: Vec<&str> = in_trace.iter().map(|s| s.name.as_str()).collect();

    // The follower's handler joined the client's trace.
    let follower: Vec<&&Span> = in_trace
        .iter()
        .filter(|s| s.name == "casehub.v1.StoreService/Write")
        .collect();
    assert_eq!(follower.len(), 1, "spans of the client's trace: {names:?}");
    let follower = follower[0];
    assert_eq!(hex(&follower.parent_span_id), CLIENT_SPAN);

    // The leader's handler of the forwarded call is the follower's child.
    let leader: Vec<&&Span> = in_trace
        .iter()
        .filter(|s| s.name == "casehub.v1.RaftService/ClientWrite")
        .collect();
    assert!(!leader.is_empty(), "spans of the client's trace: {names:?}");
    for s in &leader {
        assert_eq!(s.parent_span_id, follower.span_id, "{s:?}");
    }

    // Applied on the three nodes, each in the same trace, under the Raft
    // write (the one that committed it, if the leader changed meanwhile),
    // itself under the leader's handler.
    let applied: Vec<&&Span> = in_trace
        .iter()
        .filter(|s| s.name == "state.apply" && attr_u64(s, "request_id") == Some(request_id))
        .collect();
    assert_eq!(applied.len(), 3, "spans of the client's trace: {names:?}");
    for s in applied {
        let write = by_id
            .get(s.parent_span_id.as_slice())
            .unwrap_or_else(|| panic!("state.apply has no parent among {names:?}"));
        assert_eq!(write.name, "raft.client_write");
        assert_eq!(attr_u64(write, "request_id"), Some(request_id));
        let handler = by_id
            .get(write.parent_span_id.as_slice())
            .expect("raft.client_write has its parent among the exported spans");
        assert_eq!(handler.name, "casehub.v1.RaftService/ClientWrite");
        assert_eq!(handler.parent_span_id, follower.span_id);
        assert_applied_in_trace_of(s, write, &by_id);
    }
}

const REGION: &str = include_str!("../../../simulations/sample-county/region-3-sites.toml");

/// One node serving the dispatcher's API: load the sample region, submit a
/// case, and find the `SubmitCase` → `plan` spans and the case's apply.
async fn dispatch_is_traced(receiver: &Receiver, guard: &telemetry::TelemetryGuard) {
    let region = parse_region("region-3-sites.toml", REGION).unwrap();
    let travel = TravelTable::for_region(&GreatCircle::new(1.35, 45.0).unwrap(), &region).unwrap();
    let ctx = Arc::new(ApiContext {
        local: Some(LocalRegion { region, travel }),
        settings: Settings {
            time_limit: Duration::from_secs(5),
            ..Settings::default()
        },
    });
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start_with_options(NodeOptions {
        api: Some(ctx),
        ..NodeOptions::new(9, "127.0.0.1:0", dir.path().join("node-9"))
    })
    .await
    .unwrap();
    node.raft()
        .initialize(BTreeMap::from([(9, node.basic_node())]))
        .await
        .unwrap();
    // A dispatcher with a password, who logs in for a token.
    rules_current([&node].into_iter()).await;
    let password = "telemetry passphrase";
    let user = casehub_store::User {
        name: "dispatcher".into(),
        roles: [casehub_store::Role::Dispatcher, casehub_store::Role::Admin].into(),
        sites: Default::default(),
        password_hash: Some(casehub_server::grpc_users::hash_password(password).unwrap()),
        disabled: false,
    };
    let w = node.write(&req(Command::UpsertUser(user))).await.unwrap();
    assert!(w.response.is_applied(), "{w:?}");
    wait_applied(node.state(), w.log_index).await;
    let plain = tonic::transport::Channel::from_shared(format!("http://{}", node.client_addr()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let token = casehub_server::proto::auth_service_client::AuthServiceClient::new(plain.clone())
        .login(pb::LoginRequest {
            user: "dispatcher".into(),
            password: password.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .token;
    let bearer: tonic::metadata::MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
    let channel = tonic::service::interceptor::InterceptedService::new(
        plain,
        move |mut r: tonic::Request<()>| {
            r.metadata_mut().insert("authorization", bearer.clone());
            Ok(r)
        },
    );
    let meta = |request_id| {
        Some(pb::WriteMeta {
            client_id: "telemetry-console".into(),
            request_id,
            actor: "dispatcher".into(),
            site_id: "MAIN".into(),
        })
    };
    // Retried while the new node elects itself.
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let loaded = AdminServiceClient::new(channel.clone())
            .load_region(pb::LoadRegionRequest {
                meta: meta(1000),
                file_name: "region-3-sites.toml".into(),
                text: REGION.into(),
                ..Default::default()
            })
            .await;
        match loaded {
            Ok(_) => break,
            Err(status) if Instant::now() < deadline => {
                eprintln!("load_region: {status:?}; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(status) => panic!("load_region: {status:?}"),
        }
    }
    let started = chrono::Utc::now() - chrono::Duration::minutes(10);
    let proposal = DispatchServiceClient::new(channel)
        .submit_case(pb::SubmitCaseRequest {
            meta: meta(1),
            case: Some(pb::Case {
                case_id: "C-1".into(),
                origin_station_id: "S03".into(),
                clock_started_at: Some(prost_types::Timestamp {
                    seconds: started.timestamp(),
                    nanos: 0,
                }),
                category: "criminal_summons".into(),
                persons: vec![pb::Person {
                    person_id: "P1".into(),
                    gender: "male".into(),
                    juvenile: false,
                    co_suspect_group: String::new(),
                    ..Default::default()
                }],
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(proposal.summary.len(), 1, "{proposal:?}");
    node.shutdown().await;
    guard.force_flush().unwrap();

    let submit = "casehub.v1.DispatchService/SubmitCase";
    let spans = receiver.wait_for(&[submit, "plan"]).await;
    let by_id: BTreeMap<&[u8], &Span> = spans
        .iter()
        .map(|s| (s.span.span_id.as_slice(), &s.span))
        .collect();
    let plan = spans
        .iter()
        .map(|s| &s.span)
        .find(|s| s.name == "plan")
        .unwrap();
    assert_eq!(attr_u64(plan, "cases"), Some(1), "{plan:?}");
    let parent = by_id
        .get(plan.parent_span_id.as_slice())
        .expect("plan has its parent among the exported spans");
    assert_eq!(parent.name, submit);
    assert_eq!(parent.trace_id, plan.trace_id);
    assert!(
        spans.iter().any(|s| s.span.name == "state.apply"
            && attr(&s.span, "client_id") == Some(Value::StringValue("telemetry-console".into()))),
        "no state.apply of the dispatcher's writes"
    );
}
