#!/usr/bin/env bash
# Checks that the README's two commands work on a fresh Debian 12 machine:
# makes an empty Debian 12 root with debootstrap (minbase: no recommended or
# "important" packages), bind-mounts the host's Rust toolchain, cargo cache and
# shared target directory into it, then runs, inside it, scripts/setup.sh
# and the given command (default: ./scripts/test.sh).
#
#   sudo scripts/fresh-machine-check.sh                      # the test suite
#   sudo scripts/fresh-machine-check.sh ./scripts/run.sh --cases 3
#   sudo TARGET_DIR=/tmp/target-copy scripts/fresh-machine-check.sh
#
# The root is kept in $ROOT (default ~/.cache/casehub/fresh-root) between runs
# only as a debootstrap cache: every run starts from a new copy of the pristine
# root, so nothing a previous run installed is there. See docs/fresh-machine.md.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
[ "$(id -u)" -eq 0 ] || { echo "fresh-machine-check: run as root (debootstrap, chroot and mount need it)" >&2; exit 1; }
command -v debootstrap >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap; }

cache="${ROOT:-$HOME/.cache/casehub/fresh-root}"
pristine="$cache/pristine"
work="$cache/work"
mirror="${MIRROR:-$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)}"
mirror="${mirror:-http://deb.debian.org/debian}"

if [ ! -x "$pristine/bin/bash" ]; then
    echo "== debootstrap bookworm (minbase) into $pristine from $mirror"
    rm -rf "$pristine"
    mkdir -p "$pristine"
    debootstrap --variant=minbase bookworm "$pristine" "$mirror"
fi

mounts=()
cleanup() {
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
bind() { # bind SRC DST (DST relative to the root)
    mkdir -p "$work$2"
    mount --bind "$1" "$work$2"
    mounts+=("$work$2")
}

echo "== a new root from the pristine one"
rm -rf "$work"
cp -a "$pristine" "$work"
cp /etc/resolv.conf "$work/etc/resolv.conf"
cp /etc/apt/sources.list.d/debian.sources "$work/etc/apt/sources.list.d/" 2>/dev/null || true
mkdir -p "$work/proc" "$work/dev" "$work/sys"
mount -t proc proc "$work/proc"; mounts+=("$work/proc")
bind /dev /dev
bind /dev/pts /dev/pts
bind /sys /sys
bind "$HOME/.rustup" /root/.rustup
bind "$HOME/.cargo" /root/.cargo
# The shared target directory (TARGET_DIR to use a copy of it instead, so that
# the check does not hold the lock of the one you build in).
target="${TARGET_DIR:-$HOME/.cache/casehub/target}"
mkdir -p "$target"
bind "$target" /root/.cache/casehub/target
bind "$repo" "$repo"

cmd=("$@")
[ ${#cmd[@]} -gt 0 ] || cmd=(./scripts/test.sh)
echo "== in the fresh root: ${cmd[*]}"
chroot "$work" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/bash -c 'cd "$0" && "$@"' "$repo" "${cmd[@]}"
