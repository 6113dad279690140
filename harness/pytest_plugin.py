"""The pytest plugin (entry point ``pytest11: ws_harness``): declarations only.

One option group, each option also an ini key; validators that state the accepted format.
The work lives in ``harness._pytest``: ``session`` (the target's life), ``collect``
(scenario files as items), ``fixtures`` (for hand-written tests), ``report`` (header,
failure sections, the coverage matrix).
"""

from __future__ import annotations

import argparse

import pytest

from harness.targets import BACKENDS

# (option, ini key, help, default). Every option can live in the ini file instead.
_OPTIONS: list[tuple[str, str, str, str | None]] = [
    (
        "--ws-backend",
        "ws_backend",
        f"how to get the server: {', '.join(BACKENDS)} (default: process)",
        None,
    ),
    ("--ws-url", "ws_url", "test a server that is already running at ws://HOST:PORT", None),
    ("--ws-command", "ws_command", "start command; placeholders {python} {host} {port}", None),
    ("--ws-cwd", "ws_cwd", "working directory of the start command", None),
    ("--ws-port", "ws_port", "port for the server (default: a free one on 127.0.0.1)", None),
    (
        "--ws-ready-timeout",
        "ws_ready_timeout",
        "seconds to wait for the first WebSocket frame",
        None,
    ),
    (
        "--ws-config",
        "ws_config",
        "harness config: users, auth, pushes (default: the reference target's)",
        None,
    ),
    ("--ws-contract", "ws_contract", "AsyncAPI contract (default: the bundled one)", None),
    (
        "--ws-log-dir",
        "ws_log_dir",
        "where server logs are kept (default: a temporary directory)",
        None,
    ),
    ("--ws-log-lines", "ws_log_lines", "server log lines shown with a failure (default: 40)", None),
    (
        "--ws-image",
        "ws_image",
        "docker backend: run this image instead of building target.dockerfile",
        None,
    ),
    (
        "--ws-docker-network",
        "ws_docker_network",
        "docker backend: host or publish (default: host)",
        None,
    ),
    (
        "--ws-fuzz-examples",
        "ws_fuzz_examples",
        "fuzz tests: Hypothesis examples per test (overrides the profile)",
        None,
    ),
    (
        "--ws-fuzz-profile",
        "ws_fuzz_profile",
        "fuzz tests: Hypothesis profile, ci or thorough (default: ci)",
        None,
    ),
    ("--ws-fuzz-db", "ws_fuzz_db", "fuzz tests: Hypothesis example database directory", None),
]


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


def _seconds(value: str) -> str:
    try:
        if float(value) > 0:
            return value
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{value!r}: expected a positive number of seconds")


def _network(value: str) -> str:
    if value not in ("host", "publish"):
        raise argparse.ArgumentTypeError(f"{value!r}: expected host or publish")
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
    "--ws-fuzz-examples": _port,
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ws-harness", "WebSocket conformance testing (ws-harness)")
    for option, ini, text, default in _OPTIONS:
        group.addoption(
            option, dest=ini, type=_VALIDATORS.get(option, str), default=None, help=text
        )
        parser.addini(ini, text, default=default)
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
    parser.addini(
        "ws_scenario_files", "glob of scenario files to collect", default="*.scenarios.yaml"
    )


def pytest_configure(config: pytest.Config) -> None:
    from harness._pytest import collect, fixtures, report, session

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
    config.stash[session.SESSION_KEY] = harness_session
    for module in (collect, fixtures, report):
        config.pluginmanager.register(module, f"ws-harness-{module.__name__.rsplit('.', 1)[-1]}")
    config.pluginmanager.register(report.CoverageMatrix(), "ws-harness-matrix")
