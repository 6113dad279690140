"""Per-run state shared by the users of one Locust process: configuration read once, the
token cache, the push trigger, the HDR histograms and the push ledger.

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
from harness.config import HarnessConfig, load_config
from harness.contract import Contract, load_contract
from harness.errors import ConfigError
from harness.locust.hdr import HdrRecorder
from harness.locust.options import LoadOptions
from harness.locust.pushes import PushLedger
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
    _next_user: itertools.count = field(default_factory=itertools.count)
    _tokens: dict[str, TokenProvider] = field(default_factory=dict)

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
    def push_types(self) -> frozenset[str]:
        return frozenset(message.name for message in self.contract.pushes())

    def replies(self, request_type: str) -> frozenset[str]:
        """The reply types the contract documents for a client message type."""
        return frozenset(self.contract.replies.get(request_type, ()))

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
