"""What the user reads: the pytest header line, transcripts and log tails on failures of
hand-written tests, and the route x message x auth matrix at the end of the run.

The matrix is built from ``report.user_properties`` (not from items), so it also works
under pytest-xdist, where the controller never sees the items.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Generator
from typing import Any

import pytest

from harness._pytest.fixtures import TRANSCRIPT_KEY
from harness._pytest.session import SESSION_KEY, HarnessSession
from harness.errors import HarnessError


def pytest_report_header(config: pytest.Config) -> list[str]:
    session: HarnessSession = config.stash[SESSION_KEY]
    options = session.options
    try:
        backend = session.backend()
    except HarnessError as exc:
        return [f"ws-harness: {exc}"]
    if backend == "url":
        where = options.url
    elif backend == "docker":
        where = options.image or "image built from the config's target.dockerfile"
    else:
        where = options.command or session.config.target.command or "no start command"
    chosen = " (chosen by --ws-backend auto)" if options.backend == "auto" else ""
    return [f"ws-harness: backend {backend}{chosen}: {where}; config {session.config.source}"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[Any]
) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    transcript = item.stash.get(TRANSCRIPT_KEY, None)
    if not report.failed or transcript is None or not transcript.frames:
        return
    session: HarnessSession = item.config.stash[SESSION_KEY]
    longrepr = report.longrepr
    # Sections added to the longrepr reach the terminal and JUnit's <failure> text alike.
    if hasattr(longrepr, "addsection"):
        longrepr.addsection("ws-harness frames (>> sent, << received)", transcript.render())
        tail = session.log_tail()
        if tail:
            longrepr.addsection(f"ws-harness server log, last {session.log_lines} lines", tail)


class CoverageMatrix:
    """Collects each scenario's matrix cell and outcome; prints the matrix at the end.

    A plugin object (registered once per session) rather than module state, so that two
    sessions in one process (pytester) never mix their results.
    """

    def __init__(self) -> None:
        self.results: dict[tuple[str, str, str], list[str]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" and not (report.when == "setup" and not report.passed):
            return
        for name, value in report.user_properties:
            if name == "ws_coverage":
                route, message, auth = str(value).split("|")
                # A setup that did not pass skipped (e.g. no push trigger) or is an ERROR:
                # the harness or its config is wrong, which says nothing of the server.
                outcome = report.outcome if report.when == "call" else "error"
                outcome = "skipped" if report.skipped else outcome
                self.results.setdefault((route, message, auth), []).append(outcome)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.results:
            return
        terminalreporter.write_sep("-", "ws-harness coverage: message x route / auth")
        for line in render_matrix(self.results):
            terminalreporter.write_line(line)


class RootCauses:
    """Groups failed scenarios by their first cause, so one defect reads as one cause.

    Fed from ``report.user_properties`` ("ws_cause"), like the matrix, so xdist works.
    """

    def __init__(self) -> None:
        self.failures: dict[str, list[str]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" or not report.failed:
            return
        for name, value in report.user_properties:
            if name == "ws_cause":
                self.failures.setdefault(str(value), []).append(report.nodeid.split("::")[-1])

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.failures:
            return
        terminalreporter.write_sep("-", "ws-harness root causes")
        for line in render_causes(self.failures):
            terminalreporter.write_line(line)


def render_causes(failures: dict[str, list[str]], shown: int = 3) -> list[str]:
    """Largest group first: "63 failures share one cause: ..." and a few of their names."""
    lines = []
    for cause, names in sorted(failures.items(), key=lambda item: (-len(item[1]), item[0])):
        head = f"{len(names)} failures share one cause" if len(names) > 1 else "1 failure"
        more = f" and {len(names) - shown} more" if len(names) > shown else ""
        lines.append(f"{head}: {cause}")
        lines.append(f"    {', '.join(names[:shown])}{more}")
    return lines


def render_matrix(results: dict[tuple[str, str, str], list[str]]) -> list[str]:
    """Rows: message types; columns: route / auth pairs; cells: ok, FAIL, ERR (the harness or
    its config failed there, not the server), skip or '.'."""
    columns = sorted({(route, auth) for route, _, auth in results})
    messages = sorted({message for _, message, _ in results})
    cells: dict[tuple[str, str, str], str] = defaultdict(lambda: ".")
    for key, outcomes in results.items():
        if "failed" in outcomes:
            cells[key] = "FAIL"
        elif "error" in outcomes:
            cells[key] = "ERR"
        elif "passed" in outcomes:
            cells[key] = "ok"
        else:
            cells[key] = "skip"
    lines = [
        "columns: " + "  ".join(f"{i}={route}/{auth}" for i, (route, auth) in enumerate(columns, 1))
    ]
    width = max(len("message"), *(len(m) for m in messages)) + 2
    lines.append(
        "message".ljust(width) + "".join(str(i).ljust(5) for i in range(1, len(columns) + 1))
    )
    for message in messages:
        row = "".join(cells[(route, message, auth)].ljust(5) for route, auth in columns)
        lines.append(message.ljust(width) + row)
    failed = sum(1 for value in cells.values() if value == "FAIL")
    errors = sum(1 for value in cells.values() if value == "ERR")
    tail = f", {errors} in error (the harness or its config)" if errors else ""
    lines.append(f"{len(results)} cells exercised, {failed} failing{tail}")
    return lines


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        session.stop()
