#!/usr/bin/env bash
# The certificates of the compose stack (docker-compose.yml), made with
# `casehub cert`:
#
#   deploy/ca/ca.pem, ca-key.pem       the cluster CA (mounted nowhere; keep
#                                      ca-key.pem to yourself)
#   deploy/tls/<service>/ca.pem        a copy of the CA's certificate
#   deploy/tls/<service>/node-N.pem    node N's certificate: node-N.casehub,
#                                      the service name, localhost, 127.0.0.1
#   deploy/tls/<service>/node-N-key.pem  its key, mode 0640
#
# Each node mounts only its own deploy/tls/<service>/, read-only, at
# /etc/casehub/tls. The node runs as uid 10001, not you: the key is readable
# by your group, and the compose file adds that group to the node
# (group_add: CASEHUB_TLS_GID, which this script writes to deploy/.env). Run
# as root, the script gives the files to uid and gid 10001 instead.
#
#   deploy/compose-certs.sh                # CASEHUB=path/to/casehub to choose the binary
#   deploy/compose-certs.sh --force        # new node certificates (same CA)
#
# Then `docker compose -f deploy/docker-compose.yml up -d`, or, for new
# certificates on a running stack, `docker compose -f
# deploy/docker-compose.yml kill -s SIGHUP main sub-north sub-south`.
set -euo pipefail
cd "$(dirname "$0")"
casehub="${CASEHUB:-casehub}"
force=()
if [ "${1:-}" = "--force" ]; then
    force=(--force)
elif [ $# -gt 0 ]; then
    echo "usage: $0 [--force]" >&2
    exit 2
fi
if ! command -v "$casehub" >/dev/null; then
    echo "$casehub not found: build it (cargo build --release --bin casehub) and set CASEHUB" >&2
    exit 1
fi

umask 077
if [ ! -f ca/ca.pem ]; then
    "$casehub" cert ca --out ca
fi
chmod 0700 ca

id=0
for service in main sub-north sub-south; do
    id=$((id + 1))
    dir="tls/$service"
    "$casehub" cert node --ca-dir ca --id "$id" --out "$dir" "${force[@]}" \
        --host "$service" --host localhost --host 127.0.0.1
    cp ca/ca.pem "$dir/ca.pem"
    chmod 0750 "$dir"
    chmod 0644 "$dir/ca.pem" "$dir/node-$id.pem"
    chmod 0640 "$dir/node-$id-key.pem"
done
chmod 0755 tls

# The group the nodes read their keys with: yours; as root, the node's own
# (uid and gid 10001), never root's group.
if [ "$(id -u)" = 0 ]; then
    gid=10001
    chown -R 10001:10001 tls/main tls/sub-north tls/sub-south
else
    gid="$(id -g)"
fi
touch .env
grep -v '^CASEHUB_TLS_GID=' .env >.env.new || true
echo "CASEHUB_TLS_GID=$gid" >>.env.new
mv .env.new .env
chmod 0644 .env
echo "certificates in $(pwd)/tls; CASEHUB_TLS_GID=$gid in $(pwd)/.env"
echo "clients on this host: --addr localhost:7400 --ca $(pwd)/ca/ca.pem"
