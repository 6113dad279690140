"""Checks of one observed exchange against the contract: pure functions returning findings.

The driver sends a ``Payload`` and records an ``Exchange`` (the protocol session's events for
the frames that answered it, and how the connection ended); ``evaluate`` runs every check in
``CHECKS`` and returns a ``Verdict``. Which reply answers the payload, what an error frame's
code is and which frames break their schema are the session's judgements; the checks only
compare them with the payload's ``Expectation``. Checks never do I/O, so they are
unit-testable with frames fed through a ``ProtocolSession``.

Known differences between a server and its contract can be declared as ``Deviation``s (a data
file, see ``load_deviations``): they are tolerated only in answers to *invalid* input, and are
still reported (as warnings), never silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.contract import Contract, Violation
from harness.errors import ConfigError
from harness.fuzz.payloads import Payload
from harness.protocol import ErrorFrame, Event, Reply, Unexplained
from harness.yamlfile import load_yaml


@dataclass(frozen=True)
class Exchange:
    """What happened after one payload was sent.

    ``answer`` holds the protocol session's events for the frames that answered it (pushes
    and the liveness probe's reply left out): ``Reply`` (correlated by the session),
    ``ErrorFrame``, or ``Unexplained`` (with the session's reason, a binary frame too).
    """

    answer: Sequence[Event]
    closed: bool
    close_code: int | None  # None with closed=True: dropped without a close frame
    probe_answered: bool | None = None  # the liveness probe after the payload; None: not sent
    send_failed: str = ""


@dataclass(frozen=True)
class Finding:
    """One way the server broke the contract, in "Received / Documented" form."""

    title: str
    received: str
    documented: str

    def render(self) -> str:
        return f"{self.title}\n  Received:   {self.received}\n  Documented: {self.documented}"


@dataclass(frozen=True)
class Deviation:
    """A known, accepted difference between the server and the contract."""

    message: str  # the frame type it concerns
    path: str  # the JSON path of the violation, e.g. "$.error_code"
    values: tuple[Any, ...] = ()  # the tolerated values at that path; () = any
    why: str = ""

    def covers(self, violation: Violation, frame: Any) -> bool:
        if violation.message != self.message or violation.path != self.path:
            return False
        return not self.values or _at_path(frame, self.path) in self.values


@dataclass
class Verdict:
    findings: list[Finding] = field(default_factory=list)
    tolerated: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


@dataclass(frozen=True)
class CheckContext:
    contract: Contract
    deviations: tuple[Deviation, ...] = ()


Check = Callable[[Payload, Exchange, CheckContext, Verdict], None]


def _binary(event: Event) -> bool:
    return event.frame is not None and event.frame.binary


def _shown(events: Iterable[Event]) -> str:
    parts = [("BINARY" if _binary(e) else e.text[:200]) for e in events]
    return " | ".join(parts) or "nothing"


def _closed(exchange: Exchange) -> str:
    if not exchange.closed:
        return "connection open"
    if exchange.close_code is None:
        return "connection dropped without a close frame"
    return f"close {exchange.close_code}"


def no_internal_error(
    payload: Payload, exchange: Exchange, ctx: CheckContext, verdict: Verdict
) -> None:
    """The server never closes with 1011 (it crashed on our input)."""
    code = ctx.contract.close_codes.get("internal_error", 1011)
    if exchange.close_code == code:
        verdict.findings.append(
            Finding(
                "server closed with internal error",
                f"close {code} after {_shown(exchange.answer)}",
                payload.expect.describe(),
            )
        )


def no_silent_drop(
    payload: Payload, exchange: Exchange, ctx: CheckContext, verdict: Verdict
) -> None:
    """A connection may be closed, but with a close frame: a TCP drop hides the reason."""
    if exchange.closed and exchange.close_code is None:
        verdict.findings.append(
            Finding(
                "connection dropped without a close frame",
                _shown(exchange.answer),
                payload.expect.describe(),
            )
        )


def frames_follow_contract(
    payload: Payload, exchange: Exchange, ctx: CheckContext, verdict: Verdict
) -> None:
    """Every received frame validates against its schema (declared deviations aside); the
    violations are the ones the protocol session found when the frame arrived."""
    for event in exchange.answer:
        if _binary(event):
            verdict.findings.append(
                Finding("server sent a binary frame", "BINARY", "JSON text frames")
            )
            continue
        for violation in event.frame.violations if event.frame is not None else ():
            deviation = next((d for d in ctx.deviations if d.covers(violation, event.value)), None)
            if deviation is not None and not payload.is_valid:
                verdict.tolerated.append(f"{violation} (declared deviation: {deviation.why})")
                continue
            verdict.findings.append(
                Finding(
                    f"frame breaks the contract: {violation}",
                    event.text[:300],
                    "a frame valid against its schema",
                )
            )


def answer_matches(
    payload: Payload, exchange: Exchange, ctx: CheckContext, verdict: Verdict
) -> None:
    """The answer is what the payload's expectation demands (reply, error, or close)."""
    expect = payload.expect
    documented = expect.describe()
    if expect.kind == "close":
        if not exchange.closed or exchange.close_code not in expect.close_codes:
            verdict.findings.append(
                Finding(
                    f"frame not refused with close {'/'.join(map(str, expect.close_codes))}",
                    f"{_shown(exchange.answer)}; {_closed(exchange)}",
                    documented,
                )
            )
        return
    received = f"{_shown(exchange.answer)}; {_closed(exchange)}"
    if exchange.closed:
        verdict.findings.append(
            Finding("connection closed instead of answering", received, documented)
        )
        return
    if exchange.probe_answered is False:
        verdict.findings.append(
            Finding("no answer to the liveness probe sent after the payload", received, documented)
        )
        return
    errors = [e for e in exchange.answer if isinstance(e, ErrorFrame)]
    replies = [e for e in exchange.answer if isinstance(e, Reply)]
    # A frame of a documented reply type that the session could not tie to the payload
    # (a wrong or missing correlation id): its reason says why.
    stray = [
        e
        for e in exchange.answer
        if isinstance(e, Unexplained) and e.type is not None and e.type in expect.reply_types
    ]
    if stray and expect.kind == "reply" and len(exchange.answer) == 1:
        verdict.findings.append(
            Finding("reply does not answer the request", stray[0].reason, documented)
        )
        return
    if expect.kind == "reply_or_error":
        # Invalid input may lack the correlation id the session correlates by; a reply of the
        # documented type is then still the documented answer.
        replies += stray
    known = [*errors, *replies]
    others = [e for e in exchange.answer if not any(e is k for k in known)]
    if others or len(exchange.answer) > 1:
        reasons = "; ".join(e.reason for e in others if isinstance(e, Unexplained))
        verdict.findings.append(
            Finding(
                "unexpected frames in answer to one message",
                received + (f" ({reasons})" if reasons else ""),
                documented,
            )
        )
        return
    if expect.kind == "reply":
        if errors or (expect.reply_types and not replies):
            verdict.findings.append(
                Finding("valid message did not get its documented reply", received, documented)
            )
    elif expect.kind == "error":
        if not errors or (expect.error_codes and errors[0].code not in expect.error_codes):
            verdict.findings.append(
                Finding("invalid message did not get the documented error", received, documented)
            )
    elif not errors and not replies and not expect.silence_ok:
        verdict.findings.append(
            Finding("invalid message got neither a reply nor an error", received, documented)
        )


CHECKS: tuple[Check, ...] = (
    no_internal_error,
    no_silent_drop,
    frames_follow_contract,
    answer_matches,
)


def evaluate(
    payload: Payload, exchange: Exchange, ctx: CheckContext, checks: Iterable[Check] = CHECKS
) -> Verdict:
    verdict = Verdict()
    for check in checks:
        check(payload, exchange, ctx, verdict)
    return verdict


def load_deviations(path: str | Path | None) -> tuple[Deviation, ...]:
    """Deviations from a YAML list of ``{message, path, values?, why}``; none without a file."""
    if path is None or not Path(path).exists():
        return ()
    raw = load_yaml(Path(path), ConfigError) or []
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: expected a list of deviations ({{message, path, values, why}})")
    deviations = []
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping) or not {"message", "path", "why"} <= item.keys():
            raise ConfigError(f"{path}: deviation #{index + 1} needs message, path and why")
        deviations.append(
            Deviation(
                str(item["message"]),
                str(item["path"]),
                tuple(item.get("values") or ()),
                str(item["why"]),
            )
        )
    return tuple(deviations)


def _at_path(value: Any, path: str) -> Any:
    """The value at a simple JSON path (``$.a.b``), or None."""
    node = value
    for part in path.lstrip("$").strip(".").split("."):
        if not part:
            continue
        node = node.get(part) if isinstance(node, dict) else None
    return node
