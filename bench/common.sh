# shellcheck shell=bash
# Shared by the bench/compare-*.sh scripts (sourced, not run): logging, installing packages and
# building radotp,
# waiting for a RADIUS server to answer Status-Server ($SECRET is the caller's), and reading a
# process's CPU time, and stopping what a script started (`trap cleanup EXIT`: every PID in the
# caller's PIDS, then its WORK folder unless KEEP=1).

say() { printf '%s\n' "$*" >&2; }

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ "${KEEP:-0}" = 1 ]; then
        say "kept $WORK"
    else
        rm -rf "$WORK"
    fi
}

wait_up() { # PORT NAME PID LOG
    local _
    for _ in $(seq 1 50); do
        if ! kill -0 "$3" 2>/dev/null; then
            say "$2 exited at start; its log ($4):"
            tail -5 "$4" >&2
            exit 1
        fi
        if echo "Message-Authenticator = 0x00" |
            radclient -q -r 1 -t 0.2 "127.0.0.1:$1" status "$SECRET" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.2
    done
    say "$2 did not answer Status-Server on 127.0.0.1:$1 within 10 s; its log is $4"
    exit 1
}

# Clock ticks per second, for the callers' figures.
# shellcheck disable=SC2034
TICK=$(getconf CLK_TCK)
cpu_ticks() { # PID → utime + stime (all threads, exited ones included), in clock ticks
    local stat rest
    stat=$(cat "/proc/$1/stat")
    rest=${stat##*) }
    # shellcheck disable=SC2086
    set -- $rest
    echo $((${12} + ${13}))
}
now_ns() { date +%s%N; }

install_packages() { # PACKAGE… → installed with apt-get (sudo unless root); nothing if none
    [ "$#" -gt 0 ] || return 0
    say "installing $* (apt-get)"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" \
        >/dev/null
}

# RADOTP: the binary to measure; built (release) unless the caller set it. ROOT is the caller's.
radotp_binary() {
    if [ -z "${RADOTP:-}" ]; then
        say "building radotp (cargo build --release)"
        cargo build --release --quiet
        RADOTP=$ROOT/target/release/radotp
    fi
}
