"""Deciding that a server is ready, and that it is the server we started.

Ready means what a client needs, not an open TCP port: a WebSocket handshake on a
configured route succeeds and the first frame (the confirmation) arrives. The wait has
one overall deadline, stops at once when the server has exited, and reports the server's
last log lines with a hint, never a bare timeout.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from harness.auth import Credentials, LoginFailed
from harness.client import ConnectionEnded, ExpectationFailed, HandshakeRejected, WsClient
from harness.config import IdentitySpec, UserSpec
from harness.errors import PortInUseError, TargetExitedError, TargetNotReadyError
from harness.http import HttpError, request_json
from harness.protocol import ProtocolSession, ProtocolSpec
from harness.targets.base import TargetInfo
from harness.targets.ports import listeners


@dataclass(frozen=True)
class NotReady:
    """Why an attempt failed. ``kind`` tells the wait loop whether waiting longer can help."""

    reason: str
    kind: Literal[
        "starting", "refused_upgrade", "no_first_frame", "closed_after_accept", "login_refused"
    ] = "starting"
    status: int | None = None  # the HTTP status of a refused upgrade


class ReadinessProbe(Protocol):
    """One attempt: returns None when ready, or why not (yet)."""

    def __call__(self, info: TargetInfo) -> NotReady | None: ...


# Logs a configured user in against the server's HTTP address and returns how its
# handshake presents the credential (``TokenProvider.credentials``, bound to one user).
Login = Callable[[str], Credentials]


@dataclass(frozen=True)
class WebSocketProbe:
    """Ready when a handshake on ``path`` succeeds and the first frame arrives.

    ``login``/``user``: when every route needs a login, the probe connects as a configured
    user (``target.ready_user``); a login that gets no answer means "still starting", one
    the server refuses is a wrong answer (bad credentials in the config).
    """

    path: str = "/"
    spec: ProtocolSpec = field(default_factory=ProtocolSpec)  # the confirmation convention
    attempt_timeout: float = 2.0
    user: UserSpec | None = None
    login: Login | None = None

    def __call__(self, info: TargetInfo) -> NotReady | None:
        credentials = Credentials()
        if self.login is not None:
            try:
                credentials = self.login(info.http_url)
            except LoginFailed as exc:
                kind = "starting" if exc.status is None else "login_refused"
                return NotReady(str(exc), kind)
        return asyncio.run(self._attempt(info, credentials))

    async def _attempt(self, info: TargetInfo, credentials: Credentials) -> NotReady | None:
        user_id = self.user.user_id if self.user is not None else None
        try:
            # Anonymous: a hello's ${user.*} fields are null. The session sends it if needed.
            client = await WsClient.open(
                info.ws_url + self.path + credentials.query,
                origin=credentials.origin,
                headers=credentials.headers,
                subprotocols=credentials.subprotocols,
                timeout=self.attempt_timeout,
                session=ProtocolSession(self.spec, user_id=user_id, user=self.user),
            )
        except HandshakeRejected as exc:
            kind = "refused_upgrade" if exc.answered else "starting"
            return NotReady(f"{self.path}: {exc.received or exc.title}", kind, exc.status)
        try:
            if self.spec.confirmation is None:
                return None
            await client.receive(self.attempt_timeout)  # the first frame, whatever it is
            return None
        except TimeoutError:
            return NotReady(
                f"{self.path}: handshake accepted but no first frame within {self.attempt_timeout:.1f}s",
                "no_first_frame",
            )
        except ConnectionEnded as exc:
            closed = f"close {exc.code}" if exc.code is not None else "a dropped connection"
            return NotReady(
                f"{self.path}: handshake accepted, then {closed} before any frame",
                "closed_after_accept",
            )
        except ExpectationFailed as exc:
            return NotReady(f"{self.path}: {exc.received or exc.title}")
        finally:
            await client.close()


# A deterministic wrong answer (an HTTP status, a close right after accept) ends the wait
# once it repeats this many times over at least this long: a server still starting may
# briefly answer oddly, one that answers HTTP 404 or closes every connection is wrong.
_WRONG_ANSWER_TRIES = 3
_WRONG_ANSWER_GRACE = 0.5
_HINTS = {
    "refused_upgrade": (
        "something on this port answers HTTP but refuses the WebSocket upgrade (HTTP 404 usually "
        "means an HTTP-only server: runserver without Channels, or an ASGI module that fell back "
        "to HTTP only); run 'ws-harness doctor {url}'"
    ),
    404: (
        "HTTP 404 usually means an HTTP-only server answers (runserver without Channels, an "
        "ASGI module that fell back to HTTP only, or another process on the port); run "
        "'ws-harness doctor {url}'"
    ),
    403: (
        "HTTP 403 at the handshake: an origin or host check refuses this client "
        "(AllowedHostsOriginValidator needs the host in ALLOWED_HOSTS), or the ready route "
        "needs a login; set target.ready_route to a route anonymous clients may open"
    ),
    500: (
        "HTTP 500 at the handshake: Channels answers a path no route matches with 500, so "
        "target.ready_route's path is probably not routed (or routing raised); check the "
        "route's address against the server's websocket_urlpatterns"
    ),
    "no_first_frame": (
        "the server accepts the handshake but sends no first frame; if it confirms only after "
        "the client's hello, set confirmation.after: connect in the config "
        "(confirmation.message: null if it sends none)"
    ),
    "closed_after_accept": (
        "the server is running, but its consumer closes every connection on the ready route "
        "before sending anything: connect() refuses this client (the route needs a login? "
        "set target.ready_user to a configured user) or raises (a missing CHANNEL_LAYERS "
        "setting, a database error); the server log below shows the exception"
    ),
    "login_refused": (
        "the readiness probe logs in as target.ready_user and the server refuses that login; "
        "check that user's username/password and the auth section of the config"
    ),
}


def wait_until_ready(
    info: TargetInfo,
    probe: ReadinessProbe,
    timeout: float,
    exit_status: Callable[[], str | None],
    log_tail: Callable[[], str],
    hint: str = "check the start command and the ready route, or raise --ws-ready-timeout",
) -> None:
    """Probe until ready; raise at once if the server exits, or answers wrongly for too long.

    ``exit_status`` returns None while the server runs, else a description ("exit code 2").
    """
    started = time.monotonic()
    deadline = started + timeout
    delay = 0.02
    wrong_since: float | None = None
    wrong_tries = 0
    while True:
        status = exit_status()
        if status is not None:
            raise TargetExitedError(
                f"the server exited before it was ready ({status}); its log says why", log_tail()
            )
        attempt = probe(info)
        if attempt is None:
            return
        now = time.monotonic()
        # A server still starting resets the count; a wrong answer starts (or keeps) it.
        wrong_since = None if attempt.kind == "starting" else wrong_since or now
        wrong_tries = 0 if wrong_since is None else wrong_tries + 1
        if (
            wrong_since is not None
            and wrong_tries >= _WRONG_ANSWER_TRIES
            and now - wrong_since >= _WRONG_ANSWER_GRACE
        ):
            fitting = _HINTS.get(attempt.status, _HINTS[attempt.kind])  # type: ignore[arg-type]
            raise TargetNotReadyError(
                f"the server at {info.ws_url} is up but not usable: {attempt.reason}. "
                f"Hint: {fitting.format(url=info.ws_url)}",
                log_tail(),
            )
        if now + delay > deadline:
            raise TargetNotReadyError(
                f"the server at {info.ws_url} was not ready after {timeout:.0f}s "
                f"(last attempt: {attempt.reason}). Hint: {hint}",
                log_tail(),
            )
        time.sleep(delay)
        delay = min(delay * 2, 0.05)  # a refused connect costs little; readiness is on the clock


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
    try:
        _, body = request_json("GET", info.http_url + spec.path, timeout=timeout)
    except HttpError:
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
