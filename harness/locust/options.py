"""The Locust command-line options of ws-harness, and their typed, validated form.

Declared through ``events.init_command_line_parser``; Locust sends the master's values to
its workers and lets the web UI edit them, so they are read back from
``environment.parsed_options`` when a test starts (``LoadOptions.from_parsed``), never at
import time. Options left unset fall back to the user classes' attributes.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field
from typing import Any

from harness.errors import ConfigError
from harness.locust.thresholds import Thresholds

ANONYMOUS = "anonymous"


def _names(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected configured user names separated by commas, or 'anonymous'"
        )
    return names


def _number(text: str) -> float | None:
    """``text`` as a finite number, or None (nan and inf are no limits anyone means)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _positive(text: str) -> float:
    value = _number(text)
    if value is None or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive number")
    return value


# Threshold values: checked when Locust parses the command line (and again when the web UI
# hands them over as strings), so a wrong one is one "error:" line before anything runs,
# never a gate that can only fail, or only pass, after the whole test.


def _milliseconds(text: str) -> float:
    value = _number(text)
    if value is None or value < 0:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected a latency in milliseconds >= 0, e.g. 50"
        )
    return value


def _rate(text: str) -> float:
    value = _number(text)
    if value is None or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a rate per second >= 0, e.g. 100")
    return value


def _ratio(text: str) -> float:
    value = _number(text)
    if value is None or not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected a ratio from 0 to 1, e.g. 0.01 for 1 % of requests"
        )
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number >= 0, e.g. 0")
    return value


def add_options(parser: Any) -> None:
    """Add the ws-harness options to Locust's parser."""
    add = parser.add_argument
    add(
        "--ws-config",
        default=None,
        metavar="PATH",
        help="ws-harness config (users, login, push trigger); default: the reference target's",
    )
    add("--ws-contract", default=None, metavar="PATH", help="AsyncAPI contract; default: bundled")
    add(
        "--ws-route",
        default=None,
        metavar="NAME",
        help="contract route to connect to (default: the user class's, else the first route the "
        "user may use by its x-auth: optional, then owner/required or anonymous)",
    )
    add(
        "--ws-user",
        default=None,
        metavar="NAMES",
        help="configured users to connect as, round robin, comma separated; 'anonymous' for none",
    )
    add(
        "--heartbeat-interval",
        default=None,
        type=_positive,
        metavar="SECONDS",
        help="seconds between heartbeats per connection (default: the user class's)",
    )
    add(
        "--push-rate",
        default=None,
        type=_positive,
        metavar="PER_SECOND",
        help="pushes triggered per second (push_fanout)",
    )
    add(
        "--push-type",
        default=None,
        metavar="TYPE",
        help="push message type (default: the contract's first push for the audience)",
    )
    add(
        "--push-audience",
        default=None,
        metavar="USER|global",
        help="configured user whose connections receive the pushes, or 'global' for everyone "
        "(default: the user class's, else the first configured user with a user id)",
    )
    add(
        "--hdr-json",
        default=None,
        metavar="PATH",
        help="also write the microsecond percentiles as JSON here (--csv writes PREFIX_hdr.json)",
    )
    add(
        "--ws-progress",
        default=None,
        type=_positive,
        metavar="SECONDS",
        help="print a progress line (users, conn/s, p50/p99, failures) every SECONDS "
        "(ws-harness load sets 2)",
    )
    add(
        "--max-p99-heartbeat-ms",
        default=None,
        type=_milliseconds,
        metavar="MS",
        help="fail (exit 1) when the p99 of heartbeat() (the contract's liveness request) exceeds this",
    )
    add(
        "--min-connect-rate",
        default=None,
        type=_rate,
        metavar="PER_SECOND",
        help="fail when fewer connections per second succeed",
    )
    add(
        "--max-fail-ratio",
        default=None,
        type=_ratio,
        metavar="RATIO",
        help="the share of requests that may fail (0.01 = 1 %%); without it any failed "
        "request fails the run (exit 1), whatever other thresholds say",
    )
    add(
        "--max-lost-pushes",
        default=None,
        type=_count,
        metavar="N",
        help="fail when more pushes than this never arrived",
    )


@dataclass(frozen=True)
class LoadOptions:
    """The parsed options; None means "not given": the user class decides."""

    config: str | None = None
    contract: str | None = None
    route: str | None = None
    users: tuple[str, ...] | None = None
    heartbeat_interval: float | None = None
    push_rate: float | None = None
    push_type: str | None = None
    push_audience: str | None = None
    hdr_json: str | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)

    @classmethod
    def from_parsed(cls, parsed: Any) -> LoadOptions:
        """From ``environment.parsed_options`` (None or missing attributes: all defaults).

        Values edited in the web UI arrive as strings, hence the conversions here; a wrong
        one raises ConfigError naming the option.
        """
        if parsed is None:
            return cls()

        def get(name: str, kind: Any = str) -> Any:
            value = getattr(parsed, name, None)
            if value is None or value == "":
                return None
            try:
                return kind(value if kind is str else str(value))
            except argparse.ArgumentTypeError as exc:
                raise ConfigError(f"--{name.replace('_', '-')} {exc}") from None

        return cls(
            config=get("ws_config"),
            contract=get("ws_contract"),
            route=get("ws_route"),
            users=get("ws_user", _names),
            heartbeat_interval=get("heartbeat_interval", _positive),
            push_rate=get("push_rate", _positive),
            push_type=get("push_type"),
            push_audience=get("push_audience"),
            hdr_json=get("hdr_json"),
            thresholds=Thresholds(
                max_p99_heartbeat_ms=get("max_p99_heartbeat_ms", _milliseconds),
                min_connect_rate=get("min_connect_rate", _rate),
                max_fail_ratio=get("max_fail_ratio", _ratio),
                max_lost_pushes=get("max_lost_pushes", _count),
            ),
        )
