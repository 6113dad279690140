"""Client messages and their replies (contract: Client -> server, and the reply)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from target.permissions import consumers
from target.tests.helpers import ask, assert_error, expect_close, open_confirmed, target_app

pytestmark = pytest.mark.asyncio

ANON = "/ws/permissions/anonymous"


async def check_still_open(comm: Any) -> None:
    assert (await ask(comm, {"type": "heartbeat"}))["type"] == "heartbeat_response"


async def test_connect_message_gets_no_reply_and_no_error() -> None:
    with target_app() as app:
        comm, _ = await open_confirmed(app, ANON)
        await comm.send_json_to({"type": "connect", "data": {"userId": 0}, "timestamp": 1})
        assert await comm.receive_nothing(0.2)
        await comm.disconnect()


@pytest.mark.parametrize("message_type", ["heartbeat", "ping"])
async def test_heartbeat_and_ping_get_heartbeat_response(message_type: str) -> None:
    with target_app() as app:
        comm, _ = await open_confirmed(app, ANON)
        reply = await ask(comm, {"type": message_type, "timestamp": int(time.time() * 1000)})
        assert reply["type"] == "heartbeat_response"
        assert isinstance(reply["timestamp"], str) and reply["timestamp"]
        assert isinstance(reply["server_time"], float)
        assert abs(reply["server_time"] - time.time()) < 5
        await comm.disconnect()


@pytest.mark.parametrize(
    ("username", "resource", "action", "expected"),
    [
        ("admin", "users", "manage", True),
        ("admin", "courses", "edit", True),
        ("teacher", "grades", "edit", True),
        ("teacher", "users", "manage", False),
        ("student", "grades", "view", True),
        ("student", "grades", "edit", False),
        (None, "grades", "view", False),
    ],
)
async def test_permission_check(tokens, username, resource, action, expected) -> None:
    with target_app() as app:
        comm, _ = await open_confirmed(app, "/ws/permissions/", tokens.get(username))
        request = {"type": "permission_check", "resource": resource, "action": action}
        reply = await ask(comm, {**request, "request_id": "req-42"})
        assert reply["type"] == "permission_check_response"
        assert reply["request_id"] == "req-42"
        assert (reply["resource"], reply["action"]) == (resource, action)
        assert reply["has_permission"] is expected
        assert reply["timestamp"]
        await comm.disconnect()


@pytest.mark.parametrize(
    "message",
    [
        {"type": "permission_check", "action": "view", "request_id": "1"},
        {"type": "permission_check", "resource": "grades", "request_id": "1"},
        {"type": "permission_check", "resource": "", "action": "view"},
        {"type": "permission_check", "data": {"resource": "grades", "action": "view"}},
    ],
)
async def test_permission_check_without_parameters_is_an_error(message: dict) -> None:
    with target_app() as app:
        comm, _ = await open_confirmed(app, ANON)
        assert_error(await ask(comm, message), "missing_parameters")
        await check_still_open(comm)
        await comm.disconnect()


async def test_subscribe_and_unsubscribe_notifications() -> None:
    with target_app() as app:
        comm, _ = await open_confirmed(app, ANON)
        types = ["role_updated", "permission_changed"]
        reply = await ask(comm, {"type": "subscribe_notifications", "types": types})
        assert reply["type"] == "subscription_confirmed"
        assert reply["subscribed_types"] == types and reply["timestamp"]
        reply = await ask(comm, {"type": "unsubscribe_notifications", "types": types[:1]})
        assert reply["type"] == "unsubscription_confirmed"
        assert reply["unsubscribed_types"] == types[:1] and reply["timestamp"]
        assert_error(
            await ask(comm, {"type": "subscribe_notifications", "types": "role_updated"}),
            "invalid_parameters",
        )
        await comm.disconnect()


@pytest.mark.parametrize(
    "text", ["not json", "{", "", "[1, 2]", '"a string"', "42", "null", "[" * 5000]
)
async def test_non_json_or_non_object_is_invalid_json(text: str) -> None:
    with target_app() as app:
        comm, _ = await open_confirmed(app, ANON)
        assert_error(await ask(comm, text), "INVALID_JSON")
        await check_still_open(comm)
        await comm.disconnect()


@pytest.mark.parametrize(
    "message", [{"type": "nope"}, {"data": {}}, {"type": None}, {"type": ["heartbeat"]}]
)
async def test_unknown_or_missing_type_is_an_error(message: dict) -> None:
    with target_app() as app:
        comm, _ = await open_confirmed(app, ANON)
        assert_error(await ask(comm, message), "UNKNOWN_MESSAGE_TYPE")
        await check_still_open(comm)
        await comm.disconnect()


async def test_failure_inside_the_server_is_internal_error(tokens, monkeypatch) -> None:
    def broken(*args: Any) -> bool:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(consumers, "has_permission", broken)
    with target_app() as app:
        comm, _ = await open_confirmed(app, "/ws/permissions/", tokens["teacher"])
        message = {"type": "permission_check", "resource": "grades", "action": "view"}
        assert_error(await ask(comm, message), "INTERNAL_ERROR")
        await check_still_open(comm)
        await comm.disconnect()


def padded(size: int, filler: str = "x") -> str:
    """A heartbeat message of exactly ``size`` UTF-8 bytes (filler may be multi-byte)."""
    room = size - len(json.dumps({"type": "heartbeat", "pad": ""}).encode())
    fill = filler * (room // len(filler.encode()))
    fill += "y" * (room - len(fill.encode()))
    text = json.dumps({"type": "heartbeat", "pad": fill}, ensure_ascii=False)
    assert len(text.encode()) == size
    return text


async def test_message_of_exactly_64_kib_is_accepted() -> None:
    with target_app() as app:
        comm, _ = await open_confirmed(app, ANON)
        assert (await ask(comm, padded(65536)))["type"] == "heartbeat_response"
        assert (await ask(comm, padded(65536, "é")))["type"] == "heartbeat_response"
        await comm.disconnect()


@pytest.mark.parametrize("filler", ["x", "€"])
async def test_message_over_64_kib_closes_1009(filler: str) -> None:
    with target_app() as app:
        comm, _ = await open_confirmed(app, ANON)
        await comm.send_to(text_data=padded(65537 if filler == "x" else 65538, filler))
        await expect_close(comm, 1009)
        await comm.disconnect()


async def test_binary_frame_closes_1003() -> None:
    with target_app() as app:
        comm, _ = await open_confirmed(app, ANON)
        await comm.send_to(bytes_data=b'{"type": "heartbeat"}')
        await expect_close(comm, 1003)
        await comm.disconnect()
