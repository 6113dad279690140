"""Command line: ``python -m target serve|notify|manage``.

serve   run the reference server (Daphne, in this process) until SIGTERM/SIGINT
notify  send one push (same as ``manage notify``; see that command's --help)
manage  any Django management command (migrate, shell, notify, ...)

Flags become ``TARGET_*`` environment variables before Django starts, so settings have one
source of truth and child processes inherit the same configuration.
"""

from __future__ import annotations

import argparse
import os
import sys

from target import faults

EXIT_USAGE = 2


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m target serve", description="Run the reference target."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument(
        "--faults", default=None, help=f"comma separated: {', '.join(faults.FAULTS)}"
    )
    parser.add_argument("--db", default=None, help="SQLite path (default: fresh temp file)")
    parser.add_argument("--confirm-on", choices=("accept", "connect"), default=None)
    parser.add_argument("--bad-token-policy", choices=("strict", "anonymous"), default=None)
    parser.add_argument("-v", "--verbose", action="store_true", help="log every frame (DEBUG)")
    return parser


def serve(argv: list[str]) -> int:
    args = _serve_parser().parse_args(argv)
    spec = args.faults if args.faults is not None else os.environ.get("TARGET_FAULTS", "")
    try:
        active = faults.parse(spec)
    except faults.UnknownFaultError as exc:
        print(f"target: {exc}", file=sys.stderr)
        return EXIT_USAGE
    os.environ["TARGET_FAULTS"] = ",".join(sorted(active))
    for name, value in (
        ("TARGET_DB", args.db),
        ("TARGET_CONFIRM_ON", args.confirm_on),
        ("TARGET_BAD_TOKEN_POLICY", args.bad_token_policy),
        ("TARGET_VERBOSE", "1" if args.verbose else None),
    ):
        if value is not None:
            os.environ[name] = value
    os.environ["DJANGO_SETTINGS_MODULE"] = "target.settings"
    verbose = os.environ.get("TARGET_VERBOSE", "").lower() in {"1", "true", "yes", "on"}
    if not 0 <= args.port <= 65535:
        print(f"target: invalid --port {args.port}", file=sys.stderr)
        return EXIT_USAGE
    from target.server import serve as run_server

    return run_server(args.host, args.port, verbose)


def manage(argv: list[str]) -> int:
    os.environ["DJANGO_SETTINGS_MODULE"] = "target.settings"
    from django.core.management import execute_from_command_line

    execute_from_command_line(["python -m target manage", *argv])
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    commands = {"serve": serve, "manage": manage, "notify": lambda rest: manage(["notify", *rest])}
    if not argv or argv[0] not in commands:
        print(__doc__, file=sys.stderr)
        return EXIT_USAGE
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
