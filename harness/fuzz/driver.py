"""The fuzzers' I/O: a dedicated event loop, confirmed connections, and one reused connection.

Hypothesis's ``@given`` and ``RuleBasedStateMachine`` call synchronous functions, so each
example's I/O runs on a ``LoopRunner``: one event loop owned by the test module and driven
with ``run_until_complete``. Keeping the loop (instead of ``asyncio.run`` per example) lets
one WebSocket connection serve many examples; ``FuzzDriver`` reconnects only when an example
closed it, and that reconnection doubles as the "server still alive" check.
"""

from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from harness.client import (
    ConnectionEnded,
    ExpectationFailed,
    HandshakeRejected,
    Transcript,
    WsClient,
)
from harness.contract import FrameValidator
from harness.engine.runner import RunContext
from harness.fuzz import reproducer
from harness.fuzz.payloads import Payload
from harness.fuzz.properties import (
    CheckContext,
    Deviation,
    Exchange,
    Finding,
    Received,
    Verdict,
    evaluate,
)
from harness.templates import for_user

T = TypeVar("T")
TOKEN_PLACEHOLDER = "$WS_TOKEN"


class DeviationWarning(UserWarning):
    """A declared deviation from the contract was observed (tolerated, but not hidden)."""


class LoopRunner:
    """Runs coroutines to completion on one private event loop (for synchronous callers)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

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


def endpoint(
    ctx: RunContext,
    identity: Identity,
    token: str | None = None,
    *,
    shown: bool = False,
    path_user: int | None = None,
) -> str:
    """The URL for ``identity``; ``shown`` puts ``$WS_TOKEN`` in place of the token.

    ``token`` overrides the user's own token (forged tokens); ``path_user`` overrides the
    owner parameter of a route like ``ws/permissions/{user_id}/`` (another user's id).
    """
    route = ctx.contract.route(identity.route)
    values: dict[str, Any] = {}
    if route.owner_parameter:
        owner = (
            path_user
            if path_user is not None
            else ctx.config.user(identity.user or "primary").user_id
        )
        values[route.owner_parameter] = owner
    if token is None and identity.user is not None:
        token = TOKEN_PLACEHOLDER if shown else ctx.tokens.token(identity.user)
    elif token is not None and shown:
        token = TOKEN_PLACEHOLDER
    query = ctx.tokens.query(token)
    if shown:
        query = query.replace("%24WS_TOKEN", TOKEN_PLACEHOLDER)
    return ctx.target.ws_url + route.path(**values) + query


async def open_confirmed(
    ctx: RunContext,
    identity: Identity,
    transcript: Transcript,
    *,
    label: str | None = None,
    url: str | None = None,
    origin: str | None = None,
) -> tuple[WsClient, Any]:
    """Connect and wait for the confirmation the config declares; returns (client, frame).

    The frame is the confirmation's parsed value (None when the config declares none).
    """
    config = ctx.config
    if url is None:
        url = await asyncio.to_thread(endpoint, ctx, identity)
    client = await WsClient.open(
        url,
        transcript=transcript,
        label=label or identity.label,
        origin=origin,
        timeout=config.timeouts.connect,
        validator=ctx.validator,
        type_field=ctx.contract.type_field,
    )
    confirmation = config.confirmation
    if confirmation.message is None:
        return client, None
    await send_hello(ctx, identity, client)
    frame = await client.next_of_type(confirmation.message, config.timeouts.reply)
    return client, frame.value


async def send_hello(ctx: RunContext, identity: Identity, client: WsClient) -> None:
    """Send the config's ``connect`` message when the server confirms only after one."""
    confirmation = ctx.config.confirmation
    if confirmation.message is None or confirmation.after != "connect":
        return
    user = ctx.config.user(identity.user) if identity.user else None
    await client.send_json(for_user(dict(confirmation.connect_message), user))


async def liveness(ctx: RunContext, identity: Identity, transcript: Transcript) -> str | None:
    """A fresh connection gets its confirmation and a liveness reply; else why not."""
    request = ctx.contract.liveness_request
    reply = ctx.contract.liveness_reply
    client = None
    try:
        client, _ = await open_confirmed(ctx, identity, transcript, label="liveness")
        if request is not None and reply is not None:
            await client.round_trip(request, reply, ctx.config.timeouts.reply)
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
        self.checks = CheckContext(ctx.contract, FrameValidator(ctx.contract, "server"), deviations)
        self.push_types = frozenset(m.name for m in ctx.contract.pushes())
        self.client: WsClient | None = None
        self.transcript = Transcript()
        self.examples = 0
        timeouts = ctx.config.timeouts
        self.budget = timeouts.connect + timeouts.reply * 2 + timeouts.close + 5

    # -- the property -------------------------------------------------------------------

    def verify(self, payload: Payload) -> Verdict:
        self.examples += 1
        self.transcript = Transcript()
        exchange = self.runner.run(self._exchange(payload), self.budget)
        verdict = evaluate(payload, exchange, self.checks)
        if exchange.closed or exchange.send_failed:
            problem = self.runner.run(
                liveness(self.ctx, self.identity, self.transcript), self.budget
            )
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
            self.client, _ = await open_confirmed(
                self.ctx, self.identity, self.transcript, label="fuzz"
            )
        self.client.transcript = self.transcript
        self.client.inbox.clear()
        return self.client

    async def _exchange(self, payload: Payload) -> Exchange:
        client = await self._connection()
        try:
            if isinstance(payload.frame, bytes):
                await client.send_bytes(payload.frame)
            else:
                await client.send_text(payload.frame)
        except (ConnectionEnded, HandshakeRejected) as exc:
            return Exchange([], True, client.close_code, send_failed=str(exc).splitlines()[0])
        if payload.expect.kind == "close":
            return await self._until_closed(client)
        return await self._until_probe(client, payload)

    async def _until_closed(self, client: WsClient) -> Exchange:
        answer: list[Received] = []
        deadline = time.monotonic() + self.ctx.config.timeouts.close
        while not client.closed and time.monotonic() < deadline:
            if not await self._read(client, answer, deadline):
                break
        return Exchange(answer, client.closed, client.close_code)

    async def _until_probe(self, client: WsClient, payload: Payload) -> Exchange:
        """Send the liveness probe after the payload; everything before its reply answers
        the payload (a server handles one connection's messages in order)."""
        probe, probe_reply = self.ctx.contract.liveness_request, self.ctx.contract.liveness_reply
        answer: list[Received] = []
        deadline = time.monotonic() + self.ctx.config.timeouts.reply
        if probe is None or probe_reply is None:  # no probe declared: wait out the reply time
            while await self._read(client, answer, deadline):
                pass
            return Exchange(answer, client.closed, client.close_code)
        try:
            await client.send_json(probe)
        except ConnectionEnded:
            return Exchange(answer, True, client.close_code)
        # A payload answered by the probe's own reply type needs two of them, unless it got
        # something else first (an error).
        doubled = probe_reply in payload.expect.reply_types
        while await self._read(client, answer, deadline):
            if answer and answer[-1].type == probe_reply and (len(answer) >= 2 or not doubled):
                return Exchange(answer[:-1], client.closed, client.close_code, probe_answered=True)
        return Exchange(answer, client.closed, client.close_code, probe_answered=False)

    async def _read(self, client: WsClient, answer: list[Received], deadline: float) -> bool:
        """Read one frame into ``answer`` (pushes are skipped); False when none will come."""
        remaining = deadline - time.monotonic()
        if remaining <= 0 or client.closed:
            return False
        try:
            message = await client.receive(remaining)
        except (TimeoutError, ConnectionEnded):
            return False
        if message.type in self.push_types:
            return True  # a push from another test's trigger is not an answer
        binary = isinstance(message.value, bytes | bytearray)
        answer.append(Received(None if binary else message.value, message.text, binary))
        return True


def _finding_alive(problem: str, payload: Payload) -> Finding:
    return Finding(
        problem, f"after {payload.mutation}", "a fresh connection is confirmed and answered"
    )
