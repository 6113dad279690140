"""Issue 14's proof, as a user runs it: ``pytest --ws-replicas 2`` over the bundled push
scenarios (the replica file's and the single-server ones, spread round robin) passes against
the reference target, and fails, exactly in the cross-replica pushes, when replica 1 is
started without the Redis layer (``--ws-replica-env 1:TARGET_FAULTS=memory_layer``).
Both child runs start together (about 15 s of wall time on two cores). Last, two runs share
one Redis and must keep out of each other's verdicts."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from harness import mutation
from harness.mutation import RunResult

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("redis_installed")]

SELECT = ["--ws-replicas=2", "-k", "replica or push or global"]
FAULT = "--ws-replica-env=1:TARGET_FAULTS=memory_layer"
# What an in-memory layer on replica 1 must break: every push that crosses replicas.
CROSSING = [
    "replica_push_reaches_owner_everywhere[*]",
    "replica_global_notification[*]",
    "replica_subscription_across",
    "push_reaches_owner_only[*]",  # round robin puts owner_route on replica 1
    "global_notification",
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[RunResult]]]:
    root = tmp_path_factory.mktemp("replica-runs")
    with ThreadPoolExecutor(2, thread_name_prefix="replica-run") as pool:
        started = {}
        for name, extra in (("clean", []), ("memory_layer", [FAULT])):
            (root / name).mkdir()
            started[name] = pool.submit(
                mutation.run_conformance, Path(root / name), *SELECT, *extra
            )
        yield started


def test_the_push_scenarios_pass_on_two_replicas_sharing_redis(
    runs: dict[str, Future[RunResult]],
) -> None:
    result = runs["clean"].result()
    assert result.code == 0, result.output[-3000:]
    assert "skipped" not in result.output.splitlines()[-1], result.output[-2000:]
    assert result.total >= 12 + 6  # the replica file's 12, the single-server push scenarios


def test_a_replica_on_the_in_memory_layer_fails_exactly_the_crossing_pushes(
    runs: dict[str, Future[RunResult]],
) -> None:
    verdict = mutation.judge("memory_layer", CROSSING, runs["memory_layer"].result())
    assert verdict.caught, mutation.explain(verdict)


def test_two_runs_sharing_one_redis_judge_only_their_own_pushes(
    redis_base: str, tmp_path: Path
) -> None:
    """Two xdist workers, each with its own two replicas, on one given Redis: every push
    reaches both workers' connections. Each run's traces carry its run id, so a push of the
    other run is not judged (before: 7-8 of the replica file's 12 failed on "a push no
    expect_push took", against a correct server)."""
    result = mutation.run_conformance(
        tmp_path,
        "--ws-replicas=2",
        f"--ws-redis-url={redis_base}/7",
        "-n",
        "2",
        "-k",
        "replica",
    )
    assert result.code == 0, result.output[-3000:]
    assert result.total == 12 and not result.failed
