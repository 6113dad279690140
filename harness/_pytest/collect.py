"""Scenario files as pytest items.

Files matching the ``ws_scenario_files`` glob (default ``*.scenarios.yaml``) become
``ScenarioFile`` collectors; each scenario case becomes a ``ScenarioItem`` named
``<id>[<route>-<auth>]`` and marked with its auth modes, so ``-k anonymous`` and
``-m anonymous`` select the anonymous scenarios. A malformed file fails collection with
the file, the line and what is wrong.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness._pytest.session import SESSION_KEY, HarnessSession
from harness.engine import Scenario, Verdict, load_scenarios
from harness.errors import HarnessError


def pytest_sessionstart(session: pytest.Session) -> None:
    cache = _durations_cache(session.config)
    if cache is not None:
        session.config.stash[SESSION_KEY].load_durations(cache)


def pytest_sessionfinish(session: pytest.Session) -> None:
    cache = _durations_cache(session.config)
    if cache is not None:
        session.config.stash[SESSION_KEY].save_durations(cache)


def _durations_cache(config: pytest.Config) -> Any:
    """pytest's cache (None with ``-p no:cacheprovider``); xdist workers, which run their
    scenarios one by one and would overwrite each other's times, do not use it."""
    if hasattr(config, "workerinput") or SESSION_KEY not in config.stash:
        return None
    return getattr(config, "cache", None)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    pattern = parent.config.getini("ws_scenario_files")
    if file_path.match(pattern):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[ScenarioItem]:
        session: HarnessSession = self.config.stash[SESSION_KEY]
        try:
            scenarios = load_scenarios(self.path, session.contract, session.config)
        except HarnessError as exc:
            raise self.CollectError(str(exc)) from None
        for scenario in scenarios:
            item = ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)
            for marker in ("conformance", *scenario.markers):
                item.add_marker(marker)
            if scenario.skip_reason:
                item.add_marker(pytest.mark.skip(reason=scenario.skip_reason))
            yield item


class _VerdictRaised(Exception):
    """Carries a scenario's verdict to its report; the message is the failure's title."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.failure.title if verdict.failure else verdict.outcome)
        self.verdict = verdict


class ScenarioFailed(_VerdictRaised):
    """Raised by a ScenarioItem whose verdict is "failed"."""


class ScenarioError(_VerdictRaised):
    """Raised in a ScenarioItem's setup when its verdict is "error": pytest reports it as
    ERROR (the harness or its config is wrong), never as the server's failure."""


@dataclass(frozen=True)
class FailureLine:
    """Where a scenario failed and why, in one line: the shape of pytest's ``reprcrash``."""

    path: str
    lineno: int
    message: str


@dataclass(frozen=True)
class FailureRepr:
    """A scenario's failure report: the whole text for the failures section and JUnit's
    <failure> body, and a one-line ``reprcrash`` for the short summary and JUnit's message.

    A plain string would do for the failures section, but pytest puts a string longrepr
    whole into the ``-ra`` summary line when it runs on CI (the ``CI`` variable): every
    failure's frames and server log printed twice.
    """

    text: str
    reprcrash: FailureLine

    def toterminal(self, tw: Any) -> None:
        for line in self.text.splitlines():
            tw.line(line)

    def __str__(self) -> str:
        return self.text


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """pytest asks ``repr_failure`` only about the call phase: a scenario's ERROR, raised in
    setup, gets the same one-line summary and no traceback of the harness's own frames."""
    report = yield
    if call.excinfo is not None and isinstance(call.excinfo.value, ScenarioError):
        report.longrepr = item.repr_failure(call.excinfo)
    return report


_SERIALIZED = "ws_harness_failure"


def pytest_report_to_serializable(report: pytest.TestReport) -> dict[str, Any] | None:
    """xdist sends reports as JSON, where a longrepr object becomes its text: keep the one
    line beside it, so the controller's summary stays one line per failure."""
    longrepr = getattr(report, "longrepr", None)
    if not isinstance(longrepr, FailureRepr):
        return None
    data: dict[str, Any] = report._to_json()
    data[_SERIALIZED] = vars(longrepr.reprcrash)
    return data


def pytest_report_from_serializable(data: dict[str, Any]) -> pytest.TestReport | None:
    if _SERIALIZED not in data:
        return None
    data = dict(data)
    line = FailureLine(**data.pop(_SERIALIZED))
    report = pytest.TestReport._from_json(data)
    report.longrepr = FailureRepr(str(report.longrepr), line)
    return report


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.verdict: Verdict | None = None
        if scenario.coverage is not None:
            cell = scenario.coverage
            self.user_properties.append(("ws_coverage", f"{cell.route}|{cell.message}|{cell.auth}"))

    def setup(self) -> None:
        session: HarnessSession = self.config.stash[SESSION_KEY]
        self.context = session.run_context()
        # The scenario runs here, in setup, because pytest reports an exception in setup as
        # ERROR and one in the call as FAILED: a harness or config problem must never read
        # as the server's failure. runtest() then reports what the server did.
        self.verdict = session.verdict(self.scenario, self._planned)
        # A verdict counts only if the server was still alone on its port when it ended.
        session.check_target(since=self.verdict.finished)
        if self.verdict.outcome == "error" and self.verdict.failure is not None:
            raise ScenarioError(self.verdict)

    def _planned(self) -> list[Scenario]:
        """This run's scenarios from this one on, as the pool should start them."""
        items = self.session.items
        start = items.index(self) if self in items else len(items)
        return [
            item.scenario
            for item in items[start:]
            if isinstance(item, ScenarioItem) and not item.get_closest_marker("skip")
        ]

    def runtest(self) -> None:
        assert self.verdict is not None
        if self.verdict.outcome == "skipped":
            pytest.skip(self.verdict.skip_reason)
        if self.verdict.outcome == "failed":
            if self.verdict.failure is not None:
                self.user_properties.append(("ws_cause", self.verdict.failure.root_cause))
            raise ScenarioFailed(self.verdict)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if not isinstance(excinfo.value, _VerdictRaised):
            return super().repr_failure(excinfo, style)
        verdict = excinfo.value.verdict
        headline = FailureLine(str(self.path), self.scenario.line, str(excinfo.value))
        if isinstance(excinfo.value, ScenarioError):
            assert verdict.failure is not None
            return FailureRepr(f"{verdict.failure.title}\nAt: {verdict.failure.step}", headline)
        session: HarnessSession = self.config.stash[SESSION_KEY]
        parts = [
            f"{self.scenario.name}: {self.scenario.description}".rstrip(": "),
            verdict.failure.render() if verdict.failure else "failed",
            "",
            "--- frames (>> sent, << received) ---",
            verdict.transcript.render(),
        ]
        tail = session.log_tail(verdict)
        if tail:
            parts += ["", f"--- {session.log_heading(verdict)} ---", tail]
        return FailureRepr("\n".join(parts), headline)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.scenario.line - 1, f"scenario {self.scenario.name}"
