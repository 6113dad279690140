"""URL pieces shared by every layer that names a server: IPv6 hosts need brackets, and a
ws:// server's plain-HTTP twin (for login, push and identity endpoints) is http://."""

from __future__ import annotations


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
