//! Logs and traces of a node.
//!
//! Everything is [`tracing`]: the node's events are logged to standard error,
//! human-readable by default ([`LogFormat::Text`]) or one JSON object per
//! line ([`LogFormat::Json`]); its spans are also exported over OTLP/gRPC
//! (through `tracing-opentelemetry`) when an endpoint is given, explicitly
//! ([`OtlpExport::To`]) or by the standard environment
//! variable `OTEL_EXPORTER_OTLP_ENDPOINT` (e.g. `http://otel-collector:4317`).
//! The OpenTelemetry service name is the site's id.
//!
//! Which events and spans are kept is an [`EnvFilter`]: the explicit
//! [`TelemetryOptions::filter`] if any, else `RUST_LOG`, else `info`. At
//! `info` a write made through a follower is one trace across the nodes:
//!
//! ```text
//! casehub.v1.DispatchService/SubmitCase     (the API call, on the follower called)
//! ├── plan                                  (the engine, for ProposePlan and SubmitCase)
//! └── casehub.v1.RaftService/ClientWrite    (the forwarded write, on the leader)
//!     └── raft.client_write                 (proposed, replicated, committed, applied)
//!         ├── state.apply                   (the request applied, on the leader, with its log index)
//!         ├── state.apply                   (... on a follower)
//!         └── state.apply                   (... on the other follower)
//! raft.apply                                (each applied batch, on every node: a trace of its own,
//!                                            linked from each of its requests' state.apply)
//! ```
//!
//! (`StoreService/Write` in place of the API call for the store's clients;
//! on the leader the API call's span is directly the proposer.) With
//! `casehub_server=debug`, the Raft transport's `AppendEntries` and `Vote`
//! calls are traced too (every heartbeat: too many for `info`).
//!
//! # Trace context across nodes
//!
//! Propagation is W3C Trace Context (`traceparent`, `tracestate`), whatever
//! `opentelemetry::global`'s propagator is:
//!
//! * **gRPC metadata.** A node that forwards a call to the leader (a write's
//!   `ClientWrite`, a linearizable read's `ReadIndex`) sends its current
//!   span's context ([`inject_context`]). Every node's server runs
//!   [`TraceContextLayer`], which serves each call with the caller's context
//!   (if valid) as the current OpenTelemetry context, so the handler's span
//!   is its child. Outside clients that send `traceparent` join their
//!   trace the same way. A missing or malformed `traceparent` is ignored.
//! * **The log entry.** The leader's proposer writes the proposing span's
//!   `traceparent` into each request ([`casehub_store::Request::trace`],
//!   replacing whatever a client sent; nothing when spans are not exported),
//!   so a batch's requests keep their own traces. The store knows `tracing`
//!   only: it records the string as the `traceparent` field of the
//!   request's `state.apply` span and calls the hook the node installs,
//!   [`join_trace`], which makes that span a child of the proposing span and
//!   links it to its `raft.apply` batch.
//!
//! [`init`] installs all of this as the process's global subscriber and
//! returns a [`TelemetryGuard`] that flushes and stops the exporter when
//! dropped. [`build`] makes the same subscriber without installing it, for
//! tests (`tracing::dispatcher::with_default`) and embedders.
//!
//! The OTLP exporter connects lazily on the current Tokio runtime: with an
//! endpoint, call [`init`] or [`build`] inside a runtime, and drop the guard
//! before the runtime stops (on a multi-threaded runtime; a current-thread
//! runtime cannot serve the exporter while the guard waits for it).

use std::fmt;
use std::io::IsTerminal;
use std::str::FromStr;

use opentelemetry::context::{FutureExt as _, WithContext};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator as _};
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tonic::codegen::http;
use tonic::metadata::{Ascii, MetadataKey, MetadataMap, MetadataValue};
use tracing::Dispatch;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// The standard environment variable naming the OTLP collector.
pub const OTLP_ENDPOINT_ENV: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// The filter used when neither [`TelemetryOptions::filter`] nor `RUST_LOG`
/// is set.
pub const DEFAULT_FILTER: &str = "info";

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event (the default).
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `fields`
    /// (with `message`), `span` and `spans`.
    Json,
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        })
    }
}

impl FromStr for LogFormat {
    type Err = TelemetryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(TelemetryError::LogFormat {
                value: other.to_string(),
            }),
        }
    }
}

/// Whether and where spans are exported over OTLP/gRPC.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum OtlpExport {
    /// To `OTEL_EXPORTER_OTLP_ENDPOINT` if it is set and not empty, else
    /// nowhere (the default).
    #[default]
    FromEnv,
    /// To this collector, e.g. `http://127.0.0.1:4317` (if empty, as
    /// [`OtlpExport::FromEnv`]).
    To(String),
    /// Nowhere, whatever the environment says.
    Off,
}

/// What [`init`] and [`build`] set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryOptions {
    /// The OpenTelemetry `service.name`: the site's id.
    pub service_name: String,
    /// How log lines are written.
    pub log_format: LogFormat,
    /// Where spans go.
    pub otlp: OtlpExport,
    /// An [`EnvFilter`] directive (`info,casehub_server=debug`) that takes
    /// precedence over `RUST_LOG`.
    pub filter: Option<String>,
}

impl TelemetryOptions {
    /// Text logs, the exporter from the environment, the filter from
    /// `RUST_LOG` (default `info`), for site `site_id`.
    pub fn new(site_id: impl Into<String>) -> Self {
        TelemetryOptions {
            service_name: site_id.into(),
            log_format: LogFormat::Text,
            otlp: OtlpExport::FromEnv,
            filter: None,
        }
    }

    /// The endpoint spans go to, if any: the explicit one, else
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn resolved_endpoint(&self) -> Option<String> {
        match &self.otlp {
            OtlpExport::Off => None,
            OtlpExport::FromEnv => resolve_endpoint(None, std::env::var(OTLP_ENDPOINT_ENV).ok()),
            OtlpExport::To(e) => resolve_endpoint(Some(e), std::env::var(OTLP_ENDPOINT_ENV).ok()),
        }
    }

    /// The filter: the explicit one, else `RUST_LOG`, else [`DEFAULT_FILTER`].
    fn resolved_filter(&self) -> (String, &'static str) {
        if let Some(f) = self.filter.as_ref().filter(|f| !f.trim().is_empty()) {
            return (f.clone(), "the log filter");
        }
        match std::env::var(EnvFilter::DEFAULT_ENV) {
            Ok(f) if !f.trim().is_empty() => (f, "RUST_LOG"),
            _ => (DEFAULT_FILTER.to_string(), "the default log filter"),
        }
    }
}

/// The explicit endpoint if non-empty, else the environment's if non-empty.
fn resolve_endpoint(explicit: Option<&str>, env: Option<String>) -> Option<String> {
    explicit
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .or_else(|| env.map(|e| e.trim().to_string()).filter(|e| !e.is_empty()))
}

/// Why telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The log format is neither `text` nor `json`.
    #[error("log format {value:?}: expected \"text\" or \"json\"")]
    LogFormat { value: String },
    /// The filter directive does not parse.
    #[error(
        "{origin} {value:?} is not a valid filter (e.g. \"info,casehub_server=debug\"): {source}"
    )]
    Filter {
        origin: &'static str,
        value: String,
        source: tracing_subscriber::filter::ParseError,
    },
    /// The service name is empty.
    #[error("the service name (the site id) is empty")]
    ServiceName,
    /// The OTLP exporter needs a Tokio runtime to connect on.
    #[error(
        "the OTLP exporter to {endpoint} must be set up inside a Tokio runtime (call telemetry::init from async code)"
    )]
    NoRuntime { endpoint: String },
    /// The OTLP exporter could not be built (e.g. the endpoint is not a URI).
    #[error("the OTLP exporter to {endpoint:?} cannot be built: {source}")]
    Exporter {
        endpoint: String,
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// A global subscriber is already installed.
    #[error("a global tracing subscriber is already installed: {0}")]
    AlreadyInstalled(#[from] tracing_subscriber::util::TryInitError),
    /// Flushing or stopping the exporter failed.
    #[error("the OTLP exporter did not flush: {0}")]
    Flush(#[from] opentelemetry_sdk::error::OTelSdkError),
}

/// Keeps the OTLP exporter running; dropping it flushes the spans still
/// queued and stops the exporter.
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
    endpoint: Option<String>,
}

impl TelemetryGuard {
    /// The OTLP endpoint spans are exported to, if any.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// The tracer provider behind the exporter, if any.
    pub fn provider(&self) -> Option<&SdkTracerProvider> {
        self.provider.as_ref()
    }

    /// Export every finished span now.
    pub fn force_flush(&self) -> Result<(), TelemetryError> {
        match &self.provider {
            Some(p) => blocking(|| p.force_flush()).map_err(Into::into),
            None => Ok(()),
        }
    }

    /// Flush and stop the exporter, reporting a failure (dropping the guard
    /// does the same silently).
    pub fn shutdown(mut self) -> Result<(), TelemetryError> {
        match self.provider.take() {
            Some(p) => blocking(|| p.shutdown()).map_err(Into::into),
            None => Ok(()),
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(p) = self.provider.take() {
            let _ = blocking(|| p.shutdown());
        }
    }
}

/// Run `f`, which waits for the exporter's thread, without stalling a
/// multi-threaded Tokio runtime's worker (the exporter's connection runs on
/// that runtime).
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// The log filter `opts` asks for.
pub fn env_filter(opts: &TelemetryOptions) -> Result<EnvFilter, TelemetryError> {
    let (value, origin) = opts.resolved_filter();
    EnvFilter::builder()
        .parse(&value)
        .map_err(|source| TelemetryError::Filter {
            origin,
            value,
            source,
        })
}

/// A tracer provider exporting spans in batches over OTLP/gRPC to
/// `endpoint`, with `service.name` = `service_name`. Must be called inside a
/// Tokio runtime.
pub fn tracer_provider(
    service_name: &str,
    endpoint: &str,
) -> Result<SdkTracerProvider, TelemetryError> {
    if service_name.trim().is_empty() {
        return Err(TelemetryError::ServiceName);
    }
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(TelemetryError::NoRuntime {
            endpoint: endpoint.to_string(),
        });
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|source| TelemetryError::Exporter {
            endpoint: endpoint.to_string(),
            source,
        })?;
    let resource = Resource::builder()
        .with_service_name(service_name.to_string())
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// The subscriber `opts` asks for, writing log lines to `writer`, not
/// installed: [`init`] installs it; `tracing::dispatcher::with_default` or
/// `set_default` uses it for a scope. The guard keeps the exporter (if any)
/// running.
pub fn build<W>(
    opts: &TelemetryOptions,
    writer: W,
) -> Result<(Dispatch, TelemetryGuard), TelemetryError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    build_with_ansi(opts, writer, false)
}

fn build_with_ansi<W>(
    opts: &TelemetryOptions,
    writer: W,
    ansi: bool,
) -> Result<(Dispatch, TelemetryGuard), TelemetryError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    if opts.service_name.trim().is_empty() {
        return Err(TelemetryError::ServiceName);
    }
    let filter = env_filter(opts)?;
    let endpoint = opts.resolved_endpoint();
    let provider = match &endpoint {
        Some(e) => Some(tracer_provider(&opts.service_name, e)?),
        None => None,
    };
    let otel = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("casehub"))
            .with_threads(false)
    });
    let logs = match opts.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(ansi)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(writer)
            .boxed(),
    };
    let subscriber = Registry::default().with(filter).with(otel).with(logs);
    Ok((
        Dispatch::new(subscriber),
        TelemetryGuard { provider, endpoint },
    ))
}

/// Install the subscriber `opts` asks for as the process's global default,
/// logging to standard error (coloured if it is a terminal). Keep the guard
/// until the node stops.
pub fn init(opts: &TelemetryOptions) -> Result<TelemetryGuard, TelemetryError> {
    let ansi = opts.log_format == LogFormat::Text && std::io::stderr().is_terminal();
    let (dispatch, guard) = build_with_ansi(opts, std::io::stderr, ansi)?;
    dispatch.try_init()?;
    Ok(guard)
}

// ---------------------------------------------------------------------------
// Trace context across nodes (W3C Trace Context)
// ---------------------------------------------------------------------------

/// The W3C Trace Context header naming the caller's span.
pub const TRACEPARENT: &str = "traceparent";
/// The W3C Trace Context header carrying vendor state along the trace.
pub const TRACESTATE: &str = "tracestate";

/// W3C Trace Context is the only propagation format: the node uses it
/// directly, whatever `opentelemetry::global`'s propagator is.
fn propagator() -> TraceContextPropagator {
    TraceContextPropagator::new()
}

/// Writes the trace context into gRPC metadata; a key or value that is not
/// valid ASCII metadata is left out.
struct MetadataInjector<'a>(&'a mut MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if value.is_empty() {
            return;
        }
        if let (Ok(key), Ok(value)) = (
            MetadataKey::<Ascii>::from_bytes(key.as_bytes()),
            value.parse::<MetadataValue<Ascii>>(),
        ) {
            self.0.insert(key, value);
        }
    }
}

/// Reads the trace context from HTTP/2 headers (gRPC metadata); a value that
/// is not visible ASCII is absent.
struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// A lone `traceparent`, as a log entry carries it.
struct TraceparentExtractor<'a>(&'a str);

impl Extractor for TraceparentExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == TRACEPARENT).then_some(self.0)
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT]
    }
}

/// The remote span context `extractor` carries, if it is a valid one: a
/// missing or malformed `traceparent` is `None`.
fn remote_context(extractor: &dyn Extractor) -> Option<opentelemetry::Context> {
    let cx = propagator().extract_with_context(&opentelemetry::Context::new(), extractor);
    cx.span().span_context().is_valid().then_some(cx)
}

/// Add the current span's context to an outgoing call's metadata as
/// `traceparent` (and `tracestate`), so that the called node's span is its
/// child. Nothing is added when spans are not exported (no valid context).
pub fn inject_context(metadata: &mut MetadataMap) {
    let cx = tracing::Span::current().context();
    propagator().inject_context(&cx, &mut MetadataInjector(metadata));
}

/// The caller's span context in an incoming request's headers, if they
/// carry a valid `traceparent`; a malformed one is ignored.
pub fn extract_context(headers: &http::HeaderMap) -> Option<opentelemetry::Context> {
    remote_context(&HeaderExtractor(headers))
}

/// The current span as a W3C `traceparent`
/// (`00-<trace id>-<span id>-<flags>`), if spans are exported; what the
/// node's proposer writes into [`casehub_store::Request::trace`].
pub fn current_traceparent() -> Option<String> {
    let cx = tracing::Span::current().context();
    let mut carrier = std::collections::HashMap::<String, String>::new();
    propagator().inject_context(&cx, &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// The store's trace hook ([`casehub_store::rocks::TraceHook`]): make
/// `span` (a request's `state.apply`, not yet entered) a child of the span
/// that proposed the request, named by the `traceparent` its log entry
/// carries, and link it to the current span (the node's `raft.apply`
/// batch). A malformed `traceparent` is ignored.
pub fn join_trace(span: &tracing::Span, traceparent: &str) {
    let Some(cx) = remote_context(&TraceparentExtractor(traceparent)) else {
        return;
    };
    let batch = tracing::Span::current()
        .context()
        .span()
        .span_context()
        .clone();
    if span.set_parent(cx).is_ok() {
        span.add_link(batch);
    }
}

/// The node's gRPC server layer that joins callers' traces: every incoming
/// call whose headers carry a valid W3C `traceparent` is served with that
/// remote span as the current OpenTelemetry context, so the handler's span
/// (each service's `#[tracing::instrument]`, a root span otherwise) is its
/// child. Calls without one, or with a malformed one, start traces of their
/// own.
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceContextLayer;

impl<S> tower_layer::Layer<S> for TraceContextLayer {
    type Service = TraceContextService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TraceContextService { inner }
    }
}

/// See [`TraceContextLayer`].
#[derive(Debug, Clone)]
pub struct TraceContextService<S> {
    inner: S,
}

impl<S, B> tonic::codegen::Service<http::Request<B>> for TraceContextService<S>
where
    S: tonic::codegen::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = WithContext<S::Future>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // An empty context without a caller's: the request's spans are not
        // children of whatever the connection's task had.
        let cx = extract_context(request.headers()).unwrap_or_default();
        let future = {
            let _attached = cx.clone().attach();
            self.inner.call(request)
        };
        future.with_context(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Log lines written to memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Captured {
        type Writer = Captured;
        fn make_writer(&'w self) -> Captured {
            self.clone()
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn opts(format: LogFormat) -> TelemetryOptions {
        TelemetryOptions {
            service_name: "main".into(),
            log_format: format,
            otlp: OtlpExport::Off,
            filter: Some("info".into()),
        }
    }

    /// Emit one span with an event, one debug event (filtered out) and one
    /// warning.
    fn emit() {
        let span = tracing::info_span!("dispatch", case = "c1");
        let _in = span.enter();
        tracing::info!(room = "q1", "room booked");
        tracing::debug!("not shown at info");
        tracing::warn!(slack_min = 12, "deadline close");
    }

    #[test]
    fn json_logs_are_one_parseable_object_per_line() {
        let out = Captured::default();
        let (dispatch, guard) = build(&opts(LogFormat::Json), out.clone()).unwrap();
        assert!(guard.endpoint().is_none());
        tracing::dispatcher::with_default(&dispatch, emit);
        let text = out.text();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["level"], "INFO");
        assert_eq!(lines[0]["fields"]["message"], "room booked");
        assert_eq!(lines[0]["fields"]["room"], "q1");
        assert_eq!(lines[0]["span"]["name"], "dispatch");
        assert_eq!(lines[0]["span"]["case"], "c1");
        assert_eq!(lines[1]["level"], "WARN");
        assert_eq!(lines[1]["fields"]["slack_min"], 12);
        assert!(lines[1]["timestamp"].is_string());
    }

    #[test]
    fn text_logs_are_plain_lines() {
        let out = Captured::default();
        let (dispatch, _guard) = build(&opts(LogFormat::Text), out.clone()).unwrap();
        tracing::dispatcher::with_default(&dispatch, emit);
        let text = out.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].contains("INFO"), "{text}");
        assert!(lines[0].contains("dispatch{case=\"c1\"}"), "{text}");
        assert!(lines[0].contains("room booked room=\"q1\""), "{text}");
        assert!(serde_json::from_str::<serde_json::Value>(lines[0]).is_err());
        assert!(!text.contains('\u{1b}'), "no colour codes: {text:?}");
    }

    #[test]
    fn the_filter_is_applied_and_a_bad_one_is_a_clear_error() {
        let out = Captured::default();
        let mut o = opts(LogFormat::Text);
        o.filter = Some("warn".into());
        let (dispatch, _guard) = build(&o, out.clone()).unwrap();
        tracing::dispatcher::with_default(&dispatch, emit);
        assert_eq!(out.text().lines().count(), 1, "{}", out.text());

        o.filter = Some("casehub_server=loud".into());
        let err = build(&o, Captured::default()).err().unwrap();
        let msg = err.to_string();
        assert!(matches!(err, TelemetryError::Filter { .. }), "{msg}");
        assert!(msg.contains("casehub_server=loud"), "{msg}");
    }

    #[test]
    fn log_formats_parse_and_print() {
        assert_eq!("text".parse::<LogFormat>().unwrap(), LogFormat::Text);
        assert_eq!("json".parse::<LogFormat>().unwrap(), LogFormat::Json);
        assert_eq!(LogFormat::Json.to_string(), "json");
        let err = "yaml".parse::<LogFormat>().unwrap_err().to_string();
        assert!(
            err.contains("\"yaml\"") && err.contains("\"json\""),
            "{err}"
        );
        let f: LogFormat = serde_json::from_str("\"json\"").unwrap();
        assert_eq!(f, LogFormat::Json);
        assert!(serde_json::from_str::<LogFormat>("\"JSON\"").is_err());
    }

    #[test]
    fn the_explicit_endpoint_wins_and_empty_means_none() {
        let env = || Some("http://collector:4317".to_string());
        assert_eq!(
            resolve_endpoint(Some("http://a:4317"), env()).as_deref(),
            Some("http://a:4317")
        );
        assert_eq!(
            resolve_endpoint(None, env()).as_deref(),
            Some("http://collector:4317")
        );
        assert_eq!(
            resolve_endpoint(Some(""), env()).as_deref(),
            Some("http://collector:4317")
        );
        assert_eq!(resolve_endpoint(None, Some(" ".into())), None);
        assert_eq!(resolve_endpoint(None, None), None);
    }

    #[test]
    fn an_exporter_outside_a_runtime_is_an_error_not_a_panic() {
        let mut o = opts(LogFormat::Text);
        o.otlp = OtlpExport::To("http://127.0.0.1:4317".into());
        let err = build(&o, Captured::default()).err().unwrap();
        assert!(matches!(err, TelemetryError::NoRuntime { .. }), "{err}");
    }

    /// A subscriber exporting nowhere, whose spans have OpenTelemetry ids.
    fn traced() -> (Dispatch, SdkTracerProvider) {
        let provider = SdkTracerProvider::builder().build();
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
        (Dispatch::new(Registry::default().with(layer)), provider)
    }

    const REMOTE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn the_trace_context_goes_through_metadata() {
        // Without spans exported there is nothing to send.
        let mut metadata = MetadataMap::new();
        inject_context(&mut metadata);
        assert!(metadata.is_empty());
        assert_eq!(current_traceparent(), None);

        let (dispatch, _provider) = traced();
        tracing::dispatcher::with_default(&dispatch, || {
            let span = tracing::info_span!("forward");
            let _in = span.enter();
            let traceparent = current_traceparent().expect("a traceparent");
            let mut metadata = MetadataMap::new();
            inject_context(&mut metadata);
            assert_eq!(
                metadata.get(TRACEPARENT).and_then(|v| v.to_str().ok()),
                Some(traceparent.as_str())
            );
            let cx = extract_context(&metadata.into_headers()).expect("a remote context");
            let remote = cx.span().span_context().clone();
            assert!(remote.is_remote());
            let local = span.context().span().span_context().clone();
            assert_eq!(remote.trace_id(), local.trace_id());
            assert_eq!(remote.span_id(), local.span_id());
            assert_eq!(
                traceparent,
                format!("00-{}-{}-01", local.trace_id(), local.span_id())
            );
        });
    }

    #[test]
    fn a_malformed_trace_context_is_ignored() {
        for bad in [
            &b""[..],
            b"00-zz-not-a-trace",
            b"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            b"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            b"\xff\xfe",
        ] {
            let mut headers = http::HeaderMap::new();
            headers.insert(TRACEPARENT, http::HeaderValue::from_bytes(bad).unwrap());
            headers.insert(TRACESTATE, http::HeaderValue::from_static("=,;=="));
            assert!(extract_context(&headers).is_none(), "{bad:?}");
        }
        let mut headers = http::HeaderMap::new();
        headers.insert(TRACEPARENT, http::HeaderValue::from_static(REMOTE));
        headers.insert(TRACESTATE, http::HeaderValue::from_static("=,;=="));
        assert!(extract_context(&headers).is_some());
    }

    /// The store's hook: a request's apply joins the trace its log entry
    /// names, linked to the batch; a malformed traceparent leaves it in the
    /// batch's trace.
    #[test]
    fn an_apply_joins_the_trace_of_its_proposal() {
        let (dispatch, _provider) = traced();
        tracing::dispatcher::with_default(&dispatch, || {
            let batch = tracing::info_span!("raft.apply");
            let _in = batch.enter();
            let batch_trace = batch.context().span().span_context().trace_id();

            let applied = tracing::info_span!("state.apply");
            join_trace(&applied, REMOTE);
            let cx = applied.context();
            assert_eq!(
                cx.span().span_context().trace_id().to_string(),
                "4bf92f3577b34da6a3ce929d0e0e4736"
            );

            for bad in [
                "",
                "garbage",
                "00-zz-zz-zz",
                "00-4bf92f3577b34da6a3ce929d0e0e4736",
            ] {
                let applied = tracing::info_span!("state.apply");
                join_trace(&applied, bad);
                assert_eq!(
                    applied.context().span().span_context().trace_id(),
                    batch_trace,
                    "{bad:?}"
                );
            }
        });
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_bad_endpoint_or_site_is_a_clear_error() {
        let mut o = opts(LogFormat::Text);
        o.otlp = OtlpExport::To("not a uri".into());
        let err = build(&o, Captured::default()).err().unwrap();
        assert!(matches!(err, TelemetryError::Exporter { .. }), "{err}");
        assert!(err.to_string().contains("\"not a uri\""), "{err}");

        let mut o = opts(LogFormat::Text);
        o.service_name = " ".into();
        let err = build(&o, Captured::default()).err().unwrap();
        assert!(matches!(err, TelemetryError::ServiceName), "{err}");
    }
}
