"""The process backend: run the server's start command on an isolated loopback port.

The command runs in its own session (so the whole process group can be stopped) with a
parent-death signal on Linux (so a SIGKILLed pytest leaves no server behind). Its output
goes to a log file that outlives the run, so a CI page can show it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shlex
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.config import IdentitySpec
from harness.errors import ConfigError, PortInUseError, TargetError
from harness.targets.base import Target, TargetInfo
from harness.targets.ports import free_port, listeners, process_tree
from harness.targets.readiness import (
    ReadinessProbe,
    check_listeners,
    verify_identity,
    wait_until_ready,
)

_STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL


class ProcessTarget(Target):
    """A server started from a command line with {python}, {host} and {port} placeholders."""

    backend = "process"

    def __init__(
        self,
        command: str,
        probe: ReadinessProbe,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        ready_timeout: float = 30.0,
        identity: IdentitySpec | None = None,
        log_dir: str | None = None,
    ) -> None:
        super().__init__()
        self.command = command
        self.probe = probe
        self.host = host
        self.requested_port = port
        self.cwd = cwd
        self.env = dict(env or {})
        self.ready_timeout = ready_timeout
        self.identity = identity
        self.log_path = Path(log_dir or tempfile.mkdtemp(prefix="ws-harness-")) / "server.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    def start(self) -> TargetInfo:
        port = self.requested_port or free_port(self.host)
        if self.requested_port:
            held = listeners(port)
            if held:
                raise PortInUseError(
                    f"port {port} is already held by {held[0].describe()}; stop it or choose another "
                    "port (leave --ws-port unset to let the harness pick a free one)"
                )
        argv = self._argv(port)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self._log_offset = log.tell()  # a restart appends: prove this start's id, not the last
            try:
                self._process = subprocess.Popen(
                    argv,
                    cwd=self.cwd,
                    env={**os.environ, **self.env},
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=_die_with_parent if sys.platform == "linux" else None,
                )
            except OSError as exc:
                raise TargetError(
                    f"cannot run the start command {argv[0]!r}: {exc.strerror or exc}; check --ws-command"
                ) from None
        info = TargetInfo(
            backend=self.backend,
            host=self.host,
            port=port,
            pid=self._process.pid,
            description=f"process pid {self._process.pid}: {' '.join(argv)}",
        )
        self._info = info
        wait_until_ready(info, self.probe, self.ready_timeout, self._exit_status, self.logs)
        ours = process_tree(self._process.pid)
        check_listeners(info, ours)
        if self.identity is not None:
            identity = verify_identity(info, self.identity, ours, self._log_text(self._log_offset))
            self._info = info = TargetInfo(**{**info.__dict__, "identity": identity})
        return info

    def check_still_ours(self) -> None:
        if self._process is not None and self._info is not None:
            check_listeners(self._info, process_tree(self._process.pid))

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        family = process_tree(process.pid)
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(_STOP_GRACE)
        for pid in family:  # SIGKILL whatever ignored SIGTERM, escaped children included
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def logs(self, lines: int = 50, window: tuple[Any, Any] | None = None) -> str:
        if window is not None and None not in window:
            start, end = window
            text = self._log_text(start, end - start)
        else:
            text = self._log_text()
        return "\n".join(text.splitlines()[-lines:])

    def log_mark(self) -> int | None:
        """The log file's size: the offset the next line will be written at."""
        try:
            return self.log_path.stat().st_size
        except OSError:
            return None

    def _log_text(self, offset: int = 0, size: int = -1) -> str:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(offset)
                return log.read(size).decode("utf-8", errors="replace")
        except OSError:
            return ""

    def _exit_status(self) -> str | None:
        if self._process is None:
            return "never started"
        code = self._process.poll()
        return None if code is None else f"exit code {code}"

    def _argv(self, port: int) -> list[str]:
        try:
            text = self.command.format(
                python=shlex.quote(sys.executable), host=self.host, port=port
            )
            argv = shlex.split(text)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(
                f"start command {self.command!r} is malformed ({exc}); placeholders are "
                "{python}, {host} and {port}"
            ) from None
        if not argv:
            raise ConfigError("the start command is empty; set --ws-command or target.command")
        return argv


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGTERM us when the harness dies (even by SIGKILL)."""
    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
