"""Servers for the doctor's end-to-end tests (a uniquely named module, importable by the
tests, unlike ``conftest``): the reference target (healthy or with a fault), stray
SO_REUSEPORT HTTP listeners, and a plain ASGI app that refuses one route before accept.
Loopback, free ports, bounded waits, always stopped."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.targets.ports import free_port

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 20.0 * float(os.environ.get("WS_HARNESS_TIMEOUT_FACTOR", "1"))


class Server:
    """A child process that prints a ready line; stopped (terminate, then kill) at teardown."""

    def __init__(self, argv: list[str], ready: str, log: Path | None = None) -> None:
        self.process = subprocess.Popen(
            argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, args=(log,), daemon=True).start()
        self._wait_for(ready)

    def _read(self, log: Path | None) -> None:
        """Queue each output line; with ``log``, also append it there (a server's log file)."""
        assert self.process.stdout is not None
        with open(log or os.devnull, "a", encoding="utf-8") as sink:
            for line in self.process.stdout:
                sink.write(line)
                sink.flush()
                self.lines.put(line)
        self.lines.put("")  # EOF

    def _wait_for(self, ready: str) -> None:
        deadline = time.monotonic() + TIMEOUT  # one overall deadline, not one per line
        while True:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                self.stop()
                output = "".join(self.output)
                raise TimeoutError(f"no {ready!r} line within {TIMEOUT}s: {output}") from None
            self.output.append(line)
            if ready in line:
                return
            if line == "":
                self.stop()
                raise RuntimeError(f"server exited before {ready!r}: {''.join(self.output)}")

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


StartServer = Callable[..., Server]


@pytest.fixture
def start_server() -> Iterator[StartServer]:
    """``start_server(argv, ready_text, log=None)``; every server started is stopped after
    the test. ``log``: a file that receives the server's output (stdout and stderr)."""
    started: list[Server] = []

    def start(argv: list[str], ready: str, log: Path | None = None) -> Server:
        server = Server(argv, ready, log)
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


def target_argv(port: int, *options: str) -> list[str]:
    """The reference target's command line on 127.0.0.1:``port`` with extra ``options``."""
    serve = ["-m", "target", "serve", "--host", "127.0.0.1", "--port", str(port)]
    return [sys.executable, *serve, *options]


@pytest.fixture
def start_target(start_server: StartServer) -> Callable[..., str]:
    """``start_target("fault,...", *options, log=None)`` -> ws://127.0.0.1:PORT of a fresh
    reference target (``options``: more ``serve`` flags, e.g. ``"--dialect", "renamed"``)."""

    def start(faults: str = "", *options: str, log: Path | None = None) -> str:
        port = free_port()
        start_server(
            target_argv(port, *(["--faults", faults] if faults else []), *options),
            "target ready",
            log,
        )
        return f"ws://127.0.0.1:{port}"

    return start


@pytest.fixture
def reuseport_http(start_server: StartServer) -> Callable[[int], Server]:
    """``reuseport_http(port)``: a plain HTTP server joining ``port`` with SO_REUSEPORT."""
    script = str(Path(__file__).with_name("reuseport_http.py"))
    return lambda port: start_server([sys.executable, script, str(port)], "ready")


@pytest.fixture
def refusing_asgi(start_server: StartServer) -> Callable[[], str]:
    """``refusing_asgi()`` -> ws://127.0.0.1:PORT of Daphne serving ``refusing_asgi.py``."""

    def start() -> str:
        port = free_port()
        script = str(Path(__file__).with_name("refusing_asgi.py"))
        start_server([sys.executable, script, str(port)], "Listening on TCP address")
        return f"ws://127.0.0.1:{port}"

    return start


def run_doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    """Run ``ws-harness doctor ARGS --json`` in this process; (exit code, parsed report)."""
    capsys.readouterr()
    code = main(["doctor", *args, "--json", "--timeout", "3"])
    return code, json.loads(capsys.readouterr().out)
