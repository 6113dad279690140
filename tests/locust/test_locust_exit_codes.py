"""Exit codes of a Locust run: failed requests fail it unless ``--max-fail-ratio`` allows
them, whatever other thresholds are given; threshold values are checked before anything runs.

Real headless runs of ``locustfiles/heartbeat_latency.py`` against a loopback server that
answers one liveness request in four with an error frame (``flaky_server``).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from locust_support import LOCUSTFILES, EchoServer, run_locust

pytestmark = pytest.mark.slow

HEARTBEATS = str(LOCUSTFILES / "heartbeat_latency.py")


def run_flaky(server: EchoServer, folder: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Two anonymous users beating every 50 ms for 2 s: about one request in five fails."""
    return run_locust(
        [
            "-f",
            HEARTBEATS,
            "--host",
            server.url,
            "--headless",
            "--only-summary",
            "--stop-timeout",
            "2",
            "-u",
            "2",
            "-r",
            "2",
            "-t",
            "2s",
            "--ws-user",
            "anonymous",
            "--heartbeat-interval",
            "0.05",
            *extra,
        ],
        cwd=folder,
    )


UNALLOWED = re.compile(r"ws-harness: \d+ of \d+ requests failed .*--max-fail-ratio")


@pytest.mark.parametrize(
    ("thresholds", "code", "says"),
    [
        # The issue: a threshold that is met used to turn the failures into exit 0.
        (["--max-p99-heartbeat-ms", "5000"], 1, UNALLOWED),
        (["--min-connect-rate", "0.1"], 1, UNALLOWED),
        # No threshold at all: Locust's own rule (failures exit 1), now with the reason.
        ([], 1, UNALLOWED),
        # --max-fail-ratio says how many may fail: within it, the run passes ...
        (
            ["--max-p99-heartbeat-ms", "5000", "--max-fail-ratio", "0.9"],
            0,
            re.compile(r"ws-harness: all thresholds met"),
        ),
        # ... and beyond it, the run fails on that threshold, naming the measured ratio.
        (
            ["--max-p99-heartbeat-ms", "5000", "--max-fail-ratio", "0.01"],
            1,
            re.compile(r"threshold --max-fail-ratio 0\.01 failed: measured 0\.\d+"),
        ),
    ],
    ids=["p99-met", "connect-rate-met", "no-threshold", "ratio-allows", "ratio-exceeded"],
)
def test_failed_requests_fail_the_run_unless_the_fail_ratio_allows_them(
    flaky_server: EchoServer, tmp_path: Path, thresholds: list[str], code: int, says: re.Pattern
) -> None:
    result = run_flaky(flaky_server, tmp_path, *thresholds)
    output = result.stdout + result.stderr
    assert "heartbeat" in output and "Traceback" not in output, output[-3000:]
    assert result.returncode == code, output[-3000:]
    assert says.search(output), output[-3000:]


@pytest.mark.parametrize(
    ("option", "value", "rule"),
    [
        ("--max-p99-heartbeat-ms", "-1", ">= 0"),
        ("--max-p99-heartbeat-ms", "nan", ">= 0"),
        ("--max-fail-ratio", "1.5", "from 0 to 1"),
        ("--max-fail-ratio", "-0.1", "from 0 to 1"),
        ("--max-fail-ratio", "1%", "from 0 to 1"),
        ("--min-connect-rate", "-3", ">= 0"),
        ("--max-lost-pushes", "-1", ">= 0"),
        ("--max-lost-pushes", "0.5", ">= 0"),
    ],
)
def test_a_wrong_threshold_is_one_error_line_before_anything_runs(
    flaky_server: EchoServer, tmp_path: Path, option: str, value: str, rule: str
) -> None:
    result = run_flaky(flaky_server, tmp_path, f"{option}={value}")
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr[-3000:]
    (line,) = lines
    assert option in line and repr(value) in line and rule in line, line
    assert "ws-harness latency" not in result.stdout  # no run, no summary
