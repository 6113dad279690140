"""The Chromium client and the page-socket driver on their own: bad binaries give one line,
Chromium never outlives ``close``, and a page's WebSocket is judged by the protocol session
(hello after open, the confirmation's user, refusals at and after the handshake, silence).

The server here is a few lines of ``websockets`` on a free loopback port speaking a made-up
protocol, so the driver's decisions are seen without Django. Chromium is Debian's package:
skipped without it, failing where ``WS_HARNESS_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path

import psutil
import pytest
from websockets.sync.server import ServerConnection, serve

from harness.browser.cdp import BrowserError, BrowserUnavailable, Chromium, find_chromium
from harness.browser.page_socket import BrowserAttempt, Waits, open_socket, serve_page
from harness.browser.plugin import unavailable
from harness.client import Transcript
from harness.protocol import ProtocolSession, ProtocolSpec

pytestmark = pytest.mark.browser

SPEC = ProtocolSpec(
    type_field="kind",
    confirmation="welcome",
    confirm_after="connect",
    hello={"kind": "hi"},
    user_field="who",
    liveness={"kind": "ping"},
    replies={"ping": ("pong",)},
)
WAITS = Waits(connect=2.0, reply=1.0, close=0.5)


def _group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _gone(pid: int, within: float = 5.0) -> bool:
    """The process ended (a zombie waiting for init to reap it counts) within ``within`` s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


# -- bad input: one line each ---------------------------------------------------------------


def test_no_chromium_is_one_line_naming_the_package() -> None:
    with pytest.raises(BrowserUnavailable) as caught:
        find_chromium("/nonexistent/chromium")
    message = str(caught.value)
    assert "\n" not in message
    assert "/nonexistent/chromium" in message and "apt-get install chromium" in message


def _fake(tmp_path: Path, body: str) -> str:
    script = tmp_path / "fake-chromium"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_a_chromium_that_exits_is_one_line_with_its_output(tmp_path: Path) -> None:
    fake = _fake(tmp_path, 'echo "cannot open display" >&2; exit 3')
    with pytest.raises(BrowserError) as caught:
        Chromium.launch(fake, timeout=5)
    message = str(caught.value)
    assert "\n" not in message
    assert "exited with 3 before opening DevTools" in message and "cannot open display" in message


def test_a_chromium_that_never_opens_devtools_is_ended_with_its_children(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    fake = _fake(tmp_path, f"sleep 60 & echo $$ $! > {pids}; wait")
    with pytest.raises(BrowserError, match=r"opened no DevTools port within 1 s"):
        Chromium.launch(fake, timeout=1)
    assert all(_gone(int(pid)) for pid in pids.read_text().split())


# -- a real Chromium ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    try:
        find_chromium()
    except BrowserUnavailable as exc:
        unavailable(str(exc))
    browser = Chromium.launch()
    yield browser
    browser.close()


def test_close_ends_chromium_and_removes_its_profile() -> None:
    try:
        browser = Chromium.launch()
    except BrowserUnavailable as exc:
        unavailable(str(exc))
    profile = browser.log_path.parent
    assert profile.exists()
    group = [p.pid for p in psutil.process_iter() if _group(p.pid) == browser.process.pid]
    assert len(group) > 1  # Chromium runs helpers in its group
    browser.close()
    assert all(_gone(pid) for pid in group)
    assert not profile.exists()


def _handler(connection: ServerConnection) -> None:
    """``/hello/<who>``: welcome (as <who>) after the hello, pong each ping (``.../then-close``:
    close instead); ``/close``: close 4003 after accept; ``/silent``: accept, say nothing."""
    path = connection.request.path if connection.request else "/"
    if path == "/close":
        connection.close(4003, "forbidden")
        return
    for text in connection:
        message = json.loads(text)
        if path.startswith("/hello/") and message.get("kind") == "hi":
            connection.send(json.dumps({"kind": "welcome", "who": int(path.split("/")[2])}))
        elif path.startswith("/hello/") and message.get("kind") == "ping":
            if path.endswith("/then-close"):
                connection.close(1000)
                return
            connection.send(json.dumps({"kind": "pong"}))


def _refuse(connection: ServerConnection, request: object) -> object:
    if getattr(request, "path", "") == "/refuse":
        return connection.respond(HTTPStatus.FORBIDDEN, "no\n")
    return None


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve(_handler, "127.0.0.1", 0, process_request=_refuse) as running:
        thread = threading.Thread(target=running.serve_forever, daemon=True)
        thread.start()
        port = running.socket.getsockname()[1]
        yield f"127.0.0.1:{port}"
        running.shutdown()
        thread.join(5)


def _open(
    chromium: Chromium,
    server: str,
    path: str,
    user_id: int | None,
    liveness: bool = False,
    waits: Waits = WAITS,
) -> tuple[BrowserAttempt, Transcript]:
    transcript = Transcript()
    with chromium.page() as page:
        origin = serve_page(page, f"http://{server}/page")
        assert origin == f"http://{server}"
        session = ProtocolSession(SPEC, user_id=user_id)
        attempt = open_socket(
            page, f"ws://{server}{path}", session, waits, transcript=transcript, liveness=liveness
        )
    return attempt, transcript


def test_the_hello_is_sent_and_the_confirmation_judged(chromium: Chromium, server: str) -> None:
    attempt, transcript = _open(chromium, server, "/hello/7", 7, liveness=True)
    assert attempt.accepted and not attempt.problem, attempt.describe()
    assert attempt.confirmed is not None and attempt.confirmed.user_id == 7
    assert attempt.origin_sent == f"http://{server}" and attempt.status == 101
    assert attempt.liveness is not None and 0 <= attempt.liveness < WAITS.reply
    sent = [
        frame.text for frame in transcript if frame.kind == "text" and frame.direction == "sent"
    ]
    assert sent == ['{"kind": "hi"}', '{"kind": "ping"}']


def test_a_close_instead_of_the_liveness_reply_is_a_problem(
    chromium: Chromium, server: str
) -> None:
    attempt, _ = _open(chromium, server, "/hello/7/then-close", 7, liveness=True)
    assert attempt.confirmed is not None and attempt.liveness is None
    assert attempt.problem == 'no reply to the liveness request {"kind": "ping"} (closed 1000)'
    assert attempt.describe().endswith("then closed 1000; " + attempt.problem)


def test_a_confirmation_naming_another_user_is_a_problem(chromium: Chromium, server: str) -> None:
    attempt, _ = _open(chromium, server, "/hello/8", 7)
    assert attempt.confirmed is not None
    assert "who is 8; documented: 7" in attempt.problem
    assert "ACCEPTED, confirmed as user 8" in attempt.describe()


def test_a_close_after_the_handshake_is_a_refusal(chromium: Chromium, server: str) -> None:
    attempt, transcript = _open(chromium, server, "/close", None)
    assert attempt.opened and attempt.close_code == 4003 and not attempt.accepted
    assert attempt.describe().endswith("refused (closed 4003 after the handshake)")
    assert any(frame.kind == "close" and frame.close_code == 4003 for frame in transcript)


def test_a_refused_handshake_reports_its_http_status(chromium: Chromium, server: str) -> None:
    attempt, _ = _open(chromium, server, "/refuse", None)
    assert not attempt.opened and not attempt.accepted
    assert attempt.status == 403 and attempt.describe().endswith("refused (HTTP 403)")


def test_silence_instead_of_the_confirmation_is_not_accepted(
    chromium: Chromium, server: str
) -> None:
    attempt, _ = _open(chromium, server, "/silent", None, waits=Waits(0.5, 0.3, 0.3))
    assert attempt.opened and attempt.confirmed is None and not attempt.accepted
    assert attempt.problem == "no 'welcome' confirmation arrived"
