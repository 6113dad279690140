"""10,000 concurrent idle heartbeat connections from one Locust worker process, and the
generator's memory per idle connection.

    python benchmarks/locust_idle_connections.py [--connections 10000] [--hold 20]

The bare server (its own process) listens on 127.0.0.1-4 so that no single address pair
runs short of ephemeral ports; users are spread over the four. Each connection sends a
heartbeat every --heartbeat-interval seconds. Memory per connection = the RSS growth of
the Locust process from before the first user to all connected, divided by the count.
Goal (issue 6): 10,000 connections within 2 GiB.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

from locust_bench_support import bare_server, raise_file_limit, run_role

HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4")
GOAL_BYTES = 2 * 1024**3


def locust_role(port: int, connections: int, interval: float, hold: float) -> dict:
    import gevent
    import psutil
    from locust import events
    from locust.env import Environment

    from harness.locust.context import RunContext
    from harness.locust.users import HeartbeatUser

    raise_file_limit()
    hosts = itertools.cycle(f"ws://{host}:{port}" for host in HOSTS)

    class Idle(HeartbeatUser):
        host = f"ws://127.0.0.1:{port}"
        heartbeat_interval = interval

        def on_start(self) -> None:
            self.host = next(hosts)
            super().on_start()

    process = psutil.Process()
    environment = Environment(user_classes=[Idle], events=events)
    runner = environment.create_local_runner()
    events.init.fire(environment=environment, runner=runner, web_ui=None)
    gevent.sleep(0.2)
    rss_before = process.memory_info().rss
    started = time.monotonic()
    runner.start(connections, spawn_rate=1000)
    deadline = started + connections / 1000 + 60
    # (Locust replaces its stats entries when a test starts: look the entry up each time.)
    while (
        environment.stats.get("connect", "WS").num_requests < connections
        and time.monotonic() < deadline
    ):
        gevent.sleep(0.5)
    ramp = time.monotonic() - started
    gevent.sleep(2)  # let the last confirmations land
    rss_connected = process.memory_info().rss
    RunContext.of(environment).recorder.reset()  # heartbeat latency: steady state only
    open_now = sum(1 for user in runner.user_greenlets if user.args[0].connection is not None)
    gevent.sleep(hold)
    rss_end = process.memory_info().rss
    recorder = RunContext.of(environment).recorder
    heartbeat = environment.stats.get("heartbeat", "WS")
    connect = environment.stats.get("connect", "WS")
    stop_started = time.monotonic()
    runner.quit()
    return {
        "connections": connections,
        "open": open_now,
        "ramp_s": ramp,
        "connect_failures": connect.num_failures,
        "rss_before": rss_before,
        "rss_connected": rss_connected,
        "rss_end": rss_end,
        "heartbeats": heartbeat.num_requests,
        "heartbeat_failures": heartbeat.num_failures,
        "heartbeat_p50_us": recorder.percentile_us("WS heartbeat", 50.0),
        "heartbeat_p99_us": recorder.percentile_us("WS heartbeat", 99.0),
        "stop_s": time.monotonic() - stop_started,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--heartbeat-interval", type=float, default=10.0)
    parser.add_argument("--hold", type=float, default=20.0)
    parser.add_argument("--role-port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role_port:
        result = locust_role(args.role_port, args.connections, args.heartbeat_interval, args.hold)
        print(json.dumps(result))
        return 0
    import psutil

    with bare_server(",".join(HOSTS)) as (port, server_pid):
        result = run_role(
            Path(__file__).resolve(),
            [
                "--role-port",
                str(port),
                "--connections",
                str(args.connections),
                "--heartbeat-interval",
                str(args.heartbeat_interval),
                "--hold",
                str(args.hold),
            ],
            timeout=args.connections / 1000 + args.hold + 180,
        )
        server_rss = psutil.Process(server_pid).memory_info().rss
    mib = 1024**2
    per_connection = (result["rss_connected"] - result["rss_before"]) / result["connections"]
    print(
        f"connections: {result['open']} open of {result['connections']} "
        f"(ramp {result['ramp_s']:.1f} s, connect failures {result['connect_failures']})"
    )
    print(
        f"generator RSS: {result['rss_before'] / mib:.0f} MiB before, "
        f"{result['rss_connected'] / mib:.0f} MiB connected, {result['rss_end'] / mib:.0f} MiB "
        f"after {args.hold:g} s of heartbeats (goal < {GOAL_BYTES / mib:.0f} MiB)"
    )
    print(f"memory per idle connection: {per_connection / 1024:.1f} KiB")
    print(
        f"heartbeats: {result['heartbeats']} ({result['heartbeat_failures']} failed), "
        f"p50 {result['heartbeat_p50_us']} us, p99 {result['heartbeat_p99_us']} us"
    )
    print(f"server RSS: {server_rss / mib:.0f} MiB; users stopped in {result['stop_s']:.1f} s")
    within = result["rss_end"] < GOAL_BYTES and result["open"] == result["connections"]
    print("goal met" if within else "goal NOT met")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
