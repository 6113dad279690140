"""Guards for the whole test session."""

from __future__ import annotations

import sys

import pytest


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
