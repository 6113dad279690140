"""Lost-push accounting, free of I/O: which pushes each connection should have received.

A push is *expected* at a connection when its audience is one the connection belongs to
(``global``, ``user:<id>``) and it was triggered while the connection was confirmed and open,
at least ``timeout`` seconds before the connection closed (later pushes may still be in
flight at the close: they are not counted either way). Lost = expected minus received.

Trigger and receivers may run in different worker processes, so the ledger is just records
(sends, closed connections) that workers ship to the master with their reports; the master
evaluates once, at the end. Times are epoch seconds (``time.time()``): every process runs on
the same machine (loopback only), so their clocks agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

GLOBAL = "global"


def user_audience(identity: Any) -> str:
    """The audience of one user's connections (``identity``: the user's id)."""
    return f"user:{identity}"


@dataclass(frozen=True)
class Trace:
    """What the trigger writes into the push's trace field (``push.trace_field``).

    One value carries the push's id, when it was triggered (epoch seconds) and its audience,
    so a receiver in any worker process can time it and tell a misdelivered push, and a
    server that keeps only that one added field still lets the harness do both.
    """

    id: str
    sent_at: float
    audience: str

    def encode(self) -> str:
        return f"{self.id}~{self.sent_at:.6f}~{self.audience}"

    @classmethod
    def decode(cls, value: Any) -> Trace | None:
        """The trace in a received push's trace field; None when it is not one of ours."""
        if not isinstance(value, str):
            return None
        parts = value.split("~")
        if len(parts) != 3:
            return None
        try:
            sent_at = float(parts[1])
        except ValueError:
            return None
        return cls(parts[0], sent_at, parts[2])


@dataclass(eq=False)  # identity: thousands live in a set, and equal-looking ones are distinct
class ConnectionRecord:
    """What one receiving connection saw, from confirmation to close."""

    audiences: frozenset[str]
    opened_at: float
    closed_at: float | None = None
    received: set[str] = field(default_factory=set)

    def to_wire(self) -> list[Any]:
        return [sorted(self.audiences), self.opened_at, self.closed_at, sorted(self.received)]

    @classmethod
    def from_wire(cls, item: list[Any]) -> ConnectionRecord:
        audiences, opened_at, closed_at, received = item
        return cls(frozenset(audiences), opened_at, closed_at, set(received))


@dataclass(frozen=True)
class Send:
    trace: str
    at: float
    audience: str


class PushLedger:
    """Sends and connections of one process (or, on the master, of all workers)."""

    def __init__(self) -> None:
        self.sends: dict[str, Send] = {}
        self._open: set[ConnectionRecord] = set()
        self._closed: list[ConnectionRecord] = []
        self._unreported_sends: list[Send] = []

    # ------------------------------------------------------------ recording
    def sent(self, trace: str, at: float, audience: str) -> None:
        send = Send(trace, at, audience)
        self.sends[trace] = send
        self._unreported_sends.append(send)

    def opened(self, audiences: Iterable[str], at: float) -> ConnectionRecord:
        record = ConnectionRecord(frozenset(audiences), at)
        self._open.add(record)
        return record

    def closed(self, record: ConnectionRecord, at: float) -> None:
        if record.closed_at is None:
            record.closed_at = at
            self._open.discard(record)
            self._closed.append(record)

    # ------------------------------------------------------------ evaluation
    def lost(self, timeout: float, now: float) -> tuple[int, int]:
        """``(lost, expected)`` over every known connection (open ones end at ``now``)."""
        lost = expected_total = 0
        for record in [*self._closed, *self._open]:
            end = (record.closed_at if record.closed_at is not None else now) - timeout
            expected = {
                s.trace
                for s in self.sends.values()
                if s.audience in record.audiences and record.opened_at <= s.at <= end
            }
            expected_total += len(expected)
            lost += len(expected - record.received)
        return lost, expected_total

    # ------------------------------------------------------------ distributed mode
    def take_report(self) -> dict[str, Any]:
        """New sends and closed connections since the last call (worker side)."""
        report = {
            "sends": [[s.trace, s.at, s.audience] for s in self._unreported_sends],
            "connections": [r.to_wire() for r in self._closed],
        }
        self._unreported_sends = []
        self._closed = []
        return report

    def merge_report(self, report: Mapping[str, Any]) -> None:
        """Add a worker's ``take_report`` output (master side)."""
        for trace, at, audience in report.get("sends", ()):
            self.sends[trace] = Send(trace, at, audience)
        self._closed.extend(ConnectionRecord.from_wire(c) for c in report.get("connections", ()))
