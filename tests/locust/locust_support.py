"""Helpers and fixtures for the Locust tests: a real ``websockets`` echo server in a thread,
the reference target in a subprocess, and a bounded runner for ``locust`` command lines.

Every wait is a multiple of ``TIMEOUT`` (scaled by WS_HARNESS_TIMEOUT_FACTOR for slow CI).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

TIMEOUT = 10.0 * float(os.environ.get("WS_HARNESS_TIMEOUT_FACTOR", "1"))
REPO = Path(__file__).resolve().parents[2]
LOCUSTFILES = REPO / "locustfiles"


@dataclass
class EchoServer:
    url: str
    loop: asyncio.AbstractEventLoop


async def _echo(websocket) -> None:  # type: ignore[no-untyped-def]
    async for message in websocket:
        if message == "close-4003":
            await websocket.close(4003, "forbidden")
            return
        if message == "fragmented":
            await websocket.send(["frag", "mented"])
            continue
        if message == "server-ping":
            await websocket.ping(b"srv")
            continue
        if message.startswith("slow "):  # echoed 2 ms later
            await asyncio.sleep(0.002)
        await websocket.send(message)


@pytest.fixture(scope="module")
def echo_server() -> Iterator[EchoServer]:
    """A ``websockets`` server on 127.0.0.1:0: echoes, closes on request, 404 on /missing."""
    from websockets.asyncio.server import serve

    ready = threading.Event()
    state: dict[str, object] = {}

    def process_request(connection, request):  # type: ignore[no-untyped-def]
        if request.path == "/missing":
            return connection.respond(404, "no such route\n")
        return None

    async def main() -> None:
        stop = asyncio.Event()
        async with serve(_echo, "127.0.0.1", 0, process_request=process_request) as server:
            state["port"] = server.sockets[0].getsockname()[1]
            state["loop"] = asyncio.get_running_loop()
            state["stop"] = stop
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(TIMEOUT), "echo server did not start"
    loop = state["loop"]
    assert isinstance(loop, asyncio.AbstractEventLoop)
    yield EchoServer(f"ws://127.0.0.1:{state['port']}", loop)
    loop.call_soon_threadsafe(state["stop"].set)  # type: ignore[union-attr]
    thread.join(TIMEOUT)


@dataclass
class Target:
    url: str
    process: subprocess.Popen[str]


@pytest.fixture(scope="module")
def reference_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """The reference Daphne target on a free loopback port, stopped after the module."""
    yield from serve_target(tmp_path_factory)


@pytest.fixture(scope="module")
def renamed_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """The reference target speaking its renamed dialect (every route, message and field)."""
    yield from serve_target(tmp_path_factory, "--dialect", "renamed")


def serve_target(tmp_path_factory: pytest.TempPathFactory, *extra: str) -> Iterator[Target]:
    pytest.importorskip("daphne")
    log = tmp_path_factory.mktemp("target") / "target.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "target", "serve", "--host", "127.0.0.1", "--port", "0", *extra],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=sink,
            text=True,
        )
    deadline = time.monotonic() + 3 * TIMEOUT
    url = None
    assert process.stdout is not None
    while url is None and time.monotonic() < deadline and process.poll() is None:
        line = process.stdout.readline()
        match = re.search(r"ws://127\.0\.0\.1:(\d+)", line)
        if match:
            url = f"ws://127.0.0.1:{match.group(1)}"
    if url is None:
        process.kill()
        pytest.fail(f"the reference target did not start:\n{log.read_text()[-2000:]}")
    try:
        yield Target(url, process)
    finally:
        process.terminate()
        try:
            process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()


def run_locust(
    args: list[str], cwd: Path, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """``locust ARGS`` with a hard timeout; output captured for the assertions."""
    return subprocess.run(
        [sys.executable, "-m", "locust", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout or 3 * TIMEOUT,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
