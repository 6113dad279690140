"""harness/_pytest/session.py: the early start on a thread, and the measured durations that
order the next run's scenarios (longest first).

The real server's side of the early start (it stays up after its start thread has done its
work) is tests/integration/test_early_start.py.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from harness._pytest.session import DURATIONS_KEY, HarnessSession
from harness.client import Transcript
from harness.engine.model import Scenario, Wait
from harness.engine.runner import Verdict
from harness.errors import TargetError
from harness.targets import TargetOptions


class DictCache:
    """pytest's ``config.cache``, as far as the session uses it."""

    def __init__(self, stored: dict[str, Any] | None = None) -> None:
        self.values: dict[str, Any] = dict(stored or {})

    def get(self, key: str, default: Any) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value


def scenario(name: str, wait: float = 0.0) -> Scenario:
    steps = (Wait(seconds=wait),) if wait else ()
    return Scenario(name=name, base=name, description="", file="f.yaml", line=1, steps=steps)


def new_session() -> HarnessSession:
    return HarnessSession(TargetOptions(), None, None, 40)


def test_a_measured_duration_wins_over_the_steps_waits() -> None:
    session = new_session()
    session.load_durations(DictCache({DURATIONS_KEY: {"f.yaml::slow": 1.25}}))
    assert session.expected_seconds(scenario("slow")) == 1.25
    assert session.expected_seconds(scenario("unmeasured", wait=0.5)) == 0.5


def test_stored_durations_that_are_not_seconds_are_ignored() -> None:
    session = new_session()
    stored = {"f.yaml::a": "soon", "f.yaml::b": -1, "f.yaml::c": 0.5, "f.yaml::d": None}
    session.load_durations(DictCache({DURATIONS_KEY: stored}))
    assert session.durations == {"f.yaml::c": 0.5}
    session.load_durations(DictCache({DURATIONS_KEY: ["not", "a", "mapping"]}))
    assert session.durations == {"f.yaml::c": 0.5}


def test_this_runs_verdicts_are_saved_beside_earlier_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    session = new_session()
    cache = DictCache({DURATIONS_KEY: {"f.yaml::earlier": 0.75}})
    session.load_durations(cache)
    session._context = object()  # type: ignore[assignment] - no target: run_scenario is faked

    async def verdict_of(s: Scenario, context: Any) -> Verdict:
        outcome = "error" if s.name == "broken" else "passed"
        return Verdict(outcome, Transcript(), seconds=0.3)

    monkeypatch.setattr("harness._pytest.session.run_scenario", verdict_of)
    for name in ("measured", "broken"):
        session.verdict(scenario(name), lambda: [])
    session.save_durations(cache)
    # An error says nothing about how long the scenario takes against this server.
    assert cache.values[DURATIONS_KEY] == {"f.yaml::earlier": 0.75, "f.yaml::measured": 0.3}


class FakeTarget:
    def __init__(self, fail: Exception | None = None, gate: threading.Event | None = None):
        self.fail = fail
        self.gate = gate
        self.started_on: str | None = None
        self.stopped = 0
        self.info = object()

    def start(self) -> object:
        if self.gate is not None:
            self.gate.wait(5)
        self.started_on = threading.current_thread().name
        if self.fail is not None:
            raise self.fail
        return self.info

    def stop(self) -> None:
        self.stopped += 1


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[FakeTarget]:
    """The targets the session makes; the next one to make is the list's last entry."""
    made: list[FakeTarget] = [FakeTarget()]
    monkeypatch.setattr("harness._pytest.session.make_target", lambda *args: made[-1])
    monkeypatch.setattr("harness._pytest.session.atexit.register", lambda fn: None)
    monkeypatch.setattr(HarnessSession, "contract", None)
    monkeypatch.setattr(HarnessSession, "config", None)
    return made


def test_the_early_start_runs_on_its_thread_and_is_the_targets(made: list[FakeTarget]) -> None:
    session = new_session()
    session.start_in_background()
    assert session.target() is made[0]
    assert made[0].started_on == "ws-harness-target-start"
    session.stop()
    assert made[0].stopped == 1


def test_the_start_thread_outlives_the_start_until_the_target_is_stopped(
    made: list[FakeTarget],
) -> None:
    # The server's parent-death signal follows the thread that started it.
    session = new_session()
    session.start_in_background()
    session.target()
    thread = next(t for t in threading.enumerate() if t.name == "ws-harness-target-start")
    assert thread.is_alive()
    session.stop()
    assert not thread.is_alive()


def test_an_early_start_that_fails_fails_the_first_test_in_one_line(
    made: list[FakeTarget],
) -> None:
    made[0] = FakeTarget(fail=TargetError("the server exited at start (exit code 2)"))
    session = new_session()
    session.start_in_background()
    for _ in range(2):  # every test that needs it, with the same line, without a new start
        with pytest.raises(pytest.fail.Exception, match="ws-harness: the server exited"):
            session.target()
    assert made[0].stopped == 1
    session.stop()


def test_a_harness_bug_in_the_early_start_reaches_the_first_test(made: list[FakeTarget]) -> None:
    made[0] = FakeTarget(fail=KeyError("a bug"))
    session = new_session()
    session.start_in_background()
    with pytest.raises(KeyError, match="a bug"):
        session.target()
    session.stop()


def test_a_run_that_never_needed_the_target_stops_it_after_its_start(
    made: list[FakeTarget], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    made[0] = FakeTarget(gate=gate)
    session = new_session()
    monkeypatch.setattr(session, "_start_deadline", lambda: 5.0)
    session.start_in_background()
    threading.Timer(0.2, gate.set).start()
    session.stop()  # while the start is still under way
    assert made[0].started_on is not None and made[0].stopped == 1
