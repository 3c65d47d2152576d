//! `AuthService` (logging in) and `UserService` (users and roles) of the
//! casehub API. Passwords are hashed here with argon2, before anything is
//! written: the log, the state and the snapshots hold hashes only.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use casehub_model::SiteId;
use casehub_store::{Command, Request, Role, User};
use chrono::{TimeDelta, Utc};
use tonic::{Request as GrpcRequest, Response as GrpcResponse, Status};

use crate::auth::issue_token;
use crate::grpc_api::{Api, invalid, ts};
use crate::proto;
use crate::proto::auth_service_server::AuthService;
use crate::proto::user_service_server::UserService;

/// The client id of the nodes' own login records and token key (reserved:
/// clients may not use it, nor any id it begins).
pub const AUTH_CLIENT: &str = "casehub-auth";

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// The argon2 hash (PHC string) of `password`, with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut salt)
        .map_err(|_| "no randomness for the salt".to_string())?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches the argon2 `hash`.
pub fn password_matches(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Request ids of this node's own writes: from the clock at start, one more
/// each time, under a client id per node.
fn next_request_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let seed = Utc::now().timestamp_micros().max(1) as u64;
    let _ = NEXT.compare_exchange(0, seed, Ordering::Relaxed, Ordering::Relaxed);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn roles_of(field: &str, names: &[String]) -> Result<BTreeSet<Role>, Status> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            n.parse::<Role>()
                .map_err(|e| invalid(&format!("{field}[{i}]"), n, e))
        })
        .collect()
}

fn record(entry: &casehub_store::UserEntry) -> proto::UserRecord {
    let u = &entry.user;
    proto::UserRecord {
        name: u.name.clone(),
        roles: u.roles.iter().map(|r| r.name().to_string()).collect(),
        sites: u.sites.iter().map(|s| s.to_string()).collect(),
        disabled: u.disabled,
        has_password: u.password_hash.is_some(),
        locked_until: entry.locked_until.map(ts),
    }
}

impl Api {
    /// A write of the node's own (login records, the token key), as `actor`.
    async fn system_write(&self, actor: &str, command: Command) -> Result<(), Status> {
        let request = Request {
            client_id: format!("{AUTH_CLIENT}-node-{}", self.core.id),
            request_id: next_request_id(),
            actor: actor.to_string(),
            site: None,
            time: Utc::now(),
            command,
            trace: None,
        };
        let written = self
            .core
            .write(&request)
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?;
        self.core.view.wait_applied(written.log_index).await;
        Ok(())
    }
}

#[tonic::async_trait]
impl AuthService for Api {
    #[tracing::instrument(name = "casehub.v1.AuthService/Login", skip_all)]
    async fn login(
        &self,
        request: GrpcRequest<proto::LoginRequest>,
    ) -> Result<GrpcResponse<proto::LoginReply>, Status> {
        let r = request.into_inner();
        if r.user.trim().is_empty() {
            return Err(Status::invalid_argument("user: missing"));
        }
        let now = Utc::now();
        let refused = || Status::unauthenticated("unknown user or wrong password");
        // The applied state as it is now (shared, not copied).
        let applied = self.core.view.current();
        let Some(entry) = applied
            .state
            .users
            .users
            .get(&r.user)
            .filter(|e| !e.user.disabled)
        else {
            return Err(refused());
        };
        if entry.locked_at(now) {
            let until = entry
                .locked_until
                .map(|t| t.to_rfc3339())
                .unwrap_or_default();
            return Err(Status::unauthenticated(format!(
                "the account is locked until {until} after repeated failed logins"
            )));
        }
        let ok = entry
            .user
            .password_hash
            .as_deref()
            .is_some_and(|h| password_matches(h, &r.password));
        let actor = format!("node {}", self.core.id);
        self.system_write(
            &actor,
            Command::RecordLogin {
                name: r.user.clone(),
                succeeded: ok,
            },
        )
        .await?;
        if !ok {
            return Err(refused());
        }
        // The cluster's token key: the first one proposed is kept.
        let mut key = self.core.view.current().state.users.token_key.clone();
        if key.is_none() {
            let mut fresh = vec![0u8; 32];
            ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut fresh)
                .map_err(|_| Status::internal("no randomness for the token key"))?;
            self.system_write(&actor, Command::SetTokenKey { key: fresh })
                .await?;
            key = self.core.view.current().state.users.token_key.clone();
        }
        let key = key.ok_or_else(|| Status::unavailable("the token key is not set yet"))?;
        let minutes = i64::from(self.core.view.current().state.users.policy.token_minutes);
        let expires = now + TimeDelta::minutes(minutes);
        Ok(GrpcResponse::new(proto::LoginReply {
            token: issue_token(&key, &r.user, expires),
            expires_at: Some(ts(expires)),
            roles: entry
                .user
                .roles
                .iter()
                .map(|r| r.name().to_string())
                .collect(),
        }))
    }
}

#[tonic::async_trait]
impl UserService for Api {
    #[tracing::instrument(name = "casehub.v1.UserService/UpsertUser", skip_all)]
    async fn upsert_user(
        &self,
        request: GrpcRequest<proto::UpsertUserRequest>,
    ) -> Result<GrpcResponse<proto::WriteAck>, Status> {
        let r = request.into_inner();
        let u = r
            .user
            .ok_or_else(|| Status::invalid_argument("user: missing"))?;
        casehub_store::users::check_user_name(&u.name)
            .map_err(|e| invalid("user.name", &u.name, e))?;
        let roles = roles_of("user.roles", &u.roles)?;
        let sites = u
            .sites
            .iter()
            .enumerate()
            .map(|(i, s)| SiteId::new(s).map_err(|e| invalid(&format!("user.sites[{i}]"), s, e)))
            .collect::<Result<BTreeSet<_>, _>>()?;
        let password_hash = if r.password.is_empty() {
            // Keep the current password, if any.
            self.core
                .view
                .current()
                .state
                .users
                .users
                .get(&u.name)
                .and_then(|e| e.user.password_hash.clone())
        } else {
            if r.password.chars().count() < MIN_PASSWORD_CHARS {
                return Err(invalid(
                    "password",
                    "…",
                    format!("at least {MIN_PASSWORD_CHARS} characters"),
                ));
            }
            Some(hash_password(&r.password).map_err(Status::internal)?)
        };
        let user = User {
            name: u.name,
            roles,
            sites,
            password_hash,
            disabled: u.disabled,
        };
        let ack = self
            .write("UpsertUser", r.meta.as_ref(), 0, Command::UpsertUser(user))
            .await?;
        Ok(GrpcResponse::new(ack))
    }

    #[tracing::instrument(name = "casehub.v1.UserService/RemoveUser", skip_all)]
    async fn remove_user(
        &self,
        request: GrpcRequest<proto::RemoveUserRequest>,
    ) -> Result<GrpcResponse<proto::WriteAck>, Status> {
        let r = request.into_inner();
        if r.name.is_empty() {
            return Err(Status::invalid_argument("name: missing"));
        }
        let ack = self
            .write(
                "RemoveUser",
                r.meta.as_ref(),
                0,
                Command::RemoveUser { name: r.name },
            )
            .await?;
        Ok(GrpcResponse::new(ack))
    }

    #[tracing::instrument(name = "casehub.v1.UserService/GetSecurityPolicy", skip_all)]
    async fn get_security_policy(
        &self,
        _: GrpcRequest<proto::GetSecurityPolicyRequest>,
    ) -> Result<GrpcResponse<proto::SecurityPolicy>, Status> {
        let p = self.core.view.current().state.users.policy;
        Ok(GrpcResponse::new(proto::SecurityPolicy {
            lock_after_failures: p.lock_after_failures,
            lock_minutes: p.lock_minutes,
            token_minutes: p.token_minutes,
            requests_per_second: p.requests_per_second,
            request_burst: p.request_burst,
            particulars_retention_days: p.particulars_retention_days,
            archive_after_days: p.archive_after_days,
        }))
    }

    #[tracing::instrument(name = "casehub.v1.UserService/SetSecurityPolicy", skip_all)]
    async fn set_security_policy(
        &self,
        request: GrpcRequest<proto::SetSecurityPolicyRequest>,
    ) -> Result<GrpcResponse<proto::WriteAck>, Status> {
        let r = request.into_inner();
        let p = r
            .policy
            .ok_or_else(|| Status::invalid_argument("policy: missing"))?;
        let policy = casehub_store::SecurityPolicy {
            lock_after_failures: p.lock_after_failures,
            lock_minutes: p.lock_minutes,
            token_minutes: p.token_minutes,
            requests_per_second: p.requests_per_second,
            request_burst: p.request_burst,
            particulars_retention_days: p.particulars_retention_days,
            archive_after_days: match p.archive_after_days {
                0 => casehub_store::SecurityPolicy::default().archive_after_days,
                days => days,
            },
        };
        policy.check().map_err(|(field, reason)| {
            Status::invalid_argument(format!("policy.{field}: {reason}"))
        })?;
        let ack = self
            .write(
                "SetSecurityPolicy",
                r.meta.as_ref(),
                0,
                Command::SetSecurityPolicy(policy),
            )
            .await?;
        Ok(GrpcResponse::new(ack))
    }

    #[tracing::instrument(name = "casehub.v1.UserService/ListUsers", skip_all)]
    async fn list_users(
        &self,
        _: GrpcRequest<proto::ListUsersRequest>,
    ) -> Result<GrpcResponse<proto::ListUsersReply>, Status> {
        let applied = self.core.view.current();
        Ok(GrpcResponse::new(proto::ListUsersReply {
            users: applied.state.users.users.values().map(record).collect(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_a_salt_and_verify() {
        let a = hash_password("correct horse").unwrap();
        let b = hash_password("correct horse").unwrap();
        assert!(a.starts_with("$argon2"));
        assert_ne!(a, b, "a fresh salt each time");
        assert!(password_matches(&a, "correct horse"));
        assert!(!password_matches(&a, "wrong horse"));
        assert!(!password_matches("not a hash", "correct horse"));
    }
}
