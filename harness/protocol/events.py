"""What a ``ProtocolSession`` makes of the frames it is given: typed events, no I/O.

Every received frame becomes exactly one event (a close or a lost connection too), so a
driver that keeps the events it did not consume knows every frame nobody asked for:

    Opened        the handshake completed (the session may now have a hello to send)
    Confirmed     the confirmation arrived; ``problem`` says if it names the wrong user
    Reply         the documented reply to a request this session sent
    ErrorFrame    the contract's error message (``request``: what it most likely answers)
    Push          a push type of the contract (``trace``: the harness's trace id, if any)
    Closed        the server closed (``code`` None: the connection dropped without a close)
    Unexplained   a frame the protocol does not account for, and why

The dataclasses have slots: a load generator builds three of them per request (measured:
construction and attribute reads about a fifth cheaper than with a ``__dict__``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.contract.validation import Violation


@dataclass(frozen=True, slots=True)
class Incoming:
    """One received frame: the parsed value (None: not JSON or binary) and its raw text."""

    value: Any
    text: str
    at: float  # time.monotonic() when it arrived
    type: str | None = None  # the value of the contract's type field
    binary: bool = False
    violations: tuple[Violation, ...] = ()


@dataclass(frozen=True, slots=True)
class Request:
    """A message this session sent and may expect an answer to."""

    message: Any  # the JSON value sent (None for a raw text frame)
    text: str
    sent_at: float
    type: str | None = None
    replies: tuple[str, ...] = ()  # the documented reply types; () when none
    correlation: Any = None  # the value of the correlation field, when the type has one

    @property
    def expects_reply(self) -> bool:
        return bool(self.replies)


@dataclass(frozen=True, slots=True)
class Event:
    """Base of the events; ``frame`` is the received frame behind it (None for Opened)."""

    frame: Incoming | None = field(default=None, kw_only=True)

    @property
    def type(self) -> str | None:
        return self.frame.type if self.frame is not None else None

    @property
    def value(self) -> Any:
        return self.frame.value if self.frame is not None else None

    @property
    def text(self) -> str:
        return self.frame.text if self.frame is not None else ""

    @property
    def received_at(self) -> float:
        return self.frame.at if self.frame is not None else 0.0


@dataclass(frozen=True, slots=True)
class Opened(Event):
    hello: str | None = None  # the hello frame queued for sending (confirmation after connect)


@dataclass(frozen=True, slots=True)
class Confirmed(Event):
    user_id: Any = None  # what the confirmation reports at the contract's user field
    problem: str | None = None  # set when it reports another user than the one connecting


@dataclass(frozen=True, slots=True)
class Reply(Event):
    request: Request
    latency: float = 0.0  # seconds from the request to this reply


@dataclass(frozen=True, slots=True)
class ErrorFrame(Event):
    code: Any = None  # the value of the contract's error code field (None: missing)
    request: Request | None = None


@dataclass(frozen=True, slots=True)
class Push(Event):
    trace: Any = None  # the trace id the harness put in the push (None: none found)


@dataclass(frozen=True, slots=True)
class Closed(Event):
    code: int | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Unexplained(Event):
    reason: str = ""


EVENT_KINDS: Mapping[type[Event], str] = {
    Opened: "opened",
    Confirmed: "confirmed",
    Reply: "reply",
    ErrorFrame: "error",
    Push: "push",
    Closed: "closed",
    Unexplained: "unexplained",
}
