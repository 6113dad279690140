"""Start-to-ready of the reference target's container, from a cached image.

    python benchmarks/container_start.py [--runs 5] [--network host|publish]

The image is built (or found by its content digest) once, untimed. Each run then times
``DockerTarget.start()``: orphan sweep, container create and start, and the readiness wait
(a WebSocket handshake plus the confirmation frame), i.e. what a test session waits for.
Teardown (stop + remove) is timed separately. Goal on the project's CI machine: median < 3 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from harness.config import load_config
from harness.contract import load_contract
from harness.targets import TargetOptions, make_target
from harness.targets._docker_engine import connect
from harness.targets._docker_image import default_search_roots, ensure_image, find_dockerfile

GOAL_SECONDS = 3.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--network", choices=("host", "publish"), default="host")
    args = parser.parse_args(argv)

    config = load_config()
    contract = load_contract(config.contract)
    client = connect()
    assert config.target.dockerfile, "the bundled config names target/Dockerfile"
    dockerfile = find_dockerfile(config.target.dockerfile, default_search_roots(None))
    began = time.perf_counter()
    network_mode = "host" if args.network == "host" else None
    image = ensure_image(client, dockerfile, network_mode=network_mode)
    print(f"image {image} ready in {time.perf_counter() - began:.2f}s (untimed)")
    client.close()

    starts: list[float] = []
    stops: list[float] = []
    for run in range(1, args.runs + 1):
        options = TargetOptions(backend="docker", image=image, docker_network=args.network)
        target = make_target(options, config, contract)
        began = time.perf_counter()
        try:
            target.start()
            starts.append(time.perf_counter() - began)
        finally:
            began_stop = time.perf_counter()
            target.stop()
            stops.append(time.perf_counter() - began_stop)
        print(f"run {run}: start-to-ready {starts[-1]:.3f}s, stop+remove {stops[-1]:.3f}s")

    median = statistics.median(starts)
    print(
        f"start-to-ready over {len(starts)} runs: median {median:.3f}s, "
        f"min {min(starts):.3f}s, max {max(starts):.3f}s "
        f"(stop+remove median {statistics.median(stops):.3f}s); goal < {GOAL_SECONDS:.0f}s: "
        f"{'met' if median < GOAL_SECONDS else 'NOT met'}"
    )
    return 0 if median < GOAL_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
