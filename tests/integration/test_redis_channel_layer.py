"""Two reference servers sharing pushes through a real Redis channel layer (channels_redis).

A push triggered on server B must reach a user connected to server A: the reason the
service runs channels_redis when several processes serve the same users.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from harness.auth import TokenProvider
from harness.client import WsClient
from harness.config import load_config
from harness.contract import load_contract
from harness.protocol import ProtocolSession, ProtocolSpec
from harness.push import PushRequest, PushTrigger
from harness.targets import Target, TargetOptions, make_target

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def redis_url(redis_base: str) -> str:
    return f"{redis_base}/0"


@pytest.fixture(scope="module")
def two_servers(redis_url: str) -> Iterator[tuple[Target, Target]]:
    config, contract = load_config(), load_contract()
    with (
        make_target(TargetOptions(env={"REDIS_URL": redis_url}), config, contract) as first,
        make_target(TargetOptions(env={"REDIS_URL": redis_url}), config, contract) as second,
    ):
        yield first, second


def test_both_servers_use_the_redis_layer(two_servers: tuple[Target, Target]) -> None:
    for server in two_servers:
        assert server.info.identity["channel_layer"] == "RedisChannelLayer"


async def test_a_push_through_one_server_reaches_a_client_of_the_other(
    two_servers: tuple[Target, Target],
) -> None:
    first, second = two_servers
    config = load_config()
    tokens_a = TokenProvider(config, first.info.http_url)
    url = first.info.ws_url + "/ws/permissions/" + tokens_a.query(tokens_a.token("primary"))
    client = await WsClient.open(url)
    anonymous = await WsClient.open(first.info.ws_url + "/ws/permissions/anonymous/")
    try:
        await client.next_of_type("connection_confirmed", 3)
        await anonymous.next_of_type("connection_confirmed", 3)
        trigger = PushTrigger(
            config, second.info.http_url, TokenProvider(config, second.info.http_url)
        )
        user_push = PushRequest(
            "cache_invalidation", "user", user_id=2, data={"cacheKeys": ["across"]}
        )
        await asyncio.to_thread(trigger.send, user_push)
        pushed = await client.next_of_type("cache_invalidation", 5)
        assert pushed.value["data"]["cacheKeys"] == ["across"]
        await anonymous.expect_silence(0.5, "cache_invalidation")
        await asyncio.to_thread(
            trigger.send,
            PushRequest("system_notification", "global", data={"message": "m", "priority": "low"}),
        )
        await client.next_of_type("system_notification", 5)
        await anonymous.next_of_type("system_notification", 5)
    finally:
        await client.close()
        await anonymous.close()


async def open_anonymous(target: Target) -> WsClient:
    """A confirmed anonymous connection whose session knows the contract's liveness reply."""
    session = ProtocolSession(ProtocolSpec.build(load_contract(), load_config()))
    # Generous: 100 handshakes at once on a loaded 2-core CI machine once took over 5 s; what
    # these tests judge is what happens after the connection is open.
    client = await WsClient.open(
        target.info.ws_url + "/ws/permissions/anonymous/", session=session, timeout=20
    )
    await client.confirmed(10)
    return client


async def test_heartbeats_under_load_keep_connections_open(
    two_servers: tuple[Target, Target],
) -> None:
    """100 connections x 20 heartbeats on the redis layer: every reply arrives, nothing closes 1011."""
    first, _ = two_servers

    async def one_connection() -> None:
        client = await open_anonymous(first)
        try:
            for _ in range(20):
                await client.alive(5)
        finally:
            await client.close()

    await asyncio.gather(*(one_connection() for _ in range(100)))
    assert "Timeout reading" not in first.logs(200)


async def test_an_idle_connection_survives_the_layers_blocking_wait(
    two_servers: tuple[Target, Target],
) -> None:
    """Idle longer than channels_redis's 5 s BZPOPMIN: redis-py 8's default 5 s read timeout
    used to kill the consumer's receive loop and close the connection 1011."""
    first, _ = two_servers
    client = await open_anonymous(first)
    try:
        await asyncio.sleep(6.5)
        await client.alive(5)
        assert not client.closed
    finally:
        await client.close()
