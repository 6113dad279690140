"""A plain ASGI app (no Django, no Channels) for the doctor's tests, served by Daphne.

``/open/`` accepts and stays open; ``/refuse/`` closes before accepting, as a consumer whose
connect() calls close() before accept() (Daphne answers HTTP 403); any other path raises
like Channels' URLRouter ("No route found", HTTP 500). There is no origin validator, so a
foreign Origin is accepted: the 403 cannot be the validator's. Run as
``python refusing_asgi.py PORT``: Daphne on 127.0.0.1:PORT (it logs "Listening on ...").
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any

Message = dict[str, Any]


async def application(
    scope: Message,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b"not found"})
        return
    if scope["type"] != "websocket":
        return
    path = scope["path"]
    if path not in ("/open/", "/refuse/"):
        raise ValueError(f"No route found for path {path.lstrip('/')!r}.")
    await receive()  # websocket.connect
    if path == "/refuse/":
        await send({"type": "websocket.close"})
        return
    await send({"type": "websocket.accept"})
    while (await receive())["type"] != "websocket.disconnect":
        pass


if __name__ == "__main__":
    from daphne.cli import CommandLineInterface

    CommandLineInterface().run(["-b", "127.0.0.1", "-p", sys.argv[1], "refusing_asgi:application"])
