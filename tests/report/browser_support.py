"""A headless Chromium driven over the DevTools protocol, and a PNG reader, for the report tests.

Debian's ``chromium`` package only (no browser download): ``chromium_binary()`` skips with the
reason where none is installed and fails under ``WS_HARNESS_REQUIRE_SERVICES=1`` (CI installs
it in ``.ci/run``). The browser listens on a port it picks itself (``--remote-debugging-port=0``,
read back from ``DevToolsActivePort``), on loopback, and runs in its own process group, which
``close()`` ends.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import struct
import subprocess
import time
import zlib
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

TIMEOUT = 20.0 * float(os.environ.get("WS_HARNESS_TIMEOUT_FACTOR", "1"))
WIDTH, HEIGHT = 1400, 1000


def chromium_binary() -> str:
    """The installed Chromium; skip (or fail, where CI requires it) without one."""
    for name in ("chromium", "chromium-browser"):
        binary = shutil.which(name)
        if binary is not None:
            return binary
    problem = "no chromium on PATH: apt-get install chromium (Debian's package)"
    if os.environ.get("WS_HARNESS_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{problem} (WS_HARNESS_REQUIRE_SERVICES=1: the browser tests must run)")
    pytest.skip(f"{problem} (CI sets WS_HARNESS_REQUIRE_SERVICES=1 to make this a failure)")


class Browser:
    """One headless Chromium and one page, driven by DevTools commands (``send``)."""

    def __init__(self, binary: str, profile: Path) -> None:
        self.log = profile / "chromium.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    binary,
                    "--headless",
                    "--no-sandbox",  # CI runs as root
                    "--disable-gpu",
                    "--no-first-run",
                    "--hide-scrollbars",
                    "--remote-debugging-address=127.0.0.1",
                    "--remote-debugging-port=0",
                    f"--user-data-dir={profile}",
                    f"--window-size={WIDTH},{HEIGHT}",
                    "about:blank",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._id = 0
        self._stack = ExitStack()
        self.events: list[dict[str, Any]] = []
        try:
            url = self._devtools_url(profile / "DevToolsActivePort")
            self.socket: ClientConnection = self._stack.enter_context(
                connect(url, max_size=None, open_timeout=TIMEOUT)
            )
            target = self.send("Target.createTarget", url="about:blank")["targetId"]
            self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)[
                "sessionId"
            ]
            # the viewport exactly WIDTH x HEIGHT (--window-size includes the window's frame)
            self.send(
                "Emulation.setDeviceMetricsOverride",
                page=True,
                width=WIDTH,
                height=HEIGHT,
                deviceScaleFactor=1,
                mobile=False,
            )
        except BaseException:
            self.close()
            raise

    def _devtools_url(self, port_file: Path) -> str:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"chromium exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}"
                )
            lines = port_file.read_text().split() if port_file.exists() else []
            if len(lines) == 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            time.sleep(0.05)
        raise AssertionError(f"chromium opened no DevTools port within {TIMEOUT}s: {self.log}")

    def send(self, method: str, *, page: bool = False, **params: Any) -> dict[str, Any]:
        """One command (to the page when ``page``); events that arrive meanwhile are kept."""
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if page:
            message["sessionId"] = self.session
        self.socket.send(json.dumps(message))
        deadline = time.monotonic() + TIMEOUT
        while True:
            answer = json.loads(self.socket.recv(timeout=max(0.0, deadline - time.monotonic())))
            if answer.get("id") != self._id:
                self.events.append(answer)
                continue
            if "error" in answer:
                raise AssertionError(f"{method}: {answer['error']}")
            return answer["result"]

    def wait_event(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT
        while True:
            for index, event in enumerate(self.events):
                if event.get("method") == method:
                    return self.events.pop(index)
            self.events.append(
                json.loads(self.socket.recv(timeout=max(0.0, deadline - time.monotonic())))
            )

    def open(self, url: str) -> None:
        """Navigate the page and wait for its load event."""
        self.send("Page.enable", page=True)
        self.events.clear()
        self.send("Page.navigate", page=True, url=url)
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", page=True, expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def click(self, selector: str) -> None:
        """A real mouse click at the element's centre (scrolled into view first)."""
        box = self.evaluate(
            f"(() => {{ const el = document.querySelector({json.dumps(selector)});"
            " el.scrollIntoView({block: 'center'}); const r = el.getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        x, y = box
        for kind in ("mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent",
                page=True,
                type=kind,
                x=x,
                y=y,
                button="left",
                clickCount=1,
            )

    def screenshot(self, path: Path, selector: str | None = None) -> bytes:
        """A PNG of the viewport, or of one element (``selector``), also written to ``path``."""
        params: dict[str, Any] = {"format": "png"}
        if selector is not None:
            x, y, width, height = self.evaluate(
                f"(() => {{ const el = document.querySelector({json.dumps(selector)});"
                " el.scrollIntoView({block: 'center'}); const r = el.getBoundingClientRect();"
                " return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height]; })()"
            )
            params["clip"] = {"x": x, "y": y, "width": width, "height": height, "scale": 1}
        data = base64.b64decode(self.send("Page.captureScreenshot", page=True, **params)["data"])
        path.write_bytes(data)
        return data

    def close(self) -> None:
        self._stack.close()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(TIMEOUT)


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB(A) bytes) of an 8-bit, non-interlaced PNG (what Chromium
    writes), so a test can look at colours without an imaging library."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, chunks, header = 8, [], b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, "unexpected PNG format"
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                estimate = left + up - corner
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
                best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + best) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, [bytes(row) for row in rows]


def count_colour(data: bytes, rgb: tuple[int, int, int], tolerance: int = 6) -> int:
    """How many pixels of a PNG are within ``tolerance`` of a colour."""
    width, _, rows = png_pixels(data)
    channels = len(rows[0]) // width
    count = 0
    for row in rows:
        for x in range(0, len(row), channels):
            if all(abs(row[x + c] - rgb[c]) <= tolerance for c in range(3)):
                count += 1
    return count
