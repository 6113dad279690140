"""The lean client (wsproto on a plain socket) against a real ``websockets`` server."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys

import pytest
from locust_support import TIMEOUT, EchoServer

from harness.locust.wsconn import (
    ConnectionClosed,
    Endpoint,
    HandshakeError,
    WsConnection,
    WsError,
    check_handshake_response,
    encode_client_frame,
    handshake_request,
)


def test_text_round_trip_and_pong(echo_server: EchoServer) -> None:
    connection = WsConnection.open(echo_server.url + "/any", TIMEOUT)
    connection.send_text('{"type": "heartbeat"}')
    received = connection.receive(TIMEOUT)
    assert received is not None
    assert (received.kind, received.data) == ("text", '{"type": "heartbeat"}')
    connection.ping(b"abc")
    pong = connection.receive(TIMEOUT)
    assert pong is not None
    assert (pong.kind, pong.data) == ("pong", b"abc")
    connection.close()
    assert connection.closed is not None and connection.closed.code == 1000


def test_fragments_are_joined_and_server_pings_answered(echo_server: EchoServer) -> None:
    connection = WsConnection.open(echo_server.url, TIMEOUT)
    connection.send_text("fragmented")
    received = connection.receive(TIMEOUT)
    assert received is not None and received.data == "fragmented"
    connection.send_text("server-ping")  # answered inside receive(); not returned
    connection.send_text("after")
    received = connection.receive(TIMEOUT)
    assert received is not None and received.data == "after"
    connection.close()


def test_receive_times_out_with_none(echo_server: EchoServer) -> None:
    connection = WsConnection.open(echo_server.url, TIMEOUT)
    assert connection.receive(0.05) is None
    assert connection.receive(0) is None
    connection.close()


def test_server_close_code_is_reported(echo_server: EchoServer) -> None:
    connection = WsConnection.open(echo_server.url, TIMEOUT)
    connection.send_text("close-4003")
    with pytest.raises(ConnectionClosed) as info:
        connection.receive(TIMEOUT)
    assert (info.value.code, info.value.reason) == (4003, "forbidden")
    with pytest.raises(ConnectionClosed):
        connection.send_text("too late")
    connection.abort()


def test_handshake_refusal_names_the_status(echo_server: EchoServer) -> None:
    with pytest.raises(HandshakeError) as info:
        WsConnection.open(echo_server.url + "/missing", TIMEOUT)
    assert info.value.status == 404
    assert "HTTP 404" in str(info.value)


def test_refused_port_is_an_os_error() -> None:
    with pytest.raises(OSError):
        WsConnection.open("ws://127.0.0.1:1/", TIMEOUT)


def test_handshake_request_and_accept_check() -> None:
    key = b"dGhlIHNhbXBsZSBub25jZQ=="
    request = handshake_request(Endpoint.parse("ws://h:81/p/?token=x"), key, {"Origin": "o"})
    assert request.startswith(b"GET /p/?token=x HTTP/1.1\r\nHost: h:81\r\n")
    assert b"Origin: o\r\n" in request and request.endswith(b"\r\n\r\n")
    accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    check_handshake_response(b"HTTP/1.1 101 Switching\r\nSec-WebSocket-Accept: " + accept, key)
    with pytest.raises(HandshakeError, match="wrong Sec-WebSocket-Accept"):
        check_handshake_response(b"HTTP/1.1 101 OK\r\nSec-WebSocket-Accept: x", key)
    with pytest.raises(HandshakeError, match="not an HTTP answer"):
        check_handshake_response(b"SSH-2.0", key)


def test_only_ws_urls() -> None:
    with pytest.raises(WsError, match="only ws://"):
        Endpoint.parse("http://127.0.0.1/")


@pytest.mark.parametrize("size", [0, 5, 125, 126, 300, 65535, 65536])
def test_client_frames_are_masked_and_sized(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    frame = encode_client_frame(0x1, payload, mask=b"\x01\x02\x03\x04")
    assert frame[0] == 0x81 and frame[1] & 0x80
    length, offset = frame[1] & 0x7F, 2
    if length == 126:
        length, offset = int.from_bytes(frame[2:4], "big"), 4
    elif length == 127:
        length, offset = int.from_bytes(frame[2:10], "big"), 10
    assert length == size
    mask, body = frame[offset : offset + 4], frame[offset + 4 :]
    assert bytes(b ^ mask[i % 4] for i, b in enumerate(body)) == payload


def test_frames_of_every_size_arrive_whole(echo_server: EchoServer) -> None:
    """Small frames take the fast decoder, split ones wait for their rest, a 64-bit-length
    frame hands the stream to wsproto, and later frames still arrive intact."""
    connection = WsConnection.open(echo_server.url, TIMEOUT)
    for text in ("x" * 300, "é" * 40_000, "y" * 100_000, "small"):
        connection.send_text(text)
        received = connection.receive(TIMEOUT)
        assert received is not None and received.data == text
    connection.close()


GEVENT_CHECKS = """
import json, sys, time
from gevent import monkey
monkey.patch_all()

from harness.locust.wsconn import WsConnection

connection = WsConnection.open(sys.argv[1], 5.0)
connection.receive(0.0)
timers = set()
started = time.monotonic()
count = 0
while time.monotonic() - started < 0.3:  # waits adding up to 5x the timeout: a timer that
    connection.send_text(f"slow {count}")  # resumed its first run would have fired by now
    received = connection.receive(0.06)
    assert received is not None and received.data == f"slow {count}", (count, received)
    timers.add(id(connection._timer))
    count += 1
started = time.monotonic()
empty = connection.receive(0.2)
waited = time.monotonic() - started
connection.send_text("after")
after = connection.receive(2.0).data
connection.close()
print(json.dumps({"timers": len(timers), "count": count, "empty": empty, "waited": waited,
                  "after": after}))
"""


def test_gevent_waits_reuse_one_timer_and_still_time_out(echo_server: EchoServer) -> None:
    """Under gevent (a child interpreter: monkey-patching must not reach pytest) the waits
    of round trips share one timer, each wait gets its full time, and an empty wait still
    ends on time."""
    done = subprocess.run(
        [sys.executable, "-c", GEVENT_CHECKS, echo_server.url],
        capture_output=True,
        text=True,
        timeout=6 * TIMEOUT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["timers"] == 1 and found["count"] > 30  # one re-armed timer for every wait
    assert found["empty"] is None and 0.19 <= found["waited"] < 0.2 + TIMEOUT / 10
    assert found["after"] == "after"
