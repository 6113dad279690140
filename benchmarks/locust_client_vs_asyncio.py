"""Our Locust WebSocket user vs a bare asyncio ``websockets`` client loop (and a naive
websocket-client Locust user), per client core and per wall-clock second.

    python benchmarks/locust_client_vs_asyncio.py [--seconds 5] [--modes beat20,beat50]

Against the bare server (its own process), each client runs alone in its own process.

Per client core (issue 6): operations per CPU-second of the client process (the server may
be the bottleneck for both; this ratio still compares clients):

* connect:   open, first frame (connection_confirmed), close; C concurrent loops
* heartbeat: send a heartbeat, await the reply, repeat; N connections, no pause
* latency:   heartbeat p50 at a fixed moderate rate (20 connections x 20/s)

Per wall-clock second (issue 15): heartbeats answered per second of the run, the generator
and the server sharing the machine (what a user of a 2-core box sees):

* beat20, beat50: 20 or 50 long-lived connections beating back-to-back

Goals: connect >= 0.9x, heartbeat msgs per CPU-s >= 0.9x, heartbeat p50 <= 1.2x (issue 6);
beat20 and beat50 msgs per wall-s >= 0.9x of asyncio (issue 15). Our user is driven
in-process by a Locust LocalRunner (one process = one worker), with Locust's statistics and
the HDR histograms running, as in a real test; so is the naive user (websocket-client's
blocking socket, one ``events.request`` per heartbeat, the usual recipe), without ours.
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
    "beat20": (20, 0.0),
    "beat50": (50, 0.0),
}
WALL_MODES = ("beat20", "beat50")  # judged per wall-clock second, the naive user beside
HEARTBEAT = '{"type": "heartbeat", "timestamp": 0}'


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
                await ws.send(HEARTBEAT)
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
            connection.send_text(HEARTBEAT)
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
    context = RunContext.of(environment)
    batch = getattr(context, "batch", None)  # absent before batching (baseline trees)
    flush = batch.flush if batch is not None else (lambda: None)
    entry = environment.stats.get(metric, "WS")
    flush()  # successes reach Locust's statistics in batches (harness.locust.batch)
    count0, cpu0, t0 = entry.num_requests - entry.num_failures, cpu_seconds(), time.monotonic()
    context.recorder.reset()
    gevent.sleep(seconds)
    flush()
    count = entry.num_requests - entry.num_failures - count0
    cpu, elapsed = cpu_seconds() - cpu0, time.monotonic() - t0
    p50 = context.recorder.percentile_us(f"WS {metric}", 50.0)
    failures = environment.stats.total.num_failures
    runner.quit()
    return {"count": count, "elapsed": elapsed, "cpu": cpu, "p50_us": p50, "failures": failures}


# ---------------------------------------------------------------- a naive Locust user
def naive_role(url: str, mode: str, seconds: float) -> dict:
    """The recipe most Locust WebSocket users start from: websocket-client's blocking
    ``create_connection`` (cooperative under Locust's gevent patching) and one
    ``events.request.fire`` per heartbeat; no HDR histograms, no protocol session."""
    import gevent
    import websocket
    from locust import User, constant, events, task
    from locust.env import Environment

    concurrency, _ = MODES[mode]

    class Naive(User):
        host = url
        wait_time = constant(0)

        def on_start(self) -> None:
            self.ws = websocket.create_connection(url)
            self.ws.recv()  # connection_confirmed

        def on_stop(self) -> None:
            self.ws.close()

        @task
        def beat(self) -> None:
            started = time.perf_counter()
            exception = None
            try:
                self.ws.send(HEARTBEAT)
                reply = self.ws.recv()
            except Exception as exc:  # a benchmark user: any failure is a failed request
                exception, reply = exc, ""
            self.environment.events.request.fire(
                request_type="WS",
                name="heartbeat",
                response_time=(time.perf_counter() - started) * 1000,
                response_length=len(reply),
                exception=exception,
                context={},
            )

    environment = Environment(user_classes=[Naive], events=events)
    runner = environment.create_local_runner()
    runner.start(concurrency, spawn_rate=concurrency * 10)
    gevent.sleep(0.4)  # ramp-up done; measure from here
    entry = environment.stats.get("heartbeat", "WS")
    count0, cpu0, t0 = entry.num_requests - entry.num_failures, cpu_seconds(), time.monotonic()
    gevent.sleep(seconds)
    count = entry.num_requests - entry.num_failures - count0
    cpu, elapsed = cpu_seconds() - cpu0, time.monotonic() - t0
    failures = environment.stats.total.num_failures
    runner.quit()
    return {"count": count, "elapsed": elapsed, "cpu": cpu, "p50_us": None, "failures": failures}


# ---------------------------------------------------------------- orchestration
def best(runs: list[dict], mode: str) -> dict:
    """The run with the most operations per CPU-second (latency mode: the lowest p50;
    wall-clock modes: the most operations per second)."""
    if mode == "latency":
        return min(runs, key=lambda r: r["p50_us"] or float("inf"))
    if mode in WALL_MODES:
        return max(runs, key=lambda r: r["count"] / r["elapsed"])
    return max(runs, key=lambda r: r["count"] / r["cpu"])


ROLES = {"asyncio": asyncio_role, "gevent": gevent_role, "locust": locust_role, "naive": naive_role}


def roles_for(mode: str) -> tuple[str, ...]:
    """The wall-clock modes compare the three Locust-or-not generators of issue 15; the
    others compare the client layers of issue 6."""
    return ("asyncio", "locust", "naive") if mode in WALL_MODES else ("asyncio", "gevent", "locust")


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
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="with --role: write a cProfile of the role's run to FILE (pstats format)",
    )
    args = parser.parse_args()
    if args.role:
        if args.profile:
            import cProfile

            with cProfile.Profile() as profile:
                result = ROLES[args.role](args.url, args.mode, args.seconds)
            profile.dump_stats(args.profile)
        else:
            result = ROLES[args.role](args.url, args.mode, args.seconds)
        print(json.dumps(result))
        return 0
    script = Path(__file__).resolve()
    modes = [mode for mode in args.modes.split(",") if mode]
    unknown = [mode for mode in modes if mode not in MODES]
    if unknown:
        parser.error(f"--modes: unknown {', '.join(unknown)}; choose from {', '.join(MODES)}")
    results: dict[str, dict[str, dict]] = {}
    spread: dict[str, dict[str, list[float]]] = {}  # every round's ops per wall-clock second
    with bare_server() as (port, _):
        url = f"ws://127.0.0.1:{port}/ws/permissions/"
        for mode in modes:
            runs: dict[str, list[dict]] = {role: [] for role in roles_for(mode)}
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
            spread[mode] = {
                role: sorted(r["count"] / r["elapsed"] for r in found)
                for role, found in runs.items()
            }
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

    if any(mode in results for mode in ("connect", "heartbeat", "latency")):
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
    if any(mode in results for mode in ("connect", "heartbeat")):
        print("The client layer alone (WsConnection in greenlets, no Locust) vs asyncio:")
    for mode in ("connect", "heartbeat"):
        if mode in results:
            print(
                f"  {mode} per client core: "
                f"{per_cpu(mode, 'gevent') / per_cpu(mode, 'asyncio'):.2f}x"
            )
    walls = [mode for mode in WALL_MODES if mode in results]
    if walls:
        print()
        print(
            "Heartbeats back-to-back, msgs per wall-clock second, generator and server sharing "
            "the machine (issue 15, goal: locust >= 0.9x asyncio):"
        )
        print(
            f"{'connections':>11} {'asyncio':>9} {'locust':>9} {'naive':>9} "
            f"{'locust/asyncio':>15} {'naive/asyncio':>14}"
        )
        for mode in walls:
            rate = {role: r["count"] / r["elapsed"] for role, r in results[mode].items()}
            print(
                f"{MODES[mode][0]:>11} {rate['asyncio']:>9.0f} {rate['locust']:>9.0f} "
                f"{rate['naive']:>9.0f} {rate['locust'] / rate['asyncio']:>14.2f}x "
                f"{rate['naive'] / rate['asyncio']:>13.2f}x"
            )
        print(
            "Best round of each (other load on the machine only ever slows a round down); "
            "every round, msgs/s:"
        )
        for mode in walls:
            for role, rates in spread[mode].items():
                shown = ", ".join(f"{rate:.0f}" for rate in rates)
                print(f"  {MODES[mode][0]:>3} connections  {role:<8} {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
