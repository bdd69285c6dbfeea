#!/usr/bin/env bash
# What radotp adds to an upstream RADIUS server that checks the passwords ([upstream]).
#
# Starts FreeRADIUS 3.2 (Debian's, installed if missing) as the upstream, with USERS users whose
# passwords it checks with pap, and radotp (release build) with [upstream] pointing at it and
# the same users as upstream users. Then, with the same load generator (`radotp bench`, closed
# loop, the same concurrency), side by side in one run:
#
# - direct:  logins straight to FreeRADIUS (`--scenario accept --no-code`: the password alone),
#   what a NAS gets from the upstream without radotp;
# - radotp:  the same users through radotp (`--scenario accept`: password + current TOTP code;
#   radotp checks the code, asks FreeRADIUS about the password part, records the login).
#
# Two kinds of upstream password, each measured at concurrency PARALLEL (throughput) and 1
# (latency alone): `crypt` — a SHA-512 crypt hash (5,000 rounds, ~3 ms of a core), an upstream
# whose password check costs what a real one does (NPS in front of AD, a hashed users file), so
# it is CPU-bound; `cleartext` — FreeRADIUS's cheapest check, which shows radotp's own cost per
# login plainly. For each run: answers, logins per second, the median latency, and the CPU time
# per login of FreeRADIUS and of radotp (utime + stime from /proc/PID/stat, before and after).
#
# Only 127.0.0.1 is used; nothing under /etc/freeradius is read or changed (the configuration is
# generated in a temporary folder from bench/freeradius/radiusd.conf). Everything started is
# stopped by PID on exit. Bounded: each client run by --duration and `timeout`; a full run takes
# about two minutes after the build on 2 cores.
#
# Usage: bench/compare-upstream.sh            (as root, or with sudo for apt-get)
# Knobs (environment): PARALLEL=16 USERS=40000 BENCH_TIME=10s FR_PORT=18140 RO_PORT=18141
#   RO_WORKERS=0 KINDS="crypt cleartext" RADOTP=path/to/radotp KEEP=1
# Each bench user logs in once a TOTP step: USERS must exceed what two runs answer in 30 s.

set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bench/common.sh
. "$ROOT/bench/common.sh"

PARALLEL=${PARALLEL:-16}
USERS=${USERS:-40000}
BENCH_TIME=${BENCH_TIME:-10s}
FR_PORT=${FR_PORT:-18140}
RO_PORT=${RO_PORT:-18141}
RO_WORKERS=${RO_WORKERS:-0}
KINDS=${KINDS:-crypt cleartext}
SECRET=compare-secret-1234          # the NAS (bench) ↔ radotp secret; wait_up uses it
UPSTREAM_SECRET=compare-upstream-secret-5678
PASSWORD=benchpw
LIMIT=120

# --- tools ---------------------------------------------------------------------------------
packages=()
command -v freeradius >/dev/null 2>&1 || packages+=(freeradius)
command -v radclient >/dev/null 2>&1 || packages+=(freeradius-utils)
command -v openssl >/dev/null 2>&1 || packages+=(openssl)
install_packages "${packages[@]}"
radotp_binary

WORK=$(mktemp -d /tmp/radotp-compare-upstream.XXXXXX)
PIDS=()
trap cleanup EXIT
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# --- radotp's configuration and users (the same for both kinds) ----------------------------
mkdir -p "$WORK/radotp"
RCONF=$WORK/radotp/radotp.toml
{
    sed -e "s#@PORT@#$RO_PORT#g" -e "s#@SECRET@#$SECRET#g" \
        -e "s#^workers = 0\$#workers = $RO_WORKERS#" bench/radotp-compare.toml
    printf '\n[upstream]\nservers = ["127.0.0.1:%s"]\nsecret_file = "upstream.secret"\n' "$FR_PORT"
    printf 'timeout_ms = 2000\nretries = 1\nrequire_message_authenticator = true\n'
} >"$RCONF"
printf '%s\n' "$UPSTREAM_SECRET" >"$WORK/radotp/upstream.secret"
chmod 600 "$RCONF" "$WORK/radotp/upstream.secret"
say "creating $USERS bench users for radotp (password source: upstream)"
"$RADOTP" --config "$RCONF" bench --setup-users "$USERS" --password "$PASSWORD" \
    --password-source upstream >/dev/null

measure() { # NAME FR_PID RO_PID COMMAND… → "answered accepts rate p50 fr_µs ro_µs"
    local fr=$2 ro=$3 fr0 ro0 fr1 ro1 out answered accepts rate p50
    shift 3
    fr0=$(cpu_ticks "$fr")
    ro0=$(cpu_ticks "$ro")
    out=$("$@" 2>&1 || true)
    fr1=$(cpu_ticks "$fr")
    ro1=$(cpu_ticks "$ro")
    printf '%s\n' "$out" >>"$WORK/clients.log"
    field() { grep -o "\"$1\":[0-9.]*" <<<"$out" | head -1 | cut -d: -f2 || true; }
    answered=$(field answered)
    accepts=$(field accept)
    rate=$(awk -v r="$(field requests_per_s)" 'BEGIN { printf "%.0f", r }')
    p50=$(field p50)
    if [ "${answered:-0}" = 0 ]; then
        say "radotp bench answered nothing; its output:"
        say "$out"
    fi
    awk -v a="${answered:-0}" -v c="${accepts:-0}" -v r="$rate" -v p="${p50:--}" \
        -v f=$((fr1 - fr0)) -v o=$((ro1 - ro0)) -v hz="$TICK" 'BEGIN {
        if (a > 0) printf "%d %d %s %s %.0f %.0f\n", a, c, r, p, f * 1e6 / hz / a, o * 1e6 / hz / a
        else printf "0 0 0 - - -\n"
    }'
}
bench_run() { # SERVER SECRET CONCURRENCY DURATION EXTRA…
    local server=$1 secret=$2 concurrency=$3 duration=$4
    shift 4
    timeout "$LIMIT" "$RADOTP" --config "$RCONF" bench --server "$server" --secret "$secret" \
        --scenario accept --concurrency "$concurrency" --duration "$duration" \
        --count "$USERS" --timeout 10s --json "$@"
}

ROWS=()
for kind in $KINDS; do
    raddb=$WORK/raddb-$kind
    mkdir -p "$raddb" "$WORK/fr-log-$kind" "$WORK/fr-run-$kind"
    # bench/freeradius/radiusd.conf, on its own port and folders, with this secret, and signing
    # its replies with Message-Authenticator (radotp requires it; Debian's 3.2.1 adds it only
    # when told to).
    sed -e "s#@WORK@/raddb#$raddb#g" -e "s#@WORK@/fr-log#$WORK/fr-log-$kind#g" \
        -e "s#@WORK@/fr-run#$WORK/fr-run-$kind#g" -e "s#@PORT@#$FR_PORT#g" \
        -e "s#@SECRET@#$UPSTREAM_SECRET#g" \
        -e 's#^\tauthorize {$#\tauthorize {\n\t\tupdate reply {\n\t\t\t\&Message-Authenticator := 0x00\n\t\t}#' \
        bench/freeradius/radiusd.conf >"$raddb/radiusd.conf"
    : >"$raddb/dictionary"
    case $kind in
    crypt) check="Crypt-Password := \"$(openssl passwd -6 -salt benchsalt "$PASSWORD")\"" ;;
    cleartext) check="Cleartext-Password := \"$PASSWORD\"" ;;
    *) say "unknown kind $kind (crypt or cleartext)"; exit 2 ;;
    esac
    awk -v n="$USERS" -v check="$check" \
        'BEGIN { for (i = 0; i < n; i++) printf "bench-%07d %s\n", i, check }' >"$raddb/users"
    chmod 600 "$raddb/radiusd.conf"

    freeradius -f -d "$raddb" -l "$WORK/fr-log-$kind/radius.log" &
    FR_PID=$!
    PIDS+=("$FR_PID")
    # A fresh radotp for each kind, so that its latency average starts from this upstream.
    "$RADOTP" --config "$RCONF" serve 2>"$WORK/radotp/serve-$kind.log" &
    RO_PID=$!
    PIDS+=("$RO_PID")
    SECRET=$UPSTREAM_SECRET wait_up "$FR_PORT" FreeRADIUS "$FR_PID" "$WORK/fr-log-$kind/radius.log"
    wait_up "$RO_PORT" radotp "$RO_PID" "$WORK/radotp/serve-$kind.log"
    WORKERS_RUNNING=$(grep -o 'ready.* workers=[0-9]*' "$WORK/radotp/serve-$kind.log" | grep -o '[0-9]*$' || true)

    say "$kind: warm-up, then $BENCH_TIME runs at -c $PARALLEL and -c 1, direct and through radotp"
    measure warm "$FR_PID" "$RO_PID" bench_run "127.0.0.1:$RO_PORT" "$SECRET" 4 2s >/dev/null
    D=$(measure direct "$FR_PID" "$RO_PID" bench_run "127.0.0.1:$FR_PORT" "$UPSTREAM_SECRET" "$PARALLEL" "$BENCH_TIME" --no-code)
    # Each user logs in once a TOTP step: the radotp runs use users the direct run did not
    # need for a code, and the step changes between runs of BENCH_TIME (≥ 10 s) often enough.
    R=$(measure radotp "$FR_PID" "$RO_PID" bench_run "127.0.0.1:$RO_PORT" "$SECRET" "$PARALLEL" "$BENCH_TIME")
    D1=$(measure direct "$FR_PID" "$RO_PID" bench_run "127.0.0.1:$FR_PORT" "$UPSTREAM_SECRET" 1 "$BENCH_TIME" --no-code)
    R1=$(measure radotp "$FR_PID" "$RO_PID" bench_run "127.0.0.1:$RO_PORT" "$SECRET" 1 "$BENCH_TIME")
    ROWS+=("$kind direct $PARALLEL $D" "$kind radotp $PARALLEL $R" "$kind direct 1 $D1" "$kind radotp 1 $R1")

    kill "$RO_PID" "$FR_PID" 2>/dev/null || true
    wait "$RO_PID" "$FR_PID" 2>/dev/null || true
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report ----------------------------------------------------------------------------------
fr_version=$(freeradius -v | head -1 | sed 's/^radiusd: //; s/, for host.*//')
echo
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "upstream $fr_version; radotp $("$RADOTP" --version | cut -d' ' -f2) with ${WORKERS_RUNNING:-?} workers"
echo "load average before $LOAD_BEFORE, after $LOAD_AFTER; $USERS users; radotp bench, closed loop, $BENCH_TIME a run"
echo
printf '%-10s %-7s %3s %9s %8s %8s %8s %10s %10s\n' upstream path -c answered accepts logins/s "p50 ms" "FR µs" "radotp µs"
for row in "${ROWS[@]}"; do
    # shellcheck disable=SC2086
    set -- $row
    printf '%-10s %-7s %3s %9s %8s %8s %8s %10s %10s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "$9"
done
echo
echo "direct: radotp bench --no-code straight to FreeRADIUS (the password); radotp: radotp bench to"
echo "radotp (password + code), which asks FreeRADIUS once per login. µs: CPU time (utime+stime) per"
echo "answered login of each server process (clock tick $((1000000 / TICK)) µs); the generator ran on"
echo "the same cores. Expected: every answer an accept."
awk -v rows="$(printf '%s\n' "${ROWS[@]}")" 'BEGIN {
    n = split(rows, line, "\n")
    for (i = 1; i <= n; i++) {
        split(line[i], f, " ")
        key = f[1] " " f[3]
        if (f[2] == "direct") { rate[key] = f[6]; p50[key] = f[7] }
        else if (rate[key] > 0) {
            printf "%s at -c %s: through radotp %.0f %% of the direct rate, median %+.2f ms\n", \
                f[1], f[3], 100 * f[6] / rate[key], f[7] - p50[key]
        }
    }
}'
