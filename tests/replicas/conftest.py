"""Replica tests start redis-server (the harness's own, on a free loopback port): without it
they skip on a developer's machine and fail in CI (WS_HARNESS_REQUIRE_SERVICES=1)."""

from __future__ import annotations

import os
import shutil

import pytest


@pytest.fixture(scope="session")
def redis_installed() -> None:
    if shutil.which("redis-server") is None:
        problem = "redis-server is not installed: apt-get install redis-server"
        if os.environ.get("WS_HARNESS_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{problem} (WS_HARNESS_REQUIRE_SERVICES=1: these tests must run)")
        pytest.skip(f"{problem} (CI sets WS_HARNESS_REQUIRE_SERVICES=1 to make this a failure)")
