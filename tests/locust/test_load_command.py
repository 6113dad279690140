"""``ws-harness load``: one command starts the target, runs Locust headless, stops the target
and exits by the gates.

The slow tests are the issue's "how we will know": the bundled heartbeat locustfile, found by
name, passes a 50 ms p99 gate against the reference target (the issue's command: 50 users for
10 s, ~12 s) and fails it when the target's heartbeat replies come 2 s late
(``TARGET_FAULTS=heartbeat_slow``, 4 s suffice); the latency plot, the gate verdicts and the
HTML report are written. Shorter or denser passing runs were tried and dropped: 4 s with a beat
every 0.25 s made p99 59-82 ms while other jobs loaded the 2 cores (the beats queued behind the
50 handshakes at the start, and the generator's own load); the issue's run kept p99 at 3-10 ms
beside a process burning a core.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from locust_support import REPO, TIMEOUT

from harness.commands import load

SVG = "{http://www.w3.org/2000/svg}"


def ws_harness(
    *args: str, cwd: Path, timeout: float = 6 * TIMEOUT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``ws-harness ARGS`` in a subprocess, bounded; output captured."""
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
    )


def heartbeat_run(
    folder: Path, *extra: str, run_time: str = "10s", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The issue's command, with reports and a Locust option passed through."""
    return ws_harness(
        "load",
        "heartbeat_latency",
        "-u",
        "50",
        "-t",
        run_time,
        "--max-p99-heartbeat-ms",
        "50",
        "--csv",
        str(folder / "hb"),
        "--html",
        str(folder / "report.html"),
        "--exit-code-on-error",  # a Locust option, passed through untouched
        "1",
        *extra,
        cwd=folder,
        env=env,
    )


def plotted(svg: Path) -> dict[str, dict[float, int]]:
    """{metric: {percentile: microseconds}} read back from the plot's marked points."""
    root = ET.parse(svg).getroot()
    assert root.tag == f"{SVG}svg"
    curves: dict[str, dict[float, int]] = {}
    for point in root.iter(f"{SVG}circle"):
        metric = point.get("data-metric")
        if metric is not None:
            curves.setdefault(metric, {})[float(point.get("data-percentile", "nan"))] = int(
                point.get("data-us", "-1")
            )
    return curves


@pytest.mark.slow
def test_heartbeat_gate_passes_against_the_reference_target(tmp_path: Path) -> None:
    result = heartbeat_run(tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert "all thresholds met" in output
    assert "ws-harness: serving ws://127.0.0.1:" in output  # the target it started
    assert "users 50" in output and "conn/s" in output  # the progress line

    document = json.loads((tmp_path / "hb_hdr.json").read_text())
    (gate,) = document["gates"]["verdicts"]
    assert gate["option"] == "--max-p99-heartbeat-ms" and gate["limit"] == 50
    assert gate["passed"] is True and 0 < gate["measured"] <= 50
    assert document["gates"]["passed"] is True

    # The plot, next to the CSVs and next to the HTML report: the percentiles of every metric.
    for svg in (tmp_path / "hb_latency.svg", tmp_path / "report_latency.svg"):
        curves = plotted(svg)
        beats = curves["WS heartbeat"]
        assert sorted(beats) == [50.0, 90.0, 99.0, 99.9, 99.99]
        values = [beats[p] for p in sorted(beats)]
        assert values == sorted(values) and values[0] > 0
        metric = next(m for m in document["metrics"] if m["name"] == "WS heartbeat")
        assert beats[50.0] == metric["p50_us"] and beats[99.0] == metric["p99_us"]
        assert {"WS connect", "WS heartbeat"} <= set(curves)

    html = (tmp_path / "report.html").read_text()
    assert html.count('id="ws-harness-latency"') == 1
    assert "<svg" in html and "--max-p99-heartbeat-ms" in html and "passed" in html


@pytest.mark.slow
def test_heartbeat_gate_fails_when_the_target_answers_late(tmp_path: Path) -> None:
    """Replies 2 s late, within a reply timeout made 3 s (WS_HARNESS_TIMEOUT_FACTOR=3): every
    answered heartbeat measures about 2 s, and the p99 gate fails with that figure. (With
    the 1 s timeout every heartbeat fails, and the gate says "not measured": a late reply is
    never credited to the next heartbeat, see test_locust_late_replies.)"""
    result = heartbeat_run(
        tmp_path,
        "--ws-env",
        "TARGET_FAULTS=heartbeat_slow",
        run_time="4s",
        env={"WS_HARNESS_TIMEOUT_FACTOR": "3"},
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "threshold --max-p99-heartbeat-ms 50 failed: measured" in result.stderr
    document = json.loads((tmp_path / "hb_hdr.json").read_text())
    (gate,) = document["gates"]["verdicts"]
    assert gate["option"] == "--max-p99-heartbeat-ms" and gate["passed"] is False
    assert 1900 < gate["measured"] < 3000
    assert document["gates"]["passed"] is False
    html = (tmp_path / "report.html").read_text()
    assert '<tr class="failed"><td>--max-p99-heartbeat-ms</td><td>50 ms</td>' in html
    assert plotted(tmp_path / "hb_latency.svg")["WS heartbeat"][99.0] > 1_900_000


@pytest.mark.slow
def test_workers_run_a_master_and_its_workers(tmp_path: Path) -> None:
    result = ws_harness(
        "load",
        "connection_throughput",
        "--workers",
        "2",
        "-u",
        "4",
        "-t",
        "3s",
        "--min-connect-rate",
        "1",
        "--csv",
        str(tmp_path / "conn"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    document = json.loads((tmp_path / "conn_hdr.json").read_text())
    connects = next(m for m in document["metrics"] if m["name"] == "WS connect")
    assert connects["count"] > 10  # merged from the workers by the master
    assert "worker" in (result.stdout + result.stderr).lower()


# ---------------------------------------------------------------- fast: bad input, one line


def test_bundled_locustfiles_are_found_by_name() -> None:
    for name in ("connection_throughput", "heartbeat_latency", "push_fanout"):
        path = load.find_locustfile(name)
        assert path.is_file() and path.name == f"{name}.py"
        assert path.parent == REPO / "locustfiles"  # this checkout's, whatever is installed
        assert load.find_locustfile(f"{name}.py") == path


def test_a_locustfile_path_wins_over_the_bundled_name(tmp_path: Path) -> None:
    mine = tmp_path / "heartbeat_latency.py"
    mine.write_text("")
    assert load.find_locustfile(str(mine)) == mine.resolve()


def test_unknown_locustfile_is_one_line(tmp_path: Path) -> None:
    result = ws_harness("load", "no_such_locustfile", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "no_such_locustfile" in lines[0] and "heartbeat_latency" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--max-p99-heartbeat-ms", "fast"], "expected a latency in milliseconds"),
        (["--workers", "0"], "--workers"),
        (["-t", "soon"], "-t"),
        (["--ws-backend", "kubernetes"], "expected one of"),
    ],
)
def test_bad_option_is_one_error_line(tmp_path: Path, args: list[str], says: str) -> None:
    result = ws_harness("load", "heartbeat_latency", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and says in errors[0], result.stderr


def test_without_locust_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "locust" else real(name, *a)
    )
    with pytest.raises(load.HarnessError, match=r"pip install 'ws-harness\[locust\]'"):
        load.check_locust()


def test_locust_command_line(tmp_path: Path) -> None:
    """Locust gets the target's URL, headless, the run's shape, the ws-harness options that
    were given, and every option ws-harness does not know, in order."""
    args = load.parse(
        [
            "heartbeat_latency",
            "-u",
            "7",
            "-t",
            "5s",
            "--max-p99-heartbeat-ms",
            "20",
            "--workers",
            "2",
            "--ws-env",
            "A=1",
            "--stop-timeout",
            "3",
            "--loglevel",
            "WARNING",
        ]
    )
    command = load.locust_command(args, Path("/x/hb.py"), "ws://127.0.0.1:9")
    assert command[:3] == [sys.executable, "-m", "locust"]
    text = " ".join(command)
    assert "-f /x/hb.py --host ws://127.0.0.1:9 --headless" in text
    assert "-u 7 -r 7 -t 5s" in text
    assert "--max-p99-heartbeat-ms 20" in text and "--processes 2" in text
    assert text.endswith("--stop-timeout 3 --loglevel WARNING")
    assert "--ws-env" not in text and "A=1" not in text  # the target's, not Locust's
    assert load.target_options(args).env == {"A": "1"}


@pytest.mark.parametrize(
    ("text", "seconds"), [("10s", 10), ("90", 90), ("1m30s", 90), ("2h", 7200), ("1h1m1s", 3661)]
)
def test_run_time(text: str, seconds: int) -> None:
    assert load.run_time_seconds(text) == seconds


def test_help_after_the_locustfile_is_ours_and_starts_nothing(tmp_path: Path) -> None:
    result = ws_harness("load", "heartbeat_latency", "-u", "3", "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "--workers N" in result.stdout and "--ws-backend" in result.stdout
    assert "serving" not in result.stdout + result.stderr
