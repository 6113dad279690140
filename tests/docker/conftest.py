"""Fixtures for the docker-backend tests: an engine, or a loud failure.

When no engine answers, every test that needs one is skipped with the one-line engine message
(how to start one), visible in the summary; under ``WS_HARNESS_REQUIRE_SERVICES=1`` (set by
.ci/run) it FAILS instead, so CI can never pass without having run them.
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

REQUIRE_ENV = "WS_HARNESS_REQUIRE_SERVICES"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "docker: needs a Docker engine (skipped without one, unless required)"
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
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{problem} ({REQUIRE_ENV}=1: the docker tests must run)", pytrace=False)
        pytest.skip(f"{problem} (CI sets {REQUIRE_ENV}=1 to make this a failure)")
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
