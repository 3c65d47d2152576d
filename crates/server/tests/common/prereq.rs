//! The outside programs and files the tests and benches use, each with the
//! Debian package that brings it. A test checks its prerequisites first, so a
//! missing one fails with the package to install, not with an error from deep
//! inside the tool. `scripts/setup.sh` installs every package named here
//! (checked by the `prerequisites` test).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// What a test needs from outside the project.
#[derive(Debug, Clone, Copy)]
pub enum Need {
    /// A program on PATH (or at this absolute path).
    Program(&'static str),
    /// A file at this absolute path.
    File(&'static str),
    /// A module that Debian's Python (`/usr/bin/python3`) can import.
    PythonModule(&'static str),
}

/// One prerequisite and the Debian package that brings it.
#[derive(Debug, Clone, Copy)]
pub struct Prereq {
    pub need: Need,
    pub package: &'static str,
}

pub const PYTHON: Prereq = Prereq {
    need: Need::Program("/usr/bin/python3"),
    package: "python3",
};
pub const PROTOC: Prereq = Prereq {
    need: Need::Program("protoc"),
    package: "protobuf-compiler",
};
/// The well-known types (`google.protobuf.Timestamp`, …) that protoc imports.
pub const WELL_KNOWN_TYPES: Prereq = Prereq {
    need: Need::File("/usr/include/google/protobuf/timestamp.proto"),
    package: "libprotobuf-dev",
};
pub const GRPC_PYTHON_PLUGIN: Prereq = Prereq {
    need: Need::Program("/usr/bin/grpc_python_plugin"),
    package: "protobuf-compiler-grpc",
};
pub const PYTHON_GRPC: Prereq = Prereq {
    need: Need::PythonModule("grpc"),
    package: "python3-grpcio",
};
pub const PYTHON_PROTOBUF: Prereq = Prereq {
    need: Need::PythonModule("google.protobuf"),
    package: "python3-protobuf",
};
pub const CHROMIUM: Prereq = Prereq {
    need: Need::Program("chromium"),
    package: "chromium",
};
pub const CHROMEDRIVER: Prereq = Prereq {
    need: Need::Program("chromedriver"),
    package: "chromium-driver",
};
pub const KILL: Prereq = Prereq {
    need: Need::Program("kill"),
    package: "procps",
};
pub const ETCD: Prereq = Prereq {
    need: Need::Program("etcd"),
    package: "etcd-server",
};

/// Every prerequisite of the tests and benches.
pub const ALL: &[Prereq] = &[
    PYTHON,
    PROTOC,
    WELL_KNOWN_TYPES,
    GRPC_PYTHON_PLUGIN,
    PYTHON_GRPC,
    PYTHON_PROTOBUF,
    CHROMIUM,
    CHROMEDRIVER,
    KILL,
    ETCD,
];

/// `name` on PATH, or `name` itself if it is a path to a file.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = Path::new(name);
    if path.is_absolute() {
        return path.is_file().then(|| path.to_path_buf());
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

impl Prereq {
    /// Whether it is there; the error names it and the package to install.
    pub fn check(&self) -> Result<(), String> {
        let (present, what) = match self.need {
            Need::Program(p) => (find_program(p).is_some(), format!("the program `{p}`")),
            Need::File(f) => (Path::new(f).is_file(), format!("the file {f}")),
            Need::PythonModule(m) => (
                Command::new(PYTHON_BIN)
                    .args(["-c", &format!("import {m}")])
                    .output()
                    .is_ok_and(|o| o.status.success()),
                format!("the Python module `{m}` (for {PYTHON_BIN})"),
            ),
        };
        if present {
            Ok(())
        } else {
            Err(format!(
                "this test needs {what}, from the Debian package `{}`: run scripts/setup.sh \
                 as root, or `apt-get install --no-install-recommends {}`",
                self.package, self.package
            ))
        }
    }

    /// Panics with [`Prereq::check`]'s message if it is missing.
    pub fn require(&self) {
        if let Err(e) = self.check() {
            panic!("{e}");
        }
    }
}

/// Debian's Python, which has the python3-* modules (another python3 may be
/// first on PATH).
pub const PYTHON_BIN: &str = "/usr/bin/python3";

/// Checks every prerequisite, and fails naming each missing one's package.
pub fn require_all(needs: &[Prereq]) {
    let missing: Vec<String> = needs.iter().filter_map(|p| p.check().err()).collect();
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
