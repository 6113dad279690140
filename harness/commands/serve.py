"""``ws-harness serve``: start the configured target on an isolated port and keep it running.

For performance work (``locust -f locustfiles/... --host <printed URL>``) and by-hand
debugging. Prints one line with the URLs when ready; Ctrl-C stops the server.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from harness.config import load_config
from harness.contract import load_contract
from harness.targets import BACKENDS, TargetOptions, make_target


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("serve", help="start the target on a free port and print its URL")
    parser.add_argument("--config", help="harness config file (default: the reference target's)")
    parser.add_argument("--contract", help="AsyncAPI contract (default: the bundled one)")
    parser.add_argument("--backend", choices=[b for b in BACKENDS if b != "url"], default="process")
    parser.add_argument("--command", help="start command with {python} {host} {port} placeholders")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment for the server, e.g. TARGET_FAULTS=heartbeat_slow",
    )
    parser.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    contract = load_contract(args.contract or config.contract)
    env = dict(item.split("=", 1) for item in args.env if "=" in item)
    options = TargetOptions(backend=args.backend, command=args.command, port=args.port, env=env)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with make_target(options, config, contract) as target:
        info = target.info
        print(
            f"ws-harness: serving {info.ws_url} (http {info.http_url}) [{info.description}]",
            flush=True,
        )
        print("ws-harness: Ctrl-C stops it", file=sys.stderr, flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0
