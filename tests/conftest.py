"""Guards for the whole test session."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator

import pytest

from harness.targets.redis import RedisServer


def pytest_collection_finish(session: pytest.Session) -> None:
    """Importing locust monkey-patches the process with gevent (threads become greenlets),
    which deadlocks later tests that use real threads (Django's sync_to_async). Locust runs
    belong in child processes; say which collected module broke that, instead of hanging."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        raise pytest.UsageError(
            "a collected test module imported locust (or gevent.monkey) into the pytest "
            "process; run Locust code in a subprocess (see tests/locust/test_locust_pacing.py)"
        )


@pytest.fixture(scope="session")
def redis_installed() -> None:
    """redis-server: without it Redis tests skip on a developer's machine and fail in CI
    (.ci/run installs it and sets WS_HARNESS_REQUIRE_SERVICES=1)."""
    if shutil.which("redis-server") is None:
        problem = "redis-server is not installed: apt-get install redis-server"
        if os.environ.get("WS_HARNESS_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{problem} (WS_HARNESS_REQUIRE_SERVICES=1: these tests must run)")
        pytest.skip(f"{problem} (CI sets WS_HARNESS_REQUIRE_SERVICES=1 to make this a failure)")


@pytest.fixture(scope="module")
def redis_base(redis_installed: None) -> Iterator[str]:
    """A private redis-server (the harness's own, on a free loopback port), as
    ``redis://127.0.0.1:PORT``: each user appends its own database number (0-63)."""
    with RedisServer(databases=64) as server:
        yield server.url.rsplit("/", 1)[0]
