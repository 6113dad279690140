"""The report tests' marker and their one shared conformance run."""

from __future__ import annotations

import pytest
from report_support import ReportRun, run_with_report


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: needs Debian's chromium; skipped without it unless CI requires it"
    )


@pytest.fixture(scope="session")
def failing_run(tmp_path_factory: pytest.TempPathFactory) -> ReportRun:
    return run_with_report(tmp_path_factory.mktemp("report-run"))
