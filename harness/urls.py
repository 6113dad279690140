"""The one WebSocket URL parser, and the URL pieces every layer that names a server shares:
IPv6 hosts need brackets, and a ws:// server's plain-HTTP twin (for login, push and identity
endpoints) is http://."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from harness.errors import ConfigError

_DEFAULT_PORTS = {"ws": 80, "wss": 443}
_HTTP_TWINS = {"http": "ws", "https": "wss"}


@dataclass(frozen=True)
class WsUrl:
    """A parsed ``ws://host:port/path?query``."""

    scheme: str  # ws | wss
    host: str
    port: int
    path: str = ""  # "" when the URL names no path
    query: str = ""

    @property
    def base(self) -> str:
        """``ws://host:port``, without path and query."""
        return ws_url(self.scheme, self.host, self.port)

    @property
    def http_base(self) -> str:
        return http_url(self.scheme, self.host, self.port)


def parse_ws_url(url: str, what: str = "URL", *, accept_http: bool = False) -> WsUrl:
    """Parse a WebSocket URL; ConfigError names ``what`` and the accepted format.

    ``accept_http``: http(s):// is read as the same server's ws(s):// (the doctor does).
    """
    parts = urlsplit(url.strip())
    scheme = _HTTP_TWINS.get(parts.scheme, parts.scheme) if accept_http else parts.scheme
    accepted = "ws://HOST:PORT or wss://HOST:PORT" + (
        " (or http://, https://)" if accept_http else ""
    )
    if scheme not in _DEFAULT_PORTS:
        raise ConfigError(f"{what} {url!r}: expected {accepted}")
    if not parts.hostname:
        raise ConfigError(f"{what} {url!r}: no host; expected {accepted}")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:
        raise ConfigError(f"{what} {url!r}: the port is not a number from 1 to 65535") from None
    path = parts.path if parts.path not in ("", "/") else ""
    return WsUrl(scheme, parts.hostname, port, path, parts.query)


def netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def ws_url(scheme: str, host: str, port: int) -> str:
    return f"{scheme}://{netloc(host, port)}"


def http_url(scheme: str, host: str, port: int) -> str:
    """The HTTP URL of the same server: https for wss, http for ws."""
    return f"{'https' if scheme == 'wss' else 'http'}://{netloc(host, port)}"


class ServerUrls:
    """``ws_url`` and ``http_url`` for any class with ``scheme``, ``host`` and ``port``."""

    scheme: str
    host: str
    port: int

    @property
    def ws_url(self) -> str:
        return ws_url(self.scheme, self.host, self.port)

    @property
    def http_url(self) -> str:
        return http_url(self.scheme, self.host, self.port)
