//! `casehub plan …`

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};

use casehub_model::scenario::from_json;
use casehub_planning::{DispatchInput, Method, Plan, Settings, State, generate, validate};

use crate::load;

#[derive(Clone, Copy, ValueEnum)]
pub enum MethodArg {
    Milp,
    Greedy,
}

#[derive(Args)]
pub struct PlanArgs {
    /// The region scenario.
    #[arg(long)]
    region: PathBuf,
    /// Pending cases and existing bookings (JSON, see docs/plan-format.md).
    #[arg(long, conflicts_with = "generate")]
    cases: Option<PathBuf>,
    /// Instead of --cases, generate this many cases from the region's caseload.
    #[arg(long)]
    generate: Option<usize>,
    /// Seed for --generate.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// For --generate: clocks start up to this many hours before now.
    #[arg(long, default_value_t = 2.0)]
    past_h: f64,
    /// For --generate: clocks start up to this many hours after now (scheduled summons).
    #[arg(long, default_value_t = 0.0)]
    future_h: f64,
    /// Plan as of this moment (RFC 3339); default: the cases file's `now`, or the current time.
    #[arg(long)]
    now: Option<DateTime<Utc>>,
    #[arg(long, value_enum, default_value = "milp")]
    method: MethodArg,
    /// MILP time limit in seconds.
    #[arg(long, default_value_t = 10.0)]
    time_limit: f64,
    /// MILP relative gap at which to stop.
    #[arg(long, default_value_t = 0.01)]
    gap: f64,
    /// Print the plan as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(a: PlanArgs) -> Result<ExitCode> {
    let region = load::region(&a.region, None)?;
    if !(a.time_limit.is_finite() && a.time_limit > 0.0) {
        bail!(
            "invalid --time-limit {}: must be a positive number of seconds",
            a.time_limit
        );
    }
    let mut input = match (&a.cases, a.generate) {
        (Some(p), _) => from_json::<DispatchInput>(&p.display().to_string(), &load::read(p)?)
            .map_err(|e| anyhow!("{e}"))?,
        (None, Some(n)) => {
            let now = a.now.unwrap_or_else(Utc::now);
            DispatchInput {
                now: Some(now),
                cases: generate::pending_cases(
                    &region,
                    now,
                    n,
                    hours_to_min("--past-h", a.past_h)?,
                    hours_to_min("--future-h", a.future_h)?,
                    a.seed,
                ),
                ..Default::default()
            }
        }
        (None, None) => bail!("give --cases FILE or --generate N"),
    };
    let now = a.now.or(input.now).unwrap_or_else(Utc::now);
    input.now = Some(now);
    let model = load::travel_model(&region, &a.region)?;
    let travel = load::full_table(&region, model.as_ref())?;
    let state = State {
        region,
        travel,
        now,
        room_bookings: input.room_bookings,
        room_closures: input.room_closures,
        officer_commitments: input.officer_commitments,
        team_commitments: input.team_commitments,
        pending: input.cases,
    };
    let settings = Settings {
        method: match a.method {
            MethodArg::Milp => Method::Milp,
            MethodArg::Greedy => Method::Greedy,
        },
        time_limit: Duration::from_secs_f64(a.time_limit),
        mip_rel_gap: a.gap,
        ..Settings::default()
    };
    let plan = casehub_planning::plan(&state, &settings)?;
    let violations = validate(&state, &plan);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
    } else {
        print_plan(&state, &plan);
    }
    if !violations.is_empty() {
        eprintln!(
            "the plan breaks {} rules (this is a bug; please report it):",
            violations.len()
        );
        for v in &violations {
            eprintln!("  {}: {}", v.rule, v.detail);
        }
        return Ok(ExitCode::from(3));
    }
    Ok(ExitCode::SUCCESS)
}

fn hours_to_min(flag: &str, h: f64) -> Result<i64> {
    if !(h.is_finite() && (0.0..=168.0).contains(&h)) {
        bail!("invalid {flag} {h}: must be 0 to 168 hours");
    }
    Ok((h * 60.0).round() as i64)
}

/// Local `HH:MM`, with `+N` when it falls N days after `day0`.
fn hm(t: DateTime<Utc>, offset_min: i32, day0: DateTime<Utc>) -> String {
    let off = chrono::Duration::minutes(i64::from(offset_min));
    let (local, base) = ((t + off).date_naive(), (day0 + off).date_naive());
    let days = (local - base).num_days();
    let time = (t + off).format("%H:%M").to_string();
    if days == 0 {
        time
    } else {
        format!("{time}{days:+}")
    }
}

fn print_plan(state: &State, plan: &Plan) {
    let off = state.region.info.utc_offset_min;
    println!(
        "{} cases planned, {} blocked; objective {:.1}; {} {} in {:.2} s{}",
        plan.cases.len(),
        plan.blocked.len(),
        plan.objective,
        plan.solver.method,
        plan.solver.status,
        plan.solver.seconds,
        plan.solver
            .gap
            .map(|g| format!(", gap {:.2}%", g * 100.0))
            .unwrap_or_default()
    );
    println!("times are local (UTC{:+}); +1 marks the next day", off / 60);
    println!(
        "{:<6} {:<8} {:<8} {:<22} {:>6} {:>6} {:>8} {:>6} {:>7}  persons: questioning room and officers",
        "case", "station", "site", "escort", "depart", "arrive", "deadl.", "slack", "cost"
    );
    for c in &plan.cases {
        let case = &state
            .pending
            .iter()
            .find(|p| p.case.id == c.case)
            .expect("planned cases are pending")
            .case;
        let teams = c.escort.teams();
        let escort = match teams.first() {
            Some(_) => format!(
                "team {}",
                teams
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join("+")
            ),
            None => format!(
                "station {}",
                c.escort
                    .officers
                    .iter()
                    .map(|o| o.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        };
        let persons: Vec<String> = c
            .persons
            .iter()
            .map(|p| {
                let q = p.steps.last().expect("questioning");
                format!(
                    "{} {} {}-{} by {}",
                    p.person,
                    q.room,
                    hm(q.start, off, plan.now),
                    hm(q.end, off, plan.now),
                    p.questioning_officers
                        .iter()
                        .map(|o| o.as_str())
                        .collect::<Vec<_>>()
                        .join("+")
                )
            })
            .collect();
        println!(
            "{:<6} {:<8} {:<8} {:<22} {:>6} {:>6} {:>8} {:>6} {:>7.1}  {}",
            c.case.as_str(),
            case.origin.as_str(),
            c.site.as_str(),
            escort,
            hm(c.escort.depart, off, plan.now),
            hm(c.escort.arrive, off, plan.now),
            hm(c.deadline, off, plan.now),
            c.slack_min,
            c.cost.total,
            persons.join("; ")
        );
        if let Some(why) = &c.deferred {
            println!(
                "       deferred: leaves at {} at the earliest, because sooner {why}; legal deadline {}",
                hm(c.escort.depart, off, plan.now),
                hm(c.deadline, off, plan.now)
            );
        }
        if let Some(e) = &c.explanation {
            let by = match e.alternative_escort {
                Some(casehub_planning::EscortMode::Team) => "an escort team",
                _ => "station officers",
            };
            println!(
                "       why not {} by {by}: {:+.1} cost ({})",
                e.alternative_site.as_ref().map_or("-", |s| s.as_str()),
                e.extra_cost,
                e.reasons.join(", ")
            );
        }
    }
    for b in &plan.blocked {
        println!("BLOCKED {} by rule {}: {}", b.case, b.rule, b.detail);
    }
}
