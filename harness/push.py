"""Make the server push a notification, the way the deployment's own code does.

A ``PushRequest`` says what to push and to whom, in the contract's terms; the trigger turns
it into whatever the deployment needs (``push.method``):

* ``http``: POST the config's body template for the audience to the app's notify endpoint;
* ``channel_layer``: join the app's own channel layer (channels_redis, its Redis URL) and
  ``group_send`` the config's message to the config's group names, as the app's signals do;
  for apps with no HTTP trigger at all;
* ``command``: run a shell command template (e.g. the app's management command);
* ``hook``: a user's Python function.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from harness.auth import TokenProvider, run_shell, shell_template
from harness.config import ChannelLayerSpec, HarnessConfig
from harness.errors import ConfigError
from harness.hooks import load_hook
from harness.http import HttpError, request_json
from harness.templates import resolve

Audience = Literal["user", "role", "global", "subscribers"]

LAYER_TIMEOUT = 10.0  # seconds one group_send round may take


@dataclass(frozen=True)
class PushRequest:
    """Push ``type`` with ``data`` to an audience: a user id, a role, or everyone."""

    type: str
    audience: Audience
    user_id: int | str | None = None
    role: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        """What a trigger template may name: ${type} ${data} ${user} ${role} ${audience}."""
        return {
            "type": self.type,
            "data": dict(self.data),
            "user": self.user_id,
            "role": self.role,
            "audience": self.audience,
        }

    def fill(self, template: Any, where: str, extra: Mapping[str, Any] | None = None) -> Any:
        """``template`` with this request's values filled in (ConfigError naming ``where``)."""
        values = {**self.values(), **(extra or {})}

        def look(name: str) -> Any:
            if name not in values:
                raise ConfigError(
                    f"{where}: ${{{name}}} is unknown; use {', '.join(sorted(values))}"
                )
            return values[name]

        return resolve(template, look)

    def body(self, templates: Mapping[str, Any]) -> dict[str, Any]:
        """The HTTP trigger's JSON body: the config's template for this audience
        (``push.body``), filled in."""
        template = templates.get(self.audience)
        if template is None:
            raise ConfigError(
                f"push.body has no template for the {self.audience!r} audience; add one"
            )
        return dict(self.fill(template, "push.body", {}))


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
                "set push.method to http, channel_layer, command or hook"
            )
        if push.method == "hook":
            if not push.hook:
                raise ConfigError(
                    f"{self.config.source}: push.method is hook but push.hook is not set"
                )
            load_hook(push.hook, "push")(request, self.http_url)
            return
        if push.method == "channel_layer":
            assert push.channel_layer is not None  # the config loader insists
            send_to_layer(push.channel_layer, request, self.config.source)
            return
        if push.method == "command":
            self._run_command(request)
            return
        headers = {}
        if push.as_user:
            headers["Authorization"] = f"{push.auth_scheme} {self.tokens.token(push.as_user)}"
        assert push.path is not None  # the config loader insists
        try:
            request_json("POST", self.http_url + push.path, request.body(push.body), headers)
        except HttpError as exc:
            raise ConfigError(
                f"push trigger failed: {exc}; check push.path and that push.as_user may "
                "trigger pushes"
            ) from None

    def _run_command(self, request: PushRequest) -> None:
        template = self.config.push.command.get(request.audience)
        if template is None:
            raise ConfigError(
                f"{self.config.source}: push.command has no command for the "
                f"{request.audience!r} audience; add push.command.{request.audience}"
            )
        text = shell_template(
            template, request.values(), f"{self.config.source}: push.command.{request.audience}"
        )
        try:
            done = run_shell(self.config, text)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ConfigError(
                f"{self.config.source}: push.command did not run ({text}): {exc}"
            ) from None
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise ConfigError(
                f"{self.config.source}: push trigger failed: push.command exited "
                f"{done.returncode} ({text}): "
                f"{' | '.join(tail) or 'no output'}"
            )


def layer_message(
    spec: ChannelLayerSpec, request: PushRequest, source: str
) -> tuple[list[str], dict[str, Any]]:
    """The group names and the event ``send_to_layer`` sends for ``request`` (pure)."""
    where = f"{source}: push.channel_layer"
    templates = spec.groups.get(request.audience)
    if templates is None:
        raise ConfigError(
            f"{where}.groups has no group for the {request.audience!r} audience; add "
            f"push.channel_layer.groups.{request.audience}"
        )
    now = time.time()
    extra = {"now_ms": int(now * 1000), "now_iso": datetime.fromtimestamp(now, UTC).isoformat()}
    groups = [str(request.fill(name, f"{where}.groups", extra)) for name in templates]
    message = dict(request.fill(spec.message, f"{where}.message", extra))
    return groups, message


def send_to_layer(spec: ChannelLayerSpec, request: PushRequest, source: str) -> None:
    """``group_send`` ``request`` through the app's Redis channel layer (blocking)."""
    groups, message = layer_message(spec, request, source)
    try:
        from channels_redis.core import RedisChannelLayer
    except ImportError:
        raise ConfigError(
            f"{source}: push.method channel_layer needs channels_redis; install it "
            "(pip install channels-redis, or ws-harness[target])"
        ) from None

    async def deliver() -> None:
        layer = RedisChannelLayer(hosts=[{"address": spec.url}], prefix=spec.prefix)
        try:
            for group in groups:
                await layer.group_send(group, message)
        finally:
            await layer.close_pools()

    try:
        asyncio.run(asyncio.wait_for(deliver(), LAYER_TIMEOUT))
    except (TypeError, ValueError) as exc:  # channels' name and message checks
        raise ConfigError(
            f"{source}: push.channel_layer could not send to {groups}: {exc}; group names may "
            "hold ASCII letters, digits, '-', '_' and '.' only"
        ) from None
    except (OSError, TimeoutError) as exc:
        raise ConfigError(
            f"{source}: push trigger failed: the channel layer at {spec.url} did not answer "
            f"({exc}); "
            "check push.channel_layer.url and that Redis runs"
        ) from None
    except Exception as exc:  # redis-py's own errors (ConnectionError, ResponseError...)
        if type(exc).__module__.startswith("redis"):
            raise ConfigError(
                f"{source}: push trigger failed: the channel layer at {spec.url}: {exc}; check "
                "push.channel_layer.url and that Redis runs"
            ) from None
        raise
