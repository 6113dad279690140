"""harness/client.py against a tiny local ``websockets`` server (127.0.0.1, port 0).

The server echoes text and binary frames, and obeys JSON commands:
``{"cmd": "send", "frames": [...], "delay": s}`` sends frames (after ``delay``),
``{"cmd": "close", "code": c, "reason": r}`` closes. ``/refuse`` answers HTTP 404.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from http import HTTPStatus
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from harness.client import (
    ConnectionEnded,
    ExpectationFailed,
    HandshakeRejected,
    Transcript,
    WsClient,
)
from harness.contract import Contract, FrameValidator
from harness.protocol import ProtocolSession, ProtocolSpec

TIMEOUT = 2.0  # generous upper bound; every passing wait below returns long before it


async def _handler(connection: ServerConnection) -> None:
    async for payload in connection:
        if isinstance(payload, bytes):
            await connection.send(payload)
            continue
        try:
            command = json.loads(payload)
        except ValueError:
            command = None
        if not isinstance(command, dict) or "cmd" not in command:
            await connection.send(payload)
        elif command["cmd"] == "send":
            await asyncio.sleep(command.get("delay", 0))
            for frame in command["frames"]:
                await connection.send(json.dumps(frame))
        elif command["cmd"] == "close":
            await connection.close(command["code"], command.get("reason", ""))
            return


def _process_request(connection: ServerConnection, request: Request) -> Response | None:
    if request.path.startswith("/refuse"):
        return connection.respond(HTTPStatus.NOT_FOUND, "no such route\n")
    return None


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    async with serve(_handler, "127.0.0.1", 0, process_request=_process_request) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}"


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[WsClient]:
    ws = await WsClient.open(f"{base_url}/ws/", timeout=TIMEOUT)
    yield ws
    await ws.close()


def _send(*frames: dict[str, Any], delay: float = 0) -> dict[str, Any]:
    return {"cmd": "send", "frames": list(frames), "delay": delay}


async def test_transcript_records_every_frame(base_url: str) -> None:
    transcript = Transcript()
    ws = await WsClient.open(
        f"{base_url}/ws/", transcript=transcript, label="alice", timeout=TIMEOUT
    )
    await ws.send_json({"type": "hello"})
    message = await ws.receive(TIMEOUT)
    assert message.value == {"type": "hello"} and message.type == "hello"
    await ws.send_bytes(b"\x00\x01\x02")
    binary = await ws.receive(TIMEOUT)
    assert binary.frame is not None and binary.frame.binary and binary.value is None
    await ws.close(1000, "bye")
    events = [(f.connection, f.direction, f.kind) for f in transcript]
    assert events == [
        ("alice", "sent", "handshake"),
        ("alice", "received", "handshake"),
        ("alice", "sent", "text"),
        ("alice", "received", "text"),
        ("alice", "sent", "binary"),
        ("alice", "received", "binary"),
        ("alice", "sent", "close"),
    ]
    frames = transcript.frames
    assert frames[0].text.startswith(f"GET {base_url}/ws/")
    assert frames[1].text == "HTTP 101 (accepted)"
    assert frames[2].text == '{"type": "hello"}' and frames[2].size == len(frames[2].text)
    assert frames[3].text == frames[2].text
    assert frames[4].size == 3 and frames[5].size == 3
    assert frames[6].close_code == 1000 and frames[6].text == "bye"
    assert [f.at for f in frames] == sorted(f.at for f in frames)
    rendered = transcript.render()
    assert ">> CLOSE 1000 bye" in rendered
    assert '<< {"type": "hello"}' in rendered
    assert "BINARY 3 bytes" in rendered
    assert ws.closed and ws.close_code == 1000


async def test_server_close_is_recorded_with_its_code(client: WsClient) -> None:
    await client.send_json({"cmd": "close", "code": 4003, "reason": "forbidden"})
    code, reason = await client.expect_close(TIMEOUT)
    assert (code, reason) == (4003, "forbidden")
    assert client.closed and client.close_code == 4003
    close = client.transcript.frames[-1]
    assert (close.direction, close.kind, close.close_code, close.text) == (
        "received",
        "close",
        4003,
        "forbidden",
    )
    assert "<< CLOSE 4003 forbidden" in client.transcript.render()


async def test_expect_close_keeps_frames_that_arrive_first(client: WsClient) -> None:
    await client.send_json(_send({"type": "late"}))
    await client.send_json({"cmd": "close", "code": 4001})
    code, _ = await client.expect_close(TIMEOUT)
    assert code == 4001
    assert [m.type for m in client.inbox] == ["late"]


async def test_expect_close_fails_when_the_server_stays_open(client: WsClient) -> None:
    with pytest.raises(ExpectationFailed, match=r"still open after 0\.1s"):
        await client.expect_close(0.1)


async def test_waiting_on_a_closed_connection_raises_connection_ended(client: WsClient) -> None:
    await client.send_json({"cmd": "close", "code": 1011, "reason": "boom"})
    with pytest.raises(ConnectionEnded) as info:
        await client.next_of_type("anything", TIMEOUT)
    assert info.value.code == 1011
    assert "Received: close 1011 boom" in str(info.value)


async def test_next_of_type_skips_and_keeps_other_frames(client: WsClient) -> None:
    await client.send_json(
        _send({"type": "push", "n": 1}, {"type": "other"}, {"type": "reply", "n": 2})
    )
    reply = await client.next_of_type("reply", TIMEOUT)
    assert reply.value == {"type": "reply", "n": 2}
    assert [m.type for m in client.inbox] == ["push", "other"]
    received_before = len(client.transcript.frames)
    push = await client.next_of_type("push", TIMEOUT)  # from the inbox, no read
    assert push.value["n"] == 1
    assert len(client.transcript.frames) == received_before
    assert [m.type for m in client.inbox] == ["other"]
    assert (await client.receive(TIMEOUT)).type == "other"


async def test_next_of_type_with_a_predicate(client: WsClient) -> None:
    await client.send_json(_send({"type": "r", "id": 1}, {"type": "r", "id": 2}))
    message = await client.next_of_type("r", TIMEOUT, where=lambda value: value["id"] == 2)
    assert message.value["id"] == 2
    assert [m.value["id"] for m in client.inbox] == [1]


async def test_next_of_type_timeout_lists_what_was_seen(client: WsClient) -> None:
    await client.send_json(_send({"type": "push"}))
    with pytest.raises(ExpectationFailed) as info:
        await client.next_of_type("reply", 0.2)
    assert info.value.title == "no 'reply' message within 0.2s on client"
    assert info.value.received == "'push'"
    assert "Documented: 'reply' message" in str(info.value)


async def test_expect_silence_passes_when_nothing_arrives(client: WsClient) -> None:
    await client.expect_silence(0.1)


async def test_expect_silence_passes_when_only_other_types_arrive(client: WsClient) -> None:
    await client.send_json(_send({"type": "fine"}))
    await client.expect_silence(0.2, "error")
    assert [m.type for m in client.inbox] == ["fine"]


async def test_expect_silence_fails_when_a_matching_frame_arrives(client: WsClient) -> None:
    await client.send_json(_send({"type": "error", "code": "X"}, delay=0.05))
    with pytest.raises(ExpectationFailed) as info:
        await client.expect_silence(TIMEOUT, "error")
    assert info.value.title == "client received 'error' but should not have"
    assert '"code": "X"' in info.value.received


async def test_expect_silence_fails_on_a_frame_already_in_the_inbox(client: WsClient) -> None:
    await client.send_json(_send({"type": "push"}, {"type": "reply"}))
    await client.next_of_type("reply", TIMEOUT)
    with pytest.raises(ExpectationFailed, match="'push'"):
        await client.expect_silence(0.1, "push")


async def test_expect_silence_on_a_closed_connection_passes(client: WsClient) -> None:
    await client.send_json({"cmd": "close", "code": 1000})
    await client.expect_silence(0.3)


async def test_round_trip_returns_the_documented_reply_and_duration(base_url: str) -> None:
    spec = ProtocolSpec(replies={"echo": ("echo",)})  # the server echoes: a reply in kind
    ws = await WsClient.open(f"{base_url}/ws/", timeout=TIMEOUT, session=ProtocolSession(spec))
    try:
        await ws.send_json(_send({"type": "noise"}))
        reply, seconds = await ws.round_trip({"type": "echo", "n": 1}, TIMEOUT)
        assert reply.type == "echo" and reply.value["n"] == 1
        assert 0 < seconds < TIMEOUT
        assert [e.type for e in ws.inbox] == ["noise"]  # skipped, kept, and unexplained
        assert "answers no request" in ws.inbox[0].reason
    finally:
        await ws.close()


async def test_handshake_rejected_carries_the_status(base_url: str) -> None:
    transcript = Transcript()
    with pytest.raises(HandshakeRejected) as info:
        await WsClient.open(
            f"{base_url}/refuse/?token=s3cret", transcript=transcript, timeout=TIMEOUT
        )
    assert info.value.status == 404
    assert b"no such route" in info.value.body
    assert "HTTP 404" in str(info.value)
    assert "s3cret" not in str(info.value)
    assert "Documented: HTTP 101 Switching Protocols" in str(info.value)
    assert isinstance(info.value, AssertionError)
    assert transcript.frames[-1].text == "HTTP 404 (refused)"


async def test_handshake_to_nothing_has_no_status(base_url: str) -> None:
    async with serve(_handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
    with pytest.raises(HandshakeRejected) as info:
        await WsClient.open(f"ws://127.0.0.1:{port}/ws/", timeout=TIMEOUT)
    assert info.value.status is None
    assert "Error" in str(info.value)


async def test_transcript_urls_hide_query_values(base_url: str) -> None:
    transcript = Transcript()
    ws = await WsClient.open(
        f"{base_url}/ws/?token=s3cret&mode=x&flag", transcript=transcript, timeout=TIMEOUT
    )
    await ws.close()
    assert transcript.frames[0].text == f"GET {base_url}/ws/?token=***&mode=***&flag"
    assert "s3cret" not in transcript.render()
    assert ws.url.endswith("token=s3cret&mode=x&flag")  # the client itself keeps the real URL


async def test_origin_is_shown_in_the_transcript(base_url: str) -> None:
    ws = await WsClient.open(f"{base_url}/ws/", origin="http://evil.example", timeout=TIMEOUT)
    await ws.close()
    assert ws.transcript.frames[0].text.endswith(" Origin: http://evil.example")


async def test_violations_are_recorded_on_the_frame(base_url: str, contract: Contract) -> None:
    session = ProtocolSession(
        ProtocolSpec.build(contract), validate=FrameValidator(contract).validate
    )
    ws = await WsClient.open(f"{base_url}/ws/", session=session, timeout=TIMEOUT)
    bad = {"type": "error", "error_code": "OOPS", "message": "m", "timestamp": 1}
    good = {"type": "heartbeat_response", "timestamp": "t", "server_time": 1.5}
    await ws.send_json(_send(bad, good))
    await ws.next_of_type("heartbeat_response", TIMEOUT)
    await ws.close()
    received = [f for f in ws.transcript if f.direction == "received" and f.kind == "text"]
    assert [[v.path for v in f.violations] for f in received] == [["$.error_code"], []]
    assert [v.path for v in ws.violations] == ["$.error_code"]
    assert "!! contract: 'error' frame at $.error_code" in ws.transcript.render()


async def test_non_json_text_without_validator(client: WsClient) -> None:
    await client.send_text("not json")
    message = await client.receive(TIMEOUT)
    assert message.value is None and message.text == "not json" and message.type is None
    assert client.violations == []


async def test_send_after_server_close_raises_connection_ended(client: WsClient) -> None:
    await client.send_json({"cmd": "close", "code": 4001})
    await client.expect_close(TIMEOUT)
    with pytest.raises(
        ConnectionEnded, match="connection closed while waiting for a send to complete"
    ):
        await client.send_json({"type": "late"})
    assert client.transcript.frames[-1].text == '{"type": "late"}'  # the attempt is recorded


def test_long_frames_are_truncated_in_the_transcript() -> None:
    transcript = Transcript()
    transcript.record("c", "received", "text", text="x" * 1000, size=1000)
    assert "... (1000 bytes)" in transcript.render()
    assert len(transcript.render()) < 600


def test_render_limit_counts_earlier_frames() -> None:
    transcript = Transcript()
    for n in range(5):
        transcript.note("c", f"n{n}")
    rendered = transcript.render(limit=2)
    assert rendered.splitlines()[0] == "... 3 earlier frames"
    assert "-- n4" in rendered and "-- n2" not in rendered
    assert Transcript().render() == "(no frames)"


async def test_next_of_type_uses_the_contracts_type_field(base_url: str) -> None:
    session = ProtocolSession(ProtocolSpec(type_field="kind"))
    ws = await WsClient.open(f"{base_url}/ws/", session=session, timeout=TIMEOUT)
    try:
        await ws.send_json(_send({"kind": "pong"}))
        message = await ws.next_of_type("pong", 0.2)
        assert message.value == {"kind": "pong"}
    finally:
        await ws.close()
