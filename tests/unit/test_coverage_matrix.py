"""harness/_pytest/report.py: the coverage matrix's cells from the test reports."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from harness._pytest.report import CoverageMatrix


def report(when: str, outcome: str) -> Any:
    return SimpleNamespace(
        when=when,
        outcome=outcome,
        passed=outcome == "passed",
        skipped=outcome == "skipped",
        failed=outcome == "failed",
        user_properties=[("ws_coverage", "route|message|user")],
    )


def cell(*reports: Any) -> list[str]:
    matrix = CoverageMatrix()
    for each in reports:
        matrix.pytest_runtest_logreport(each)
    return matrix.results.get(("route", "message", "user"), [])


def test_a_scenario_skipped_in_setup_is_a_skipped_cell_not_a_failure() -> None:
    assert cell(report("setup", "skipped")) == ["skipped"]


def test_an_error_in_setup_is_a_failing_cell() -> None:
    assert cell(report("setup", "failed")) == ["failed"]


def test_the_call_decides_after_a_passing_setup() -> None:
    assert cell(report("setup", "passed"), report("call", "passed")) == ["passed"]
    assert cell(report("setup", "passed"), report("call", "failed")) == ["failed"]
