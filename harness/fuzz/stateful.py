"""Stateful push testing: who receives which push, over many connections and users.

``PushModel`` is the pure expectation: each modelled connection has an identity (user id,
role, 0 for anonymous) and its subscriptions; ``entitled`` says whether a push reaches it
(protocol.md: ``user_<id>``, ``role_<role>``, ``global_notifications``, and
``notification_<type>_<user_id>`` after ``subscribe_notifications``).

``PushMachine`` is a Hypothesis ``RuleBasedStateMachine`` that connects and disconnects
users and anonymous clients on several routes, subscribes, unsubscribes, checks
permissions, sends heartbeats and pushes to users, roles, subscribers and everyone. After
every push it waits (bounded) for what the model expects and a short settle time for
anything else, then asserts that each connection received exactly its pushes, in order.
Each push carries a unique trace id in ``config.push.trace_field`` to tell them apart.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    precondition,
    rule,
)

from harness.client import ConnectionEnded, Message, Transcript, WsClient
from harness.config import HarnessConfig
from harness.contract import Contract
from harness.engine.runner import RunContext
from harness.fuzz.driver import Identity, LoopRunner, open_confirmed
from harness.push import Audience, PushRequest

#: Extra pushes are watched for this long after the expected ones arrived (seconds).
SETTLE = 0.2
MAX_OPEN = 6  # connections open at once: enough for every identity pair, cheap on 2 cores
MIN_OPEN = 2  # the initial anonymous and user connections stay, so every push has witnesses


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


def push_data(push_type: str, user_id: int, trace_field: str, trace: str) -> dict[str, Any]:
    """Data that satisfies the contract's push schemas, tagged with ``trace``."""
    data: dict[str, Any] = {
        "permission_changed": {"permissions": [], "action": "added", "resource": "fuzz"},
        "role_updated": {"oldRole": None, "newRole": "fuzz", "permissions": []},
        "menu_access_changed": {"menuChanges": {}},
        "cache_invalidation": {"cacheKeys": ["fuzz"]},
        "system_notification": {"message": "fuzz", "priority": "low"},
    }.get(push_type, {})
    if push_type != "system_notification":
        data["userId"] = user_id
    data[trace_field] = trace
    return data


def identities(config: HarnessConfig, contract: Contract) -> list[Identity]:
    """Every (route, user) pair the contract admits: token users on ``optional``, ``owner``
    and ``required`` routes, anonymous clients on ``optional`` and ``anonymous`` routes."""
    users = [name for name, spec in config.users.items() if spec.user_id is not None and spec.role]
    pairs = []
    for name, route in contract.routes.items():
        if route.auth in ("optional", "anonymous"):
            pairs.append(Identity(name, None))
        if route.auth in ("optional", "owner", "required"):
            pairs += [Identity(name, user) for user in users]
    return pairs


# -- the I/O side -----------------------------------------------------------------------


class Observed:
    """One live connection: pushes it received (in order) and the other frames."""

    def __init__(self, client: WsClient, push_types: frozenset[str], trace_field: str) -> None:
        self.client = client
        self.push_types = push_types
        self.trace_field = trace_field
        self.pushes: list[tuple[str, str]] = []
        self.others: list[Message] = []

    async def pump(self, deadline: float) -> bool:
        """Read one frame before ``deadline``; False on timeout or close."""
        remaining = deadline - time.monotonic()
        if remaining <= 0 or self.client.closed:
            return False
        try:
            message = await self.client.receive(remaining)
        except (TimeoutError, ConnectionEnded):
            return False
        if message.type in self.push_types:
            data = message.value.get("data") if isinstance(message.value, dict) else None
            trace = data.get(self.trace_field) if isinstance(data, dict) else None
            self.pushes.append((str(message.type), str(trace)))
        else:
            self.others.append(message)
        return True

    async def reply(self, message_type: str, timeout: float) -> Message:
        deadline = time.monotonic() + timeout
        while True:
            found = next((m for m in self.others if m.type == message_type), None)
            if found is not None:
                self.others.remove(found)
                return found
            if not await self.pump(deadline):
                raise AssertionError(
                    f"{self.client.label}: no {message_type!r} within {timeout:.1f}s "
                    f"(closed: {self.client.closed}, close code {self.client.close_code})"
                )

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
        if config.push.trace_field is None:
            raise AssertionError("the stateful push test needs push.trace_field in the config")
        self.trace_field = config.push.trace_field
        self.push_types = frozenset(m.name for m in contract.pushes())
        self.model: dict[str, ModelConnection] = {}
        self.live: dict[str, Observed] = {}
        self.transcript = Transcript()
        self.names = itertools.count(1)
        self.traces = itertools.count(1)
        self.timeouts = config.timeouts

    # -- helpers ------------------------------------------------------------------------

    def _run(self, coroutine: Any) -> Any:
        return self.runner.run(coroutine, self.timeouts.connect + self.timeouts.push + 10)

    def _users(self) -> list[str]:
        return [n for n, u in self.ctx.config.users.items() if u.user_id is not None and u.role]

    def _open(self, identity: Identity) -> str:
        name = f"c{next(self.names)}"
        client, _ = self._run(open_confirmed(self.ctx, identity, self.transcript, label=name))
        spec = self.ctx.config.user(identity.user) if identity.user else None
        self.model[name] = ModelConnection(
            name, identity, (spec.user_id or 0) if spec else 0, spec.role if spec else None
        )
        self.live[name] = Observed(client, self.push_types, self.trace_field)
        return name

    def _fail(self, title: str) -> AssertionError:
        return AssertionError(f"{title}\nTranscript:\n{self.transcript.render(limit=40)}")

    # -- rules --------------------------------------------------------------------------

    @initialize(target=connections)
    def anonymous_first(self) -> str:
        return self._open(Identity(self._route("anonymous"), None))

    @initialize(target=connections)
    def user_first(self) -> str:
        return self._open(Identity(self._route("optional"), self._users()[0]))

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

    @rule(name=connections, data=st.data(), subscribe=st.booleans())
    def subscription(self, name: str, data: st.DataObject, subscribe: bool) -> None:
        kinds = st.sampled_from(sorted(self.push_types))
        types = data.draw(st.lists(kinds, min_size=1, max_size=3, unique=True), label="types")
        request = "subscribe_notifications" if subscribe else "unsubscribe_notifications"
        reply_type = self.ctx.contract.replies[request][0]
        observed = self.live[name]

        async def go() -> None:
            await observed.client.send_json({"type": request, "types": types})
            await observed.reply(reply_type, self.timeouts.reply)

        self._run(go())
        subscriptions = self.model[name].subscriptions
        if subscribe:
            subscriptions.update(types)
        else:
            subscriptions.difference_update(types)

    @rule(name=connections)
    def heartbeat(self, name: str) -> None:
        request, reply = self.ctx.contract.liveness_request, self.ctx.contract.liveness_reply
        if request is None or reply is None:
            return
        observed = self.live[name]

        async def go() -> None:
            await observed.client.send_json(dict(request))
            await observed.reply(reply, self.timeouts.reply)

        self._run(go())

    @rule(
        name=connections,
        permission=st.sampled_from(
            ["grades.view", "grades.edit", "users.manage", "courses.edit", "nothing.here"]
        ),
    )
    def permission_check(self, name: str, permission: str) -> None:
        """The answer follows the connection's identity (anonymous holds nothing)."""
        resource, action = permission.split(".")
        observed, model = self.live[name], self.model[name]
        request_id = f"{name}-{permission}"

        async def go() -> Message:
            await observed.client.send_json(
                {
                    "type": "permission_check",
                    "resource": resource,
                    "action": action,
                    "request_id": request_id,
                }
            )
            return await observed.reply("permission_check_response", self.timeouts.reply)

        answer = self._run(go()).value
        user = self.ctx.config.user(model.identity.user) if model.identity.user else None
        expected = bool(user and user.holds(permission))
        if answer.get("has_permission") is not expected:
            raise self._fail(
                f"{name} ({model.identity.label}): permission_check {permission} answered "
                f"{answer.get('has_permission')!r}, expected {expected!r}"
            )

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

    @rule(data=st.data())
    def deliver_to_subscribers(self, data: st.DataObject) -> None:
        self._push("subscribers", data)

    def _push(self, audience: Audience, data: st.DataObject) -> None:
        push_type = data.draw(st.sampled_from(sorted(self.push_types)), label="type")
        user = self.ctx.config.user(data.draw(st.sampled_from(self._users()), label="user"))
        trace = f"stateful-{next(self.traces)}"
        request = PushRequest(
            type=push_type,
            audience=audience,
            user_id=user.user_id if audience in ("user", "subscribers") else None,
            role=user.role if audience == "role" else None,
            data=push_data(push_type, user.user_id or 0, self.trace_field, trace),
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
                who = f"{model.identity.label}, user_id {model.user_id}, role {model.role}"
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
        routes = self.ctx.contract.routes.items()
        return next(
            (n for n, r in routes if r.auth == auth),
            next(n for n, r in routes if r.auth == "optional"),
        )

    def teardown(self) -> None:
        for observed in self.live.values():
            self._run(observed.client.close())
        self.live.clear()


def bind(ctx: RunContext, runner: LoopRunner) -> type[PushMachine]:
    """A ``PushMachine`` subclass bound to one server (no global state: a class per test)."""
    return type("BoundPushMachine", (PushMachine,), {"ctx": ctx, "runner": runner})
