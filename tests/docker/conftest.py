"""Fixtures for the docker-backend tests: an engine, or a loud failure.

When no engine answers, every test that needs one FAILS with the one-line engine message;
``WS_HARNESS_SKIP_DOCKER=1`` turns that into a skip with the same reason. Never a silent pass.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.config import HarnessConfig, load_config
from harness.contract import load_contract
from harness.targets import TargetOptions, make_target
from harness.targets.base import Target

SKIP_ENV = "WS_HARNESS_SKIP_DOCKER"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "docker: needs a Docker engine (WS_HARNESS_SKIP_DOCKER=1 skips)"
    )
    config.addinivalue_line(
        "markers", "slow: end-to-end tests that start servers or several pytest runs"
    )


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """A client for the engine; fail (or skip on request) with the engine's one-line problem."""
    from harness.targets._docker_engine import connect
    from harness.targets.docker import engine_problem

    problem = engine_problem()
    if problem is not None:
        if os.environ.get(SKIP_ENV) == "1":
            pytest.skip(f"{SKIP_ENV}=1: {problem}")
        pytest.fail(f"{problem} (set {SKIP_ENV}=1 to skip the docker tests)", pytrace=False)
    client = connect()
    yield client
    client.close()


@pytest.fixture(scope="session")
def harness_config() -> HarnessConfig:
    return load_config()


@pytest.fixture(scope="session")
def target_image(docker_client: Any, harness_config: HarnessConfig) -> str:
    """The reference target's image, built once per session (tests then time only the run)."""
    from harness.targets._docker_image import default_search_roots, ensure_image, find_dockerfile

    assert harness_config.target.dockerfile
    dockerfile = find_dockerfile(harness_config.target.dockerfile, default_search_roots(None))
    return ensure_image(docker_client, dockerfile)


@pytest.fixture
def make_docker_target(harness_config: HarnessConfig) -> Callable[..., Target]:
    """``make_docker_target(**TargetOptions fields)``: a DockerTarget, not started."""
    contract = load_contract(harness_config.contract)

    def make(**options: Any) -> Target:
        return make_target(TargetOptions(backend="docker", **options), harness_config, contract)

    return make
