#!/usr/bin/env bash
# Compare radotp with FreeRADIUS on this machine, side by side, in one run.
#
# Starts FreeRADIUS (files + pap, Debian's package, installed if missing) and radotp (release
# build) on two loopback ports, each with the same 10,000 users, then drives both with the same
# clients: radclient at a fixed parallelism over a file of requests, and `radotp bench` in a
# closed loop. For Status-Server and for the reject path (an existing user, a wrong password)
# it prints requests per second and the server's CPU time per answered request: utime + stime
# from /proc/PID/stat before and after, over the requests answered.
#
# Only 127.0.0.1 is used; nothing under /etc/freeradius is read or changed (the configuration
# is generated under a temporary folder). Everything started is stopped by PID on exit.
# Bounded: each client run is bounded by count and by `timeout`; a full run takes 1–2 minutes
# after the build.
#
# Usage: bench/compare-freeradius.sh            (as root, or with sudo for apt-get)
# Knobs (environment): PARALLEL=32 STATUS_N=20000 REJECT_N_FR=10000 REJECT_N_RO=400
#   BENCH_TIME=5s USERS=10000 FR_PORT=18120 RO_PORT=18121 RADOTP=path/to/radotp KEEP=1

set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# say, wait_up, cpu_ticks, now_ns, TICK: shared with the other comparison.
# shellcheck source=bench/common.sh
. "$ROOT/bench/common.sh"

PARALLEL=${PARALLEL:-32}
STATUS_N=${STATUS_N:-20000}
REJECT_N_FR=${REJECT_N_FR:-10000}
REJECT_N_RO=${REJECT_N_RO:-400}
BENCH_TIME=${BENCH_TIME:-5s}
USERS=${USERS:-10000}
FR_PORT=${FR_PORT:-18120}
RO_PORT=${RO_PORT:-18121}
SECRET=compare-secret-1234
PASSWORD=benchpw
LIMIT=180 # seconds any single client run may take


# --- tools ---------------------------------------------------------------------------------
packages=()
command -v freeradius >/dev/null 2>&1 || packages+=(freeradius)
command -v radclient >/dev/null 2>&1 || packages+=(freeradius-utils)
install_packages "${packages[@]}"
radotp_binary

# --- state, and stopping what we start -------------------------------------------------------
WORK=$(mktemp -d /tmp/radotp-compare.XXXXXX)
PIDS=()
trap cleanup EXIT

# --- configurations --------------------------------------------------------------------------
mkdir -p "$WORK/raddb" "$WORK/fr-log" "$WORK/fr-run" "$WORK/radotp"
sed -e "s#@WORK@#$WORK#g" -e "s#@PORT@#$FR_PORT#g" -e "s#@SECRET@#$SECRET#g" \
    bench/freeradius/radiusd.conf >"$WORK/raddb/radiusd.conf"
: >"$WORK/raddb/dictionary"
awk -v n="$USERS" -v pw="$PASSWORD" \
    'BEGIN { for (i = 0; i < n; i++) printf "bench-%07d Cleartext-Password := \"%s\"\n", i, pw }' \
    >"$WORK/raddb/users"
sed -e "s#@PORT@#$RO_PORT#g" -e "s#@SECRET@#$SECRET#g" \
    bench/radotp-compare.toml >"$WORK/radotp/radotp.toml"
RCONF=$WORK/radotp/radotp.toml
chmod 600 "$RCONF" "$WORK/raddb/radiusd.conf"

say "creating $USERS bench users for radotp"
"$RADOTP" --config "$RCONF" bench --setup-users "$USERS" --password "$PASSWORD" >/dev/null

# Request files: Status-Server, and Access-Requests from existing users with a wrong password
# (as typed: the password with a code that is not theirs). Message-Authenticator in all.
awk -v n="$STATUS_N" 'BEGIN { for (i = 0; i < n; i++) print "Message-Authenticator = 0x00\n" }' \
    >"$WORK/status.txt"
reject_file() {
    awk -v n="$1" -v users="$USERS" -v pw="$PASSWORD" 'BEGIN {
        for (i = 0; i < n; i++)
            printf "User-Name = \"bench-%07d\", User-Password = \"%s000000\", Message-Authenticator = 0x00\n\n", i % users, pw
    }' >"$2"
}
reject_file "$REJECT_N_FR" "$WORK/reject-fr.txt"
reject_file "$REJECT_N_RO" "$WORK/reject-ro.txt"

# --- servers ---------------------------------------------------------------------------------
freeradius -f -d "$WORK/raddb" -l "$WORK/fr-log/radius.log" &
FR_PID=$!
PIDS+=("$FR_PID")
"$RADOTP" --config "$RCONF" serve 2>"$WORK/radotp/serve.log" &
RO_PID=$!
PIDS+=("$RO_PID")

wait_up "$FR_PORT" FreeRADIUS "$FR_PID" "$WORK/fr-log/radius.log"
wait_up "$RO_PORT" radotp "$RO_PID" "$WORK/radotp/serve.log"

# --- measuring -------------------------------------------------------------------------------

# measure PID KIND COMMAND… → prints "answered req/s cpu_us_per_request"; KIND says how to read
# the client's output: radclient (-s summary) or bench (--json).
measure() {
    local pid=$1 kind=$2 before after start end out answered rate cpu
    shift 2
    if ! kill -0 "$pid" 2>/dev/null; then
        say "server process $pid is gone; see the logs under $WORK (run with KEEP=1)"
        exit 1
    fi
    before=$(cpu_ticks "$pid")
    start=$(now_ns)
    out=$("$@" 2>&1 || true)
    end=$(now_ns)
    after=$(cpu_ticks "$pid")
    if [ "$kind" = radclient ]; then
        answered=$(awk -F: '/Accepted|Rejected/ { gsub(/ /, "", $2); n += $2 } END { print n + 0 }' <<<"$out")
        rate=$(awk -v a="$answered" -v ns=$((end - start)) 'BEGIN { printf "%.0f", a / (ns / 1e9) }')
    else
        answered=$(grep -o '"answered":[0-9]*' <<<"$out" | cut -d: -f2 || true)
        rate=$(grep -o '"requests_per_s":[0-9.]*' <<<"$out" | cut -d: -f2 || true)
        answered=${answered:-0}
        rate=$(awk -v r="${rate:-0}" 'BEGIN { printf "%.0f", r }')
    fi
    cpu=$(awk -v t=$((after - before)) -v hz="$TICK" -v a="$answered" \
        'BEGIN { if (a > 0) printf "%.1f", t * 1e6 / hz / a; else print "-" }')
    echo "$answered $rate $cpu"
}

radclient_run() { # PORT FILE TYPE
    timeout "$LIMIT" radclient -s -q -r 1 -t 10 -p "$PARALLEL" -f "$2" "127.0.0.1:$1" "$3" "$SECRET"
}
bench_run() { # PORT SCENARIO
    timeout "$LIMIT" "$RADOTP" --config "$RCONF" bench --server "127.0.0.1:$1" --secret "$SECRET" \
        --scenario "$2" --concurrency "$PARALLEL" --duration "$BENCH_TIME" --count 2000000 \
        --timeout 10s --json
}

say "Status-Server: radclient -p $PARALLEL, $STATUS_N requests each"
S_RC_FR=$(measure "$FR_PID" radclient radclient_run "$FR_PORT" "$WORK/status.txt" status)
S_RC_RO=$(measure "$RO_PID" radclient radclient_run "$RO_PORT" "$WORK/status.txt" status)
say "Status-Server: radotp bench --concurrency $PARALLEL, $BENCH_TIME each"
S_BE_FR=$(measure "$FR_PID" bench bench_run "$FR_PORT" status)
S_BE_RO=$(measure "$RO_PID" bench bench_run "$RO_PORT" status)
say "reject path: radclient -p $PARALLEL, $REJECT_N_FR / $REJECT_N_RO requests"
R_RC_FR=$(measure "$FR_PID" radclient radclient_run "$FR_PORT" "$WORK/reject-fr.txt" auth)
R_RC_RO=$(measure "$RO_PID" radclient radclient_run "$RO_PORT" "$WORK/reject-ro.txt" auth)
say "reject path: radotp bench --concurrency $PARALLEL, $BENCH_TIME each"
R_BE_FR=$(measure "$FR_PID" bench bench_run "$FR_PORT" reject)
R_BE_RO=$(measure "$RO_PID" bench bench_run "$RO_PORT" reject)
say "argon2 ceiling: radotp bench --calibrate"
CAL=$("$RADOTP" --config "$RCONF" bench --calibrate --json || true)

# --- report ----------------------------------------------------------------------------------
row() { # WORKLOAD CLIENT FR RO
    # shellcheck disable=SC2086
    printf '%-14s %-22s %9s %9s %10s   %9s %9s %10s\n' "$1" "$2" $3 $4
}
echo
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "$(freeradius -v | head -1 | sed 's/^radiusd: //; s/, for host.*//') vs radotp $("$RADOTP" --version | cut -d' ' -f2)"
echo
printf '%-14s %-22s %31s   %31s\n' "" "" "---------- FreeRADIUS ----------" "------------ radotp ------------"
printf '%-14s %-22s %9s %9s %10s   %9s %9s %10s\n' workload client answered req/s "CPU µs/req" answered req/s "CPU µs/req"
row Status-Server "radclient -p $PARALLEL" "$S_RC_FR" "$S_RC_RO"
row Status-Server "radotp bench -c $PARALLEL" "$S_BE_FR" "$S_BE_RO"
row reject "radclient -p $PARALLEL" "$R_RC_FR" "$R_RC_RO"
row reject "radotp bench -c $PARALLEL" "$R_BE_FR" "$R_BE_RO"
echo
json_field() { grep -o "\"$1\":[0-9.]*" <<<"$2" | head -1 | cut -d: -f2 || true; }
CAL_RATE=$(json_field verifies_per_s "$CAL")
echo "argon2 ceiling (radotp bench --calibrate, $(json_field threads "$CAL") threads, m=19456 KiB t=2 p=1):" \
    "$CAL_RATE verifications/s; one takes $(json_field single_median_ms "$CAL") ms"
awk -v r="$(cut -d' ' -f2 <<<"$R_BE_RO")" -v c="$CAL_RATE" \
    'BEGIN { if (c > 0) printf "radotp reject path (radotp bench) at %.0f %% of the argon2 ceiling\n", 100 * r / c }'
awk -v fr="$(cut -d' ' -f3 <<<"$S_BE_FR")" -v ro="$(cut -d' ' -f3 <<<"$S_BE_RO")" \
    'BEGIN { if (fr > 0) printf "radotp CPU per Status-Server (radotp bench): %.0f %% of FreeRADIUS'"'"'s\n", 100 * ro / fr }'
echo "CPU is the server process's utime+stime over the answered requests (clock tick $((1000000 / TICK)) µs)."
echo "FreeRADIUS compares a cleartext password (no hashing); radotp verifies one argon2id hash per request."
