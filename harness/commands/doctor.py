"""``ws-harness doctor [URL]``: say why a WebSocket endpoint fails, in plain words.

Probes who listens on the port, a plain HTTP GET, every contract route (with and without
its trailing slash, first frame, heartbeat) and the Origin policy, then prints a diagnosis.
Exit code 0 only when every route is healthy. The work lives in ``harness.doctor``; this
module only maps options to a ``Plan`` and the report to an exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

DEFAULT_URL = "ws://localhost:8000"


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "doctor",
        help="say why a WebSocket endpoint fails (listeners, routes, origin, auth)",
        description="Say why a WebSocket endpoint fails: who listens on the port, each route's "
        "handshake, first frame and heartbeat, the Origin policy, then a diagnosis. "
        "Exit code 0 only when every route is healthy.",
    )
    parser.add_argument("url", nargs="?", default=DEFAULT_URL,
                        help=f"server to examine (default: {DEFAULT_URL}); a path in it is the "
                        "route to check")
    parser.add_argument("--contract", help="AsyncAPI contract (default: the bundled one)")
    parser.add_argument("--route", action="append", default=[], metavar="PATH",
                        help="a route to check instead of the contract's (repeatable), "
                        "e.g. /ws/permissions/anonymous")
    parser.add_argument("--token", help="a token to try authenticated routes with")
    parser.add_argument("--token-param", default="token",
                        help="query parameter that carries the token (default: token)")
    parser.add_argument("--timeout", type=_seconds, default=5.0, metavar="SECONDS",
                        help="per handshake and per reply (default: 5)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=doctor)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds in (0, 600]")
    return value


def doctor(args: argparse.Namespace) -> int:
    from harness.contract import load_contract
    from harness.doctor import diagnose
    from harness.doctor.plan import Plan, heartbeat_pair, parse_url, routes_for
    from harness.doctor.probe import probe
    from harness.doctor.render import print_json, print_report
    from harness.errors import ConfigError

    endpoint = parse_url(args.url)
    contract = load_contract(args.contract)
    paths = args.route or ([endpoint.path] if endpoint.path else [])
    routes = routes_for(paths, contract) if paths else list(contract.routes.values())
    if not routes:
        raise ConfigError(f"doctor: {contract.source} declares no routes; pass --route PATH")
    heartbeat, reply = heartbeat_pair(contract)
    plan = Plan(
        endpoint=endpoint,
        routes=routes,
        close_codes=contract.close_codes,
        heartbeat=heartbeat,
        heartbeat_reply=reply,
        type_field=contract.type_field,
        token=args.token,
        token_param=args.token_param,
        timeout=args.timeout,
    )
    report = diagnose(asyncio.run(probe(plan)))
    if args.json:
        print_json(report, sys.stdout)
    else:
        print_report(report, sys.stdout)
    return report.exit_code
