"""Credentials for configured users, and how a WebSocket handshake presents them.

Getting one (``auth.method``): a JSON login endpoint answering a token, Django's session
login (form or JSON) answering a session cookie, a static value, a shell command that
prints it (e.g. a management command), or a Python hook. Presenting it (``auth.present``):
the query string, an HTTP header, the ``Cookie`` header, or a WebSocket subprotocol; the
way each app's auth middleware reads it, all said in the config.

Credentials are cached per user for the life of a ``TokenProvider`` (one per test session or
Locust run): logging in once per connection would measure the login view, not WebSockets.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import quote, urlencode

from harness.config import HarnessConfig, UserSpec
from harness.errors import ConfigError
from harness.hooks import load_hook
from harness.http import HttpError, request_json, request_raw
from harness.templates import TemplateError, resolve

COMMAND_TIMEOUT = 60.0  # seconds an auth.command or push.command may take
CSRF_COOKIE = "csrftoken"  # Django's default CSRF_COOKIE_NAME, for form logins


class LoginFailed(ConfigError):
    """A login did not produce a credential. ``status``: the HTTP status (None: no answer,
    the server may still be starting)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Credentials:
    """What a handshake carries for one credential: a query string (``""`` or ``?k=v``),
    headers, subprotocols to offer, and the Origin (sent by anonymous clients too)."""

    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    subprotocols: tuple[str, ...] = ()
    origin: str | None = None  # auth.origin: the Origin header a browser would send


class TokenProvider:
    """``token(user_name)`` -> that user's credential; ``present(token)`` -> how to send it."""

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
        """The query string that presents ``token`` ("" for none, or when it goes elsewhere)."""
        return self.present(token).query

    def present(self, token: str | None) -> Credentials:
        """Where ``token`` goes in the handshake, as ``auth.present`` says (None: nothing)."""
        auth = self.config.auth
        origin = self.http_url if auth.origin == "same" else auth.origin
        if token is None:
            return Credentials(origin=origin)
        if auth.present == "query":
            query = f"?{auth.query_param}={quote(token, safe='')}"
            return Credentials(query=query, origin=origin)
        if auth.present == "header":
            headers = {auth.header: self._fill(auth.header_value, token)}
            return Credentials(headers=headers, origin=origin)
        if auth.present == "cookie":
            return Credentials(headers={"Cookie": f"{auth.cookie}={token}"}, origin=origin)
        protocols = tuple(self._fill(p, token) for p in auth.subprotocols)
        return Credentials(subprotocols=protocols, origin=origin)

    def credentials(self, user_name: str | None) -> Credentials:
        """Log in (once) as ``user_name`` and present its credential (None: anonymous)."""
        return self.present(None if user_name is None else self.token(user_name))

    @staticmethod
    def _fill(template: str, token: str) -> str:
        return template.replace("${token}", token)

    # -- getting a credential ----------------------------------------------------------------

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
        if auth.method == "command":
            return self._run_command(user)
        if auth.method == "session" or auth.login_format == "form":
            return self._session_login(user)
        return self._json_login(user)

    def _login_body(self, user: UserSpec) -> dict[str, Any]:
        values = _user_values(user)

        def look(name: str) -> Any:
            if name not in values:
                raise ConfigError(
                    f"{self.config.source}: auth.login_body: ${{{name}}} is unknown; use "
                    f"one of {', '.join(sorted(values))}"
                )
            return values[name]

        return dict(resolve(self.config.auth.login_body, look))

    def _login_url(self) -> str:
        auth = self.config.auth
        if not auth.login_path:  # no auth section: the default method, and no endpoint
            raise ConfigError(
                f"{self.config.source}: auth.method is {auth.method} but auth.login_path is not "
                "set; give the app's login endpoint, e.g. auth: {login_path: /api/token/} (or "
                "another auth.method: static, session, command, hook)"
            )
        return self.http_url + auth.login_path

    def _json_login(self, user: UserSpec) -> str:
        auth = self.config.auth
        url = self._login_url()
        try:
            _, body = request_json("POST", url, self._login_body(user))
        except HttpError as exc:
            raise LoginFailed(
                f"{self.config.source}: login for users.{user.name} ({user.username}) failed at {exc}; check the "
                "username/password in the config or auth.login_path",
                exc.status,
            ) from None
        token = body.get(auth.token_field) if isinstance(body, dict) else None
        if not isinstance(token, str):
            raise LoginFailed(
                f"{self.config.source}: login at {url} answered without a string {auth.token_field!r} field; "
                "set auth.token_field to the field holding the token",
                200,
            )
        return token

    def _session_login(self, user: UserSpec) -> str:
        """Log in as a browser does and return the cookie ``auth.cookie`` the answer sets.

        ``form``: GET the login page first for Django's CSRF cookie, then POST the form with
        it (``csrfmiddlewaretoken`` + ``X-CSRFToken``), as ``LoginView`` requires.
        """
        auth = self.config.auth
        url = self._login_url()
        body = self._login_body(user)
        headers = {"Referer": url, "Origin": self.http_url}
        try:
            if auth.login_format == "form":
                _, answer, _ = request_raw("GET", url)
                csrf = _cookies(answer).get(CSRF_COOKIE)
                if csrf:
                    body.setdefault("csrfmiddlewaretoken", csrf)
                    headers.update({"X-CSRFToken": csrf, "Cookie": f"{CSRF_COOKIE}={csrf}"})
                data = urlencode({k: "" if v is None else str(v) for k, v in body.items()})
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            else:
                data = json.dumps(body)
                headers["Content-Type"] = "application/json"
            status, answer, text = request_raw("POST", url, data.encode(), headers)
        except HttpError as exc:
            raise LoginFailed(
                f"{self.config.source}: login for users.{user.name} ({user.username}) failed at {exc}; check the "
                "username/password in the config, auth.login_path and auth.login_format",
                exc.status,
            ) from None
        cookie = _cookies(answer).get(auth.cookie)
        if not cookie:
            shown = text.strip().replace("\n", " ")[:120]
            raise LoginFailed(
                f"{self.config.source}: login for users.{user.name} ({user.username}) at {url} answered HTTP {status} "
                f"without a {auth.cookie!r} cookie (a login form shown again means a wrong "
                f"username/password); check users.{user.name} and auth.cookie. Body: {shown}",
                status,
            )
        return cookie

    def _run_command(self, user: UserSpec) -> str:
        auth = self.config.auth
        assert auth.command is not None
        values = _user_values(user)
        text = shell_template(auth.command, values, f"{self.config.source}: auth.command")
        try:
            done = run_shell(self.config, text)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ConfigError(
                f"{self.config.source}: auth.command for users.{user.name} did not run: {exc}"
            ) from None
        lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
        if done.returncode != 0 or not lines:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise ConfigError(
                f"{self.config.source}: auth.command for users.{user.name} ({text}) exited {done.returncode}"
                f"{' without printing a credential' if not lines else ''}: "
                f"{' | '.join(tail) or 'no output'}; it must print the credential on its last line"
            )
        return lines[-1]


def run_shell(config: HarnessConfig, text: str) -> subprocess.CompletedProcess[str]:
    """Run a config's shell command (auth.command, push.command) where the app runs: the
    target's cwd and environment, bounded by COMMAND_TIMEOUT."""
    return subprocess.run(
        ["/bin/sh", "-c", text],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        cwd=config.target.cwd,
        env={**os.environ, **config.target.env},
    )


def shell_template(template: str, values: Mapping[str, Any], where: str) -> str:
    """``template`` with ``{python}`` and ``${name}`` filled in, each value shell-quoted
    (mappings and lists as JSON), so a value never splits into several words."""

    def look(name: str) -> Any:
        if name not in values:
            raise TemplateError(name)
        return values[name]

    def quoted(value: Any) -> str:
        if isinstance(value, Mapping | list | tuple):
            value = json.dumps(value)
        return shlex.quote("" if value is None else str(value))

    try:
        filled = resolve(template, lambda name: quoted(look(name)))
    except TemplateError as exc:
        raise ConfigError(
            f"{where}: ${{{exc.args[0]}}} is unknown; use {', '.join(sorted(values))}"
        ) from None
    return str(filled).replace("{python}", shlex.quote(sys.executable))


def _user_values(user: UserSpec) -> dict[str, Any]:
    """A user's config fields by name (``${username}``, ``${password}``, its id...)."""
    return {f.name: getattr(user, f.name) for f in fields(user)}


def _cookies(headers: list[tuple[str, str]]) -> dict[str, str]:
    """Cookie name -> value from an answer's ``Set-Cookie`` headers."""
    found: dict[str, str] = {}
    for name, value in headers:
        if name.lower() != "set-cookie":
            continue
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(value)
        except CookieError:
            continue
        found.update({key: morsel.value for key, morsel in jar.items()})
    return found
