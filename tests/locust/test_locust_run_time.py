"""A run lasts its --run-time even when the locustfile took long to import (a loaded CI
machine): Locust arms that timer on the event loop's cached clock, which the ws-harness
plugin refreshes at the test start."""

from __future__ import annotations

import re
import textwrap
from datetime import datetime
from pathlib import Path

import pytest
from locust_support import run_locust

pytestmark = pytest.mark.slow

SLOW_IMPORT = textwrap.dedent(
    """
    import time

    import gevent
    from locust import User, constant, task

    import harness.locust.users  # noqa: F401  (installs the ws-harness plugin)

    gevent.get_hub()  # the event loop exists from here on, as once anything touched it
    _end = time.perf_counter() + 2.0
    while time.perf_counter() < _end:  # an import that takes 2 s without yielding
        pass


    class Idle(User):
        wait_time = constant(0.1)

        @task
        def nothing(self):
            pass
    """
)
STAMP = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\]")


def logged_at(output: str, text: str) -> datetime:
    line = next(line for line in output.splitlines() if text in line)
    match = STAMP.match(line)
    assert match, line
    return datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f")


def test_the_run_time_counts_from_the_start_not_from_the_import(tmp_path: Path) -> None:
    locustfile = tmp_path / "slow_import.py"
    locustfile.write_text(SLOW_IMPORT)
    result = run_locust(
        ["-f", str(locustfile), "--headless", "--only-summary", "-u", "1", "-t", "2s"],
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    started = logged_at(output, "Run time limit set to 2 seconds")
    stopped = logged_at(output, "--run-time limit reached")
    assert (stopped - started).total_seconds() >= 1.9, output[-3000:]
