"""Locust users for WebSocket services, driven by the harness's protocol core.

``WebSocketUser`` is the reusable base: one connection per user, driven by the user's own
greenlet (no reader greenlet, no queue: a frame is read where it is awaited). Each
connection has its own ``harness.protocol.ProtocolSession``, built from the run's contract
and config: the session says which frame confirms the connection (and whether it names the
right user), which reply answers which request, what is an error frame and what is a push
with which trace. This module only moves frames and time and turns the session's events
into Locust requests. While Locust makes the user wait between tasks, the user keeps
reading its socket instead of sleeping, so pushes are timed on arrival and server pings
are answered.

Every measurement is a Locust request (type ``WS``) and so also lands in the HDR
histograms (``harness.locust.plugin``):

=====================  =============================================================
``connect``            TCP connect + opening handshake
``confirm``            handshake done -> the contract's confirmation (and the hello, if the
                       server confirms after one)
``<liveness type>``    ``heartbeat()``: the contract's liveness request (x-roles.liveness)
                       -> its documented reply; named after the request's type, e.g.
                       ``heartbeat`` (``--max-p99-heartbeat-ms`` gates this one)
``ping``               protocol ping -> pong (answered by the server's WebSocket layer)
``<request type>``     ``request()`` and ``check_permission()``: request -> its reply
``push <type>``        trigger -> arrival, per push type; ``push <type> (untraced)`` counts
                       pushes without timing them when ``push.trace_field`` is null
``connection``         failure only: the server closed while the user was idle
=====================  =============================================================

Failures: timeouts, error frames, replies that do not answer the request, a confirmation
naming another user, and unexpected closes. Configuration is class attributes; the
command-line options (``--ws-user``, ``--ws-route``, ``--heartbeat-interval``, ...)
override them for a run.
"""

from __future__ import annotations

import contextlib
import itertools
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
from harness.errors import ConfigError, HarnessError
from harness.locust.batch import RequestBatch
from harness.locust.context import RunContext
from harness.locust.frames import FrameTemplate, type_of
from harness.locust.options import ANONYMOUS
from harness.locust.plugin import install
from harness.locust.pushes import GLOBAL, ConnectionRecord, Trace, user_audience
from harness.locust.wsconn import ConnectionClosed, Received, WsConnection, WsError
from harness.protocol import (
    Confirmed,
    ErrorFrame,
    Event,
    ProtocolSession,
    Push,
    Reply,
    Request,
    Unexplained,
    fill,
)
from harness.protocol.matching import field_at, mismatches
from harness.push import PushRequest, PushUnavailable
from harness.templates import TemplateError, split

install(events)

try:  # orjson parses a reply several times faster than json (the hot path of a heartbeat)
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - optional speed-up
    _loads = json.loads

# What a wait accepts: the session's event for a frame (None for a pong) and the frame.
Accept = Callable[[Event | None, Received], bool]
PERMISSION_ROLE = "permission"  # the x-roles entry check_permission() sends
_SPREAD = itertools.count()  # users take turns over the servers of a comma-separated --host


def one_host(host: str | None) -> str:
    """One server of ``--host``: replicas are given as ``ws://a:1,ws://b:2`` and each user
    (connections, logins and push triggers alike) keeps to the one it was dealt."""
    hosts = [part.strip() for part in (host or "").split(",") if part.strip()]
    return hosts[next(_SPREAD) % len(hosts)] if hosts else ""


class ReplyTimeout(WsError):
    """The awaited reply did not arrive in time."""


class WrongReply(WsError):
    """An error frame, a reply that does not answer the request, or a wrong confirmation."""


def _identity(account: UserSpec | None) -> int | None:
    """The id the server must confirm for ``account`` (None: an anonymous connection)."""
    return None if account is None else account.user_id


class WebSocketUser(User):
    """One WebSocket connection per Locust user; subclasses add ``@task``s.

    Tasks call ``heartbeat()``, ``protocol_ping()``, ``check_permission(...)``,
    ``request(...)``, ``connect()`` and ``disconnect()``; each reports itself and returns
    whether it succeeded.
    """

    abstract = True
    route: str | None = None  # a contract route name (--ws-route); None: chosen by x-auth
    # Path parameters; the route's owner parameter (x-owner-parameter) is the user's id.
    route_params: ClassVar[Mapping[str, Any]] = {}
    ws_users: tuple[str, ...] = (ANONYMOUS,)  # configured user names, round robin (--ws-user)
    heartbeat_interval: float = 5.0  # seconds (--heartbeat-interval)
    headers: ClassVar[Mapping[str, str]] = {}  # extra handshake headers, e.g. Origin
    request_type: str = "WS"
    close_timeout: float = 1.0
    wait_time = constant(0)

    connection: WsConnection | None = None
    session: ProtocolSession | None = None
    _batch: RequestBatch | None = None

    def on_start(self) -> None:
        self.context = RunContext.of(self.environment)
        options = self.context.options
        self.heartbeat_interval = options.heartbeat_interval or type(self).heartbeat_interval
        self.user_name = self.context.pick(options.users or self.ws_users)
        self.account: UserSpec | None = (
            None if self.user_name == ANONYMOUS else self.context.config.user(self.user_name)
        )
        self.timeouts = self.context.config.timeouts
        self._batch = self.context.batch
        self._record: ConnectionRecord | None = None
        self._pings = 0
        self._url: str | None = None
        self._handshake_headers: dict[str, str] = dict(self.headers)
        self._liveness: FrameTemplate | None = None
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
            host = one_host(self.host)
            if not host:
                raise HarnessError("no --host: give the server, e.g. --host ws://127.0.0.1:8000")
            url = host if urlsplit(host).path not in ("", "/") else host.rstrip("/") + self._path()
            # The credential as the config presents it (query, header, cookie or
            # subprotocol) and the Origin a browser would send (auth.origin), anonymous too.
            tokens = self.context.tokens(host)
            credentials = tokens.present(
                tokens.token(self.account.name) if self.account is not None else None
            )
            if credentials.query:
                url += ("&" + credentials.query[1:]) if "?" in url else credentials.query
            headers = dict(credentials.headers)
            if credentials.origin:
                headers["Origin"] = credentials.origin
            if credentials.subprotocols:
                headers["Sec-WebSocket-Protocol"] = ", ".join(credentials.subprotocols)
            self._handshake_headers = {**headers, **self.headers}
            self._url = url
        return self._url

    def _path(self) -> str:
        route = self.context.route(self.route, self.account)
        params = dict(self.route_params)
        identity = _identity(self.account)
        if route.owner_parameter and identity is not None:
            params.setdefault(route.owner_parameter, identity)
        try:
            return route.path(**params)
        except KeyError as exc:
            raise ConfigError(
                f"{exc.args[0]}: set route_params on the user class, or connect as a "
                "configured user with a user id (the route's owner parameter)"
            ) from None

    def audiences(self) -> frozenset[str]:
        """The push audiences this connection belongs to (for lost-push accounting)."""
        identity = _identity(self.account)
        if identity is None:
            return frozenset({GLOBAL})
        return frozenset({GLOBAL, user_audience(identity)})

    # ------------------------------------------------------------ lifecycle
    def connect(self) -> bool:
        """Open the connection, send the hello if the protocol has one to send, and wait for
        the confirmation (reports connect and confirm)."""
        self.disconnect()
        url = self.url  # resolved (token login included) before the clock starts
        started = time.perf_counter()
        try:
            connection = WsConnection.open(url, self.timeouts.connect, self._handshake_headers)
        except (WsError, OSError) as exc:
            self._report("connect", time.perf_counter() - started, exc)
            return False
        opened = time.perf_counter()
        self._report("connect", opened - started)
        self.connection = connection
        session = self.session = ProtocolSession(
            self.context.spec, user_id=_identity(self.account), user=self.account, loads=_loads
        )
        for event in session.opened(opened):
            hello = getattr(event, "hello", None)
            if hello is not None and not self._send_text("confirm", opened, hello):
                return False
        if session.awaits_confirmation and not self._await(
            "confirm", opened, self.timeouts.connect, _confirms
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

    # ------------------------------------------------------------ requests
    def heartbeat(self) -> bool:
        """The contract's liveness request -> its documented reply, timed through the server's
        application (the Locust name is the request's type; see ``RunContext.liveness_name``)."""
        if self.connection is None and not self.connect():
            return False
        liveness = self._liveness
        if liveness is None:
            liveness = self._liveness = self.context.liveness(self.account)
        message, text = liveness.render()
        return self._request(self.context.liveness_name, message, text)

    def check_permission(self, permission: str) -> bool:
        """The contract's permission probe (x-roles.permission) for ``permission``, e.g. a
        string of the role's ``pattern`` such as ``resource.action``; the reply must answer
        it (the session correlates it) and match the role's ``reply`` template."""
        role = self.context.role(PERMISSION_ROLE)
        pattern = str(role.get("pattern", ""))
        slots = split(pattern, permission) if pattern else {}
        if slots is None:
            raise ConfigError(
                f"permission {permission!r} does not fit x-roles.{PERMISSION_ROLE}.pattern "
                f"{pattern!r} of {self.context.contract.source}"
            )
        message = fill(role["send"], self.account, slots)
        expected = None
        if isinstance(role.get("reply"), Mapping):
            # Whether the user holds it is the server's to say: only its type is checked.
            with contextlib.suppress(TemplateError):
                expected = fill(role["reply"], self.account, {**slots, "granted": _BOOLEAN})
        return self.request(message, check=None if expected is None else _matching(expected))

    def request(
        self,
        message: Mapping[str, Any],
        name: str | None = None,
        check: Callable[[Any], list[str]] | None = None,
    ) -> bool:
        """Send ``message`` and await its documented reply, which the session correlates.

        ``name``: the Locust name (default: the message's type). ``check(reply value)``
        returns problems (strings) that fail the request although the reply came.
        """
        if self.connection is None and not self.connect():
            return False
        name = name or type_of(message, self.context.spec.type_field) or "request"
        return self._request(name, message, json.dumps(message), check)

    def protocol_ping(self) -> bool:
        """A protocol-level ping; the server's WebSocket layer answers without the app."""
        if not self.ensure_connected():
            return False
        payload = self._pings.to_bytes(8, "big")
        self._pings += 1
        started = time.perf_counter()
        try:
            self.connection.ping(payload)  # type: ignore[union-attr]
        except ConnectionClosed as exc:
            return self._lost("ping", started, exc)
        return self._await(
            "ping",
            started,
            self.timeouts.reply,
            lambda event, received: received.kind == "pong" and received.data == payload,
        )

    def _request(
        self,
        name: str,
        message: Any,
        text: str,
        check: Callable[[Any], list[str]] | None = None,
    ) -> bool:
        """Register ``message`` with the session, send ``text`` and await the reply."""
        started = time.perf_counter()
        request = self.session.send(message, started, text)  # type: ignore[union-attr]
        if not request.replies:
            self._report(name, 0.0, WrongReply(f"{request.type!r} has no documented reply"))
            return False
        if not self._send_text(name, started, text):
            return False
        if self._await(name, started, self.timeouts.reply, request=request, check=check):
            return True
        self._give_up(request)
        return False

    def _give_up(self, request: Request) -> None:
        """The request failed. If unanswered, its reply may still come, and must not be
        credited to the next request (a 2 s late heartbeat reply made the next heartbeat
        a success).

        With a correlation id the request stays pending: the session matches its late reply
        by id, and ``_await`` skips it. Without one, nothing tells that reply from the next
        request's, so the user starts over on a fresh connection (as a real client would
        after a missed heartbeat).
        """
        session = self.session
        unanswered = session is not None and any(r is request for r in session.pending)
        if unanswered and request.correlation is None:
            self.disconnect(wait=False)

    # ------------------------------------------------------------ frames
    def _send_text(self, name: str, started: float, text: str) -> bool:
        try:
            self.connection.send_text(text)  # type: ignore[union-attr]
        except ConnectionClosed as exc:
            return self._lost(name, started, exc)
        return True

    def _await(
        self,
        name: str,
        started: float,
        timeout: float,
        accept: Accept | None = None,
        request: Request | None = None,
        check: Callable[[Any], list[str]] | None = None,
    ) -> bool:
        """Read until the session's reply to ``request`` (passing ``check``), or a frame that
        ``accept`` takes, arrives. Pushes met on the way are recorded; an error frame, or a
        frame of the awaited reply's type that the session says answers no request, fails.

        The heartbeat's hot path: the session's events are told apart by class, and a text
        frame is parsed here (orjson) and handed to ``receive_value``.
        """
        connection = self.connection
        session = self.session
        assert connection is not None and session is not None
        deadline = started + timeout
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
            if received.kind == "text":
                data: Any = received.data
                try:
                    value = _loads(data)
                except ValueError:
                    event: Any = session.receive_text(data, received.at)[0]
                else:
                    event = session.receive_value(value, data, received.at)[0]
            else:
                event = self._event(received)
            kind = event.__class__
            try:
                if kind is Reply:
                    if event.request is request:
                        if check is not None and (problems := check(event.value)):
                            raise WrongReply(f"{name} reply: " + "; ".join(problems))
                        self._report(name, received.at - started, length=len(received.data))
                        return True
                    continue  # a late reply to an earlier request
                if kind is Push:
                    self._on_push(event, received)
                elif kind is ErrorFrame:
                    raise WrongReply(f"error frame {event.code} in answer to {name}")
                elif kind is Unexplained and request is not None and event.type in request.replies:
                    raise WrongReply(event.reason)
                if accept is not None and accept(event, received):
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
            event = self._event(received)
            if event.__class__ is Push:
                self._on_push(event, received)  # type: ignore[arg-type]

    def _event(self, received: Received) -> Event | None:
        """The session's event for a frame (None for a pong)."""
        session = self.session
        assert session is not None
        kind, data, at = received
        if kind == "text":
            try:
                value = _loads(data)
            except ValueError:
                return session.receive_text(data, at)[0]  # type: ignore[arg-type]
            return session.receive_value(value, data, at)[0]  # type: ignore[arg-type]
        if kind == "bytes":
            return session.receive_binary(data, at)[0]  # type: ignore[arg-type]
        return None

    def _on_push(self, event: Push, received: Received) -> None:
        if self.context.spec.trace_path is None:  # push.trace_field: null: count, no timing
            self._report(f"push {event.type} (untraced)", 0.0, length=len(received.data))
            return
        trace = Trace.decode(event.trace)
        if trace is None:
            return  # not triggered by this run: nothing to time
        arrived = time.time() - (time.perf_counter() - received.at)
        name = f"push {event.type}"
        record = self._record
        if record is not None and trace.audience not in record.audiences:
            self._report(
                name,
                arrived - trace.sent_at,
                WrongReply(f"push for {trace.audience} delivered here"),
            )
            return
        if record is not None:
            record.received.add(str(event.trace))
        self._report(name, max(arrived - trace.sent_at, 0.0), length=len(received.data))

    def _lost(self, name: str, started: float, exc: ConnectionClosed) -> bool:
        self._report(name, time.perf_counter() - started, exc)
        connection, self.connection = self.connection, None
        if connection is not None:
            connection.abort()
        if self.session is not None:
            self.session.receive_close(exc.code, exc.reason)
        self._forget()
        return False

    def _report(
        self, name: str, seconds: float, exception: Exception | None = None, length: int = 0
    ) -> None:
        """One Locust request: successes go into the run's batch when it takes them (exact
        statistics, a fraction of the cost: ``harness.locust.batch``), failures are fired
        at once, after the batch, so Locust sees every request in the order of the seconds."""
        batch = self._batch
        if batch is not None:
            if exception is None and batch.enabled:
                batch.add(self.request_type, name, max(seconds, 0.0) * 1000, length)
                return
            batch.flush()
        self.environment.events.request.fire(
            request_type=self.request_type,
            name=name,
            response_time=max(seconds, 0.0) * 1000,
            response_length=length,
            exception=exception,
            context={},
        )


_BOOLEAN = {"$type": "boolean"}


def _confirms(event: Event | None, received: Received) -> bool:
    """Accept the confirmation; one naming another user fails the connection."""
    if event.__class__ is not Confirmed:
        return False
    problem = event.problem  # type: ignore[union-attr]
    if problem:
        raise WrongReply(f"{problem} (a bad token?)")
    return True


def _matching(expected: Mapping[str, Any]) -> Callable[[Any], list[str]]:
    return lambda value: mismatches(value, expected)


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

    A push's data is the contract's first example of that push (its x-push-data-field)
    plus, in the config's ``push.trace_field``, a ``Trace`` (an id, the trigger time and
    the audience), so receiving ``WebSocketUser``s time it and the ledger counts lost
    pushes. With ``push.trace_field: null`` nothing is added: receivers count the pushes by
    type, untimed, and lost pushes are not measured.
    """

    abstract = True
    fixed_count = 1
    push_rate: float = 1.0  # per second (--push-rate)
    # The push type; None: the contract's first push delivered to the audience (--push-type).
    push_type: str | None = None
    # A configured user, or "global" for every connection; None: the first configured user
    # with a user id (--push-audience).
    push_audience: str | None = None
    request_type: str = "PUSH"

    def on_start(self) -> None:
        self.context = RunContext.of(self.environment)
        context, options = self.context, self.context.options
        config = context.config
        self.push_rate = options.push_rate or type(self).push_rate
        self.push_audience = (
            options.push_audience
            or type(self).push_audience
            or next(
                (name for name, user in config.users.items() if _identity(user) is not None), GLOBAL
            )
        )
        self.target: int | None = None
        if self.push_audience != GLOBAL:
            self.target = _identity(config.user(self.push_audience))
            if self.target is None:
                raise ConfigError(
                    f"--push-audience {self.push_audience!r}: that user has no user id in "
                    f"{config.source}; give it one, or push to {GLOBAL!r}"
                )
        message = context.push_message(
            options.push_type or type(self).push_type,
            "global" if self.target is None else "user",
        )
        self.push_type = message.name
        self.example = _example_data(message.examples, context.contract.push_data_field)
        self.trace_field = config.push.trace_field
        self.audience = GLOBAL if self.target is None else user_audience(self.target)
        self.trigger = context.push_trigger(one_host(self.host))
        self._count = 0
        self._prefix = uuid.uuid4().hex[:8]

    def wait_time(self) -> float:
        return constant_pacing(1.0 / self.push_rate)(self)

    def request(self) -> tuple[PushRequest, Trace | None]:
        """The next push to trigger and its trace (None when tracing is off)."""
        data = dict(self.example)
        trace = None
        if self.trace_field:
            trace = Trace(f"{self._prefix}-{self._count}", time.time(), self.audience)
            data[self.trace_field] = trace.encode()
        self._count += 1
        if self.target is None:
            return PushRequest(type=self.push_type, audience="global", data=data), trace
        request = PushRequest(type=self.push_type, audience="user", user_id=self.target, data=data)
        return request, trace

    @task
    def push(self) -> None:
        request, trace = self.request()
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
        if failure is None and trace is not None:
            self.context.ledger.sent(trace.encode(), trace.sent_at, trace.audience)


def _example_data(examples: Any, data_field: str | None) -> dict[str, Any]:
    """The data of a push's first documented example (empty without one)."""
    if not examples or not data_field:
        return {}
    data = field_at(examples[0], data_field)
    return dict(data) if isinstance(data, Mapping) else {}
