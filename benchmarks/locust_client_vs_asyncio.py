"""Our Locust WebSocket user vs a bare asyncio ``websockets`` client loop, per client core.

    python benchmarks/locust_client_vs_asyncio.py [--seconds 5]

Against the bare server (its own process), each client runs alone in its own process and
its CPU time is measured, so "per client core" = operations per CPU-second of the client
process (the server may be the bottleneck for both; this ratio still compares clients).

* connect:   open, first frame (connection_confirmed), close; C concurrent loops
* heartbeat: send a heartbeat, await the reply, repeat; N connections, no pause
* latency:   heartbeat p50 at a fixed moderate rate (20 connections x 20/s)

Goals (issue 6): connect >= 0.9x, heartbeat msgs/s >= 0.9x, heartbeat p50 <= 1.2x.
Our user is driven in-process by a Locust LocalRunner (one process = one worker), with
Locust's statistics and the HDR histograms running, as in a real test.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from locust_bench_support import bare_server, cpu_seconds, run_role

MODES = {
    # mode: (concurrency, pause between heartbeats in seconds)
    "connect": (20, 0.0),
    "heartbeat": (50, 0.0),
    "latency": (20, 0.05),
}


# ---------------------------------------------------------------- the asyncio baseline
def asyncio_role(url: str, mode: str, seconds: float) -> dict:
    import asyncio

    from websockets.asyncio.client import connect

    concurrency, pause = MODES[mode]
    latencies: list[float] = []

    async def connect_loop(deadline: float, index: int) -> int:
        count = 0
        while time.monotonic() < deadline:
            async with connect(url, compression=None, ping_interval=None) as ws:
                await ws.recv()
            count += 1
        return count

    async def heartbeat_loop(deadline: float, index: int) -> int:
        count = 0
        async with connect(url, compression=None, ping_interval=None) as ws:
            await ws.recv()
            await asyncio.sleep(pause * index / concurrency)  # staggered, as Locust spawns
            while time.monotonic() < deadline:
                started = time.perf_counter()
                await ws.send('{"type": "heartbeat", "timestamp": 0}')
                await ws.recv()
                latencies.append(time.perf_counter() - started)
                count += 1
                if pause:
                    await asyncio.sleep(pause - (time.perf_counter() - started))
        return count

    async def main() -> dict:
        loop = connect_loop if mode == "connect" else heartbeat_loop
        cpu0, t0 = cpu_seconds(), time.monotonic()
        counts = await asyncio.gather(*(loop(t0 + seconds, i) for i in range(concurrency)))
        return {
            "count": sum(counts),
            "elapsed": time.monotonic() - t0,
            "cpu": cpu_seconds() - cpu0,
            "p50_us": _p50(latencies),
        }

    return asyncio.run(main())


def _p50(latencies: list[float]) -> float | None:
    if not latencies:
        return None
    return sorted(latencies)[len(latencies) // 2] * 1e6


# ---------------------------------------------------------------- our client alone
def gevent_role(url: str, mode: str, seconds: float) -> dict:
    """``WsConnection`` in plain greenlets: the client layer without Locust's machinery."""
    from gevent import monkey

    monkey.patch_all()
    import gevent

    from harness.locust.wsconn import WsConnection

    concurrency, pause = MODES[mode]
    latencies: list[float] = []

    def connect_loop(deadline: float, index: int) -> int:
        count = 0
        while time.monotonic() < deadline:
            connection = WsConnection.open(url, 5.0)
            connection.receive(5.0)
            connection.close()
            count += 1
        return count

    def heartbeat_loop(deadline: float, index: int) -> int:
        count = 0
        connection = WsConnection.open(url, 5.0)
        connection.receive(5.0)
        gevent.sleep(pause * index / concurrency)
        while time.monotonic() < deadline:
            started = time.perf_counter()
            connection.send_text('{"type": "heartbeat", "timestamp": 0}')
            received = connection.receive(2.0)
            assert received is not None
            latencies.append(received.at - started)
            count += 1
            if pause:
                gevent.sleep(max(pause - (time.perf_counter() - started), 0))
        connection.close()
        return count

    loop = connect_loop if mode == "connect" else heartbeat_loop
    cpu0, t0 = cpu_seconds(), time.monotonic()
    greenlets = [gevent.spawn(loop, t0 + seconds, i) for i in range(concurrency)]
    gevent.joinall(greenlets, raise_error=True)
    return {
        "count": sum(g.value for g in greenlets),
        "elapsed": time.monotonic() - t0,
        "cpu": cpu_seconds() - cpu0,
        "p50_us": _p50(latencies),
    }


# ---------------------------------------------------------------- our Locust user
def locust_role(url: str, mode: str, seconds: float) -> dict:
    import gevent
    from locust import events, task
    from locust.env import Environment

    from harness.locust.context import RunContext
    from harness.locust.users import HeartbeatUser, WebSocketUser

    concurrency, pause = MODES[mode]

    class Cycle(WebSocketUser):
        host = url

        def on_start(self) -> None:
            super().on_start()
            self.disconnect()

        @task
        def cycle(self) -> None:
            if self.connect():
                self.disconnect()

    class Beat(HeartbeatUser):
        host = url
        heartbeat_interval = pause or 1e-9

    user_class = Cycle if mode == "connect" else Beat
    environment = Environment(user_classes=[user_class], events=events)
    runner = environment.create_local_runner()
    events.init.fire(environment=environment, runner=runner, web_ui=None)
    liveness = RunContext.of(environment).liveness_name  # heartbeat()'s Locust name
    metric = "connect" if mode == "connect" else liveness
    # Paced users start evenly spread over one period, like the staggered asyncio tasks.
    spawn_rate = concurrency / pause if pause else concurrency * 10
    runner.start(concurrency, spawn_rate=spawn_rate)
    gevent.sleep(concurrency / spawn_rate + 0.3)  # ramp-up done; measure from here
    entry = environment.stats.get(metric, "WS")
    count0, cpu0, t0 = entry.num_requests - entry.num_failures, cpu_seconds(), time.monotonic()
    RunContext.of(environment).recorder.reset()
    gevent.sleep(seconds)
    count = entry.num_requests - entry.num_failures - count0
    cpu, elapsed = cpu_seconds() - cpu0, time.monotonic() - t0
    p50 = RunContext.of(environment).recorder.percentile_us(f"WS {metric}", 50.0)
    failures = environment.stats.total.num_failures
    runner.quit()
    return {"count": count, "elapsed": elapsed, "cpu": cpu, "p50_us": p50, "failures": failures}


# ---------------------------------------------------------------- orchestration
def best(runs: list[dict], mode: str) -> dict:
    """The run with the most operations per CPU-second (latency mode: the lowest p50)."""
    if mode == "latency":
        return min(runs, key=lambda r: r["p50_us"] or float("inf"))
    return max(runs, key=lambda r: r["count"] / r["cpu"])


ROLES = {"asyncio": asyncio_role, "gevent": gevent_role, "locust": locust_role}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="runs per client and mode, alternating; the best is kept (the "
        "machine may be shared, and noise only ever slows a run down)",
    )
    parser.add_argument("--role", choices=tuple(ROLES))
    parser.add_argument("--mode", choices=tuple(MODES))
    parser.add_argument("--url")
    parser.add_argument(
        "--modes", default=",".join(MODES), help="modes to run, comma separated (default: all)"
    )
    args = parser.parse_args()
    if args.role:
        print(json.dumps(ROLES[args.role](args.url, args.mode, args.seconds)))
        return 0
    script = Path(__file__).resolve()
    modes = [mode for mode in args.modes.split(",") if mode]
    unknown = [mode for mode in modes if mode not in MODES]
    if unknown:
        parser.error(f"--modes: unknown {', '.join(unknown)}; choose from {', '.join(MODES)}")
    results: dict[str, dict[str, dict]] = {}
    with bare_server() as (port, _):
        url = f"ws://127.0.0.1:{port}/ws/permissions/"
        for mode in modes:
            runs: dict[str, list[dict]] = {role: [] for role in ROLES}
            for _ in range(args.rounds):
                for role, found in runs.items():
                    found.append(
                        run_role(
                            script,
                            [
                                "--role",
                                role,
                                "--mode",
                                mode,
                                "--url",
                                url,
                                "--seconds",
                                str(args.seconds),
                            ],
                            timeout=args.seconds + 60,
                        )
                    )
            results[mode] = {role: best(found, mode) for role, found in runs.items()}
    print(
        f"{'mode':<10} {'client':<8} {'ops':>8} {'ops/s':>9} {'cpu s':>7} {'ops/cpu-s':>10} "
        f"{'p50 us':>8}"
    )
    for mode, pair in results.items():
        for role, r in pair.items():
            p50 = f"{r['p50_us']:.0f}" if r.get("p50_us") else "-"
            print(
                f"{mode:<10} {role:<8} {r['count']:>8} {r['count'] / r['elapsed']:>9.0f} "
                f"{r['cpu']:>7.2f} {r['count'] / r['cpu']:>10.0f} {p50:>8}"
            )
    print()

    def per_cpu(mode: str, role: str) -> float:
        r = results[mode][role]
        return r["count"] / r["cpu"]

    print("Locust user vs asyncio websockets (goals from issue 6):")
    if "connect" in results:
        connect = per_cpu("connect", "locust") / per_cpu("connect", "asyncio")
        print(f"  connection rate per client core: {connect:.2f}x  (goal >= 0.9x)")
    if "heartbeat" in results:
        heartbeat = per_cpu("heartbeat", "locust") / per_cpu("heartbeat", "asyncio")
        print(f"  heartbeat msgs/s per client core: {heartbeat:.2f}x  (goal >= 0.9x)")
    if "latency" in results:
        latency = results["latency"]
        p50 = latency["locust"]["p50_us"] / latency["asyncio"]["p50_us"]
        print(f"  heartbeat p50 at {MODES['latency'][0] * 20} msgs/s: {p50:.2f}x  (goal <= 1.2x)")
    print("The client layer alone (WsConnection in greenlets, no Locust) vs asyncio websockets:")
    for mode in ("connect", "heartbeat"):
        if mode in results:
            print(
                f"  {mode} per client core: "
                f"{per_cpu(mode, 'gevent') / per_cpu(mode, 'asyncio'):.2f}x"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
