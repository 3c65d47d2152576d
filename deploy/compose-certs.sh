#!/usr/bin/env bash
# The certificates of the compose stack (docker-compose.yml), made with
# `casehub cert`, and its particulars key, made with `casehub key new`:
#
#   deploy/ca/ca.pem, ca-key.pem       the cluster CA (mounted nowhere; keep
#                                      ca-key.pem to yourself)
#   deploy/tls/<service>/ca.pem        a copy of the CA's certificate
#   deploy/tls/<service>/node-N.pem    node N's certificate: node-N.casehub,
#                                      the service name, localhost, 127.0.0.1
#   deploy/tls/<service>/node-N-key.pem  its key, mode 0640
#   deploy/keys/particulars.key        the cluster's particulars key file
#                                      (one for all nodes), mode 0640
#
# Each node mounts only its own deploy/tls/<service>/, read-only, at
# /etc/casehub/tls, and the shared deploy/keys/, read-only, at
# /etc/casehub/keys (outside its data volume). The node runs as uid 10001,
# not you: the keys are readable by your group, and the compose file adds
# that group to the node (group_add: CASEHUB_TLS_GID, which this script
# writes to deploy/.env). Run as root, the script gives the files to uid and
# gid 10001 instead.
#
# The particulars key is made once, if deploy/keys/particulars.key does not
# exist, and never replaced, not even with --force: what it sealed opens
# with it only. --rotate-key ID puts a new key ID first in the file (`casehub
# key rotate`; the older keys still open what they sealed; docs/security.md,
# "Rotation") and touches nothing else.
#
#   deploy/compose-certs.sh                # CASEHUB=path/to/casehub to choose the binary
#   deploy/compose-certs.sh --force        # new node certificates (same CA, same particulars key)
#   deploy/compose-certs.sh --rotate-key k2   # a new particulars key, first
#
# Then `docker compose -f deploy/docker-compose.yml up -d`, or, for new
# certificates or a rotated particulars key on a running stack, `docker
# compose -f deploy/docker-compose.yml kill -s SIGHUP main sub-north
# sub-south`.
set -euo pipefail
cd "$(dirname "$0")"
casehub="${CASEHUB:-casehub}"
force=()
rotate=""
if [ $# -eq 1 ] && [ "$1" = "--force" ]; then
    force=(--force)
elif [ $# -eq 2 ] && [ "$1" = "--rotate-key" ]; then
    rotate="$2"
elif [ $# -gt 0 ]; then
    echo "usage: $0 [--force | --rotate-key ID]" >&2
    exit 2
fi
if ! command -v "$casehub" >/dev/null; then
    echo "$casehub not found: build it (cargo build --release --bin casehub) and set CASEHUB" >&2
    exit 1
fi

umask 077
if [ -z "$rotate" ]; then
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
fi

# The particulars key: one file for the whole cluster, every node mounts
# the same. `casehub key` writes it 0600; the nodes read it through the
# group, like their TLS keys.
mkdir -p keys
if [ -n "$rotate" ]; then
    "$casehub" key rotate --file keys/particulars.key --id "$rotate"
elif [ ! -f keys/particulars.key ]; then
    "$casehub" key new --out keys/particulars.key
fi
chmod 0750 keys
chmod 0640 keys/particulars.key

# The group the nodes read their keys with: yours; as root, the node's own
# (uid and gid 10001), never root's group.
if [ "$(id -u)" = 0 ]; then
    gid=10001
    chown -R 10001:10001 keys
    if [ -z "$rotate" ]; then
        chown -R 10001:10001 tls/main tls/sub-north tls/sub-south
    fi
else
    gid="$(id -g)"
fi
touch .env
grep -v '^CASEHUB_TLS_GID=' .env >.env.new || true
echo "CASEHUB_TLS_GID=$gid" >>.env.new
mv .env.new .env
chmod 0644 .env
echo "certificates in $(pwd)/tls, particulars key in $(pwd)/keys; CASEHUB_TLS_GID=$gid in $(pwd)/.env"
echo "clients on this host: --addr localhost:7400 --ca $(pwd)/ca/ca.pem"
