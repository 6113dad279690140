"""Security checks (``harness.fuzz.security``): each prints its verdict and fails when the
verdict does. Run them alone with ``ws-harness run -m security -rA``."""

from __future__ import annotations

import pytest

from harness.client import Transcript
from harness.engine.runner import RunContext
from harness.fuzz import security

# Marked asyncio explicitly: the user's project may run pytest-asyncio in strict mode.
pytestmark = [pytest.mark.security, pytest.mark.asyncio]


def _report(verdict: security.SecurityVerdict) -> None:
    print(verdict.render())
    if not verdict.ok:
        pytest.fail(verdict.render(), pytrace=False)


async def test_foreign_origins_are_refused(
    ws_run_context: RunContext, ws_transcript: Transcript
) -> None:
    _report(await security.origins(ws_run_context, ws_transcript))


async def test_another_users_id_in_the_path_is_refused(
    ws_run_context: RunContext, ws_transcript: Transcript
) -> None:
    _report(await security.other_users_path(ws_run_context, ws_transcript))


async def test_bad_and_forged_tokens_are_refused(
    ws_run_context: RunContext, ws_fuzz_jwt: security.JwtKey | None, ws_transcript: Transcript
) -> None:
    """Forged JWTs need the server's signing key (``security.jwt_secret`` in the config);
    without one only the garbage and empty tokens are tried, and the report says so."""
    _report(await security.bad_tokens(ws_run_context, ws_transcript, ws_fuzz_jwt))


async def test_oversized_messages_are_refused(
    ws_run_context: RunContext, ws_transcript: Transcript
) -> None:
    _report(await security.oversized(ws_run_context, ws_transcript))


async def test_a_burst_of_connections_is_served(
    ws_run_context: RunContext, ws_transcript: Transcript
) -> None:
    _report(await security.burst(ws_run_context, ws_transcript, count=200))


async def test_hanging_handshakes_do_not_starve_others(
    ws_run_context: RunContext, ws_transcript: Transcript
) -> None:
    _report(await security.slowloris(ws_run_context, ws_transcript, sockets=20, hold=3.0))
