"""What a protocol session needs to know, distilled once from the contract and the config.

``ProtocolSpec`` is the only place where contract + config become the names a session
works with: the type field, the confirmation and its user field, the hello, the liveness
request, which reply answers which request, correlation fields, the error message, the
push types and where a push's trace sits. Every driver (scenario runner, fuzzers,
readiness, Locust, the doctor) builds its sessions from one spec, so none of them names a
message of any particular service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.config import FROM_CONTRACT, HarnessConfig
from harness.contract import Contract
from harness.errors import ConfigError


@dataclass(frozen=True)
class ProtocolSpec:
    """The protocol as a session speaks it. Plain data; build it with ``ProtocolSpec.build``.

    A spec built with no contract (``ProtocolSpec()``) knows nothing but JSON with a
    ``type`` field: every frame is then unexplained, which is what the doctor wants when it
    judges an endpoint by plain WebSocket behaviour.
    """

    type_field: str = "type"
    confirmation: str | None = None  # the confirmation's message type; None: none is sent
    confirm_after: Literal["accept", "connect"] = "accept"
    hello: Mapping[str, Any] | None = None  # the client's first message (a ${user.*} template)
    user_field: str | None = None  # dotted path of the user id inside the confirmation
    anonymous_values: tuple[Any, ...] = (None,)
    liveness: Mapping[str, Any] | None = None  # a request template proving the connection serves
    replies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    correlation: Mapping[str, str] = field(default_factory=dict)  # message type -> its field
    error_message: str | None = None
    error_code_field: str | None = None
    pushes: frozenset[str] = frozenset()
    trace_path: str | None = None  # dotted path of the harness's trace id inside a push
    server_messages: frozenset[str] = frozenset()

    @classmethod
    def build(cls, contract: Contract, config: HarnessConfig | None = None) -> ProtocolSpec:
        """The spec for ``contract`` as ``config`` deploys it (confirmation convention, trace)."""
        declared = contract.confirmation()
        confirmation_spec = config.confirmation if config is not None else None
        message = confirmation_spec.message if confirmation_spec else FROM_CONTRACT
        if message == FROM_CONTRACT:
            message = declared.name if declared else None
        elif message is not None and message not in contract.messages:
            raise ConfigError(
                f"{config.source if config else 'config'}: confirmation.message {message!r} is "
                f"not a message of {contract.source}; use one of its server messages or null"
            )
        confirmed = contract.messages.get(message) if message else None
        after = confirmation_spec.after if confirmation_spec else "accept"
        hello = (confirmation_spec.connect_message if confirmation_spec else None) or (
            contract.roles.get("hello", {}).get("send")
        )
        if after == "connect" and message is not None and hello is None:
            raise ConfigError(
                f"{config.source if config else 'config'}: confirmation.after is connect, but "
                "no hello is declared: set confirmation.connect_message, or x-roles.hello.send "
                f"in {contract.source}"
            )
        trace_field = config.push.trace_field if config is not None else None
        return cls(
            type_field=contract.type_field,
            confirmation=message,
            confirm_after=after,
            hello=dict(hello) if hello is not None else None,
            user_field=confirmed.user_field if confirmed else None,
            anonymous_values=confirmed.anonymous_values if confirmed else (None,),
            liveness=contract.liveness_request,
            replies=dict(contract.replies),
            correlation={
                m.name: m.correlation_field
                for m in contract.messages.values()
                if m.correlation_field
            },
            error_message=contract.error_message,
            error_code_field=contract.error_code_field,
            pushes=frozenset(m.name for m in contract.pushes()),
            trace_path=(
                f"{contract.push_data_field}.{trace_field}"
                if trace_field and contract.push_data_field
                else trace_field
            ),
            server_messages=frozenset(m.name for m in contract.server_messages()),
        )

    def reply_types(self, request_type: Any) -> tuple[str, ...]:
        """The documented replies to a request of ``request_type`` (empty: it has none)."""
        return self.replies.get(request_type, ()) if isinstance(request_type, str) else ()
