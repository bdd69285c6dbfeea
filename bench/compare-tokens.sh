#!/usr/bin/env bash
# What several tokens per person cost. Two parts, one run:
#
# 1. The cheap token checks of one request (the decision's plan: the input's tails, each
#    candidate token's HMACs or AES block) for a user with 1 and with 10 tokens — TOTP, HOTP,
#    YubiKeys, mixed — for the first token's code, the last one's and a wrong code:
#    `cargo run --release -p radotp-server --example token_checks`. Goal: each under 10 µs.
# 2. Full-path logins (radotp bench --scenario accept, closed loop, the release build, the
#    default argon2 cost) for bench users with 1 token and with TOKENS tokens (the TOTP token
#    the load logs in with last, after TOKENS - 1 HOTP fobs that are checked first), each ÷ the
#    argon2 ceiling (radotp bench --calibrate). Goal: the ratio unchanged by the tokens.
#
# Only 127.0.0.1 is used; both servers are stopped by PID on exit. Bounded: each load run by
# --duration and `timeout`; a full run takes about two minutes after the build on 2 cores.
#
# Usage: bench/compare-tokens.sh
# Knobs (environment): TOKENS=10 USERS=4000 PARALLEL=8 BENCH_TIME=15s ROUNDS=2 PORT=18171
#   RADOTP=path/to/radotp KEEP=1

set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bench/common.sh
. "$ROOT/bench/common.sh"

TOKENS=${TOKENS:-10}
USERS=${USERS:-4000}
PARALLEL=${PARALLEL:-8}
BENCH_TIME=${BENCH_TIME:-15s}
ROUNDS=${ROUNDS:-2}
PORT=${PORT:-18171}
SECRET=compare-secret-1234 # wait_up uses it
LIMIT=120

command -v radclient >/dev/null 2>&1 || install_packages freeradius-utils
radotp_binary
WORK=$(mktemp -d /tmp/radotp-compare-tokens.XXXXXX)
PIDS=()
trap cleanup EXIT

say "part 1: token checks per request (cargo run --release --example token_checks)"
CHECKS=$(cargo run --release --quiet -p radotp-server --example token_checks)

# One server folder per token count: the same configuration, bench users made with
# --tokens-per-user.
for n in 1 "$TOKENS"; do
    mkdir -p "$WORK/t$n"
    sed "s/@PORT@/$PORT/; s/@SECRET@/$SECRET/" bench/radotp-compare.toml >"$WORK/t$n/radotp.toml"
    chmod 600 "$WORK/t$n/radotp.toml"
    say "creating $USERS bench users with $n token(s) each"
    "$RADOTP" --config "$WORK/t$n/radotp.toml" bench --setup-users "$USERS" \
        --tokens-per-user "$n" >/dev/null
done

field() { grep -o "\"$1\":[0-9.]*" <<<"$2" | head -1 | cut -d: -f2 || true; }
RATES=()
for round in $(seq 1 "$ROUNDS"); do
    for n in 1 "$TOKENS"; do
        "$RADOTP" --config "$WORK/t$n/radotp.toml" serve 2>"$WORK/serve-$n.log" &
        pid=$!
        PIDS+=("$pid")
        wait_up "$PORT" "radotp ($n tokens)" "$pid" "$WORK/serve-$n.log"
        say "round $round, $n token(s): radotp bench --scenario accept -c $PARALLEL for $BENCH_TIME"
        c0=$(cpu_ticks "$pid")
        out=$(timeout "$LIMIT" "$RADOTP" --config "$WORK/t$n/radotp.toml" bench \
            --server "127.0.0.1:$PORT" --scenario accept --concurrency "$PARALLEL" \
            --duration "$BENCH_TIME" --timeout 10s --json 2>>"$WORK/bench.err" || true)
        c1=$(cpu_ticks "$pid")
        kill "$pid"
        wait "$pid" 2>/dev/null || true
        accepts=$(field accept "$out")
        rate=$(field requests_per_s "$out")
        cpu=$(awk -v d=$((c1 - c0)) -v a="${accepts:-0}" -v t="$TICK" \
            'BEGIN { if (a > 0) printf "%.0f", d * 1e6 / t / a; else print "-" }')
        RATES+=("$n ${rate:-0} $cpu ${accepts:-0}")
    done
done
say "argon2 ceiling: radotp bench --calibrate"
CAL=$("$RADOTP" --config "$WORK/t1/radotp.toml" bench --calibrate --json || true)
CEILING=$(field verifies_per_s "$CAL")

echo
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "$CHECKS"
echo
echo "argon2 ceiling (radotp bench --calibrate, m=19456 KiB t=2 p=1): $CEILING verifications/s"
printf '%-8s %-8s %10s %14s %10s\n' tokens round accepts/s "CPU µs/accept" "÷ ceiling"
i=0
for entry in "${RATES[@]}"; do
    read -r n rate cpu accepts <<<"$entry"
    round=$((i / 2 + 1))
    awk -v n="$n" -v r="$round" -v rate="$rate" -v cpu="$cpu" -v c="$CEILING" -v a="$accepts" \
        'BEGIN { printf "%-8s %-8s %10.1f %14s %10.3f   (%d accepts)\n", n, r, rate, cpu, (c > 0 ? rate / c : 0), a }'
    i=$((i + 1))
done
