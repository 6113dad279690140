"""The pytest plugin (entry point ``pytest11: ws_harness``): declarations only.

One option group, each option also an ini key; validators that state the accepted format.
The work lives in ``harness._pytest``: ``session`` (the target's life), ``collect``
(scenario files as items), ``fixtures`` (for hand-written tests), ``report`` (header,
failure sections, the coverage matrix).
"""

from __future__ import annotations

import argparse

import pytest

from harness.errors import HarnessError
from harness.targets import BACKENDS

# (option, help). Every option is also an ini key: "--ws-log-dir" -> "ws_log_dir".
_OPTIONS: list[tuple[str, str]] = [
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
    ("--ws-config", "harness config: users, auth, pushes (default: the reference target's)"),
    ("--ws-contract", "AsyncAPI contract (default: the bundled one)"),
    ("--ws-log-dir", "where server logs are kept (default: a temporary directory)"),
    ("--ws-log-lines", "server log lines shown with a failure (default: 40)"),
    ("--ws-image", "docker backend: run this image instead of building target.dockerfile"),
    ("--ws-docker-network", "docker backend: auto, host or publish (default: auto)"),
    (
        "--ws-concurrency",
        "scenarios run at the same time, each on its own connections (default: 4 per CPU, "
        "at most 16; 1 runs them one after another)",
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


def _ini_name(option: str) -> str:
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


def _network(value: str) -> str:
    if value not in ("auto", "host", "publish"):
        raise argparse.ArgumentTypeError(f"{value!r}: expected auto, host or publish")
    return value


def _redis_url(value: str) -> str:
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise argparse.ArgumentTypeError(f"{value!r}: expected redis://HOST:PORT/DB")
    return value


def _replica_env(value: str) -> str:
    from harness.targets.replicas import parse_replica_env

    try:
        parse_replica_env(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _env(value: str) -> str:
    if "=" not in value or value.startswith("="):
        raise argparse.ArgumentTypeError(f"{value!r}: expected KEY=VALUE")
    return value


_VALIDATORS = {
    "--ws-backend": _backend,
    "--ws-url": _url,
    "--ws-port": _port,
    "--ws-ready-timeout": _seconds,
    "--ws-log-lines": _port,
    "--ws-docker-network": _network,
    "--ws-fuzz-examples": _count,
    "--ws-concurrency": _count,
    "--ws-replicas": _count,
    "--ws-redis-url": _redis_url,
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ws-harness", "WebSocket conformance testing (ws-harness)")
    for option, text in _OPTIONS:
        ini = _ini_name(option)
        group.addoption(
            option, dest=ini, type=_VALIDATORS.get(option, str), default=None, help=text
        )
        parser.addini(ini, text, default=None)
    group.addoption(
        "--ws-env",
        dest="ws_env",
        action="append",
        type=_env,
        default=[],
        metavar="KEY=VALUE",
        help="environment for the server (repeatable), e.g. TARGET_FAULTS=heartbeat_slow",
    )
    parser.addini("ws_env", "environment for the server, one KEY=VALUE per line", type="linelist")
    replica_env = "--ws-replicas: environment of every replica (KEY=VALUE) or of one (N:KEY=VALUE)"
    group.addoption(
        "--ws-replica-env",
        dest="ws_replica_env",
        action="append",
        type=_replica_env,
        default=[],
        metavar="[N:]KEY=VALUE",
        help=replica_env + ", e.g. 1:TARGET_FAULTS=memory_layer",
    )
    parser.addini("ws_replica_env", replica_env, type="linelist")
    strict = (
        "judge every contract violation in every frame; by default a scenario judges the "
        "frames of its own message (and its replies), so one broken message fails its own "
        "scenarios instead of all"
    )
    group.addoption("--ws-strict-frames", dest="ws_strict_frames", action="store_true", help=strict)
    parser.addini("ws_strict_frames", strict, type="bool", default=False)
    parser.addini(
        "ws_scenario_files", "glob of scenario files to collect", default="*.scenarios.yaml"
    )


def pytest_configure(config: pytest.Config) -> None:
    from harness._pytest import collect, fixtures, report, report_files, session

    for marker, text in [
        ("anonymous", "a scenario with an anonymous connection"),
        ("user", "a scenario with an authenticated user"),
        ("bad_token", "a scenario presenting an invalid token"),
        ("wrong_user", "a scenario using another user's id in the path"),
        ("push", "a scenario that triggers server pushes (skipped without a push trigger)"),
        ("security", "a security check (origins, hijacking, forged tokens)"),
        ("conformance", "a scenario from a scenario file"),
        ("fuzz", "property-based fuzzing (Hypothesis)"),
        ("docker", "needs a Docker engine"),
        ("slow", "end-to-end tests that start servers or several pytest runs"),
    ]:
        config.addinivalue_line("markers", f"{marker}: {text}")
    harness_session = session.HarnessSession.from_pytest(config)
    try:  # a config or contract the harness cannot use is one usage error line, up front
        harness_session.contract  # noqa: B018 - loads the config too
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[session.SESSION_KEY] = harness_session
    for module in (collect, fixtures, report):
        config.pluginmanager.register(module, f"ws-harness-{module.__name__.rsplit('.', 1)[-1]}")
    config.pluginmanager.register(report.CoverageMatrix(), "ws-harness-matrix")
    config.pluginmanager.register(report.RootCauses(), "ws-harness-causes")
    report_files.register(config)
    from harness.fuzz import plugin as fuzz_plugin  # Hypothesis stays optional: it checks

    config.pluginmanager.register(fuzz_plugin, "ws-harness-fuzz")
    from harness.browser import plugin as browser_plugin  # -m browser: the shipped browser suite

    config.pluginmanager.register(browser_plugin, "ws-harness-browser")
