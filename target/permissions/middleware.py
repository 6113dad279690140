"""ASGI middleware for the WebSocket stack: token auth and origin checking.

``TokenAuthMiddleware`` reads ``?token=`` and sets ``scope["user"]`` (a user or
``AnonymousUser``) and ``scope["token_status"]``: ``"absent"``, ``"valid"`` or ``"invalid"``.
It does not refuse anything itself: whether a bad token is refused (close 4001, the default
"strict" policy) or downgraded to anonymous (the original's policy) is decided by the consumer,
because the anonymous route ignores tokens altogether.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from target.permissions.auth import user_for_token

ASGIApp = Any


def token_from_query(query_string: bytes) -> str | None:
    """The ``token`` query parameter; ``""`` when present but empty, None when absent."""
    params = parse_qs(query_string.decode("latin1"), keep_blank_values=True)
    values = params.get("token")
    return values[0] if values else None


class TokenAuthMiddleware(BaseMiddleware):
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        scope = dict(scope)
        raw = token_from_query(scope.get("query_string", b""))
        user = None if raw is None else await database_sync_to_async(user_for_token)(raw)
        scope["user"] = user or AnonymousUser()
        scope["token_status"] = "absent" if raw is None else ("valid" if user else "invalid")
        return await super().__call__(scope, receive, send)


def TokenAuthMiddlewareStack(inner: ASGIApp) -> ASGIApp:
    return TokenAuthMiddleware(inner)


class MissingOriginAllowedValidator(OriginValidator):
    """Channels' OriginValidator, except that a request without an Origin header passes.

    Stock Channels refuses a missing Origin unless ALLOWED_HOSTS contains "*"; non-browser
    clients (scripts, load generators) send none, and the contract allows them. A *foreign*
    Origin is still refused (HTTP 403 at handshake).
    """

    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True
        return super().valid_origin(parsed_origin)


def AllowedHostsOriginValidator(application: ASGIApp) -> ASGIApp:
    """Like ``channels.security.websocket.AllowedHostsOriginValidator`` (see the class above)."""
    allowed_hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = ["localhost", "127.0.0.1", "[::1]"]
    return MissingOriginAllowedValidator(application, allowed_hosts)


__all__ = [
    "AllowedHostsOriginValidator",
    "TokenAuthMiddleware",
    "TokenAuthMiddlewareStack",
    "token_from_query",
]
