"""One WebSocket connection's protocol, sans I/O: frames in, typed events out.

In the manner of ``websockets``' ``Protocol``: the session never touches a socket or a
clock it was not given. A driver (the asyncio client, the Locust connection, readiness,
the fuzzers, the doctor) moves bytes and time and asks the session what they mean::

    session = ProtocolSession(spec, user_id=2)
    events = session.opened(at)            # [Opened(hello=...)]: send the hello, if any
    request = session.request(message, at) # register it; send request.text
    events = session.receive_text(text, at)   # [Confirmed | Reply | ErrorFrame | Push | Unexplained]
    events = session.receive_close(code, reason)  # [Closed]

Every judgement lives here: which frame confirms the connection and whether it names the
right user, which request a reply answers (by correlation field, else in order), whether
an error frame answers a request, which push carries which trace, and which frames nobody
accounts for. ``validate`` (optional) adds contract violations to each frame.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from harness.contract.validation import Violation
from harness.protocol.events import (
    Closed,
    Confirmed,
    ErrorFrame,
    Event,
    Incoming,
    Opened,
    Push,
    Reply,
    Request,
    Unexplained,
)
from harness.protocol.matching import MISSING, field_at
from harness.protocol.spec import ProtocolSpec
from harness.templates import TemplateError, dotted, resolve

State = Literal["connecting", "open", "confirmed", "closed"]
Validate = Callable[[Any], Sequence[Violation]]
_MISSING = object()
_MAX_PENDING = 256


def fill(template: Any, user: Any = None, slots: Mapping[str, Any] | None = None) -> Any:
    """Resolve a contract template: ``${user.*}`` (null for anonymous), ``${now_ms}``,
    ``${uuid}`` and the role's slots (``${resource}``...)."""
    slots = slots or {}

    def look(expression: str) -> Any:
        if expression in slots:
            return slots[expression]
        if expression == "now_ms":
            return int(time.time() * 1000)
        if expression == "uuid":
            return uuid.uuid4().hex
        if expression.startswith("user."):
            return None if user is None else dotted({"user": user}, expression)
        raise TemplateError(f"${{{expression}}}: nothing named {expression!r} here")

    return resolve(template, look)


class ProtocolSession:
    """The protocol state of one connection. Create one per connection; not thread-safe.

    ``user_id`` is the id the confirmation must report (None: an anonymous connection);
    ``user`` is what ``${user.*}`` in the hello resolves against.
    """

    def __init__(
        self,
        spec: ProtocolSpec,
        *,
        user_id: Any = None,
        user: Any = None,
        validate: Validate | None = None,
        loads: Callable[[str], Any] = json.loads,
    ) -> None:
        self.spec = spec
        self.user_id = user_id
        self.user = user
        self.validate = validate
        self.loads = loads
        self.state: State = "connecting"
        self.pending: list[Request] = []
        self.confirmation: Incoming | None = None
        self.close_code: int | None = None

    # -- opening -------------------------------------------------------------------------

    @property
    def awaits_confirmation(self) -> bool:
        return self.spec.confirmation is not None and self.confirmation is None

    def hello(self) -> Any:
        """The hello message for this connection's user (None when the protocol has none)."""
        return None if self.spec.hello is None else fill(self.spec.hello, self.user)

    def opened(self, at: float | None = None) -> list[Event]:
        """The handshake completed. ``Opened.hello`` is a frame to send now, if any."""
        self.state = "open" if self.awaits_confirmation else "confirmed"
        hello = None
        if self.spec.confirm_after == "connect" and self.awaits_confirmation:
            hello = self.send(self.hello(), at).text
        return [Opened(hello=hello)]

    # -- sending -------------------------------------------------------------------------

    def send(self, message: Any, at: float | None = None, text: str | None = None) -> Request:
        """Register a JSON message (or, with ``message`` None, a raw ``text`` frame) as sent.

        Returns the ``Request``; its ``text`` is what to put on the wire.
        """
        text = json.dumps(message) if text is None else text
        spec = self.spec
        # dict first: an ABC isinstance check costs more than the rest of this line.
        mapping = message.__class__ is dict or isinstance(message, Mapping)
        message_type = message.get(spec.type_field) if mapping else None
        if not isinstance(message_type, str):
            message_type = None  # a list or an object where the type belongs: no known type
        replies = spec.replies.get(message_type, ()) if message_type is not None else ()
        correlation = None
        field_name = spec.correlation.get(message_type) if message_type else None
        if field_name and mapping:
            correlation = message.get(field_name)
        request = Request(
            message,
            text,
            time.monotonic() if at is None else at,
            message_type,
            replies,
            correlation,
        )
        self.pending.append(request)
        if len(self.pending) > _MAX_PENDING:  # requests nobody answers must not pile up
            self.pending.remove(
                next((r for r in self.pending if not r.expects_reply), self.pending[0])
            )
        return request

    def forget(self) -> None:
        """Drop every pending request: replies to them will be unexplained from now on."""
        self.pending.clear()

    def liveness(self, at: float | None = None) -> Request:
        """Register the contract's liveness request; raises LookupError if it declares none."""
        if self.spec.liveness is None:
            raise LookupError("the contract declares no liveness request (x-roles.liveness)")
        return self.send(fill(self.spec.liveness, self.user), at)

    # -- receiving -----------------------------------------------------------------------

    def receive_text(self, text: str, at: float | None = None) -> list[Event]:
        """A text frame arrived: parse it and say what it is."""
        try:
            value = self.loads(text)
        except (ValueError, RecursionError):
            value = _MISSING
        return self.receive_value(value, text, at)

    def receive_value(self, value: Any, text: str, at: float | None = None) -> list[Event]:
        """A text frame arrived already parsed (``value``); the fast path for load drivers."""
        at = time.monotonic() if at is None else at
        if value is _MISSING:
            violations = (Violation("", "$", "not JSON"),) if self.validate else ()
            frame = Incoming(None, text, at, violations=violations)
            return [Unexplained(reason="a text frame that is not JSON", frame=frame)]
        message_type = value.get(self.spec.type_field) if isinstance(value, dict) else None
        violations = tuple(self.validate(value)) if self.validate else ()
        frame = Incoming(
            value,
            text,
            at,
            message_type if isinstance(message_type, str) else None,
            False,
            violations,
        )
        return [self._classify(frame)]

    def receive_binary(self, data: bytes, at: float | None = None) -> list[Event]:
        frame = Incoming(None, "", time.monotonic() if at is None else at, binary=True)
        return [Unexplained(reason=f"a binary frame of {len(data)} bytes", frame=frame)]

    def receive_close(
        self, code: int | None, reason: str = "", at: float | None = None
    ) -> list[Event]:
        """The server closed (``code`` None: the connection dropped without a close frame)."""
        self.state = "closed"
        self.close_code = code
        return [Closed(code=code, reason=reason)]

    # -- judgement -----------------------------------------------------------------------

    def _classify(self, frame: Incoming) -> Event:
        spec = self.spec
        kind = frame.type
        if kind is None:
            shown = (
                "not a JSON object"
                if not isinstance(frame.value, dict)
                else f"no {spec.type_field!r} field"
            )
            return Unexplained(reason=f"a frame with {shown}", frame=frame)
        if kind == spec.confirmation:
            return self._confirmed(frame)
        if kind == spec.error_message:
            code = frame.value.get(spec.error_code_field) if spec.error_code_field else None
            return ErrorFrame(code=code, request=self._answered_by_error(), frame=frame)
        if kind in spec.pushes:
            trace = field_at(frame.value, spec.trace_path) if spec.trace_path else None
            return Push(trace=None if trace is MISSING else trace, frame=frame)
        waiting = [r for r in self.pending if kind in r.replies]
        if not waiting:
            known = "documented" if kind in spec.server_messages else "not documented"
            return Unexplained(
                reason=f"a {kind!r} frame ({known}) that answers no request of this connection",
                frame=frame,
            )
        field_name = spec.correlation.get(kind)
        if field_name is not None:
            got = frame.value.get(field_name, _MISSING)
            matching = [r for r in waiting if r.correlation is not None and r.correlation == got]
            if not matching:
                expected = ", ".join(repr(r.correlation) for r in waiting)
                shown = "nothing" if got is _MISSING else repr(got)
                return Unexplained(
                    reason=f"a {kind!r} frame with {field_name} {shown}; the pending "
                    f"request(s) carry {expected}",
                    frame=frame,
                )
            waiting = matching
        request = waiting[0]
        self.pending.remove(request)
        return Reply(request, frame.at - request.sent_at, frame=frame)

    def _confirmed(self, frame: Incoming) -> Event:
        if self.confirmation is not None:
            return Unexplained(reason="a second confirmation on one connection", frame=frame)
        self.confirmation = frame
        self.state = "confirmed"
        self.pending = [r for r in self.pending if r.expects_reply]  # the hello is answered
        if self.spec.user_field is None:
            return Confirmed(frame=frame)
        reported = field_at(frame.value, self.spec.user_field)
        reported = None if reported is MISSING else reported
        problem = None
        if self.user_id is None:
            if reported not in self.spec.anonymous_values or isinstance(reported, bool):
                problem = (
                    f"{self.spec.user_field} is {reported!r} for an anonymous connection; "
                    f"documented: one of {list(self.spec.anonymous_values)!r}"
                )
        elif str(reported) != str(self.user_id) or isinstance(reported, bool):
            problem = f"{self.spec.user_field} is {reported!r}; documented: {self.user_id!r}"
        return Confirmed(user_id=reported, problem=problem, frame=frame)

    def _answered_by_error(self) -> Request | None:
        """An error answers the oldest request still waiting (a raw or reply-less one first)."""
        if not self.pending:
            return None
        request = next((r for r in self.pending if not r.expects_reply), self.pending[0])
        self.pending.remove(request)
        return request
