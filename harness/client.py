"""The asyncio driver of the protocol core: the only place that speaks WebSocket over asyncio.

``WsClient`` wraps one connection (on the ``websockets`` library) and one
``ProtocolSession``: it moves frames between the socket and the session and records every
frame in a ``Transcript`` (direction, time, text, close code, contract violations), so any
failure can show exactly what crossed the wire. What a frame *means* (a confirmation, the
reply to a request, a push, an unexplained frame) is the session's judgement, never this
module's. Expectations raise ``ExpectationFailed`` (an AssertionError, so hand-written pytest
tests read naturally) carrying a title and "Received / Documented" lines.

Events that arrive while the caller waits for something else are kept in an inbox, not
dropped: waiting for a reply skips an unrelated push, and a later wait for that push still
finds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

from harness.contract.validation import Violation
from harness.protocol import (
    Confirmed,
    Event,
    ProtocolSession,
    ProtocolSpec,
    Reply,
    Request,
    Unexplained,
)

Direction = Literal["sent", "received"]
FrameKind = Literal["text", "binary", "close", "handshake", "note"]

_PREVIEW = 400  # characters of a frame shown in a transcript line
_ABSENT = object()


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
    unexplained: str = ""  # why no expectation accounts for this frame ("" when one did)

    def render(self) -> str:
        arrow = "--" if self.kind == "note" else ">>" if self.direction == "sent" else "<<"
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
        if self.unexplained:
            line += f"\n{'':>21}!! unexplained: {self.unexplained}"
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

    def mark_unexplained(self, frame: Frame, reason: str) -> None:
        """Flag a recorded frame that no expectation accounted for (shown with ``!!``)."""
        for index, recorded in enumerate(self.frames):
            if recorded is frame:
                self.frames[index] = replace(frame, unexplained=reason)
                return

    def note(self, connection: str, text: str) -> None:
        self.record(connection, "sent", "note", text=text)

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

    def __init__(
        self, title: str, received: str = "", documented: str = "", cause: str = ""
    ) -> None:
        self.title = title
        self.received = received
        self.documented = documented
        self.cause = cause  # the root cause failures share, when it is not title + received
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


Message = Event  # what the waits return: an event, with .type, .value and .text of its frame


class WsClient:
    """One recording WebSocket connection. Create it with ``await WsClient.open(...)``."""

    def __init__(
        self,
        connection: ClientConnection,
        url: str,
        transcript: Transcript,
        label: str,
        session: ProtocolSession,
        elsewhere: Callable[[Event], bool] | None = None,
    ) -> None:
        self._connection = connection
        # Frames that belong to another scenario running at the same time (its pushes, by
        # their trace): noted in the transcript, never judged here.
        self.elsewhere = elsewhere
        self.url = url
        self.transcript = transcript
        self.label = label
        self.session = session
        self.inbox: list[Event] = []  # events no wait has taken yet
        self.recorded: dict[int, Frame] = {}  # id(event) -> its transcript line
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
        subprotocols: Sequence[str] = (),
        timeout: float = 5.0,
        session: ProtocolSession | None = None,
        elsewhere: Callable[[Event], bool] | None = None,
    ) -> WsClient:
        """Connect; raises HandshakeRejected if the server answers the upgrade with an HTTP status.

        ``session`` judges the frames (default: one that knows only JSON, for plain
        WebSocket probing). When the protocol confirms after the client's hello, the hello
        is sent here, right after the handshake.
        """
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
                # offered subprotocols (a token in one, as some apps' auth reads it)
                subprotocols=[Subprotocol(p) for p in subprotocols] or None,
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
        session = session or ProtocolSession(ProtocolSpec())
        client = cls(connection, url, transcript, label, session, elsewhere)
        for event in client.session.opened():
            if event.hello is not None:  # type: ignore[attr-defined]
                # A server that refuses after accept (close 4001 before the hello arrives)
                # has closed by now: the close is recorded, the caller's next wait sees it.
                with contextlib.suppress(ConnectionEnded):
                    await client._send_recorded(event.hello)  # type: ignore[attr-defined]
        return client

    # -- sending ------------------------------------------------------------------------

    async def send_json(self, message: Any) -> Request:
        """Send a JSON message; the session registers it (a reply or an error may answer it)."""
        request = self.session.send(message)
        await self._send_recorded(request.text)
        return request

    async def request(self, message: Any) -> Request:
        return await self.send_json(message)

    async def send_text(self, text: str, message: Any = None) -> Request:
        """Send a raw text frame (not necessarily JSON; ``message``: what it encodes, if the
        caller built it from one); an error frame or the message's reply may answer it."""
        request = self.session.send(message, text=text)
        await self._send_recorded(text)
        return request

    async def send_bytes(self, data: bytes) -> None:
        self.transcript.record(self.label, "sent", "binary", size=len(data))
        await self._send(data)

    async def _send_recorded(self, text: str) -> None:
        self.transcript.record(self.label, "sent", "text", text=text, size=len(text.encode()))
        await self._send(text)

    async def _send(self, payload: str | bytes) -> None:
        try:
            await self._connection.send(payload)
        except ConnectionClosed as exc:
            self._record_close(exc)
            raise ConnectionEnded(
                "a send to complete", self.close_code, self.close_reason
            ) from None

    # -- receiving ----------------------------------------------------------------------

    async def receive(self, timeout: float) -> Event:
        """The next event from the inbox or the wire; TimeoutError if none in time."""
        if self.inbox:
            return self.inbox.pop(0)
        return await self._read(timeout, "a frame")

    async def _read(self, timeout: float, waiting_for: str) -> Event:
        """Read the next frame of this test and return the session's event for it (frames of
        another test are noted and skipped); a close raises ConnectionEnded."""
        deadline = time.monotonic() + timeout
        while True:
            event = await self._read_frame(max(deadline - time.monotonic(), 0), waiting_for)
            if event is not None:
                return event

    async def _read_frame(self, timeout: float, waiting_for: str) -> Event | None:
        """One frame's event, or None when it belongs elsewhere."""
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
            event = self.session.receive_binary(payload, now)[0]
            frame = self.transcript.record(self.label, "received", "binary", size=len(payload))
        else:
            event = self.session.receive_text(payload, now)[0]
            if self.elsewhere is not None and self.elsewhere(event):
                self.transcript.note(
                    self.label, f"another scenario's (or run's) {event.type!r}: not judged here"
                )
                return None
            violations = event.frame.violations if event.frame is not None else ()
            self.violations.extend(violations)
            frame = self.transcript.record(
                self.label,
                "received",
                "text",
                text=payload,
                size=len(payload.encode()),
                violations=violations,
            )
        self.recorded[id(event)] = frame
        return event

    async def drain(self, timeout: float) -> None:
        """Read what has already arrived into the inbox (up to ``timeout`` of quiet)."""
        while not self.closed:
            try:
                self.inbox.append(await self._read(timeout, "nothing"))
            except (TimeoutError, ConnectionEnded):
                return

    def unaccounted(self) -> list[Event]:
        """Events no expectation took: frames nobody asked for."""
        return list(self.inbox)

    def frame_of(self, event: Event) -> Frame | None:
        return self.recorded.get(id(event))

    async def next_event(
        self, wanted: Callable[[Event], bool], timeout: float, waiting_for: str
    ) -> Event:
        """The next event satisfying ``wanted``; the others stay in the inbox, in order.

        Raises ExpectationFailed naming what did arrive when nothing wanted comes in time.
        """
        for index, event in enumerate(self.inbox):
            if wanted(event):
                return self.inbox.pop(index)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                event = await self._read(max(remaining, 0), waiting_for)
            except TimeoutError:
                raise ExpectationFailed(
                    f"no {waiting_for} within {timeout:.1f}s on {self.label}",
                    received=self.describe_inbox(),
                    documented=waiting_for,
                ) from None
            if wanted(event):
                return event
            self.inbox.append(event)

    def describe_inbox(self) -> str:
        """What arrived and was not taken, for failure messages ("nothing" when empty)."""
        return ", ".join(repr(event.type or event.text[:40]) for event in self.inbox) or "nothing"

    async def next_of_type(
        self,
        message_type: str,
        timeout: float,
        where: Callable[[Any], bool] | None = None,
    ) -> Event:
        """The next frame of ``message_type`` (and matching ``where``), skipping others."""
        return await self.next_event(
            lambda event: event.type == message_type and (where is None or where(event.value)),
            timeout,
            f"{message_type!r} message",
        )

    async def confirmed(self, timeout: float) -> Confirmed | None:
        """Wait for the protocol's confirmation (None at once if the protocol has none)."""
        spec = self.session.spec
        if spec.confirmation is None:
            return None
        event = await self.next_event(
            lambda e: isinstance(e, Confirmed), timeout, f"a {spec.confirmation!r} confirmation"
        )
        assert isinstance(event, Confirmed)
        return event

    async def reply_to(self, request: Request, timeout: float) -> Reply:
        """Wait for the documented reply to ``request`` (correlated by the session).

        A frame of the reply's type that answers no request of this connection (a wrong
        correlation id) fails at once, with the session's reason.
        """

        def answers(event: Event) -> bool:
            if isinstance(event, Reply) and event.request is request:
                return True
            if isinstance(event, Unexplained) and event.type in request.replies:
                raise ExpectationFailed(
                    f"{event.type!r} on {self.label} does not answer the request sent",
                    received=f"{event.reason}: {event.text[:_PREVIEW]}",
                    documented=f"a {event.type!r} answering {request.text[:200]}",
                    cause=self._uncorrelated_cause(event),
                )
            return False

        replies = " or ".join(repr(r) for r in request.replies) or "a reply"
        event = await self.next_event(answers, timeout, f"{replies} to {request.type!r}")
        assert isinstance(event, Reply)
        return event

    def _uncorrelated_cause(self, event: Unexplained) -> str:
        """The root cause of a reply that answers no request, without the ids that differ
        from one scenario to the next (so one server bug is one cause in the summary)."""
        field_name = self.session.spec.correlation.get(event.type or "")
        kind = repr(event.type)
        if not field_name:
            return f"{kind} answering no request sent"
        value = event.value.get(field_name, _ABSENT) if isinstance(event.value, dict) else _ABSENT
        if value is _ABSENT:
            return f"{kind} without {field_name}"
        if value is None:
            return f"{kind} with {field_name} null"
        return f"{kind} with a {field_name} no request carries"

    async def alive(self, timeout: float) -> Reply:
        """The connection is open and served: the contract's liveness request gets its reply."""
        request = self.session.liveness()
        await self._send_recorded(request.text)
        return await self.reply_to(request, timeout)

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

    async def round_trip(self, message: Mapping[str, Any], timeout: float) -> tuple[Reply, float]:
        """Send ``message`` and wait for its documented reply; returns it and seconds taken."""
        started = time.perf_counter()
        reply = await self.reply_to(await self.send_json(message), timeout)
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
        self.session.receive_close(self.close_code, self.close_reason)


def _redact(url: str) -> str:
    """Hide query values (tokens, usually) in URLs shown in transcripts and CI reports."""
    head, _, query = url.partition("?")
    if not query:
        return url
    parts = [f"{p.partition('=')[0]}=***" if "=" in p else p for p in query.split("&")]
    return f"{head}?{'&'.join(parts)}"
