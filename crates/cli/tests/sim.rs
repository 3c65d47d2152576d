//! `casehub sim …` and `casehub layout optimise` end to end, and the report
//! rendered in headless Chromium.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "../../server/tests/common/prereq.rs"]
mod prereq;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn casehub(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_casehub"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("casehub-sim-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const REGION: &str = "simulations/sample-county/region.toml";

#[test]
fn sim_run_prints_the_table_and_writes_every_output() {
    let dir = tmp("run");
    let out = casehub(&[
        "sim",
        "run",
        "--region",
        REGION,
        "--days",
        "2",
        "--replications",
        "2",
        "--seed",
        "4",
        "--quiet",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for want in [
        "Escort km driven (km)",
        "Legal-limit breaches",
        "Detention to questioning, p95",
        "site MC",
        "events/s",
    ] {
        assert!(stdout.contains(want), "{want} missing in\n{stdout}");
    }
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let r = &results[0];
    assert_eq!(r["layout"]["name"], "MC");
    assert_eq!(r["config"]["replications"], 2);
    assert!(r["kpis"]["cases"]["mean"].as_f64().unwrap() > 10.0);
    assert_eq!(r["replications"].as_array().unwrap().len(), 2);

    let csv = std::fs::read_to_string(dir.join("kpis.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("layout,policy,kpi,unit,mean,ci_low,ci_high,half_width,std_dev,replications")
    );
    assert!(
        csv.lines()
            .any(|l| l.starts_with("MC,greedy,escort_km,km,"))
    );
    assert!(
        csv.lines()
            .any(|l| l.starts_with("MC,greedy,site.MC.room_utilisation,"))
    );
    let reps = std::fs::read_to_string(dir.join("replications.csv")).unwrap();
    assert_eq!(reps.lines().count(), 3);

    let geo: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("layout.geojson")).unwrap())
            .unwrap();
    assert_eq!(geo["type"], "FeatureCollection");
    let features = geo["features"].as_array().unwrap();
    let kinds = |k: &str| {
        features
            .iter()
            .filter(|f| f["properties"]["kind"] == k)
            .count()
    };
    assert_eq!(kinds("site"), 1);
    assert_eq!(kinds("station"), 26);
    assert!(kinds("flow") > 5);

    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("id=\"map-0\""));
    // Self-contained: nothing fetched from elsewhere.
    for bad in ["<script", "http://", "https://", "<link", "@import", "url("] {
        let hits: Vec<_> = html
            .match_indices(bad)
            .filter(|(i, _)| !html[*i..].starts_with("http://www.w3.org/2000/svg"))
            .collect();
        assert!(hits.is_empty(), "report refers to {bad}");
    }
}

#[test]
fn sim_compare_runs_layouts_side_by_side() {
    let dir = tmp("compare");
    let out = casehub(&[
        "sim",
        "compare",
        "--region",
        REGION,
        "--layout",
        "as-is",
        "--layout",
        "MC,CAND-NE,CAND-SW",
        "--days",
        "2",
        "--replications",
        "2",
        "--quiet",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let header = stdout.lines().nth(1).unwrap();
    assert!(
        header.contains("MC") && header.contains("MC+CAND-NE+CAND-SW"),
        "{stdout}"
    );
    assert!(stdout.contains("site CAND-NE"), "{stdout}");
    assert!(dir.join("layout-MC_CAND-NE_CAND-SW.geojson").exists());
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(results.as_array().unwrap().len(), 2);
    // Same arrivals for both layouts.
    assert_eq!(
        results[0]["kpis"]["cases"]["mean"],
        results[1]["kpis"]["cases"]["mean"]
    );
    render_in_chromium(&dir.join("report.html"), 2);
}

#[test]
fn bad_flags_are_named() {
    for (args, want) in [
        (
            vec!["sim", "run", "--region", REGION, "--days", "0"],
            "--days 0",
        ),
        (
            vec!["sim", "run", "--region", REGION, "--replications", "0"],
            "--replications 0",
        ),
        (
            vec!["sim", "run", "--region", REGION, "--slot-min", "7"],
            "--slot-min 7",
        ),
        (
            vec!["sim", "run", "--region", REGION, "--layout", "MC,NOPE"],
            "NOPE",
        ),
        (
            vec!["sim", "compare", "--region", REGION, "--layout", "MC"],
            "at least 2",
        ),
        (
            vec![
                "sim",
                "run",
                "--region",
                REGION,
                "--policy",
                "milp",
                "--interval-min",
                "0",
            ],
            "--interval-min 0",
        ),
        (
            vec!["layout", "optimise", "--region", REGION, "--p", "9"],
            "--p 9",
        ),
        (
            vec!["sim", "run", "--region", "no/such.toml"],
            "no/such.toml",
        ),
    ] {
        let out = casehub(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(want),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn a_bad_template_is_named() {
    let dir = tmp("template");
    let t = dir.join("template.toml");
    std::fs::write(&t, "interrogation_rooms = 4\nteam_seats = 2\n").unwrap();
    let out = casehub(&[
        "sim",
        "run",
        "--region",
        REGION,
        "--layout",
        "MC,CAND-NE",
        "--template",
        t.to_str().unwrap(),
        "--days",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("template.toml") && err.contains("template.team_seats = 2"),
        "{err}"
    );
    std::fs::write(&t, "interogation_rooms = 4\n").unwrap();
    let out = casehub(&[
        "sim",
        "run",
        "--region",
        REGION,
        "--template",
        t.to_str().unwrap(),
        "--days",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("interogation_rooms"));
}

#[test]
fn layout_optimise_proposes_simulates_and_feeds_compare() {
    let dir = tmp("optimise");
    let layouts = dir.join("layouts.json");
    let out = casehub(&[
        "layout",
        "optimise",
        "--region",
        REGION,
        "--p",
        "1,2,3",
        "--radius",
        "60",
        "--best",
        "2",
        "--days",
        "1",
        "--replications",
        "1",
        "--quiet",
        "--out",
        layouts.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("p-median p=2"), "{stdout}");
    assert!(stdout.contains("cflp"), "{stdout}");
    assert!(stdout.contains("best 2"), "{stdout}");
    let list: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&layouts).unwrap()).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    for l in list {
        assert!(
            l["open"].as_array().unwrap().iter().any(|s| s == "MC"),
            "the main center is always open: {l}"
        );
    }
    let out = casehub(&[
        "sim",
        "compare",
        "--region",
        REGION,
        "--layouts-file",
        layouts.to_str().unwrap(),
        "--days",
        "1",
        "--replications",
        "1",
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// The chromium binary: `$CHROMIUM`, or `chromium` on PATH.
fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(p);
    }
    prereq::CHROMIUM.require();
    prereq::find_program("chromium").unwrap()
}

fn render_in_chromium(report: &Path, layouts: usize) {
    let browser = chromium();
    let url = format!("file://{}", report.canonicalize().unwrap().display());
    let profile = report.with_file_name("chromium-profile");
    let common = [
        "--headless".to_string(),
        "--no-sandbox".to_string(),
        "--disable-gpu".to_string(),
        "--no-first-run".to_string(),
        "--disable-extensions".to_string(),
        format!("--user-data-dir={}", profile.display()),
    ];
    let out = Command::new(&browser)
        .args(&common)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(out.status.success(), "chromium: {}", text(&out.stderr));
    let dom = text(&out.stdout);
    for k in 0..layouts {
        assert!(dom.contains(&format!("id=\"map-{k}\"")), "map {k} missing");
    }
    let maps = dom.matches("class=\"map\"").count();
    assert_eq!(maps, layouts);
    assert!(dom.matches("class=\"station\"").count() >= 26 * layouts);
    assert!(dom.matches("class=\"flow\"").count() > 5);
    let charts = dom.matches("class=\"chart\"").count();
    assert!(charts >= 10, "{charts} charts");
    assert!(dom.matches("class=\"bar\"").count() >= 10 * layouts);
    assert!(dom.contains("id=\"chart-escort_km\""));
    assert!(dom.contains("<table class=\"kpis\""));
    assert!(dom.contains("id=\"provenance\""));

    let shot = report.with_file_name("report.png");
    let out = Command::new(&browser)
        .args(&common)
        .arg("--hide-scrollbars")
        .arg("--window-size=1400,2000")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(out.status.success(), "chromium: {}", text(&out.stderr));
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    assert!(png.len() > 20_000, "a blank page? {} bytes", png.len());
}
