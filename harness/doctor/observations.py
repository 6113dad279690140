"""What the doctor saw (observations) and what it concluded (findings), as plain data.

The probes fill these in, the rules read them, the renderers print them. Keeping them as
frozen dataclasses with no behaviour beyond small derived properties is what lets every
rule be unit-tested with a hand-made ``Observations`` and no server at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

# refused: nothing listens; timeout: no answer in time; invalid_http: an answer that is not an
# HTTP/1.1 response (an HTTP/1.0-only server such as `python -m http.server`, or not HTTP);
# unresolved: the host name does not resolve
ErrorKind = Literal["", "refused", "timeout", "invalid_http", "unresolved", "other"]
Severity = Literal["error", "warning", "info"]
ServerKind = Literal["asgi", "http_only", "proxy", "unknown"]

ACCEPTED = 101


@dataclass(frozen=True)
class ListenerInfo:
    """One process listening on the port, and what its command line says it is."""

    pid: int | None
    address: str
    cmdline: str = ""
    username: str = ""
    ppid: int | None = None
    kind: ServerKind = "unknown"
    server: str = ""  # e.g. "Daphne", "Django runserver"; "" when the command line is unknown

    def describe(self) -> str:
        who = f"pid {self.pid}" if self.pid is not None else "a process we may not see"
        what = f" {self.cmdline}" if self.cmdline else ""
        user = f" (user {self.username})" if self.username else ""
        return f"{who}{user} on {self.address}:{what}"


@dataclass(frozen=True)
class HttpProbe:
    """A plain HTTP GET on the same host and port."""

    url: str
    status: int | None  # None: no HTTP answer at all
    server_header: str = ""
    body: str = ""  # the first bytes, for the report
    error: str = ""
    error_kind: ErrorKind = ""

    @property
    def answered(self) -> bool:
        return self.status is not None


@dataclass(frozen=True)
class HandshakeProbe:
    """One WebSocket handshake and, if accepted, its first frame and a liveness round trip."""

    path: str
    url: str  # as shown to people: query values (tokens) redacted
    expected: bool = True  # the contract declares this exact path, so it must work
    variant: str = "declared"  # declared | slashless | with slash | unknown path | origin probe
    origin: str | None = None
    status: int | None = None  # 101 when accepted, the HTTP status when refused, None: no answer
    body: str = ""  # first bytes of the refusal's body
    error: str = ""  # why there was no HTTP answer (connection refused, timeout, ...)
    error_kind: ErrorKind = ""
    first_frame: str | None = None  # the first frame's type ("(not JSON)" / "(binary)"); None: none
    first_frame_text: str = ""  # its first bytes
    confirmed_user: str | None = None  # the user id the confirmation names (None: anonymous)
    close_code: int | None = None  # the server closed right after accepting
    close_reason: str = ""
    heartbeat_ms: float | None = None  # round trip, when the reply came
    heartbeat_error: str = ""  # why there was no reply ("" when not attempted or fine)

    @property
    def accepted(self) -> bool:
        return self.status == ACCEPTED

    @property
    def http_refused(self) -> bool:
        """The server answered the upgrade with a plain HTTP status instead of 101."""
        return self.status is not None and self.status != ACCEPTED

    @property
    def no_answer(self) -> bool:
        return self.status is None

    @property
    def closed_after_accept(self) -> bool:
        return self.accepted and self.close_code is not None


@dataclass(frozen=True)
class RouteProbe:
    """Every handshake made for one route: its declared paths and the other slash variant."""

    name: str
    address: str  # as declared, e.g. "ws/permissions/{user_id}/"
    auth: str = "optional"  # optional | owner | anonymous | required (the contract's words)
    parameters: Mapping[str, str] = field(default_factory=dict)  # values used in the path
    parameter_source: str = ""  # "token" (the user id the server confirmed) | "placeholder"
    token_sent: bool = False
    handshakes: tuple[HandshakeProbe, ...] = ()

    @property
    def declared(self) -> tuple[HandshakeProbe, ...]:
        return tuple(h for h in self.handshakes if h.expected)

    @property
    def extra(self) -> tuple[HandshakeProbe, ...]:
        return tuple(h for h in self.handshakes if not h.expected)


@dataclass(frozen=True)
class LoggedException:
    """One exception the server logged (a Python traceback), counted over the log."""

    kind: str  # e.g. "AttributeError"
    message: str = ""
    where: str = (
        ""  # the innermost frame outside installed packages: "chat/consumers.py:173 in join"
    )
    code: str = ""  # that frame's source line
    context: str = ""  # the log line before the traceback ("Exception inside application: ...")
    count: int = 1

    @property
    def summary(self) -> str:
        return f"{self.kind}: {self.message}" if self.message else self.kind


@dataclass(frozen=True)
class ServerLog:
    """What the server wrote while the doctor probed it (``--log FILE`` or ``--command``)."""

    source: str  # "--log server.log" | "--command 'daphne ...'"
    exceptions: tuple[LoggedException, ...] = ()
    tail: str = ""  # its last lines, for the report when no exception explains anything
    exit_status: str = ""  # "exit code 1" when the started command ended before the probes
    before_run: bool = False  # the exceptions come from what was written before this run


@dataclass(frozen=True)
class Observations:
    """Everything one doctor run collected; the only input of the rules."""

    url: str  # the base URL checked, e.g. ws://localhost:8000
    host: str
    port: int
    timeout: float = 5.0
    listeners: tuple[ListenerInfo, ...] | None = None  # None: could not check (remote host, ...)
    listeners_note: str = ""  # why listeners is None
    http: HttpProbe | None = None
    unknown_path: HandshakeProbe | None = None  # a path no server declares, for comparison
    routes: tuple[RouteProbe, ...] = ()
    origins: tuple[HandshakeProbe, ...] = ()  # the same route with a foreign / same-host Origin
    close_codes: Mapping[str, int] = field(default_factory=dict)  # the contract's names
    heartbeat: str | None = None  # the liveness request's type (None: none sent)
    heartbeat_reply: str | None = None  # its documented reply's type
    token_given: bool = False
    # The contract's confirmation (None: no contract, or it declares none) and when the
    # server sends it: on accept, or after the client's hello.
    confirmation: str | None = None
    confirm_after: str = "accept"
    contract: str | None = None  # the contract judged against; None: plain WebSocket checks
    server_log: ServerLog | None = None  # None: neither --log nor --command given

    def close_name(self, code: int | None) -> str:
        """``4001 (not_authenticated)``: a close code with the contract's name for it."""
        if code is None:
            return "no close frame"
        names = [name for name, value in self.close_codes.items() if value == code]
        return f"{code} ({names[0]})" if names else str(code)

    def logged_causes(self) -> list[LoggedException]:
        """The server log's exceptions, most frequent first, without those the doctor's own
        probes of paths that must fail caused (an unknown path's "No route found ...")."""
        if self.server_log is None:
            return []
        probed = [h.path for h in self.all_handshakes() if not h.expected]
        quoted = [f"'{path}'" for path in probed] + [f"'{path.lstrip('/')}'" for path in probed]
        causes = [e for e in self.server_log.exceptions if not any(q in e.message for q in quoted)]
        return sorted(causes, key=lambda e: -e.count)

    def all_handshakes(self) -> list[HandshakeProbe]:
        found = [h for route in self.routes for h in route.handshakes]
        found += list(self.origins)
        if self.unknown_path is not None:
            found.append(self.unknown_path)
        return found


@dataclass(frozen=True)
class Finding:
    """One conclusion: what is wrong (or fine), why, and what to do about it."""

    rule: str  # the name of the rule that found it
    severity: Severity
    title: str  # one line
    detail: str = ""  # plain words: the evidence and what it means
    fix: str = ""  # what to do next
    route: str | None = None


@dataclass(frozen=True)
class RouteVerdict:
    """Whether a route is healthy, and the one-line reason."""

    route: str
    healthy: bool
    summary: str
