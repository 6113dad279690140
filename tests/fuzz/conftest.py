"""Fuzz tests in this repository run against the reference target, whose contract
deviations (none at present) are declared in deviations.yaml, and whose JWTs the security
checks may forge: the reference target's documented test secret, or the one its
environment sets (``--ws-env TARGET_JWT_SECRET=...`` or ``target.env`` in the config)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness._pytest.session import HarnessSession
from harness.config import HarnessConfig
from harness.fuzz.properties import Deviation, load_deviations
from harness.fuzz.security import JwtKey

DEVIATIONS = Path(__file__).with_name("deviations.yaml")
# target/settings.py: documented and deliberately insecure (a test target).
REFERENCE_JWT_SECRET = "reference-target-insecure-jwt-secret"
REFERENCE_JWT_USER_CLAIM = "user_id"  # target/permissions/auth.py


@pytest.fixture(scope="session")
def ws_fuzz_deviations() -> tuple[Deviation, ...]:
    return load_deviations(DEVIATIONS)


@pytest.fixture(scope="session")
def ws_fuzz_jwt(ws_session: HarnessSession, ws_config: HarnessConfig) -> JwtKey | None:
    env = {**ws_config.target.env, **ws_session.options.env}
    return JwtKey(env.get("TARGET_JWT_SECRET", REFERENCE_JWT_SECRET), REFERENCE_JWT_USER_CLAIM)
