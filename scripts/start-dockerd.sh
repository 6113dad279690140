#!/usr/bin/env bash
# Start a Docker engine for the docker-backend tests on this project's CI (root, no systemd,
# no container registry, no bridge networking), then build the local base image and wheels.
#
#   sudo scripts/start-dockerd.sh        # idempotent: an engine that answers is kept
#
# 1. installs Debian's docker.io, debootstrap and docker-compose when missing (one apt-get update);
# 2. starts `dockerd --bridge=none --iptables=false` in the background, logging to $DOCKERD_LOG:
#    no bridge and no iptables rules, so containers use host networking (the harness binds
#    them to 127.0.0.1 on a port it picked) and no traffic goes to a private range;
# 3. waits (at most $DOCKERD_WAIT seconds) until the engine answers;
# 4. runs scripts/build-base-image.sh (ws-harness/python-base:bookworm + build/docker-wheels).
#
# If the engine cannot start it says so loudly and exits non-zero: the docker tests must not
# be skipped silently. (Without an engine, pytest skips them with the reason unless
# WS_HARNESS_REQUIRE_SERVICES=1, which .ci/run sets, turns that into a failure.)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DOCKERD_LOG="${DOCKERD_LOG:-/tmp/ws-harness-dockerd.log}"
DOCKERD_WAIT="${DOCKERD_WAIT:-60}"
PIDFILE=/var/run/docker.pid

say() { printf 'start-dockerd: %s\n' "$*" >&2; }
fail() {
    printf '\n!!! start-dockerd: THE DOCKER ENGINE DID NOT START: %s\n' "$*" >&2
    if [ -f "$DOCKERD_LOG" ]; then
        printf '!!! last lines of %s:\n' "$DOCKERD_LOG" >&2
        tail -n 25 "$DOCKERD_LOG" >&2
    fi
    exit 1
}

docker_cli() {
    # Debian's client matches Debian's engine; a newer static client on PATH may be ahead of it.
    if [ -x /usr/bin/docker ]; then /usr/bin/docker "$@"; else docker "$@"; fi
}

engine_answers() { docker_cli version --format '{{.Server.Version}}' >/dev/null 2>&1; }

install_packages() {
    local missing=()
    command -v dockerd >/dev/null || missing+=(docker.io)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    command -v docker-compose >/dev/null || missing+=(docker-compose)
    [ "${#missing[@]}" -eq 0 ] && return
    [ "$(id -u)" -eq 0 ] || fail "need root to install ${missing[*]} (apt-get)"
    say "apt-get install ${missing[*]}"
    apt-get update -q >/dev/null || fail "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        docker.io debootstrap docker-compose >/dev/null || fail "apt-get install ${missing[*]} failed"
}

start_engine() {
    [ "$(id -u)" -eq 0 ] || fail "dockerd needs root; run: sudo $0"
    # A pid file left by a dockerd that was killed makes a new one refuse to start.
    if [ -f "$PIDFILE" ] && ! grep -qs dockerd "/proc/$(cat "$PIDFILE")/comm"; then
        rm -f "$PIDFILE"
    fi
    say "starting dockerd --bridge=none --iptables=false (log: $DOCKERD_LOG)"
    setsid nohup dockerd --bridge=none --iptables=false >"$DOCKERD_LOG" 2>&1 </dev/null &
    local pid=$! waited=0
    until engine_answers; do
        kill -0 "$pid" 2>/dev/null || fail "dockerd (pid $pid) exited"
        [ "$waited" -lt "$DOCKERD_WAIT" ] || fail "no answer after ${DOCKERD_WAIT}s (dockerd pid $pid)"
        sleep 1
        waited=$((waited + 1))
    done
    say "engine up after ${waited}s (dockerd pid $pid)"
}

install_packages
if engine_answers; then
    say "an engine already answers ($(docker_cli version --format '{{.Server.Version}}')); keeping it"
else
    start_engine
fi
bash "$REPO/scripts/build-base-image.sh" || fail "the engine runs, but building the base image failed (see above)"
say "ready: docker-backend tests can run (pytest -m docker)"
