#!/usr/bin/env bash
# Install what building and testing casehub needs on Debian 12, as root.
# Idempotent: installs only what is missing.
set -euo pipefail

# Every package whose files or commands the build, the tests, the benches and
# the demo use, by name. apt-get runs with --no-install-recommends, so what a
# recommendation would bring is named here too. docs/fresh-machine.md says how
# this list is checked on an empty Debian 12 root.
packages=(
  ca-certificates # cargo fetching crates over HTTPS
  g++ make       # the C++ dependencies (HiGHS, the RocksDB bindings)
  cmake          # builds the HiGHS solver (highs-sys)
  clang          # bindgen for the C/C++ libraries
  libclang-dev   # bindgen needs libclang with its headers (stdbool.h)
  librocksdb-dev # RocksDB 7.8, linked by the store (see .cargo/config.toml)
  pkg-config
  procps         # kill(1), used by the CLI's node tests to send SIGTERM
  etcd-server    # etcd, only for the Raft bench's comparison (cargo bench -p casehub-server --bench raft -- --etcd)
  python3
  python3-grpcio          # the Python API client's test (proto/python)
  python3-protobuf
  python3-venv            # deploy/check.sh's virtualenv
  protobuf-compiler       # protoc, for the Python client's stubs
  libprotobuf-dev         # google/protobuf/*.proto, the well-known types protoc needs (only recommended by protobuf-compiler)
  protobuf-compiler-grpc  # grpc_python_plugin
  chromium       # renders the simulation report in its test (headless)
  chromium-driver  # chromedriver: the console's browser tests drive Chromium over WebDriver
  fonts-noto-cjk   # Chinese glyphs for the console's screenshots (headless Chromium)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: run as root (apt-get needs it), or install: ${missing[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust 1.88 or newer (rustup) first" >&2
  exit 1
fi
for c in rustfmt clippy; do
  rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c" 2>/dev/null || true
done

# One target directory outside the clone, shared by every checkout, so that
# the C++ dependencies are built once.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/casehub/target}"
mkdir -p "$CARGO_TARGET_DIR"
