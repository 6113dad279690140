"""The pytest plugin (entry point ``pytest11: ws_harness``): declarations only.

One option group, each option also an ini key (the table and its validators are
``harness.options``, shared with ``ws-harness load``). The work lives in ``harness._pytest``:
``session`` (the target's life), ``collect`` (scenario files as items), ``fixtures`` (for
hand-written tests), ``report`` (header, failure sections, the coverage matrix).
"""

from __future__ import annotations

import pytest

from harness.errors import HarnessError
from harness.options import OPTIONS, VALIDATORS, env_pair, ini_name, replica_env_pair


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ws-harness", "WebSocket conformance testing (ws-harness)")
    for option, text in OPTIONS:
        ini = ini_name(option)
        group.addoption(option, dest=ini, type=VALIDATORS.get(option, str), default=None, help=text)
        parser.addini(ini, text, default=None)
    group.addoption(
        "--ws-env",
        dest="ws_env",
        action="append",
        type=env_pair,
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
        type=replica_env_pair,
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
    from harness._pytest import session

    harness_session = session.HarnessSession.from_pytest(config)
    try:  # a config or contract the harness cannot use is one usage error line, up front
        harness_session.contract  # noqa: B018 - loads the config too
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[session.SESSION_KEY] = harness_session
    if harness_session.start_early:  # first: the server starts while the rest loads
        harness_session.start_in_background()

    from harness._pytest import collect, fixtures, report, report_files

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
    for module in (collect, fixtures, report):
        config.pluginmanager.register(module, f"ws-harness-{module.__name__.rsplit('.', 1)[-1]}")
    config.pluginmanager.register(report.CoverageMatrix(), "ws-harness-matrix")
    config.pluginmanager.register(report.RootCauses(), "ws-harness-causes")
    report_files.register(config)
    from harness.fuzz import plugin as fuzz_plugin  # Hypothesis stays optional: it checks

    config.pluginmanager.register(fuzz_plugin, "ws-harness-fuzz")
    from harness.browser import plugin as browser_plugin  # -m browser: the shipped browser suite

    config.pluginmanager.register(browser_plugin, "ws-harness-browser")
