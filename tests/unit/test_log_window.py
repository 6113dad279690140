"""The server log shown with a failing scenario is what the server wrote while it ran.

Scenarios run at once and pytest reports their verdicts later, so "the last 40 lines at
report time" were often another scenario's. ``Target.log_mark`` marks how far the log has
got; a verdict carries the marks from its start and end (``Verdict.log_window``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from harness._pytest.session import HarnessSession
from harness.client import Transcript
from harness.engine.model import Scenario
from harness.engine.runner import Verdict
from harness.targets import TargetOptions
from harness.targets.process import ProcessTarget
from harness.targets.replicas import ReplicaSet, _window_of


def write(target: ProcessTarget, *lines: str) -> None:
    with open(target.log_path, "a", encoding="utf-8") as log:
        log.writelines(f"{line}\n" for line in lines)


def test_a_process_targets_window_holds_only_the_lines_written_between_its_marks(
    tmp_path: Path,
) -> None:
    target = ProcessTarget("unused", probe=None, log_dir=str(tmp_path))  # type: ignore[arg-type]
    write(target, "before 1", "before 2")
    start = target.log_mark()
    write(target, "during 1", "during 2", "during 3")
    end = target.log_mark()
    write(target, "after")
    assert target.logs(10, window=(start, end)).splitlines() == ["during 1", "during 2", "during 3"]
    assert target.logs(2, window=(start, end)).splitlines() == ["during 2", "during 3"]
    assert target.logs(2).splitlines() == ["during 3", "after"]  # no window: the last lines


def test_without_a_log_file_there_is_no_mark_and_no_text(tmp_path: Path) -> None:
    target = ProcessTarget("unused", probe=None, log_dir=str(tmp_path / "none"))  # type: ignore[arg-type]
    assert target.log_mark() is None
    assert target.logs(5, window=(None, None)) == ""


class MarkingTarget:
    """Counts log marks; ``logs`` reports what it was asked for."""

    def __init__(self) -> None:
        self.marks = 0

    def log_mark(self) -> int:
        self.marks += 1
        return self.marks

    def logs(self, lines: int, window: Any = None) -> str:
        return f"{lines} lines of {window}"


def test_a_verdict_carries_its_log_window_and_the_tail_uses_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def verdict_of(scenario: Scenario, context: Any) -> Verdict:
        return Verdict("failed", Transcript())

    monkeypatch.setattr("harness._pytest.session.run_scenario", verdict_of)
    session = HarnessSession(TargetOptions(), None, None, 40)
    session._target = MarkingTarget()  # type: ignore[assignment]
    scenario = Scenario(name="s", base="s", description="", file="f", line=1, steps=())
    verdict = asyncio.run(session._run_marked(scenario, None))  # type: ignore[arg-type]
    assert verdict.log_window == (1, 2)
    assert session.log_tail(verdict) == "40 lines of (1, 2)"
    assert "while the scenario ran" in session.log_heading(verdict)
    assert session.log_tail() == "40 lines of None"  # a hand-written test: the last lines
    assert session.log_heading() == "server log, last 40 lines"


def test_a_replica_set_marks_its_log_only_when_every_replica_can() -> None:
    marking, blind = MarkingTarget(), MarkingTarget()
    blind.log_mark = lambda: None  # type: ignore[method-assign] - a docker replica
    replicas = ReplicaSet.__new__(ReplicaSet)
    replicas._replicas = [marking, marking]  # type: ignore[list-item]
    assert replicas.log_mark() == (1, 2)
    replicas._replicas = [marking, blind]  # type: ignore[list-item]
    assert replicas.log_mark() is None


def test_each_replica_gets_its_own_marks_out_of_the_sets_window() -> None:
    assert _window_of(1, (10, 20), (15, 25)) == (20, 25)
    assert _window_of(2, (10, 20), (15, 25)) is None  # a replica that was not there


def test_a_window_with_nothing_written_says_so() -> None:
    class Silent(MarkingTarget):
        def logs(self, lines: int, window: Any = None) -> str:
            return ""

    session = HarnessSession(TargetOptions(), None, None, 40)
    session._target = Silent()  # type: ignore[assignment]
    verdict = Verdict("failed", Transcript(), log_window=(3, 3))
    assert "wrote no log line while the scenario ran" in session.log_tail(verdict)
    assert session.log_tail() == ""  # no window: nothing to say
