"""A private ``redis-server`` on an isolated loopback port, for replicas to share.

Replicas of a Channels app deliver each other's pushes only through a shared channel layer
(channels_redis). The harness starts its own Redis so that a run never shares groups with
another run, a developer's Redis or a stale server: loopback only, no persistence, a fresh
temporary directory, a port the kernel picked, and one overall deadline for readiness.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from harness.errors import TargetError, TargetExitedError, TargetNotReadyError
from harness.targets.ports import free_port

READY_TIMEOUT = 10.0  # seconds; a local redis-server answers PING in milliseconds
_START_TRIES = 3  # another process may take the free port between choosing and binding it
INSTALL_HINT = (
    "redis-server is not installed: install it (apt-get install redis-server) or pass "
    "--ws-redis-url redis://HOST:PORT/0 to use a running Redis"
)


class RedisServer:
    """``redis-server`` on 127.0.0.1; ``url`` is set once ``start()`` returned."""

    def __init__(
        self, binary: str | None = None, log_dir: str | None = None, databases: int = 16
    ) -> None:
        self.binary = binary
        self.databases = databases  # numbered 0..databases-1: one per run sharing the server
        self.directory = Path(log_dir or tempfile.mkdtemp(prefix="ws-harness-redis-"))
        self.log_path = self.directory / "redis.log"
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("redis-server is not started; call start() first")
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> str:
        """Start it and wait until it answers PING; returns its URL."""
        binary = self.binary or shutil.which("redis-server")
        if binary is None:
            raise TargetError(INSTALL_HINT)
        self.directory.mkdir(parents=True, exist_ok=True)
        for _ in range(_START_TRIES):
            port = free_port()
            argv = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
            argv += ["--appendonly", "no", "--protected-mode", "yes", "--dir", str(self.directory)]
            argv += ["--databases", str(self.databases)]
            with open(self.log_path, "ab") as log:
                try:
                    self._process = subprocess.Popen(
                        argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
                    )
                except OSError as exc:
                    raise TargetError(f"cannot run {binary}: {exc.strerror or exc}") from None
            self.port = port
            if self._wait(port):
                return self.url
            if "Address already in use" not in self.logs():
                break
        self.stop()
        raise TargetExitedError(
            f"redis-server did not start on 127.0.0.1 (log: {self.log_path}); "
            "or pass --ws-redis-url to use a running Redis",
            self.logs(),
        )

    def _wait(self, port: int) -> bool:
        """True once PING answers; False if the process exited; raises at the deadline."""
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                return False
            if ping("127.0.0.1", port):
                return True
            time.sleep(0.02)
        self.stop()
        raise TargetNotReadyError(
            f"redis-server on 127.0.0.1:{port} did not answer PING within {READY_TIMEOUT:.0f}s",
            self.logs(),
        )

    def logs(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop it (safe to call twice); its directory holds only the log."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> RedisServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def ping(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether a Redis server answers PING on host:port (RESP, no client library needed)."""
    with (
        contextlib.suppress(OSError),
        socket.create_connection((host, port), timeout=timeout) as sock,
    ):
        sock.sendall(b"PING\r\n")
        return sock.recv(64).startswith(b"+PONG")
    return False
