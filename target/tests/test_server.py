"""The real server: ``python -m target serve`` as a subprocess, spoken to over real sockets."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

REPO_ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(
    r"^target ready: http://127\.0\.0\.1:(?P<port>\d+) ws://127\.0\.0\.1:(?P=port)/ws/permissions/"
    r" pid=(?P<pid>\d+) instance=(?P<instance>[0-9a-f-]{36})$"
)


@dataclass
class Served:
    process: subprocess.Popen
    port: int
    pid: int
    instance: str

    def url(self, path: str, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def stop(self) -> float:
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(10)
        return time.monotonic() - started


def start(*args: str) -> Served:
    process = subprocess.Popen(
        [sys.executable, "-m", "target", "serve", "--port", "0", *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline().rstrip("\n")
    match = READY.match(line)
    if not match:
        process.kill()
        raise AssertionError(f"no ready line: {line!r}\n{process.stderr.read()}")
    return Served(process, int(match["port"]), int(match["pid"]), match["instance"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = start("--db", str(tmp_path_factory.mktemp("db") / "target.sqlite3"))
    yield served
    served.stop()


def http(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def login(server: Served, username: str, kind: str = "drf") -> str:
    body = {"username": username, "password": f"{username}-pass", "kind": kind}
    status, answer = http("POST", server.url("/api/auth/token/"), body)
    assert status == 200, answer
    return answer["token"]


def test_ready_line_and_healthz(server: Served) -> None:
    assert server.pid == server.process.pid  # Daphne runs in-process
    status, health = http("GET", server.url("/healthz"))
    assert status == 200
    assert health == {
        "status": "ok",
        "pid": server.pid,
        "instance_id": server.instance,
        "version": health["version"],
        "channel_layer": "InMemoryChannelLayer",
        "faults": [],
        "confirm_on": "accept",
        "bad_token_policy": "strict",
    }


def test_login(server: Served) -> None:
    status, answer = http(
        "POST", server.url("/api/auth/token/"), {"username": "teacher", "password": "teacher-pass"}
    )
    assert status == 200 and answer["user_id"] == 2 and len(answer["token"]) == 40
    status, answer = http(
        "POST",
        server.url("/api/auth/token/?kind=jwt"),
        {"username": "admin", "password": "admin-pass"},
    )
    assert status == 200 and answer["user_id"] == 1 and answer["token"].count(".") == 2
    for body, code in [
        ({"username": "teacher", "password": "wrong"}, 401),
        ({"username": "inactive", "password": "inactive-pass"}, 401),
        ({"username": "teacher"}, 400),
    ]:
        status, answer = http("POST", server.url("/api/auth/token/"), body)
        assert status == code and answer["error"]


def test_websocket_session_with_push(server: Served) -> None:
    async def scenario() -> None:
        token = login(server, "teacher", "jwt")
        url = server.url(f"/ws/permissions/2/?token={token}", "ws")
        async with (
            connect(url) as ws,
            connect(server.url("/ws/permissions/anonymous", "ws")) as anon,
        ):
            confirmed = json.loads(await ws.recv())
            assert confirmed["type"] == "connection_confirmed"
            assert confirmed["data"]["user_id"] == 2
            assert json.loads(await anon.recv())["data"]["user_id"] == 0
            await ws.send(json.dumps({"type": "ping"}))
            assert json.loads(await ws.recv())["type"] == "heartbeat_response"
            body = {"type": "permission_changed", "data": {"trace": "t"}, "user_id": 2}
            status, answer = await asyncio.to_thread(
                http, "POST", server.url("/api/permissions/notify/"), body, login(server, "admin")
            )
            assert status == 202 and answer["sent_to"] == ["user_2"]
            push = json.loads(await asyncio.wait_for(ws.recv(), 2))
            assert push["data"] == {"trace": "t", "userId": 2}
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(anon.recv(), 0.2)

    asyncio.run(scenario())


async def closed_with(url: str, payload: str | bytes) -> int | None:
    async with connect(url, max_size=None) as ws:
        await ws.recv()
        await ws.send(payload)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 3)
        return closed.value.rcvd.code if closed.value.rcvd else None


def test_close_codes_over_a_real_socket(server: Served) -> None:
    url = server.url("/ws/permissions/", "ws")
    assert asyncio.run(closed_with(url, b"\x00binary")) == 1003
    assert asyncio.run(closed_with(url, "x" * 65537)) == 1009

    async def refused(path: str) -> int | None:
        async with connect(server.url(path, "ws")) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            return closed.value.rcvd.code if closed.value.rcvd else None

    assert asyncio.run(refused("/ws/permissions/?token=bad")) == 4001
    assert asyncio.run(refused("/ws/permissions/2/")) == 4001


def handshake_status(url: str, headers: dict[str, str] | None = None) -> int:
    async def attempt() -> int:
        try:
            async with connect(url, additional_headers=headers or {}):
                return 101
        except InvalidStatus as exc:
            return exc.response.status_code

    return asyncio.run(attempt())


def test_handshake_refusals(server: Served) -> None:
    url = server.url("/ws/permissions/", "ws")
    assert handshake_status(url, {"Origin": "http://evil.example"}) == 403
    assert handshake_status(url, {"Origin": "http://localhost:3000"}) == 101
    assert handshake_status(server.url("/ws/nowhere/", "ws")) == 500  # stock Channels


def test_notify_cli_through_the_running_server(server: Served) -> None:
    async def scenario() -> None:
        async with connect(server.url("/ws/permissions/anonymous", "ws")) as anon:
            await anon.recv()
            result = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "target", "notify", "--type", "system_notification",
                 "--global", "--data", '{"message": "from cli"}', "--url", server.url("")],
                cwd=REPO_ROOT, capture_output=True, text=True, timeout=20,
            )  # fmt: skip
            assert result.returncode == 0, result.stderr
            assert json.loads(result.stdout)["sent_to"] == ["global_notifications"]
            push = json.loads(await asyncio.wait_for(anon.recv(), 2))
            assert push["type"] == "system_notification"
            assert push["data"] == {"message": "from cli"}

    asyncio.run(scenario())


def test_port_in_use_exits_2_naming_the_holder(server: Served) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "target", "serve", "--port", str(server.port)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"target: cannot listen on 127.0.0.1:{server.port}: port in use by")
    assert f"pid {server.pid} (" in lines[0] and lines[0].endswith("; pick another --port")


def test_unknown_fault_exits_2_listing_valid_names() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "target", "serve", "--faults", "http_only,bogus"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "bogus" in result.stderr
    assert "valid faults: http_only," in result.stderr


def test_http_only_fault_answers_404_and_stops_fast() -> None:
    served = start("--faults", "http_only", "--confirm-on", "connect", "-v")  # -v: stdout intact
    try:
        assert handshake_status(served.url("/ws/permissions/anonymous", "ws")) == 404
        status, health = http("GET", served.url("/healthz"))
        assert status == 200 and health["faults"] == ["http_only"]
        assert health["confirm_on"] == "connect" and health["pid"] == served.pid
        with socket.create_connection(("127.0.0.1", served.port)):
            pass
    finally:
        elapsed = served.stop()
    assert served.process.returncode == 0
    assert elapsed < 1.0, f"SIGTERM took {elapsed:.2f}s"


def test_a_stopped_server_still_removes_its_temporary_database(tmp_path: Path) -> None:
    # It leaves without the interpreter's teardown (target.__main__.leave_at_once); the exit
    # handlers must not be skipped with it.
    process = subprocess.Popen(
        [sys.executable, "-m", "target", "serve", "--port", "0"],
        cwd=REPO_ROOT,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert READY.match(process.stdout.readline().rstrip("\n"))
    assert [p.name for p in tmp_path.glob("target-db-*")], "the database is in TMPDIR"
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=10)
    assert process.returncode == 0
    assert not list(tmp_path.glob("target-db-*")), "the temporary database outlived the server"
