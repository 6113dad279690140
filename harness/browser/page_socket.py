"""A WebSocket opened by a page in Chromium, judged by the protocol session.

The page's JavaScript only moves bytes: it opens the socket and logs what happens (open,
text, binary, close). This driver reads the log back over DevTools and hands every event to
a ``ProtocolSession``, which decides what is a confirmation and whether it names the right
user, and which reply answers the liveness request: the same judgement as for any other
client, with the browser's own handshake (its Origin, its cookies).

Where the page comes from: ``serve_page`` answers the page's navigation itself (DevTools
``Fetch``), with an empty document, so the page has exactly the origin of its URL without
asking the server under test for anything, and a foreign origin needs neither DNS nor a
second server. The WebSocket itself is never intercepted: it goes to the server.

What the browser sent and got in the handshake (its Origin and Cookie headers, the HTTP
status of a refusal, which JavaScript never sees) comes from the ``Network`` domain.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from harness.browser.cdp import BrowserError, Page
from harness.client import Transcript
from harness.protocol import ProtocolSession
from harness.protocol.events import Confirmed, Reply, Request

POLL_MS = 100  # the longest a log read waits inside the page for something new
_DOCUMENT = b"<!doctype html><meta charset=utf-8><title>ws-harness browser check</title>"
_REFUSED = re.compile(r"Unexpected response code: (\d+)")

# The page's side: open the socket, log every event, hand the log out from index n on.
_OPEN_SOCKET = """
(() => {
  const log = [];
  const socket = new WebSocket(%(url)s, %(protocols)s);
  socket.binaryType = "arraybuffer";
  socket.onopen = () => log.push({kind: "open", protocol: socket.protocol});
  socket.onmessage = (e) => log.push(typeof e.data === "string"
    ? {kind: "text", data: e.data} : {kind: "binary", size: e.data.byteLength});
  socket.onclose = (e) => log.push({kind: "close", code: e.code, reason: e.reason});
  window.__wsHarness = {socket, log, after: (n, ms) => new Promise((resolve) => {
    const until = Date.now() + ms;
    const look = () => (log.length > n || Date.now() >= until)
      ? resolve(log.slice(n)) : setTimeout(look, 5);
    look();
  })};
  return true;
})()
"""


def serve_page(page: Page, url: str) -> str:
    """Load an empty document at ``url`` (answered by the harness, not the network); returns
    the page's origin as the browser sees it."""
    page.send("Fetch.enable", patterns=[{"urlPattern": "*", "resourceType": "Document"}])
    try:
        navigation = page.devtools.post("Page.navigate", url=url)
        paused = page.devtools.wait_event("Fetch.requestPaused")
        page.send(
            "Fetch.fulfillRequest",
            requestId=paused["requestId"],
            responseCode=200,
            responseHeaders=[{"name": "Content-Type", "value": "text/html; charset=utf-8"}],
            body=base64.b64encode(_DOCUMENT).decode(),
        )
        answer = page.devtools.answer(navigation, "Page.navigate")
        if answer.get("errorText"):
            raise BrowserError(f"the page {url} did not load: {answer['errorText']}")
        page.devtools.wait_event("Page.loadEventFired")
    finally:
        page.send("Fetch.disable")
    return str(page.evaluate("location.origin"))


@dataclass
class BrowserAttempt:
    """How one WebSocket opened by a page ended, and what the browser sent."""

    page_origin: str
    origin_sent: str | None = None  # the handshake's Origin header
    cookies_sent: tuple[str, ...] = ()  # cookie names in the handshake's Cookie header
    status: int | None = None  # 101, or the HTTP status of a refused handshake
    opened: bool = False
    confirmed: Confirmed | None = None
    close_code: int | None = None
    liveness: float | None = None  # seconds to the liveness reply, when one was asked for
    problem: str = ""  # what went wrong beyond a refusal (no confirmation, wrong user...)

    @property
    def accepted(self) -> bool:
        """The page got a working connection: opened, and not closed before it confirmed."""
        if not self.opened:
            return False
        return self.confirmed is not None or (self.close_code is None and not self.problem)

    def describe(self) -> str:
        sent = f"Origin {self.origin_sent or '(none)'}"
        if self.cookies_sent:
            sent += f", cookie {', '.join(self.cookies_sent)}"
        if not self.opened:
            how = f"HTTP {self.status}" if self.status else "no handshake answer"
            return f"{sent}: refused ({how})"
        if self.confirmed is None:
            if self.close_code is not None:
                return f"{sent}: refused (closed {self.close_code} after the handshake)"
            return f"{sent}: ACCEPTED {self.problem or '(the protocol declares no confirmation)'}"
        who = "" if self.confirmed.user_id is None else f" as user {self.confirmed.user_id!r}"
        text = f"{sent}: ACCEPTED, confirmed{who}"
        if self.liveness is not None:
            text += f", liveness reply in {self.liveness * 1000:.0f} ms"
        elif self.close_code is not None:
            text += f", then closed {self.close_code}"
        return text + (f"; {self.problem}" if self.problem else "")


@dataclass(frozen=True)
class Waits:
    """Seconds the driver waits: for the handshake plus confirmation, a reply, a close."""

    connect: float
    reply: float
    close: float


def open_socket(
    page: Page,
    url: str,
    session: ProtocolSession,
    waits: Waits,
    *,
    protocols: tuple[str, ...] = (),
    transcript: Transcript | None = None,
    label: str = "browser",
    liveness: bool = False,
) -> BrowserAttempt:
    """Open ``url`` from ``page`` and follow it until confirmed, refused or out of time;
    ask for the liveness reply too when ``liveness``. The socket is closed afterwards."""
    driver = _Driver(page, session, transcript, label)
    attempt = driver.attempt
    page.send("Network.enable")
    page.devtools.take_events("Network.webSocket")
    driver.note(f"page {attempt.page_origin} opens {_without_query(url)}")
    page.evaluate(_OPEN_SOCKET % {"url": json.dumps(url), "protocols": json.dumps(list(protocols))})
    try:
        # 1. the handshake, the hello the session asks for, and the confirmation
        driver.pump(
            lambda: attempt.opened and not session.awaits_confirmation,
            waits.connect + waits.reply,
        )
        if attempt.close_code is not None or not attempt.opened:
            return attempt
        if session.awaits_confirmation:
            attempt.problem = f"no {session.spec.confirmation!r} confirmation arrived"
            return attempt
        # 2. the connection serves: the liveness request gets its documented reply
        if liveness and session.spec.liveness is not None:
            driver.liveness = session.liveness()
            driver.send(driver.liveness.text)
            driver.pump(lambda: attempt.liveness is not None, waits.reply)
            if attempt.liveness is None:
                ended = "" if attempt.close_code is None else f" (closed {attempt.close_code})"
                attempt.problem = f"no reply to the liveness request {driver.liveness.text}{ended}"
        # 3. nothing confirms: a refusal after accept is a close within the close wait
        elif session.spec.confirmation is None:
            driver.pump(lambda: False, waits.close)
        return attempt
    finally:
        page.evaluate("window.__wsHarness && window.__wsHarness.socket.close(1000)")
        driver.handshake()


class _Driver:
    """Moves the page's log into the session and the attempt; sends what the session asks."""

    def __init__(
        self, page: Page, session: ProtocolSession, transcript: Transcript | None, label: str
    ) -> None:
        self.page = page
        self.session = session
        self.transcript = transcript
        self.label = label
        self.seen = 0
        self.liveness: Request | None = None
        self.attempt = BrowserAttempt(page_origin=str(page.evaluate("location.origin")))

    def record(self, direction: str, kind: str, **details: Any) -> None:
        if self.transcript is not None:
            self.transcript.record(self.label, direction, kind, **details)  # type: ignore[arg-type]

    def note(self, text: str) -> None:
        self.record("sent", "note", text=text)

    def send(self, text: str) -> None:
        self.page.evaluate(f"window.__wsHarness.socket.send({json.dumps(text)})")
        self.record("sent", "text", text=text, size=len(text.encode()))

    def pump(self, done: Callable[[], bool], seconds: float) -> None:
        """Read the page's log until ``done()``, a close, or ``seconds`` have passed."""
        deadline = time.monotonic() + seconds
        while not done() and self.attempt.close_code is None:
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0:
                return
            entries = self.page.evaluate(
                f"window.__wsHarness.after({self.seen}, {min(left_ms, POLL_MS)})", awaited=True
            )
            self.seen += len(entries)
            for entry in entries:
                self.feed(entry)

    def feed(self, entry: dict[str, Any]) -> None:
        """One logged page event into the session (and the transcript)."""
        kind, attempt = entry["kind"], self.attempt
        if kind == "open":
            attempt.opened = True
            self.record("received", "handshake", text="HTTP 101 (accepted)")
            hello = self.session.opened()[0].hello
            if hello is not None:
                self.send(hello)
            return
        if kind == "binary":
            self.record("received", "binary", size=entry["size"])
            self.session.receive_binary(b"\0" * entry["size"])
            return
        if kind == "close":
            code = entry.get("code")
            code = None if code == 1006 else code  # 1006: the browser saw no close frame
            attempt.close_code = code if code is not None else 1006
            self.record("received", "close", close_code=code, text=entry.get("reason", ""))
            self.session.receive_close(code, entry.get("reason", ""))
            return
        text = entry["data"]
        self.record("received", "text", text=text, size=len(text.encode()))
        for event in self.session.receive_text(text):
            if isinstance(event, Confirmed):
                attempt.confirmed = event
                attempt.problem = event.problem or ""
            elif isinstance(event, Reply) and event.request is self.liveness:
                attempt.liveness = event.latency

    def handshake(self) -> None:
        """The Origin and cookies the browser sent, and the HTTP status it got."""
        attempt = self.attempt
        for event in self.page.devtools.take_events("Network.webSocket"):
            method, params = event.get("method"), event.get("params", {})
            if method == "Network.webSocketHandshakeResponseReceived":
                response = params.get("response", {})
                attempt.status = response.get("status")
                _request_headers(attempt, response.get("requestHeaders") or {})
            elif method == "Network.webSocketWillSendHandshakeRequest":
                _request_headers(attempt, params.get("request", {}).get("headers") or {})
            elif method == "Network.webSocketFrameError":
                refused = _REFUSED.search(params.get("errorMessage", ""))
                if refused and not attempt.opened:
                    attempt.status = int(refused.group(1))
                    self.record("received", "handshake", text=f"failed: HTTP {attempt.status}")


def _request_headers(attempt: BrowserAttempt, headers: dict[str, str]) -> None:
    lowered = {name.lower(): value for name, value in headers.items()}
    if "origin" in lowered:
        attempt.origin_sent = lowered["origin"]
    if "cookie" in lowered:
        names = [part.split("=", 1)[0].strip() for part in lowered["cookie"].split(";")]
        attempt.cookies_sent = tuple(name for name in names if name)


def _without_query(url: str) -> str:
    """``url`` without its query string (tokens are not shown)."""
    parts = urlsplit(url)
    return url.split("?", 1)[0] + ("?..." if parts.query else "")
