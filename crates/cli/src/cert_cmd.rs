//! `casehub cert …`: the cluster CA, node certificates by node id and user
//! certificates (casehub_server::pki). Private keys are written readable by
//! their owner only; an existing file is never overwritten without --force.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use casehub_server::pki::{self, CertifiedPem};
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum CertCmd {
    /// Make a new cluster CA: DIR/ca.pem (give it to every node and client)
    /// and DIR/ca-key.pem (keep it offline).
    Ca(CaArgs),
    /// Make node N's certificate, signed by the CA: DIR/node-N.pem and
    /// DIR/node-N-key.pem. It names the node and the hosts it is reached at.
    Node(NodeCertArgs),
    /// Make a user's client certificate, signed by the CA:
    /// DIR/user-NAME.pem and DIR/user-NAME-key.pem.
    User(UserCertArgs),
}

#[derive(Args)]
pub struct Out {
    /// The directory to write to (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Overwrite existing files.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
pub struct CaArgs {
    #[command(flatten)]
    out: Out,
    /// The CA's name.
    #[arg(long, default_value = "casehub cluster CA")]
    name: String,
    /// Days of validity.
    #[arg(long, default_value_t = 3650)]
    days: u32,
}

/// The CA that signs: DIR/ca.pem and DIR/ca-key.pem.
#[derive(Args)]
pub struct Signer {
    /// The directory holding ca.pem and ca-key.pem.
    #[arg(long, value_name = "DIR")]
    ca_dir: PathBuf,
    /// Days of validity.
    #[arg(long, default_value_t = 397)]
    days: u32,
}

#[derive(Args)]
pub struct NodeCertArgs {
    #[command(flatten)]
    out: Out,
    #[command(flatten)]
    signer: Signer,
    /// The node's id in the cluster.
    #[arg(long)]
    id: u64,
    /// A host name or IP address clients and peers reach the node at
    /// (repeat it for several).
    #[arg(long = "host", value_name = "HOST")]
    hosts: Vec<String>,
}

#[derive(Args)]
pub struct UserCertArgs {
    #[command(flatten)]
    out: Out,
    #[command(flatten)]
    signer: Signer,
    /// The user name the certificate names (Unicode; the user must exist in
    /// the cluster to be let in).
    #[arg(long)]
    name: String,
}

pub fn run(cmd: CertCmd) -> Result<ExitCode> {
    match cmd {
        CertCmd::Ca(a) => {
            let ca = pki::new_ca(&a.name, a.days)?;
            write_pair(&a.out, "ca", &ca)?;
        }
        CertCmd::Node(a) => {
            let ca = read_ca(&a.signer.ca_dir)?;
            let cert = pki::node_cert(&ca, a.id, &a.hosts, a.signer.days)
                .with_context(|| format!("--id {} --host {:?}", a.id, a.hosts))?;
            write_pair(&a.out, &format!("node-{}", a.id), &cert)?;
        }
        CertCmd::User(a) => {
            if a.name.contains('/') || a.name.starts_with('.') {
                bail!(
                    "--name {:?}: a user name for a file may not contain '/' or start with '.'",
                    a.name
                );
            }
            let ca = read_ca(&a.signer.ca_dir)?;
            let cert = pki::user_cert(&ca, &a.name, a.signer.days)
                .with_context(|| format!("--name {:?}", a.name))?;
            write_pair(&a.out, &format!("user-{}", a.name), &cert)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read_ca(dir: &Path) -> Result<CertifiedPem> {
    let read = |name: &str| {
        let p = dir.join(name);
        std::fs::read_to_string(&p).with_context(|| {
            format!(
                "--ca-dir {}: cannot read {} (make a CA with `casehub cert ca --out DIR`)",
                dir.display(),
                p.display()
            )
        })
    };
    Ok(CertifiedPem {
        cert: read("ca.pem")?,
        key: read("ca-key.pem")?,
    })
}

/// Write STEM.pem and STEM-key.pem (mode 0600) into the output directory.
fn write_pair(out: &Out, stem: &str, pem: &CertifiedPem) -> Result<()> {
    std::fs::create_dir_all(&out.out)
        .with_context(|| format!("--out {}: cannot create it", out.out.display()))?;
    let cert = out.out.join(format!("{stem}.pem"));
    let key = out.out.join(format!("{stem}-key.pem"));
    for p in [&cert, &key] {
        if p.exists() && !out.force {
            bail!("{} exists: pass --force to overwrite it", p.display());
        }
    }
    write(&cert, &pem.cert, 0o644)?;
    write(&key, &pem.key, 0o600)?;
    println!("{}\n{}", cert.display(), key.display());
    Ok(())
}

/// Write `text` to `path` with `mode` (0600 for a private key).
pub(crate) fn write(path: &Path, text: &str, mode: u32) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::fs::PermissionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    // An existing file keeps its mode on open: set it.
    f.set_permissions(std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
