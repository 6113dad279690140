"""A lean blocking WebSocket client: wsproto's sans-I/O frame protocol driven on a plain socket.

Why not websocket-client or ``websockets.sync``: measured under gevent they reached 0.71x and
0.6x of a bare asyncio ``websockets`` client's connection rate, and about half its heartbeat
rate. Here every call does the minimum: one ``sendall`` per frame, one ``recv`` per batch of
frames, no background thread, no per-message queue.

The opening handshake is written by hand (a fixed request, a status line and one header to
check) instead of wsproto's h11-based ``WSConnection``: h11 parsing dominated the cost of a
connection. After the 101 answer, wsproto's ``Connection`` does the framing (masking,
fragmentation, UTF-8, control frames, the closing handshake).

The socket is whatever ``socket.socket`` is at call time: under Locust that is gevent's
cooperative socket, so a blocking ``receive`` only parks the calling greenlet. In plain
threads (the unit tests) it is the ordinary blocking socket.

Errors (all ``WsError``)::

    WsError
     +-- HandshakeError      the server did not answer 101 with the right accept key
     +-- ConnectionClosed    a close frame or EOF arrived (``code``, ``reason``)
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import random
import socket
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple
from urllib.parse import urlsplit

try:  # gevent's dependency; only its cooperative sockets reach the code that needs it
    from greenlet import getcurrent
except ImportError:  # pragma: no cover - plain sockets never wait through the hub
    getcurrent = None  # type: ignore[assignment]
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import (
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Ping,
    Pong,
    TextMessage,
)
from wsproto.utilities import ProtocolError

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_MAX_HEADER_BYTES = 65536
_RECV_BYTES = 65536
_SHORTEST_REUSED = 0.05  # seconds: shorter waits get a timer of their exact length


class WsError(Exception):
    """Base of every error this module raises."""


class HandshakeError(WsError):
    """The opening handshake failed; ``status`` is the HTTP status (None: no HTTP answer)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ConnectionClosed(WsError):
    """The peer closed (``code`` 1006 when the TCP connection ended without a close frame)."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"connection closed: code {code}" + (f" ({reason})" if reason else ""))
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where to connect: host, port and the request target (path plus query)."""

    host: str
    port: int
    resource: str

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        parts = urlsplit(url)
        if parts.scheme != "ws":
            raise WsError(f"{url!r}: only ws:// URLs are supported (got {parts.scheme!r})")
        if not parts.hostname:
            raise WsError(f"{url!r}: no host; expected ws://HOST:PORT/path")
        resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(parts.hostname, parts.port or 80, resource)

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == 80 else f"{host}:{self.port}"


class Received(NamedTuple):
    """One complete incoming message, or a pong; ``at`` is ``perf_counter()`` on arrival.

    A named tuple, not a frozen dataclass: one is built per frame, and a frozen dataclass
    costs twice as much to build (measured: 0.47 vs 0.23 us).
    """

    kind: Literal["text", "bytes", "pong"]
    data: str | bytes
    at: float


def handshake_request(
    endpoint: Endpoint, key: bytes, headers: dict[str, str] | None = None
) -> bytes:
    """The HTTP upgrade request (pure; exposed for tests)."""
    lines = [
        f"GET {endpoint.resource} HTTP/1.1",
        f"Host: {endpoint.host_header}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key.decode()}",
        "Sec-WebSocket-Version: 13",
    ]
    lines.extend(f"{name}: {value}" for name, value in (headers or {}).items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def check_handshake_response(head: bytes, key: bytes) -> None:
    """Raise HandshakeError unless ``head`` (status line + headers) accepts ``key`` (pure)."""
    lines = head.decode("latin-1").split("\r\n")
    status_line = lines[0].split(" ", 2)
    try:
        status = int(status_line[1])
    except (IndexError, ValueError):
        raise HandshakeError(f"not an HTTP answer: {lines[0][:80]!r}") from None
    if status != 101:
        reason = status_line[2] if len(status_line) > 2 else ""
        raise HandshakeError(f"handshake answered HTTP {status} {reason}".rstrip(), status)
    expected = base64.b64encode(hashlib.sha1(key + _GUID).digest()).decode()
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "sec-websocket-accept":
            if value.strip() != expected:
                raise HandshakeError("wrong Sec-WebSocket-Accept in the 101 answer", status)
            return
    raise HandshakeError("101 answer without Sec-WebSocket-Accept", status)


def encode_client_frame(opcode: int, payload: bytes, mask: bytes | None = None) -> bytes:
    """A complete masked client frame (pure; exposed for tests).

    wsproto's own encoder asks ``os.urandom`` for every mask: one syscall per frame, a
    measurable share of a loopback heartbeat. Masks exist to stop cache poisoning through
    browsers' proxies; a load generator only needs them to vary, so ``random`` supplies
    them. Data frames take this path; control frames and the close handshake go through
    wsproto, which never learns of these frames (none is fragmented, so its state holds).
    """
    if mask is None:
        mask = _random_mask()
    length = len(payload)
    if length < 126:
        header = bytes((0x80 | opcode, 0x80 | length))
    elif length < 65536:
        header = bytes((0x80 | opcode, 0x80 | 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + length.to_bytes(8, "big")
    if not length:
        return header + mask
    repeated = (mask * (length // 4 + 1))[:length]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        length, "big"
    )
    return header + mask + masked


def _random_mask() -> bytes:
    return random.getrandbits(32).to_bytes(4, "big")


class _Expired(BaseException):
    """Thrown into a greenlet whose wait timed out (caught in ``_wait_readable``)."""


def _expire(waiting: Any) -> None:
    waiting.throw(_Expired)


class WsConnection:
    """An open client connection. Not thread-safe: one greenlet (or thread) drives it.

    ``receive`` answers pings on its own and returns messages and pongs; after it raises
    ConnectionClosed the caller only calls ``abort``. ``close`` runs the closing handshake,
    bounded by its timeout, and always releases the socket.
    """

    def __init__(self, sock: socket.socket, trailing: bytes = b"") -> None:
        self.sock = sock
        self._protocol = Connection(ConnectionType.CLIENT)
        self._pending: deque[Received] = deque()
        self._fragments: list[str | bytes] = []
        self._closed: ConnectionClosed | None = None
        self._fast = True  # see _feed_fast
        self._partial = b""
        # gevent's cooperative socket: its hub and read watcher (see _wait_readable).
        self._hub = getattr(sock, "hub", None)
        self._read_event = getattr(sock, "_read_event", None)
        self._timer: Any = None  # a re-armed event-loop timer (see _wait_readable)
        self._timer_seconds = 0.0
        if trailing:
            self._feed(trailing)

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(
        cls,
        url: str,
        timeout: float,
        headers: dict[str, str] | None = None,
        source_address: tuple[str, int] | None = None,
    ) -> WsConnection:
        """TCP connect and handshake within ``timeout`` seconds (TimeoutError when exceeded)."""
        endpoint = Endpoint.parse(url)
        deadline = time.monotonic() + timeout
        sock = socket.create_connection(
            (endpoint.host, endpoint.port), timeout=timeout, source_address=source_address
        )
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            key = base64.b64encode(os.urandom(16))
            sock.sendall(handshake_request(endpoint, key, headers))
            buffer = b""
            while b"\r\n\r\n" not in buffer:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                chunk = sock.recv(_RECV_BYTES)
                if not chunk:
                    raise HandshakeError("the server closed the connection during the handshake")
                buffer += chunk
                if len(buffer) > _MAX_HEADER_BYTES:
                    raise HandshakeError("handshake answer headers exceed 64 KiB")
            head, _, trailing = buffer.partition(b"\r\n\r\n")
            check_handshake_response(head, key)
        except BaseException:
            sock.close()
            raise
        return cls(sock, trailing)

    # ------------------------------------------------------------------ sending
    def send_text(self, text: str) -> None:
        """One unfragmented text frame (the fast path: see ``encode_client_frame``)."""
        if self._closed is not None:
            raise self._closed
        if self._protocol.state is not ConnectionState.OPEN:
            self._send(TextMessage(data=text))  # lets wsproto raise its LocalProtocolError
            return
        self._write(encode_client_frame(0x1, text.encode()))

    def send_bytes(self, data: bytes) -> None:
        if self._closed is not None:
            raise self._closed
        if self._protocol.state is not ConnectionState.OPEN:
            self._send(BytesMessage(data=data))
            return
        self._write(encode_client_frame(0x2, data))

    def ping(self, payload: bytes = b"") -> None:
        self._send(Ping(payload=payload))

    def _send(self, event: Event) -> None:
        if self._closed is not None:
            raise self._closed
        self._write(self._protocol.send(event))

    def _write(self, data: bytes) -> None:
        # send() first: gevent's sendall() costs an extra getsockopt() syscall per call.
        try:
            sent = self.sock.send(data)
            if sent < len(data):
                self.sock.sendall(data[sent:])
        except OSError as exc:
            raise self._lost(exc) from None

    # ------------------------------------------------------------------ receiving
    def receive(self, timeout: float | None) -> Received | None:
        """The next message or pong, or None when ``timeout`` seconds pass first.

        ``timeout`` None blocks; 0 returns only what is already buffered or readable.
        """
        if self._pending:
            return self._pending.popleft()
        if self._closed is not None:
            raise self._closed
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._pending:
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            self.sock.settimeout(remaining)
            try:
                self._wait_readable(remaining)
                data = self.sock.recv(_RECV_BYTES)
            except (TimeoutError, BlockingIOError):
                return None
            except OSError as exc:
                raise self._lost(exc) from None
            self._feed(data or None)
            if self._closed is not None and not self._pending:
                raise self._closed
        return self._pending.popleft()

    def _wait_readable(self, timeout: float | None) -> None:
        """Wait until the socket is readable; TimeoutError when ``timeout`` seconds pass first.

        gevent's ``recv`` first tries the syscall and, when nothing is there yet, catches
        EWOULDBLOCK and waits. Right after a request nothing ever is: that failed syscall and
        the Python exception cost about as much as the rest of a heartbeat's bookkeeping, so
        wait first (measured: 0.85x -> 1.0x of asyncio's heartbeats per core).

        gevent's own wait (``socket._wait``) also builds a new ``Timeout`` for every call
        (2 us, and more in garbage); a request's first wait is nearly always for the same
        number of seconds (the reply timeout), so each connection keeps one event-loop timer
        and re-arms it (0.2 us; measured +15 % heartbeats per core). The timer lasts 0.5 %
        less than the wait it was made for and serves any wait up to 1 % longer than itself:
        a wait never outlasts what was asked, and one that ends a hair early returns None,
        after which the caller waits out the rest. It is re-armed with ``again`` (from now,
        for its full length): a stopped libev timer restarted with ``start`` would only
        resume what was left of its first run. ``hub`` and ``_read_event`` are gevent's
        socket internals, unchanged for a decade; plain (non-gevent) sockets lack them and
        go straight to recv, which then waits.
        """
        hub, event = self._hub, self._read_event
        if hub is None or event is None or timeout == 0.0:
            return  # a zero timeout means "only what is there": recv answers that alone
        if timeout is None:
            hub.wait(event)
            return
        timer, seconds = self._timer, self._timer_seconds
        if timer is None or not 0.99 * timeout <= seconds <= timeout:
            if timer is not None:
                timer.close()
            seconds = 0.995 * timeout if timeout >= _SHORTEST_REUSED else timeout
            timer = self._timer = hub.loop.timer(seconds, seconds)
            self._timer_seconds = seconds
        timer.again(_expire, getcurrent(), update=True)  # type: ignore[misc]
        try:
            hub.wait(event)
        except _Expired:
            raise TimeoutError from None
        finally:
            timer.stop()

    def _feed(self, data: bytes | None) -> None:
        now = time.perf_counter()
        if data and self._fast:
            data = self._feed_fast(data, now)
            if not data:
                return
            self._fast = False  # wsproto owns the stream from this frame boundary on
        try:
            self._protocol.receive_data(data)
            for event in self._protocol.events():
                self._dispatch(event, now)
        except ProtocolError as exc:
            self._closed = ConnectionClosed(1002, f"protocol error: {exc}")

    def _feed_fast(self, data: bytes, now: float) -> bytes:
        """Decode complete, unfragmented, unmasked data frames; return what wsproto must take.

        Measured: wsproto's general parser is the largest single cost of a heartbeat round
        trip. A server's small data frames are simple, so they are decoded here while the
        stream has shown nothing else; the first frame of any other kind (control, fragment,
        reserved bits, 64-bit length) and everything after it go to wsproto for good. An
        incomplete simple frame waits in ``_partial`` for the rest of its bytes.
        """
        if self._partial:
            data = self._partial + data
            self._partial = b""
        end = len(data)
        offset = 0
        pending = self._pending
        while offset + 2 <= end:
            first, second = data[offset], data[offset + 1]
            if first not in (0x81, 0x82) or second > 126:  # masked or 64-bit length: >126
                return data[offset:]
            start = offset + 2
            length = second
            if second == 126:
                if start + 2 > end:
                    break
                length = int.from_bytes(data[start : start + 2], "big")
                start += 2
            if start + length > end:
                break
            payload = data[start : start + length]
            offset = start + length
            if first == 0x82:
                pending.append(Received("bytes", payload, now))
                continue
            try:
                pending.append(Received("text", payload.decode(), now))
            except UnicodeDecodeError:
                self._closed = ConnectionClosed(1007, "invalid UTF-8 in a text frame")
                return b""
        self._partial = data[offset:]
        return b""

    def _dispatch(self, event: Event, now: float) -> None:
        if isinstance(event, Message):
            if not event.message_finished:
                self._fragments.append(event.data)
                return
            data = event.data
            if self._fragments:
                self._fragments.append(data)
                data = type(data)().join(self._fragments)  # type: ignore[arg-type]
                self._fragments = []
            kind: Literal["text", "bytes"] = "text" if isinstance(data, str) else "bytes"
            self._pending.append(Received(kind, data, now))
        elif isinstance(event, Ping):
            if self._protocol.state is ConnectionState.OPEN:
                self.sock.sendall(self._protocol.send(event.response()))
        elif isinstance(event, Pong):
            self._pending.append(Received("pong", bytes(event.payload), now))
        elif isinstance(event, CloseConnection):
            if self._protocol.state is ConnectionState.REMOTE_CLOSING:
                # Answer the close, as RFC 6455 asks; the peer may already be gone.
                with contextlib.suppress(OSError):
                    self.sock.sendall(self._protocol.send(event.response()))
            self._closed = ConnectionClosed(event.code, event.reason or "")

    def _lost(self, exc: OSError) -> ConnectionClosed:
        self._closed = ConnectionClosed(1006, f"transport error: {exc}")
        return self._closed

    # ------------------------------------------------------------------ closing
    @property
    def closed(self) -> ConnectionClosed | None:
        """Why the connection ended, or None while it is open."""
        return self._closed

    def close(self, code: int = 1000, reason: str = "", timeout: float = 1.0) -> None:
        """Send a close frame, wait up to ``timeout`` for the peer's, release the socket."""
        try:
            if self._closed is None and self._protocol.state is ConnectionState.OPEN:
                self.sock.sendall(self._protocol.send(CloseConnection(code=code, reason=reason)))
                deadline = time.monotonic() + timeout
                while self._closed is None and time.monotonic() < deadline:
                    self.receive(deadline - time.monotonic())
        except (WsError, OSError):
            pass
        finally:
            self.abort()

    def abort(self) -> None:
        """Release the socket now, without a closing handshake."""
        if self._timer is not None:
            self._timer.close()
            self._timer = None
        if self._closed is None:
            self._closed = ConnectionClosed(1006, "aborted by the client")
        self.sock.close()
