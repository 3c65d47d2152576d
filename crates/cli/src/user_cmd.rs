//! `casehub user …`: users, their roles and site scopes.
//!
//! Over the API (`UserService`, an admin's credentials), or, with `--peer`,
//! straight into the replicated store through a node's peer port with that
//! node's certificate: the way to make the first admin of a new cluster.

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use casehub_server::proto::user_service_client::UserServiceClient;
use casehub_server::proto::{self as pb};
use casehub_store::{Command, Request, Role, User};
use chrono::Utc;
use clap::{Args, Subcommand};

use crate::client_cmd::{Author, Conn, channel, runtime, status};

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    /// Add a user, or change one (roles, sites, password, disabled).
    Add(AddArgs),
    /// The users, their roles, sites and locks.
    List {
        #[command(flatten)]
        conn: Conn,
    },
    /// The security policy; with any of its flags, change those fields.
    Policy(PolicyArgs),
    /// Remove a user.
    Remove {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        author: Author,
        #[arg(long)]
        name: String,
    },
}

#[derive(Args, Debug)]
pub struct PolicyArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(flatten)]
    author: Author,
    /// Failed logins in a row that lock an account.
    #[arg(long)]
    lock_after_failures: Option<u32>,
    /// Minutes a locked account stays locked (1 to 1440).
    #[arg(long)]
    lock_minutes: Option<u32>,
    /// Minutes a login token lasts (1 to 1440).
    #[arg(long)]
    token_minutes: Option<u32>,
    /// Calls per second one user may make to one node.
    #[arg(long)]
    requests_per_second: Option<u32>,
    /// Calls one user may make to one node in a burst.
    #[arg(long)]
    request_burst: Option<u32>,
    /// Days after a case exits until its persons' particulars are purged
    /// (0 to 3650).
    #[arg(long)]
    particulars_retention_days: Option<u32>,
    /// Days after which audit entries and exited cases leave the live
    /// replicated state for each node's archive (1 to 3650, at least the
    /// particulars' retention).
    #[arg(long)]
    archive_after_days: Option<u32>,
}

#[derive(Args, Debug)]
pub struct AddArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(flatten)]
    author: Author,
    /// The user name (Unicode; a user certificate names it).
    #[arg(long)]
    name: String,
    /// A role: dispatcher, site, planner, supervisor or admin (repeat it).
    #[arg(long = "role", value_name = "ROLE")]
    roles: Vec<String>,
    /// A site a dispatcher or site user acts for (repeat it).
    #[arg(long = "scope", value_name = "SITE")]
    sites: Vec<String>,
    /// Read a password from standard input (its first line).
    #[arg(long)]
    password_stdin: bool,
    /// The user may not log in.
    #[arg(long)]
    disabled: bool,
    /// Write through the node's peer port with a node certificate (--addr
    /// is the peer address, --cert/--key the node's): for the first admin.
    #[arg(long)]
    peer: bool,
}

fn read_password() -> Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("--password-stdin: cannot read standard input")?;
    let line = text.lines().next().unwrap_or("").to_string();
    if line.chars().count() < casehub_server::grpc_users::MIN_PASSWORD_CHARS {
        bail!(
            "--password-stdin: a password has at least {} characters",
            casehub_server::grpc_users::MIN_PASSWORD_CHARS
        );
    }
    Ok(line)
}

pub fn run(cmd: UserCmd) -> Result<ExitCode> {
    runtime()?.block_on(async {
        match cmd {
            UserCmd::Add(a) => add(a).await?,
            UserCmd::List { conn } => {
                let mut c = UserServiceClient::new(channel(&conn).await?);
                let list = c
                    .list_users(pb::ListUsersRequest {})
                    .await
                    .map_err(status)?
                    .into_inner();
                for u in list.users {
                    println!(
                        "{}\troles {}\tsites {}{}{}",
                        u.name,
                        if u.roles.is_empty() {
                            "-".into()
                        } else {
                            u.roles.join(",")
                        },
                        if u.sites.is_empty() {
                            "-".into()
                        } else {
                            u.sites.join(",")
                        },
                        if u.has_password { "\tpassword" } else { "" },
                        if u.disabled { "\tdisabled" } else { "" },
                    );
                }
            }
            UserCmd::Policy(a) => policy(a).await?,
            UserCmd::Remove { conn, author, name } => {
                let mut c = UserServiceClient::new(channel(&conn).await?);
                let ack = c
                    .remove_user(pb::RemoveUserRequest {
                        meta: author.meta(),
                        name: name.clone(),
                    })
                    .await
                    .map_err(status)?
                    .into_inner();
                println!("removed {name} at log index {}", ack.log_index);
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

async fn policy(a: PolicyArgs) -> Result<()> {
    let mut c = UserServiceClient::new(channel(&a.conn).await?);
    let mut p = c
        .get_security_policy(pb::GetSecurityPolicyRequest {})
        .await
        .map_err(status)?
        .into_inner();
    let changes = [
        (a.lock_after_failures, &mut p.lock_after_failures),
        (a.lock_minutes, &mut p.lock_minutes),
        (a.token_minutes, &mut p.token_minutes),
        (a.requests_per_second, &mut p.requests_per_second),
        (a.request_burst, &mut p.request_burst),
        (
            a.particulars_retention_days,
            &mut p.particulars_retention_days,
        ),
        (a.archive_after_days, &mut p.archive_after_days),
    ];
    let mut changed = false;
    for (new, field) in changes {
        if let Some(v) = new {
            *field = v;
            changed = true;
        }
    }
    if changed {
        let ack = c
            .set_security_policy(pb::SetSecurityPolicyRequest {
                meta: a.author.meta(),
                policy: Some(p),
            })
            .await
            .map_err(status)?
            .into_inner();
        println!("security policy set at log index {}", ack.log_index);
    }
    println!(
        "lock after {} failed logins for {} min; tokens last {} min; {} calls/s per user (bursts of {}); particulars kept {} days after exit; archived after {} days",
        p.lock_after_failures,
        p.lock_minutes,
        p.token_minutes,
        p.requests_per_second,
        p.request_burst,
        p.particulars_retention_days,
        p.archive_after_days
    );
    Ok(())
}

async fn add(a: AddArgs) -> Result<()> {
    for (i, r) in a.roles.iter().enumerate() {
        r.parse::<Role>()
            .map_err(|e| anyhow::anyhow!("--role {r:?} (the {}th): {e}", i + 1))?;
    }
    let password = if a.password_stdin {
        read_password()?
    } else {
        String::new()
    };
    if !a.peer {
        let mut c = UserServiceClient::new(channel(&a.conn).await?);
        let ack = c
            .upsert_user(pb::UpsertUserRequest {
                meta: a.author.meta(),
                user: Some(pb::UserRecord {
                    name: a.name.clone(),
                    roles: a.roles.clone(),
                    sites: a.sites.clone(),
                    disabled: a.disabled,
                    ..Default::default()
                }),
                password,
            })
            .await
            .map_err(status)?
            .into_inner();
        println!("user {} written at log index {}", a.name, ack.log_index);
        return Ok(());
    }
    // Through the peer port: the store's own command, hashed here.
    casehub_store::users::check_user_name(&a.name)
        .map_err(|e| anyhow::anyhow!("--name {:?}: {e}", a.name))?;
    let sites = a
        .sites
        .iter()
        .map(|s| casehub_model::SiteId::new(s).map_err(|e| anyhow::anyhow!("--scope {s:?}: {e}")))
        .collect::<Result<_>>()?;
    let user = User {
        name: a.name.clone(),
        roles: a
            .roles
            .iter()
            .map(|r| r.parse::<Role>().expect("checked"))
            .collect(),
        sites,
        password_hash: if password.is_empty() {
            None
        } else {
            Some(casehub_server::grpc_users::hash_password(&password).map_err(anyhow::Error::msg)?)
        },
        disabled: a.disabled,
    };
    let (Some(ca), Some(cert), Some(key)) = (&a.conn.ca, &a.conn.cert, &a.conn.key) else {
        bail!("--peer needs --ca and the node's --cert and --key");
    };
    let read = |flag: &str, p: &std::path::PathBuf| {
        std::fs::read_to_string(p)
            .with_context(|| format!("{flag} {}: cannot read it", p.display()))
    };
    let tls = casehub_server::tls::client_config(
        &read("--ca", ca)?,
        Some(&casehub_server::pki::CertifiedPem {
            cert: read("--cert", cert)?,
            key: read("--key", key)?,
        }),
        None,
    );
    let client = casehub_server::client::Client::connect_any_tls([&a.conn.addr], tls)
        .map_err(|e| anyhow::anyhow!("--addr {:?}: {e}", a.conn.addr))?;
    let meta = a.author.meta().expect("meta");
    let request = Request {
        client_id: meta.client_id,
        request_id: meta.request_id,
        actor: "casehub user add --peer".into(),
        site: None,
        time: Utc::now(),
        command: Command::UpsertUser(user),
        trace: None,
    };
    let written = client
        .write(&request)
        .await
        .with_context(|| format!("writing user {} through {}", a.name, a.conn.addr))?;
    if let casehub_store::Response::Rejected { reason, .. } = &written.response {
        bail!("user {}: {reason}", a.name);
    }
    println!("user {} written at log index {}", a.name, written.log_index);
    Ok(())
}
