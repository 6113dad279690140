"""Per-run state shared by the users of one Locust process: configuration read once, the
protocol spec its sessions are built from, the token cache, the push trigger, the HDR
histograms and the push ledger.

Locust hands every user the same ``Environment``; the context hangs off it (attribute
``ws_harness``) rather than off a module global, so an in-process benchmark can run two
environments side by side. ``RunContext.of(environment)`` builds it on first use, after
Locust has parsed (and, on workers, received from the master) the options.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from harness.auth import TokenProvider
from harness.config import HarnessConfig, UserSpec, load_config
from harness.contract import Contract, Message, Route, load_contract
from harness.errors import ConfigError
from harness.locust.batch import RequestBatch
from harness.locust.frames import FrameTemplate, type_of
from harness.locust.hdr import HdrRecorder
from harness.locust.options import LoadOptions
from harness.locust.pushes import PushLedger
from harness.protocol import ProtocolSpec
from harness.push import PushTrigger

_ATTRIBUTE = "ws_harness"


def http_url_of(ws_url: str) -> str:
    """``ws://h:p/...`` -> ``http://h:p`` (the login and notify endpoints live there)."""
    parts = urlsplit(ws_url)
    if parts.scheme not in ("ws", "wss"):
        raise ConfigError(
            f"--host {ws_url!r}: expected a WebSocket URL such as ws://127.0.0.1:8000"
        )
    scheme = "https" if parts.scheme == "wss" else "http"
    return f"{scheme}://{parts.netloc}"


@dataclass
class RunContext:
    """Everything the users of one process share during a test."""

    options: LoadOptions
    recorder: HdrRecorder = field(default_factory=HdrRecorder)
    ledger: PushLedger = field(default_factory=PushLedger)
    # Successful requests on their way to Locust's statistics; set by the plugin at each
    # test start (None: the users fire one request event each).
    batch: RequestBatch | None = None
    _next_user: itertools.count = field(default_factory=itertools.count)
    _tokens: dict[str, TokenProvider] = field(default_factory=dict)
    _liveness: dict[str | None, FrameTemplate] = field(default_factory=dict)

    @classmethod
    def of(cls, environment: Any) -> RunContext:
        context = getattr(environment, _ATTRIBUTE, None)
        if context is None:
            context = cls(LoadOptions.from_parsed(environment.parsed_options))
            setattr(environment, _ATTRIBUTE, context)
        return context

    @classmethod
    def restart(cls, environment: Any) -> RunContext:
        """A fresh context for a new test (the web UI can run several in one process)."""
        setattr(environment, _ATTRIBUTE, None)
        return cls.of(environment)

    @cached_property
    def config(self) -> HarnessConfig:
        return load_config(self.options.config)

    @cached_property
    def contract(self) -> Contract:
        return load_contract(self.options.contract or self.config.contract)

    @cached_property
    def spec(self) -> ProtocolSpec:
        """What every session of this run speaks (contract + config, distilled once)."""
        return ProtocolSpec.build(self.contract, self.config)

    @cached_property
    def liveness_name(self) -> str:
        """The Locust name of ``heartbeat()``: the liveness request's type (e.g. the
        contract's own heartbeat message), or ``liveness`` when it has none."""
        return type_of(self.spec.liveness, self.spec.type_field) or "liveness"

    def route(self, name: str | None, user: UserSpec | None) -> Route:
        """The route ``name`` (``--ws-route`` first), or the default route for ``user``.

        The default is chosen by the contract's x-auth, never by name: the first
        ``optional`` route (anyone may use it); else, for a configured user, the first
        ``owner`` then ``required`` route, and for an anonymous connection the first
        ``anonymous`` route.
        """
        contract = self.contract
        chosen = self.options.route or name
        if chosen is not None:
            try:
                return contract.route(chosen)
            except KeyError as exc:
                raise ConfigError(f"--ws-route / route: {exc.args[0]}") from None
        kinds = ("optional", "owner", "required") if user is not None else ("optional", "anonymous")
        for kind in kinds:
            routes = contract.routes_with_auth(kind)
            if kind == "owner" and (user is None or user.user_id is None):
                continue  # its path needs the user's id
            if routes:
                return routes[0]
        who = f"user {user.name!r}" if user is not None else "an anonymous connection"
        raise ConfigError(
            f"{contract.source}: no route {who} may use (x-auth: {', '.join(kinds)}); "
            "pass --ws-route NAME"
        )

    def liveness(self, user: UserSpec | None) -> FrameTemplate:
        """The contract's liveness request for ``user``, ready to render on the hot path."""
        key = None if user is None else user.name
        template = self._liveness.get(key)
        if template is None:
            request = self.spec.liveness
            if request is None:
                raise ConfigError(
                    f"{self.contract.source} declares no liveness request (x-roles.liveness."
                    "send): heartbeat users need one; add it, or use other tasks"
                )
            template = self._liveness[key] = FrameTemplate.compile(request, user)
        return template

    def role(self, name: str) -> dict[str, Any]:
        """An x-roles entry of the contract; ConfigError naming the file when it is missing."""
        role = self.contract.roles.get(name)
        if role is None or "send" not in role:
            raise ConfigError(
                f"{self.contract.source} declares no x-roles.{name}.send: add it to use this task"
            )
        return dict(role)

    def push_message(self, push_type: str | None, audience: str) -> Message:
        """The push to trigger: ``push_type``, or the contract's first push delivered to
        ``audience`` (``user`` or ``global``)."""
        contract = self.contract
        if push_type is not None:
            try:
                message = contract.message(push_type)
            except KeyError as exc:
                raise ConfigError(f"--push-type: {exc.args[0]}") from None
            if message.kind != "push":
                pushes = ", ".join(m.name for m in contract.pushes())
                raise ConfigError(f"--push-type {push_type!r} is not a push; pushes: {pushes}")
            return message
        for message in contract.pushes():
            if message.delivered_to == audience:
                return message
        raise ConfigError(
            f"{contract.source} documents no push delivered to {audience!r} "
            "(x-delivered-to); pass --push-type"
        )

    def tokens(self, host: str) -> TokenProvider:
        """One provider (one login per configured user) per server."""
        http_url = http_url_of(host)
        if http_url not in self._tokens:
            self._tokens[http_url] = TokenProvider(self.config, http_url)
        return self._tokens[http_url]

    def push_trigger(self, host: str) -> PushTrigger:
        return PushTrigger(self.config, http_url_of(host), self.tokens(host))

    def pick(self, names: tuple[str, ...]) -> str:
        """The next name, round robin over this process's users."""
        return names[next(self._next_user) % len(names)]
