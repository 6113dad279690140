"""Fixtures for tests written by hand against the server under test.

    ws_target      the started target's TargetInfo (ws_url, http_url, pid, identity)
    ws_config      the HarnessConfig (users, timeouts...)
    ws_contract    the Contract
    ws_token       token("primary") -> the user's token
    ws_connect     await ws_connect(route, user="primary") -> a connected WsClient
    ws_push        await ws_push(push_type, to="primary", data={...})
    ws_transcript  every frame of this test's connections (shown when it fails)

Example::

    async def test_heartbeat(ws_connect):
        client = await ws_connect("my_route")             # a route name of your contract
        await client.confirmed(2)                          # the contract's confirmation
        reply = await client.alive(2)                      # its liveness request -> reply
        print(reply.latency)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio

from harness._pytest.session import SESSION_KEY, HarnessSession
from harness.client import Transcript, WsClient
from harness.config import HarnessConfig
from harness.contract import Contract
from harness.engine.decisions import push_request
from harness.engine.model import Push
from harness.engine.runner import RunContext
from harness.push import PushUnavailable
from harness.targets.base import TargetInfo

TRANSCRIPT_KEY = pytest.StashKey[Transcript]()


def _session(request: pytest.FixtureRequest) -> HarnessSession:
    return request.config.stash[SESSION_KEY]


@pytest.fixture(scope="session")
def ws_session(request: pytest.FixtureRequest) -> HarnessSession:
    return _session(request)


@pytest.fixture(scope="session")
def ws_config(ws_session: HarnessSession) -> HarnessConfig:
    return ws_session.config


@pytest.fixture(scope="session")
def ws_contract(ws_session: HarnessSession) -> Contract:
    return ws_session.contract


@pytest.fixture(scope="session")
def ws_run_context(ws_session: HarnessSession) -> RunContext:
    return ws_session.run_context()


@pytest.fixture
def ws_target(ws_run_context: RunContext, ws_session: HarnessSession) -> TargetInfo:
    ws_session.check_target()
    return ws_run_context.target


@pytest.fixture
def ws_token(ws_run_context: RunContext) -> Callable[[str], str]:
    return ws_run_context.tokens.token


@pytest.fixture
def ws_transcript(request: pytest.FixtureRequest) -> Transcript:
    transcript = Transcript()
    request.node.stash[TRANSCRIPT_KEY] = transcript
    return transcript


@pytest_asyncio.fixture
async def ws_connect(
    ws_target: TargetInfo, ws_run_context: RunContext, ws_transcript: Transcript
) -> AsyncIterator[Callable[..., Awaitable[WsClient]]]:
    """A factory of recording, contract-validating connections, closed after the test."""
    clients: list[WsClient] = []

    async def connect(
        route: str,
        user: str | None = None,
        *,
        token: str | None = None,
        params: dict[str, Any] | None = None,
        origin: str | None = None,
        label: str | None = None,
    ) -> WsClient:
        contract = ws_run_context.contract
        config = ws_run_context.config
        values = dict(params or {})
        chosen = contract.route(route)
        if chosen.owner_parameter and chosen.owner_parameter not in values:
            values[chosen.owner_parameter] = config.user(user or "primary").user_id
        if token is None and user is not None:
            token = await asyncio.to_thread(ws_run_context.tokens.token, user)
        shown = ws_run_context.tokens.present(token)  # query, header, cookie or subprotocol
        url = ws_target.ws_url + chosen.path(**values) + shown.query
        client = await WsClient.open(
            url,
            transcript=ws_transcript,
            label=label or user or "anonymous",
            origin=origin or shown.origin,
            headers=shown.headers,
            subprotocols=shown.subprotocols,
            timeout=config.timeouts.connect,
            session=ws_run_context.session(config.user(user) if user is not None else None),
        )
        clients.append(client)
        return client

    yield connect
    for client in clients:
        await client.close()


@pytest_asyncio.fixture
async def ws_push(ws_run_context: RunContext) -> Callable[..., Awaitable[None]]:
    """Trigger a push; skips the test when no push trigger is configured."""
    if not ws_run_context.pushes.available:
        pytest.skip(f"needs a push trigger; none is configured in {ws_run_context.config.source}")

    async def push(push_type: str, to: str = "primary", data: dict[str, Any] | None = None) -> None:
        request = push_request(Push(type=push_type, to=to), ws_run_context.config, data or {})
        try:
            await asyncio.to_thread(ws_run_context.pushes.send, request)
        except PushUnavailable as exc:
            pytest.skip(str(exc))

    return push
