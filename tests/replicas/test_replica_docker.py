"""Replicas on the docker backend: two containers of the reference image (host network, each
on its own loopback port) sharing the harness's private Redis; the kill scenario removes one
container and starts a new one at the same address (about 10 s). Without an engine this skips (fails
under WS_HARNESS_REQUIRE_SERVICES=1, as on CI, which starts one)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from harness.config import load_config
from harness.contract import load_contract
from harness.engine import load_scenarios, run_scenario
from harness.engine.runner import RunContext
from harness.targets import TargetOptions, make_target
from harness.targets.replicas import ReplicaSet

pytestmark = [pytest.mark.slow, pytest.mark.docker, pytest.mark.usefixtures("redis_installed")]

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios" / "conformance"


@pytest.fixture(scope="module")
def image() -> str:
    """The reference target's image (built once; an engine's one-line problem skips/fails)."""
    from harness.targets._docker_engine import connect
    from harness.targets._docker_image import default_search_roots, ensure_image, find_dockerfile
    from harness.targets.docker import engine_problem

    problem = engine_problem()
    if problem is not None:
        if os.environ.get("WS_HARNESS_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{problem} (WS_HARNESS_REQUIRE_SERVICES=1: must run)", pytrace=False)
        pytest.skip(f"{problem} (CI sets WS_HARNESS_REQUIRE_SERVICES=1 to make this a failure)")
    dockerfile = load_config().target.dockerfile
    assert dockerfile
    client = connect()
    try:
        return ensure_image(client, find_dockerfile(dockerfile, default_search_roots(None)))
    finally:
        client.close()


def outcomes(options: TargetOptions) -> dict[str, str]:
    """Every scenario of the replica file, run at once on a replica set ``options`` make."""
    config, contract = load_config(), load_contract()
    loaded = load_scenarios(SCENARIOS / "replicas.scenarios.yaml", contract, config)
    with make_target(options, config, contract) as target:
        assert isinstance(target, ReplicaSet)
        assert {info.backend for info in target.info.replicas} == {"docker"}
        context = RunContext.create(contract, config, target.info, replicas=target)

        async def run_all() -> list[str]:
            together = [s for s in loaded if not s.alone]
            verdicts = await asyncio.gather(*(run_scenario(s, context) for s in together))
            alone = [await run_scenario(s, context) for s in loaded if s.alone]
            return [v.outcome for v in [*verdicts, *alone]]

        names = [s.name for s in loaded if not s.alone] + [s.name for s in loaded if s.alone]
        return dict(zip(names, asyncio.run(run_all()), strict=True))


def test_docker_replicas_pass_every_replica_scenario(image: str) -> None:
    """(The in-memory-layer fault is proven once, on the process backend: test_replica_proof.)"""
    verdicts = outcomes(TargetOptions(backend="docker", image=image, replicas=2))
    assert set(verdicts.values()) == {"passed"}, verdicts
