"""Helpers and fixtures for the Locust tests: a real ``websockets`` echo server in a thread,
a loopback server that fails one heartbeat in four, the reference target in a subprocess,
and a bounded runner for ``locust`` command lines.

Every wait is a multiple of ``TIMEOUT`` (scaled by WS_HARNESS_TIMEOUT_FACTOR for slow CI).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from harness.config import load_config
from harness.contract import load_contract
from harness.protocol import ProtocolSpec

TIMEOUT = 10.0 * float(os.environ.get("WS_HARNESS_TIMEOUT_FACTOR", "1"))
REPO = Path(__file__).resolve().parents[2]
LOCUSTFILES = REPO / "locustfiles"


@dataclass
class EchoServer:
    url: str
    loop: asyncio.AbstractEventLoop
    # what the server saw: liveness requests received and error frames sent (flaky_server)
    counts: dict[str, int] = field(default_factory=dict)


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

    def process_request(connection, request):  # type: ignore[no-untyped-def]
        if request.path == "/missing":
            return connection.respond(404, "no such route\n")
        return None

    yield from serve_in_thread(_echo, process_request)


FLAKY_EVERY = 4  # the flaky server answers every 4th liveness request with an error frame


async def _flaky(
    spec: ProtocolSpec,
    counts: dict[str, int],
    websocket,  # type: ignore[no-untyped-def]
    every: int = FLAKY_EVERY,
    late: float = 0.0,
) -> None:
    """The bundled contract's anonymous side, but one liveness reply in ``every`` is an
    error frame (0: none); each reply comes ``late`` seconds after its request."""
    kind = spec.type_field
    assert spec.liveness is not None and spec.confirmation and spec.error_message
    liveness = spec.liveness[kind]
    (reply,) = spec.reply_types(liveness)
    await websocket.send(json.dumps({kind: spec.confirmation, "data": {"user_id": 0}}))
    beats = 0
    with contextlib.suppress(ConnectionClosed):  # users leave without waiting at a stop
        async for message in websocket:
            if json.loads(message).get(kind) != liveness:
                continue
            beats += 1
            counts["beats"] = counts.get("beats", 0) + 1
            if late:  # one connection's requests are answered in order
                await asyncio.sleep(late)
            frame = {kind: reply, "timestamp": "0", "server_time": 0.0}
            if every and beats % every == 0:
                code = spec.error_code_field or "code"
                frame = {kind: spec.error_message, code: "INTERNAL_ERROR"}
                counts["errors"] = counts.get("errors", 0) + 1
            await websocket.send(json.dumps(frame))


@pytest.fixture(scope="module")
def flaky_server() -> Iterator[EchoServer]:
    """Confirms anonymous connections; answers 3 liveness requests in 4, errors the 4th;
    counts both in ``counts`` (clear it before a run)."""
    spec = ProtocolSpec.build(load_contract(), load_config())
    counts: dict[str, int] = {}
    for server in serve_in_thread(functools.partial(_flaky, spec, counts)):
        server.counts = counts
        yield server


def counting_server() -> Iterator[EchoServer]:
    """Confirms anonymous connections and answers every liveness request; counts them."""
    spec = ProtocolSpec.build(load_contract(), load_config())
    counts: dict[str, int] = {}
    for server in serve_in_thread(functools.partial(_flaky, spec, counts, every=0)):
        server.counts = counts
        yield server


@pytest.fixture(scope="module")
def late_server() -> Iterator[EchoServer]:
    """Confirms anonymous connections and answers every liveness request 1.5 s late: after
    the bundled config's 1 s reply timeout."""
    spec = ProtocolSpec.build(load_contract(), load_config())
    counts: dict[str, int] = {}
    for server in serve_in_thread(functools.partial(_flaky, spec, counts, every=0, late=1.5)):
        server.counts = counts
        yield server


def serve_in_thread(handler: Any, process_request: Any = None) -> Iterator[EchoServer]:
    """Serve ``handler`` with ``websockets`` on 127.0.0.1:0 in a thread until the generator
    is closed."""
    from websockets.asyncio.server import serve

    ready = threading.Event()
    state: dict[str, object] = {}

    async def main() -> None:
        stop = asyncio.Event()
        async with serve(handler, "127.0.0.1", 0, process_request=process_request) as server:
            state["port"] = server.sockets[0].getsockname()[1]
            state["loop"] = asyncio.get_running_loop()
            state["stop"] = stop
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(TIMEOUT), "the loopback server did not start"
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


def anonymous_heartbeats(host: str, run_time: str, interval: str, *extra: str) -> list[str]:
    """The bundled heartbeat locustfile as three anonymous users against ``host``, failures
    allowed (the tests count them): the arguments for ``run_locust``."""
    return [
        "-f",
        str(LOCUSTFILES / "heartbeat_latency.py"),
        "--host",
        host,
        "--headless",
        "--only-summary",
        "--stop-timeout",
        "2",
        "-u",
        "3",
        "-r",
        "3",
        "-t",
        run_time,
        "--ws-user",
        "anonymous",
        "--heartbeat-interval",
        interval,
        "--max-fail-ratio",
        "1",
        *extra,
    ]


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
