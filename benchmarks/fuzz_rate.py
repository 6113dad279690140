"""Payload fuzzing rate against the reference target, and where an example's time goes.

    python benchmarks/fuzz_rate.py [--examples 400] [--rounds 3]

Starts the reference target (process backend, free loopback port) and, for each payload
property of the shipped suite (valid messages, invalid messages, binary and oversized
frames), runs the ci profile (derandomized, as CI does) and prints examples per second. To
say where the time goes it also prints, per property:

* ``generate``: the same examples drawn with no I/O (Hypothesis plus our strategies);
* ``i/o``: the same payloads verified one after another without Hypothesis: the round
  trip to the server, the probe, the checks and any reconnection.

Goal (issue 15): >= 200 examples/s for payload fuzzing. The machine is shared: the load
average is printed with the figures, and each figure is the best of ``--rounds``.

Every binary or oversized payload ends its connection, and the property then proves that a
fresh connection is confirmed and answered: one handshake per example at least. So the last
line measures that bound without the harness or Hypothesis: a bare ``websockets`` client
connecting, taking the confirmation, sending a binary frame and reading until the close,
as fast as it can. No harness can fuzz closing payloads faster than that on this machine.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from harness.config import load_config
from harness.contract import load_contract
from harness.engine.runner import RunContext
from harness.fuzz import profiles
from harness.fuzz.driver import FuzzDriver, LoopRunner, address, fuzz_identity
from harness.fuzz.mutations import Mutations
from harness.fuzz.payloads import Payload
from harness.fuzz.strategies import MessageStrategies
from harness.targets import TargetOptions, make_target

GOAL = 200.0  # examples per second


def _rate(run: Callable[[], int]) -> tuple[float, float]:
    """(examples per wall second, client CPU ms per example) of ``run``."""
    wall, cpu = time.perf_counter(), time.process_time()
    count = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return count / wall, 1000 * cpu / max(count, 1)


def _hypothesis(
    strategy: st.SearchStrategy[Payload], examples: int, use: Callable[[Payload], Any]
) -> Callable[[], int]:
    """Run the ci profile's examples of ``strategy``, handing each payload to ``use``."""

    def run() -> int:
        count = 0

        @profiles.build("ci", None, examples=examples)
        @given(data=st.data())
        def property_(data: st.DataObject) -> None:
            nonlocal count
            use(data.draw(strategy))
            count += 1

        property_()
        return count

    return run


def _replay(payloads: list[Payload], verify: Callable[[Payload], Any]) -> Callable[[], int]:
    def run() -> int:
        for payload in payloads:
            verify(payload)
        return len(payloads)

    return run


def _bare_closing_cycles(url: str, headers: Mapping[str, str], cycles: int) -> int:
    """Connect, take the confirmation, send a binary frame, read until the close; repeat."""
    for _ in range(cycles):
        with connect(url, additional_headers=dict(headers) or None) as websocket:
            websocket.recv(timeout=5)  # the confirmation
            websocket.send(b"\x00\x01")
            with contextlib.suppress(ConnectionClosed):
                while True:
                    websocket.recv(timeout=5)
    return cycles


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=400, help="examples per property")
    parser.add_argument("--rounds", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    if args.examples < 1 or args.rounds < 1:
        parser.error("--examples and --rounds must be at least 1")
    config, contract = load_config(), load_contract()
    mutations = Mutations(MessageStrategies(contract))
    families = {
        "valid messages": mutations.messages.payloads(),
        "invalid messages": mutations.all(),
        "binary and oversized": mutations.closing(),
    }
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with make_target(TargetOptions(), config, contract) as target:
        ctx = RunContext.create(contract, config, target.info)
        runner = LoopRunner()
        driver = FuzzDriver(ctx, fuzz_identity(ctx), runner)
        try:
            print(
                f"{'property':<22} {'fuzz ex/s':>10} {'cpu ms/ex':>10} {'generate/s':>11}"
                f" {'i/o ex/s':>9}  goal {GOAL:.0f}/s"
            )
            for name, strategy in families.items():
                fuzz = max(
                    _rate(_hypothesis(strategy, args.examples, driver.verify))
                    for _ in range(args.rounds)
                )
                drawn: list[Payload] = []  # derandomized: the payloads the fuzz runs sent
                generate = max(
                    _rate(_hypothesis(strategy, args.examples, drawn.append))[0]
                    for _ in range(args.rounds)
                )
                sent = drawn[: len(drawn) // args.rounds]
                io = max(_rate(_replay(sent, driver.verify))[0] for _ in range(args.rounds))
                print(
                    f"{name:<22} {fuzz[0]:>10.0f} {fuzz[1]:>10.2f} {generate:>11.0f}"
                    f" {io:>9.0f}  ratio {fuzz[0] / GOAL:.2f}"
                )
            where = address(ctx, driver.identity)
            bound = max(
                _rate(lambda: _bare_closing_cycles(where.url, where.credentials.headers, 200))[0]
                for _ in range(args.rounds)
            )
            print(
                f"bound for closing payloads: a bare websockets client, connect + confirmation"
                f" + binary frame + close: {bound:.0f}/s (binary and oversized at"
                f" {fuzz[0] / bound:.2f} of it)"
            )
        finally:
            driver.close()
            runner.close()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
