//! `casehub`: the command line. Thin: it reads files, calls the core crates and prints.

mod cert_cmd;
mod client_cmd;
mod demo_cmd;
mod key_cmd;
mod layout_cmd;
mod load;
mod node_cmd;
mod plan_cmd;
mod region_cmd;
mod resource_cmd;
mod sim_cmd;
mod user_cmd;

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
    /// Simulate layouts over months of arrivals and write the planner's report.
    #[command(subcommand)]
    Sim(sim_cmd::SimCmd),
    /// Run a site's node of the replicated store (see docs/node-config.md).
    Node(node_cmd::NodeArgs),
    /// The cluster a node belongs to: status, and loading a region.
    #[command(subcommand)]
    Cluster(client_cmd::ClusterCmd),
    /// What rooms, officers and escort teams are free, from a node.
    Availability(client_cmd::AvailabilityArgs),
    /// Officers and escort teams away (leave, sickness, training, court,
    /// duty, maintenance), and resources taken out of service and back.
    #[command(subcommand)]
    Resource(resource_cmd::ResourceCmd),
    /// Submit a case to the cluster and print the proposed plan.
    Submit(client_cmd::SubmitArgs),
    /// Accept (commit) a proposed plan, as proposed or edited.
    Accept(client_cmd::AcceptArgs),
    /// Report an escort running late: the plan slips, and the plans it
    /// breaks are returned to re-planning.
    Delay(client_cmd::DelayArgs),
    /// The cases (or one, --case) with their persons: names to the roles
    /// that need them, pseudonyms to the others.
    Cases(client_cmd::CasesArgs),
    /// The alerts standing now, or (--follow) as they arise.
    Alerts(client_cmd::AlertsArgs),
    /// The audit trail, or (--follow) each entry as it is applied.
    Audit(client_cmd::AuditArgs),
    /// Make the cluster CA, node certificates and user certificates.
    #[command(subcommand)]
    Cert(cert_cmd::CertCmd),
    /// The key file that seals the persons' particulars.
    #[command(subcommand)]
    Key(key_cmd::KeyCmd),
    /// Users, their roles and site scopes.
    #[command(subcommand)]
    User(user_cmd::UserCmd),
    /// A local 3-node cluster with a region, replaying simulated cases
    /// through the API; plans and alerts printed as they come.
    Demo(demo_cmd::DemoArgs),
}

// mimalloc: the node allocates and frees many small buffers per request
// (gRPC frames, JSON, log entries); measured in BENCHMARKS.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Region(cmd) => region_cmd::run(cmd),
        Command::Plan(args) => plan_cmd::run(args),
        Command::Layout(cmd) => layout_cmd::run(cmd),
        Command::Sim(cmd) => sim_cmd::run(cmd),
        Command::Node(args) => node_cmd::run_node(args),
        Command::Cluster(cmd) => client_cmd::run_cluster(cmd),
        Command::Availability(args) => client_cmd::run_availability(args),
        Command::Resource(cmd) => resource_cmd::run(cmd),
        Command::Submit(args) => client_cmd::run_submit(args),
        Command::Accept(args) => client_cmd::run_accept(args),
        Command::Delay(args) => client_cmd::run_delay(args),
        Command::Cases(args) => client_cmd::run_cases(args),
        Command::Alerts(args) => client_cmd::run_alerts(args),
        Command::Audit(args) => client_cmd::run_audit(args),
        Command::Cert(cmd) => cert_cmd::run(cmd),
        Command::User(cmd) => user_cmd::run(cmd),
        Command::Key(cmd) => key_cmd::run(cmd),
        Command::Demo(args) => demo_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_subcommand_has_consistent_flags() {
        // clap's own checks (unique long flags, valid requirements) for every
        // subcommand, which otherwise run only when that subcommand is used.
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
