"""The url backend: a server someone else started (the user's own Django app, a staging box).

Nothing is started or stopped; the harness only waits until it answers and, when the
server runs on this machine, names who listens on its port.
"""

from __future__ import annotations

from typing import Any

from harness import urls
from harness.config import IdentitySpec
from harness.targets.base import Target, TargetInfo
from harness.targets.ports import listeners
from harness.targets.readiness import ReadinessProbe, fetch_identity, wait_until_ready


def parse_ws_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of ``ws://host:port``; ConfigError with the accepted format."""
    parsed = urls.parse_ws_url(url, "--ws-url")
    return parsed.scheme, parsed.host, parsed.port


class UrlTarget(Target):
    """A server that is already running at a URL."""

    backend = "url"

    def __init__(
        self,
        url: str,
        probe: ReadinessProbe,
        *,
        ready_timeout: float = 10.0,
        identity: IdentitySpec | None = None,
    ) -> None:
        super().__init__()
        self.url = url
        self.scheme, self.host, self.port = parse_ws_url(url)
        self.probe = probe
        self.ready_timeout = ready_timeout
        self.identity = identity

    def start(self) -> TargetInfo:
        held = listeners(self.port) if self.host in ("127.0.0.1", "localhost", "::1") else []
        who = f"; listening: {', '.join(listener.describe() for listener in held)}" if held else ""
        info = TargetInfo(
            backend=self.backend,
            host=self.host,
            port=self.port,
            scheme=self.scheme,
            description=f"already running at {self.url}{who}",
        )
        self._info = info
        wait_until_ready(
            info,
            self.probe,
            self.ready_timeout,
            lambda: None,
            lambda: "",
            hint=f"start your server, or check --ws-url {self.url} and the ready route",
        )
        if self.identity is not None:
            identity = fetch_identity(info, self.identity)
            self._info = info = TargetInfo(**{**info.__dict__, "identity": identity})
        return info

    def stop(self) -> None:
        """Nothing to stop: the server belongs to someone else."""

    def logs(self, lines: int = 50, window: tuple[Any, Any] | None = None) -> str:
        return ""
