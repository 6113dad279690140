"""The fuzzers' I/O: a dedicated event loop, confirmed connections, and one reused connection.

Hypothesis's ``@given`` and ``RuleBasedStateMachine`` call synchronous functions, so each
example's I/O runs on a ``LoopRunner``: one event loop owned by the test module and driven
with ``run_until_complete``. Keeping the loop (instead of ``asyncio.run`` per example) lets
one WebSocket connection serve many examples; ``FuzzDriver`` reconnects only when an example
closed it, and that reconnection doubles as the "server still alive" check.

The protocol itself (the hello, the confirmation and whether it names the right user, the
liveness request, which reply answers which request) is the protocol core's:
``RunContext.session`` gives each connection a ``ProtocolSession`` built from the contract
and the config, and ``WsClient`` drives it. Routes are chosen by their ``x-auth`` role and
users from the config, never by name.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import warnings
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from harness.auth import Credentials
from harness.client import (
    ConnectionEnded,
    ExpectationFailed,
    HandshakeRejected,
    Transcript,
    WsClient,
)
from harness.config import HarnessConfig, UserSpec
from harness.contract import Contract
from harness.engine.runner import RunContext
from harness.fuzz import reproducer
from harness.fuzz.payloads import Payload
from harness.fuzz.properties import (
    CheckContext,
    Deviation,
    Exchange,
    Finding,
    Verdict,
    evaluate,
)
from harness.protocol import Confirmed, Event, ProtocolSpec, Push, Reply, Request, fill

T = TypeVar("T")
TOKEN_PLACEHOLDER = "$WS_TOKEN"
#: Whose pushes the fuzzers' are in the run's TraceBook (scenario runs count from 1).
FUZZ_OWNER = 0
#: Route roles (``x-auth``) on which a configured user connects, most general first.
USER_ROUTES = ("optional", "required", "owner")


class DeviationWarning(UserWarning):
    """A declared deviation from the contract was observed (tolerated, but not hidden)."""


class LoopRunner:
    """Runs coroutines to completion on one private event loop (for synchronous callers).

    It also counts what the module's fuzz tests did (``examples`` judged, state machine
    ``steps``), which the terminal summary turns into a rate per test.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.examples = 0
        self.steps = 0

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run ``coroutine``; a bounded wait, so a hung server fails the example, not CI."""
        return self.loop.run_until_complete(asyncio.wait_for(coroutine, timeout))

    def close(self) -> None:
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()


@dataclass(frozen=True)
class Identity:
    """Who connects (a configured user name, or None for anonymous) and on which route."""

    route: str
    user: str | None = None

    @property
    def label(self) -> str:
        return f"{self.user or 'anonymous'}@{self.route}"


# -- choosing routes and users from the contract and the config ---------------------------


def known_users(config: HarnessConfig) -> list[str]:
    """The configured users the fuzzers can model: with a user id and a role, in file order."""
    return [name for name, spec in config.users.items() if spec.user_id is not None and spec.role]


def route_with(contract: Contract, *auths: str) -> str | None:
    """The first route whose ``x-auth`` is the first of ``auths`` any route has."""
    for auth in auths:
        routes = contract.routes_with_auth(auth)
        if routes:
            return routes[0].name
    return None


def fuzz_identity(ctx: RunContext) -> Identity:
    """Who sends the payloads: the first configured user, on the first route that admits a
    user (``optional``, else ``required``, else ``owner``); anonymous where no route or user
    does."""
    users = known_users(ctx.config)
    route = route_with(ctx.contract, *USER_ROUTES)
    if route is not None and users:
        return Identity(route, users[0])
    anonymous = route_with(ctx.contract, "optional", "anonymous")
    if anonymous is None:
        raise LookupError(
            f"{ctx.contract.source}: no route to fuzz; the fuzzers need a route with x-auth "
            "optional or anonymous, or one of required/owner and a user with user_id and role "
            f"in {ctx.config.source}"
        )
    return Identity(anonymous, None)


def user_of(ctx: RunContext, identity: Identity) -> UserSpec | None:
    return ctx.config.user(identity.user) if identity.user else None


@dataclass(frozen=True)
class Address:
    """Where and how to connect as one identity: the URL, and the credential as the config
    presents it (query, header, cookie or subprotocol) with the Origin it sends."""

    url: str
    credentials: Credentials


def address(
    ctx: RunContext,
    identity: Identity,
    token: str | None = None,
    *,
    path_user: int | str | None = None,
) -> Address:
    """How to connect as ``identity``; ``token`` overrides its own (forged tokens) and
    ``path_user`` the owner parameter of an ``owner`` route (another user's id)."""
    path = _path(ctx, identity, path_user)
    if token is None and identity.user is not None:
        token = ctx.tokens.token(identity.user)
    credentials = ctx.tokens.present(token)
    return Address(ctx.target.ws_url + path + credentials.query, credentials)


def endpoint(
    ctx: RunContext,
    identity: Identity,
    token: str | None = None,
    *,
    shown: bool = False,
    path_user: int | str | None = None,
) -> str:
    """The URL for ``identity``; ``shown`` puts ``$WS_TOKEN`` in place of the token.

    ``token`` overrides the user's own token (forged tokens); ``path_user`` overrides the
    owner parameter of an ``owner`` route (another user's id).
    """
    path = _path(ctx, identity, path_user)
    if token is None and identity.user is not None:
        token = TOKEN_PLACEHOLDER if shown else ctx.tokens.token(identity.user)
    elif token is not None and shown:
        token = TOKEN_PLACEHOLDER
    query = ctx.tokens.query(token)
    if shown:
        query = query.replace("%24WS_TOKEN", TOKEN_PLACEHOLDER)
    return ctx.target.ws_url + path + query


def _path(ctx: RunContext, identity: Identity, path_user: int | str | None) -> str:
    route = ctx.contract.route(identity.route)
    values: dict[str, Any] = {}
    if route.owner_parameter:
        if path_user is None:
            owner = identity.user or next(iter(known_users(ctx.config)), None)
            if owner is None:
                raise LookupError(
                    f"route {route.name!r} needs a user id for {route.owner_parameter}; "
                    f"configure a user with user_id in {ctx.config.source}"
                )
            path_user = ctx.config.user(owner).user_id
        values[route.owner_parameter] = path_user
    return route.path(**values)


# -- connections ----------------------------------------------------------------------------


def has_liveness(spec: ProtocolSpec) -> bool:
    """Does the protocol declare a liveness request that gets a reply?"""
    return spec.liveness is not None and bool(spec.reply_types(spec.liveness.get(spec.type_field)))


async def open_confirmed(
    ctx: RunContext,
    identity: Identity,
    transcript: Transcript,
    *,
    label: str | None = None,
    where: Address | None = None,
    origin: str | None = None,
) -> tuple[WsClient, Confirmed | None]:
    """Connect as ``identity`` and wait for the protocol's confirmation (the client sends
    the hello first when the protocol confirms after one).

    Returns the client and the ``Confirmed`` event (None when the protocol has no
    confirmation); ``Confirmed.problem`` says if it names another user. On failure the
    connection is closed and the ExpectationFailed (or HandshakeRejected) propagates.
    """
    if where is None:
        where = await asyncio.to_thread(address, ctx, identity)
    client = await WsClient.open(
        where.url,
        transcript=transcript,
        label=label or identity.label,
        origin=origin or where.credentials.origin,
        headers=where.credentials.headers,
        subprotocols=where.credentials.subprotocols,
        timeout=ctx.config.timeouts.connect,
        session=ctx.session(user_of(ctx, identity)),
        # The fuzzers' own pushes are issued as owner FUZZ_OWNER: scenarios' pushes, and
        # another harness run's on a shared server, are not theirs to count.
        elsewhere=ctx.traces.elsewhere(FUZZ_OWNER),
    )
    try:
        confirmed = await client.confirmed(ctx.config.timeouts.reply)
    except BaseException:
        with contextlib.suppress(Exception):
            await client.close()
        raise
    return client, confirmed


async def liveness(ctx: RunContext, identity: Identity, transcript: Transcript) -> str | None:
    """A fresh connection gets its confirmation and a liveness reply; else why not."""
    client = None
    try:
        client, _ = await open_confirmed(ctx, identity, transcript, label="liveness")
        if has_liveness(ctx.spec):
            await client.alive(ctx.config.timeouts.reply)
    except (ExpectationFailed, OSError) as exc:
        return f"server not alive: a fresh connection failed: {str(exc).splitlines()[0]}"
    finally:
        if client is not None:
            await client.close()
    return None


class FuzzFailure(AssertionError):
    """A payload broke the contract: the findings, a reproducer and the transcript."""


class FuzzDriver:
    """Sends payloads on one reused connection and checks each exchange.

    ``verify(payload)`` is the whole property for one example: exchange, checks, and a
    liveness check whenever the connection ended; it raises ``FuzzFailure`` with the
    shrunk payload's reproducer when anything fails.
    """

    def __init__(
        self,
        ctx: RunContext,
        identity: Identity,
        runner: LoopRunner,
        deviations: tuple[Deviation, ...] = (),
    ) -> None:
        self.ctx = ctx
        self.identity = identity
        self.runner = runner
        self.checks = CheckContext(ctx.contract, deviations)
        self.client: WsClient | None = None
        self.transcript = Transcript()
        self.examples = 0
        timeouts = ctx.config.timeouts
        self.budget = timeouts.connect + timeouts.reply * 2 + timeouts.close + 5

    # -- the property -------------------------------------------------------------------

    def verify(self, payload: Payload) -> Verdict:
        self.examples += 1
        self.runner.examples += 1
        self.transcript = Transcript()
        exchange = self.runner.run(self._exchange(payload), self.budget)
        verdict = evaluate(payload, exchange, self.checks)
        if exchange.probe_answered is False and not exchange.closed:
            # The probe's reply may still come, and would be taken for the next example's
            # probe (a replay while shrinking too): that one starts on a fresh connection.
            self.close()
        if exchange.closed or exchange.send_failed:
            problem = self.runner.run(self._reconnect_alive(), self.budget)
            if problem is not None:
                verdict.findings.append(_finding_alive(problem, payload))
        for note in verdict.tolerated:
            warnings.warn(DeviationWarning(f"{payload.mutation}: {note}"), stacklevel=2)
        if not verdict.ok:
            raise FuzzFailure(self.report(payload, verdict))
        return verdict

    def report(self, payload: Payload, verdict: Verdict) -> str:
        url = endpoint(self.ctx, self.identity, shown=True)
        lines = [f"{len(verdict.findings)} finding(s) for {payload!r}"]
        lines += [finding.render() for finding in verdict.findings]
        lines.append(reproducer.describe(url, [payload.frame]))
        lines.append("Transcript:\n" + self.transcript.render(limit=20))
        return "\n".join(lines)

    def close(self) -> None:
        if self.client is not None:
            self.runner.run(self.client.close(), 5)
            self.client = None

    # -- I/O ------------------------------------------------------------------------

    async def _connection(self) -> WsClient:
        if self.client is None or self.client.closed:
            self.client, confirmed = await open_confirmed(
                self.ctx, self.identity, self.transcript, label="fuzz"
            )
            if confirmed is not None and confirmed.problem:
                raise ExpectationFailed(
                    f"the confirmation names the wrong user for {self.identity.label}",
                    received=confirmed.problem,
                    documented=f"{self.ctx.spec.user_field} of the connecting user",
                )
        self.client.transcript = self.transcript
        # Every example ends with the probe's reply, so nothing earlier is still owed an
        # answer: start each example with an empty inbox and no pending requests.
        self.client.inbox.clear()
        self.client.session.forget()
        return self.client

    async def _reconnect_alive(self) -> str | None:
        """The "server still alive" check after a connection ended: a fresh connection is
        confirmed and answers the liveness request. It becomes the connection the next
        example uses (one handshake per closing example instead of two)."""
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.close()
            self.client = None
        try:
            client = await self._connection()
            if has_liveness(self.ctx.spec):
                await client.alive(self.ctx.config.timeouts.reply)
        except (ExpectationFailed, OSError) as exc:
            if self.client is not None:
                with contextlib.suppress(Exception):
                    await self.client.close()
                self.client = None
            return f"server not alive: a fresh connection failed: {str(exc).splitlines()[0]}"
        return None

    async def _exchange(self, payload: Payload) -> Exchange:
        client = await self._connection()
        try:
            if isinstance(payload.frame, bytes):
                await client.send_bytes(payload.frame)
            else:
                await client.send_text(payload.frame, self._message(payload))
        except (ConnectionEnded, HandshakeRejected) as exc:
            return Exchange([], True, client.close_code, send_failed=str(exc).splitlines()[0])
        if payload.expect.kind == "close":
            return await self._until_closed(client)
        return await self._until_probe(client)

    def _message(self, payload: Payload) -> Any:
        """What the session registers for ``payload``: its message when it has a message
        type (the session then knows its replies and correlation id), else None (a raw
        frame: only an error can answer it)."""
        message = payload.message
        if isinstance(message, Mapping) and isinstance(message.get(self.ctx.spec.type_field), str):
            return message
        return None

    async def _until_closed(self, client: WsClient) -> Exchange:
        answer: list[Event] = []
        deadline = time.monotonic() + self.ctx.config.timeouts.close
        while not client.closed and await _read(client, answer, deadline) is not None:
            pass
        return Exchange(answer, client.closed, client.close_code)

    async def _until_probe(self, client: WsClient) -> Exchange:
        """Send the liveness probe after the payload; everything before its reply answers
        the payload (a server handles one connection's messages in order). The session
        tells the probe's reply from a reply of the same type to the payload."""
        answer: list[Event] = []
        deadline = time.monotonic() + self.ctx.config.timeouts.reply
        if not has_liveness(self.ctx.spec):  # no probe declared: wait out the reply time
            while await _read(client, answer, deadline) is not None:
                pass
            return Exchange(answer, client.closed, client.close_code)
        try:
            probe = await client.send_json(
                fill(self.ctx.spec.liveness, user_of(self.ctx, self.identity))
            )
        except ConnectionEnded:
            return Exchange(answer, True, client.close_code)
        while (event := await _read(client, answer, deadline, probe)) is not None:
            if isinstance(event, Reply) and event.request is probe:
                return Exchange(answer, client.closed, client.close_code, probe_answered=True)
        return Exchange(answer, client.closed, client.close_code, probe_answered=False)


async def _read(
    client: WsClient, answer: list[Event], deadline: float, probe: Request | None = None
) -> Event | None:
    """Read one event before ``deadline`` (None: none will come) and keep it in ``answer``,
    unless it is a push (another test's trigger) or the probe's reply."""
    remaining = deadline - time.monotonic()
    if remaining <= 0 or client.closed:
        return None
    try:
        event = await client.receive(remaining)
    except (TimeoutError, ConnectionEnded):
        return None
    probe_reply = probe is not None and isinstance(event, Reply) and event.request is probe
    if not isinstance(event, Push) and not probe_reply:
        answer.append(event)
    return event


def _finding_alive(problem: str, payload: Payload) -> Finding:
    return Finding(
        problem, f"after {payload.mutation}", "a fresh connection is confirmed and answered"
    )
