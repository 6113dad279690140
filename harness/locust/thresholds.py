"""CI gates: compare a run's figures with the ``--max-*`` / ``--min-*`` options (pure).

A threshold that was set but whose figure was never measured fails too (a gate on heartbeat
p99 must not pass a run in which no heartbeat was answered). Failed requests fail a run
unless ``--max-fail-ratio`` allows them: a latency or rate gate that is met says nothing
about the requests that failed (``unallowed_failures``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Thresholds:
    max_p99_heartbeat_ms: float | None = None
    min_connect_rate: float | None = None
    max_fail_ratio: float | None = None
    max_lost_pushes: int | None = None


@dataclass(frozen=True)
class Measured:
    p99_heartbeat_ms: float | None
    connect_rate: float | None
    fail_ratio: float
    lost_pushes: int | None
    requests: int = 0  # Locust's total request count, failures included
    failures: int = 0


@dataclass(frozen=True)
class Verdict:
    """One gate's outcome, for the JSON and HTML reports (``evaluate`` words the failures)."""

    option: str
    limit: float
    measured: float | None  # None: never measured, which fails the gate
    unit: str
    passed: bool

    def message(self) -> str:
        if self.measured is None:
            return f"threshold {self.option} {self.limit:g} failed: not measured (no samples)"
        unit = f" {self.unit}" if self.unit else ""
        return f"threshold {self.option} {self.limit:g} failed: measured {self.measured:.4g}{unit}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def verdicts(limits: Thresholds, measured: Measured) -> list[Verdict]:
    """One verdict per threshold that was set, in the order of the options."""
    gates: list[tuple[str, float | None, float | None, Callable[[float, float], bool], str]] = [
        (
            "--max-p99-heartbeat-ms",
            limits.max_p99_heartbeat_ms,
            measured.p99_heartbeat_ms,
            operator.le,
            "ms",
        ),
        (
            "--min-connect-rate",
            limits.min_connect_rate,
            measured.connect_rate,
            operator.ge,
            "connections/s",
        ),
        ("--max-fail-ratio", limits.max_fail_ratio, measured.fail_ratio, operator.le, ""),
        (
            "--max-lost-pushes",
            limits.max_lost_pushes,
            measured.lost_pushes,
            operator.le,
            "lost pushes",
        ),
    ]
    return [
        Verdict(option, limit, value, unit, value is not None and within(value, limit))
        for option, limit, value, within, unit in gates
        if limit is not None
    ]


def evaluate(limits: Thresholds, measured: Measured) -> list[str]:
    """One message per failed threshold, naming the option, the limit and the measured value."""
    return [verdict.message() for verdict in verdicts(limits, measured) if not verdict.passed]


def unallowed_failures(limits: Thresholds, measured: Measured) -> str | None:
    """The message failing a run whose requests failed when no ``--max-fail-ratio`` allows
    any (None: nothing failed, or the ratio decides, in ``evaluate``)."""
    if limits.max_fail_ratio is not None or measured.failures <= 0:
        return None
    return (
        f"{measured.failures} of {measured.requests} requests failed (fail ratio "
        f"{measured.fail_ratio:.4g}) and no --max-fail-ratio allows any: fix the failures, "
        "or pass --max-fail-ratio RATIO (e.g. 0.01) to tolerate some"
    )
