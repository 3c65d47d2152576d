#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test in the workspace.
# Installs what it needs first (see setup.sh). Run from anywhere, as root on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
