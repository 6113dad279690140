"""The doctor's I/O: who listens, a plain HTTP GET, and WebSocket handshakes.

Everything here only *collects*; it never concludes (that is ``rules``). Each probe records
what happened even when it failed, because a refused handshake is evidence, not an error.
WebSocket traffic goes through ``harness.client.WsClient`` (the harness's only WebSocket
client), each connection with a ``ProtocolSession`` of the plan's spec: the session says
which frame is the contract's confirmation and which user it names, and sends and matches
the contract's liveness request. Without a contract the spec is empty: first frame and
close codes are recorded as plain WebSocket behaviour, and no request is sent. HTTP goes
through urllib with proxies disabled (loopback traffic must not go to a proxy).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import ipaddress
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Coroutine
from typing import Any

import psutil

from harness.client import ConnectionEnded, ExpectationFailed, HandshakeRejected, WsClient
from harness.contract import Route
from harness.doctor.observations import (
    ACCEPTED,
    ErrorKind,
    HandshakeProbe,
    HttpProbe,
    ListenerInfo,
    Observations,
    RouteProbe,
)
from harness.doctor.plan import Plan
from harness.doctor.servers import classify
from harness.protocol import Confirmed, Event, ProtocolSession
from harness.targets import ports

FOREIGN_ORIGIN = "http://evil.example"
PLACEHOLDER_ID = "1"  # a value for path parameters when we know no better (expect an auth close)
_BODY_PREVIEW = 200
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


async def probe(plan: Plan) -> Observations:
    """Run every probe and return what was seen. Never raises for what the server does."""
    endpoint = plan.endpoint
    listeners, note = await asyncio.to_thread(find_listeners, endpoint.host, endpoint.port)
    http = await asyncio.to_thread(http_get, endpoint.http_url + "/", plan.timeout)

    # Routes without parameters first: with a token, their confirmation names the user id
    # that a route like ws/permissions/{user_id}/ needs. The unknown path runs alongside, since
    # an unmatched path can take Daphne a second to refuse; the Origin probes run last, on a
    # route that works, so that their answer is about the Origin and not about the route.
    if plan.token is None:  # no user id to learn: every route at once
        simple, parametrised = list(range(len(plan.routes))), []
    else:
        simple = [i for i, route in enumerate(plan.routes) if not route.parameters]
        parametrised = [i for i, route in enumerate(plan.routes) if route.parameters]
    unknown = asyncio.ensure_future(
        _handshake(plan, plan.unknown_path, variant="unknown path", expected=False, exercise=False)
    )
    first = await asyncio.gather(*(probe_route(plan, plan.routes[i], None) for i in simple))
    token_user = next((uid for route in first for uid in [_confirmed_user(route)] if uid), None)
    second = await asyncio.gather(
        *(probe_route(plan, plan.routes[i], token_user) for i in parametrised)
    )
    by_index = dict(zip([*simple, *parametrised], [*first, *second], strict=True))
    routes = tuple(by_index[i] for i in range(len(plan.routes)))
    origins = await asyncio.gather(*_origin_checks(plan, routes))
    return Observations(
        url=endpoint.ws_url,
        host=endpoint.host,
        port=endpoint.port,
        timeout=plan.timeout,
        listeners=listeners,
        listeners_note=note,
        http=http,
        unknown_path=await unknown,
        routes=routes,
        origins=tuple(origins),
        close_codes=dict(plan.close_codes),
        heartbeat=plan.heartbeat,
        heartbeat_reply=plan.heartbeat_reply,
        token_given=plan.token is not None,
        confirmation=plan.spec.confirmation,
        confirm_after=plan.spec.confirm_after,
        contract=plan.contract,
    )


def _origin_checks(
    plan: Plan, routes: tuple[RouteProbe, ...]
) -> list[Coroutine[Any, Any, HandshakeProbe]]:
    """A foreign, then the same-host Origin, on the first declared path that was accepted and
    stayed open (else accepted at all, else the first route's): a refusal there is the
    Origin's doing."""
    if not plan.routes:
        return []
    declared = [(route, h) for route in routes for h in route.declared]
    working = next(((r, h) for r, h in declared if h.accepted and h.close_code is None), None)
    working = working or next(((r, h) for r, h in declared if h.accepted), None)
    if working is not None:  # with the credential it was accepted with: only the Origin differs
        path, token = working[1].path, working[0].token_sent
    else:
        route = plan.routes[0]
        path = route.path_variants(**dict.fromkeys(route.parameters, PLACEHOLDER_ID))[0]
        token = plan.token is not None and route.auth != "anonymous"
    return [
        _handshake(
            plan, path, variant=variant, expected=False, origin=origin, token=token, exercise=False
        )
        for variant, origin in (
            ("foreign origin", FOREIGN_ORIGIN),
            ("same-host origin", plan.endpoint.same_origin),
        )
    ]


async def probe_route(plan: Plan, route: Route, token_user: str | None) -> RouteProbe:
    """The route's declared paths (exercised) and the other trailing-slash form (a note)."""
    values: dict[str, str] = {}
    source = ""
    for name in route.parameters:
        if token_user is not None and name == route.owner_parameter:
            values[name], source = token_user, "token"
        else:
            values[name] = PLACEHOLDER_ID
            source = source or "placeholder"
    declared = route.path_variants(**values)
    other = [_toggle_slash(path) for path in declared]
    other = [path for path in dict.fromkeys(other) if path not in declared]
    send_token = plan.token is not None and route.auth != "anonymous"
    probes = [
        _handshake(plan, path, variant="declared", expected=True, token=send_token)
        for path in declared
    ]
    probes += [
        _handshake(
            plan,
            path,
            variant="slashless" if not path.endswith("/") else "with slash",
            expected=False,
            token=send_token,
        )
        for path in other
    ]
    return RouteProbe(
        name=route.name,
        address=route.address,
        auth=route.auth,
        parameters=values,
        parameter_source=source,
        token_sent=send_token,
        handshakes=tuple(await asyncio.gather(*probes)),
    )


async def _handshake(
    plan: Plan,
    path: str,
    *,
    variant: str,
    expected: bool,
    origin: str | None = None,
    token: bool = False,
    exercise: bool = True,
) -> HandshakeProbe:
    """One handshake; when ``exercise``, also the first frame and a liveness round trip."""
    credentials = plan.with_token if token else plan.without_token
    origin = origin or credentials.origin
    url = plan.endpoint.ws_url + path + credentials.query
    shown = plan.endpoint.ws_url + path + _masked(credentials.query)
    base = {"path": path, "url": shown, "expected": expected, "variant": variant, "origin": origin}
    try:
        # The token's user is unknown here: the session's "wrong user" verdict is ignored,
        # only the id the confirmation reports is kept (a user id for parametrised routes).
        session = ProtocolSession(plan.spec)
        client = await WsClient.open(
            url,
            origin=origin,
            headers=credentials.headers,
            subprotocols=credentials.subprotocols,
            timeout=plan.timeout,
            label="doctor",
            session=session,
        )
    except HandshakeRejected as exc:
        if exc.status is not None:
            body = exc.body[:_BODY_PREVIEW].decode("utf-8", "replace").strip()
            return HandshakeProbe(**base, status=exc.status, body=body)
        return HandshakeProbe(
            **base, status=None, error=exc.received, error_kind=_error_kind(exc.received)
        )
    except ConnectionEnded as exc:  # accepted, then closed before the hello could go out
        return HandshakeProbe(**base, status=ACCEPTED, close_code=exc.code, close_reason=exc.reason)
    try:
        if not exercise:
            return HandshakeProbe(**base, status=ACCEPTED)
        return await _exercise(plan, client, base)
    finally:
        with contextlib.suppress(Exception):  # the connection may be gone; nothing to report
            await client.close()


def _masked(query: str) -> str:
    """``?token=***`` for ``?token=SECRET``: reports show where the token went, not what it is."""
    if not query:
        return ""
    return "?" + "&".join(f"{pair.split('=', 1)[0]}=***" for pair in query[1:].split("&"))


async def _exercise(plan: Plan, client: WsClient, base: dict[str, Any]) -> HandshakeProbe:
    """First frame, then liveness: what a healthy connection does in its first second.

    With a contract, the confirmation names the connected user and the liveness request
    (x-roles.liveness) must get its reply. Without one, the connection must stay open for
    the settle time (every frame meanwhile is read, none is sent).
    """
    first: str | None = None
    first_text = ""

    def seen(**outcome: Any) -> HandshakeProbe:
        """The accepted handshake, its first frame (if any) and how it ended: ``outcome``."""
        return HandshakeProbe(
            **base, status=ACCEPTED, first_frame=first, first_frame_text=first_text, **outcome
        )

    deadline = time.monotonic() + plan.settle
    try:
        event = await client.receive(plan.settle)
        first = _shown_type(event, plan)
        first_text = event.text[:_BODY_PREVIEW]
        if isinstance(event, Confirmed):
            base = {**base, "confirmed_user": _user_of(event, plan)}
        if plan.spec.liveness is None:
            while True:  # plain WebSocket: does it stay open?
                await client.receive(max(deadline - time.monotonic(), 0))
    except TimeoutError:
        pass
    except ConnectionEnded as exc:
        return seen(close_code=exc.code, close_reason=exc.reason)
    if plan.spec.liveness is None:
        return seen()
    try:
        reply = await client.alive(plan.timeout)
    except ConnectionEnded as exc:
        return seen(
            close_code=exc.code,
            close_reason=exc.reason,
            heartbeat_error=f"closed {exc.code} before the reply",
        )
    except ExpectationFailed as exc:
        return seen(heartbeat_error=f"{exc.title} (received: {exc.received})")
    return seen(heartbeat_ms=reply.latency * 1000)


def _shown_type(event: Event, plan: Plan) -> str:
    """The frame's type as the report shows it (what it is when it has none)."""
    if event.type is not None:
        return event.type
    frame = event.frame
    if frame is not None and frame.binary:
        return "(binary)"
    if event.value is None:
        return "(not JSON)"
    return f"(no {plan.spec.type_field!r} field)"


def _user_of(event: Confirmed, plan: Plan) -> str | None:
    """The user id the confirmation reports at the contract's user field; None: anonymous."""
    reported = event.user_id
    if reported in plan.spec.anonymous_values or isinstance(reported, bool):
        return None
    if not isinstance(reported, int | str) or reported == "":
        return None
    return str(reported)


def http_get(url: str, timeout: float) -> HttpProbe:
    """A plain GET: does an HTTP server answer on this port at all, and which one."""
    request = urllib.request.Request(url, method="GET")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            body = response.read(_BODY_PREVIEW)
            return HttpProbe(
                url,
                response.status,
                response.headers.get("Server", ""),
                body.decode("utf-8", "replace").strip(),
            )
    except urllib.error.HTTPError as exc:
        body = exc.read(_BODY_PREVIEW).decode("utf-8", "replace").strip()
        return HttpProbe(url, exc.code, exc.headers.get("Server", ""), body)
    except urllib.error.URLError as exc:
        reason = exc.reason
        text = str(reason)
        if isinstance(reason, BaseException):
            text = f"{type(reason).__name__}: {reason}"
        return HttpProbe(url, None, error=text, error_kind=_error_kind(text))
    except (OSError, ValueError, http.client.HTTPException) as exc:  # timeouts, non-HTTP
        text = f"{type(exc).__name__}: {exc}"
        return HttpProbe(url, None, error=text, error_kind=_error_kind(text))


def find_listeners(host: str, port: int) -> tuple[tuple[ListenerInfo, ...] | None, str]:
    """Every process listening on ``port`` when ``host`` is this machine; else (None, why)."""
    if not is_local(host):
        return None, f"{host} is not this machine: its listeners cannot be seen from here"
    found = []
    for listener in ports.listeners(port):
        signature = classify(listener.cmdline) if listener.cmdline else None
        found.append(
            ListenerInfo(
                pid=listener.pid,
                address=listener.address,
                cmdline=listener.cmdline,
                username=listener.username,
                ppid=_ppid(listener.pid),
                kind=signature.kind if signature else "unknown",
                server=signature.server if signature else "",
            )
        )
    return tuple(found), ""


def is_local(host: str) -> bool:
    """True when ``host`` resolves to a loopback address or one of this machine's own."""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    own = {
        address.address.split("%")[0]
        for addresses in psutil.net_if_addrs().values()
        for address in addresses
    }
    for info in infos:
        address = str(info[4][0]).split("%")[0]
        if ipaddress.ip_address(address).is_loopback or address in own:
            return True
    return False


def _ppid(pid: int | None) -> int | None:
    if pid is None:
        return None
    try:
        return psutil.Process(pid).ppid()
    except psutil.Error:
        return None


def _error_kind(text: str) -> ErrorKind:
    lowered = text.lower()
    if "refused" in lowered or "connect call failed" in lowered or "errno 111" in lowered:
        return "refused"
    if "timeout" in lowered or "timed out" in lowered:
        return "timeout"
    if "gaierror" in lowered or "name or service not known" in lowered:
        return "unresolved"
    if "invalidmessage" in lowered or "valid http response" in lowered:
        return "invalid_http"
    return "other"


def _toggle_slash(path: str) -> str:
    return path.rstrip("/") if path.endswith("/") else path + "/"


def _confirmed_user(route: RouteProbe) -> str | None:
    """The user id the server confirmed on a connection made with the token, if any."""
    if not route.token_sent:
        return None
    return next((h.confirmed_user for h in route.declared if h.confirmed_user), None)
