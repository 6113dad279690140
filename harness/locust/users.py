"""Locust users that speak the permissions WebSocket protocol.

``WebSocketUser`` is the reusable base: one connection per user, driven by the user's own
greenlet (no reader greenlet, no queue: a frame is read where it is awaited). While Locust
makes the user wait between tasks, the user keeps reading its socket instead of sleeping,
so pushes are timed on arrival and server pings are answered. Every measurement is a Locust
request (type ``WS``) and so also lands in the HDR histograms (``harness.locust.plugin``):

=====================  =============================================================
``connect``            TCP connect + opening handshake
``confirm``            handshake done -> the configured confirmation frame
``heartbeat``          heartbeat -> heartbeat_response (through the Django consumer)
``ping``               protocol ping -> pong (answered by Daphne itself)
``permission_check``   request -> response with the same request_id
``push <type>``        trigger (``data.sent_at``) -> arrival, per push type
``connection``         failure only: the server closed while the user was idle
=====================  =============================================================

Failures: timeouts, ``error`` frames or wrong replies, and unexpected closes.
Configuration is class attributes; the command-line options (``--ws-user``,
``--ws-route``, ``--heartbeat-interval``, ...) override them for a run.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import gevent
from locust import User, constant, constant_pacing, events, task
from locust.user.users import LOCUST_STATE_RUNNING, LOCUST_STATE_WAITING

from harness.config import UserSpec
from harness.errors import HarnessError
from harness.locust.context import RunContext
from harness.locust.options import ANONYMOUS
from harness.locust.plugin import install
from harness.locust.pushes import GLOBAL, ConnectionRecord, user_audience
from harness.locust.wsconn import ConnectionClosed, Received, WsConnection, WsError
from harness.push import PushRequest, PushUnavailable
from harness.templates import for_user

install(events)

try:  # orjson parses a reply several times faster than json (the hot path of a heartbeat)
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - optional speed-up
    _loads = json.loads

Match = Callable[[Received, "dict[str, Any] | None"], bool]
_HEARTBEAT = '{"type": "heartbeat", "timestamp": %d}'


class ReplyTimeout(WsError):
    """The awaited reply did not arrive in time."""


class WrongReply(WsError):
    """An ``error`` frame or a reply that does not answer the request."""


class WebSocketUser(User):
    """One WebSocket connection per Locust user; subclasses add ``@task``s.

    Tasks call ``heartbeat()``, ``protocol_ping()``, ``permission_check(...)``, ``connect()``
    and ``disconnect()``; each reports itself and returns whether it succeeded.
    """

    abstract = True
    route: str = "permissions"  # a contract route name (--ws-route)
    route_params: ClassVar[Mapping[str, Any]] = {}  # user_id is filled from the user's config
    ws_users: tuple[str, ...] = (ANONYMOUS,)  # configured user names, round robin (--ws-user)
    heartbeat_interval: float = 5.0  # seconds (--heartbeat-interval)
    headers: ClassVar[Mapping[str, str]] = {}  # extra handshake headers, e.g. Origin
    request_type: str = "WS"
    close_timeout: float = 1.0
    wait_time = constant(0)

    connection: WsConnection | None = None

    def on_start(self) -> None:
        self.context = RunContext.of(self.environment)
        options = self.context.options
        self.heartbeat_interval = options.heartbeat_interval or type(self).heartbeat_interval
        self.user_name = self.context.pick(options.users or self.ws_users)
        self.spec: UserSpec | None = (
            None if self.user_name == ANONYMOUS else self.context.config.user(self.user_name)
        )
        self.timeouts = self.context.config.timeouts
        self._record: ConnectionRecord | None = None
        self._sent = 0
        self._url: str | None = None
        self._matchers: dict[str, Match] = {}
        # Locust sleeps between tasks through the task set's _sleep: read the socket instead.
        self._taskset_instance._sleep = self.idle  # type: ignore[union-attr,method-assign]
        self.connect()

    def on_stop(self) -> None:
        # At a stop every user closes at once; waiting for each server's close frame made
        # stopping 10,000 users take 12 s (the server answers them one by one). Send ours, go.
        self.disconnect(wait=False)

    # ------------------------------------------------------------ addressing
    @property
    def url(self) -> str:
        """The route's URL on ``--host`` plus the user's token (a full ``--host`` URL wins)."""
        if self._url is None:
            host = self.host or ""
            if not host:
                raise HarnessError("no --host: give the server, e.g. --host ws://127.0.0.1:8000")
            if urlsplit(host).path not in ("", "/"):
                url = host
            else:
                route = self.context.contract.route(self.context.options.route or self.route)
                params = dict(self.route_params)
                if self.spec is not None and self.spec.user_id is not None:
                    params.setdefault("user_id", self.spec.user_id)
                url = host.rstrip("/") + route.path(**params)
            if self.spec is not None:
                tokens = self.context.tokens(host)
                query = tokens.query(tokens.token(self.spec.name))
                url += ("&" + query[1:]) if "?" in url else query
            self._url = url
        return self._url

    def audiences(self) -> frozenset[str]:
        """The push audiences this connection belongs to (for lost-push accounting)."""
        if self.spec is None or self.spec.user_id is None:
            return frozenset({GLOBAL})
        return frozenset({GLOBAL, user_audience(self.spec.user_id)})

    # ------------------------------------------------------------ lifecycle
    def connect(self) -> bool:
        """Open the connection and wait for the confirmation (reports connect and confirm)."""
        self.disconnect()
        url = self.url  # resolved (token login included) before the clock starts
        started = time.perf_counter()
        try:
            connection = WsConnection.open(url, self.timeouts.connect, dict(self.headers))
        except (WsError, OSError) as exc:
            self._report("connect", time.perf_counter() - started, exc)
            return False
        opened = time.perf_counter()
        self._report("connect", opened - started)
        self.connection = connection
        confirmation = self.context.config.confirmation
        if confirmation.after == "connect" and not self._send(
            "confirm", opened, for_user(dict(confirmation.connect_message), self.spec)
        ):
            return False
        if confirmation.message and not self._await(
            "confirm", opened, self.timeouts.connect, self._is_confirmation
        ):
            return False
        self._record = self.context.ledger.opened(self.audiences(), time.time())
        return True

    def ensure_connected(self) -> bool:
        return self.connection is not None or self.connect()

    def disconnect(self, wait: bool = True) -> None:
        """Close normally: send a close frame and (``wait``) await the server's, bounded by
        ``close_timeout``. Nothing is reported."""
        connection, self.connection = self.connection, None
        if connection is not None:
            connection.close(timeout=self.close_timeout if wait else 0.0)
        self._forget()

    def _forget(self) -> None:
        if self._record is not None:
            self.context.ledger.closed(self._record, time.time())
            self._record = None

    def _user_id(self) -> int | None:
        return None if self.spec is None else self.spec.user_id

    def _is_confirmation(self, received: Received, message: dict[str, Any] | None) -> bool:
        if message is None or message.get("type") != self.context.config.confirmation.message:
            return False
        expected = self._user_id() or 0
        reported = (message.get("data") or {}).get("user_id") or 0
        if expected != reported:
            raise WrongReply(f"confirmed as user {reported}, expected {expected} (bad token?)")
        return True

    # ------------------------------------------------------------ requests
    def heartbeat(self) -> bool:
        """heartbeat -> heartbeat_response, timed through the server's consumer."""
        text = _HEARTBEAT % int(time.time() * 1000)  # formatted: json.dumps costs more
        return self.request_text("heartbeat", text, self._matcher("heartbeat"))

    def permission_check(self, resource: str, action: str) -> bool:
        request_id = f"{id(self):x}-{self._sent}"
        replies = self.context.replies("permission_check")

        def answers(received: Received, message: dict[str, Any] | None) -> bool:
            if message is None or message.get("type") not in replies:
                return False
            if message.get("request_id") != request_id:
                raise WrongReply("permission_check_response for another request_id")
            return True

        message = {
            "type": "permission_check",
            "resource": resource,
            "action": action,
            "request_id": request_id,
            "timestamp": int(time.time() * 1000),
        }
        return self.request("permission_check", message, answers)

    def protocol_ping(self) -> bool:
        """A protocol-level ping; the server's WebSocket layer answers without the app."""
        if not self.ensure_connected():
            return False
        payload = self._sent.to_bytes(8, "big")
        self._sent += 1
        started = time.perf_counter()
        try:
            self.connection.ping(payload)  # type: ignore[union-attr]
        except ConnectionClosed as exc:
            return self._lost("ping", started, exc)
        return self._await(
            "ping",
            started,
            self.timeouts.reply,
            lambda r, _: r.kind == "pong" and r.data == payload,
        )

    def request(self, name: str, message: Mapping[str, Any], match: Match | None = None) -> bool:
        """Send ``message`` and await its documented reply (from the contract) or ``match``."""
        return self.request_text(name, json.dumps(message), match or self._matcher(message["type"]))

    def request_text(self, name: str, text: str, match: Match) -> bool:
        """Send an encoded message and await the frame ``match`` accepts."""
        if not self.ensure_connected():
            return False
        started = time.perf_counter()
        return self._send_text(name, started, text) and self._await(
            name, started, self.timeouts.reply, match
        )

    def _matcher(self, request_type: str) -> Match:
        matcher = self._matchers.get(request_type)
        if matcher is None:
            replies = self.context.replies(request_type)

            def matcher(received: Received, reply: dict[str, Any] | None) -> bool:
                return reply is not None and reply.get("type") in replies

            self._matchers[request_type] = matcher
        return matcher

    # ------------------------------------------------------------ frames
    def _send(self, name: str, started: float, message: Mapping[str, Any]) -> bool:
        return self._send_text(name, started, json.dumps(message))

    def _send_text(self, name: str, started: float, text: str) -> bool:
        self._sent += 1
        try:
            self.connection.send_text(text)  # type: ignore[union-attr]
        except ConnectionClosed as exc:
            return self._lost(name, started, exc)
        return True

    def _await(self, name: str, started: float, timeout: float, match: Match) -> bool:
        """Read until ``match`` accepts a frame; pushes met on the way are recorded."""
        connection = self.connection
        assert connection is not None
        deadline = started + timeout
        contract = self.context.contract
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                self._report(
                    name,
                    time.perf_counter() - started,
                    ReplyTimeout(f"no {name} reply within {timeout:g} s"),
                )
                return False
            try:
                received = connection.receive(remaining)
            except ConnectionClosed as exc:
                return self._lost(name, started, exc)
            if received is None:
                continue
            message = self._parse(received)
            try:
                if message is not None and message.get("type") == contract.error_message:
                    code = message.get(contract.error_code_field)
                    raise WrongReply(f"error frame {code} in answer to {name}")
                if match(received, message):
                    self._report(name, received.at - started, length=len(received.data))
                    return True
            except WrongReply as exc:
                self._report(name, received.at - started, exc)
                return False

    def idle(self, seconds: float) -> None:
        """Wait ``seconds`` while reading: pushes are timed, pings answered, closes noticed."""
        connection = self.connection
        if connection is None:
            gevent.sleep(seconds)
            return
        deadline = time.perf_counter() + seconds
        while (remaining := deadline - time.perf_counter()) > 0:
            try:
                received = connection.receive(remaining)
            except ConnectionClosed as exc:
                self._lost("connection", time.perf_counter(), exc)
                gevent.sleep(max(deadline - time.perf_counter(), 0))
                return
            if received is None:
                return
            self._parse(received)

    def _parse(self, received: Received) -> dict[str, Any] | None:
        """JSON of a text frame (None otherwise); a push is recorded and swallowed here."""
        if received.kind != "text":
            return None
        try:
            message = _loads(received.data)
        except ValueError:
            return None
        if not isinstance(message, dict):
            return None
        if message.get("type") in self.context.push_types:
            self._on_push(message, received)
            return None
        return message

    def _on_push(self, message: dict[str, Any], received: Received) -> None:
        data = message.get("data")
        sent_at = data.get("sent_at") if isinstance(data, dict) else None
        if not isinstance(sent_at, (int, float)):
            return  # not triggered by us: nothing to time
        arrived = time.time() - (time.perf_counter() - received.at)
        name = f"push {message['type']}"
        audience = data.get("audience")
        record = self._record
        if record is not None and audience is not None and audience not in record.audiences:
            self._report(name, arrived - sent_at, WrongReply(f"push for {audience} delivered here"))
            return
        if record is not None:
            record.received.add(str(data.get("trace")))
        self._report(name, max(arrived - sent_at, 0.0), length=len(received.data))

    def _lost(self, name: str, started: float, exc: ConnectionClosed) -> bool:
        self._report(name, time.perf_counter() - started, exc)
        connection, self.connection = self.connection, None
        if connection is not None:
            connection.abort()
        self._forget()
        return False

    def _report(
        self, name: str, seconds: float, exception: Exception | None = None, length: int = 0
    ) -> None:
        self.environment.events.request.fire(
            request_type=self.request_type,
            name=name,
            response_time=max(seconds, 0.0) * 1000,
            response_length=length,
            exception=exception,
            context={},
        )


class HeartbeatUser(WebSocketUser):
    """A long-lived connection sending a heartbeat every ``heartbeat_interval`` seconds.

    Each user starts at a random phase of the interval and keeps it (its own pacing, not
    Locust's ``constant_pacing``, which counts from the user's creation and so brings the
    phase back). Locust creates users in batches; users created together would beat
    together for the whole run, and a loopback heartbeat would measure the queue behind its
    own burst (measured, 200 users at 1/s: p50 5-9 ms instead of 0.2 ms).
    """

    abstract = True

    def on_start(self) -> None:
        super().on_start()
        self._state = LOCUST_STATE_WAITING  # as in TaskSet.wait: a stop may end the pause
        self.idle(random.random() * self.heartbeat_interval)
        self._state = LOCUST_STATE_RUNNING
        self._next_beat = time.perf_counter()

    def wait_time(self) -> float:
        """Until the next beat on this user's phase; after an overrun, no catch-up burst."""
        now = time.perf_counter()
        self._next_beat = max(self._next_beat + self.heartbeat_interval, now)
        return self._next_beat - now

    # A saturated user (interval shorter than a round trip) beats back-to-back. Returning to
    # Locust's scheduler between such beats costs more CPU than the beat itself, so up to
    # this many overdue beats run in one task call; the user still yields at every socket
    # read, and a stop still ends it between beats.
    max_beats_per_task: int = 64

    @task
    def beat(self) -> None:
        for _ in range(self.max_beats_per_task):
            if not self.heartbeat():
                return
            now = time.perf_counter()
            if self._next_beat + self.heartbeat_interval > now:
                return  # the next beat is not due: wait_time() paces it
            self._next_beat = now  # overdue, as wait_time() would decide: beat now, no catch-up


class PushTriggerUser(User):
    """Triggers ``push_rate`` pushes per second through the configured push trigger.

    Each push carries ``trace``, ``sent_at`` (epoch seconds) and ``audience`` in its data, so
    receiving ``WebSocketUser``s time it and the ledger can count lost pushes.
    """

    abstract = True
    fixed_count = 1
    push_rate: float = 1.0  # per second (--push-rate)
    push_type: str = "permission_changed"  # (--push-type)
    push_audience: str = "primary"  # a configured user, or "global" (--push-audience)
    request_type: str = "PUSH"

    def on_start(self) -> None:
        self.context = RunContext.of(self.environment)
        options = self.context.options
        self.push_rate = options.push_rate or type(self).push_rate
        self.push_type = options.push_type or type(self).push_type
        self.push_audience = options.push_audience or type(self).push_audience
        self.trigger = self.context.push_trigger(self.host or "")
        self._count = 0
        self._prefix = uuid.uuid4().hex[:8]

    def wait_time(self) -> float:
        return constant_pacing(1.0 / self.push_rate)(self)

    def request(self) -> PushRequest:
        trace = f"{self._prefix}-{self._count}"
        self._count += 1
        data: dict[str, Any] = {"trace": trace, "sent_at": time.time()}
        if self.push_audience == GLOBAL:
            data["audience"] = GLOBAL
            return PushRequest(type=self.push_type, audience="global", data=data)
        user_id = self.context.config.user(self.push_audience).user_id
        data["audience"] = user_audience(user_id or 0)
        return PushRequest(type=self.push_type, audience="user", user_id=user_id, data=data)

    @task
    def push(self) -> None:
        request = self.request()
        started = time.perf_counter()
        failure: Exception | None = None
        try:
            self.trigger.send(request)
        except (HarnessError, PushUnavailable) as exc:
            failure = exc
        self.environment.events.request.fire(
            request_type=self.request_type,
            name="trigger",
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=failure,
            context={},
        )
        if failure is None:
            data = request.data
            self.context.ledger.sent(data["trace"], data["sent_at"], data["audience"])
