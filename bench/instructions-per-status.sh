#!/usr/bin/env bash
# Instructions a radotp server spends per Status-Server request, counted by valgrind's
# callgrind over the whole process (every thread): a run with N requests minus a run with none
# (start-up and stop), divided by N. Instruction counts do not move with the machine's load as
# CPU time does, so two builds compare to within a few per cent.
#
# Usage: bench/instructions-per-status.sh [RADOTP [N]]    (defaults: target/release/radotp, 10000)
# Only 127.0.0.1 is used; the server is stopped by PID; each run is bounded by time.
set -euo pipefail
cd "$(dirname "$0")/.."
RADOTP=${1:-$PWD/target/release/radotp}
N=${2:-10000}
PORT=${PORT:-18777}
command -v valgrind >/dev/null || { echo "valgrind is needed: apt-get install valgrind" >&2; exit 2; }

run() { # $1 = number of requests; prints the instruction total
    local dir pid
    dir=$(mktemp -d /tmp/radotp-instructions.XXXXXX)
    cat >"$dir/radotp.toml" <<TOML
[server]
listen = ["127.0.0.1:$PORT"]
workers = 1
[database]
path = "radotp.db"
[password]
memory_kib = 64
iterations = 1
[[client]]
name = "localhost"
address = "127.0.0.1/32"
secret = "instructions-secret-123"
TOML
    chmod 600 "$dir/radotp.toml"
    "$RADOTP" --config "$dir/radotp.toml" check-config >/dev/null 2>&1
    timeout 300 valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" \
        "$RADOTP" --log-level warn --config "$dir/radotp.toml" serve 2>"$dir/valgrind.log" &
    pid=$!
    for _ in $(seq 150); do
        ss -uln | grep -q "127.0.0.1:$PORT " && break
        sleep 0.2
    done
    if [ "$1" -gt 0 ]; then
        "$RADOTP" --config "$dir/radotp.toml" bench --scenario status --count "$1" \
            --concurrency 8 --duration 120s >/dev/null
    fi
    kill -TERM "$pid"
    wait "$pid" || true
    grep -o '^summary: [0-9]*' "$dir/callgrind.out" | cut -d' ' -f2
    rm -rf "$dir"
}

idle=$(run 0)
busy=$(run "$N")
echo "$RADOTP: $(( (busy - idle) / N )) instructions per Status-Server (N = $N)"
