//! The outside programs and files the tests use: `scripts/setup.sh` installs
//! every one's package, and a missing one fails naming its package.

mod common;

use common::prereq::{self, Need, Prereq};

/// The packages in `scripts/setup.sh`'s `packages=( … )` list.
fn setup_packages() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/setup.sh");
    let text = std::fs::read_to_string(path).unwrap();
    let start = text.find("packages=(").expect("setup.sh has packages=(");
    let body = &text[start + "packages=(".len()..];
    let end = body.find("\n)").expect("packages=( … ) is closed");
    body[..end]
        .lines()
        .flat_map(|l| l.split('#').next().unwrap().split_whitespace())
        .map(str::to_string)
        .collect()
}

#[test]
fn setup_installs_the_package_of_every_prerequisite() {
    let packages = setup_packages();
    assert!(packages.len() > 5, "{packages:?}");
    for p in prereq::ALL {
        assert!(
            packages.iter().any(|q| q == p.package),
            "scripts/setup.sh does not install `{}`, which brings {:?}",
            p.package,
            p.need
        );
    }
}

#[test]
fn setup_names_what_a_recommendation_would_have_brought() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/setup.sh"
    ))
    .unwrap();
    assert!(text.contains("--no-install-recommends"));
    // protobuf-compiler only recommends the well-known types.
    assert!(setup_packages().iter().any(|p| p == "libprotobuf-dev"));
}

#[test]
fn a_missing_prerequisite_fails_naming_its_package() {
    for need in [
        Need::Program("casehub-no-such-program"),
        Need::Program("/nonexistent/casehub-no-such-program"),
        Need::File("/nonexistent/casehub/no-such-file.proto"),
        Need::PythonModule("casehub_no_such_module"),
    ] {
        let p = Prereq {
            need,
            package: "casehub-some-package",
        };
        let err = p.check().unwrap_err();
        assert!(err.contains("`casehub-some-package`"), "{err}");
        assert!(err.contains("scripts/setup.sh"), "{err}");
        assert!(
            err.contains("casehub_no_such_module") || err.contains("no-such"),
            "{err}"
        );
    }
}

#[test]
fn a_present_prerequisite_passes() {
    Prereq {
        need: Need::Program("sh"),
        package: "dash",
    }
    .check()
    .unwrap();
    Prereq {
        need: Need::File(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")),
        package: "none",
    }
    .check()
    .unwrap();
}

#[test]
fn every_prerequisite_is_installed_here() {
    // What setup.sh installed is really there (test.sh runs setup.sh first).
    prereq::require_all(prereq::ALL);
}
