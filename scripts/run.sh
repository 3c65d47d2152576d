#!/usr/bin/env bash
# The main job on the embedded defaults: load and validate the sample region,
# and print its travel-time summary. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

region="${1:-simulations/sample-county/region.toml}"
cargo run --quiet --locked --bin casehub -- region check "$region"
cargo run --quiet --locked --bin casehub -- region travel "$region"
