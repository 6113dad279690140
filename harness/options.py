"""The harness's command-line options, shared by its adapters (the pytest plugin, where each
is also an ini key, and ``ws-harness load``), with validators that state the accepted
format. Imports nothing of pytest, so the CLI can use it without starting pytest.
"""

from __future__ import annotations

import argparse

from harness.targets import BACKENDS

# (option, help). Every option is also an ini key: "--ws-log-dir" -> "ws_log_dir".
OPTIONS: list[tuple[str, str]] = [
    ("--ws-backend", f"how to get the server: {', '.join(BACKENDS)} (default: process)"),
    (
        "--ws-url",
        "test a server that is already running at ws://HOST:PORT (replicas: several, comma "
        "separated)",
    ),
    ("--ws-command", "start command; placeholders {python} {host} {port}"),
    ("--ws-cwd", "working directory of the start command"),
    ("--ws-port", "port for the server (default: a free one on 127.0.0.1)"),
    ("--ws-ready-timeout", "seconds to wait for the first WebSocket frame"),
    (
        "--ws-start",
        "when to start the server: early (in the background while pytest collects; the "
        "default of ws-harness run) or lazy (when the first test needs it; pytest's default)",
    ),
    ("--ws-config", "harness config: users, auth, pushes (default: the reference target's)"),
    ("--ws-contract", "AsyncAPI contract (default: the bundled one)"),
    ("--ws-log-dir", "where server logs are kept (default: a temporary directory)"),
    ("--ws-log-lines", "server log lines shown with a failure (default: 40)"),
    ("--ws-image", "docker backend: run this image instead of building target.dockerfile"),
    ("--ws-docker-network", "docker backend: auto, host or publish (default: auto)"),
    (
        "--ws-concurrency",
        "scenarios run at the same time, each on its own connections (default: 16; 1 runs "
        "them one after another)",
    ),
    ("--ws-replicas", "start N replicas sharing one Redis channel layer (process or docker)"),
    ("--ws-redis-url", "--ws-replicas: use this running Redis instead of a private redis-server"),
    ("--ws-fuzz-examples", "fuzz tests: Hypothesis examples per test (overrides the profile)"),
    ("--ws-fuzz-profile", "fuzz tests: Hypothesis profile, ci, thorough or replay (default: ci)"),
    ("--ws-fuzz-db", "fuzz tests: Hypothesis example database directory"),
    ("--ws-fuzz-deviations", "fuzz tests: YAML of known contract deviations to tolerate"),
    ("--ws-report", "write the conformance report as one self-contained HTML file here"),
    ("--ws-report-json", "write the conformance report as JSON here (the HTML report's data)"),
    ("--ws-chromium", "browser tests (-m browser): the Chromium to run (default: on PATH)"),
]


def ini_name(option: str) -> str:
    return option.lstrip("-").replace("-", "_")


def _backend(value: str) -> str:
    if value not in BACKENDS:
        raise argparse.ArgumentTypeError(f"{value!r}: expected one of {', '.join(BACKENDS)}")
    return value


def _url(value: str) -> str:
    if not value.startswith(("ws://", "wss://")):
        raise argparse.ArgumentTypeError(f"{value!r}: expected ws://HOST:PORT or wss://HOST:PORT")
    return value


def _port(value: str) -> str:
    if not value.isdigit() or not 0 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r}: expected a port number from 0 to 65535")
    return value


def _count(value: str) -> str:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: expected a whole number of at least 1")
    return value


def _seconds(value: str) -> str:
    try:
        if float(value) > 0:
            return value
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{value!r}: expected a positive number of seconds")


START_MODES = ("early", "lazy")


def start_mode(value: str) -> str:
    if value not in START_MODES:
        raise argparse.ArgumentTypeError(f"{value!r}: expected early or lazy")
    return value


def _network(value: str) -> str:
    if value not in ("auto", "host", "publish"):
        raise argparse.ArgumentTypeError(f"{value!r}: expected auto, host or publish")
    return value


def _redis_url(value: str) -> str:
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise argparse.ArgumentTypeError(f"{value!r}: expected redis://HOST:PORT/DB")
    return value


def replica_env_pair(value: str) -> str:
    from harness.targets.replicas import parse_replica_env

    try:
        parse_replica_env(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def env_pair(value: str) -> str:
    if "=" not in value or value.startswith("="):
        raise argparse.ArgumentTypeError(f"{value!r}: expected KEY=VALUE")
    return value


VALIDATORS = {
    "--ws-backend": _backend,
    "--ws-url": _url,
    "--ws-port": _port,
    "--ws-ready-timeout": _seconds,
    "--ws-start": start_mode,
    "--ws-log-lines": _port,
    "--ws-docker-network": _network,
    "--ws-fuzz-examples": _count,
    "--ws-concurrency": _count,
    "--ws-replicas": _count,
    "--ws-redis-url": _redis_url,
}
