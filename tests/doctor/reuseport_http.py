"""A plain HTTP server that joins a port with SO_REUSEPORT: the doctor tests' stray process.

Run as ``python reuseport_http.py PORT``; prints ``ready`` once listening. Two of these on one
port reproduce "several processes listen on the port" (Daphne/Twisted does not set
SO_REUSEPORT, so the reference target cannot share its port this way). Like any HTTP-only
server, it answers a WebSocket upgrade with 404 (no such file).
"""

from __future__ import annotations

import functools
import http.server
import socket
import sys
import tempfile


class ReusePortServer(http.server.ThreadingHTTPServer):
    def server_bind(self) -> None:
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    port = int(sys.argv[1])
    with tempfile.TemporaryDirectory() as empty:
        handler = functools.partial(QuietHandler, directory=empty)
        with ReusePortServer(("127.0.0.1", port), handler) as server:
            print("ready", flush=True)
            server.serve_forever()


if __name__ == "__main__":
    main()
