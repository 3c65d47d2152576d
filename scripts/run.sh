#!/usr/bin/env bash
# The main job: a real local cluster — three casehub nodes on loopback, each
# with its own RocksDB directory under .casehub-demo/ — loaded with the
# sample region; a short stream of simulated cases is dispatched through the
# gRPC API, and the plans and alerts are printed as they come. Ctrl-C stops
# it cleanly; a rerun reuses the data. Installs what it needs first.
# Extra arguments go to `casehub demo` (see `casehub demo --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

cargo run --quiet --locked --bin casehub -- region check simulations/sample-county/region-3-sites.toml
exec cargo run --quiet --locked --bin casehub -- demo "$@"
