"""Tiny JSON-over-HTTP helper for login and push endpoints (stdlib only, loopback-safe).

Synchronous on purpose: it serves the pytest plugin (through ``asyncio.to_thread``), the
Locust users (gevent patches sockets) and the CLI alike.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy


class HttpError(Exception):
    def __init__(self, status: int | None, body: str, url: str) -> None:
        self.status = status
        self.body = body
        self.url = url
        what = f"HTTP {status}" if status is not None else "no answer"
        super().__init__(f"{url}: {what} {body[:200]}".rstrip())


def request_json(
    method: str,
    url: str,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 5.0,
) -> tuple[int, Any]:
    """Send ``body`` as JSON; return (status, parsed JSON or None). HttpError on 4xx/5xx or no answer."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        raise HttpError(exc.code, exc.read().decode("utf-8", "replace"), url) from None
    except OSError as exc:
        raise HttpError(None, str(getattr(exc, "reason", exc)), url) from None
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Keep a 302 as the answer: a login's session cookie is set on the redirect itself."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_RAW_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def request_raw(
    method: str,
    url: str,
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 5.0,
) -> tuple[int, list[tuple[str, str]], str]:
    """(status, headers, text) of one request, redirects not followed (3xx is an answer).

    For logins that answer with cookies (Django's session login). HttpError on 4xx/5xx or
    no answer, like ``request_json``.
    """
    request = urllib.request.Request(url, data=data, method=method)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with _RAW_OPENER.open(request, timeout=timeout) as response:
            return response.status, list(response.headers.items()), _text(response.read())
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            return exc.code, list(exc.headers.items()), _text(exc.read())
        raise HttpError(exc.code, _text(exc.read()), url) from None
    except OSError as exc:
        raise HttpError(None, str(getattr(exc, "reason", exc)), url) from None


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")
