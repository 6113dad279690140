"""Run a scenario against a server and return a verdict with the frame transcript.

The runner does the I/O: it opens connections through ``WsClient``, sends, waits and
triggers pushes. What to expect and whether a frame satisfies it come from the pure
modules (``decisions``, ``matching``, ``templates``), so the pytest items, the CLI and the
fuzzers all drive the same engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from harness.auth import TokenProvider
from harness.client import ExpectationFailed, HandshakeRejected, Transcript, WsClient
from harness.config import HarnessConfig, UserSpec
from harness.contract import Contract, FrameValidator
from harness.engine import decisions, model
from harness.errors import HarnessError
from harness.protocol import (
    Confirmed,
    ErrorFrame,
    ProtocolSession,
    ProtocolSpec,
    Push,
    Reply,
    Request,
    Unexplained,
    fill,
    matching,
)
from harness.push import PushTrigger, PushUnavailable
from harness.targets.base import TargetInfo
from harness.templates import TemplateError, dotted, resolve


class TraceBook:
    """Which scenario triggered each traced push, so that scenarios running at the same time
    keep out of each other's verdicts: a push carrying another scenario's trace (a global
    broadcast, or a push to a user both have connected) is that scenario's to judge.

    Other harness runs may share the server or its channel layer (xdist workers on one
    ``--ws-redis-url``, two CI jobs on one staging server): their pushes reach this run's
    connections too. Every trace starts with ``HARNESS_MARK`` and then this book's run id,
    so a push carrying a harness trace of another run is that run's; a push with no trace,
    or with a trace no harness issued, stays this scenario's to judge (the server's doing).
    A trace is 32 hex digits, a UUID's, so it fits a trace field that wants one.
    """

    def __init__(self) -> None:
        self._owners: dict[Any, int] = {}
        self._ours = HARNESS_MARK + uuid.uuid4().hex[:_RUN_DIGITS]

    def issue(self, owner: int) -> str:
        trace = self._ours + uuid.uuid4().hex[: 32 - len(self._ours)]
        self._owners[trace] = owner
        return trace

    def another_runs(self, trace: Any) -> bool:
        """Whether ``trace`` was issued by another harness run."""
        return (
            isinstance(trace, str)
            and trace.startswith(HARNESS_MARK)
            and not trace.startswith(self._ours)
        )

    def elsewhere(self, owner: int) -> Callable[[Any], bool]:
        """Whether an event belongs to a scenario other than ``owner`` (or another run)."""
        owners = self._owners

        def foreign(event: Any) -> bool:
            if not isinstance(event, Push) or event.trace is None:
                return False
            if event.trace in owners:
                return owners[event.trace] != owner
            return self.another_runs(event.trace)

        return foreign


#: The first hex digits of every trace the harness issues ("wsh" in ASCII, then 0s): rare
#: enough at the start of an app's own 32-digit ids (one in 2**32) to tell runs apart.
HARNESS_MARK = "77736800"
_RUN_DIGITS = 8  # a run's id after the mark: two runs sharing a server differ here


class ReplicaControl(Protocol):
    """What a scenario may do to the servers of a replica set (``targets.replicas``)."""

    def kill(self, index: int) -> None: ...

    def revive(self, index: int) -> TargetInfo:
        """Start replica ``index`` again; returns where it answers (its set's info)."""
        ...


@dataclass(frozen=True)
class Endpoint:
    """One server a scenario can reach, with its own logins and push trigger: replicas may
    each keep their own tokens (a database each), so a client logs in where it connects."""

    target: TargetInfo
    tokens: TokenProvider
    pushes: PushTrigger


@dataclass
class RunContext:
    """What every scenario run needs, built once per test session."""

    contract: Contract
    config: HarnessConfig
    target: TargetInfo
    tokens: TokenProvider
    pushes: PushTrigger
    validator: FrameValidator
    spec: ProtocolSpec
    # Judge every contract violation in every frame (not only the scenario's subject).
    strict_frames: bool = False
    traces: TraceBook = field(default_factory=TraceBook)
    # --ws-replicas: every replica (endpoints[0] is ``target``); () for one plain server
    endpoints: tuple[Endpoint, ...] = ()
    replicas: ReplicaControl | None = None

    @classmethod
    def create(
        cls,
        contract: Contract,
        config: HarnessConfig,
        target: TargetInfo,
        strict_frames: bool = False,
        replicas: ReplicaControl | None = None,
    ) -> RunContext:
        tokens = TokenProvider(config, target.http_url)
        pushes = PushTrigger(config, target.http_url, tokens)
        endpoints = [Endpoint(target, tokens, pushes)]
        for info in target.replicas[1:]:
            own = TokenProvider(config, info.http_url)
            endpoints.append(Endpoint(info, own, PushTrigger(config, info.http_url, own)))
        return cls(
            contract=contract,
            config=config,
            target=target,
            tokens=tokens,
            pushes=pushes,
            validator=FrameValidator(contract, "server"),
            spec=ProtocolSpec.build(contract, config),
            strict_frames=strict_frames,
            endpoints=tuple(endpoints) if target.replicas else (),
            replicas=replicas,
        )

    @property
    def replica_count(self) -> int:
        return len(self.endpoints) or 1

    def renew(self, index: int, target: TargetInfo) -> None:
        """A revived replica is a new process: log in afresh (a replica with a database of
        its own no longer knows the tokens its predecessor issued)."""
        info = target.replicas[index] if target.replicas else target
        tokens = TokenProvider(self.config, info.http_url)
        fresh = Endpoint(info, tokens, PushTrigger(self.config, info.http_url, tokens))
        endpoints = list(self.endpoints)
        if index < len(endpoints):
            endpoints[index] = fresh
            self.endpoints = tuple(endpoints)
        if index == 0:
            self.target, self.tokens, self.pushes = (
                replace(self.target, **{"pid": info.pid, "identity": info.identity}),
                fresh.tokens,
                fresh.pushes,
            )

    def endpoint(self, index: int) -> Endpoint:
        """Replica ``index``'s server (0 alone is the one server of a plain run)."""
        if not self.endpoints and index == 0:
            return Endpoint(self.target, self.tokens, self.pushes)
        if not 0 <= index < len(self.endpoints):
            raise HarnessError(
                f"replica {index}: this run has {self.replica_count} server(s); "
                f"run with --ws-replicas {index + 1} or more"
            )
        return self.endpoints[index]

    def session(self, user: UserSpec | None) -> ProtocolSession:
        """A protocol session for one connection of ``user`` (None: anonymous)."""
        return ProtocolSession(
            self.spec,
            user_id=user.user_id if user is not None else None,
            user=user,
            validate=self.validator.validate,
        )


@dataclass(frozen=True)
class Failure:
    """Why a scenario failed: a title and "Received / Documented", at a step of the file."""

    title: str
    received: str = ""
    documented: str = ""
    step: str = ""  # "step 3 (expect_reply) at file.yaml:14"
    cause: str = ""  # what failures with one root cause share (grouped in the summary)

    @property
    def root_cause(self) -> str:
        return self.cause or f"{self.title.split(' on ')[0]} | received {self.received or '-'}"

    def render(self) -> str:
        lines = [self.title]
        if self.received:
            lines.append(f"Received: {self.received}")
        if self.documented:
            lines.append(f"Documented: {self.documented}")
        if self.step:
            lines.append(f"At: {self.step}")
        return "\n".join(lines)


@dataclass
class Verdict:
    # failed: the server did not do what the contract says; error: the harness, its config or
    # a scenario file is wrong (pytest shows it as ERROR, never as the server's failure).
    outcome: Literal["passed", "failed", "skipped", "error"]
    transcript: Transcript
    failure: Failure | None = None
    skip_reason: str = ""
    seconds: float = 0.0
    finished: float = field(default_factory=time.monotonic)  # when the scenario ended
    # The stretch of the server's log written while it ran: (start, end) marks of the
    # target's log (``Target.log_mark``); None where the backend cannot mark its log.
    log_window: tuple[Any, Any] | None = None


@dataclass
class _Connection:
    client: WsClient
    user: UserSpec | None
    last_sent: Any = None
    last_request: Request | None = None
    confirmation: Any = None
    checked_violations: int = 0


@dataclass
class _LastPush:
    type: str
    trace: str | None


@dataclass
class _Run:
    scenario: model.Scenario
    ctx: RunContext
    transcript: Transcript = field(default_factory=Transcript)
    connections: dict[str, _Connection] = field(default_factory=dict)
    last: str | None = None  # the most recently opened connection
    last_push: _LastPush | None = None
    run_id: int = field(default_factory=lambda: next(_RUN_IDS))
    connects: int = 0  # connect steps so far: round robin over the replicas
    killed: list[int] = field(default_factory=list)  # replicas to revive after the run

    # -- helpers --------------------------------------------------------------------------

    @property
    def timeouts(self) -> Any:
        return self.ctx.config.timeouts

    def connection(self, name: str | None) -> _Connection:
        name = name or self.last
        if name is None or name not in self.connections:
            known = ", ".join(self.connections) or "none yet"
            raise ExpectationFailed(
                f"no open connection named {name!r} (connections: {known}); add a connect step first"
            )
        return self.connections[name]

    def lookup(self, connection: _Connection | None) -> Callable[[str], Any]:
        namespace = {
            "users": dict(self.ctx.config.users),
            "user": connection.user if connection else None,
            "sent": connection.last_sent if connection else None,
            "target": self.ctx.target,
        }

        def look(expression: str) -> Any:
            if expression == "now_ms":
                return int(time.time() * 1000)
            if expression == "uuid":
                return uuid.uuid4().hex
            if expression.startswith("user.") and (connection is None or connection.user is None):
                return None  # an anonymous connection has no user fields
            if expression.startswith("holds:"):
                user = connection.user if connection else None
                return bool(user and user.holds(expression.split(":", 1)[1]))
            return dotted(namespace, expression)

        return look

    def check_violations(self) -> None:
        """Fail on a new contract violation in a frame this scenario judges (its subject's
        types; every frame when strict)."""
        subject = set(self.scenario.subject)
        for connection in self.connections.values():
            new = connection.client.violations[connection.checked_violations :]
            connection.checked_violations = len(connection.client.violations)
            judged = [
                v for v in new if self.ctx.strict_frames or not subject or v.message in subject
            ]
            if judged:
                first = judged[0]
                raise ExpectationFailed(
                    f"a frame on {connection.client.label} breaks the contract: {first}",
                    received="; ".join(str(v) for v in judged[:5]),
                    documented=f"the {first.message or 'frame'} schema in {self.ctx.contract.source}",
                    cause=f"{first.message or 'frame'} at {first.path}: {first.problem}",
                )

    async def account_for_frames(self) -> None:
        """Every frame received must be one an expectation took, or one that may arrive
        unasked (the scenario's and the contract's ``unsolicited`` types)."""
        allowed = {*self.scenario.unsolicited, *self.ctx.contract.unsolicited}
        leftovers = []
        await asyncio.gather(*(c.client.drain(_DRAIN_SECONDS) for c in self.connections.values()))
        for connection in self.connections.values():
            client = connection.client
            for event in client.unaccounted():
                if event.type in allowed:
                    continue
                reason = _why_unexplained(event)
                frame = client.frame_of(event)
                if frame is not None:
                    self.transcript.mark_unexplained(frame, reason)
                leftovers.append(f"{client.label}: {event.type or event.text[:60]!r} ({reason})")
        if leftovers:
            count = len(leftovers)
            raise ExpectationFailed(
                f"{count} frame{'s' if count > 1 else ''} nobody asked for",
                received="; ".join(leftovers[:5]) + (" ..." if count > 5 else ""),
                documented="every frame answers a request, confirms, or is an expected push",
                cause=f"unexplained frame: {leftovers[0].split(': ', 1)[1]}",
            )

    # -- steps ----------------------------------------------------------------------------

    async def connect(self, step: model.Connect) -> None:
        params = resolve(dict(step.params), self.lookup(None))
        count = self.ctx.replica_count
        replica = step.replica if step.replica is not None else self.connects % count
        self.connects += 1
        server = self.ctx.endpoint(replica)
        plan = decisions.plan_connect(
            step, self.ctx.config, self.ctx.contract, server.target.http_url, params
        )
        token = None
        if plan.bad_token:
            token = self.ctx.config.auth.bad_token
        elif plan.token_user is not None:
            token = await asyncio.to_thread(server.tokens.token, plan.token_user)
        shown = server.tokens.present(token)  # query, header, cookie or subprotocol
        url = server.target.ws_url + plan.path + shown.query
        if count > 1:
            self.transcript.note("harness", f"{step.name} connects to replica {replica}")
        started = time.monotonic()
        try:
            client = await WsClient.open(
                url,
                transcript=self.transcript,
                label=step.name,
                origin=plan.origin or shown.origin,
                headers=shown.headers,
                subprotocols=shown.subprotocols,
                timeout=step.within or self.timeouts.connect,
                session=self.ctx.session(plan.user),
                elsewhere=self.ctx.traces.elsewhere(self.run_id),
            )
        except HandshakeRejected as exc:
            if step.outcome == "refused":
                if step.status is not None and exc.status != step.status:
                    raise ExpectationFailed(
                        f"handshake refused with the wrong status at {plan.path}",
                        received=exc.received,
                        documented=f"HTTP {step.status}",
                    ) from None
                return
            documented = (
                "HTTP 101, then a close frame"
                if step.outcome == "closed"
                else "HTTP 101 Switching Protocols"
            )
            raise ExpectationFailed(
                exc.title, received=exc.received, documented=documented
            ) from None
        connection = _Connection(client, plan.user)
        self.connections[step.name] = connection
        self.last = step.name
        if step.outcome == "refused":
            raise ExpectationFailed(
                f"handshake accepted at {plan.path}, which must be refused",
                received="HTTP 101 (accepted)",
                documented="the handshake fails (an HTTP error status); the path is never accepted",
            )
        if step.outcome == "closed":
            await self.expect_close(model.ExpectClose(on=step.name, code=step.close_code))
            return
        await self.confirm(connection, step)
        elapsed = time.monotonic() - started
        if step.within is not None and elapsed > step.within:
            raise ExpectationFailed(
                f"{step.name}: handshake and confirmation took {elapsed:.2f}s",
                received=f"{elapsed:.2f}s",
                documented=f"at most {step.within:.2f}s",
            )

    async def confirm(self, connection: _Connection, step: model.Connect) -> None:
        confirmed = await connection.client.confirmed(self.timeouts.reply)
        if confirmed is None:
            return
        connection.confirmation = confirmed.value
        if confirmed.problem:
            raise ExpectationFailed(
                f"{confirmed.type} on {step.name} names the wrong user for {step.auth.label}",
                received=confirmed.problem,
                documented=f"the contract's {self.ctx.spec.user_field} for the connecting user",
            )
        expected = resolve(dict(step.confirmation), self.lookup(connection))
        _require_match(
            confirmed.value,
            expected,
            f"{confirmed.type} on {step.name} is not what {step.auth.label} should get",
        )

    async def send_json(self, connection: _Connection, message: Any) -> None:
        connection.last_sent = message
        connection.last_request = await connection.client.send_json(message)

    async def send(self, step: model.Send) -> None:
        connection = self.connection(step.on)
        if step.binary is not None:
            await connection.client.send_bytes(b"\x00" * step.binary)
        elif step.size is not None:
            liveness = fill(self.ctx.contract.liveness_request, connection.user)
            text = decisions.padded_text(liveness, step.size)
            connection.last_sent = liveness
            connection.last_request = await connection.client.send_text(text, liveness)
        elif step.text is not None:
            connection.last_sent = None
            connection.last_request = await connection.client.send_text(step.text)
        else:
            await self.send_json(connection, resolve(step.message, self.lookup(connection)))

    async def expect(self, step: model.Expect) -> None:
        connection = self.connection(step.on)
        within = step.within or self.timeouts.reply
        expected = dict(resolve(dict(step.match), self.lookup(connection)))
        if step.type is not None:
            message = await connection.client.next_of_type(step.type, within)
            wanted = step.type
        else:
            request = connection.last_request
            if request is None or not request.replies:
                raise ExpectationFailed(
                    "expect_reply: the last message sent has no documented reply",
                    received=json.dumps(connection.last_sent),
                    documented="a request listed in the contract's operations",
                )
            message = await connection.client.reply_to(request, within)
            wanted = message.type
        _require_match(
            message.value, expected, f"{wanted!r} on {connection.client.label} does not match"
        )

    async def expect_error(self, step: model.ExpectError) -> None:
        connection = self.connection(step.on)
        contract = self.ctx.contract
        message = await connection.client.next_of_type(
            contract.error_message, step.within or self.timeouts.reply
        )
        code = contract.error_code(step.code)
        problems = matching.mismatches(message.value, {contract.error_code_field: code})
        if problems:
            raise ExpectationFailed(
                f"error frame without the documented {contract.error_code_field}",
                received=message.text[:300],
                documented=f"{contract.error_code_field}: {code}",
            )

    async def expect_close(self, step: model.ExpectClose) -> None:
        connection = self.connection(step.on)
        code, reason = await connection.client.expect_close(step.within or self.timeouts.close)
        if step.code is None:
            return
        wanted = self.ctx.contract.close_code(step.code)
        if code != wanted:
            shown = (
                f"close {code} {reason}".strip()
                if code is not None
                else "no close frame (the connection dropped)"
            )
            raise ExpectationFailed(
                f"{connection.client.label} closed with the wrong code",
                received=shown,
                documented=f"close {wanted} ({step.code})",
            )

    async def expect_silence(self, step: model.ExpectSilence) -> None:
        names = step.on or (self.last,)
        within = step.within or self.timeouts.silence
        await _all(self.connection(name).client.expect_silence(within, step.type) for name in names)

    async def expect_alive(self, step: model.ExpectAlive) -> None:
        connection = self.connection(step.on)
        if self.ctx.contract.liveness_request is None:
            raise ExpectationFailed(
                "expect_alive needs x-roles.liveness in the contract (a request with a reply)"
            )
        await connection.client.alive(self.timeouts.reply)

    async def push(self, step: model.Push) -> None:
        data = dict(resolve(dict(step.data), self.lookup(None)))
        trace_field = self.ctx.config.push.trace_field
        trace = self.ctx.traces.issue(self.run_id) if trace_field else None
        if trace_field:
            data[trace_field] = trace
        to = str(resolve(step.to, self.lookup(None)))
        request = decisions.push_request(replace(step, to=to), self.ctx.config, data)
        server = self.ctx.endpoint(step.replica or 0)
        via = f" through replica {step.replica or 0}" if self.ctx.replica_count > 1 else ""
        self.transcript.note(
            "harness",
            f"push {step.type} to {step.to}{via}" + (f" ({trace_field}={trace})" if trace else ""),
        )
        await asyncio.to_thread(server.pushes.send, request)
        self.last_push = _LastPush(step.type, trace)

    def _is_last_push(self, push_type: str) -> Callable[[Any], bool]:
        trace_path = self.ctx.spec.trace_path
        trace = (
            self.last_push.trace if self.last_push and self.last_push.type == push_type else None
        )
        if not trace_path or trace is None:
            return lambda value: True
        return lambda value: matching.field_at(value, trace_path) == trace

    async def expect_push(self, step: model.ExpectPush) -> None:
        push_type = self._push_type(step.type)
        within = step.within or self.timeouts.push
        where = self._is_last_push(push_type)
        await _all(
            self.connection(name).client.next_of_type(push_type, within, where)
            for name in step.on or (self.last,)
        )

    async def expect_no_push(self, step: model.ExpectNoPush) -> None:
        push_type = self._push_type(step.type)
        await self.expect_silence(
            model.ExpectSilence(on=step.on, type=push_type, within=step.within)
        )

    def _push_type(self, declared: str | None) -> str:
        if declared:
            return declared
        if self.last_push is None:
            raise ExpectationFailed("expect_push without a type needs an earlier push step")
        return self.last_push.type

    async def close(self, step: model.Close) -> None:
        await self.connection(step.on).client.close(step.code)

    async def wait(self, step: model.Wait) -> None:
        await asyncio.sleep(step.seconds)

    async def kill_replica(self, step: model.KillReplica) -> None:
        control = self.ctx.replicas
        if control is None:
            raise HarnessError("kill_replica needs replicas the harness started (--ws-replicas)")
        self.ctx.endpoint(step.replica)  # a replica this run has, or one line saying so
        self.transcript.note("harness", f"kill replica {step.replica} (SIGKILL)")
        self.killed.append(step.replica)
        await asyncio.to_thread(control.kill, step.replica)

    async def revive_killed(self) -> None:
        """Bring back what this scenario killed, so the next scenario finds every replica."""
        control, killed, self.killed = self.ctx.replicas, self.killed, []
        for index in dict.fromkeys(killed):
            if control is not None:
                self.ctx.renew(index, await asyncio.to_thread(control.revive, index))

    async def run_step(self, step: model.Step) -> None:
        handler: Callable[[Any], Awaitable[None]] = getattr(self, step.keyword)
        await handler(step)
        self.check_violations()

    async def close_all(self) -> None:
        for connection in self.connections.values():
            with contextlib.suppress(Exception):  # best effort: the verdict is already decided
                await connection.client.close()


_RUN_IDS = itertools.count(1)
_DRAIN_SECONDS = 0.005  # frames already on their way when the last step ends are judged too


def _why_unexplained(event: Any) -> str:
    """Why a frame left in the inbox counts as nobody's."""
    if isinstance(event, Unexplained):
        return event.reason
    if isinstance(event, Push):
        return "a push no expect_push took (a duplicate, or not meant for this connection)"
    if isinstance(event, Reply):
        return "a reply no expect_reply took"
    if isinstance(event, ErrorFrame):
        return "an error frame no expect_error took"
    if isinstance(event, Confirmed):
        return "a confirmation nobody waited for"
    return "no expectation took it"


def _require_match(value: Any, expected: Mapping[str, Any], title: str) -> None:
    """Raise ExpectationFailed listing every field of ``value`` that differs from ``expected``."""
    problems = matching.mismatches(value, expected)
    if problems:
        raise ExpectationFailed(
            title, received="; ".join(problems), documented=json.dumps(expected)
        )


async def _all(awaitables: Any) -> None:
    """Await several expectations together (pushes arrive in parallel), raising the first failure."""
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


async def run_scenario(scenario: model.Scenario, ctx: RunContext) -> Verdict:
    """Run every step; the first failing expectation ends the scenario. A replica it killed
    is revived afterwards (a revival that fails is this scenario's error)."""
    run = _Run(scenario, ctx)
    verdict = await _run_steps(run)
    try:
        await run.revive_killed()
    except HarnessError as exc:
        failure = Failure(f"ws-harness: {exc}", step="after the scenario, reviving the replicas")
        return Verdict("error", run.transcript, failure, seconds=verdict.seconds)
    return verdict


async def _run_steps(run: _Run) -> Verdict:
    scenario, ctx = run.scenario, run.ctx
    started = time.perf_counter()
    index, step = 0, None
    try:
        if scenario.replicas > ctx.replica_count:
            return Verdict(
                "skipped",
                run.transcript,
                skip_reason=f"needs {scenario.replicas} replicas sharing a channel layer; "
                f"run with --ws-replicas {scenario.replicas}",
            )
        if ctx.replicas is None and any(isinstance(s, model.KillReplica) for s in scenario.steps):
            return Verdict(
                "skipped",
                run.transcript,
                skip_reason="kill_replica needs replicas the harness started (--ws-replicas N); "
                "servers named by --ws-url are not its to kill",
            )
        if scenario.needs_push and not ctx.pushes.available:
            raise PushUnavailable(
                f"needs a push trigger; none is configured in {ctx.config.source} (push.method)"
            )
        for index, step in enumerate(scenario.steps, 1):  # noqa: B007 - index used after the loop
            await run.run_step(step)
        step = None
        await run.account_for_frames()
        return Verdict("passed", run.transcript, seconds=time.perf_counter() - started)
    except PushUnavailable as exc:
        return Verdict(
            "skipped", run.transcript, skip_reason=str(exc), seconds=time.perf_counter() - started
        )
    except (ExpectationFailed, TemplateError, KeyError, HarnessError) as exc:
        where = (
            f"step {index} ({step.keyword}) at {scenario.file}:{step.line}"
            if step
            else scenario.file
        )
        if step is None:
            where = f"the end of the scenario at {scenario.file}:{scenario.line}"
        seconds = time.perf_counter() - started
        if isinstance(exc, ExpectationFailed):
            failure = Failure(exc.title, exc.received, exc.documented, where, exc.cause)
            return Verdict("failed", run.transcript, failure, seconds=seconds)
        if isinstance(exc, HarnessError):
            failure = Failure(f"ws-harness: {exc}", step=where)
        else:
            failure = Failure(f"scenario error: {exc.args[0] if exc.args else exc}", step=where)
        return Verdict("error", run.transcript, failure, seconds=seconds)
    finally:
        await run.close_all()
