"""Small helpers for talking to the target in-process with Channels' WebsocketCommunicator."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from channels.testing import WebsocketCommunicator
from django.test import override_settings

ALL_FEATURES = {
    "permission_notifications",
    "role_updates",
    "menu_access_updates",
    "cache_invalidation",
    "heartbeat",
}


@contextlib.contextmanager
def target_app(*fault_names: str, **overrides: Any) -> Iterator[Any]:
    """The ASGI application with the given faults (and setting overrides) switched on."""
    from target.asgi import build_application

    with override_settings(TARGET_FAULTS=frozenset(fault_names), **overrides):
        yield build_application(fault_names)


def communicator(
    app: Any, path: str, token: str | None = None, origin: str | None = None
) -> WebsocketCommunicator:
    if token is not None:
        path = f"{path}{'&' if '?' in path else '?'}token={token}"
    headers = [(b"origin", origin.encode())] if origin else []
    return WebsocketCommunicator(app, path, headers=headers)


async def receive(comm: WebsocketCommunicator, timeout: float = 1.0) -> dict[str, Any]:
    return json.loads(await comm.receive_from(timeout))


async def ask(comm: WebsocketCommunicator, message: Any, timeout: float = 1.0) -> dict[str, Any]:
    """Send a message (dict -> JSON, str as is) and return the next frame."""
    text = message if isinstance(message, str) else json.dumps(message)
    await comm.send_input({"type": "websocket.receive", "text": text})  # "" allowed too
    return await receive(comm, timeout)


async def open_confirmed(
    app: Any, path: str, token: str | None = None, origin: str | None = None
) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    """Connect, expect acceptance and return the connection_confirmed frame."""
    comm = communicator(app, path, token, origin)
    connected, _ = await comm.connect()
    assert connected, f"{path} was not accepted"
    frame = await receive(comm)
    assert frame["type"] == "connection_confirmed", frame
    return comm, frame


async def expect_refusal(app: Any, path: str, code: int, token: str | None = None) -> None:
    """Accepted, then closed with ``code`` before any frame (the 4001/4003 refusals)."""
    comm = communicator(app, path, token)
    connected, _ = await comm.connect()
    assert connected
    await expect_close(comm, code)
    await comm.disconnect()


async def expect_close(comm: WebsocketCommunicator, code: int) -> None:
    output = await comm.receive_output(1)
    assert output == {"type": "websocket.close", "code": code}, output


def assert_error(frame: dict[str, Any], code: str) -> None:
    assert frame["type"] == "error", frame
    assert frame["error_code"] == code, frame
    assert isinstance(frame["message"], str) and frame["message"]
    assert frame["timestamp"]
