"""The fuzz suite's pytest hooks: when the shipped suite is collected, and how fast it ran.

Registered by ``harness.pytest_plugin`` in every session; imports nothing of Hypothesis,
which is optional (the ``fuzz`` extra).

* The fuzz and security suites ship in ``harness_scenarios/fuzz`` and take a minute where
  the conformance scenarios take seconds, so a plain run (``ws-harness run``, ``pytest
  --pyargs harness_scenarios``) leaves them out. They are collected when ``-m`` names
  ``fuzz`` or ``security``, or when a path or module given on the command line points into
  them.
* ``-m fuzz`` without Hypothesis installed is one usage error naming the extra; ``-m
  security`` runs without it.
* The terminal summary gives every fuzz test's examples (payloads judged, or state machine
  steps) per second: the figure to watch when a contract or the server gets slower.
"""

from __future__ import annotations

import re
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness._pytest.shipped import ShippedSuite
from harness.bundled import scenarios_dir

SUITE = "fuzz"  # the shipped suite's folder inside harness_scenarios
#: The Hypothesis profiles ``profiles`` builds; named here so that the option is checked
#: without importing Hypothesis (about a second of every pytest start).
PROFILES = ("ci", "thorough", "replay")
_configured: list[pytest.Config] = []  # the session whose options the profiles read
#: The suite's modules that need Hypothesis; without it they are left out (``-m security``
#: still runs), and ``-m fuzz`` is a usage error.
NEEDS_HYPOTHESIS = ("test_payloads.py", "test_stateful.py")
_NAMED = re.compile(r"(?<![\w.])(fuzz|security)(?![\w.])")
_FUZZ = re.compile(r"(?<!not )(?<![\w.])fuzz(?![\w.])")


def suite_dir() -> Path:
    """Where the shipped fuzz and security test modules are."""
    return scenarios_dir() / SUITE


def _markexpr(config: pytest.Config) -> str:
    return str(config.getoption("markexpr", default="") or "")


def _points_into_suite(config: pytest.Config) -> bool:
    """Does a command-line argument name the shipped suite (a path, or a module with --pyargs)?"""
    suite = suite_dir().resolve()
    base = config.invocation_params.dir
    for arg in config.args:
        name = arg.split("::", 1)[0]
        if name.startswith(f"harness_scenarios.{SUITE}"):
            return True
        path = (base / name).resolve()
        if path == suite or suite in path.parents:
            return True
    return False


def suite_selected(config: pytest.Config) -> bool:
    """Collect the shipped suite? Only when ``-m`` names it or an argument points into it."""
    return bool(_NAMED.search(_markexpr(config))) or _points_into_suite(config)


def has_hypothesis() -> bool:
    """Is the fuzz extra's Hypothesis importable? (Imported, not looked up: a broken
    install is as missing as none.)"""
    try:
        import hypothesis  # noqa: F401
    except ImportError:
        return False
    return True


def option(config: pytest.Config, name: str) -> str | None:
    """A ``--ws-fuzz-*`` option: the command line first, then the ini key."""
    value = config.getoption(name, default=None)
    if value not in (None, ""):
        return str(value)
    try:
        return config.getini(name) or None
    except ValueError:  # the ini key is not declared (plugin not loaded)
        return None


def configured() -> pytest.Config | None:
    """The configured session, whose options the profiles are built from on first use."""
    return _configured[-1] if _configured else None


def pytest_configure(config: pytest.Config) -> None:
    from harness.fuzz import fixtures

    config.pluginmanager.register(fixtures, "ws-harness-fuzz-fixtures")
    ShippedSuite.register(config, suite_dir(), SUITE)
    profile = option(config, "ws_fuzz_profile")
    if profile is not None and profile not in PROFILES:
        raise pytest.UsageError(
            f"--ws-fuzz-profile {profile!r}: expected one of {', '.join(PROFILES)}"
        )
    if _FUZZ.search(_markexpr(config)) and not has_hypothesis():
        raise pytest.UsageError(
            "-m fuzz selects the fuzz suite, which needs Hypothesis: "
            "pip install 'ws-harness[fuzz]' (or run -m security alone)"
        )
    _configured.append(config)
    config.pluginmanager.register(FuzzRates(), "ws-harness-fuzz-rates")
    # Hypothesis is imported (and the profiles registered) only by runs that fuzz: here when
    # the shipped suite is selected, else by profiles.current() when a test module asks.
    if suite_selected(config) and has_hypothesis():
        from harness.fuzz import profiles

        profiles.register(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    if config in _configured:
        _configured.remove(config)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    suite = suite_dir()
    if collection_path == suite and not suite_selected(config):
        return True
    if collection_path.parent == suite and collection_path.name in NEEDS_HYPOTHESIS:
        return True if not has_hypothesis() else None
    return None  # not ours to decide: other plugins and pytest's own rules apply


@dataclass
class Rate:
    """How many examples one fuzz test ran, in how many seconds."""

    nodeid: str
    count: int
    unit: str
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0

    def render(self) -> str:
        return (
            f"{self.per_second:8.0f} {self.unit}/s  {self.count:6d} {self.unit} in "
            f"{self.seconds:6.2f} s  {self.nodeid}"
        )


class FuzzRates:
    """Counts examples per fuzz test (the module's ``LoopRunner`` counts them) and reports."""

    def __init__(self) -> None:
        self.rates: list[Rate] = []

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, Any, Any]:
        runner = getattr(item, "funcargs", {}).get("ws_fuzz_runner")
        if runner is None:
            return (yield)
        before = (runner.examples, runner.steps)
        started = time.perf_counter()
        try:
            return (yield)
        finally:
            seconds = time.perf_counter() - started
            examples, steps = runner.examples - before[0], runner.steps - before[1]
            if examples or steps:
                unit, count = ("examples", examples) if examples else ("steps", steps)
                self.rates.append(Rate(item.nodeid, count, unit, seconds))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.rates:
            return
        terminalreporter.write_sep("-", "ws-harness fuzz rate")
        for rate in self.rates:
            terminalreporter.write_line(rate.render())
