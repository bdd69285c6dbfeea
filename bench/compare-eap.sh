#!/usr/bin/env bash
# Compare radotp's EAP-TTLS/PAP with FreeRADIUS 3.2's on this machine, side by side, in one
# run: full logins (a TLS handshake and the inner PAP check) and resumed ones (an abbreviated
# handshake on a cached session, no inner check).
#
# Makes a CA and a server certificate (localhost, 127.0.0.1; ECDSA P-256) with openssl; starts
# FreeRADIUS (Debian's package; bench/freeradius-eap/radiusd.conf: the eap module, TTLS with
# inner PAP, users with cleartext passwords from `files`, the TLS session cache on) and radotp
# (release build, `[eap]`, the cheapest argon2 cost, bench users) on two loopback ports. Then,
# for each server, the same client load, Debian's `eapol_test` (hostap 2.10) as the supplicant:
#
#   - full logins: PARALLEL workers, each running eapol_test one login at a time (a process per
#     login), COUNT logins in all, every login a different user;
#   - resumed logins: PARALLEL workers, RESUME_RUNS eapol_test processes in all, each with
#     `-r REAUTH`: one full login, then REAUTH re-authentications in the same process, which
#     keeps its TLS session (hostap keeps the session across `-r` rounds), so every round after
#     the first resumes it when the server cached it. eapol_test's `OpenSSL: Handshake finished
#     - resumed=1` lines count the rounds that did.
#
# It prints logins per second and the server's CPU per login: utime + stime from
# /proc/PID/stat before and after each pass. A resumed login's CPU cannot be measured alone
# (each -r process starts with a full login), so it is derived: the resumed pass's CPU, minus
# its full handshakes at the full pass's CPU per login, divided by the rounds that resumed;
# its rate is the resumed rounds over the pass's time minus the full handshakes' share of it at
# the full pass's rate — a lower bound, client-bound: eapol_test waits 100 ms before each -r
# round (eloop_register_timeout(0, 100000, eapol_sm_reauth, …) in eapol_test.c), which is why
# the resumed pass runs RESUME_PARALLEL processes at a time (default 4 × PARALLEL).
# Only successful logins (eapol_test's `SUCCESS`, MPPE keys checked) count.
#
# radotp's logins carry the bench password and the user's current TOTP code (computed here from
# the bench users' recorded master seed with oathtool); a code is good once per user and step,
# so each full login, of either pass, is a user of its own: USERS must be at least
# COUNT + RESUME_RUNS. Resumed rounds need no code (radotp checks no password on resumption).
#
# Only 127.0.0.1 is used; nothing under /etc is read or changed. Everything started is stopped
# by PID on exit. Bounded: every eapol_test by its own -t and by `timeout`.
#
# Usage: bench/compare-eap.sh            (as root, or with sudo for apt-get)
# Knobs (environment): PARALLEL=8 RESUME_PARALLEL=32 COUNT=2000 RESUME_RUNS=200 REAUTH=10 USERS=2500 TLS13=0
#   ONLY=freeradius (skip radotp) FR_PORT=20840 RO_PORT=20841 RADOTP=path KEEP=1

set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# say, wait_up, cpu_ticks, now_ns, TICK, install_packages, radotp_binary, cleanup.
# shellcheck source=bench/common.sh
. "$ROOT/bench/common.sh"

PARALLEL=${PARALLEL:-8}
RESUME_PARALLEL=${RESUME_PARALLEL:-$((4 * PARALLEL))}
COUNT=${COUNT:-2000}
RESUME_RUNS=${RESUME_RUNS:-200}
REAUTH=${REAUTH:-10}
USERS=${USERS:-2500}
TLS13=${TLS13:-0}
ONLY=${ONLY:-}
FR_PORT=${FR_PORT:-20840}
RO_PORT=${RO_PORT:-20841}
SECRET=compare-secret-1234
PASSWORD=benchpw
LIMIT=30 # seconds any single eapol_test may take (its own -t is 10 per round)

if [ "$USERS" -lt $((COUNT + RESUME_RUNS)) ]; then
    say "USERS ($USERS) must be at least COUNT + RESUME_RUNS ($((COUNT + RESUME_RUNS))): a code is good once per user"
    exit 1
fi

# --- tools ---------------------------------------------------------------------------------
packages=()
command -v freeradius >/dev/null 2>&1 || packages+=(freeradius)
command -v radclient >/dev/null 2>&1 || packages+=(freeradius-utils)
command -v eapol_test >/dev/null 2>&1 || packages+=(eapoltest)
command -v openssl >/dev/null 2>&1 || packages+=(openssl)
command -v oathtool >/dev/null 2>&1 || packages+=(oathtool)
command -v python3 >/dev/null 2>&1 || packages+=(python3)
install_packages "${packages[@]}"
[ "$ONLY" = freeradius ] || radotp_binary

# --- state, and stopping what we start -------------------------------------------------------
WORK=$(mktemp -d /tmp/radotp-compare-eap.XXXXXX)
PIDS=()
trap cleanup EXIT
mkdir -p "$WORK/pki" "$WORK/raddb" "$WORK/fr-log" "$WORK/fr-run" "$WORK/fr-tlscache" \
    "$WORK/radotp" "$WORK/runs"

# --- certificates ----------------------------------------------------------------------------
P=$WORK/pki
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ec "$P/ca.key"
openssl req -x509 -new -key "$P/ca.key" -out "$P/ca.pem" -days 7 -subj "/CN=radotp bench CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
ec "$P/server.key"
openssl req -new -key "$P/server.key" -out "$P/server.csr" -subj "/CN=localhost"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$P/server.ext"
openssl x509 -req -in "$P/server.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -CAcreateserial \
    -out "$P/server.pem" -days 7 -extfile "$P/server.ext" 2>/dev/null
chmod 600 "$P"/*.key

# --- FreeRADIUS ------------------------------------------------------------------------------
TLS_MAX=1.2
[ "$TLS13" = 1 ] && TLS_MAX=1.3
sed -e "s#@WORK@#$WORK#g" -e "s#@PORT@#$FR_PORT#g" -e "s#@SECRET@#$SECRET#g" \
    -e "s#@PKI@#$P#g" -e "s#@TLS_MAX@#$TLS_MAX#g" \
    bench/freeradius-eap/radiusd.conf >"$WORK/raddb/radiusd.conf"
: >"$WORK/raddb/dictionary"
awk -v n="$USERS" -v pw="$PASSWORD" \
    'BEGIN { for (i = 0; i < n; i++) printf "bench-%07d Cleartext-Password := \"%s\"\n", i, pw }' \
    >"$WORK/raddb/users"
chmod 600 "$WORK/raddb/radiusd.conf"

start_freeradius() {
    freeradius -f -d "$WORK/raddb" -l "$WORK/fr-log/radius.log" &
    FR_PID=$!
    PIDS+=("$FR_PID")
    wait_up "$FR_PORT" FreeRADIUS "$FR_PID" "$WORK/fr-log/radius.log"
}

# --- radotp ----------------------------------------------------------------------------------
RCONF=$WORK/radotp/radotp.toml
# >>> start_radotp: radotp's half. Writes radotp's configuration (UDP on RO_PORT, [eap] with the
# same certificate, the cheapest argon2 cost: the EAP path is measured, not the hashing), makes
# USERS bench users (password $PASSWORD, a TOTP seed each), starts `radotp serve` and waits for
# it to answer Status-Server. Sets RO_PID and SEEDS (a file: "name hex-seed" per user).
start_radotp() {
    cat >"$RCONF" <<TOML
# radotp for bench/compare-eap.sh: EAP-TTLS (and PEAP) on UDP, no reject delay (the delay
# would be measured instead of the work), the cheapest argon2 cost, and a lockout limit the
# benchmark does not reach.
[server]
listen = ["127.0.0.1:$RO_PORT"]
reject_delay_ms = 0

[database]
path = "radotp.db"

[password]
memory_kib = 8
iterations = 1
parallelism = 1

[lockout]
max_failures = 100

[eap]
certificate = "$P/server.pem"
private_key = "$P/server.key"
methods = ["ttls", "peap"]
fragment_size = 1024
resumption_hours = 8
max_conversations = 4096

[[client]]
name = "bench"
address = "127.0.0.1/32"
secret = "$SECRET"
require_message_authenticator = true
TOML
    chmod 600 "$RCONF"
    say "creating $USERS bench users for radotp"
    "$RADOTP" --config "$RCONF" bench --setup-users "$USERS" --password "$PASSWORD" >/dev/null
    # Each bench user's TOTP seed is HMAC-SHA256(master seed, name) cut to 20 octets
    # (crates/tools/src/bench/users.rs); the master seed is recorded beside the database.
    SEEDS=$WORK/radotp/seeds
    python3 - "$WORK/radotp/radotp.db.bench.json" >"$SEEDS" <<'PY'
import hashlib, hmac, json, sys
f = json.load(open(sys.argv[1]))
assert f["algorithm"].upper() == "SHA1" and f["digits"] == 6 and f["period"] == 30, f
key = bytes.fromhex(f["master_seed"])
for i in range(f["count"]):
    name = "%s-%07d" % (f["prefix"], i)
    print(name, hmac.new(key, name.encode(), hashlib.sha256).hexdigest()[:40])
PY
    "$RADOTP" --config "$RCONF" serve 2>"$WORK/radotp/serve.log" &
    RO_PID=$!
    PIDS+=("$RO_PID")
    wait_up "$RO_PORT" radotp "$RO_PID" "$WORK/radotp/serve.log"
}
# <<< start_radotp

# --- the load --------------------------------------------------------------------------------

# login KIND PORT INDEX REAUTH OUT → one eapol_test run as user INDEX; appends "ok resumed
# handshakes" or "fail" to OUT. KIND: fr (the bench password) or ro (password and current code).
login() {
    local kind=$1 port=$2 index=$3 reauth=$4 out=$5 name password conf log seed
    name=$(printf 'bench-%07d' "$index")
    password=$PASSWORD
    if [ "$kind" = ro ]; then
        seed=$(sed -n "$((index + 1))p" "$SEEDS" | cut -d' ' -f2)
        password=$PASSWORD$(oathtool --totp -d 6 -s 30s "$seed")
    fi
    conf=$WORK/runs/$kind-$index.conf
    log=$WORK/runs/$kind-$index.log
    cat >"$conf" <<CONF
network={
	ssid="eapol-test"
	key_mgmt=WPA-EAP
	eap=TTLS
	identity="$name"
	anonymous_identity="anonymous"
	password="$password"
	ca_cert="$P/ca.pem"
	phase1="tls_disable_tlsv1_3=$((1 - TLS13))"
	phase2="auth=PAP"
}
CONF
    local args=(-c "$conf" -a 127.0.0.1 -p "$port" -s "$SECRET" -t 10)
    [ "$reauth" -gt 0 ] && args+=(-r "$reauth")
    if timeout "$LIMIT" eapol_test "${args[@]}" >"$log" 2>&1 && [ "$(tail -1 "$log")" = SUCCESS ] &&
        grep -q '^MPPE keys OK: [1-9][0-9]*  mismatch: 0' "$log"; then
        echo "ok $(grep -c '^OpenSSL: Handshake finished - resumed=1' "$log") $(grep -c '^OpenSSL: Handshake finished' "$log")" >>"$out"
        rm -f "$log"
    else
        echo fail >>"$out"
    fi
    rm -f "$conf"
}

# pass KIND PORT PID FIRST RUNS REAUTH WORKERS → "runs ok resumed handshakes seconds ticks":
# RUNS eapol_test runs, users FIRST…FIRST+RUNS-1, WORKERS at a time, with the server's CPU ticks.
pass() {
    local kind=$1 port=$2 pid=$3 first=$4 runs=$5 reauth=$6 workers=$7 out w before after t0 t1
    if ! kill -0 "$pid" 2>/dev/null; then
        say "server process $pid is gone; see the logs under $WORK (run with KEEP=1)"
        exit 1
    fi
    out=$WORK/runs/$kind-$first-$reauth.results
    : >"$out"
    before=$(cpu_ticks "$pid")
    t0=$(now_ns)
    for ((w = 0; w < workers; w++)); do
        (
            local i
            for ((i = w; i < runs; i += workers)); do
                login "$kind" "$port" $((first + i)) "$reauth" "$out"
            done
        ) &
    done
    wait_workers
    t1=$(now_ns)
    after=$(cpu_ticks "$pid")
    awk -v runs="$runs" -v s="$(((t1 - t0) / 1000))" -v ticks=$((after - before)) '
        $1 == "ok" { ok++; resumed += $2; handshakes += $3 }
        END { printf "%d %d %d %d %.3f %d\n", runs, ok, resumed, handshakes, s / 1e6, ticks }' "$out"
}
# Wait for the workers only, not for the servers (also children of this shell).
wait_workers() {
    local job
    for job in $(jobs -p); do
        [[ " ${PIDS[*]} " == *" $job "* ]] || wait "$job" || true
    done
}

# figures FULL RESUMED → "full/s cpu_ms_full resumed/s cpu_ms_resumed" ("-" where none)
figures() {
    awk -v hz="$TICK" -v full="$1" -v res="$2" 'BEGIN {
        split(full, f, " "); split(res, r, " ")
        # full pass: runs ok resumed handshakes seconds ticks
        ok = f[2]; rate = ok > 0 ? ok / f[5] : 0; cpu = ok > 0 ? f[6] * 1000 / hz / ok : 0
        # resumed pass: its full handshakes (handshakes - resumed) at the full pass figures
        fulls = r[4] - r[3]; resumed = r[3]
        rtime = r[5] - (rate > 0 ? fulls / rate : 0)
        rcpu_ms = r[6] * 1000 / hz - fulls * cpu
        if (ok > 0) printf "%.0f %.2f ", rate, cpu; else printf "- - "
        if (resumed > 0 && rtime > 0) printf "%.0f %.2f\n", resumed / rtime, rcpu_ms / resumed
        else printf "- -\n"
    }'
}

run_server() { # KIND PORT PID NAME → FULL and RESUMED pass results on stdout, two lines
    say "$4: $COUNT full logins, $PARALLEL at a time"
    pass "$1" "$2" "$3" 0 "$COUNT" 0 "$PARALLEL"
    say "$4: $RESUME_RUNS runs of 1 + $REAUTH logins (eapol_test -r $REAUTH), $RESUME_PARALLEL at a time"
    pass "$1" "$2" "$3" "$COUNT" "$RESUME_RUNS" "$REAUTH" "$RESUME_PARALLEL"
}

start_freeradius
mapfile -t FR < <(run_server fr "$FR_PORT" "$FR_PID" FreeRADIUS)
RO=("- - - - - -" "- - - - - -")
if [ "$ONLY" != freeradius ]; then
    start_radotp
    mapfile -t RO < <(run_server ro "$RO_PORT" "$RO_PID" radotp)
fi

# --- report ----------------------------------------------------------------------------------
say "raw (runs ok resumed handshakes seconds ticks): FreeRADIUS ${FR[*]} | radotp ${RO[*]}"
FRF=$(figures "${FR[0]}" "${FR[1]}")
ROF="- - - -"
[ "$ONLY" = freeradius ] || ROF=$(figures "${RO[0]}" "${RO[1]}")
read -r fr_rate fr_cpu fr_rrate fr_rcpu <<<"$FRF"
read -r ro_rate ro_cpu ro_rrate ro_rcpu <<<"$ROF"
IFS=' ' read -r _ fr_ok _ _ _ _ <<<"${FR[0]}"
IFS=' ' read -r _ _ fr_res fr_hs _ _ <<<"${FR[1]}"
IFS=' ' read -r _ ro_ok _ _ _ _ <<<"${RO[0]}"
IFS=' ' read -r _ _ ro_res ro_hs _ _ <<<"${RO[1]}"
echo
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u '+%Y-%m-%d %H:%M UTC')"
radotp_version="-"
[ "$ONLY" = freeradius ] || radotp_version=$("$RADOTP" --version | cut -d' ' -f2)
echo "$(freeradius -v | head -1 | sed 's/^radiusd: //; s/, for host.*//') vs radotp $radotp_version; $(eapol_test -v 2>&1 | head -1 | sed 's/ - .*//')"
echo "EAP-TTLS/PAP, TLS $([ "$TLS13" = 1 ] && echo '1.3 allowed' || echo 1.2), ECDSA P-256 server certificate; $PARALLEL eapol_test at a time (resumed: $RESUME_PARALLEL)"
echo
printf '%-22s %31s   %31s\n' "" "---------- FreeRADIUS ----------" "------------ radotp ------------"
printf '%-22s %9s %9s %11s   %9s %9s %11s\n' login ok logins/s "CPU ms" ok logins/s "CPU ms"
printf '%-22s %9s %9s %11s   %9s %9s %11s\n' "full" "$fr_ok/$COUNT" "$fr_rate" "$fr_cpu" \
    "${ro_ok:--}/$COUNT" "$ro_rate" "$ro_cpu"
printf '%-22s %9s %9s %11s   %9s %9s %11s\n' "resumed (-r $REAUTH)" "$fr_res/$((RESUME_RUNS * REAUTH))" \
    "$fr_rrate" "$fr_rcpu" "${ro_res:--}/$((RESUME_RUNS * REAUTH))" "$ro_rrate" "$ro_rcpu"
echo
echo "TLS handshakes in the resumed pass: FreeRADIUS $fr_hs, radotp ${ro_hs:--} ($RESUME_RUNS × $((REAUTH + 1)) rounds; 'ok' counts resumed rounds)."
echo "CPU is the server process's utime+stime over the logins (clock tick $((1000000 / TICK)) µs); resumed figures are derived (see the script's header); resumed logins/s is a client-bound lower bound."
echo "FreeRADIUS compares a cleartext password; radotp verifies an argon2id hash (m=8 KiB, t=1) and a TOTP code per full login."
