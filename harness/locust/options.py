"""The Locust command-line options of ws-harness, and their typed, validated form.

Declared through ``events.init_command_line_parser``; Locust sends the master's values to
its workers and lets the web UI edit them, so they are read back from
``environment.parsed_options`` when a test starts (``LoadOptions.from_parsed``), never at
import time. Options left unset fall back to the user classes' attributes.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

from harness.locust.thresholds import Thresholds

ANONYMOUS = "anonymous"


def _names(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected configured user names separated by commas, or 'anonymous'"
        )
    return names


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive number")
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
        "--max-p99-heartbeat-ms",
        default=None,
        type=float,
        metavar="MS",
        help="fail (exit 1) when the p99 of heartbeat() (the contract's liveness request) exceeds this",
    )
    add(
        "--min-connect-rate",
        default=None,
        type=float,
        metavar="PER_SECOND",
        help="fail when fewer connections per second succeed",
    )
    add(
        "--max-fail-ratio",
        default=None,
        type=float,
        metavar="RATIO",
        help="fail when the share of failed requests exceeds this (0.01 = 1 %%)",
    )
    add(
        "--max-lost-pushes",
        default=None,
        type=int,
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

        Values edited in the web UI arrive as strings, hence the conversions here.
        """
        if parsed is None:
            return cls()

        def get(name: str, kind: Any = str) -> Any:
            value = getattr(parsed, name, None)
            if value is None or value == "":
                return None
            return kind(value)

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
                max_p99_heartbeat_ms=get("max_p99_heartbeat_ms", float),
                min_connect_rate=get("min_connect_rate", float),
                max_fail_ratio=get("max_fail_ratio", float),
                max_lost_pushes=get("max_lost_pushes", int),
            ),
        )
