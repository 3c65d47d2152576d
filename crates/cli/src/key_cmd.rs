//! `casehub key …`: the particulars key file (casehub_server::particulars).
//! Written readable by its owner only; keep it outside every data
//! directory, and the same on every node.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use casehub_server::particulars::{KeyRing, new_key_file};
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum KeyCmd {
    /// Make a new key file with one key.
    New(NewArgs),
    /// Put a new key first in a key file: it seals from the next reload
    /// (SIGHUP) on, and the keys after it still open what they sealed.
    Rotate(RotateArgs),
}

#[derive(Args)]
pub struct NewArgs {
    /// The key file to write.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// The key's id.
    #[arg(long, default_value = "k1")]
    id: String,
    /// Overwrite an existing file.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
pub struct RotateArgs {
    /// The key file to change.
    #[arg(long, value_name = "FILE")]
    file: PathBuf,
    /// The new key's id (not already in the file).
    #[arg(long)]
    id: String,
}

pub fn run(cmd: KeyCmd) -> Result<ExitCode> {
    match cmd {
        KeyCmd::New(a) => {
            if a.out.exists() && !a.force {
                bail!("{} exists (--force to overwrite)", a.out.display());
            }
            let text = new_key_file(&a.id).map_err(anyhow::Error::msg)?;
            crate::cert_cmd::write(&a.out, &text, 0o600)?;
            println!("wrote {} (key {})", a.out.display(), a.id);
        }
        KeyCmd::Rotate(a) => {
            let old = std::fs::read_to_string(&a.file)
                .with_context(|| format!("cannot read {}", a.file.display()))?;
            let ring = KeyRing::parse(&old, &a.file)?;
            if ring.ids().any(|id| id == a.id) {
                bail!(
                    "--id {:?}: {} already holds a key of that id",
                    a.id,
                    a.file.display()
                );
            }
            let new = new_key_file(&a.id).map_err(anyhow::Error::msg)?;
            let body: String = old
                .lines()
                .filter(|l| !l.starts_with("# casehub particulars key file"))
                .map(|l| format!("{l}\n"))
                .collect();
            let text = format!("{new}{body}");
            KeyRing::parse(&text, &a.file)?;
            // A node reloading meanwhile reads the old file or the new one.
            let tmp = a.file.with_extension("rotating");
            crate::cert_cmd::write(&tmp, &text, 0o600)?;
            std::fs::rename(&tmp, &a.file)
                .with_context(|| format!("cannot replace {}", a.file.display()))?;
            let ids: Vec<&str> = ring.ids().collect();
            println!(
                "{}: key {} seals from the next reload (SIGHUP) on; {} still open",
                a.file.display(),
                a.id,
                ids.join(", ")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
