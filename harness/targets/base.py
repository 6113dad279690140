"""The one small interface every backend implements (process, docker, url).

A backend knows how to start a server on an address, how to read its logs and how to
stop it. Everything common (waiting until a WebSocket handshake really succeeds, proving
the listener is ours, the context-manager protocol) lives here, once.

Caller's sequence::

    with make_target(...) as target:      # start() + wait_ready(); stop() on any exit
        target.info.ws_url                 # ws://127.0.0.1:PORT
        target.logs(50)                    # the last lines the server wrote
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from harness import urls


@dataclass(frozen=True)
class TargetInfo(urls.ServerUrls):
    """Where a started server answers and what we know about who it is."""

    backend: str  # "process" | "docker" | "url"
    host: str
    port: int
    scheme: str = "ws"  # ws | wss
    pid: int | None = None  # the process we started (process backend)
    identity: dict[str, Any] = field(default_factory=dict)  # what the identity endpoint said
    description: str = ""  # one line for the pytest header
    # --ws-replicas: every replica's own info, in order (this info is replica 0's); () alone
    replicas: tuple[TargetInfo, ...] = ()


class Target(abc.ABC):
    """A server under test. Subclasses implement the four abstract methods."""

    backend: str = "abstract"

    def __init__(self) -> None:
        self._info: TargetInfo | None = None

    @property
    def info(self) -> TargetInfo:
        if self._info is None:
            raise RuntimeError(
                "the target is not started; call start() or use it as a context manager"
            )
        return self._info

    @abc.abstractmethod
    def start(self) -> TargetInfo:
        """Start the server (or connect to it), wait until it is ready and ours, return where."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop the server and free everything; safe to call twice and after a failed start."""

    @abc.abstractmethod
    def logs(self, lines: int = 50, window: tuple[Any, Any] | None = None) -> str:
        """The last ``lines`` lines the server wrote ("" when the backend cannot see them);
        with ``window`` (two ``log_mark()`` results), only those written between the marks."""

    def log_mark(self) -> Any:
        """A mark of how far the server's log has got, for ``logs(window=...)``; None where
        the backend cannot tell (then a window shows the last lines, as without one)."""
        return None

    def check_still_ours(self) -> None:  # noqa: B027 - optional; a no-op where nothing can be known
        """Raise PortInUseError if another process joined our port since start (cheap check)."""

    def __enter__(self) -> Target:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
