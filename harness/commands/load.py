"""``ws-harness load LOCUSTFILE``: a load run in one command.

Starts the target the way the pytest plugin does (the same ``--ws-*`` target options, from
``harness.options``, read by ``HarnessSession``), runs Locust headless against
it in a child process (Locust monkey-patches the standard library with gevent on import, so it
never runs inside this process), prints a progress line every two seconds, stops the target
and exits with Locust's exit code, which the ws-harness gates set (1: a threshold failed).

LOCUSTFILE is a path, or the name of a bundled locustfile (``heartbeat_latency``,
``connection_throughput``, ``push_fanout``: the package ``harness_locustfiles``). Options
ws-harness does not know go to Locust unchanged (``locust --help`` lists them); they must come
after LOCUSTFILE.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, HarnessError

# The pytest plugin's target options that make sense for one load run (the declarations,
# help texts and validators are the plugin's: one place decides what --ws-backend accepts).
_TARGET_OPTIONS = (
    "--ws-backend",
    "--ws-url",
    "--ws-command",
    "--ws-cwd",
    "--ws-port",
    "--ws-ready-timeout",
    "--ws-log-dir",
    "--ws-image",
    "--ws-docker-network",
    "--ws-replicas",
    "--ws-redis-url",
)
_RUN_TIME = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_USAGE = "ws-harness load LOCUSTFILE [options] [Locust options]  (-h: all options)"
_GRACE_SECONDS = 120  # Locust's start, its locustfile import and its reports, after the run
_STOP_SECONDS = 30  # after Ctrl-C: time for Locust to write its reports before it is killed

__all__ = ["HarnessError", "add_parser", "check_locust", "find_locustfile", "load", "parse"]


def add_parser(commands: Any) -> None:
    """Registers ``load`` taking every argument as is: its parser (which imports the pytest
    plugin's option table, and with it pytest) is built only when ``load`` runs, so the other
    subcommands start no slower; "\0" as the only option prefix makes ``-u`` and ``-h`` plain
    arguments here."""
    parser = commands.add_parser(
        "load",
        help="start the target, run a locustfile headless against it, exit by the gates",
        add_help=False,
        prefix_chars="\0",
    )
    parser.add_argument("argv", nargs=argparse.REMAINDER)
    parser.set_defaults(handler=load)


def parse(argv: list[str]) -> argparse.Namespace:
    """The command line after ``load``, as ``ws-harness load`` sees it (for tests and tools)."""
    return complete(_standalone_parser().parse_args(argv))


def _standalone_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ws-harness load",
        usage=_USAGE,
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    _declare(parser)
    return parser


def _declare(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("locustfile", metavar="LOCUSTFILE", help="a path or a bundled name")
    _declare_options(parser)
    parser.set_defaults(ws_progress=2.0)  # a progress line every 2 s (--ws-progress SECONDS)
    # Everything after LOCUSTFILE: our options, read again by ``complete``, and Locust's.
    rest = parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    rest.required = False  # argparse 3.11 asks for it when nothing follows "load"


def _declare_options(parser: argparse.ArgumentParser) -> None:
    from harness.locust.options import add_options
    from harness.options import OPTIONS, VALIDATORS, env_pair, replica_env_pair

    run = parser.add_argument_group("the run (Locust)")
    run.add_argument("-u", "--users", type=_positive_int, default=10, help="default: 10")
    run.add_argument(
        "-r", "--spawn-rate", type=_positive_float, help="users started per second (default: -u)"
    )
    run.add_argument(
        "-t", "--run-time", type=_run_time, default="30s", help="e.g. 10s, 5m, 1h30m (default: 30s)"
    )
    run.add_argument(
        "--workers",
        type=_workers,
        default=0,
        metavar="N",
        help="run Locust's master and N worker processes (Locust's --processes)",
    )
    run.add_argument(
        "--csv",
        metavar="PREFIX",
        help="Locust's CSVs, plus PREFIX_hdr.json/csv and PREFIX_latency.svg",
    )
    run.add_argument(
        "--html", metavar="FILE", help="Locust's HTML report, with the latency plot and the gates"
    )
    add_options(run)  # --ws-config, --ws-user, ..., the thresholds: handed to Locust as given

    target = parser.add_argument_group("the target (as in pytest)")
    helps = dict(OPTIONS)
    for option in _TARGET_OPTIONS:
        target.add_argument(option, type=VALIDATORS.get(option, str), help=helps[option])
    target.add_argument(
        "--ws-env",
        action="append",
        type=env_pair,
        default=[],
        metavar="KEY=VALUE",
        help="environment for the server (repeatable), e.g. TARGET_FAULTS=heartbeat_slow",
    )
    target.add_argument(
        "--ws-replica-env",
        action="append",
        type=replica_env_pair,
        default=[],
        metavar="[N:]KEY=VALUE",
        help="--ws-replicas: environment of every replica or of one",
    )


def complete(args: argparse.Namespace) -> argparse.Namespace:
    """Read our options among the arguments after LOCUSTFILE; the rest is Locust's
    (``args.locust_args``)."""
    later = argparse.ArgumentParser(
        prog="ws-harness load",
        usage=_USAGE,
        allow_abbrev=False,
        add_help=False,  # -h after LOCUSTFILE: handled above
        argument_default=argparse.SUPPRESS,  # keep what came before LOCUSTFILE
    )
    _declare_options(later)
    for action in later._actions:
        if action.default is not argparse.SUPPRESS and action.dest != "help":
            action.default = argparse.SUPPRESS
    rest = list(args.rest)
    del args.rest
    if "-h" in rest or "--help" in rest:  # after LOCUSTFILE too: ours (Locust's: locust --help)
        _standalone_parser().print_help()
        raise SystemExit(0)
    _, args.locust_args = later.parse_known_args(rest, namespace=args)
    return args


# ------------------------------------------------------------------ validators (argparse)


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number of at least 1")
    return int(text)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive number, e.g. 10")
    return value


def _most_workers() -> int:
    return 4 * (os.cpu_count() or 1)


def _workers(text: str) -> int:
    most = _most_workers()
    if not text.isdigit() or not 1 <= int(text) <= most:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected a number of worker processes from 1 to {most} (4 per CPU)"
        )
    return int(text)


def run_time_seconds(text: str) -> int:
    """Locust's run time (``90``, ``10s``, ``1m30s``, ``2h``) in seconds."""
    if text.isdigit():
        return int(text)
    match = _RUN_TIME.fullmatch(text)
    if not text or match is None:
        raise ValueError(text)
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _run_time(text: str) -> str:
    try:
        if run_time_seconds(text) > 0:
            return text
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{text!r}: expected a duration such as 10s, 5m or 1h30m")


# ------------------------------------------------------------------ the pieces of a run


def check_locust() -> None:
    """One line instead of an ImportError in a child process."""
    if importlib.util.find_spec("locust") is None:
        raise ConfigError(
            "Locust is not installed (ws-harness load runs it): pip install 'ws-harness[locust]'"
        )


def bundled_locustfiles() -> Path:
    """The folder of the bundled locustfiles: in a source checkout the ``locustfiles/`` beside
    this ``harness`` (never another tree's that an editable install elsewhere maps
    ``harness_locustfiles`` to), else the installed package ``harness_locustfiles``."""
    beside = Path(__file__).resolve().parents[2] / "locustfiles"
    if (beside / "__init__.py").is_file():
        return beside
    spec = importlib.util.find_spec("harness_locustfiles")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return beside


def find_locustfile(name: str) -> Path:
    """A path to a file, else a bundled locustfile by name (with or without ``.py``)."""
    given = Path(name)
    if given.is_file():
        return given.resolve()
    folder = bundled_locustfiles()
    stem = name.removesuffix(".py")
    candidate = folder / f"{stem}.py"
    if "/" not in name and not stem.startswith("_") and candidate.is_file():
        return candidate
    names = sorted(p.stem for p in folder.glob("[!_]*.py"))
    raise ConfigError(
        f"no locustfile {name!r}: not a file, and not a bundled locustfile "
        f"({', '.join(names) or 'none installed'})"
    )


class _ArgsAsPytestConfig:
    """What ``HarnessSession.from_pytest`` reads of a ``pytest.Config``, answered from our
    namespace: the plugin's own reading of the target options (paths made absolute, the
    environment and replica options parsed), not a copy of it. No ini file here."""

    inipath = None

    def __init__(self, args: argparse.Namespace) -> None:
        self._args = args
        self.rootpath = Path.cwd()

    def getoption(self, name: str, default: Any = None) -> Any:
        return getattr(self._args, name, default)

    def getini(self, name: str) -> Any:
        return [] if name in ("ws_env", "ws_replica_env") else None


def _session(args: argparse.Namespace) -> Any:
    import pytest

    from harness._pytest.session import HarnessSession

    try:
        return HarnessSession.from_pytest(_ArgsAsPytestConfig(args))  # type: ignore[arg-type]
    except pytest.UsageError as exc:
        raise ConfigError(str(exc)) from None


def target_options(args: argparse.Namespace) -> Any:
    """The ``TargetOptions`` the pytest plugin would build from the same options."""
    return _session(args).options


def _flag(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple | list):
        return ",".join(map(str, value))
    return str(value)


def locust_command(args: argparse.Namespace, locustfile: Path, url: str) -> list[str]:
    """Locust's command line: the target's URL, headless, the run's shape, the ws-harness
    options given, then every option we do not know, in its order."""
    spawn = args.spawn_rate if args.spawn_rate is not None else args.users
    command = [sys.executable, "-m", "locust", "-f", str(locustfile), "--host", url]
    command += ["--headless", "-u", str(args.users), "-r", _flag(spawn), "-t", args.run_time]
    command.append("--only-summary")  # the progress line replaces Locust's tables every 2 s
    if args.workers:
        command += ["--processes", str(args.workers)]
    for option in ("--csv", "--html"):
        value = getattr(args, option[2:])
        if value:
            command += [option, value]
    for option, dest in _locust_harness_options():
        value = getattr(args, dest, None)
        if value is not None:
            command += [option, _flag(value)]
    return command + list(args.locust_args)


def _locust_harness_options() -> list[tuple[str, str]]:
    """(option, dest) of every option ``harness.locust.options`` declares."""
    from harness.locust.options import add_options

    parser = argparse.ArgumentParser(add_help=False)
    add_options(parser)
    return [(action.option_strings[0], action.dest) for action in parser._actions]


def _locust_env() -> dict[str, str]:
    """Our environment, with this ``harness`` importable by Locust's locustfiles (a checkout
    run as ``python -m harness`` from elsewhere)."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": root if not path else f"{root}{os.pathsep}{path}"}


def _run_locust(command: list[str], deadline: float) -> int:
    """Run Locust in its own process group (its workers included), bounded by ``deadline``
    seconds; Ctrl-C and SIGTERM stop it with SIGINT, so that it still writes its reports."""
    process = subprocess.Popen(command, env=_locust_env(), start_new_session=True)
    try:
        code = process.wait(deadline)
    except subprocess.TimeoutExpired:
        _stop_group(process)
        print(
            f"ws-harness: error: Locust was still running {deadline:.0f} s after it started "
            "(its run time plus a grace); stopped it",
            file=sys.stderr,
            flush=True,
        )
        return 1
    except KeyboardInterrupt:
        _stop_group(process)
        raise
    return code if code >= 0 else 128 - code


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGINT, _STOP_SECONDS), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _sigterm(*_: Any) -> None:
    raise KeyboardInterrupt


def load(args: argparse.Namespace) -> int:
    """The handler: target up, Locust run, target down; Locust's exit code."""
    from harness.config import load_config
    from harness.contract import load_contract
    from harness.targets import make_target

    if hasattr(args, "argv"):  # from the ws-harness command line
        args = parse(args.argv)
    check_locust()
    locustfile = find_locustfile(args.locustfile)
    session = _session(args)
    config = load_config(session.config_path)
    contract = load_contract(session.contract_path or config.contract)
    deadline = run_time_seconds(args.run_time) + _GRACE_SECONDS
    previous = signal.signal(signal.SIGTERM, _sigterm)
    try:
        with make_target(session.options, config, contract) as target:
            info = target.info
            print(f"ws-harness: serving {info.ws_url} [{info.description}]", flush=True)
            print(
                f"ws-harness: {locustfile.name}: {args.users} users for {args.run_time}"
                + (f" on {args.workers} workers" if args.workers else ""),
                flush=True,
            )
            code = _run_locust(locust_command(args, locustfile, info.ws_url), deadline)
    finally:
        signal.signal(signal.SIGTERM, previous)
    left = "left running (--ws-url)" if session.options.url else "stopped"
    print(f"ws-harness: exit code {code}; target {left}", file=sys.stderr, flush=True)
    return code
