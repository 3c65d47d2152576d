//! Users, their roles and site scopes, their login failures, and the
//! security policy: replicated like every other part of the state, so that
//! every node authenticates and authorizes alike (rules version 3).
//!
//! Passwords arrive here already hashed (argon2, by the node that took the
//! request): the state machine never sees a password.

use std::collections::{BTreeMap, BTreeSet};

use casehub_model::SiteId;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::state::{Response, SchedulingState, invalid};

/// What a user may do, by role (the permissions of each are the node's
/// authorization table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Plans and runs cases at the sites in scope: submit, accept,
    /// override, steps, exit, delays.
    Dispatcher,
    /// A station's or site's staff: availability, watch, and submitting the
    /// cases of its own stations.
    Site,
    /// The region and simulations; sees no personal data.
    Planner,
    /// Reads everything, the audit and alerts included.
    Supervisor,
    /// Users, region, policy and membership.
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Dispatcher,
        Role::Site,
        Role::Planner,
        Role::Supervisor,
        Role::Admin,
    ];

    /// The role's name in files, flags and the API.
    pub fn name(self) -> &'static str {
        match self {
            Role::Dispatcher => "dispatcher",
            Role::Site => "site",
            Role::Planner => "planner",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    /// Whether the role acts only for the sites in a user's scope.
    pub fn site_scoped(self) -> bool {
        matches!(self, Role::Dispatcher | Role::Site)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Role::ALL.iter().map(|r| r.name()).collect();
                format!("{s:?} is not a role (one of {})", names.join(", "))
            })
    }
}

/// A user as an admin defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The login name; a user certificate names it as its common name.
    /// Unicode, 1 to 64 characters, no control characters.
    pub name: String,
    pub roles: BTreeSet<Role>,
    /// The sites a site-scoped role (dispatcher, site) acts for.
    #[serde(default)]
    pub sites: BTreeSet<SiteId>,
    /// The argon2 hash of the password (PHC string), or none: then the user
    /// logs in with a certificate only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    /// A disabled user is refused everywhere.
    #[serde(default)]
    pub disabled: bool,
}

/// The longest user name, in characters.
pub const MAX_USER_NAME_CHARS: usize = 64;

/// A user as the state keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserEntry {
    pub version: u64,
    pub user: User,
    /// Failed logins since the last success or lock.
    #[serde(default)]
    pub failed_logins: u32,
    /// Locked out until then (after too many failed logins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<DateTime<Utc>>,
}

impl UserEntry {
    /// Whether the user may not log in at `now`.
    pub fn locked_at(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|t| now < t)
    }
}

/// The security settings of the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityPolicy {
    /// Failed logins in a row that lock an account (at least 1).
    pub lock_after_failures: u32,
    /// How long a locked account stays locked, in minutes (1 to 1440).
    pub lock_minutes: u32,
    /// How long a login token lasts, in minutes (1 to 1440).
    pub token_minutes: u32,
    /// Calls one user may make to one node per second, on average (at
    /// least 1).
    #[serde(default = "default_requests_per_second")]
    pub requests_per_second: u32,
    /// Calls one user may make to one node in a burst (at least 1).
    #[serde(default = "default_request_burst")]
    pub request_burst: u32,
    /// Days after a case exits until its persons' particulars are purged
    /// from the live state (0: at the next check after the exit; at most
    /// [`MAX_RETENTION_DAYS`]).
    #[serde(default = "default_particulars_retention_days")]
    pub particulars_retention_days: u32,
    /// Days after which audit entries, and cases that exited, leave the
    /// live replicated state for each node's archive (see
    /// [`crate::archive`]; at least 1 and at least
    /// `particulars_retention_days`, at most [`MAX_RETENTION_DAYS`]).
    #[serde(default = "default_archive_after_days")]
    pub archive_after_days: u32,
}

impl SecurityPolicy {
    /// Check every field: the first one out of bounds, with why.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.lock_after_failures == 0 {
            return Err(("lock_after_failures", "at least 1".into()));
        }
        if self.requests_per_second == 0 || self.request_burst == 0 {
            return Err((
                "requests_per_second",
                "the request rate and burst are at least 1".into(),
            ));
        }
        for (field, v) in [
            ("lock_minutes", self.lock_minutes),
            ("token_minutes", self.token_minutes),
        ] {
            if !(1..=1440).contains(&v) {
                return Err((field, format!("{v}: from 1 to 1440")));
            }
        }
        if self.particulars_retention_days > MAX_RETENTION_DAYS {
            return Err((
                "particulars_retention_days",
                format!(
                    "{}: at most {MAX_RETENTION_DAYS}",
                    self.particulars_retention_days
                ),
            ));
        }
        if self.archive_after_days == 0 || self.archive_after_days > MAX_RETENTION_DAYS {
            return Err((
                "archive_after_days",
                format!(
                    "{}: from 1 to {MAX_RETENTION_DAYS}",
                    self.archive_after_days
                ),
            ));
        }
        if self.archive_after_days < self.particulars_retention_days {
            return Err((
                "archive_after_days",
                format!(
                    "{}: at least particulars_retention_days ({}), since the archive holds no particulars",
                    self.archive_after_days, self.particulars_retention_days
                ),
            ));
        }
        Ok(())
    }
}

/// The longest retention of particulars, in days (ten years).
pub const MAX_RETENTION_DAYS: u32 = 3650;

fn default_particulars_retention_days() -> u32 {
    30
}

fn default_archive_after_days() -> u32 {
    90
}

fn default_requests_per_second() -> u32 {
    100
}

fn default_request_burst() -> u32 {
    200
}

impl Default for SecurityPolicy {
    fn default() -> Self {
        SecurityPolicy {
            lock_after_failures: 5,
            lock_minutes: 15,
            token_minutes: 480,
            requests_per_second: default_requests_per_second(),
            request_burst: default_request_burst(),
            particulars_retention_days: default_particulars_retention_days(),
            archive_after_days: default_archive_after_days(),
        }
    }
}

/// The users and the security policy in the replicated state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Users {
    #[serde(default)]
    pub users: BTreeMap<String, UserEntry>,
    #[serde(default)]
    pub policy: SecurityPolicy,
    /// The key the nodes sign login tokens with (HMAC-SHA256), set once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_key: Option<Vec<u8>>,
}

/// Check a user name.
pub fn check_user_name(name: &str) -> Result<(), String> {
    let n = name.chars().count();
    if name.trim().is_empty() || n > MAX_USER_NAME_CHARS {
        return Err(format!(
            "a user name has 1 to {MAX_USER_NAME_CHARS} characters and is not blank"
        ));
    }
    if name.chars().any(char::is_control) || name.trim() != name {
        return Err(
            "a user name has no control characters and no leading or trailing space".into(),
        );
    }
    Ok(())
}

impl SchedulingState {
    pub(crate) fn upsert_user(&mut self, user: &User) -> Result<(), Response> {
        check_user_name(&user.name).map_err(|e| invalid("user.name", e))?;
        for s in &user.sites {
            if !self.sites.contains_key(s) {
                return Err(invalid("user.sites", format!("site {s} is unknown")));
            }
        }
        if user
            .password_hash
            .as_ref()
            .is_some_and(|h| !h.starts_with("$argon2"))
        {
            return Err(invalid("user.password_hash", "not an argon2 hash"));
        }
        let entry = self
            .users
            .users
            .entry(user.name.clone())
            .or_insert_with(|| UserEntry {
                version: 0,
                user: user.clone(),
                failed_logins: 0,
                locked_until: None,
            });
        entry.version += 1;
        entry.user = user.clone();
        Ok(())
    }

    pub(crate) fn remove_user(&mut self, name: &str) -> Result<(), Response> {
        if self.users.users.remove(name).is_none() {
            return Err(invalid("name", format!("no user {name:?}")));
        }
        Ok(())
    }

    /// A login attempt's outcome: a success clears the failures, a failure
    /// counts, and the policy's number of failures in a row locks the
    /// account from `now` for the policy's minutes.
    pub(crate) fn record_login(
        &mut self,
        name: &str,
        succeeded: bool,
        now: DateTime<Utc>,
    ) -> Result<(), Response> {
        let policy = self.users.policy;
        let Some(entry) = self.users.users.get_mut(name) else {
            return Err(invalid("name", format!("no user {name:?}")));
        };
        if succeeded {
            entry.failed_logins = 0;
            entry.locked_until = None;
        } else {
            entry.failed_logins += 1;
            if entry.failed_logins >= policy.lock_after_failures {
                entry.failed_logins = 0;
                entry.locked_until = Some(now + TimeDelta::minutes(i64::from(policy.lock_minutes)));
            }
        }
        Ok(())
    }

    pub(crate) fn set_security_policy(&mut self, p: &SecurityPolicy) -> Result<(), Response> {
        p.check()
            .map_err(|(field, reason)| invalid(field, reason))?;
        self.users.policy = *p;
        Ok(())
    }

    /// Set the token key once; a later key changes nothing (every node
    /// proposes one the first time it needs it, and the first wins).
    pub(crate) fn set_token_key(&mut self, key: &[u8]) -> Result<(), Response> {
        if key.len() < 32 {
            return Err(invalid("key", "at least 32 bytes"));
        }
        if self.users.token_key.is_none() {
            self.users.token_key = Some(key.to_vec());
        }
        Ok(())
    }
}
