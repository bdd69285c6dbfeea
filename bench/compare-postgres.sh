#!/usr/bin/env bash
# radotp on PostgreSQL against radotp on SQLite, and two nodes on one PostgreSQL against one.
#
# Starts a PostgreSQL cluster of its own (Debian's postgresql, installed if missing) in a
# temporary folder on 127.0.0.1:PG_PORT, with pg_stat_statements loaded, and two roles: `radotp`
# (the servers) and `radotp_bench` (the load generator, which reads each bench user's state
# before its first login), so the database's figures count the servers' work alone. Then, with
# the release build and `radotp bench` (closed loop, the same USERS bench users on each
# database), side by side in one run:
#
# 1. sqlite / postgres, alternating, ROUNDS times each: accepts/s; radotp's CPU per accept;
#    PostgreSQL's CPU per accept (the `radotp` role's backend processes); statements per
#    accept (pg_stat_statements calls, BEGIN and COMMIT included); and round trips per accept
#    (requests the database received on the servers' connections: `ss -i` data_segs_in).
# 2. one node against two nodes on the same database, the same load (-c PARALLEL from one
#    generator, which spreads it over both nodes: `bench --server A --server B`) on the same
#    cores, ROUNDS times: accepts/s and CPU per accept. During every two-node run, RACES rounds of one password + code sent to both nodes
#    at the same moment by radclient (a user of its own each round, code by oathtool): each
#    round must get exactly one Access-Accept.
# 3. overload on PostgreSQL: an open loop at 3× the closed-loop rate of part 1 for OVERLOAD
#    (30 s), --timeout 3s (what a NAS would still take): answered, useful accepts/s, latency.
#
# Only 127.0.0.1 is used; nothing of the machine's own PostgreSQL is touched. Everything started
# is stopped by PID on exit. Bounded: each client run by --duration and `timeout`; a full run
# takes about four minutes after the build on 2 cores.
#
# Usage: bench/compare-postgres.sh            (as root, or with sudo for apt-get)
# Knobs (environment): PARALLEL=16 USERS=60000 BENCH_TIME=10s ROUNDS=2 RACES=50 OVERLOAD=30s
#   PG_OPTS="-c synchronous_commit=off" (server settings, to try) BENCH_ARGS="--threads 2"
#   PG_PORT=15499 PORT_A=18151 PORT_B=18152 PORT_S=18153 RO_WORKERS=0 (0: radotp's default)
#   RADOTP=path/to/radotp KEEP=1
# Each bench user logs in once a TOTP step: USERS must exceed what the runs of a step answer.

set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bench/common.sh
. "$ROOT/bench/common.sh"

PARALLEL=${PARALLEL:-16}
USERS=${USERS:-60000}
BENCH_TIME=${BENCH_TIME:-10s}
ROUNDS=${ROUNDS:-2}
RACES=${RACES:-50}
OVERLOAD=${OVERLOAD:-30s}
PG_PORT=${PG_PORT:-15499}
PORT_A=${PORT_A:-18151}
PORT_B=${PORT_B:-18152}
PORT_S=${PORT_S:-18153}
RO_WORKERS=${RO_WORKERS:-0}
SECRET=compare-secret-1234 # the NAS (bench) ↔ radotp secret; wait_up uses it
PASSWORD=benchpw
RACE_SEED=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
LIMIT=120

# --- tools ---------------------------------------------------------------------------------
packages=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || packages+=(postgresql)
command -v radclient >/dev/null 2>&1 || packages+=(freeradius-utils)
command -v oathtool >/dev/null 2>&1 || packages+=(oathtool)
install_packages "${packages[@]}"
PGBIN=$(printf "%s\n" /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
radotp_binary

WORK=$(mktemp -d /tmp/radotp-compare-postgres.XXXXXX)
chmod 755 "$WORK"
PIDS=()
trap cleanup EXIT # until PostgreSQL runs; then stop_all
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# --- PostgreSQL of its own -----------------------------------------------------------------
# initdb refuses to run as root: as the `postgres` user (Debian's package creates it) then.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
    else
        "$@"
    fi
}
PGDATA=$WORK/pg
mkdir -p "$PGDATA"
[ "$(id -u)" -ne 0 ] || chown postgres "$PGDATA"
say "starting PostgreSQL ($PGBIN) on 127.0.0.1:$PG_PORT"
as_pg "$PGBIN/initdb" -D "$PGDATA" --auth=trust --username=postgres >"$WORK/initdb.log" 2>&1
read -r -a pg_opts <<<"${PG_OPTS:-}"
as_pg "$PGBIN/postgres" -D "$PGDATA" -p "$PG_PORT" -k "$PGDATA" -c listen_addresses=127.0.0.1 \
    -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all \
    -c max_connections=100 "${pg_opts[@]}" >"$WORK/postgres.log" 2>&1 &
psql_pg() { "$PGBIN/psql" -X -q -t -A -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "${DB:-radotp}" -v ON_ERROR_STOP=1 -c "$1"; }
for _ in $(seq 1 50); do
    DB=postgres psql_pg "SELECT 1" >/dev/null 2>&1 && break
    sleep 0.2
done
# The postmaster (not the su that started it): its children are the backends.
PG_PID=$(head -1 "$PGDATA/postmaster.pid")
stop_all() {
    cleanup_servers
    kill -INT "$PG_PID" 2>/dev/null || true # fast shutdown
    for _ in $(seq 1 50); do kill -0 "$PG_PID" 2>/dev/null || break; sleep 0.2; done
    cleanup
}
cleanup_servers() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    PIDS=()
}
trap stop_all EXIT
DB=postgres psql_pg "CREATE ROLE radotp LOGIN SUPERUSER; CREATE ROLE radotp_bench LOGIN SUPERUSER"
DB=postgres psql_pg "CREATE DATABASE radotp OWNER radotp"
psql_pg "CREATE EXTENSION pg_stat_statements"
PG_VERSION=$("$PGBIN/postgres" --version | sed 's/^postgres (PostgreSQL) //')

# --- radotp's configurations ---------------------------------------------------------------
# One key file for every node of the PostgreSQL database (and the bench users' record beside
# it); the SQLite server has its own folder.
mkdir -p "$WORK/key" "$WORK/sqlite" "$WORK/a" "$WORK/b" "$WORK/gen"
conf() { # PORT DATABASE-LINES → a configuration on stdout
    sed -e "s#@PORT@#$1#g" -e "s#@SECRET@#$SECRET#g" \
        -e "s#^workers = 0\$#workers = $RO_WORKERS#" bench/radotp-compare.toml |
        awk -v db="$2" '/^\[database\]$/ { print; print db; skip = 1; next }
                        /^\[/ { skip = 0 } !skip'
}
PG_DB="url = \"postgres://radotp@127.0.0.1:$PG_PORT/radotp\"
key_file = \"$WORK/key/radotp.key\""
conf "$PORT_S" 'path = "radotp.db"' >"$WORK/sqlite/radotp.toml"
conf "$PORT_A" "$PG_DB" >"$WORK/a/radotp.toml"
conf "$PORT_B" "$PG_DB" >"$WORK/b/radotp.toml"
conf "$PORT_A" "url = \"postgres://radotp_bench@127.0.0.1:$PG_PORT/radotp\"
key_file = \"$WORK/key/radotp.key\"" >"$WORK/gen/radotp.toml"
chmod 600 "$WORK"/*/radotp.toml
say "creating $USERS bench users on SQLite and on PostgreSQL"
"$RADOTP" --config "$WORK/sqlite/radotp.toml" bench --setup-users "$USERS" --password "$PASSWORD" >/dev/null
"$RADOTP" --config "$WORK/a/radotp.toml" bench --setup-users "$USERS" --password "$PASSWORD" >/dev/null
# The race users: one known seed, a user each round (so a fresh code each round).
{
    echo "name,password,password_hash,totp_secret"
    for i in $(seq 0 $((RACES * ROUNDS - 1))); do echo "race-$i,pw-race,,$RACE_SEED"; done
} >"$WORK/race.csv"
"$RADOTP" --config "$WORK/a/radotp.toml" user import "$WORK/race.csv" >/dev/null

start() { # NAME CONFIG PORT → PID in STARTED
    "$RADOTP" --config "$2" serve 2>"$WORK/serve-$1.log" &
    STARTED=$!
    PIDS+=("$STARTED")
    wait_up "$3" "radotp ($1)" "$STARTED" "$WORK/serve-$1.log"
}
start sqlite "$WORK/sqlite/radotp.toml" "$PORT_S"
S_PID=$STARTED
start a "$WORK/a/radotp.toml" "$PORT_A"
A_PID=$STARTED
start b "$WORK/b/radotp.toml" "$PORT_B"
B_PID=$STARTED
WORKERS_RUNNING=$(grep -o 'ready.* workers=[0-9]*' "$WORK/serve-a.log" | grep -o '[0-9]*$' || true)

# --- measuring -----------------------------------------------------------------------------
# The servers' backends: PostgreSQL titles each `postgres: USER DATABASE HOST(PORT) STATE`.
backends() { pgrep -P "$PG_PID" -f '^postgres: radotp radotp ' || true; }
pg_ticks() { local p t=0; for p in $(backends); do t=$((t + $(cpu_ticks "$p"))); done; echo "$t"; }
# Requests the servers' connections carried: TCP data segments the database received on them
# (`ss -i` data_segs_in; on loopback each request the client flushes is one segment, and the
# client waits for the answer before it sends again, so one segment = one round trip).
pg_round_trips() {
    local ports
    ports=$(for p in $(backends); do tr '\0' ' ' <"/proc/$p/cmdline" | grep -o '127\.0\.0\.1([0-9]*)' | tr -dc '0-9\n' | sed 's/^127001//'; done)
    ss -Htin state established "( sport = :$PG_PORT )" | awk -v ports="$ports" '
        BEGIN { n = split(ports, p, "\n"); for (i = 1; i <= n; i++) if (p[i] != "") want[p[i]] = 1 }
        /^[0-9]/ { split($4, peer, ":"); take = (peer[2] in want); next }
        take { if (match($0, /data_segs_in:[0-9]+/)) sum += substr($0, RSTART + 13, RLENGTH - 13) }
        END { print sum + 0 }'
}
pg_calls() {
    psql_pg "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements
             WHERE userid = (SELECT oid FROM pg_roles WHERE rolname = 'radotp')"
}
field() { grep -o "\"$1\":[0-9.]*" <<<"$2" | head -1 | cut -d: -f2 || true; }
bench_run() { # CONFIG CONCURRENCY PORT… → radotp bench's JSON (several ports: one generator
    # spreading the load over those nodes)
    local config=$1 concurrency=$2 port
    local -a servers=() extra=()
    shift 2
    for port in "$@"; do servers+=(--server "127.0.0.1:$port"); done
    read -r -a extra <<<"${BENCH_ARGS:-}"
    timeout "$LIMIT" "$RADOTP" --config "$config" bench "${servers[@]}" --scenario accept \
        --concurrency "$concurrency" --duration "$BENCH_TIME" --timeout 10s --json "${extra[@]}" \
        2>>"$WORK/bench.err" || true
}

# A run against PIDS… (radotp processes): bench_run ARGS…, with the CPU time and database work
# it caused: "accepts accepts/s radotp_µs pg_µs statements round_trips", the last four per
# accept. Every answer must be an accept (each user logs in once).
measure() {
    local -a servers=()
    local pid r0=0 r1=0 p0 p1 w0 w1 c0 c1 out accepts rate
    while [ "$1" != -- ]; do servers+=("$1"); shift; done
    shift
    for pid in "${servers[@]}"; do r0=$((r0 + $(cpu_ticks "$pid"))); done
    psql_pg "SELECT pg_stat_statements_reset()" >/dev/null
    p0=$(pg_ticks)
    w0=$(pg_round_trips)
    c0=$(pg_calls)
    out=$(bench_run "$@")
    for pid in "${servers[@]}"; do r1=$((r1 + $(cpu_ticks "$pid"))); done
    p1=$(pg_ticks)
    w1=$(pg_round_trips)
    c1=$(pg_calls)
    printf '%s\n' "$out" >>"$WORK/clients.log"
    [ -n "$(field answered "$out")" ] || say "radotp bench printed no figures: $out $(tail -2 "$WORK/bench.err")"
    accepts=$(field accept "$out")
    accepts=${accepts:-0}
    rate=$(awk -v n="$accepts" -v s="$(field elapsed_s "$out")" 'BEGIN { if (s > 0) printf "%.1f", n / s; else print 0 }')
    if [ "$(field answered "$out")" != "$accepts" ]; then
        say "not every answer was an accept: $out"
    fi
    awk -v a="$accepts" -v r="$rate" -v ro=$((r1 - r0)) -v pg=$((p1 - p0)) -v w=$((w1 - w0)) \
        -v c=$((c1 - c0)) -v hz="$TICK" 'BEGIN {
        if (a > 0) printf "%d %.1f %.0f %.0f %.1f %.1f\n", a, r, ro * 1e6 / hz / a,
            pg * 1e6 / hz / a, c / a, w / a
        else print "0 0 - - - -"
    }'
}

# Each round of races: the same request to A and B at the same moment; the Accepts it got.
race() { # ROUND → number of Access-Accepts
    local user=race-$1 code
    code=$(oathtool --totp -b "$RACE_SEED")
    printf 'User-Name = "%s"\nUser-Password = "pw-race%s"\nMessage-Authenticator = 0x00\n' \
        "$user" "$code" >"$WORK/race.req"
    radclient -x -r 1 -t 5 -f "$WORK/race.req" "127.0.0.1:$PORT_A" auth "$SECRET" >"$WORK/race.a" 2>&1 &
    local a=$!
    radclient -x -r 1 -t 5 -f "$WORK/race.req" "127.0.0.1:$PORT_B" auth "$SECRET" >"$WORK/race.b" 2>&1 &
    local b=$!
    wait "$a" "$b" || true
    cat "$WORK/race.a" "$WORK/race.b" | grep -c 'Received Access-Accept' || true
}

say "warm-up, then $ROUNDS rounds of $BENCH_TIME: SQLite and PostgreSQL, one node and two"
measure "$S_PID" -- "$WORK/sqlite/radotp.toml" 4 "$PORT_S" >/dev/null
measure "$A_PID" "$B_PID" -- "$WORK/gen/radotp.toml" 4 "$PORT_A" "$PORT_B" >/dev/null
ROWS=()
RACED=0
RACED_ONE=0
for round in $(seq 1 "$ROUNDS"); do
    ROWS+=("sqlite $round 1 $(measure "$S_PID" -- "$WORK/sqlite/radotp.toml" "$PARALLEL" "$PORT_S")")
    ROWS+=("postgres $round 1 $(measure "$A_PID" "$B_PID" -- "$WORK/gen/radotp.toml" "$PARALLEL" "$PORT_A")")
    # Two nodes, with the races alongside (they start once the load is running).
    (
        sleep 1
        for r in $(seq 0 $((RACES - 1))); do
            race $(((round - 1) * RACES + r))
            sleep 0.05
        done >"$WORK/races.$round"
    ) &
    RACER=$!
    ROWS+=("postgres $round 2 $(measure "$A_PID" "$B_PID" -- "$WORK/gen/radotp.toml" "$PARALLEL" "$PORT_A" "$PORT_B")")
    wait "$RACER" || true
    RACED=$((RACED + $(wc -l <"$WORK/races.$round")))
    RACED_ONE=$((RACED_ONE + $(grep -cx 1 "$WORK/races.$round" || true)))
done

# What the statements of one PostgreSQL accept are (from the last one-node run's kind of load).
psql_pg "SELECT pg_stat_statements_reset()" >/dev/null
bench_run "$WORK/gen/radotp.toml" "$PARALLEL" "$PORT_A" >"$WORK/out.statements"
ACCEPTS=$(field accept "$(cat "$WORK/out.statements")")
STATEMENTS=$(psql_pg "SELECT to_char(calls::float / greatest($ACCEPTS, 1), 'FM990.00') || ' ' ||
        regexp_replace(left(query, 70), '\s+', ' ', 'g')
    FROM pg_stat_statements WHERE userid = (SELECT oid FROM pg_roles WHERE rolname = 'radotp')
      AND calls >= $ACCEPTS / 10 ORDER BY calls DESC, query")

# Overload: three times the one-node PostgreSQL rate.
capacity=$(printf '%s\n' "${ROWS[@]}" | awk '$1 == "postgres" && $3 == 1 { s += $5; n++ } END { printf "%.0f", s / n }')
over=$((capacity * 3))
say "overload: $over accepts/s for $OVERLOAD on PostgreSQL (3 × $capacity)"
r0=$(cpu_ticks "$A_PID")
OVER=$(timeout "$LIMIT" "$RADOTP" --config "$WORK/gen/radotp.toml" bench --server "127.0.0.1:$PORT_A" \
    --scenario accept --rate "$over" --duration "$OVERLOAD" --timeout 3s --json 2>>"$WORK/bench.err" || true)
r1=$(cpu_ticks "$A_PID")
RSS=$(awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$A_PID/status")
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report ----------------------------------------------------------------------------------
echo
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "PostgreSQL $PG_VERSION (its own cluster, 127.0.0.1); radotp $("$RADOTP" --version | cut -d' ' -f2) with ${WORKERS_RUNNING:-?} workers a node"
echo "load average before $LOAD_BEFORE, after $LOAD_AFTER; $USERS users; radotp bench, closed loop, $BENCH_TIME a run"
echo
printf '%-9s %5s %5s %8s %9s %11s %8s %11s %11s\n' store round nodes accepts accepts/s "radotp µs" "PG µs" statements "round trips"
for row in "${ROWS[@]}"; do
    # shellcheck disable=SC2086
    set -- $row
    if [ "$1" = sqlite ]; then set -- "$1" "$2" "$3" "$4" "$5" "$6" - - -; fi
    printf '%-9s %5s %5s %8s %9s %11s %8s %11s %11s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "$9"
done
echo
echo "µs: CPU time (utime+stime) per accept, of the radotp process(es) and of the radotp role's"
echo "PostgreSQL backends (clock tick $((1000000 / TICK)) µs); statements and round trips: per accept,"
echo "from pg_stat_statements (BEGIN/COMMIT included) and the requests the database received on the"
echo "servers' connections (ss -i data_segs_in). The"
echo "generator (its own role) ran on the same cores. Two nodes: -c $PARALLEL spread over both."
awk -v rows="$(printf '%s\n' "${ROWS[@]}")" 'BEGIN {
    n = split(rows, line, "\n")
    for (i = 1; i <= n; i++) {
        split(line[i], f, " ")
        if (f[1] == "sqlite") { s_rate += f[5]; s_cpu += f[6]; s++ }
        else if (f[3] == 1) { p_rate += f[5]; p_cpu += f[6]; p++ }
        else { t_rate += f[5]; t_cpu += f[6]; t++ }
    }
    if (s && p) printf "PostgreSQL ÷ SQLite, one node: accepts/s %.3f, radotp CPU per accept %.3f\n", \
        (p_rate / p) / (s_rate / s), (p_cpu / p) / (s_cpu / s)
    if (p && t) printf "two nodes ÷ one node on PostgreSQL: accepts/s %.3f, radotp CPU per accept %.3f\n", \
        (t_rate / t) / (p_rate / p), (t_cpu / t) / (p_cpu / p)
}'
echo "raced codes during the two-node runs: $RACED_ONE of $RACED rounds got exactly one Accept"
echo
echo "statements of a PostgreSQL accept (calls per accept, the statement's start):"
echo "  ${STATEMENTS//$'\n'/$'\n'  }"
echo
awk -v sent="$(field sent "$OVER")" -v acc="$(field accept "$OVER")" -v d="$OVERLOAD" \
    -v p50="$(grep -o '"p50":[0-9.]*' <<<"$OVER" | head -1 | cut -d: -f2)" \
    -v p99="$(grep -o '"p99":[0-9.]*' <<<"$OVER" | head -1 | cut -d: -f2)" \
    -v lost="$(field lost "$OVER")" -v cap="$capacity" -v over="$over" -v ro=$((r1 - r0)) \
    -v hz="$TICK" -v rss="$RSS" 'BEGIN {
    secs = d + 0 # the seconds of sending
    printf "overload on PostgreSQL, %d accepts/s for %s (3 × %d): sent %d, accepted within 3 s %d, no answer %d,\n", \
        over, d, cap, sent, acc, lost
    printf "  %.1f useful accepts per second of sending = %.0f %% of the closed-loop rate; p50 %s ms, p99 %s ms; radotp CPU %.1f s; RSS %s MiB\n", \
        acc / secs, 100 * acc / secs / cap, p50, p99, ro / hz, rss
}'
