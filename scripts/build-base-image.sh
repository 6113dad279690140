#!/usr/bin/env bash
# Build the Python base image and the wheelhouse the Docker backend needs where no
# container registry is reachable (this CI, air-gapped CI).
#
# Air-gapped CI, in short:
#   1. The base image. `docker build` normally pulls `python:3.11-slim`. Without a registry,
#      this script debootstraps a minimal Debian bookworm (python3 3.11, python3-venv,
#      python3-pip, ca-certificates, redis-server) from the Debian mirror apt already uses,
#      and `docker import`s it as ws-harness/python-base:bookworm. One image serves both the
#      target (BASE_IMAGE build arg of target/Dockerfile) and the redis service of
#      docker-compose.test.yml (redis-server is in the rootfs: nothing is installed later,
#      since a container build cannot reach the mirror).
#   2. The wheels. pip inside a container build cannot use the host's pip configuration
#      (extra index URLs such as file:///opt/pypi/simple do not exist in the container) and,
#      where TLS is intercepted, does not trust the host's CA bundle. So the wheels are built
#      on the host, with the host's pip and its configuration, into build/docker-wheels/
#      (git-ignored, inside the build context); target/Dockerfile installs from there with
#      --no-index when it finds wheels. Debian bookworm's python3 is 3.11, so build the
#      wheels with a Python 3.11 on the host.
#
# Idempotent: the image is skipped when it exists, the wheels when build/docker-wheels holds a
# stamp of the same requirement files. FORCE=1 rebuilds both.
#
# Environment (all optional):
#   BASE_IMAGE_TAG   the tag to create          (default ws-harness/python-base:bookworm)
#   DEBIAN_MIRROR    the Debian mirror URL       (default: the first bookworm 'main' source in
#                                                 /etc/apt/sources.list{,.d/*})
#   PYTHON           the host interpreter for `pip wheel` (default python3; must be 3.11)
#   SKIP_WHEELS=1    build only the image
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TAG="${BASE_IMAGE_TAG:-ws-harness/python-base:bookworm}"
SUITE=bookworm
PACKAGES="python3,python3-venv,python3-pip,python-is-python3,ca-certificates,redis-server"
WHEELS="$REPO/build/docker-wheels"
PYTHON="${PYTHON:-python3}"

say() { printf 'build-base-image: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

docker_cli() {
    # The Debian docker.io client; a newer static client elsewhere on PATH may refuse an older engine.
    if [ -x /usr/bin/docker ]; then /usr/bin/docker "$@"; else docker "$@"; fi
}

debian_mirror() {
    # The mirror apt uses for bookworm main (one-line and deb822 formats), so no host is named here.
    if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
    local uri
    uri="$(grep -hE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
        | grep -E "[[:space:]]${SUITE}[[:space:]].*main" | grep -v security \
        | awk '{for (i = 2; i <= NF; i++) if ($i !~ /^\[/) {print $i; exit}}' | head -n1 || true)"
    if [ -z "$uri" ]; then
        uri="$(awk -v suite="$SUITE" '
            /^URIs:/ {uris = $2} /^Suites:/ {suites = $0} /^Components:/ {comps = $0}
            /^[[:space:]]*$/ {if (uris != "" && suites ~ " " suite "( |$)" && comps ~ /main/ && uris !~ /security/) {print uris; exit} uris = ""; suites = ""; comps = ""}
            END {if (uris != "" && suites ~ " " suite "( |$)" && comps ~ /main/ && uris !~ /security/) print uris}
        ' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1 || true)"
    fi
    [ -n "$uri" ] || die "no Debian ${SUITE} 'main' source in /etc/apt/sources.list*; set DEBIAN_MIRROR=<mirror URL>"
    echo "$uri"
}

build_image() {
    if [ "${FORCE:-0}" != 1 ] && docker_cli image inspect "$TAG" >/dev/null 2>&1; then
        say "image $TAG exists; skipping (FORCE=1 rebuilds)"
        return
    fi
    command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install -y debootstrap"
    local mirror rootfs
    mirror="$(debian_mirror)"
    rootfs="$(mktemp -d /tmp/ws-harness-rootfs.XXXXXX)"
    ROOTFS="$rootfs"  # removed by the EXIT trap, whatever happens
    say "debootstrap $SUITE (minbase + $PACKAGES) into $rootfs"
    debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs" "$mirror" \
        >"$rootfs.log" 2>&1 || { tail -n 30 "$rootfs.log" >&2; die "debootstrap failed (log above)"; }
    # Smaller image, no stale apt state, no services started by policy-rc.d leftovers.
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/* "$rootfs"/tmp/*
    say "docker import -> $TAG"
    tar -C "$rootfs" -c . | docker_cli import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["python3"]' \
        - "$TAG" >/dev/null
    say "built $TAG ($(docker_cli image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1 / 1e6}'))"
}

build_wheels() {
    [ "${SKIP_WHEELS:-0}" = 1 ] && return
    local version stamp
    version="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    [ "$version" = 3.11 ] || die "$PYTHON is Python $version; the image's python3 is 3.11: set PYTHON=python3.11"
    # The target's requirements, the harness's own dependencies (tests and locust services) and
    # the build backend, so `pip install --no-index` can build the harness inside the image.
    stamp="$(cat "$REPO/target/requirements.txt" "$REPO/pyproject.toml" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)"
    if [ "${FORCE:-0}" != 1 ] && [ -f "$WHEELS/.stamp" ] && [ "$(cat "$WHEELS/.stamp")" = "$stamp" ]; then
        say "wheels in $WHEELS are current; skipping"
        return
    fi
    mkdir -p "$WHEELS"
    say "pip wheel -> $WHEELS"
    "$PYTHON" -m pip wheel --quiet --disable-pip-version-check -w "$WHEELS" \
        -r "$REPO/target/requirements.txt" \
        "setuptools>=68" wheel \
        `# wanted by redis on Debian's python 3.11.2 (< 3.11.3), not by a newer host python:` \
        "async-timeout>=4.0.3" \
        `# the harness with its locust extra, so its dependencies come from pyproject.toml:` \
        "$REPO[locust]" \
        2> >(grep -v 'is neither a file nor a directory' >&2) \
        || die "pip wheel failed; check the host's pip configuration"
    rm -f "$WHEELS"/ws_harness-*.whl  # the image installs the harness from its own source
    echo "$stamp" >"$WHEELS/.stamp"
    say "$(find "$WHEELS" -name '*.whl' | wc -l) wheels in $WHEELS"
}

ROOTFS=""
trap '[ -z "$ROOTFS" ] || rm -rf "$ROOTFS" "$ROOTFS.log"' EXIT

docker_cli version --format '{{.Server.Version}}' >/dev/null 2>&1 \
    || die "the Docker engine does not answer (DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}); run scripts/start-dockerd.sh"
build_image
build_wheels
