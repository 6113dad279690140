"""Command line: ``python -m target serve|notify|manage``.

serve   run the reference server (Daphne, in this process) until SIGTERM/SIGINT
notify  send one push (same as ``manage notify``; see that command's --help; also takes
        --dialect, for the renamed dialect's push type names)
manage  any Django management command (migrate, shell, notify, ...)

Flags become ``TARGET_*`` environment variables before Django starts, so settings have one
source of truth and child processes inherit the same configuration.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import sys

from target import dialect, faults

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
    parser.add_argument(
        "--dialect",
        default=None,
        help=f"{' | '.join(dialect.DIALECTS)}: renamed renames every route, message and field",
    )
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
    if not set_dialect(args.dialect):
        return EXIT_USAGE
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

    code = run_server(args.host, args.port, verbose)
    leave_at_once(code)
    return code  # not reached


def leave_at_once(code: int) -> None:
    """End the process once the server has stopped, skipping the interpreter's teardown.

    The teardown (freeing Django, Twisted and DRF module by module) took about 0.25 s after
    the server had closed its port, and every harness run waits for it. The exit handlers
    (the temporary database's removal) still run, and the logs are flushed first.
    """
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def set_dialect(name: str | None) -> bool:
    """Validate ``--dialect`` (else ``TARGET_DIALECT``) into the environment; False: printed why."""
    spec = name if name is not None else os.environ.get("TARGET_DIALECT", "")
    try:
        os.environ["TARGET_DIALECT"] = dialect.parse(spec)
    except dialect.UnknownDialectError as exc:
        print(f"target: {exc}", file=sys.stderr)
        return False
    return True


def notify(argv: list[str]) -> int:
    """``manage notify``, plus ``--dialect`` so push type names can be the renamed ones."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--dialect", default=None)
    known, rest = parser.parse_known_args(argv)
    if not set_dialect(known.dialect):
        return EXIT_USAGE
    return manage(["notify", *rest])


def manage(argv: list[str]) -> int:
    os.environ["DJANGO_SETTINGS_MODULE"] = "target.settings"
    from django.core.management import execute_from_command_line

    execute_from_command_line(["python -m target manage", *argv])
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    commands = {"serve": serve, "manage": manage, "notify": notify}
    if not argv or argv[0] not in commands:
        print(__doc__, file=sys.stderr)
        return EXIT_USAGE
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
