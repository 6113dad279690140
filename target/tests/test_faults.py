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
    assert_error,
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


async def test_deny_unrouted() -> None:
    with target_app("deny_unrouted") as app:
        connected, code = await communicator(app, "/ws/elsewhere/").connect()
        assert (connected, code) == (False, 1000)  # closed before accept: Daphne answers 403
        comm, _ = await open_confirmed(app, ANON)  # declared routes still win
        await comm.disconnect()


async def test_memory_layer() -> None:
    """Only replicas can tell: the server ignores REDIS_URL and keeps the in-memory layer."""
    from target.settings import channel_layers

    def backend(url: str, active: frozenset[str]) -> str:
        return channel_layers(url, active)["default"]["BACKEND"].rsplit(".", 1)[1]

    assert backend("redis://127.0.0.1:1/0", frozenset()) == "RedisChannelLayer"
    assert backend("redis://127.0.0.1:1/0", frozenset({"memory_layer"})) == "InMemoryChannelLayer"
    assert backend("", frozenset()) == "InMemoryChannelLayer"


async def test_no_channel_layer() -> None:
    with target_app("no_channel_layer") as app:
        comm = communicator(app, ANON)
        connected, _ = await comm.connect()
        assert connected
        with pytest.raises(AttributeError, match="group_add"):
            await comm.receive_output(1)


async def test_faults_combine() -> None:
    with target_app("heartbeat_silent", "error_shape") as app:
        comm, _ = await open_confirmed(app, ANON)
        await comm.send_json_to({"type": "ping"})
        reply = await ask(comm, {"type": "nope"})
        assert reply["type"] == "error" and "error_code" not in reply
        await asyncio.sleep(0)
        await comm.disconnect()


# --------------------------------------------------------------------- the larger catalogue
HEARTBEAT = {"type": "heartbeat"}
CHECK = {"type": "permission_check", "resource": "grades", "action": "view", "request_id": "r1"}


async def push(request: notifications.NotifyRequest) -> None:
    await sync_to_async(notifications.send_sync)(request)


def padded_heartbeat(size: int) -> str:
    head = '{"type": "heartbeat", "pad": "'
    return head + "x" * (size - len(head) - 2) + '"}'


async def test_extra_reply() -> None:
    with target_app("extra_reply") as app:
        comm, _ = await open_confirmed(app, ANON)
        assert (await ask(comm, HEARTBEAT))["type"] == "heartbeat_response"
        assert (await receive(comm))["type"] == "heartbeat_response"  # the unasked duplicate
        assert await comm.receive_nothing(0.1)
        await comm.disconnect()


async def test_hello_gets_error() -> None:
    with target_app("hello_gets_error") as app:
        comm, _ = await open_confirmed(app, ANON)
        assert_error(
            await ask(comm, {"type": "connect", "data": {"userId": None}}), "UNKNOWN_MESSAGE_TYPE"
        )
        await comm.disconnect()


async def test_unknown_type_silent() -> None:
    with target_app("unknown_type_silent") as app:
        comm, _ = await open_confirmed(app, ANON)
        await comm.send_json_to({"type": "no_such_type"})
        assert await comm.receive_nothing(0.2)
        assert_error(await ask(comm, {"no": "type"}), "UNKNOWN_MESSAGE_TYPE")  # still answered
        await comm.disconnect()


async def test_global_skips_anonymous(tokens) -> None:
    with target_app("global_skips_anonymous") as app:
        anonymous, _ = await open_confirmed(app, ANON)
        user, _ = await open_confirmed(app, "/ws/permissions/", tokens["teacher"])
        await push(notifications.NotifyRequest(type="system_notification", everyone=True))
        assert (await receive(user))["type"] == "system_notification"
        assert await anonymous.receive_nothing(0.2)
        await anonymous.disconnect()
        await user.disconnect()


async def test_wrong_reply_type() -> None:
    with target_app("wrong_reply_type") as app:
        comm, _ = await open_confirmed(app, ANON)
        assert (await ask(comm, {"type": "ping"}))["type"] == "pong"
        assert (await ask(comm, HEARTBEAT))["type"] == "heartbeat_response"
        await comm.disconnect()


async def test_denied_as_error(tokens) -> None:
    with target_app("denied_as_error") as app:
        comm, _ = await open_confirmed(app, "/ws/permissions/", tokens["teacher"])
        assert (await ask(comm, CHECK))["has_permission"] is True  # held: answered as before
        denied = await ask(comm, {**CHECK, "resource": "users", "action": "manage"})
        assert denied["type"] == "error" and denied["error_code"] == "PERMISSION_DENIED"
        await comm.disconnect()


async def test_reply_field_type() -> None:
    with target_app("reply_field_type") as app:
        comm, _ = await open_confirmed(app, ANON)
        reply = await ask(comm, HEARTBEAT)
        assert isinstance(reply["server_time"], str) and float(reply["server_time"]) > 0
        await comm.disconnect()


async def test_missing_reply_field() -> None:
    with target_app("missing_reply_field") as app:
        comm, _ = await open_confirmed(app, ANON)
        reply = await ask(comm, CHECK)
        assert reply["type"] == "permission_check_response" and "has_permission" not in reply
        assert reply["request_id"] == "r1"
        await comm.disconnect()


async def test_subscribe_echo_empty() -> None:
    with target_app("subscribe_echo_empty") as app:
        comm, _ = await open_confirmed(app, ANON)
        reply = await ask(comm, {"type": "subscribe_notifications", "types": ["role_updated"]})
        assert reply["type"] == "subscription_confirmed" and reply["subscribed_types"] == []
        await comm.disconnect()


async def test_missing_params_code() -> None:
    with target_app("missing_params_code") as app:
        comm, _ = await open_confirmed(app, ANON)
        assert_error(
            await ask(comm, {"type": "permission_check", "action": "view"}), "INTERNAL_ERROR"
        )
        empty = {**CHECK, "resource": ""}  # present but empty: still missing_parameters
        assert_error(await ask(comm, empty), "missing_parameters")
        await comm.disconnect()


async def test_confirm_wrong_user(tokens) -> None:
    with target_app("confirm_wrong_user") as app:
        comm, frame = await open_confirmed(app, "/ws/permissions/", tokens["teacher"])
        assert frame["data"]["user_id"] == 0 and frame["data"]["groups"] == ["anonymous_users"]
        # The confirmation went out before the groups were joined: a reply to a later
        # message means connect() has finished (a consumer handles one event at a time).
        assert (await ask(comm, {"type": "heartbeat"}))["type"] == "heartbeat_response"
        await push_to_user(2)  # the groups are joined all the same
        assert (await receive(comm))["type"] == "cache_invalidation"
        await comm.disconnect()


async def test_anonymous_route_keeps_token(tokens) -> None:
    with target_app("anonymous_route_keeps_token") as app:
        comm, frame = await open_confirmed(app, ANON, tokens["teacher"])
        assert frame["data"]["user_id"] == 2
        await comm.disconnect()
        comm, frame = await open_confirmed(app, ANON)  # without a token: anonymous
        assert frame["data"]["user_id"] == 0
        await comm.disconnect()


async def test_request_id_dropped() -> None:
    with target_app("request_id_dropped") as app:
        comm, _ = await open_confirmed(app, ANON)
        reply = await ask(comm, CHECK)
        assert reply["type"] == "permission_check_response" and "request_id" not in reply
        await comm.disconnect()


async def test_forbidden_code(tokens) -> None:
    with target_app("forbidden_code") as app:
        await expect_refusal(app, "/ws/permissions/2/", 4001, tokens["student"])
        comm, _ = await open_confirmed(app, "/ws/permissions/2/", tokens["teacher"])
        await comm.disconnect()


async def test_push_to_other_user(tokens) -> None:
    with target_app("push_to_other_user") as app:
        teacher, _ = await open_confirmed(app, "/ws/permissions/", tokens["teacher"])
        student, _ = await open_confirmed(app, "/ws/permissions/", tokens["student"])
        await push_to_user(2)
        assert (await receive(teacher))["data"]["userId"] == 2
        assert (await receive(student))["data"]["userId"] == 2  # user 3 gets user 2's push
        await teacher.disconnect()
        await student.disconnect()


async def test_role_push_to_all(tokens) -> None:
    with target_app("role_push_to_all") as app:
        student, _ = await open_confirmed(app, "/ws/permissions/", tokens["student"])
        anonymous, _ = await open_confirmed(app, ANON)
        await push(notifications.NotifyRequest(type="role_updated", role="teacher"))
        assert (await receive(student))["type"] == "role_updated"
        assert (await receive(anonymous))["type"] == "role_updated"
        await student.disconnect()
        await anonymous.disconnect()


async def test_unsubscribe_ignored(tokens) -> None:
    with target_app("unsubscribe_ignored") as app:
        comm, _ = await open_confirmed(app, "/ws/permissions/", tokens["teacher"])
        types = ["role_updated"]
        await ask(comm, {"type": "subscribe_notifications", "types": types})
        reply = await ask(comm, {"type": "unsubscribe_notifications", "types": types})
        assert reply["unsubscribed_types"] == types
        subscribers = notifications.NotifyRequest(type="role_updated", user_id=2, subscribers=True)
        await push(subscribers)
        assert (await receive(comm))["type"] == "role_updated"  # still subscribed
        await comm.disconnect()


async def test_subscription_shared(tokens) -> None:
    with target_app("subscription_shared") as app:
        teacher, _ = await open_confirmed(app, "/ws/permissions/", tokens["teacher"])
        student, _ = await open_confirmed(app, "/ws/permissions/", tokens["student"])
        for comm in (teacher, student):
            await ask(comm, {"type": "subscribe_notifications", "types": ["role_updated"]})
        subscribers = notifications.NotifyRequest(type="role_updated", user_id=2, subscribers=True)
        await push(subscribers)
        assert (await receive(teacher))["data"]["userId"] == 2
        assert (await receive(student))["data"]["userId"] == 2  # another user's subscription
        await teacher.disconnect()
        await student.disconnect()


async def test_duplicate_push(tokens) -> None:
    with target_app("duplicate_push") as app:
        comm, _ = await open_confirmed(app, "/ws/permissions/", tokens["teacher"])
        await push_to_user(2)
        first, second = await receive(comm), await receive(comm)
        assert first == second and first["type"] == "cache_invalidation"
        await push(notifications.NotifyRequest(type="system_notification", everyone=True))
        assert (await receive(comm))["type"] == "system_notification"
        assert await comm.receive_nothing(0.1)  # global pushes are sent once
        await comm.disconnect()


async def test_close_after_error() -> None:
    with target_app("close_after_error") as app:
        comm, _ = await open_confirmed(app, ANON)
        assert_error(await ask(comm, "not json"), "INVALID_JSON")
        await expect_close(comm, 1000)
        await comm.disconnect()


async def test_close_early(monkeypatch) -> None:
    from target.permissions import consumers

    monkeypatch.setattr(consumers, "EARLY_CLOSE_SECONDS", 0.3)
    with target_app("close_early") as app:
        comm, _ = await open_confirmed(app, ANON)
        assert (await ask(comm, HEARTBEAT))["type"] == "heartbeat_response"
        assert await comm.receive_nothing(0.1)
        assert await comm.receive_output(1) == {"type": "websocket.close", "code": 1000}
        await comm.disconnect()


async def test_close_early_timer_ends_with_the_connection(monkeypatch) -> None:
    from target.permissions import consumers

    monkeypatch.setattr(consumers, "EARLY_CLOSE_SECONDS", 0.2)
    with target_app("close_early") as app:
        comm, _ = await open_confirmed(app, ANON)
        await comm.disconnect()
        await asyncio.sleep(0.3)  # the cancelled timer never touches the closed connection


async def test_small_size_limit() -> None:
    with target_app("small_size_limit") as app:
        comm, _ = await open_confirmed(app, ANON)
        assert (await ask(comm, padded_heartbeat(32 * 1024)))["type"] == "heartbeat_response"
        await comm.send_to(text_data=padded_heartbeat(32 * 1024 + 1))
        await expect_close(comm, 1009)
        await comm.disconnect()


async def test_binary_ignored() -> None:
    with target_app("binary_ignored") as app:
        comm, _ = await open_confirmed(app, ANON)
        await comm.send_to(bytes_data=b"\x00" * 16)
        assert await comm.receive_nothing(0.2)
        assert (await ask(comm, HEARTBEAT))["type"] == "heartbeat_response"
        await comm.disconnect()


async def test_no_size_limit() -> None:
    with target_app("no_size_limit") as app:
        comm, _ = await open_confirmed(app, ANON)
        reply = await ask(comm, padded_heartbeat(64 * 1024 + 1))
        assert reply["type"] == "heartbeat_response"
        await comm.disconnect()


async def test_owner_route_anonymous() -> None:
    with target_app("owner_route_anonymous") as app:
        comm, frame = await open_confirmed(app, "/ws/permissions/2/")
        assert frame["data"]["user_id"] == 0 and frame["data"]["groups"] == ["anonymous_users"]
        await push_to_user(2)
        assert await comm.receive_nothing(0.2)  # anonymous: not the user's pushes
        await comm.disconnect()
