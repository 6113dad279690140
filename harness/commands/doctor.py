"""``ws-harness doctor [URL]``: say why a WebSocket endpoint fails, in plain words.

Probes who listens on the port, a plain HTTP GET, every contract route (with and without
its trailing slash, first frame, the contract's liveness request) and the Origin policy,
then prints a diagnosis. ``--log FILE`` or ``--command "..."`` adds the server's own
output (the exception behind a failing connect()). ``--no-contract`` judges the route(s) in
the URL or ``--route`` by plain WebSocket behaviour instead. Exit code 0 only when every
route is healthy. The work lives in ``harness.doctor``; this module only maps options to a
``Plan`` and the report to an exit code.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from harness.auth import Credentials
    from harness.config import HarnessConfig

DEFAULT_URL = "ws://localhost:8000"


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "doctor",
        help="say why a WebSocket endpoint fails (listeners, routes, origin, auth)",
        description="Say why a WebSocket endpoint fails: who listens on the port, each route's "
        "handshake, first frame and liveness request (from the contract), the Origin policy, "
        "then a diagnosis. Exit code 0 only when every route is healthy.",
    )
    parser.add_argument(
        "url",
        nargs="?",
        default=DEFAULT_URL,
        help=f"server to examine (default: {DEFAULT_URL}); a path in it is the route to check",
    )
    parser.add_argument(
        "--contract", help="AsyncAPI contract (default: the config's, else the bundled one)"
    )
    parser.add_argument(
        "--config",
        help="ws-harness config: when the server confirms (confirmation.after), the token's "
        "query parameter, and the contract to use (default: none; the contract's conventions)",
    )
    parser.add_argument(
        "--no-contract",
        action="store_true",
        help="judge by plain WebSocket behaviour only (handshake, first frame, close codes; "
        "no messages sent): give the route in the URL or with --route",
    )
    parser.add_argument(
        "--route",
        action="append",
        default=[],
        metavar="PATH",
        help="a route to check instead of the contract's (repeatable), e.g. /socket/",
    )
    parser.add_argument(
        "--token",
        help="a token to try authenticated routes with, presented as --config's auth.present "
        "says (query, header, cookie or subprotocol; without --config: ?token=)",
    )
    parser.add_argument(
        "--token-param",
        default=None,
        help="put the token in this query parameter instead (default: the config's way)",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=5.0,
        metavar="SECONDS",
        help="per handshake and per reply (default: 5)",
    )
    parser.add_argument(
        "--log",
        metavar="FILE",
        help="the server's log file: the exceptions it logs during the probes are shown "
        "(e.g. why every connection closes right after accept)",
    )
    parser.add_argument(
        "--command",
        metavar='"CMD"',
        help="start the server with this command on the URL's port ({host}, {port} and "
        "{python} are filled in), probe it, stop it, and show the exceptions in its output",
    )
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


def _credentials(
    args: argparse.Namespace, config: HarnessConfig | None, http_url: str
) -> tuple[Credentials, Credentials]:
    """How the handshakes present ``--token`` and what they send without it: as the config's
    ``auth.present`` and ``auth.origin`` say; ``--token-param`` (or no config) puts the token
    in the query string."""
    from harness.auth import Credentials, TokenProvider

    origin = None
    if config is not None:
        presenter = TokenProvider(config, http_url)
        without = presenter.present(None)
        origin = without.origin
        if args.token is not None and args.token_param is None:
            return presenter.present(args.token), without
    param = args.token_param or (config.auth.query_param if config else "token")
    query = f"?{param}={quote(args.token, safe='')}" if args.token is not None else ""
    return Credentials(query=query, origin=origin), Credentials(origin=origin)


def doctor(args: argparse.Namespace) -> int:
    from harness.config import load_config
    from harness.contract import load_contract
    from harness.doctor import diagnose
    from harness.doctor.capture import examine
    from harness.doctor.plan import Plan, parse_url, routes_for
    from harness.doctor.render import print_json, print_report
    from harness.errors import ConfigError
    from harness.protocol import ProtocolSpec

    endpoint = parse_url(args.url)
    if args.log is not None and args.command is not None:
        raise ConfigError(
            "doctor: --log and --command exclude each other (--command reads the output of the "
            "server it starts); drop one"
        )
    paths = args.route or ([endpoint.path] if endpoint.path else [])
    config = load_config(args.config) if args.config else None
    if args.no_contract:
        if args.contract:
            raise ConfigError("doctor: --contract and --no-contract exclude each other; drop one")
        if not paths:
            raise ConfigError(
                "doctor: --no-contract needs the route to check: put its path in the URL "
                "(ws://host:port/path) or pass --route PATH"
            )
        contract, spec = None, ProtocolSpec()
    else:
        contract = load_contract(args.contract or (config.contract if config else None))
        spec = ProtocolSpec.build(contract, config)
    if paths:
        routes = routes_for(paths, contract)
    else:
        assert contract is not None  # --no-contract without a path was refused above
        routes = list(contract.routes.values())
        if not routes:
            raise ConfigError(f"doctor: {contract.source} declares no routes; pass --route PATH")
    with_token, without_token = _credentials(args, config, endpoint.http_url)
    plan = Plan(
        endpoint=endpoint,
        routes=routes,
        close_codes=contract.close_codes if contract is not None else {},
        spec=spec,
        token=args.token,
        with_token=with_token,
        without_token=without_token,
        timeout=args.timeout,
        contract=contract.source if contract is not None else None,
        log=args.log,
        command=args.command,
    )
    report = diagnose(examine(plan))
    if args.json:
        print_json(report, sys.stdout)
    else:
        print_report(report, sys.stdout)
    return report.exit_code
