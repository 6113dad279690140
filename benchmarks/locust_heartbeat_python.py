"""The Python cost of one heartbeat of our Locust user, without sockets or an event loop.

    python benchmarks/locust_heartbeat_python.py [--beats 200000] [--profile]

A ``HeartbeatUser`` runs its real ``on_start`` and ``heartbeat()`` against a fake
connection that answers every frame at once, inside a Locust environment with Locust's
statistics and the HDR histograms listening, as in a real test. What is left is the
harness's own bookkeeping per heartbeat: rendering the frame, the protocol session, the
reply matching and Locust's accounting. Printed with the successful requests reported in
batches (``harness.locust.batch``, the default) and one request event each, and checked
exact: Locust's count and the HDR count must equal the number of heartbeats.

CPU time of this process only (``time.process_time``), best of ``--rounds``.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time
from collections import deque
from typing import Any


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--beats", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one round")
    args = parser.parse_args()

    from locust import events
    from locust.env import Environment
    from locust.user.task import DefaultTaskSet

    import harness.locust.users as users
    from harness.locust.context import RunContext
    from harness.locust.wsconn import Received

    environment = Environment(events=events)
    runner = environment.create_local_runner()
    events.init.fire(environment=environment, runner=runner, web_ui=None)
    events.test_start.fire(environment=environment)
    context = RunContext.of(environment)
    spec = context.spec
    assert spec.liveness is not None and spec.confirmation is not None
    kind = spec.type_field
    (reply_type,) = spec.reply_types(spec.liveness[kind])
    confirmation = json.dumps({kind: spec.confirmation, "data": {"user_id": 0}})
    reply = json.dumps({kind: reply_type, "timestamp": "0", "server_time": 0.0})

    class FakeConnection:
        """Confirms on open and answers every text frame at once."""

        def __init__(self) -> None:
            self.pending: deque[Received] = deque([Received("text", confirmation, 0.0)])

        @classmethod
        def open(cls, url: str, timeout: float, headers: Any = None) -> FakeConnection:
            return cls()

        def send_text(self, text: str) -> None:
            self.pending.append(Received("text", reply, time.perf_counter()))

        def receive(self, timeout: float | None) -> Received | None:
            return self.pending.popleft() if self.pending else None

        def close(self, timeout: float = 0.0) -> None:
            pass

    users.WsConnection = FakeConnection  # type: ignore[misc,assignment]

    class Beat(users.HeartbeatUser):
        host = "ws://127.0.0.1:9"
        heartbeat_interval = 1e-9

    user = Beat(environment)
    user._taskset_instance = DefaultTaskSet(user)  # as User.run() sets it up
    user.on_start()
    name = f"WS {context.liveness_name}"

    def counts() -> tuple[int, int]:
        if context.batch is not None:
            context.batch.flush()
        entry = environment.stats.get(context.liveness_name, "WS")
        return entry.num_requests, context.recorder.count(name)

    def one_round(beats: int) -> float:
        before = counts()
        started = time.process_time()
        for _ in range(beats):
            user.heartbeat()
        spent = time.process_time() - started
        after = counts()
        assert after[0] - before[0] == beats and after[1] - before[1] == beats, (before, after)
        return spent / beats * 1e6

    batch = context.batch
    print(f"Python per heartbeat, fake connection, {args.beats} beats, best of {args.rounds}:")
    for label, batched in (("batched requests", batch), ("one request event each", None)):
        user._batch = batched
        one_round(1000)  # warm up
        best = min(one_round(args.beats) for _ in range(args.rounds))
        print(f"  {label:<24} {best:6.2f} us")
    if args.profile:
        user._batch = batch
        with cProfile.Profile() as profile:
            one_round(args.beats)
        pstats.Stats(profile).sort_stats("tottime").print_stats(20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
