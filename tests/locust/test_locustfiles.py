"""Each locustfile, headless for a few seconds against the reference target, with --csv and
thresholds; and a distributed run (master + 2 workers) whose merged HDR counts are checked."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from locust_support import LOCUSTFILES, REPO, TIMEOUT, Target, counting_server, run_locust

pytestmark = pytest.mark.slow

HEADLESS = ["--headless", "--only-summary", "--stop-timeout", "2"]


def locustfile(name: str) -> str:
    return str(LOCUSTFILES / f"{name}.py")


def stats_count(prefix: Path, name: str) -> int:
    """Successful requests from Locust's --json-file (its _stats.csv lags up to 1 s)."""
    for entry in json.loads(Path(f"{prefix}_locust.json").read_text()):
        if entry["name"] == name:
            return int(entry["num_requests"]) - int(entry["num_failures"])
    return 0


def report_args(prefix: Path) -> list[str]:
    return ["--csv", str(prefix), "--json-file", f"{prefix}_locust"]  # Locust adds .json


def hdr_counts(prefix: Path) -> dict[str, int]:
    document = json.loads(Path(f"{prefix}_hdr.json").read_text())
    return {metric["name"]: metric["count"] for metric in document["metrics"]}


@pytest.mark.parametrize(
    ("name", "users", "extra", "metric"),
    [
        ("connection_throughput", 5, ["--min-connect-rate", "5"], "WS connect"),
        (
            "heartbeat_latency",
            6,
            ["--heartbeat-interval", "0.2", "--max-p99-heartbeat-ms", "2000"],
            "WS heartbeat",
        ),
        (
            "push_fanout",
            6,
            ["--push-rate", "5", "--max-lost-pushes", "0"],
            "WS push permission_changed",
        ),
    ],
)
def test_locustfile_passes_its_thresholds(
    reference_target: Target, tmp_path: Path, name: str, users: int, extra: list[str], metric: str
) -> None:
    prefix = tmp_path / name
    result = run_locust(
        [
            "-f",
            locustfile(name),
            "--host",
            reference_target.url,
            *HEADLESS,
            "-u",
            str(users),
            "-r",
            str(users),
            "-t",
            "3s",
            *report_args(prefix),
            "--max-fail-ratio",
            "0",
            *extra,
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    counts = hdr_counts(prefix)
    assert counts[metric] > 0
    assert counts[metric] == stats_count(prefix, metric.split(" ", 1)[1])
    assert Path(f"{prefix}_hdr.csv").read_text().startswith("name,count,min_us,p50_us")


def test_impossible_threshold_fails_with_the_measured_value(
    reference_target: Target, tmp_path: Path
) -> None:
    result = run_locust(
        [
            "-f",
            locustfile("heartbeat_latency"),
            "--host",
            reference_target.url,
            *HEADLESS,
            "-u",
            "2",
            "-r",
            "2",
            "-t",
            "2s",
            "--heartbeat-interval",
            "0.2",
            "--max-p99-heartbeat-ms",
            "0.001",
            "--min-connect-rate",
            "1000000",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert "threshold --max-p99-heartbeat-ms 0.001 failed: measured" in result.stderr
    assert "threshold --min-connect-rate 1e+06 failed: measured" in result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_distributed_run_merges_histograms(reference_target: Target, tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "locust", "-f", locustfile("heartbeat_latency")]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    workers = [
        subprocess.Popen(
            [*command, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    prefix = tmp_path / "dist"
    try:
        master = subprocess.run(
            [
                *command,
                "--master",
                "--master-bind-host",
                "127.0.0.1",
                "--master-bind-port",
                str(port),
                "--expect-workers",
                "2",
                "--expect-workers-max-wait",
                str(int(TIMEOUT)),
                "--host",
                reference_target.url,
                *HEADLESS,
                "-u",
                "8",
                "-r",
                "8",
                "-t",
                "4s",
                "--heartbeat-interval",
                "0.2",
                *report_args(prefix),
                "--max-fail-ratio",
                "0",
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=3 * TIMEOUT,
        )
    finally:
        for worker in workers:
            try:
                worker.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                worker.kill()
    assert master.returncode == 0, master.stderr[-3000:]
    counts = hdr_counts(prefix)
    assert counts["WS connect"] == stats_count(prefix, "connect") == 8  # users of both workers
    assert counts["WS heartbeat"] == stats_count(prefix, "heartbeat") > 0


def test_users_spread_over_the_replicas_of_a_comma_separated_host(tmp_path: Path) -> None:
    """``--host ws://a,ws://b``: each user keeps to one server, and every server gets users."""
    first, second = counting_server(), counting_server()
    servers = [next(first), next(second)]
    try:
        result = run_locust(
            [
                "-f", locustfile("heartbeat_latency"),
                "--host", ",".join(server.url for server in servers),
                *HEADLESS, "-u", "4", "-r", "4", "-t", "2s",
                "--heartbeat-interval", "0.2", "--ws-user", "anonymous", "--max-fail-ratio", "0",
            ],
            cwd=tmp_path,
        )  # fmt: skip
    finally:
        for server in (first, second):
            server.close()
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert all(server.counts.get("beats", 0) > 0 for server in servers), [
        server.counts for server in servers
    ]
