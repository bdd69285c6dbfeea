#!/usr/bin/env bash
# Compare radotp with FreeRADIUS on directory logins: the password checked by an LDAP bind.
#
# Starts one OpenLDAP slapd (Debian's 2.5, installed if missing) with USERS users
# (uid=bench-0000000… under ou=people, inetOrgPerson, a plain userPassword) and a service
# account, then FreeRADIUS 3.2 (rlm_ldap, PAP by bind) and radotp (release build, [directory]
# with the same bench users as directory users), both searching and binding against that slapd.
# Both are driven at the same parallelism:
#
# - wrong password: an existing user, a wrong password (one search and one failed bind for
#   both), radclient over distinct users;
# - right password: FreeRADIUS with radclient (the password; Access-Accept expected), radotp
#   with `radotp bench --scenario accept` (the password and the user's current TOTP code, each
#   user once per step), since radclient cannot compute the codes.
#
# For each it prints the answers, requests per second, and the CPU time per answered request of
# the RADIUS server and of slapd: utime + stime from /proc/PID/stat before and after, over the
# requests answered.
#
# Only 127.0.0.1 is used, plain LDAP (radotp needs allow_plaintext = true for that); nothing
# under /etc/freeradius or /etc/ldap is read or changed, except the schemas (the configurations
# are generated under a temporary folder). Everything started is stopped by PID on exit.
# Bounded: each client run is bounded by count and by `timeout`; a full run takes under a minute
# after the build (35 s on 2 cores with the defaults).
#
# Usage: bench/compare-ldap.sh            (as root, or with sudo for apt-get)
# Knobs (environment): PARALLEL=16 USERS=100000 WRONG_N=20000 RIGHT_N_FR=20000 BENCH_TIME=10s CHUNK=1000
#   FR_PORT=18130 RO_PORT=18131 LDAP_PORT=18389 RO_WORKERS=0 RADOTP=path/to/radotp KEEP=1

set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# say, wait_up, cpu_ticks, now_ns, TICK: shared with the other comparison.
# shellcheck source=bench/common.sh
. "$ROOT/bench/common.sh"

PARALLEL=${PARALLEL:-16}
USERS=${USERS:-100000}
WRONG_N=${WRONG_N:-20000}
RIGHT_N_FR=${RIGHT_N_FR:-20000}
BENCH_TIME=${BENCH_TIME:-10s}
CHUNK=${CHUNK:-1000} # requests per radclient run (see below)
FR_PORT=${FR_PORT:-18130}
RO_PORT=${RO_PORT:-18131}
LDAP_PORT=${LDAP_PORT:-18389}
RO_WORKERS=${RO_WORKERS:-0} # radotp's [server] workers; 0 (one per core) as in bench/radotp-compare.toml
SECRET=compare-secret-1234
PASSWORD=benchpw
SERVICE_DN=cn=radotp,ou=service,dc=example,dc=org
SERVICE_PW=bench-service-pw-1234
ROOT_PW=bench-admin-pw-1234
WARMUP=200 # requests to each server before measuring (connections opened, caches warm)
LIMIT=120  # seconds any single client run may take


if [ $((WRONG_N + RIGHT_N_FR + WARMUP)) -gt "$USERS" ]; then
    say "WRONG_N + RIGHT_N_FR + $WARMUP must not exceed USERS (each request its own user)"
    exit 2
fi

# --- tools ---------------------------------------------------------------------------------
packages=()
command -v freeradius >/dev/null 2>&1 || packages+=(freeradius)
command -v radclient >/dev/null 2>&1 || packages+=(freeradius-utils)
[ -e /usr/lib/freeradius/rlm_ldap.so ] || packages+=(freeradius-ldap)
if [ ! -x /usr/sbin/slapd ] || [ ! -x /usr/sbin/slapadd ]; then
    packages+=(slapd)
fi
command -v ldapwhoami >/dev/null 2>&1 || packages+=(ldap-utils)
install_packages "${packages[@]}"
radotp_binary

# --- state, and stopping what we start -------------------------------------------------------
WORK=$(mktemp -d /tmp/radotp-compare-ldap.XXXXXX)
PIDS=()
trap cleanup EXIT

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# --- the directory ---------------------------------------------------------------------------
mkdir -p "$WORK/slapd/db" "$WORK/raddb" "$WORK/fr-log" "$WORK/fr-run" "$WORK/radotp"
sed -e "s#@WORK@#$WORK#g" -e "s#@ROOT_PW@#$ROOT_PW#g" -e "s#@SERVICE_DN@#$SERVICE_DN#g" \
    bench/freeradius-ldap/slapd.conf >"$WORK/slapd/slapd.conf"
chmod 600 "$WORK/slapd/slapd.conf"
awk -v n="$USERS" -v pw="$PASSWORD" -v sdn="$SERVICE_DN" -v spw="$SERVICE_PW" 'BEGIN {
    print "dn: dc=example,dc=org\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n"
    print "dn: ou=service,dc=example,dc=org\nobjectClass: organizationalUnit\nou: service\n"
    printf "dn: %s\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\ncn: radotp\nuserPassword: %s\n\n", sdn, spw
    print "dn: ou=people,dc=example,dc=org\nobjectClass: organizationalUnit\nou: people\n"
    for (i = 0; i < n; i++) {
        u = sprintf("bench-%07d", i)
        printf "dn: uid=%s,ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\nuserPassword: %s\n\n", u, u, u, u, pw
    }
}' >"$WORK/slapd/users.ldif"
say "loading $USERS users into slapd (slapadd)"
if ! slapadd -q -f "$WORK/slapd/slapd.conf" -l "$WORK/slapd/users.ldif" >"$WORK/slapd/slapadd.log" 2>&1; then
    say "slapadd failed:"
    tail -5 "$WORK/slapd/slapadd.log" >&2
    exit 1
fi
slapd -d 0 -f "$WORK/slapd/slapd.conf" -h "ldap://127.0.0.1:$LDAP_PORT/" \
    </dev/null >"$WORK/slapd/slapd.log" 2>&1 &
LD_PID=$!
PIDS+=("$LD_PID")
for i in $(seq 1 50); do
    if ! kill -0 "$LD_PID" 2>/dev/null; then
        say "slapd exited at start; its log ($WORK/slapd/slapd.log):"
        tail -5 "$WORK/slapd/slapd.log" >&2
        exit 1
    fi
    if timeout 2 ldapwhoami -x -H "ldap://127.0.0.1:$LDAP_PORT" -D "$SERVICE_DN" -w "$SERVICE_PW" \
        >/dev/null 2>&1; then
        break
    fi
    if [ "$i" = 50 ]; then
        say "slapd did not let the service account bind on 127.0.0.1:$LDAP_PORT within 10 s"
        exit 1
    fi
    sleep 0.2
done
if ! timeout 2 ldapwhoami -x -H "ldap://127.0.0.1:$LDAP_PORT" \
    -D "uid=bench-0000000,ou=people,dc=example,dc=org" -w "$PASSWORD" >/dev/null 2>&1; then
    say "slapd is up, but bench-0000000 cannot bind with the bench password"
    exit 1
fi

# --- configurations --------------------------------------------------------------------------
POOL=$PARALLEL
sed -e "s#@WORK@#$WORK#g" -e "s#@PORT@#$FR_PORT#g" -e "s#@SECRET@#$SECRET#g" \
    -e "s#@LDAP_PORT@#$LDAP_PORT#g" -e "s#@SERVICE_DN@#$SERVICE_DN#g" \
    -e "s#@SERVICE_PW@#$SERVICE_PW#g" -e "s#@POOL@#$POOL#g" \
    bench/freeradius-ldap/radiusd.conf >"$WORK/raddb/radiusd.conf"
: >"$WORK/raddb/dictionary"
RCONF=$WORK/radotp/radotp.toml
{
    sed -e "s#@PORT@#$RO_PORT#g" -e "s#@SECRET@#$SECRET#g" \
        -e "s#^workers = 0\$#workers = $RO_WORKERS#" bench/radotp-compare.toml
    sed -e "s#@WORK@#$WORK#g" -e "s#@LDAP_PORT@#$LDAP_PORT#g" -e "s#@SERVICE_DN@#$SERVICE_DN#g" \
        bench/freeradius-ldap/radotp-directory.toml
} >"$RCONF"
printf '%s\n' "$SERVICE_PW" >"$WORK/radotp/directory.pw"
chmod 600 "$RCONF" "$WORK/radotp/directory.pw" "$WORK/raddb/radiusd.conf"

if ! "$RADOTP" --config "$RCONF" check-config >"$WORK/radotp/check-config.log" 2>&1; then
    say "radotp check-config failed:"
    cat "$WORK/radotp/check-config.log" >&2
    exit 1
fi
say "creating $USERS bench users for radotp (password source: directory)"
"$RADOTP" --config "$RCONF" bench --setup-users "$USERS" --password "$PASSWORD" \
    --password-source directory >/dev/null

# Request files, one user each, Message-Authenticator in all: a warm-up (the last users), the
# wrong passwords (users 0…), FreeRADIUS's right passwords (the users after those).
# radotp is sent the wrong password as typed: a password and a code ("000000") that is not the
# user's, so it binds with the whole input, and fails.
# In files of CHUNK requests, sent one after the other: radclient slows down as its file grows
# (with -p 16 against FreeRADIUS here: ~4,000 req/s from a file of 2,000 requests, ~1,200 from
# one of 20,000), which would measure radclient instead of the servers.
requests() { # FIRST COUNT PASSWORD FOLDER
    mkdir -p "$4"
    awk -v first="$1" -v n="$2" -v pw="$3" -v chunk="$CHUNK" -v dir="$4" 'BEGIN {
        for (i = first; i < first + n; i++) {
            file = sprintf("%s/%05d.txt", dir, int((i - first) / chunk))
            printf "User-Name = \"bench-%07d\", User-Password = \"%s\", Message-Authenticator = 0x00\n\n", i, pw >file
            if ((i - first + 1) % chunk == 0) close(file)
        }
    }'
}
requests $((USERS - WARMUP)) "$WARMUP" wrongpw "$WORK/warmup-fr"
requests $((USERS - WARMUP)) "$WARMUP" wrongpw000000 "$WORK/warmup-ro"
requests 0 "$WRONG_N" wrongpw "$WORK/wrong-fr"
requests 0 "$WRONG_N" wrongpw000000 "$WORK/wrong-ro"
requests "$WRONG_N" "$RIGHT_N_FR" "$PASSWORD" "$WORK/right-fr"

# --- servers ---------------------------------------------------------------------------------
freeradius -f -d "$WORK/raddb" -l "$WORK/fr-log/radius.log" &
FR_PID=$!
PIDS+=("$FR_PID")
"$RADOTP" --config "$RCONF" serve 2>"$WORK/radotp/serve.log" &
RO_PID=$!
PIDS+=("$RO_PID")

wait_up "$FR_PORT" FreeRADIUS "$FR_PID" "$WORK/fr-log/radius.log"
wait_up "$RO_PORT" radotp "$RO_PID" "$WORK/radotp/serve.log"
WORKERS_RUNNING=$(grep -o 'ready.* workers=[0-9]*' "$WORK/radotp/serve.log" | grep -o '[0-9]*$' || true)

# --- measuring -------------------------------------------------------------------------------
child_ticks() { # PID → utime + stime of its children that it has waited for
    local stat rest
    stat=$(cat "/proc/$1/stat")
    rest=${stat##*) }
    # shellcheck disable=SC2086
    set -- $rest
    echo $((${14} + ${15}))
}
machine_ticks() { # → "busy total", all cores, in clock ticks
    local user nice system idle iowait irq softirq steal
    read -r _ user nice system idle iowait irq softirq steal _ </proc/stat
    echo "$((user + nice + system + irq + softirq + steal))" \
        "$((user + nice + system + idle + iowait + irq + softirq + steal))"
}
ours() { # → ticks of the servers, slapd and this script's finished children (the clients)
    echo $(($(cpu_ticks "$FR_PID") + $(cpu_ticks "$RO_PID") + $(cpu_ticks "$LD_PID") + $(child_ticks $$)))
}
per_request() { # TICKS ANSWERED → µs per request
    awk -v t="$1" -v hz="$TICK" -v a="$2" \
        'BEGIN { if (a > 0) printf "%.0f", t * 1e6 / hz / a; else print "-" }'
}

# measure PID KIND COMMAND… → prints "answered req/s server_µs slapd_µs accepts rejects lost
# p50_ms"; KIND says how to read the client's output: radclient (-s summary) or bench (--json).
measure() {
    local pid=$1 kind=$2 before ld_before after ld_after start end out
    local answered rate accepts rejects lost p50
    shift 2
    if ! kill -0 "$pid" 2>/dev/null || ! kill -0 "$LD_PID" 2>/dev/null; then
        say "server process $pid or slapd is gone; see the logs under $WORK (run with KEEP=1)"
        exit 1
    fi
    before=$(cpu_ticks "$pid")
    ld_before=$(cpu_ticks "$LD_PID")
    start=$(now_ns)
    out=$("$@" 2>&1 || true)
    end=$(now_ns)
    after=$(cpu_ticks "$pid")
    ld_after=$(cpu_ticks "$LD_PID")
    if [ "$kind" = radclient ]; then
        count() { awk -F: -v k="$1" '$1 ~ k { gsub(/[ \t]/, "", $2); n += $2 } END { print n + 0 }' <<<"$out"; }
        accepts=$(count Accepted)
        rejects=$(count Rejected)
        lost=$(count Lost)
        answered=$((accepts + rejects))
        rate=$(awk -v a="$answered" -v ns=$((end - start)) 'BEGIN { printf "%.0f", a / (ns / 1e9) }')
        p50=-
    else
        field() { grep -o "\"$1\":[0-9.]*" <<<"$out" | head -1 | cut -d: -f2 || true; }
        answered=$(field answered)
        accepts=$(field accept)
        rejects=$(field reject)
        lost=$(field lost)
        rate=$(awk -v r="$(field requests_per_s)" 'BEGIN { printf "%.0f", r }')
        p50=$(field p50)
        answered=${answered:-0}
        if [ "$answered" = 0 ]; then
            say "radotp bench answered nothing; its output:"
            say "$out"
        fi
    fi
    printf '%s\n' "$out" >>"$WORK/clients.log"
    echo "$answered $rate $(per_request $((after - before)) "$answered")" \
        "$(per_request $((ld_after - ld_before)) "$answered") ${accepts:-0} ${rejects:-0}" \
        "${lost:-0} ${p50:--}"
}

radclient_run() { # PORT FOLDER: its files one after the other, each bounded
    local file
    for file in "$2"/*.txt; do
        timeout "$LIMIT" radclient -s -q -r 1 -t 10 -p "$PARALLEL" -f "$file" "127.0.0.1:$1" auth "$SECRET" ||
            true
    done
}
bench_run() { # PORT SCENARIO
    timeout "$LIMIT" "$RADOTP" --config "$RCONF" bench --server "127.0.0.1:$1" --secret "$SECRET" \
        --scenario "$2" --concurrency "$PARALLEL" --duration "$BENCH_TIME" --count "$USERS" \
        --timeout 10s --json
}

read -r BUSY_BEFORE TOTAL_BEFORE < <(machine_ticks)
OURS_BEFORE=$(ours)
say "warm-up: $WARMUP wrong passwords to each"
measure "$FR_PID" radclient radclient_run "$FR_PORT" "$WORK/warmup-fr" >/dev/null
measure "$RO_PID" radclient radclient_run "$RO_PORT" "$WORK/warmup-ro" >/dev/null
say "wrong password: radclient -p $PARALLEL, $WRONG_N requests (users) each, $CHUNK a run"
W_FR=$(measure "$FR_PID" radclient radclient_run "$FR_PORT" "$WORK/wrong-fr")
W_RO=$(measure "$RO_PID" radclient radclient_run "$RO_PORT" "$WORK/wrong-ro")
say "right password: FreeRADIUS with radclient -p $PARALLEL ($RIGHT_N_FR users, $CHUNK a run)," \
    "radotp with radotp bench -c $PARALLEL ($BENCH_TIME)"
A_FR=$(measure "$FR_PID" radclient radclient_run "$FR_PORT" "$WORK/right-fr")
A_RO=$(measure "$RO_PID" bench bench_run "$RO_PORT" accept)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
OURS_AFTER=$(ours)
read -r BUSY_AFTER TOTAL_AFTER < <(machine_ticks)

# --- report ----------------------------------------------------------------------------------
row() { # WORKLOAD SERVER CLIENT "answered rate cpu slapd accepts rejects lost p50"
    local answered rate cpu ld accepts rejects lost p50 total
    read -r answered rate cpu ld accepts rejects lost p50 <<<"$4"
    total=$(awk -v a="$cpu" -v b="$ld" 'BEGIN { if (a != "-" && b != "-") print a + b; else print "-" }')
    printf '%-15s %-10s %-19s %8s %8s %7s %5s %7s %10s %9s %9s %7s\n' "$1" "$2" "$3" \
        "$answered" "$accepts" "$rejects" "$lost" "$rate" "$cpu" "$ld" "$total" "$p50"
}
fr_version=$(freeradius -v | head -1 | sed 's/^radiusd: //; s/, for host.*//')
slapd_version=$(slapd -VV 2>&1 | head -1 | sed 's/^.*: slapd /slapd /; s/ (.*//')
echo
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "$fr_version (rlm_ldap) vs radotp $("$RADOTP" --version | cut -d' ' -f2), directory $slapd_version"
echo "load average before $LOAD_BEFORE, after $LOAD_AFTER"
awk -v b=$((BUSY_AFTER - BUSY_BEFORE)) -v t=$((TOTAL_AFTER - TOTAL_BEFORE)) -v o=$((OURS_AFTER - OURS_BEFORE)) 'BEGIN {
    if (t > 0) printf "during the measurements the cores were %.0f %% busy; %.0f points of that were not the servers,\n" \
        "slapd or the clients (kernel threads, interrupts, other processes)\n", 100 * b / t, 100 * (b - o) / t
}'
echo "$USERS directory users; plain ldap://127.0.0.1:$LDAP_PORT for both (radotp: allow_plaintext = true);"
echo "the same user filter for both: (&(objectClass=inetOrgPerson)(uid=NAME))"
echo
printf '%-15s %-10s %-19s %8s %8s %7s %5s %7s %10s %9s %9s %7s\n' workload server client \
    answered accepts rejects lost req/s "server µs" "slapd µs" "total µs" "p50 ms"
row "wrong password" FreeRADIUS "radclient -p $PARALLEL" "$W_FR"
row "wrong password" radotp "radclient -p $PARALLEL" "$W_RO"
row "right password" FreeRADIUS "radclient -p $PARALLEL" "$A_FR"
row "right password" radotp "radotp bench -c $PARALLEL" "$A_RO"
echo
echo "µs: CPU time (utime+stime) per answered request of the RADIUS server process and of slapd"
echo "(clock tick $((1000000 / TICK)) µs); total = both. The clients ran on the same cores; radclient"
echo "sent files of $CHUNK requests one after the other (it slows down on long files)."
echo "Expected: wrong password all rejects, right password all accepts."
echo "FreeRADIUS: rlm_ldap searches on a pooled connection, then binds as the user on a pooled"
echo "connection, which is bound again as the service account before it next searches (pool of"
echo "$POOL to 32, one thread a request: up to $PARALLEL at once). radotp: the code checked"
echo "locally, a search on one shared service connection, a bind on a connection kept for binds,"
echo "in a password worker, which waits for both: [server] workers = $RO_WORKERS (${WORKERS_RUNNING:-?} running)."
ro_outcomes=$(grep -o 'outcome=[a-z_-]*' "$WORK/radotp/serve.log" | sort | uniq -c |
    awk '{ printf "%s%s %s", sep, $2, $1; sep = ", " }' || true)
ro_reasons=$(grep 'message=request' "$WORK/radotp/serve.log" | grep -o 'reason="[^"]*"' | sort |
    uniq -c | awk '{ n = $1; $1 = ""; printf "%s%s %s", sep, substr($0, 2), n; sep = ", " }' || true)
ro_problems=$(grep -E 'level=(warn|error)' "$WORK/radotp/serve.log" | grep -vc 'message=request' || true)
fr_errors=$(grep -c -i -E 'error|warning' "$WORK/fr-log/radius.log" || true)
echo "radotp serve.log: ${ro_outcomes:-no request lines} (${ro_reasons:-no reasons});"
echo "  $ro_problems other warn/error lines. FreeRADIUS radius.log: $fr_errors error/warning lines."
grep -E 'level=(warn|error)' "$WORK/radotp/serve.log" | grep -v 'message=request' | head -3 |
    sed -e 's/^timestamp=[^ ]* //' -e 's/ target=.*//' -e 's/^/  radotp: /' | cut -c1-140 || true
