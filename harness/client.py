"""The only place in the harness that speaks WebSocket (async, on the ``websockets`` library).

``WsClient`` wraps one connection and records every frame in a ``Transcript`` (direction,
time, text, close code), so any failure can show exactly what crossed the wire. Its
expectations raise ``ExpectationFailed`` (an AssertionError, so hand-written pytest tests
read naturally) carrying a title and "Received / Documented" lines.

Frames that arrive while the caller waits for something else are kept in an inbox, not
dropped: ``next_of_type("heartbeat_response")`` skips an unrelated push, and a later
``next_of_type("permission_changed")`` still finds it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from harness.contract.validation import FrameValidator, Violation

Direction = Literal["sent", "received"]
FrameKind = Literal["text", "binary", "close", "handshake", "note"]

_PREVIEW = 400  # characters of a frame shown in a transcript line


@dataclass(frozen=True)
class Frame:
    """One event on one connection, as it appears in a transcript."""

    connection: str
    direction: Direction
    at: float  # seconds since the transcript started
    kind: FrameKind
    text: str = ""
    size: int = 0
    close_code: int | None = None
    violations: tuple[Violation, ...] = ()

    def render(self) -> str:
        arrow = ">>" if self.direction == "sent" else "<<"
        if self.kind == "close":
            body = f"CLOSE {self.close_code if self.close_code is not None else '(no close frame)'} {self.text}".rstrip()
        elif self.kind == "binary":
            body = f"BINARY {self.size} bytes"
        elif self.kind in ("handshake", "note"):
            body = self.text
        else:
            body = (
                self.text
                if len(self.text) <= _PREVIEW
                else f"{self.text[:_PREVIEW]}... ({self.size} bytes)"
            )
        line = f"{self.at:8.3f}s {self.connection:>10} {arrow} {body}"
        for violation in self.violations:
            line += f"\n{'':>21}!! contract: {violation}"
        return line


@dataclass
class Transcript:
    """Every frame of every connection of one test, in the order they happened."""

    started: float = field(default_factory=time.monotonic)
    frames: list[Frame] = field(default_factory=list)

    def record(
        self, connection: str, direction: Direction, kind: FrameKind, **details: Any
    ) -> Frame:
        frame = Frame(connection, direction, time.monotonic() - self.started, kind, **details)
        self.frames.append(frame)
        return frame

    def note(self, connection: str, text: str) -> None:
        self.record(connection, "sent", "note", text=f"-- {text}")

    def render(self, limit: int = 200) -> str:
        frames = self.frames[-limit:]
        skipped = len(self.frames) - len(frames)
        lines = [f"... {skipped} earlier frames" for _ in range(1) if skipped]
        lines += [frame.render() for frame in frames]
        return "\n".join(lines) or "(no frames)"

    def __iter__(self) -> Iterator[Frame]:
        return iter(self.frames)


class ExpectationFailed(AssertionError):
    """A frame (or its absence) did not match what the contract or the scenario expects."""

    def __init__(self, title: str, received: str = "", documented: str = "") -> None:
        self.title = title
        self.received = received
        self.documented = documented
        lines = [title]
        if received:
            lines.append(f"Received: {received}")
        if documented:
            lines.append(f"Documented: {documented}")
        super().__init__("\n".join(lines))


class HandshakeRejected(ExpectationFailed):
    """The server refused the WebSocket upgrade (an HTTP status instead of 101)."""

    def __init__(
        self,
        url: str,
        status: int | None,
        body: bytes = b"",
        reason: str = "",
        answered: bool = True,
    ) -> None:
        self.status = status
        self.body = body
        self.answered = answered  # False: nothing answered (refused, unreachable, timed out)
        shown = body[:200].decode("utf-8", "replace").strip()
        what = f"HTTP {status}" if status is not None else reason
        super().__init__(
            f"handshake refused at {url}: {what}",
            received=f"{what} {shown}".strip(),
            documented="HTTP 101 Switching Protocols",
        )


class ConnectionEnded(ExpectationFailed):
    """The connection closed while the caller was waiting for a frame."""

    def __init__(self, waiting_for: str, code: int | None, reason: str) -> None:
        self.code = code
        self.reason = reason
        shown = (
            f"close {code} {reason}".strip()
            if code is not None
            else "the connection dropped without a close frame"
        )
        super().__init__(f"connection closed while waiting for {waiting_for}", received=shown)


@dataclass
class Message:
    """A received text frame: the parsed value (None if not JSON) and its raw text."""

    value: Any
    text: str
    received_at: float  # time.monotonic()
    type_field: str = "type"  # the contract's x-message-type-field

    @property
    def type(self) -> str | None:
        return self.value.get(self.type_field) if isinstance(self.value, dict) else None


class WsClient:
    """One recording WebSocket connection. Create it with ``await WsClient.open(...)``."""

    def __init__(
        self,
        connection: ClientConnection,
        url: str,
        transcript: Transcript,
        label: str,
        validator: FrameValidator | None,
        type_field: str,
    ) -> None:
        self._connection = connection
        self.url = url
        self.transcript = transcript
        self.label = label
        self.validator = validator
        self.type_field = type_field
        self.inbox: list[Message] = []
        self.violations: list[Violation] = []
        self.close_code: int | None = None
        self.close_reason: str = ""
        self.closed = False

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        transcript: Transcript | None = None,
        label: str = "client",
        origin: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 5.0,
        validator: FrameValidator | None = None,
        type_field: str = "type",
    ) -> WsClient:
        """Connect; raises HandshakeRejected if the server answers the upgrade with an HTTP status."""
        transcript = transcript if transcript is not None else Transcript()
        shown_url = _redact(url)
        transcript.record(
            label,
            "sent",
            "handshake",
            text=f"GET {shown_url}" + (f" Origin: {origin}" if origin else ""),
        )
        try:
            connection = await connect(
                url,
                origin=origin,  # type: ignore[arg-type]
                additional_headers=dict(headers or {}),
                open_timeout=timeout,
                proxy=None,  # loopback only: never route test traffic through a proxy
                compression=None,  # frames on the wire are exactly what the transcript shows
                ping_interval=None,
                max_size=None,
                close_timeout=2,
            )
        except InvalidStatus as exc:
            response = exc.response
            transcript.record(
                label, "received", "handshake", text=f"HTTP {response.status_code} (refused)"
            )
            raise HandshakeRejected(shown_url, response.status_code, response.body or b"") from None
        except (InvalidHandshake, OSError, TimeoutError) as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if exc.__cause__ is not None:  # e.g. the HTTP/1.0 status line websockets rejected
                reason += f" ({exc.__cause__})"
            transcript.record(label, "received", "handshake", text=f"failed: {reason}")
            answered = isinstance(exc, InvalidHandshake)
            raise HandshakeRejected(shown_url, None, reason=reason, answered=answered) from None
        transcript.record(label, "received", "handshake", text="HTTP 101 (accepted)")
        return cls(connection, url, transcript, label, validator, type_field)

    # -- sending ------------------------------------------------------------------------

    async def send_json(self, message: Any) -> None:
        await self.send_text(json.dumps(message))

    async def send_text(self, text: str) -> None:
        self.transcript.record(self.label, "sent", "text", text=text, size=len(text.encode()))
        await self._send(text)

    async def send_bytes(self, data: bytes) -> None:
        self.transcript.record(self.label, "sent", "binary", size=len(data))
        await self._send(data)

    async def _send(self, payload: str | bytes) -> None:
        try:
            await self._connection.send(payload)
        except ConnectionClosed as exc:
            self._record_close(exc)
            raise ConnectionEnded(
                "a send to complete", self.close_code, self.close_reason
            ) from None

    # -- receiving ----------------------------------------------------------------------

    async def receive(self, timeout: float) -> Message:
        """The next text frame from the inbox or the wire; TimeoutError if none in time."""
        if self.inbox:
            return self.inbox.pop(0)
        return await self._read(timeout, "a frame")

    async def _read(self, timeout: float, waiting_for: str) -> Message:
        if self.closed:
            raise ConnectionEnded(waiting_for, self.close_code, self.close_reason)
        try:
            async with asyncio.timeout(timeout):
                payload = await self._connection.recv()
        except ConnectionClosed as exc:
            self._record_close(exc)
            raise ConnectionEnded(waiting_for, self.close_code, self.close_reason) from None
        now = time.monotonic()
        if isinstance(payload, bytes):
            self.transcript.record(self.label, "received", "binary", size=len(payload))
            return Message(payload, "", now, self.type_field)
        value, violations = self._check(payload)
        self.transcript.record(
            self.label,
            "received",
            "text",
            text=payload,
            size=len(payload.encode()),
            violations=tuple(violations),
        )
        return Message(value, payload, now, self.type_field)

    def _check(self, text: str) -> tuple[Any, list[Violation]]:
        if self.validator is None:
            try:
                return json.loads(text), []
            except ValueError:
                return None, []
        value, violations = self.validator.validate_text(text)
        self.violations.extend(violations)
        return value, violations

    async def next_of_type(
        self,
        message_type: str,
        timeout: float,
        where: Callable[[Any], bool] | None = None,
    ) -> Message:
        """The next message of ``message_type`` (and matching ``where``), skipping others.

        Skipped messages stay in the inbox for later expectations.
        """

        def wanted(message: Message) -> bool:
            return message.type == message_type and (where is None or where(message.value))

        for index, message in enumerate(self.inbox):
            if wanted(message):
                return self.inbox.pop(index)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                message = await self._read(max(remaining, 0), f"a {message_type!r} message")
            except TimeoutError:
                seen = ", ".join(repr(m.type or m.text[:40]) for m in self.inbox) or "nothing"
                raise ExpectationFailed(
                    f"no {message_type!r} message within {timeout:.1f}s on {self.label}",
                    received=seen,
                    documented=f"a {message_type!r} message",
                ) from None
            if wanted(message):
                return message
            self.inbox.append(message)

    async def expect_silence(self, duration: float, message_type: str | None = None) -> None:
        """Fail if a message (of ``message_type``, if given) arrives within ``duration``."""
        unwanted = [m for m in self.inbox if message_type is None or m.type == message_type]
        deadline = time.monotonic() + duration
        while not unwanted:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                message = await self._read(remaining, "silence")
            except TimeoutError:
                return
            except ConnectionEnded:
                return  # a closed connection is silent; callers check closes separately
            if message_type is None or message.type == message_type:
                unwanted.append(message)
            else:
                self.inbox.append(message)
        what = message_type or "any message"
        raise ExpectationFailed(
            f"{self.label} received {what!r} but should not have",
            received=unwanted[0].text[:_PREVIEW],
            documented=f"no {what} within {duration:.1f}s",
        )

    async def expect_close(self, timeout: float) -> tuple[int | None, str]:
        """Wait for the server to close; returns (code, reason). Messages meanwhile go to the inbox."""
        deadline = time.monotonic() + timeout
        while not self.closed:
            remaining = deadline - time.monotonic()
            try:
                self.inbox.append(await self._read(max(remaining, 0), "a close frame"))
            except ConnectionEnded:
                break
            except TimeoutError:
                raise ExpectationFailed(
                    f"{self.label} still open after {timeout:.1f}s",
                    received="the connection stayed open",
                    documented="the server closes the connection",
                ) from None
        return self.close_code, self.close_reason

    async def round_trip(
        self, message: Mapping[str, Any], reply_type: str, timeout: float
    ) -> tuple[Message, float]:
        """Send ``message`` and wait for ``reply_type``; returns the reply and seconds taken."""
        started = time.perf_counter()
        await self.send_json(message)
        reply = await self.next_of_type(reply_type, timeout)
        return reply, time.perf_counter() - started

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self.closed:
            return
        self.transcript.record(self.label, "sent", "close", close_code=code, text=reason)
        try:
            await self._connection.close(code, reason)
        finally:
            self.closed = True
            if self.close_code is None:
                self.close_code = code

    def _record_close(self, exc: ConnectionClosed) -> None:
        if self.closed:
            return
        self.closed = True
        received = exc.rcvd
        self.close_code = received.code if received is not None else None
        self.close_reason = received.reason if received is not None else ""
        self.transcript.record(
            self.label, "received", "close", close_code=self.close_code, text=self.close_reason
        )


def _redact(url: str) -> str:
    """Hide query values (tokens, usually) in URLs shown in transcripts and CI reports."""
    head, _, query = url.partition("?")
    if not query:
        return url
    parts = [f"{p.partition('=')[0]}=***" if "=" in p else p for p in query.split("&")]
    return f"{head}?{'&'.join(parts)}"
