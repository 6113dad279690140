"""The three locustfiles against the reference target under Daphne, at 100 and 1,000
connections; prints a Markdown table for benchmarks/README.md.

    python benchmarks/locust_reference_target.py [--sizes 100,1000] [--seconds 30]

Starts ``python -m target serve`` on a free loopback port (its own process), runs each
locustfile headless with ``--reset-stats`` (figures cover the steady state after the ramp),
reads the ``_hdr.json`` files and stops the target. Every run is bounded by -u, -t and a
subprocess timeout.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from locust_bench_support import ENV, REPO

SPAWN_RATE = 200


@contextmanager
def reference_target(timeout: float = 60.0) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "target", "serve", "--host", "127.0.0.1", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=ENV,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            match = re.search(r"ws://127\.0\.0\.1:(\d+)", line)
            if match:
                yield f"ws://127.0.0.1:{match.group(1)}"
                return
            if not line and process.poll() is not None:
                break
        raise RuntimeError("the reference target did not start")
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def run(
    locustfile: str, host: str, users: int, seconds: float, extra: list[str], workdir: Path
) -> dict:
    prefix = workdir / f"{locustfile}_{users}"
    args = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(REPO / "locustfiles" / f"{locustfile}.py"),
        "--host",
        host,
        "--headless",
        "--only-summary",
        "--reset-stats",
        "-u",
        str(users),
        "-r",
        str(SPAWN_RATE),
        "-t",
        f"{seconds:g}s",
        "--csv",
        str(prefix),
        *extra,
    ]
    ramp = users / SPAWN_RATE
    result = subprocess.run(
        args, cwd=workdir, capture_output=True, text=True, env=ENV, timeout=seconds + ramp + 120
    )
    document = json.loads(Path(f"{prefix}_hdr.json").read_text())
    metrics = {m["name"]: m for m in document["metrics"]}
    return {**document, "exit": result.returncode, "metrics": metrics}


def ms(metric: dict | None, field: str) -> str:
    return "-" if metric is None else f"{metric[field] / 1000:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp, reference_target() as host:
        workdir = Path(tmp)
        for size in sizes:
            # Throughput: `size` users cycling connect/confirm/close; connect latency and rate.
            r = run("connection_throughput", host, size, args.seconds, [], workdir)
            m = r["metrics"]
            rows.append(
                f"| connection_throughput | {size} | {r['connect_rate_per_s'] or 0:.0f} "
                f"conn/s | connect p50 {ms(m.get('WS connect'), 'p50_us')} / p99 "
                f"{ms(m.get('WS connect'), 'p99_us')} ms; confirm p50 "
                f"{ms(m.get('WS confirm'), 'p50_us')} ms | {r['fail_ratio']:.4f} |"
            )
            # Heartbeats: `size` long-lived connections (users mixed), one beat per second.
            r = run(
                "heartbeat_latency",
                host,
                size,
                args.seconds,
                ["--heartbeat-interval", "1"],
                workdir,
            )
            m = r["metrics"]
            rows.append(
                f"| heartbeat_latency | {size} | heartbeat p50 "
                f"{ms(m.get('WS heartbeat'), 'p50_us')} / p99 "
                f"{ms(m.get('WS heartbeat'), 'p99_us')} ms | protocol ping p50 "
                f"{ms(m.get('WS ping'), 'p50_us')} / p99 {ms(m.get('WS ping'), 'p99_us')} ms"
                f" | {r['fail_ratio']:.4f} |"
            )
            # Pushes: `size` receivers (+1 trigger user), one push per second to all of them.
            r = run("push_fanout", host, size + 1, args.seconds, ["--push-rate", "1"], workdir)
            # The contract's first push for one user (the default of push_fanout).
            push = next((m for k, m in r["metrics"].items() if k.startswith("WS push ")), None)
            rows.append(
                f"| push_fanout | {size} | push p50 {ms(push, 'p50_us')} / p99 "
                f"{ms(push, 'p99_us')} / max {ms(push, 'max_us')} ms | "
                f"{r['pushes_sent']} pushes, {push['count'] if push else 0} deliveries, "
                f"lost {r['lost_pushes']} | {r['fail_ratio']:.4f} |"
            )
            print("\n".join(rows[-3:]), flush=True)
    print("\n| locustfile | connections | figure | detail | fail ratio |")
    print("| --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
