"""``ws-harness``: the command line.

    ws-harness run [PYTEST ARGS]   the bundled scenarios (plus folders given), with the pytest
                                   config of the current directory; -m fuzz adds fuzzing
    ws-harness serve               start the configured target on a free port, print its URL
    ws-harness doctor [URL]        say why a WebSocket endpoint fails
    ws-harness clean               remove containers left by earlier runs
    ws-harness load LOCUSTFILE     start the target, run Locust headless, exit by the gates

Each subcommand lives in its own module and is imported only when used.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from harness.errors import HarnessError


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "run":  # everything after "run" belongs to pytest, untouched
        from harness.commands.run import run

        return run(argv[1:])
    parser = _parser()  # imports every subcommand's module: not for run, which is pytest's
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except HarnessError as exc:
        print(f"ws-harness: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ws-harness",
        description="Conformance, fuzz and load testing for real-time WebSocket services.",
    )
    commands = parser.add_subparsers(metavar="COMMAND")
    commands.add_parser(
        "run",
        help="run the bundled scenarios with your project's pytest config "
        "(arguments go to pytest; ws-harness run --help lists them)",
    )

    for name in _SUBCOMMANDS:
        # Each module declares its own arguments; heavy imports wait inside its handler.
        module = importlib.import_module(f"harness.commands.{name}")
        module.add_parser(commands)
    return parser


_SUBCOMMANDS = ("serve", "doctor", "clean", "load")


if __name__ == "__main__":
    sys.exit(main())
