#!/usr/bin/env bash
# Compare radotp's RadSec (RADIUS over TLS, RFC 6614) with FreeRADIUS's TLS listener on this
# machine, side by side, in one run.
#
# Makes a CA, a server certificate (localhost, 127.0.0.1) and a NAS certificate with openssl;
# starts FreeRADIUS (Debian's package; the TLS listener of its sites-available/tls, files +
# pap) and radotp (release build, RadSec only, a cheap argon2 cost) on two loopback ports, each
# with the same users, and one radsecproxy in front of each (UDP in, TLS out). Then, for each
# server, the same client load:
#
#   - Status-Server and rejects (an existing user, a wrong password) over RadSec straight from
#     bench/radsec-load.py (Python's ssl, i.e. OpenSSL): CONNECTIONS connections, WINDOW
#     requests in flight on each;
#   - rejects from `radotp bench` through radsecproxy (radsecproxy answers Status-Server itself,
#     so Status-Server through it would measure radsecproxy, not the server).
#
# It prints requests per second and the server's CPU time per answered request: utime + stime
# from /proc/PID/stat before and after, over the requests answered.
#
# Only 127.0.0.1 is used; nothing under /etc is read or changed. Everything started is stopped
# by PID on exit. Bounded: each client run by count and by `timeout`; a run takes about a
# minute after the build.
#
# Usage: bench/compare-radsec.sh            (as root, or with sudo for apt-get)
# Knobs (environment): CONNECTIONS=4 WINDOW=32 PARALLEL=32 DURATION=5 COUNT=200000 USERS=3000
#   FR_PORT=20830 RO_PORT=20831 PROXY_FR_PORT=18140 PROXY_RO_PORT=18141 RADOTP=path KEEP=1

set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# say, wait_up, cpu_ticks, now_ns, TICK, install_packages, radotp_binary, cleanup.
# shellcheck source=bench/common.sh
. "$ROOT/bench/common.sh"

CONNECTIONS=${CONNECTIONS:-4}
WINDOW=${WINDOW:-32}
PARALLEL=${PARALLEL:-32}
DURATION=${DURATION:-5}
COUNT=${COUNT:-200000}
USERS=${USERS:-3000}
FR_PORT=${FR_PORT:-20830}
RO_PORT=${RO_PORT:-20831}
PROXY_FR_PORT=${PROXY_FR_PORT:-18140}
PROXY_RO_PORT=${PROXY_RO_PORT:-18141}
SECRET=compare-secret-1234 # radsecproxy's UDP side
PASSWORD=benchpw
LIMIT=120 # seconds any single client run may take

# --- tools ---------------------------------------------------------------------------------
packages=()
command -v freeradius >/dev/null 2>&1 || packages+=(freeradius)
command -v radclient >/dev/null 2>&1 || packages+=(freeradius-utils)
command -v radsecproxy >/dev/null 2>&1 || packages+=(radsecproxy)
command -v openssl >/dev/null 2>&1 || packages+=(openssl)
command -v python3 >/dev/null 2>&1 || packages+=(python3)
install_packages "${packages[@]}"
radotp_binary

# --- state, and stopping what we start -------------------------------------------------------
WORK=$(mktemp -d /tmp/radotp-compare-radsec.XXXXXX)
PIDS=()
trap cleanup EXIT
mkdir -p "$WORK/pki" "$WORK/raddb" "$WORK/fr-log" "$WORK/fr-run" "$WORK/radotp"

# --- certificates ----------------------------------------------------------------------------
P=$WORK/pki
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ec "$P/ca.key"
openssl req -x509 -new -key "$P/ca.key" -out "$P/ca.pem" -days 7 -subj "/CN=radotp bench CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
leaf() { # NAME CN EXTENSIONS
    ec "$P/$1.key"
    openssl req -new -key "$P/$1.key" -out "$P/$1.csr" -subj "/CN=$2"
    printf '%b' "$3" >"$P/$1.ext"
    openssl x509 -req -in "$P/$1.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -CAcreateserial \
        -out "$P/$1.pem" -days 7 -extfile "$P/$1.ext" 2>/dev/null
}
leaf server localhost "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
leaf nas bench-nas "subjectAltName=DNS:bench-nas.example.org\nextendedKeyUsage=clientAuth\n"
chmod 600 "$P"/*.key

# --- configurations --------------------------------------------------------------------------
sed -e "s#@WORK@#$WORK#g" -e "s#@PORT@#$FR_PORT#g" \
    bench/freeradius/radsec.conf >"$WORK/raddb/radiusd.conf"
: >"$WORK/raddb/dictionary"
awk -v n="$USERS" -v pw="$PASSWORD" \
    'BEGIN { for (i = 0; i < n; i++) printf "bench-%07d Cleartext-Password := \"%s\"\n", i, pw }' \
    >"$WORK/raddb/users"
RCONF=$WORK/radotp/radotp.toml
cat >"$RCONF" <<TOML
# radotp for bench/compare-radsec.sh: RadSec only, no reject delay (the delay would be measured
# instead of the work), the cheapest argon2 cost (the TLS path is measured, not the hashing),
# and a
# lockout limit that benchmark rejects spread over the users do not reach.
[server]
listen = []
reject_delay_ms = 0

[database]
path = "radotp.db"

[password]
memory_kib = 8
iterations = 1
parallelism = 1

[lockout]
max_failures = 100

[radsec]
listen = ["127.0.0.1:$RO_PORT"]
certificate = "$P/server.pem"
private_key = "$P/server.key"
client_ca = "$P/ca.pem"

[[client]]
name = "bench"
address = "127.0.0.1/32"
transport = "radsec"
TOML
chmod 600 "$RCONF" "$WORK/raddb/radiusd.conf"
proxy_conf() { # UDP_PORT SERVER_PORT LOG
    cat <<CONF
ListenUDP 127.0.0.1:$1
LogLevel 2
LogDestination file://$3
tls bench {
	CACertificateFile $P/ca.pem
	CertificateFile $P/nas.pem
	CertificateKeyFile $P/nas.key
}
client udp {
	host 127.0.0.1
	type udp
	secret $SECRET
}
server tls {
	host 127.0.0.1
	port $2
	type tls
	tls bench
	secret radsec
	CertificateNameCheck on
}
realm * {
	server tls
}
CONF
}
proxy_conf "$PROXY_FR_PORT" "$FR_PORT" "$WORK/proxy-fr.log" >"$WORK/proxy-fr.conf"
proxy_conf "$PROXY_RO_PORT" "$RO_PORT" "$WORK/proxy-ro.log" >"$WORK/proxy-ro.conf"

say "creating $USERS bench users for radotp"
"$RADOTP" --config "$RCONF" bench --setup-users "$USERS" --password "$PASSWORD" >/dev/null

# --- servers ---------------------------------------------------------------------------------
freeradius -f -d "$WORK/raddb" -l "$WORK/fr-log/radius.log" &
FR_PID=$!
PIDS+=("$FR_PID")
"$RADOTP" --config "$RCONF" serve 2>"$WORK/radotp/serve.log" &
RO_PID=$!
PIDS+=("$RO_PID")
wait_log() { # FILE TEXT NAME PID
    local _
    for _ in $(seq 1 50); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        if ! kill -0 "$4" 2>/dev/null; then
            say "$3 exited at start; its log ($1):"
            tail -5 "$1" >&2
            exit 1
        fi
        sleep 0.2
    done
    say "$3 did not start within 10 s; its log is $1"
    exit 1
}
wait_log "$WORK/fr-log/radius.log" "Ready to process requests" FreeRADIUS "$FR_PID"
wait_log "$WORK/radotp/serve.log" "ready" radotp "$RO_PID"
radsecproxy -f -c "$WORK/proxy-fr.conf" 2>"$WORK/proxy-fr.stderr" &
PIDS+=($!)
PROXY_FR_PID=$!
radsecproxy -f -c "$WORK/proxy-ro.conf" 2>"$WORK/proxy-ro.stderr" &
PIDS+=($!)
PROXY_RO_PID=$!
wait_up "$PROXY_FR_PORT" "radsecproxy (FreeRADIUS)" "$PROXY_FR_PID" "$WORK/proxy-fr.log"
wait_up "$PROXY_RO_PORT" "radsecproxy (radotp)" "$PROXY_RO_PID" "$WORK/proxy-ro.log"

# --- measuring -------------------------------------------------------------------------------

# measure PID COMMAND… → "answered req/s cpu_us_per_request"; COMMAND prints JSON with
# "answered" and "requests_per_s" (radotp bench --json and radsec-load.py both do).
measure() {
    local pid=$1 before after out answered rate cpu
    shift
    if ! kill -0 "$pid" 2>/dev/null; then
        say "server process $pid is gone; see the logs under $WORK (run with KEEP=1)"
        exit 1
    fi
    before=$(cpu_ticks "$pid")
    out=$("$@" 2>&1 || true)
    after=$(cpu_ticks "$pid")
    answered=$(grep -o '"answered": *[0-9]*' <<<"$out" | grep -o '[0-9]*$' || true)
    rate=$(grep -o '"requests_per_s": *[0-9.]*' <<<"$out" | grep -o '[0-9.]*$' || true)
    answered=${answered:-0}
    rate=$(awk -v r="${rate:-0}" 'BEGIN { printf "%.0f", r }')
    cpu=$(awk -v t=$((after - before)) -v hz="$TICK" -v a="$answered" \
        'BEGIN { if (a > 0) printf "%.1f", t * 1e6 / hz / a; else print "-" }')
    if [ "$answered" = 0 ]; then
        say "no answers; the client said: $out"
    fi
    echo "$answered $rate $cpu"
}

direct() { # PORT SCENARIO
    timeout "$LIMIT" python3 bench/radsec-load.py --port "$1" --scenario "$2" \
        --ca "$P/ca.pem" --cert "$P/nas.pem" --key "$P/nas.key" --users "$USERS" \
        --password "$PASSWORD" --connections "$CONNECTIONS" --window "$WINDOW" \
        --count "$COUNT" --duration "$DURATION"
}
proxied() { # PROXY_PORT
    timeout "$LIMIT" "$RADOTP" --config "$RCONF" bench --server "127.0.0.1:$1" --secret "$SECRET" \
        --scenario reject --concurrency "$PARALLEL" --duration "${DURATION}s" --count "$COUNT" \
        --timeout 10s --json
}

say "Status-Server over RadSec: $CONNECTIONS connections × $WINDOW in flight, ${DURATION}s each"
S_FR=$(measure "$FR_PID" direct "$FR_PORT" status)
S_RO=$(measure "$RO_PID" direct "$RO_PORT" status)
say "rejects over RadSec: the same"
R_FR=$(measure "$FR_PID" direct "$FR_PORT" reject)
R_RO=$(measure "$RO_PID" direct "$RO_PORT" reject)
say "rejects through radsecproxy: radotp bench --concurrency $PARALLEL, ${DURATION}s each"
P_FR=$(measure "$FR_PID" proxied "$PROXY_FR_PORT")
P_RO=$(measure "$RO_PID" proxied "$PROXY_RO_PORT")

# --- report ----------------------------------------------------------------------------------
row() { # WORKLOAD CLIENT FR RO
    # shellcheck disable=SC2086
    printf '%-14s %-28s %9s %9s %10s   %9s %9s %10s\n' "$1" "$2" $3 $4
}
echo
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "$(freeradius -v | head -1 | sed 's/^radiusd: //; s/, for host.*//') vs radotp $("$RADOTP" --version | cut -d' ' -f2); $(radsecproxy -v 2>&1 | head -1)"
echo "radotp's RadSec sessions: $(grep -o 'tls="[^"]*"' "$WORK/radotp/serve.log" | sort | uniq -c | sed 's/tls=//; s/"//g' | paste -sd, - || true)"
echo
printf '%-14s %-28s %31s   %31s\n' "" "" "---------- FreeRADIUS ----------" "------------ radotp ------------"
printf '%-14s %-28s %9s %9s %10s   %9s %9s %10s\n' workload client answered req/s "CPU µs/req" answered req/s "CPU µs/req"
row Status-Server "radsec-load.py ${CONNECTIONS}×$WINDOW" "$S_FR" "$S_RO"
row reject "radsec-load.py ${CONNECTIONS}×$WINDOW" "$R_FR" "$R_RO"
row reject "radsecproxy ← bench -c $PARALLEL" "$P_FR" "$P_RO"
echo
for pair in "Status-Server:$S_FR:$S_RO" "reject (direct):$R_FR:$R_RO" "reject (radsecproxy):$P_FR:$P_RO"; do
    IFS=: read -r name fr ro <<<"$pair"
    awk -v n="$name" -v fr="$(cut -d' ' -f3 <<<"$fr")" -v ro="$(cut -d' ' -f3 <<<"$ro")" \
        'BEGIN { if (fr > 0) printf "radotp CPU per request, %s: %.0f %% of FreeRADIUS'"'"'s\n", n, 100 * ro / fr }'
done
echo "CPU is the server process's utime+stime over the answered requests (clock tick $((1000000 / TICK)) µs)."
echo "FreeRADIUS compares a cleartext password; radotp verifies an argon2id hash (m=8 KiB, t=1) per reject."
