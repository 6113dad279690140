"""Deciding that a server is ready, and that it is the server we started.

Ready means what a client needs, not an open TCP port: a WebSocket handshake on a
configured route succeeds and the first frame (the confirmation) arrives. The wait has
one overall deadline, stops at once when the server has exited, and reports the server's
last log lines with a hint, never a bare timeout.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.client import ExpectationFailed, WsClient
from harness.config import ConfirmationSpec, IdentitySpec
from harness.errors import PortInUseError, TargetExitedError, TargetNotReadyError
from harness.targets.base import TargetInfo
from harness.targets.ports import listeners


class ReadinessProbe(Protocol):
    """One attempt: returns None when ready, or why not yet (one line)."""

    def __call__(self, info: TargetInfo) -> str | None: ...


@dataclass(frozen=True)
class WebSocketProbe:
    """Ready when a handshake on ``path`` succeeds and the first frame arrives."""

    path: str = "/"
    confirmation: ConfirmationSpec = field(default_factory=ConfirmationSpec)
    attempt_timeout: float = 2.0

    def __call__(self, info: TargetInfo) -> str | None:
        return asyncio.run(self._attempt(info))

    async def _attempt(self, info: TargetInfo) -> str | None:
        try:
            client = await WsClient.open(info.ws_url + self.path, timeout=self.attempt_timeout)
        except ExpectationFailed as exc:
            return exc.received or exc.title
        try:
            if self.confirmation.message is None:
                return None
            if self.confirmation.after == "connect":
                await client.send_json(dict(self.confirmation.connect_message))
            await client.receive(self.attempt_timeout)
            return None
        except TimeoutError:
            return f"handshake accepted but no first frame within {self.attempt_timeout:.1f}s"
        except ExpectationFailed as exc:
            return exc.received or exc.title
        finally:
            await client.close()


def wait_until_ready(
    info: TargetInfo,
    probe: ReadinessProbe,
    timeout: float,
    exit_status: Callable[[], str | None],
    log_tail: Callable[[], str],
    hint: str = "check the start command and the ready route, or raise --ws-ready-timeout",
) -> None:
    """Probe until ready; raise TargetExitedError at once if ``exit_status()`` reports an exit.

    ``exit_status`` returns None while the server runs, else a description ("exit code 2").
    """
    deadline = time.monotonic() + timeout
    delay = 0.02
    reason = "no attempt yet"
    while True:
        status = exit_status()
        if status is not None:
            raise TargetExitedError(
                f"the server exited before it was ready ({status}); its log says why", log_tail()
            )
        reason = probe(info) or ""
        if not reason:
            return
        if time.monotonic() + delay > deadline:
            raise TargetNotReadyError(
                f"the server at {info.ws_url} was not ready after {timeout:.0f}s "
                f"(last attempt: {reason}). Hint: {hint}",
                log_tail(),
            )
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


def check_listeners(info: TargetInfo, ours: set[int]) -> None:
    """Raise PortInUseError if any process outside ``ours`` listens on the port."""
    strangers = [listener for listener in listeners(info.port) if listener.pid not in ours]
    if strangers:
        names = "; ".join(listener.describe() for listener in strangers)
        raise PortInUseError(
            f"port {info.port} is also held by {names}: WebSocket upgrades may reach it instead "
            "of the server under test; stop that process"
        )


def fetch_identity(info: TargetInfo, spec: IdentitySpec, timeout: float = 2.0) -> dict[str, Any]:
    """GET the identity endpoint; {} if it does not answer JSON."""
    request = urllib.request.Request(info.http_url + spec.path, headers={"Accept": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
    try:
        with opener.open(request, timeout=timeout) as response:
            body = json.loads(response.read())
    except (OSError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def verify_identity(
    info: TargetInfo, spec: IdentitySpec, ours: set[int] | None, log_text: str
) -> dict[str, Any]:
    """Prove that what answers is the server we started: its pid and its start id.

    ``ours`` is the set of pids we started (None: the pid cannot be compared, e.g. in a
    container). The id is compared with the one the server wrote in its log.
    """
    identity = fetch_identity(info, spec)
    if not identity:
        return {}
    reported_pid = identity.get(spec.pid_field) if spec.pid_field else None
    if ours is not None and isinstance(reported_pid, int) and reported_pid not in ours:
        raise PortInUseError(
            f"{info.http_url}{spec.path} answered for pid {reported_pid}, not the server the "
            f"harness started (pids {sorted(ours)}): another server answers on port {info.port}"
        )
    if spec.id_field and spec.log_pattern:
        match = re.search(spec.log_pattern, log_text)
        reported_id = identity.get(spec.id_field)
        if match and reported_id is not None and match.group("id") != str(reported_id):
            raise PortInUseError(
                f"{info.http_url}{spec.path} reports {spec.id_field}={reported_id}, but the "
                f"server the harness started logged {match.group('id')}: another server answers"
            )
    return identity
