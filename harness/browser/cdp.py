"""A headless Chromium driven over the DevTools protocol (CDP): the only place that talks to it.

Debian's ``chromium`` package, never a downloaded browser. ``Chromium.launch`` starts it in
its own process group with a throw-away profile and ``--remote-debugging-port=0`` (it picks a
free loopback port and writes it to ``DevToolsActivePort``), then connects to the browser's
DevTools endpoint. ``close`` always ends the whole process group and removes the profile, so
no Chromium outlives a test session.

    with Chromium.launch() as chromium:
        with chromium.page() as page:          # a fresh browser context: its own cookie jar
            page.navigate("http://127.0.0.1:8000/")
            page.evaluate("document.title")

Each page gets its own DevTools WebSocket (``/devtools/page/<id>``), so its commands and
events need no session routing. Commands are synchronous: ``send`` waits (bounded) for the
answer and keeps the events that arrive meanwhile, for ``wait_event`` and ``take_events``.
Problems a user can fix (no Chromium installed, a Chromium that does not start) raise
``BrowserError`` with one line.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect

from harness.errors import HarnessError

BINARIES = ("chromium", "chromium-browser")  # Debian's package, and its older name
TIMEOUT = 20.0  # seconds for Chromium to start, and for one DevTools command
_LOG_TAIL = 5


class BrowserError(HarnessError):
    """Chromium is missing, did not start, or a DevTools command failed (one line)."""


class BrowserUnavailable(BrowserError):
    """No Chromium is installed (a test skips, or fails where the environment requires it)."""


def find_chromium(binary: str | None = None) -> str:
    """The Chromium to run: ``binary`` (a path or a name on PATH), else Debian's package."""
    for name in (binary,) if binary else BINARIES:
        found = shutil.which(name)
        if found is not None:
            return found
    wanted = f"{binary!r} is not an executable" if binary else "no chromium on PATH"
    raise BrowserUnavailable(
        f"{wanted}: install Debian's package (apt-get install chromium); no browser is downloaded"
    )


def chromium_arguments(profile: Path, host_rules: Sequence[str] = ()) -> list[str]:
    """Headless, DevTools on loopback, and no background traffic of its own.

    Local Network Access checks are off: the harness's pages are answered by DevTools
    (``Fetch``), which Chromium counts as public, and a public page may not open a loopback
    socket. A deployed server is not on loopback, so those checks say nothing about it.
    """
    arguments = [
        "--headless",
        "--no-sandbox",  # containers and CI run as root, where the sandbox cannot start
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-dev-shm-usage",
        "--metrics-recording-only",
        "--disable-features=LocalNetworkAccessChecks",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
    ]
    if host_rules:
        arguments.append(f"--host-resolver-rules={', '.join(host_rules)}")
    return [*arguments, "about:blank"]


class DevTools:
    """One DevTools WebSocket (the browser's or a page's): commands, answers and events."""

    def __init__(self, url: str, timeout: float = TIMEOUT) -> None:
        self._closing = ExitStack()
        try:
            self.socket: ClientConnection = self._closing.enter_context(
                connect(url, max_size=None, open_timeout=timeout)
            )
        except (OSError, WebSocketException, TimeoutError) as exc:
            raise BrowserError(f"DevTools at {url} refused the connection: {exc}") from None
        self.events: list[dict[str, Any]] = []
        self._answers: list[dict[str, Any]] = []  # answers to posted commands, not yet taken
        self._next_id = 0

    def close(self) -> None:
        self._closing.close()

    def send(self, method: str, timeout: float = TIMEOUT, **params: Any) -> dict[str, Any]:
        """One command; its result (a DevTools error is a BrowserError)."""
        return self.answer(self.post(method, **params), method, timeout)

    def post(self, method: str, **params: Any) -> int:
        """Send a command without waiting; ``answer(id)`` waits for its result. For commands
        that answer only after events the caller must handle first (a navigation whose
        request the caller fulfils)."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        try:
            self.socket.send(json.dumps(message))
        except (OSError, WebSocketException) as exc:
            raise BrowserError(f"{method}: the DevTools connection broke: {exc}") from None
        return self._next_id

    def answer(self, command: int, method: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The result of ``command`` (a ``post`` id); events meanwhile are kept."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((a for a in self._answers if a.get("id") == command), None)
            if found is not None:
                self._answers.remove(found)
                break
            self._receive(deadline, method)
        if "error" in found:
            raise BrowserError(f"{method}: {found['error'].get('message', found['error'])}")
        return found.get("result", {})

    def wait_event(
        self,
        method: str,
        timeout: float = TIMEOUT,
        where: Callable[[dict[str, Any]], bool] = lambda params: True,
    ) -> dict[str, Any]:
        """The params of the first event ``method`` matching ``where`` (removed from events)."""
        deadline = time.monotonic() + timeout
        while True:
            for index, event in enumerate(self.events):
                if event.get("method") == method and where(event.get("params", {})):
                    return self.events.pop(index).get("params", {})
            self._receive(deadline, method)

    def take_events(self, prefix: str) -> list[dict[str, Any]]:
        """Remove and return the events whose method starts with ``prefix``."""
        taken = [e for e in self.events if str(e.get("method", "")).startswith(prefix)]
        self.events = [e for e in self.events if not str(e.get("method", "")).startswith(prefix)]
        return taken

    def _receive(self, deadline: float, waiting_for: str) -> None:
        try:
            raw = self.socket.recv(timeout=max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            raise BrowserError(f"{waiting_for}: no answer from Chromium in time") from None
        except (OSError, WebSocketException) as exc:
            raise BrowserError(f"{waiting_for}: the DevTools connection broke: {exc}") from None
        message = json.loads(raw)
        (self._answers if "id" in message else self.events).append(message)


class Chromium:
    """One Chromium process and its browser-level DevTools connection. Use ``launch``."""

    def __init__(
        self, process: subprocess.Popen[bytes], profile: tempfile.TemporaryDirectory[str]
    ) -> None:
        self.process = process
        self._profile = profile
        self.log_path = Path(profile.name) / "chromium.log"
        self.devtools: DevTools | None = None
        self.address = ""  # host:port of DevTools

    @classmethod
    def launch(
        cls,
        binary: str | None = None,
        *,
        host_rules: Sequence[str] = (),
        timeout: float = TIMEOUT,
    ) -> Chromium:
        """Start Chromium and connect to it; ``host_rules``: ``--host-resolver-rules`` entries."""
        path = find_chromium(binary)
        profile = tempfile.TemporaryDirectory(prefix="ws-harness-chromium-")
        try:
            with (Path(profile.name) / "chromium.log").open("wb") as log:
                process = subprocess.Popen(
                    [path, *chromium_arguments(Path(profile.name) / "profile", host_rules)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: close() ends every helper
                )
        except OSError as exc:
            profile.cleanup()
            raise BrowserError(f"{path} did not start: {exc}") from None
        chromium = cls(process, profile)
        try:
            port, browser_path = chromium._devtools_port(timeout, path)
            chromium.address = f"127.0.0.1:{port}"
            chromium.devtools = DevTools(f"ws://{chromium.address}{browser_path}", timeout)
        except BaseException:
            chromium.close()
            raise
        return chromium

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _devtools_port(self, timeout: float, path: str) -> tuple[str, str]:
        port_file = Path(self._profile.name) / "profile" / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrowserError(
                    f"{path} exited with {self.process.returncode} before opening DevTools: "
                    f"{self.log_tail() or 'no output'}"
                )
            lines = port_file.read_text().split() if port_file.exists() else []
            if len(lines) == 2:
                return lines[0], lines[1]
            time.sleep(0.05)
        raise BrowserError(
            f"{path} opened no DevTools port within {timeout:g} s: {self.log_tail() or 'no output'}"
        )

    def log_tail(self) -> str:
        """Chromium's last lines of output, on one line (for error messages)."""
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(line.strip() for line in lines[-_LOG_TAIL:])

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """A browser-level command (``Target.*``, ``Browser.*``)."""
        if self.devtools is None:
            raise BrowserError("the browser is closed")
        return self.devtools.send(method, **params)

    @contextmanager
    def page(self) -> Iterator[Page]:
        """A new tab in a new browser context (its own cookies and storage), closed after."""
        context = self.send("Target.createBrowserContext", disposeOnDetach=True)
        context_id = context["browserContextId"]
        page: Page | None = None
        try:
            target = self.send(
                "Target.createTarget", url="about:blank", browserContextId=context_id
            )
            page = Page(DevTools(f"ws://{self.address}/devtools/page/{target['targetId']}"))
            page.send("Page.enable")
            yield page
        finally:
            if page is not None:
                page.devtools.close()
            if self.devtools is not None and self.process.poll() is None:
                with suppress(BrowserError):  # the browser is going away; close() ends it
                    self.send("Target.disposeBrowserContext", browserContextId=context_id)

    def close(self) -> None:
        """Close DevTools, end Chromium's process group, remove the profile."""
        devtools, self.devtools = self.devtools, None
        if devtools is not None:
            devtools.close()
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(5)
        with suppress(ProcessLookupError, PermissionError):  # helpers may outlive the main one
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.wait(5)
        self._profile.cleanup()


class Page:
    """One tab, with its own DevTools connection."""

    def __init__(self, devtools: DevTools) -> None:
        self.devtools = devtools

    def send(self, method: str, timeout: float = TIMEOUT, **params: Any) -> dict[str, Any]:
        return self.devtools.send(method, timeout, **params)

    def navigate(self, url: str, timeout: float = TIMEOUT) -> None:
        """Load ``url`` and wait for its load event; a failed navigation is a BrowserError."""
        self.devtools.take_events("Page.loadEventFired")
        answer = self.send("Page.navigate", url=url)
        if answer.get("errorText"):
            raise BrowserError(f"navigating to {url} failed: {answer['errorText']}")
        self.devtools.wait_event("Page.loadEventFired", timeout)

    def evaluate(self, expression: str, timeout: float = TIMEOUT, awaited: bool = False) -> Any:
        """The value of a JavaScript expression (a promise's value when ``awaited``)."""
        result = self.send(
            "Runtime.evaluate",
            timeout=timeout,
            expression=expression,
            returnByValue=True,
            awaitPromise=awaited,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"JavaScript failed: {text}")
        return result.get("result", {}).get("value")
