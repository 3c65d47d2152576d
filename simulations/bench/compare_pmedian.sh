#!/usr/bin/env bash
# Times casehub-layout against PySAL spopt (PuLP + CBC) on OR-Library p-median instances
# in one run and prints one markdown table. See README.md beside this script.
#
# Environment:
#   SPOPT_VENV      python venv with requirements.txt installed (default /tmp/spopt-venv;
#                   created and installed here when missing)
#   INSTANCES       instances to run (default "pmed1 pmed2 pmed5 pmed6 pmed11 pmed16")
#   RUNS            casehub solves per instance, median reported (default 1)
#   SPOPT_TIMEOUT   wall-clock seconds allowed per spopt instance (default 900)
#   CARGO_TARGET_DIR  as usual for cargo
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
fixtures="$root/crates/layout/tests/fixtures"
venv="${SPOPT_VENV:-/tmp/spopt-venv}"
instances="${INSTANCES:-pmed1 pmed2 pmed5 pmed6 pmed11 pmed16}"
runs="${RUNS:-1}"
spopt_timeout="${SPOPT_TIMEOUT:-900}"

if [[ ! -x "$venv/bin/python" ]]; then
    echo "creating $venv and installing $here/requirements.txt" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet -r "$here/requirements.txt"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "casehub: cargo bench -p casehub-layout --bench pmedian_table (runs=$runs)" >&2
# shellcheck disable=SC2086 # instance names are words
(cd "$root" && cargo bench --quiet -p casehub-layout --bench pmedian_table -- \
    --csv --runs "$runs" $instances) > "$work/casehub.csv"

: > "$work/spopt.csv"
for name in $instances; do
    echo "spopt: $name (timeout ${spopt_timeout}s)" >&2
    if line="$(timeout "$spopt_timeout" "$venv/bin/python" "$here/spopt_pmedian.py" \
        "$fixtures/$name.txt" | tail -n 1)" && [[ -n "$line" ]]; then
        echo "$line" >> "$work/spopt.csv"
    else
        echo "$name,,,,,,timeout" >> "$work/spopt.csv"
    fi
done

# casehub.csv: instance,nodes,p,optimum,objective,status,seconds (with a header)
# spopt.csv:   instance,nodes,p,objective,build_s,solve_s,status
awk -F, -v limit="$spopt_timeout" '
    FNR == NR { if ($1 != "instance") { s_obj[$1] = $4; s_build[$1] = $5; s_solve[$1] = $6; s_status[$1] = $7 } next }
    FNR == 1 {
        print "| instance | nodes | p | optimum | casehub s | spopt s | speed-up | same optimum | spopt build s |"
        print "|---|---:|---:|---:|---:|---:|---:|---|---:|"
        next
    }
    {
        name = $1; opt = $4 + 0; c_obj = $5 + 0; c_status = $6; c_s = $7 + 0
        if (s_status[name] == "timeout") {
            spopt = sprintf("> %d (timed out)", limit)
            speed = sprintf("> %.0f×", limit / c_s)
            same = "n/a (spopt timed out)"
            build = "n/a"
        } else {
            spopt = sprintf("%.3f", s_solve[name])
            speed = sprintf("%.1f×", s_solve[name] / c_s)
            ok = (c_status == "optimal" && s_status[name] == "Optimal" && c_obj == opt && s_obj[name] + 0 == opt)
            same = ok ? "yes" : sprintf("no (casehub %s, spopt %s)", c_obj, s_obj[name])
            build = sprintf("%.3f", s_build[name])
        }
        if (c_status != "optimal" || c_obj != opt) same = sprintf("no (casehub %s %s)", c_obj, c_status)
        printf "| %s | %s | %s | %s | %.3f | %s | %s | %s | %s |\n", name, $2, $3, $4, c_s, spopt, speed, same, build
    }
' "$work/spopt.csv" "$work/casehub.csv"
