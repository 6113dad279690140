"""The server's own words: its log file, or the output of a start command the doctor runs.

A handshake closed right after accept shows *where* the server fails; only its log says
*why* (the exception in connect()). So ``examine`` wraps the probes: with ``--log FILE`` it
notes where the file ends, probes, then reads what the server wrote meanwhile; with
``--command`` it starts the server through ``ProcessTarget`` (own process group, output in
a log file, stopped afterwards), waits until the port answers HTTP, probes, reads the output.
The text becomes a ``ServerLog`` (``logs.parse_exceptions``) on the observations; the rules
decide what it means.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.doctor.logs import parse_exceptions
from harness.doctor.observations import Observations, ServerLog
from harness.doctor.plan import Plan
from harness.doctor.probe import http_get, is_local, probe
from harness.errors import ConfigError, TargetError, TargetExitedError, TargetNotReadyError
from harness.targets.base import TargetInfo
from harness.targets.ports import listeners
from harness.targets.process import ProcessTarget
from harness.targets.readiness import NotReady

START_TIMEOUT = 30.0  # seconds for a started server to answer HTTP; then it is probed anyway
_FLUSH_GRACE = 0.3  # seconds for a server's last log lines to reach the file
_READ_LIMIT = 1 << 20  # bytes of log read at most (the end of what was written)
_EARLIER = 64 * 1024  # bytes before the run searched when the run itself logged no exception
_TAIL_LINES = 20

ReadLog = Callable[[], ServerLog]


def examine(plan: Plan) -> Observations:
    """Probe the server, with its log (``plan.log``) or started by ``plan.command`` (the
    command refuses both at once)."""
    if plan.command is not None:
        source = started(plan.command, plan)
    elif plan.log is not None:
        source = watched(plan.log)
    else:
        return asyncio.run(probe(plan))
    with source as read_log:
        observations = asyncio.run(probe(plan))
        return dataclasses.replace(observations, server_log=read_log())


@contextlib.contextmanager
def watched(path: str) -> Iterator[ReadLog]:
    """Note where ``path`` ends now; the reader returns what was written since."""
    file = Path(path)
    try:
        with file.open("rb") as handle:
            start = handle.seek(0, 2)
    except OSError as exc:
        raise ConfigError(
            f"doctor: cannot read the server log {path!r} ({exc.strerror or exc}); give the file "
            "the server writes to, e.g. `daphne -v 2 project.asgi:application 2> server.log`"
        ) from None
    yield lambda: read_since(file, start, f"--log {path}")


def read_since(file: Path, start: int, source: str) -> ServerLog:
    """What was written to ``file`` after byte ``start``; if that holds no exception, the
    exceptions just before it (marked ``before_run``: a server that failed earlier)."""
    time.sleep(_FLUSH_GRACE)
    try:
        with file.open("rb") as handle:
            end = handle.seek(0, 2)
            start = 0 if end < start else start  # truncated or rotated meanwhile: all of it
            handle.seek(max(start, end - _READ_LIMIT))
            text = handle.read().decode("utf-8", "replace")
            handle.seek(max(start - _EARLIER, 0))
            earlier = handle.read(start - max(start - _EARLIER, 0)).decode("utf-8", "replace")
    except OSError as exc:
        return ServerLog(source, tail=f"(could not read it again: {exc.strerror or exc})")
    exceptions = parse_exceptions(text)
    before_run = not exceptions and bool(parse_exceptions(earlier))
    return ServerLog(
        source,
        exceptions=parse_exceptions(earlier) if before_run else exceptions,
        tail=_tail(text),
        before_run=before_run,
    )


@dataclass(frozen=True)
class HttpAnswers:
    """Ready for the doctor when the port answers an HTTP GET at all (any status, any
    answer): the doctor is there to say what is wrong with it, so nothing more is asked."""

    attempt_timeout: float = 1.0

    def __call__(self, info: TargetInfo) -> NotReady | None:
        answer = http_get(info.http_url + "/", self.attempt_timeout)
        if answer.answered or answer.error_kind not in ("refused", "timeout"):
            return None
        return NotReady(f"no answer on port {info.port} yet ({answer.error_kind})")


@contextlib.contextmanager
def started(command: str, plan: Plan) -> Iterator[ReadLog]:
    """Start ``command`` on the URL's host and port, yield a reader of its output, stop it."""
    endpoint = plan.endpoint
    if not command.strip():
        raise ConfigError(
            "doctor: the start command is empty; e.g. --command "
            '"daphne -b {host} -p {port} project.asgi:application"'
        )
    if not is_local(endpoint.host):
        raise ConfigError(
            f"doctor: --command starts the server on this machine, but {endpoint.host} is not "
            "this machine; use a local URL (ws://127.0.0.1:PORT) or --log"
        )
    held = listeners(endpoint.port)
    if held:
        raise ConfigError(
            f"doctor: port {endpoint.port} is already held by {held[0].describe()}; stop it, or "
            "drop --command to examine the server that holds it"
        )
    target = ProcessTarget(
        command, HttpAnswers(), host=endpoint.host, port=endpoint.port, ready_timeout=START_TIMEOUT
    )
    exit_status = ""
    try:
        target.start()
    except TargetExitedError as exc:
        found = re.search(r"\((exit code -?\d+)\)", str(exc))
        exit_status = found.group(1) if found else "exited"
    except TargetNotReadyError:
        pass  # no HTTP answer in time: probe anyway, the diagnosis says what it sees
    except TargetError as exc:  # it could not be run at all, or another process joined
        target.stop()
        raise ConfigError(f"doctor: {exc}".replace("--ws-command", "--command")) from None
    source = f"--command's output, kept in {target.log_path}"
    try:
        yield lambda: _command_output(target.log_path, source, exit_status)
    finally:
        target.stop()


def _command_output(log: Path, source: str, exit_status: str) -> ServerLog:
    time.sleep(_FLUSH_GRACE)
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    return ServerLog(
        source, exceptions=parse_exceptions(text), tail=_tail(text), exit_status=exit_status
    )


def _tail(text: str) -> str:
    return "\n".join(text.rstrip().splitlines()[-_TAIL_LINES:])
