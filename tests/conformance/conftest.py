"""The fault catalogue's score in the test run's summary (and so in CI's log).

Each fault proof (a test with a ``fault`` parameter that runs the conformance suite into its
``tmp_path``) gets user properties on its report: which catalogue, the fault, whether it was
caught, and the scenarios that caught it (read back from the run's JUnit XML). Properties
travel with the report, so this works under xdist too. At the end of the session::

    fault catalogue: 40/40 caught (100%)
      any_origin              foreign_origin_refused (2)
      ...
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import mutation

# The proofs' modules and the catalogue line each one prints.
CATALOGUES = {
    "test_faults": "fault catalogue",
    "test_renamed_protocol": "fault catalogue, renamed protocol",
}
_KEY = "fault_catalogue"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    callspec = getattr(item, "callspec", None)
    fault = callspec.params.get("fault") if callspec is not None else None
    label = CATALOGUES.get(getattr(getattr(item, "module", None), "__name__", "").split(".")[-1])
    if report.when != "call" or fault is None or label is None or report.skipped:
        return
    tmp_path = getattr(item, "funcargs", {}).get("tmp_path")
    failed, _ = mutation.read_junit(Path(tmp_path) / "junit.xml") if tmp_path else ([], 0)
    report.user_properties += [
        (_KEY, label),
        ("fault", str(fault)),
        ("caught", report.passed),
        ("caught_by", mutation.scenarios_of(failed) if report.passed else ""),
    ]


def fault_lines(reports: list[Any]) -> list[str]:
    """The summary lines for the fault proofs among ``reports`` (none when none ran)."""
    by_label: dict[str, dict[str, tuple[bool, str]]] = {}
    for report in reports:
        properties = dict(getattr(report, "user_properties", ()))
        if _KEY in properties:
            by_label.setdefault(properties[_KEY], {})[properties["fault"]] = (
                bool(properties["caught"]),
                str(properties["caught_by"]),
            )
    return [
        line for label, results in by_label.items() for line in mutation.summary(label, results)
    ]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    reports = [r for key in ("passed", "failed") for r in terminalreporter.stats.get(key, [])]
    lines = fault_lines(reports)
    if lines:
        terminalreporter.write_sep("-", "fault catalogue score")
        for line in lines:
            terminalreporter.write_line(line)
