"""Every fault switch changes observable behaviour (what the harness must catch)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from target import faults
from target.asgi import django_asgi_app
from target.http_only import DENIAL_EXTENSION, HttpOnlyApplication
from target.permissions import notifications
from target.tests.helpers import (
    ask,
    communicator,
    expect_close,
    expect_refusal,
    open_confirmed,
    receive,
    target_app,
)

pytestmark = pytest.mark.asyncio
ANON = "/ws/permissions/anonymous"


async def push_to_user(user_id: int) -> None:
    request = notifications.NotifyRequest(type="cache_invalidation", data={}, user_id=user_id)
    await sync_to_async(notifications.send_sync)(request)


async def no_route(app: Any, path: str) -> None:
    with pytest.raises(ValueError, match="No route found"):
        await communicator(app, path).connect(timeout=0.1)


async def test_every_fault_is_tested_here() -> None:
    tested = {name.removeprefix("test_") for name in globals() if name.startswith("test_")}
    assert set(faults.FAULTS) <= tested


async def test_http_only() -> None:
    with target_app("http_only") as app:
        assert isinstance(app, HttpOnlyApplication) and app.http_app is django_asgi_app
        comm = communicator(app, ANON)
        comm.scope["extensions"] = {DENIAL_EXTENSION: {}}
        await comm.send_input({"type": "websocket.connect"})
        start = await comm.receive_output(1)
        assert (start["type"], start["status"]) == ("websocket.http.response.start", 404)
        await comm.wait(1)
        # Without the extension (a server that lacks it) the handshake is simply refused.
        assert not (await communicator(app, ANON).connect())[0]


async def test_no_anonymous_slashless() -> None:
    with target_app("no_anonymous_slashless") as app:
        await no_route(app, "/ws/permissions/anonymous")
        comm, _ = await open_confirmed(app, "/ws/permissions/anonymous/")
        await comm.disconnect()


async def test_no_user_route(tokens) -> None:
    with target_app("no_user_route") as app:
        await no_route(app, "/ws/permissions/2/")


async def test_no_group_join(tokens) -> None:
    with target_app("no_group_join") as app:
        comm, frame = await open_confirmed(app, "/ws/permissions/", tokens["teacher"])
        assert frame["data"]["groups"] == ["role_teacher", "group_2"]  # still claimed
        await push_to_user(2)
        assert await comm.receive_nothing(0.2)
        await comm.disconnect()


async def test_heartbeat_silent() -> None:
    with target_app("heartbeat_silent") as app:
        comm, _ = await open_confirmed(app, ANON)
        for message_type in ("heartbeat", "ping"):
            await comm.send_json_to({"type": message_type})
            assert await comm.receive_nothing(0.2)
        await comm.disconnect()


async def test_heartbeat_slow() -> None:
    with target_app("heartbeat_slow") as app:
        slow, _ = await open_confirmed(app, ANON)
        other, _ = await open_confirmed(app, ANON)
        started = time.monotonic()
        await slow.send_json_to({"type": "heartbeat"})
        # Another connection is not blocked meanwhile (its own reply is also slow, so use
        # a permission_check, which is prompt).
        check = {"type": "permission_check", "resource": "a", "action": "b", "request_id": "1"}
        assert (await ask(other, check))["type"] == "permission_check_response"
        assert time.monotonic() - started < 1
        reply = await receive(slow, timeout=3)
        assert reply["type"] == "heartbeat_response"
        assert time.monotonic() - started >= 1.9
        await slow.disconnect()
        await other.disconnect()


async def test_wrong_request_id() -> None:
    with target_app("wrong_request_id") as app:
        comm, _ = await open_confirmed(app, ANON)
        for request_id in ("a", "b"):
            check = {"type": "permission_check", "resource": "x", "action": "y"}
            reply = await ask(comm, {**check, "request_id": request_id})
            assert reply["request_id"] != request_id
        await comm.disconnect()


async def test_error_shape() -> None:
    with target_app("error_shape") as app:
        comm, _ = await open_confirmed(app, ANON)
        reply = await ask(comm, "not json")
        assert reply["type"] == "error" and "error_code" not in reply
        await comm.disconnect()


async def test_crash_on_bad_json() -> None:
    with target_app("crash_on_bad_json") as app:
        comm, _ = await open_confirmed(app, ANON)
        await comm.send_to(text_data="not json")
        await expect_close(comm, 1011)
        await comm.disconnect()


async def test_cross_user(tokens) -> None:
    with target_app("cross_user") as app:
        comm, frame = await open_confirmed(app, "/ws/permissions/2/", tokens["student"])
        assert frame["data"]["user_id"] == 2
        await push_to_user(2)
        assert (await receive(comm))["type"] == "cache_invalidation"  # the student sees it
        await comm.disconnect()
        await expect_refusal(app, "/ws/permissions/2/", 4001)  # anonymous still refused


async def test_leak_to_anonymous() -> None:
    with target_app("leak_to_anonymous") as app:
        comm, _ = await open_confirmed(app, ANON)
        await push_to_user(2)
        frame = await receive(comm)
        assert frame["type"] == "cache_invalidation" and frame["data"]["userId"] == 2
        await comm.disconnect()


async def test_token_downgrade() -> None:
    with target_app("token_downgrade") as app:
        comm, frame = await open_confirmed(app, "/ws/permissions/", "garbage")
        assert frame["data"]["user_id"] == 0
        await comm.disconnect()
        await expect_refusal(app, "/ws/permissions/2/", 4001, "garbage")


async def test_no_confirmation() -> None:
    with target_app("no_confirmation") as app:
        comm = communicator(app, ANON)
        assert (await comm.connect())[0]
        assert await comm.receive_nothing(0.2)
        assert (await ask(comm, {"type": "heartbeat"}))["type"] == "heartbeat_response"
        await comm.send_json_to({"type": "connect"})
        assert await comm.receive_nothing(0.1)
        await comm.disconnect()


async def test_slow_accept() -> None:
    with target_app("slow_accept") as app:
        comm = communicator(app, ANON)
        started = time.monotonic()
        connected, _ = await comm.connect(timeout=5)
        assert connected and time.monotonic() - started >= 2.9
        await comm.disconnect()


async def test_any_origin() -> None:
    with target_app("any_origin") as app:
        comm, _ = await open_confirmed(app, ANON, origin="http://evil.example")
        await comm.disconnect()


async def test_faults_combine() -> None:
    with target_app("heartbeat_silent", "error_shape") as app:
        comm, _ = await open_confirmed(app, ANON)
        await comm.send_json_to({"type": "ping"})
        reply = await ask(comm, {"type": "nope"})
        assert reply["type"] == "error" and "error_code" not in reply
        await asyncio.sleep(0)
        await comm.disconnect()
