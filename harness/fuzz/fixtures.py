"""Pytest fixtures for fuzz tests, on top of the harness plugin's ``ws_run_context``.

    ws_fuzz_deviations  declared deviations from the contract (override in a conftest)
    ws_fuzz_runner      the module's private event loop for Hypothesis examples
    ws_fuzz_driver      a FuzzDriver (reused connection) as the first configured user, on
                        the first route that admits one (``fuzz_identity``)
    ws_fuzz_mutations   the valid-message and mutation strategies of the contract
    ws_fuzz_jwt         how the server signs JWTs, for the forged-token checks: the
                        config's ``security`` section (None: the JWT rows are skipped)

Module-scoped, so one connection serves every example of a module, and a test module's
connections never see another module's pushes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.config import HarnessConfig
from harness.engine.runner import RunContext
from harness.fuzz.driver import FuzzDriver, LoopRunner, fuzz_identity
from harness.fuzz.properties import Deviation, load_deviations
from harness.fuzz.security import JwtKey

if TYPE_CHECKING:
    from harness.fuzz.mutations import Mutations


@pytest.fixture(scope="session")
def ws_fuzz_deviations(request: pytest.FixtureRequest) -> tuple[Deviation, ...]:
    """The deviations file of --ws-fuzz-deviations / ws_fuzz_deviations (none by default)."""
    config = request.config
    given = config.getoption("ws_fuzz_deviations", default=None)
    if given:
        return load_deviations(Path(given))
    ini = config.getini("ws_fuzz_deviations")
    if not ini:
        return ()
    base = config.inipath.parent if config.inipath else config.rootpath
    return load_deviations(base / ini)


@pytest.fixture(scope="module")
def ws_fuzz_runner() -> Iterator[LoopRunner]:
    runner = LoopRunner()
    yield runner
    runner.close()


@pytest.fixture(scope="module")
def ws_fuzz_driver(
    ws_run_context: RunContext,
    ws_fuzz_runner: LoopRunner,
    ws_fuzz_deviations: tuple[Deviation, ...],
) -> Iterator[FuzzDriver]:
    driver = FuzzDriver(
        ws_run_context, fuzz_identity(ws_run_context), ws_fuzz_runner, ws_fuzz_deviations
    )
    yield driver
    driver.close()


@pytest.fixture(scope="session")
def ws_fuzz_mutations(ws_run_context: RunContext) -> Mutations:
    # Imported here: hypothesis-jsonschema builds strategies at import, which Hypothesis
    # flags as slow when it happens while pytest loads plugins and conftests.
    from harness.fuzz.mutations import Mutations
    from harness.fuzz.strategies import MessageStrategies

    return Mutations(MessageStrategies(ws_run_context.contract))


@pytest.fixture(scope="session")
def ws_fuzz_jwt(ws_config: HarnessConfig) -> JwtKey | None:
    """The server's JWT signing key and user claim (``JwtKey``), for forging tokens.

    From the config's ``security`` section (``jwt_secret``, ``jwt_user_claim``): a
    deployment's secret is not the harness's to guess. None without a secret: the forged-JWT
    rows are skipped and the verdict says so. Override the fixture to read it elsewhere.
    """
    security = ws_config.security
    if not security.jwt_secret:
        return None
    return JwtKey(security.jwt_secret, security.jwt_user_claim)
