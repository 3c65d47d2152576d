//! Who calls, and whether they may: the one authorization layer of the
//! client listener.
//!
//! Every call on the client listener passes [`AuthLayer`]:
//!
//! 1. **Who.** A login token (`authorization: Bearer TOKEN`, from
//!    `AuthService.Login`), else the user a TLS client certificate of the
//!    cluster CA names. The user must exist in the replicated state and not
//!    be disabled; a node certificate is not a user.
//! 2. **May they.** [`RPC_ACCESS`] maps every RPC to what it needs: nothing
//!    (`Login`, health), any authenticated user (reflection), or a
//!    [`Permission`]. A user may what one of their roles grants
//!    ([`grants`]). An RPC missing from the table is refused
//!    (UNIMPLEMENTED, like an RPC the listener does not serve).
//! 3. The handler runs with the [`Caller`] in scope ([`caller`]): the audit
//!    names them ([`crate::grpc_api`]'s writes take the actor from here, never
//!    from the request).
//!
//! UNAUTHENTICATED: no credentials, a bad or expired token, an unknown or
//! disabled user. PERMISSION_DENIED: a user whose roles do not grant the
//! RPC's permission. RESOURCE_EXHAUSTED: a user past the security policy's
//! request rate on this node ([`RateLimits`]). No handler checks
//! permissions itself.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use casehub_model::SiteId;
use casehub_store::{Role, SchedulingState};
use chrono::{DateTime, Utc};
use tonic::Status;
use tonic::codegen::http;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

use crate::pki::{self, Principal};
use crate::view::StateView;

/// What an RPC needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// Availability, the earliest slot.
    ReadAvailability,
    /// The change stream.
    Watch,
    /// Submit a case (and get its proposal).
    SubmitCase,
    /// Propose, accept or override plans, run steps, exit, report delays.
    Dispatch,
    /// The cases, their status and their persons (by pseudonym).
    ReadCases,
    /// The persons' particulars (names, identity numbers) in the cases a
    /// caller may read; without it, pseudonyms. Not an RPC's permission:
    /// the case reads ask it ([`crate::grpc_cases`]).
    ReadParticulars,
    /// The alerts.
    ReadAlerts,
    /// Acknowledge an alert (who and when go into its record).
    AcknowledgeAlerts,
    /// Approve or refuse an exception a dispatcher asked for.
    ApproveExceptions,
    /// The audit trail.
    ReadAudit,
    /// Sites, stations, officers, teams, policy, region.
    ManageRegion,
    /// The cluster's members and leader.
    ReadCluster,
    /// Add and remove members.
    ManageCluster,
    /// Users and roles.
    ManageUsers,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 14] = {
        use Permission::*;
        [
            ReadAvailability,
            Watch,
            SubmitCase,
            Dispatch,
            ReadCases,
            ReadParticulars,
            ReadAlerts,
            AcknowledgeAlerts,
            ApproveExceptions,
            ReadAudit,
            ManageRegion,
            ReadCluster,
            ManageCluster,
            ManageUsers,
        ]
    };
}

/// What a call needs before its handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No credentials: logging in, health.
    Public,
    /// Any authenticated user.
    Authenticated,
    /// A role that grants the permission.
    Needs(Permission),
}

/// Every RPC of the client listener and what it needs. The role × RPC
/// matrix test checks that it names every RPC the node serves.
pub const RPC_ACCESS: &[(&str, Access)] = {
    use Access::*;
    use Permission::*;
    &[
        ("/casehub.v1.AuthService/Login", Public),
        ("/grpc.health.v1.Health/Check", Public),
        ("/grpc.health.v1.Health/Watch", Public),
        (
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            Authenticated,
        ),
        (
            "/casehub.v1.AvailabilityService/GetAvailability",
            Needs(ReadAvailability),
        ),
        (
            "/casehub.v1.AvailabilityService/EarliestSlot",
            Needs(ReadAvailability),
        ),
        (
            "/casehub.v1.AvailabilityService/GetOverview",
            Needs(ReadAvailability),
        ),
        ("/casehub.v1.AvailabilityService/Watch", Needs(Watch)),
        ("/casehub.v1.DispatchService/SubmitCase", Needs(SubmitCase)),
        ("/casehub.v1.DispatchService/ProposePlan", Needs(Dispatch)),
        ("/casehub.v1.DispatchService/AcceptPlan", Needs(Dispatch)),
        ("/casehub.v1.DispatchService/StartStep", Needs(Dispatch)),
        ("/casehub.v1.DispatchService/CompleteStep", Needs(Dispatch)),
        ("/casehub.v1.DispatchService/ExitCase", Needs(Dispatch)),
        ("/casehub.v1.DispatchService/ReportDelay", Needs(Dispatch)),
        (
            "/casehub.v1.DispatchService/WatchProposals",
            Needs(Dispatch),
        ),
        ("/casehub.v1.DispatchService/GetCase", Needs(ReadCases)),
        ("/casehub.v1.DispatchService/ListCases", Needs(ReadCases)),
        ("/casehub.v1.AlertService/ListAlerts", Needs(ReadAlerts)),
        ("/casehub.v1.AlertService/StreamAlerts", Needs(ReadAlerts)),
        (
            "/casehub.v1.AlertService/AcknowledgeAlert",
            Needs(AcknowledgeAlerts),
        ),
        ("/casehub.v1.AuditService/ReadAudit", Needs(ReadAudit)),
        ("/casehub.v1.AuditService/StreamAudit", Needs(ReadAudit)),
        ("/casehub.v1.AuditService/VerifyAudit", Needs(ReadAudit)),
        ("/casehub.v1.AuditService/GetDailyFigures", Needs(ReadAudit)),
        ("/casehub.v1.AdminService/Upsert", Needs(ManageRegion)),
        ("/casehub.v1.AdminService/LoadRegion", Needs(ManageRegion)),
        (
            "/casehub.v1.DispatchService/RequestException",
            Needs(Dispatch),
        ),
        (
            "/casehub.v1.DispatchService/DecideException",
            Needs(ApproveExceptions),
        ),
        (
            "/casehub.v1.DispatchService/ListExceptions",
            Needs(ReadCases),
        ),
        ("/casehub.v1.AdminService/AddAbsence", Needs(ManageRegion)),
        (
            "/casehub.v1.AdminService/RemoveAbsence",
            Needs(ManageRegion),
        ),
        ("/casehub.v1.AdminService/SetActive", Needs(ManageRegion)),
        ("/casehub.v1.AdminService/ClusterStatus", Needs(ReadCluster)),
        ("/casehub.v1.AdminService/AddLearner", Needs(ManageCluster)),
        (
            "/casehub.v1.AdminService/ChangeMembership",
            Needs(ManageCluster),
        ),
        ("/casehub.v1.UserService/UpsertUser", Needs(ManageUsers)),
        ("/casehub.v1.UserService/RemoveUser", Needs(ManageUsers)),
        ("/casehub.v1.UserService/ListUsers", Needs(ManageUsers)),
        (
            "/casehub.v1.UserService/GetSecurityPolicy",
            Needs(ManageUsers),
        ),
        (
            "/casehub.v1.UserService/SetSecurityPolicy",
            Needs(ManageUsers),
        ),
    ]
};

/// What `path` needs, if the node serves it.
pub fn access(path: &str) -> Option<Access> {
    RPC_ACCESS.iter().find(|(p, _)| *p == path).map(|(_, a)| *a)
}

/// The permissions a role grants.
pub fn grants(role: Role) -> &'static [Permission] {
    use Permission::*;
    match role {
        Role::Dispatcher => &[
            ReadAvailability,
            Watch,
            SubmitCase,
            Dispatch,
            ReadCases,
            ReadParticulars,
            ReadAlerts,
            AcknowledgeAlerts,
            ReadCluster,
        ],
        Role::Site => &[
            ReadAvailability,
            Watch,
            SubmitCase,
            ReadCases,
            ReadParticulars,
            ReadCluster,
        ],
        Role::Planner => &[ReadAvailability, ReadCases, ReadCluster],
        Role::Supervisor => &[
            ReadAvailability,
            Watch,
            ReadCases,
            ReadParticulars,
            ReadAlerts,
            AcknowledgeAlerts,
            ApproveExceptions,
            ReadAudit,
            ReadCluster,
        ],
        Role::Admin => &[
            ReadAvailability,
            ManageRegion,
            ReadCluster,
            ManageCluster,
            ManageUsers,
        ],
    }
}

/// The authenticated user of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub roles: BTreeSet<Role>,
    pub sites: BTreeSet<SiteId>,
}

impl Caller {
    /// Whether one of the caller's roles grants `p`.
    pub fn may(&self, p: Permission) -> bool {
        self.roles.iter().any(|r| grants(*r).contains(&p))
    }
}

tokio::task_local! {
    static CALLER: Caller;
}

/// The caller of the call being handled (set by [`AuthLayer`]); `None`
/// outside one, or for a public call.
pub fn caller() -> Option<Caller> {
    CALLER.try_with(Caller::clone).ok()
}

/// The version tag of login tokens.
const TOKEN_VERSION: &str = "v1";

fn mac(key: &[u8], user: &str, expires: i64) -> ring::hmac::Tag {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    ring::hmac::sign(&k, format!("{TOKEN_VERSION}\n{user}\n{expires}").as_bytes())
}

/// A login token for `user`, valid until `expires`, signed with `key`.
pub fn issue_token(key: &[u8], user: &str, expires: DateTime<Utc>) -> String {
    let exp = expires.timestamp();
    format!(
        "{TOKEN_VERSION}.{}.{exp}.{}",
        B64.encode(user.as_bytes()),
        B64.encode(mac(key, user, exp).as_ref())
    )
}

/// The user of a token signed with `key` and not expired at `now`.
pub fn verify_token(key: &[u8], token: &str, now: DateTime<Utc>) -> Result<String, String> {
    let bad = || "the token is not one of this cluster's".to_string();
    let mut parts = token.split('.');
    let (Some(TOKEN_VERSION), Some(user), Some(exp), Some(sig), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(bad());
    };
    let user = B64
        .decode(user)
        .ok()
        .and_then(|u| String::from_utf8(u).ok())
        .ok_or_else(bad)?;
    let exp: i64 = exp.parse().map_err(|_| bad())?;
    let sig = B64.decode(sig).map_err(|_| bad())?;
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    ring::hmac::verify(
        &k,
        format!("{TOKEN_VERSION}\n{user}\n{exp}").as_bytes(),
        &sig,
    )
    .map_err(|_| bad())?;
    if now.timestamp() >= exp {
        return Err("the token has expired: log in again".into());
    }
    Ok(user)
}

/// The caller of a request with these headers and TLS info, in `state`.
fn authenticate(
    state: &SchedulingState,
    headers: &http::HeaderMap,
    tls: Option<&TlsConnectInfo<TcpConnectInfo>>,
    now: DateTime<Utc>,
) -> Result<Caller, Status> {
    let name = match headers.get("authorization") {
        Some(v) => {
            let token = v
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .ok_or_else(|| {
                    Status::unauthenticated("authorization: expected \"Bearer TOKEN\"")
                })?;
            let key = state.users.token_key.as_deref().ok_or_else(|| {
                Status::unauthenticated("the cluster has issued no token yet: log in")
            })?;
            verify_token(key, token.trim(), now).map_err(Status::unauthenticated)?
        }
        None => {
            let leaf = tls
                .and_then(|t| t.peer_certs())
                .and_then(|c| c.first().cloned())
                .ok_or_else(|| {
                    Status::unauthenticated(
                        "no credentials: log in (AuthService.Login) and send the token, \
                         or present a user certificate",
                    )
                })?;
            match pki::principal_of(&leaf) {
                Ok(Principal::User(name)) => name,
                Ok(Principal::Node(id)) => {
                    return Err(Status::unauthenticated(format!(
                        "node {id}'s certificate is not a user's"
                    )));
                }
                Err(e) => return Err(Status::unauthenticated(e.to_string())),
            }
        }
    };
    let entry = state
        .users
        .users
        .get(&name)
        .filter(|e| !e.user.disabled)
        .ok_or_else(|| Status::unauthenticated(format!("no user {name:?} may log in")))?;
    Ok(Caller {
        name,
        roles: entry.user.roles.clone(),
        sites: entry.user.sites.clone(),
    })
}

/// The decision for a call: the caller (none for a public call) or the
/// status that refuses it.
pub fn authorize(
    state: &SchedulingState,
    path: &str,
    headers: &http::HeaderMap,
    tls: Option<&TlsConnectInfo<TcpConnectInfo>>,
    now: DateTime<Utc>,
) -> Result<Option<Caller>, Status> {
    let Some(need) = access(path) else {
        // Not served here (Raft and the raw store are on the peer
        // listener), or served without an entry in the table: refused
        // either way, before any handler.
        return Err(Status::unimplemented(format!(
            "{path} is not served on the client listener"
        )));
    };
    if need == Access::Public {
        return Ok(None);
    }
    let caller = authenticate(state, headers, tls, now)?;
    allowed(&caller, path)?;
    Ok(Some(caller))
}

/// Whether `caller` may call the RPC at `path`, by [`RPC_ACCESS`]: the one
/// check for the API and the console alike.
pub fn allowed(caller: &Caller, path: &str) -> Result<(), Status> {
    match access(path) {
        None => Err(Status::unimplemented(format!(
            "{path} is not served on the client listener"
        ))),
        Some(Access::Needs(p)) if !caller.may(p) => {
            let roles: Vec<&str> = caller.roles.iter().map(|r| r.name()).collect();
            Err(Status::permission_denied(format!(
                "{path} needs {p:?}, which no role of user {:?} grants (roles: {})",
                caller.name,
                if roles.is_empty() {
                    "none".to_string()
                } else {
                    roles.join(", ")
                }
            )))
        }
        Some(_) => Ok(()),
    }
}

/// The caller of a console request (its session cookie), `None` for the
/// console's public paths.
fn console_caller(
    state: &SchedulingState,
    path: &str,
    headers: &http::HeaderMap,
    now: DateTime<Utc>,
) -> Result<Option<Caller>, Status> {
    if crate::console::is_public(path) {
        return Ok(None);
    }
    let token = crate::console::cookie(headers, crate::console::SESSION_COOKIE)
        .ok_or_else(|| Status::unauthenticated("no session"))?;
    let mut h = http::HeaderMap::new();
    let bearer = http::HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| Status::unauthenticated("a malformed session"))?;
    h.insert("authorization", bearer);
    authenticate(state, &h, None, now).map(Some)
}

/// Each user's calls on this node, as token buckets: `request_burst` calls
/// at once, refilled at `requests_per_second` (the security policy's).
#[derive(Debug, Default)]
pub struct RateLimits {
    buckets: std::sync::Mutex<std::collections::HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: std::time::Instant,
}

/// The longest a user's bucket is kept without a call.
const BUCKET_IDLE: std::time::Duration = std::time::Duration::from_secs(600);

impl RateLimits {
    /// Whether `user` may make one more call at `now`, taking it if so.
    pub fn take(&self, user: &str, per_second: u32, burst: u32, now: std::time::Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 10_000 {
            buckets.retain(|_, b| now.saturating_duration_since(b.at) < BUCKET_IDLE);
        }
        let burst = f64::from(burst.max(1));
        let b = buckets.entry(user.to_string()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * f64::from(per_second.max(1))).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The client listener's authorization layer: see the module docs.
/// [`AuthLayer::off`] lets every call through (the peer listener, whose
/// calls [`crate::tls::PeerIdentity`] checks).
#[derive(Debug, Clone)]
pub struct AuthLayer {
    view: Option<StateView>,
    limits: std::sync::Arc<RateLimits>,
}

impl AuthLayer {
    /// Authorize with the users of `view`'s state.
    pub fn new(view: StateView) -> Self {
        AuthLayer {
            view: Some(view),
            limits: Default::default(),
        }
    }

    /// No authorization.
    pub fn off() -> Self {
        AuthLayer {
            view: None,
            limits: Default::default(),
        }
    }
}

impl<S> tower_layer::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            view: self.view.clone(),
            limits: self.limits.clone(),
        }
    }
}

/// See [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    view: Option<StateView>,
    limits: std::sync::Arc<RateLimits>,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B, RB> tonic::codegen::Service<http::Request<B>> for AuthService<S>
where
    S: tonic::codegen::Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    RB: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let Some(view) = &self.view else {
            return Box::pin(self.inner.call(req));
        };
        let console = req.uri().path().starts_with("/console");
        let decision = {
            let applied = view.current();
            let policy = applied.state.users.policy;
            let who = if console {
                console_caller(&applied.state, req.uri().path(), req.headers(), Utc::now())
            } else {
                authorize(
                    &applied.state,
                    req.uri().path(),
                    req.headers(),
                    req.extensions().get::<TlsConnectInfo<TcpConnectInfo>>(),
                    Utc::now(),
                )
            };
            who.and_then(|caller| match caller {
                Some(c)
                    if !self.limits.take(
                        &c.name,
                        policy.requests_per_second,
                        policy.request_burst,
                        std::time::Instant::now(),
                    ) =>
                {
                    Err(Status::resource_exhausted(format!(
                        "user {:?} calls this node more than {} times a second: slow down",
                        c.name, policy.requests_per_second
                    )))
                }
                other => Ok(other),
            })
        };
        match decision {
            // A browser without a valid session goes to the login page.
            Err(status) if console && status.code() == tonic::Code::Unauthenticated => {
                let mut response = http::Response::new(RB::default());
                *response.status_mut() = http::StatusCode::SEE_OTHER;
                response.headers_mut().insert(
                    http::header::LOCATION,
                    http::HeaderValue::from_static("/console/login"),
                );
                Box::pin(std::future::ready(Ok(response)))
            }
            Err(status) if console => {
                let mut response = http::Response::new(RB::default());
                *response.status_mut() = http::StatusCode::TOO_MANY_REQUESTS;
                tracing::info!(
                    path = req.uri().path(),
                    message = status.message(),
                    "console request refused"
                );
                Box::pin(std::future::ready(Ok(response)))
            }
            Err(status) => {
                tracing::info!(path = req.uri().path(), code = ?status.code(), message = status.message(), "call refused");
                Box::pin(std::future::ready(Ok(status.into_http())))
            }
            Ok(None) => Box::pin(self.inner.call(req)),
            Ok(Some(caller)) => Box::pin(CALLER.scope(caller, self.inner.call(req))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_users_calls_are_limited_to_its_burst_then_its_rate() {
        let limits = RateLimits::default();
        let t0 = std::time::Instant::now();
        // A burst of 3, then nothing until the bucket refills at 2 a second.
        for _ in 0..3 {
            assert!(limits.take("a", 2, 3, t0));
        }
        assert!(!limits.take("a", 2, 3, t0));
        // Another user has a bucket of its own.
        assert!(limits.take("b", 2, 3, t0));
        let half = t0 + std::time::Duration::from_millis(500);
        assert!(limits.take("a", 2, 3, half));
        assert!(!limits.take("a", 2, 3, half));
        // Never more than the burst, however long the pause.
        let later = t0 + std::time::Duration::from_secs(60);
        for _ in 0..3 {
            assert!(limits.take("a", 2, 3, later));
        }
        assert!(!limits.take("a", 2, 3, later));
    }

    #[test]
    fn tokens_verify_only_with_their_key_and_before_they_expire() {
        let key = [7u8; 32];
        let now = Utc::now();
        let t = issue_token(&key, "张三", now + chrono::TimeDelta::minutes(5));
        assert_eq!(verify_token(&key, &t, now).unwrap(), "张三");
        assert!(verify_token(&[8u8; 32], &t, now).is_err());
        let e = verify_token(&key, &t, now + chrono::TimeDelta::minutes(6)).unwrap_err();
        assert!(e.contains("expired"), "{e}");
        // A token for another user with this one's signature.
        let mut parts: Vec<&str> = t.split('.').collect();
        let other = B64.encode("李四");
        parts[1] = &other;
        assert!(verify_token(&key, &parts.join("."), now).is_err());
        for junk in ["", "v1", "v1.a.b.c.d", "v2.YQ.1.AA"] {
            assert!(verify_token(&key, junk, now).is_err(), "{junk}");
        }
    }

    /// `ReadAvailability` → `read_availability`.
    fn snake(p: Permission) -> String {
        let mut out = String::new();
        for (i, ch) in format!("{p:?}").chars().enumerate() {
            if ch.is_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        }
        out
    }

    #[test]
    fn the_role_table_in_docs_security_md_is_the_code() {
        let doc = include_str!("../../../docs/security.md");
        let mut rows = 0;
        for line in doc.lines().filter(|l| l.starts_with("| ")) {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            // "", permission, rpcs, five roles, ""
            if cells.len() != 9 {
                continue;
            }
            let Some(p) = Permission::ALL.iter().find(|p| snake(**p) == cells[1]) else {
                continue;
            };
            rows += 1;
            for (i, role) in Role::ALL.iter().enumerate() {
                let documented = cells[3 + i] == "✓";
                assert_eq!(
                    documented,
                    grants(*role).contains(p),
                    "docs/security.md: {} for {role}",
                    cells[1]
                );
            }
            // Every RPC the row names needs that permission ("—": a
            // permission no RPC needs, asked by the handlers' data).
            for rpc in cells[2].split(", ").filter(|r| *r != "—") {
                let needs: Vec<Permission> = RPC_ACCESS
                    .iter()
                    .filter(|(path, _)| {
                        path.rsplit('/').next() == Some(rpc.rsplit('.').next().unwrap())
                    })
                    .filter_map(|(_, a)| match a {
                        Access::Needs(n) => Some(*n),
                        _ => None,
                    })
                    .collect();
                assert!(needs.contains(p), "docs/security.md: {rpc} needs {p:?}");
            }
        }
        assert_eq!(rows, Permission::ALL.len(), "one row per permission");
    }

    #[test]
    fn every_permission_is_granted_to_some_role_and_admins_see_no_audit() {
        use Permission::*;
        for p in Permission::ALL {
            assert!(Role::ALL.iter().any(|r| grants(*r).contains(&p)), "{p:?}");
        }
        assert!(!grants(Role::Admin).contains(&ReadAudit));
        assert!(!grants(Role::Planner).contains(&SubmitCase));
        // Personal data: not to planners, not to admins (unless also
        // supervisors, through that role).
        assert!(!grants(Role::Planner).contains(&ReadParticulars));
        assert!(!grants(Role::Admin).contains(&ReadParticulars));
        assert!(grants(Role::Supervisor).contains(&ReadAudit));
    }
}
