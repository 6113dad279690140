"""The contract as a plain in-memory model: routes, messages, replies, close and error codes.

Nothing here does I/O; ``harness.contract.loader`` builds it from an AsyncAPI document and
``harness.contract.validation`` checks frames against it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Auth = Literal["optional", "owner", "anonymous", "required"]
MessageKind = Literal["request", "confirmation", "reply", "push", "error"]
Direction = Literal["client", "server"]

_PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Route:
    """A WebSocket route (an AsyncAPI channel): where to connect and who may."""

    name: str
    address: str  # relative path with {parameters}, e.g. "ws/permissions/{user_id}/"
    auth: Auth = "optional"
    owner_parameter: str | None = None
    trailing_slash_optional: bool = False
    parameters: tuple[str, ...] = ()
    title: str = ""
    path_regex: str | None = None  # x-path-regex: the server's own pattern, if declared

    def path(self, **values: Any) -> str:
        """The route's path with its parameters filled in, always with a leading slash."""
        missing = [name for name in self.parameters if name not in values]
        if missing:
            raise KeyError(f"route {self.name!r} needs {', '.join(missing)}")
        filled = _PARAMETER.sub(lambda m: str(values[m.group(1)]), self.address)
        return "/" + filled.lstrip("/")

    def path_variants(self, **values: Any) -> list[str]:
        """The path, plus the slash-less variant where the route declares it optional."""
        path = self.path(**values)
        if self.trailing_slash_optional and path.endswith("/"):
            return [path, path.rstrip("/")]
        return [path]


@dataclass(frozen=True)
class Message:
    """A message the contract documents, identified by the value of its type field."""

    name: str
    direction: Direction
    kind: MessageKind
    schema_pointer: str  # JSON pointer of the payload schema inside the contract document
    correlation_field: str | None = None
    delivered_to: str | None = None  # pushes: user | global | subscribers
    summary: str = ""
    # The confirmation: where it reports the connected user's id (x-user-field, dotted) and
    # which values there mean "anonymous" (x-anonymous-values).
    user_field: str | None = None
    anonymous_values: tuple[Any, ...] = (None,)
    examples: tuple[Mapping[str, Any], ...] = ()  # payloads of the message's AsyncAPI examples


@dataclass(frozen=True)
class Contract:
    """Everything the harness checks, loaded from one document."""

    source: str
    title: str
    version: str
    document: Mapping[str, Any]  # the raw document; schemas are resolved against it
    routes: Mapping[str, Route]
    messages: Mapping[str, Message]
    replies: Mapping[str, tuple[str, ...]]  # request type -> the reply types
    close_codes: Mapping[str, int] = field(default_factory=dict)
    error_message: str = "error"
    error_code_field: str = "error_code"
    error_codes: Mapping[str, str] = field(default_factory=dict)
    type_field: str = "type"
    max_message_bytes: int | None = None
    # Server messages that may arrive at any time, unasked (x-unsolicited): not unexplained.
    unsolicited: tuple[str, ...] = ()
    # Where a push frame carries the data its trigger was given (x-push-data-field).
    push_data_field: str | None = None
    # What the bundled scenarios may ask of this protocol, in its own words (x-roles):
    # role name -> a mapping holding a ``send`` template and, for requests, match templates.
    roles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def liveness_request(self) -> Mapping[str, Any] | None:
        """A request that proves a connection is alive (``x-roles.liveness.send``)."""
        return self.roles.get("liveness", {}).get("send")

    @property
    def liveness_reply(self) -> str | None:
        request = self.liveness_request
        if request is None:
            return None
        replies = self.replies.get(str(request.get(self.type_field)), ())
        return replies[0] if replies else None

    def confirmation(self) -> Message | None:
        """The message tagged ``confirmation``, if the contract documents one."""
        return next((m for m in self.messages.values() if m.kind == "confirmation"), None)

    def routes_with_auth(self, auth: str) -> list[Route]:
        """The routes whose ``x-auth`` is ``auth``, in contract order."""
        return [route for route in self.routes.values() if route.auth == auth]

    def route(self, name: str) -> Route:
        try:
            return self.routes[name]
        except KeyError:
            raise KeyError(
                f"no route {name!r} in {self.source}; routes: {', '.join(self.routes)}"
            ) from None

    def message(self, name: str) -> Message:
        try:
            return self.messages[name]
        except KeyError:
            raise KeyError(f"no message {name!r} in {self.source}") from None

    def client_messages(self) -> list[Message]:
        return [m for m in self.messages.values() if m.direction == "client"]

    def server_messages(self) -> list[Message]:
        return [m for m in self.messages.values() if m.direction == "server"]

    def pushes(self) -> list[Message]:
        return [m for m in self.messages.values() if m.kind == "push"]

    def close_code(self, name_or_code: str | int) -> int:
        """A close code from its symbolic name (``not_authenticated``) or as a number."""
        if isinstance(name_or_code, int):
            return name_or_code
        if name_or_code.isdigit():
            return int(name_or_code)
        try:
            return self.close_codes[name_or_code]
        except KeyError:
            known = ", ".join(self.close_codes)
            raise KeyError(
                f"no close code named {name_or_code!r} in {self.source}; known: {known}"
            ) from None

    def error_code(self, name: str) -> str:
        """An error code from its symbolic name (``invalid_json``); unknown names pass as is."""
        return self.error_codes.get(name, name)
