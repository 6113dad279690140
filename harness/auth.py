"""Tokens for configured users: from a login endpoint, a static value, or a Python hook.

Tokens are cached per user for the life of a ``TokenProvider`` (one per test session or
Locust run): logging in once per connection would measure the login view, not WebSockets.
"""

from __future__ import annotations

import threading
from urllib.parse import quote

from harness.config import HarnessConfig, UserSpec
from harness.errors import ConfigError
from harness.hooks import load_hook
from harness.http import HttpError, request_json


class TokenProvider:
    """``token(user_name)`` -> the token string that user presents on the WebSocket URL."""

    def __init__(self, config: HarnessConfig, http_url: str) -> None:
        self.config = config
        self.http_url = http_url.rstrip("/")
        self._cache: dict[str, str] = {}
        self._lock = threading.Lock()

    def token(self, user_name: str) -> str:
        with self._lock:
            if user_name not in self._cache:
                self._cache[user_name] = self._fetch(self.config.user(user_name))
            return self._cache[user_name]

    def query(self, token: str | None) -> str:
        """The query string that presents ``token`` ("" for none)."""
        if token is None:
            return ""
        return f"?{self.config.auth.query_param}={quote(token, safe='')}"

    def _fetch(self, user: UserSpec) -> str:
        auth = self.config.auth
        if user.token is not None:
            return user.token
        if auth.method == "static":
            raise ConfigError(
                f"{self.config.source}: users.{user.name} needs a 'token' (auth.method is static)"
            )
        if auth.method == "hook":
            if not auth.hook:
                raise ConfigError(
                    f"{self.config.source}: auth.method is hook but auth.hook is not set"
                )
            return str(load_hook(auth.hook, "auth")(user, self.http_url))
        url = self.http_url + auth.login_path
        try:
            _, body = request_json(
                "POST", url, {"username": user.username, "password": user.password}
            )
        except HttpError as exc:
            raise ConfigError(
                f"login for users.{user.name} ({user.username}) failed at {exc}; check the "
                "username/password in the config or auth.login_path"
            ) from None
        token = body.get(auth.token_field) if isinstance(body, dict) else None
        if not isinstance(token, str):
            raise ConfigError(
                f"login at {url} answered without a string {auth.token_field!r} field; "
                "set auth.token_field to the field holding the token"
            )
        return token
