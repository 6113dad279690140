"""Stateful push testing: who receives which push, over many connections and users.

``PushModel`` is the pure expectation: each modelled connection has an identity (user id,
role, 0 for anonymous) and its subscriptions; ``entitled`` says whether a push reaches it:
a user push reaches that user's connections, a role push the connections of users with
that role, a global push everyone, and a push to subscribers the user's connections that
subscribed to its type (the contract's ``x-roles.subscribe``).

``PushMachine`` is a Hypothesis ``RuleBasedStateMachine`` that connects and disconnects
users and anonymous clients on several routes, and pushes to users, roles, subscribers and
everyone; where the contract declares the roles, it also subscribes and unsubscribes
(``subscribe`` / ``unsubscribe``), checks permissions (``permission``) and checks
liveness (``liveness``). Rules for roles the contract does not declare never run. After
every push it waits (bounded) for what the model expects and a short settle time for
anything else, then asserts that each connection received exactly its pushes, in order.
Each push carries a unique trace id in ``config.push.trace_field``; the protocol session
reads it back from each push (``Push.trace``). Push data comes from the contract's examples.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
)

from harness.client import ConnectionEnded, ExpectationFailed, Transcript, WsClient
from harness.config import HarnessConfig, UserSpec
from harness.contract import Contract
from harness.engine.runner import RunContext
from harness.fuzz.driver import (
    FUZZ_OWNER,
    Identity,
    LoopRunner,
    has_liveness,
    known_users,
    open_confirmed,
    route_with,
    user_of,
)
from harness.protocol import Event, Push, fill, matching
from harness.push import Audience, PushRequest
from harness.templates import SLOT, split

#: Extra pushes are watched for this long after the expected ones arrived (seconds).
SETTLE = 0.2
MAX_OPEN = 6  # connections open at once: enough for every identity pair, cheap on 2 cores
MIN_OPEN = 2  # the initial anonymous and user connections stay, so every push has witnesses
#: The x-roles the machine uses (the harness's vocabulary; the contract says what they send).
SUBSCRIBE, UNSUBSCRIBE, CHECK = "subscribe", "unsubscribe", "permission"
#: A slot value no configured permission uses, for a permission nobody holds.
NOBODY = "ws-harness-nobody"


# -- the pure model ---------------------------------------------------------------------


@dataclass
class ModelConnection:
    """What the model knows about one connection: who it is and what it should have got."""

    name: str
    identity: Identity
    user_id: int  # 0: anonymous
    role: str | None
    subscriptions: set[str] = field(default_factory=set)
    expected: list[tuple[str, str]] = field(default_factory=list)  # (push type, trace id)


def entitled(connection: ModelConnection, push: PushRequest) -> bool:
    """Does ``push`` reach ``connection``? (protocol.md, "Server pushes")."""
    if push.audience == "global":
        return True
    if push.audience == "role":
        return connection.user_id != 0 and connection.role == push.role
    if push.audience == "user":
        return connection.user_id != 0 and connection.user_id == push.user_id
    return connection.user_id == push.user_id and push.type in connection.subscriptions


def push_data(contract: Contract, push_type: str, trace_field: str, trace: str) -> dict[str, Any]:
    """The data of the push type's first contract example, tagged with ``trace``."""
    message = contract.message(push_type)
    example: Mapping[str, Any] = message.examples[0] if message.examples else {}
    data_field = contract.push_data_field
    data = example.get(data_field) if data_field else example
    data = dict(data) if isinstance(data, Mapping) else {}
    if not data_field:
        data.pop(contract.type_field, None)
    data[trace_field] = trace
    return data


def permissions_to_check(config: HarnessConfig, pattern: str) -> list[str]:
    """Every configured permission that fits ``pattern``, and one that nobody holds."""
    held = {p for user in config.users.values() for p in user.permissions}
    fitting = sorted(p for p in held if split(pattern, p) is not None)
    nobody = SLOT.sub(NOBODY, pattern)
    if split(pattern, nobody) is not None and nobody not in held:
        fitting.append(nobody)
    return fitting


def identities(config: HarnessConfig, contract: Contract) -> list[Identity]:
    """Every (route, user) pair the contract admits: token users on ``optional``, ``owner``
    and ``required`` routes, anonymous clients on ``optional`` and ``anonymous`` routes."""
    users = known_users(config)
    pairs = []
    for name, route in contract.routes.items():
        if route.auth in ("optional", "anonymous"):
            pairs.append(Identity(name, None))
        if route.auth in ("optional", "owner", "required"):
            pairs += [Identity(name, user) for user in users]
    return pairs


# -- the I/O side -----------------------------------------------------------------------


class Observed:
    """One live connection: pushes it received (in order) and the other events."""

    def __init__(self, client: WsClient, user: UserSpec | None) -> None:
        self.client = client
        self.user = user
        self.pushes: list[tuple[str, str]] = []
        self.others: list[Event] = []

    async def pump(self, deadline: float) -> bool:
        """Read one event before ``deadline``; False on timeout or close."""
        remaining = deadline - time.monotonic()
        if remaining <= 0 or self.client.closed:
            return False
        try:
            event = await self.client.receive(remaining)
        except (TimeoutError, ConnectionEnded):
            return False
        if isinstance(event, Push):
            self.pushes.append((str(event.type), str(event.trace)))
        else:
            self.others.append(event)
        return True

    async def settle(self, count: int, wait: float, settle: float) -> None:
        """Read until ``count`` pushes arrived (at most ``wait`` s), then ``settle`` s more."""
        deadline = time.monotonic() + wait
        while len(self.pushes) < count and await self.pump(deadline):
            pass
        quiet = time.monotonic() + settle
        while await self.pump(quiet):
            pass


class PushMachine(RuleBasedStateMachine):
    """The stateful test; bind it to a server with ``bind(ctx, runner)``."""

    ctx: ClassVar[RunContext]
    runner: ClassVar[LoopRunner]
    connections = Bundle("connections")

    def __init__(self) -> None:
        super().__init__()
        contract, config = self.ctx.contract, self.ctx.config
        if config.push.trace_field is None or self.ctx.spec.trace_path is None:
            raise AssertionError("the stateful push test needs push.trace_field in the config")
        self.trace_field = config.push.trace_field
        self.push_types = sorted(m.name for m in contract.pushes())
        self.roles = contract.roles
        self.pattern = str(self.roles.get(CHECK, {}).get("pattern", ""))
        self.permissions = permissions_to_check(config, self.pattern) if self.pattern else []
        self.model: dict[str, ModelConnection] = {}
        self.live: dict[str, Observed] = {}
        self.transcript = Transcript()
        self.names = itertools.count(1)
        self.timeouts = config.timeouts

    # -- helpers ------------------------------------------------------------------------

    def _run(self, coroutine: Any) -> Any:
        return self.runner.run(coroutine, self.timeouts.connect + self.timeouts.push + 10)

    def _declares(self, role: str) -> bool:
        return "send" in self.roles.get(role, {})

    def _open(self, identity: Identity) -> str:
        name = f"c{next(self.names)}"
        client, confirmed = self._run(
            open_confirmed(self.ctx, identity, self.transcript, label=name)
        )
        user = user_of(self.ctx, identity)
        self.live[name] = Observed(client, user)
        if confirmed is not None and confirmed.problem:
            raise self._fail(f"{name} ({identity.label}): {confirmed.problem}")
        self.model[name] = ModelConnection(
            name, identity, (user.user_id or 0) if user else 0, user.role if user else None
        )
        return name

    def _fail(self, title: str) -> AssertionError:
        return AssertionError(f"{title}\nTranscript:\n{self.transcript.render(limit=40)}")

    def _round_trip(self, name: str, role: str, slots: Mapping[str, Any]) -> Any:
        """Send the role's message on connection ``name``; its reply must match the role's
        ``reply`` template. Returns the reply's value."""
        observed = self.live[name]
        template = self.roles[role]

        async def go() -> Any:
            request = await observed.client.send_json(fill(template["send"], observed.user, slots))
            return await observed.client.reply_to(request, self.timeouts.reply)

        try:
            reply = self._run(go())
        except ExpectationFailed as exc:
            raise self._fail(f"{name} ({self.model[name].identity.label}): {exc}") from None
        expected = template.get("reply")
        if expected is not None:
            wrong = matching.mismatches(reply.value, fill(expected, observed.user, slots))
            if wrong:
                raise self._fail(
                    f"{name} ({self.model[name].identity.label}): the {role} reply "
                    f"{reply.text[:300]} does not match: " + "; ".join(wrong)
                )
        return reply.value

    # -- rules --------------------------------------------------------------------------

    @initialize(target=connections)
    def anonymous_first(self) -> str:
        return self._open(Identity(self._route("anonymous"), None))

    @initialize(target=connections)
    def user_first(self) -> str:
        return self._open(Identity(self._route("optional"), known_users(self.ctx.config)[0]))

    @precondition(lambda self: len(self.live) < MAX_OPEN)
    @rule(target=connections, data=st.data())
    def connect(self, data: st.DataObject) -> str:
        choices = identities(self.ctx.config, self.ctx.contract)
        return self._open(data.draw(st.sampled_from(choices), label="identity"))

    @precondition(lambda self: len(self.live) > MIN_OPEN)
    @rule(name=consumes(connections))
    def disconnect(self, name: str) -> None:
        self._run(self.live.pop(name).client.close())
        del self.model[name]

    @precondition(lambda self: self._declares(SUBSCRIBE) or self._declares(UNSUBSCRIBE))
    @rule(name=connections, data=st.data(), start=st.booleans())
    def subscription(self, name: str, data: st.DataObject, start: bool) -> None:
        """Subscribe to (``start``) or unsubscribe from push types, one role message each."""
        if not self._declares(SUBSCRIBE if start else UNSUBSCRIBE):
            start = not start
        kinds = st.sampled_from(self.push_types)
        types = data.draw(st.lists(kinds, min_size=1, max_size=3, unique=True), label="types")
        for push_type in types:
            self._round_trip(name, SUBSCRIBE if start else UNSUBSCRIBE, {"push": push_type})
        subscriptions = self.model[name].subscriptions
        if start:
            subscriptions.update(types)
        else:
            subscriptions.difference_update(types)

    @precondition(lambda self: has_liveness(self.ctx.spec))
    @rule(name=connections)
    def alive(self, name: str) -> None:
        observed = self.live[name]
        try:
            self._run(observed.client.alive(self.timeouts.reply))
        except ExpectationFailed as exc:
            raise self._fail(f"{name} ({self.model[name].identity.label}): {exc}") from None

    @precondition(lambda self: self._declares(CHECK) and bool(self.permissions))
    @rule(name=connections, data=st.data())
    def check_permission(self, name: str, data: st.DataObject) -> None:
        """The answer follows the connection's identity (anonymous holds nothing)."""
        permission = data.draw(st.sampled_from(self.permissions), label="permission")
        slots = split(self.pattern, permission) or {}
        user = self.live[name].user
        self._round_trip(name, CHECK, {**slots, "granted": bool(user and user.holds(permission))})

    # Four push rules (not one with an audience argument) so that pushes are a large share
    # of the steps Hypothesis draws; the model decides who is entitled in every case.

    @rule(data=st.data())
    def deliver_to_user(self, data: st.DataObject) -> None:
        self._push("user", data)

    @rule(data=st.data())
    def deliver_to_role(self, data: st.DataObject) -> None:
        self._push("role", data)

    @rule(data=st.data())
    def deliver_to_everyone(self, data: st.DataObject) -> None:
        self._push("global", data)

    @precondition(lambda self: self._declares(SUBSCRIBE))
    @rule(data=st.data())
    def deliver_to_subscribers(self, data: st.DataObject) -> None:
        self._push("subscribers", data)

    def _push(self, audience: Audience, data: st.DataObject) -> None:
        push_type = data.draw(st.sampled_from(self.push_types), label="type")
        users = known_users(self.ctx.config)
        user = self.ctx.config.user(data.draw(st.sampled_from(users), label="user"))
        trace = self.ctx.traces.issue(FUZZ_OWNER)
        request = PushRequest(
            type=push_type,
            audience=audience,
            user_id=user.user_id if audience in ("user", "subscribers") else None,
            role=user.role if audience == "role" else None,
            data=push_data(self.ctx.contract, push_type, self.trace_field, trace),
        )
        target = request.user_id if request.user_id is not None else request.role or ""
        self.transcript.note("push", f"{push_type} -> {audience} {target} ({trace})")
        for model in self.model.values():
            if entitled(model, request):
                model.expected.append((push_type, trace))
        self._run(self._deliver(request))
        self._compare(request)

    async def _deliver(self, request: PushRequest) -> None:
        await asyncio.to_thread(self.ctx.pushes.send, request)
        await asyncio.gather(
            *(
                observed.settle(len(self.model[name].expected), self.timeouts.push, SETTLE)
                for name, observed in self.live.items()
            )
        )

    def _compare(self, request: PushRequest) -> None:
        wrong = []
        for name, model in self.model.items():
            got = self.live[name].pushes
            if got != model.expected:
                missing = [p for p in model.expected if p not in got]
                extra = [p for p in got if p not in model.expected]
                what = f"missing {missing}" if missing else ""
                what += f"{'; ' if what else ''}not entitled to {extra}" if extra else ""
                what = what or f"out of order: got {got}, expected {model.expected}"
                who = f"{model.identity.label}, user id {model.user_id}, role {model.role}"
                subscribed = sorted(model.subscriptions)
                wrong.append(f"  {name} ({who}, subscribed {subscribed}): {what}")
        if wrong:
            raise self._fail(
                f"pushes reached the wrong connections after {request.type} -> {request.audience} "
                f"{request.user_id if request.user_id is not None else request.role or ''}:\n"
                + "\n".join(wrong)
            )

    def _route(self, auth: str) -> str:
        """The first route with ``auth``; ``optional`` (token or anonymous) as a fallback."""
        route = route_with(self.ctx.contract, auth, "optional")
        if route is None:
            raise LookupError(
                f"{self.ctx.contract.source}: no route with x-auth {auth} or optional"
            )
        return route

    @invariant()
    def count_step(self) -> None:
        """Not a check: counts the steps (and starts) for the run's rate summary."""
        self.runner.steps += 1

    def teardown(self) -> None:
        for observed in self.live.values():
            self._run(observed.client.close())
        self.live.clear()


def bind(ctx: RunContext, runner: LoopRunner) -> type[PushMachine]:
    """A ``PushMachine`` subclass bound to one server (no global state: a class per test)."""
    return type("BoundPushMachine", (PushMachine,), {"ctx": ctx, "runner": runner})
