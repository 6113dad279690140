"""Wall time of the conformance suite against the process target, and start-to-ready.

    python benchmarks/conformance_suite.py [--runs 3]

Goals on the 2-core reference machine: the server ready in under 2 s, the whole suite in
under 20 s. Prints the figures and the ratio to each goal (below 1.0 is within the goal).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from harness.bundled import scenarios_dir
from harness.config import load_config
from harness.contract import load_contract
from harness.targets import TargetOptions, make_target

READY_GOAL_S = 2.0
SUITE_GOAL_S = 20.0


def start_to_ready() -> float:
    config, contract = load_config(), load_contract()
    target = make_target(TargetOptions(), config, contract)
    started = time.perf_counter()
    try:
        target.start()
        return time.perf_counter() - started
    finally:
        target.stop()


def suite_wall_time() -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(scenarios_dir()), "-q", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    return time.perf_counter() - started, done.returncode


def describe(name: str, samples: list[float], goal: float) -> str:
    median = statistics.median(samples)
    return (
        f"{name:<28} median {median:6.2f} s  min {min(samples):6.2f} s  max {max(samples):6.2f} s"
        f"  goal {goal:4.1f} s  ratio {median / goal:4.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    start_to_ready()  # warm the target's template database, as every later start finds it
    ready = [start_to_ready() for _ in range(args.runs)]
    suites = [suite_wall_time() for _ in range(args.runs)]
    print(describe("target start-to-ready", ready, READY_GOAL_S))
    print(describe("conformance suite (wall)", [s for s, _ in suites], SUITE_GOAL_S))
    failed = [code for _, code in suites if code != 0]
    if failed:
        print(f"warning: {len(failed)} suite runs did not pass (exit codes {failed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
