"""Make the server push a notification: through its HTTP endpoint, or a user's Python hook.

A ``PushRequest`` says what to push and to whom, in the contract's terms; the trigger turns
it into whatever the deployment needs. The HTTP trigger POSTs the config's body template
for the audience (``push.body``); any other server plugs in a hook.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.auth import TokenProvider
from harness.config import DEFAULT_PUSH_BODIES, HarnessConfig
from harness.errors import ConfigError
from harness.hooks import load_hook
from harness.http import HttpError, request_json
from harness.templates import resolve

Audience = Literal["user", "role", "global", "subscribers"]


@dataclass(frozen=True)
class PushRequest:
    """Push ``type`` with ``data`` to an audience: a user id, a role, or everyone."""

    type: str
    audience: Audience
    user_id: int | None = None
    role: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def body(self, templates: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The HTTP trigger's JSON body: the config's template for this audience, filled in."""
        template = (templates or DEFAULT_PUSH_BODIES).get(self.audience)
        if template is None:
            raise ConfigError(
                f"push.body has no template for the {self.audience!r} audience; add one"
            )
        values = {
            "type": self.type,
            "data": dict(self.data),
            "user": self.user_id,
            "role": self.role,
        }

        def look(name: str) -> Any:
            if name not in values:
                raise ConfigError(
                    f"push.body: ${{{name}}} is unknown; use type, data, user or role"
                )
            return values[name]

        return dict(resolve(template, look))


class PushUnavailable(Exception):
    """No push trigger is configured: scenarios that need one are skipped with this reason."""


class PushTrigger:
    """``send(request)`` makes the server push; raises PushUnavailable when none is configured."""

    def __init__(self, config: HarnessConfig, http_url: str, tokens: TokenProvider) -> None:
        self.config = config
        self.http_url = http_url.rstrip("/")
        self.tokens = tokens

    @property
    def available(self) -> bool:
        return self.config.push.method != "none"

    def send(self, request: PushRequest) -> None:
        push = self.config.push
        if push.method == "none":
            raise PushUnavailable(
                f"no push trigger configured in {self.config.source} (push.method: none); "
                "set push.method to http or hook"
            )
        if push.method == "hook":
            if not push.hook:
                raise ConfigError(
                    f"{self.config.source}: push.method is hook but push.hook is not set"
                )
            load_hook(push.hook, "push")(request, self.http_url)
            return
        headers = {}
        if push.as_user:
            headers["Authorization"] = f"{push.auth_scheme} {self.tokens.token(push.as_user)}"
        try:
            request_json("POST", self.http_url + push.path, request.body(push.body), headers)
        except HttpError as exc:
            raise ConfigError(
                f"push trigger failed: {exc}; check push.path and that push.as_user is staff"
            ) from None
