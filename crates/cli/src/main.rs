//! `casehub`: the command line. Thin: it reads files, calls the core crates and prints.

mod layout_cmd;
mod load;
mod plan_cmd;
mod region_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "casehub",
    version,
    about = "Scheduling and planning for police case-handling centers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check, summarise and convert region scenarios.
    #[command(subcommand)]
    Region(region_cmd::RegionCmd),
    /// Plan pending cases: where each goes, who escorts, which rooms, who questions.
    Plan(plan_cmd::PlanArgs),
    /// Place sub-centers with exact facility-location models.
    #[command(subcommand)]
    Layout(layout_cmd::LayoutCmd),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Region(cmd) => region_cmd::run(cmd),
        Command::Plan(args) => plan_cmd::run(args),
        Command::Layout(cmd) => layout_cmd::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
