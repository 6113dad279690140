"""harness/_pytest/report.py: the coverage matrix's cells from the test reports."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from harness._pytest.report import CoverageMatrix, render_matrix


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


def test_an_error_in_setup_is_an_error_cell_not_the_servers_failure() -> None:
    assert cell(report("setup", "failed")) == ["error"]
    lines = render_matrix({("route", "message", "user"): ["error"]})
    assert lines[-2].split()[-1] == "ERR"
    assert lines[-1] == "1 cells exercised, 0 failing, 1 in error (the harness or its config)"


def test_a_failure_outweighs_an_error_in_one_cell() -> None:
    lines = render_matrix({("route", "message", "user"): ["error", "failed", "passed"]})
    assert lines[-2].split()[-1] == "FAIL" and lines[-1].endswith("1 failing")


def test_the_call_decides_after_a_passing_setup() -> None:
    assert cell(report("setup", "passed"), report("call", "passed")) == ["passed"]
    assert cell(report("setup", "passed"), report("call", "failed")) == ["failed"]
