"""The HTTP-only fallback application (the second cause of the original incident).

When the Channels imports fail, the original ASGI module silently serves Django alone. An
HTTP-only server answers a WebSocket upgrade with HTTP 404, which is what this app does: it
uses the ASGI "WebSocket Denial Response" extension (which ``target.server`` adds to Daphne)
and falls back to a plain handshake refusal when the server lacks it.
"""

from __future__ import annotations

from typing import Any

DENIAL_EXTENSION = "websocket.http.response"


class HttpOnlyApplication:
    def __init__(self, http_app: Any) -> None:
        self.http_app = http_app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            await self.http_app(scope, receive, send)
            return
        await receive()  # websocket.connect
        if DENIAL_EXTENSION in scope.get("extensions", {}):
            body = b"Not Found"
            await send(
                {
                    "type": "websocket.http.response.start",
                    "status": 404,
                    "headers": [
                        (b"content-type", b"text/plain"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close"})
