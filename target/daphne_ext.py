"""Two small extensions to Daphne, used by ``target.server``.

Importing this module imports ``daphne.server``, which installs Twisted's asyncio reactor, so
import it before anything else touches ``twisted.internet.reactor``.

* Close codes: autobahn's ``sendClose`` only lets applications use 1000 and 3000-4999, so a
  consumer asking for 1003 (binary frame), 1009 (too big) or 1011 (internal error) would crash
  instead. The contract needs those codes, so ``serverClose`` sends the close frame directly.
* The ASGI "WebSocket Denial Response" extension, so an app can answer an upgrade with a plain
  HTTP status (the ``http_only`` fault answers 404, as an HTTP-only server does).
"""

from __future__ import annotations

from typing import Any

from autobahn.twisted.websocket import ConnectionDeny
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol

from target.http_only import DENIAL_EXTENSION


class TargetWebSocketProtocol(WebSocketProtocol):
    def serverClose(self, code: int | None = None) -> None:
        self.sendCloseFrame(code=1000 if code is None else code, isReply=False)

    def handle_reply(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "websocket.http.response.start" and hasattr(self, "handshake_deferred"):
            status = int(message.get("status", 403))
            self.handshake_deferred.errback(ConnectionDeny(code=status, reason=None))
            del self.handshake_deferred
            self.server.protocol_disconnected(self)
        elif kind == "websocket.http.response.body":
            return  # the status line is what clients act on; the body is not relayed
        else:
            super().handle_reply(message)


class TargetServer(Server):
    """Daphne's Server with :class:`TargetWebSocketProtocol` and the denial extension."""

    def __init__(self, *args: Any, on_ready: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, ready_callable=self._ready, **kwargs)
        self._on_ready = on_ready

    def _ready(self) -> None:
        # Called by Server.run() after the factories exist and before the reactor runs.
        self.ws_factory.protocol = TargetWebSocketProtocol
        # Protocol errors (e.g. a frame over the size limit) get a close frame, not a dropped TCP.
        self.ws_factory.setProtocolOptions(failByDrop=False)
        if self._on_ready is not None:
            self._on_ready()

    def create_application(self, protocol: Any, scope: dict[str, Any]) -> Any:
        if scope.get("type") == "websocket":
            scope.setdefault("extensions", {})[DENIAL_EXTENSION] = {}
        return super().create_application(protocol, scope)
