"""Security checks against a running server; each returns a ``SecurityVerdict``.

    origins            cross-site WebSocket hijacking: foreign Origins must be refused
    other_users_path   another user's id in an owner route's path must be refused
                       (the contract's ``forbidden`` close code, or HTTP 401/403)
    bad_tokens         garbage, empty, expired and forged JWTs (alg none, wrong key,
                       tampered payload) must be refused, not downgraded to anonymous
    oversized          messages over max_message_bytes: ``message_too_big``, the server
                       lives on
    burst              many connections at once from one client (bounded, loopback)
    slowloris          incomplete handshakes held open must not starve other clients

A verdict says what was tried, what happened, and whether that is acceptable; ``render``
gives the lines a CI log shows. Connections are opened and judged by the protocol core (the
hello, the confirmation and the user it reports, the liveness round trip); routes are
chosen by their ``x-auth`` role, close codes by their ``x-close-codes`` names. JWTs are
forged by hand (HS256 via ``hmac``) so the fuzz extra needs no JWT library; the signing key
and the claim naming the user are the deployment's (``JwtKey``), never guessed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from harness.client import (
    ConnectionEnded,
    ExpectationFailed,
    HandshakeRejected,
    Transcript,
    WsClient,
)
from harness.engine.decisions import padded_text
from harness.engine.runner import RunContext
from harness.fuzz.driver import (
    USER_ROUTES,
    Address,
    Identity,
    address,
    endpoint,
    known_users,
    liveness,
    open_confirmed,
    route_with,
    user_of,
)
from harness.protocol import fill

FOREIGN_ORIGINS = (
    "http://evil.example",
    "https://evil.example",
    "null",
    "http://127.0.0.1.evil.example",
    "http://localhost.evil.example",
    "http://evil.example:80",
    "file://",
)


@dataclass(frozen=True)
class JwtKey:
    """How the server signs its JWTs: the HS256 secret and the claim that names the user."""

    secret: str
    user_claim: str

    def sign(self, claims: dict[str, Any], secret: str | None = None) -> str:
        return _jwt(claims, self.secret if secret is None else secret)

    def claims(self, user: Any, issued: int, lifetime: int = 3600) -> dict[str, Any]:
        return {self.user_claim: user, "iat": issued, "exp": issued + lifetime}


@dataclass
class SecurityVerdict:
    """The outcome of one security check."""

    check: str
    ok: bool
    summary: str
    details: list[str] = field(default_factory=list)

    def render(self) -> str:
        head = f"[{'PASS' if self.ok else 'FAIL'}] {self.check}: {self.summary}"
        return "\n".join([head, *(f"    {line}" for line in self.details)])


@dataclass(frozen=True)
class Attempt:
    """How one connection attempt ended: refused at handshake, closed, or accepted."""

    status: int | None = None  # HTTP status of a refused handshake
    close_code: int | None = None  # close after accept
    confirmed_user: Any = None  # what the confirmation reported at its user field
    anonymous: bool = False  # ... and that value means anonymous
    confirmed: bool = False  # a confirmation arrived
    problem: str | None = None  # the session's verdict: it names another user than expected
    user_field: str | None = None
    error: str = ""

    @property
    def accepted(self) -> bool:
        return self.status is None and self.close_code is None and not self.error

    def describe(self) -> str:
        if self.status is not None:
            return f"refused with HTTP {self.status}"
        if self.error:
            return f"failed: {self.error}"
        if self.close_code is not None:
            return f"closed with {self.close_code}"
        if not self.confirmed:
            return "ACCEPTED (the protocol declares no confirmation)"
        if self.user_field is None:
            return "ACCEPTED (confirmed)"
        who = "anonymous" if self.anonymous else "a user"
        return f"ACCEPTED (confirmed as {who}: {self.user_field} {self.confirmed_user!r})"


async def attempt(
    ctx: RunContext,
    where: Address,
    transcript: Transcript,
    label: str,
    origin: str | None = None,
    identity: Identity | None = None,
) -> Attempt:
    """Connect to ``where`` as ``identity`` (anonymous when None: the hello some servers
    await, and the user the confirmation should report); wait for the confirmation or a
    close (bounded). ``origin`` replaces the config's Origin."""
    client: WsClient | None = None
    try:
        client = await WsClient.open(
            where.url,
            transcript=transcript,
            label=label,
            origin=origin or where.credentials.origin,
            headers=where.credentials.headers,
            subprotocols=where.credentials.subprotocols,
            timeout=ctx.config.timeouts.connect,
            session=ctx.session(user_of(ctx, identity) if identity else None),
        )
    except HandshakeRejected as exc:
        return Attempt(status=exc.status, error="" if exc.status else str(exc).splitlines()[0])
    except ConnectionEnded as exc:  # closed before the hello could be sent
        return Attempt(close_code=exc.code)
    try:
        try:
            confirmed = await client.confirmed(ctx.config.timeouts.reply)
        except ExpectationFailed:
            if client.closed:
                return Attempt(close_code=client.close_code)
            return Attempt(error="neither a confirmation nor a close")
        if confirmed is None:  # no confirmation: a close within the close timeout refuses
            try:
                code, _ = await client.expect_close(ctx.config.timeouts.close)
                return Attempt(close_code=code)
            except ExpectationFailed:
                return Attempt()
        reported = confirmed.user_id
        return Attempt(
            confirmed_user=reported,
            anonymous=reported in ctx.spec.anonymous_values and not isinstance(reported, bool),
            confirmed=True,
            problem=confirmed.problem,
            user_field=ctx.spec.user_field,
        )
    finally:
        await client.close()


# -- cross-site WebSocket hijacking ---------------------------------------------------


async def origins(ctx: RunContext, transcript: Transcript) -> SecurityVerdict:
    """Foreign Origins must be refused; lists every origin the server accepts."""
    identity = Identity(_route(ctx, "optional", "anonymous"), None)
    where = address(ctx, identity)
    own = "http://" + (urlsplit(ctx.target.http_url).netloc or "127.0.0.1")
    results = {
        origin: await attempt(ctx, where, transcript, "origin", origin=origin)
        for origin in (own, *FOREIGN_ORIGINS)
    }
    accepted = [o for o in FOREIGN_ORIGINS if results[o].accepted]
    details = [f"{o!r:36} {r.describe()}" for o, r in results.items()]
    if not results[own].accepted:
        details.append(f"note: the server's own origin {own} is refused too")
    if accepted:
        summary = (
            f"foreign origins accepted (cross-site WebSocket hijacking): {', '.join(accepted)}"
        )
        return SecurityVerdict("origin validation", False, summary, details)
    return SecurityVerdict("origin validation", True, "every foreign origin refused", details)


# -- identity: paths and tokens -------------------------------------------------------


async def other_users_path(ctx: RunContext, transcript: Transcript) -> SecurityVerdict:
    """A user presenting their own token on another user's owner route must be refused."""
    owner_routes = [route.name for route in ctx.contract.routes_with_auth("owner")]
    users = known_users(ctx.config)
    if not owner_routes or len(users) < 2:
        return SecurityVerdict(
            "another user's id in the path",
            True,
            "skipped: needs a route with x-auth owner and two configured users with user_id",
        )
    me, other = ctx.config.user(users[0]), ctx.config.user(users[1])
    forbidden = ctx.contract.close_codes.get("forbidden", 4003)
    policy = ctx.contract.close_codes.get("policy_violation", 1008)
    details, ok = [], True
    for route in owner_routes:
        identity = Identity(route, me.name)
        where = await asyncio.to_thread(address, ctx, identity, path_user=other.user_id)
        result = await attempt(ctx, where, transcript, "cross-user", identity=identity)
        refused = result.status in (401, 403) or result.close_code in (forbidden, policy)
        ok = ok and refused
        details.append(
            f"{route}: {me.name} (id {me.user_id}) on id {other.user_id}: {result.describe()}"
        )
    summary = (
        f"refused (close {forbidden} or HTTP 403)"
        if ok
        else f"{me.name} was let into {other.name}'s route: their pushes would reach the wrong user"
    )
    return SecurityVerdict("another user's id in the path", ok, summary, details)


def forged_tokens(ctx: RunContext, key: JwtKey | None) -> dict[str, str]:
    """Tokens that must never authenticate, by name; forged JWTs claim the staff user.

    Without ``key`` only the tokens that need no knowledge of the server's JWTs remain.
    """
    tokens = {"garbage": ctx.config.auth.bad_token, "empty": ""}
    if key is None:
        return tokens
    users = {u.user_id for u in ctx.config.users.values() if u.user_id is not None}
    staff = next(
        (u.user_id for u in ctx.config.users.values() if u.staff and u.user_id),
        max(users, default=1),
    )
    victim = min(users - {staff}, default=staff)
    now = int(time.time())
    claims = key.claims(staff, now)
    head, _, signature = key.sign(key.claims(victim, now)).split(".")
    return {
        **tokens,
        "expired JWT": key.sign(key.claims(victim, now - 7200)),
        "alg none JWT": _segment({"alg": "none", "typ": "JWT"}) + "." + _segment(claims) + ".",
        "wrong-key JWT": key.sign(claims, key.secret + "-wrong"),
        "tampered-payload JWT": f"{head}.{_segment(claims)}.{signature}",
        "JWT without signature": f"{head}.{_segment(claims)}.",
    }


async def bad_tokens(
    ctx: RunContext, transcript: Transcript, key: JwtKey | None = None
) -> SecurityVerdict:
    """Bad and forged tokens must be refused (``not_authenticated``), never let in as
    anonymous or as a user. A bad token accepted as anonymous is a *downgrade*: a client
    that believes it is authenticated silently gets an anonymous session."""
    not_authenticated = ctx.contract.close_codes.get("not_authenticated", 4001)
    routes = [route.name for auth in USER_ROUTES for route in ctx.contract.routes_with_auth(auth)]
    users = known_users(ctx.config)
    if not routes or not users:
        return SecurityVerdict(
            "bad, expired and forged tokens",
            True,
            "skipped: needs a route with x-auth optional, required or owner and a configured "
            "user with user_id and role",
        )
    details, downgraded, escalated = [], [], []
    for name, token in forged_tokens(ctx, key).items():
        for route in routes:
            identity = Identity(route, users[0])
            where = await asyncio.to_thread(address, ctx, identity, token)
            result = await attempt(ctx, where, transcript, "token", identity=identity)
            details.append(f"{name:22} on {route}: {result.describe()}")
            if result.accepted:
                (downgraded if result.anonymous else escalated).append(f"{name} on {route}")
    if key is None:
        details.append(
            "JWT rows skipped: no JWT signing key given (set security.jwt_secret in the "
            "config to forge expired, alg-none, wrong-key and tampered JWTs)"
        )
    else:
        details.append(await _control(ctx, transcript, key))
    if escalated:
        summary = f"forged tokens ACCEPTED AS A USER: {', '.join(escalated)}"
    elif downgraded:
        summary = f"bad tokens silently downgraded to anonymous: {', '.join(downgraded)}"
    else:
        summary = f"every bad or forged token refused (close {not_authenticated} or HTTP 401/403)"
    return SecurityVerdict(
        "bad, expired and forged tokens", not (escalated or downgraded), summary, details
    )


async def _control(ctx: RunContext, transcript: Transcript, key: JwtKey) -> str:
    """A genuine JWT signed with ``key``: accepted means the forged ones were refused for
    their forgery, not because the server knows no JWTs or another secret."""
    user = ctx.config.user(known_users(ctx.config)[0])
    token = key.sign(key.claims(user.user_id, int(time.time())))
    identity = Identity(_route(ctx, *USER_ROUTES), user.name)
    where = await asyncio.to_thread(address, ctx, identity, token)
    result = await attempt(ctx, where, transcript, "control", identity=identity)
    if result.accepted and result.problem is None:
        return f"control: a genuine JWT for {user.name} is accepted as {user.name}"
    return (
        f"control: a genuine JWT for {user.name} was {result.describe()}: the server takes no "
        "HS256 JWTs or another secret (check security.jwt_secret in the config), so the JWT rows "
        "prove less"
    )


# -- resources: size, bursts, slow handshakes -------------------------------------------


async def oversized(ctx: RunContext, transcript: Transcript) -> SecurityVerdict:
    """Frames of limit+1 bytes and of 1 MiB are refused with 1009; the server lives on."""
    limit = ctx.contract.max_message_bytes
    if limit is None:
        return SecurityVerdict(
            "oversized messages", True, "skipped: the contract declares no x-limits"
        )
    too_big = ctx.contract.close_codes.get("message_too_big", 1009)
    identity = Identity(_route(ctx, "optional", "anonymous"), None)
    # The liveness request, padded: a frame the server would answer, were it not too big.
    base = (
        fill(ctx.spec.liveness)
        if ctx.spec.liveness is not None
        else {ctx.contract.type_field: next((m.name for m in ctx.contract.client_messages()), "")}
    )
    details, ok = [], True
    for size in (limit + 1, 1 << 20):
        client, _ = await open_confirmed(ctx, identity, transcript, label=f"size{size}")
        text = padded_text(base, size)
        try:
            await client.send_text(text, base)
            code, _ = await client.expect_close(ctx.config.timeouts.close)
        except ExpectationFailed as exc:
            code = client.close_code if client.closed else None
            details.append(f"{size} bytes: {str(exc).splitlines()[0]}")
        finally:
            await client.close()
        ok = ok and code == too_big
        details.append(f"{size} bytes: close {code}")
    problem = await liveness(ctx, identity, transcript)
    if problem:
        details.append(problem)
    ok = ok and problem is None
    summary = (
        f"refused with close {too_big}"
        if ok
        else f"not refused with close {too_big} (or the server died)"
    )
    return SecurityVerdict("oversized messages", ok, summary, details)


async def burst(
    ctx: RunContext, transcript: Transcript, count: int = 200, parallel: int = 100
) -> SecurityVerdict:
    """``count`` connections opened at once (at most ``parallel`` handshakes in flight),
    all held open; each must be confirmed or refused cleanly, and a fresh one still works."""
    identity = Identity(_route(ctx, "anonymous", "optional"), None)
    where = address(ctx, identity)
    gate = asyncio.Semaphore(parallel)
    clients: list[WsClient] = []
    quiet = Transcript()  # 200 connections would drown the test's transcript

    async def one(index: int) -> str:
        async with gate:
            try:
                client, _ = await open_confirmed(
                    ctx, identity, quiet, label=f"b{index}", where=where
                )
            except HandshakeRejected as exc:
                return f"refused HTTP {exc.status}" if exc.status else f"failed: {exc.received}"
            except ExpectationFailed as exc:
                return f"failed: {str(exc).splitlines()[0]}"
            clients.append(client)
            return "confirmed"

    started = time.monotonic()
    outcomes = await asyncio.gather(*(one(i) for i in range(count)))
    seconds = time.monotonic() - started
    problem = await liveness(ctx, identity, transcript)
    await _close_all(clients)
    tally: dict[str, int] = {}
    for outcome in outcomes:
        tally[outcome] = tally.get(outcome, 0) + 1
    failed = sum(n for o, n in tally.items() if o.startswith("failed"))
    details = [f"{n:4} {o}" for o, n in sorted(tally.items())]
    details.append(
        f"{count} handshakes in {seconds:.2f}s ({count / seconds:.0f}/s), all held open together"
    )
    if problem:
        details.append(problem)
    ok = failed == 0 and problem is None
    summary = (
        f"{tally.get('confirmed', 0)} of {count} confirmed, the rest refused cleanly; server alive"
        if ok
        else f"{failed} of {count} connections failed without a clean refusal, or the server died"
    )
    return SecurityVerdict(f"burst of {count} connections", ok, summary, details)


async def slowloris(
    ctx: RunContext, transcript: Transcript, sockets: int = 20, hold: float = 3.0
) -> SecurityVerdict:
    """Open ``sockets`` TCP connections that send half an upgrade request and stop; while
    they hang, a normal client must still be confirmed and answered. Whether the server
    closes the half-open ones within ``hold`` seconds is reported (informational: servers
    without a header timeout keep them, which a proxy in front usually fixes)."""
    identity = Identity(_route(ctx, "anonymous", "optional"), None)
    parts = urlsplit(endpoint(ctx, identity))
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    partial = (
        f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
    ).encode()
    writers: list[asyncio.StreamWriter] = []
    readers: list[asyncio.StreamReader] = []
    for _ in range(sockets):
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port), ctx.config.timeouts.connect
        )
        writer.write(partial)
        await writer.drain()
        readers.append(reader)
        writers.append(writer)
    started = time.monotonic()
    problem = await liveness(ctx, identity, transcript)
    responsive = time.monotonic() - started
    closed = await _closed_within(readers, hold)
    for writer in writers:
        writer.close()
    details = [
        f"{sockets} incomplete handshakes held; a normal client was "
        + (f"served in {responsive:.2f}s" if problem is None else f"NOT served: {problem}"),
        f"{closed} of {sockets} incomplete handshakes closed by the server within {hold:.0f}s"
        + ("" if closed else " (no header timeout: consider a proxy or server timeout)"),
    ]
    ok = problem is None
    summary = (
        "other clients stay served while handshakes hang"
        if ok
        else "hanging handshakes starve other clients"
    )
    return SecurityVerdict("slow, incomplete handshakes (slowloris)", ok, summary, details)


# -- helpers --------------------------------------------------------------------------


async def _closed_within(readers: list[asyncio.StreamReader], seconds: float) -> int:
    async def closed(reader: asyncio.StreamReader) -> bool:
        try:
            return await asyncio.wait_for(reader.read(), seconds) is not None
        except (TimeoutError, ConnectionError):
            return False

    return sum(await asyncio.gather(*(closed(r) for r in readers)))


async def _close_all(clients: list[WsClient]) -> None:
    closers: list[Awaitable[None]] = [client.close() for client in clients]
    await asyncio.gather(*closers, return_exceptions=True)


def _route(ctx: RunContext, *auths: str) -> str:
    """The first route with the first of ``auths`` any route has."""
    route = route_with(ctx.contract, *auths)
    if route is None:
        raise LookupError(
            f"{ctx.contract.source}: no route with x-auth {' or '.join(auths)} for this check"
        )
    return route


def _segment(value: dict[str, Any]) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _jwt(claims: dict[str, Any], secret: str) -> str:
    signing_input = _segment({"alg": "HS256", "typ": "JWT"}) + "." + _segment(claims)
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


CHECKS: dict[str, Callable[..., Awaitable[SecurityVerdict]]] = {
    "origins": origins,
    "other_users_path": other_users_path,
    "bad_tokens": bad_tokens,
    "oversized": oversized,
    "burst": burst,
    "slowloris": slowloris,
}
