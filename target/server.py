"""Serve the target with Daphne, in this process (so the pid that listens is ours).

We bind the listening socket ourselves and hand it to Daphne as an ``fd:`` endpoint. That gives
a clean "port in use" error naming the holder (the original incident was several processes on
one port), makes ``--port 0`` report the real port, and means the ready line is printed only
once the socket is listening.
"""

from __future__ import annotations

import errno
import os
import socket
import sys

import psutil

import target
from target import dialect


class ListenError(Exception):
    """The listening socket could not be created; the message is the one line to print."""


def port_holder(port: int) -> str:
    """``pid N (cmdline)`` of the process listening on ``port``, when psutil can tell."""
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if (
                conn.status == psutil.CONN_LISTEN
                and conn.laddr
                and conn.laddr.port == port
                and conn.pid
            ):
                try:
                    cmdline = " ".join(psutil.Process(conn.pid).cmdline()) or "?"
                except psutil.Error:
                    cmdline = "?"
                return f"pid {conn.pid} ({cmdline})"
    except (psutil.Error, OSError):
        pass
    return "another process (pid unknown)"


def bind_listener(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise ListenError(f"target: cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ListenError(
                f"target: cannot listen on {host}:{port}: port in use by {port_holder(port)}; "
                "pick another --port"
            ) from exc
        raise ListenError(f"target: cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.setblocking(False)
    return sock


def endpoint_for(sock: socket.socket) -> str:
    """A Twisted endpoint string serving on ``sock``.

    IPv4 sockets are handed over as ``fd:`` (Twisted adopts and then closes the descriptor, so
    we detach it). Twisted's ``fd:`` parser cannot express IPv6, so an IPv6 socket is closed
    and its address re-bound by Daphne (a tiny window in which another process could take it).
    """
    if sock.family == socket.AF_INET:
        return f"fd:fileno={sock.detach()}"
    host, port = sock.getsockname()[:2]
    sock.close()
    escaped = host.replace(":", "\\:")
    return f"tcp6:port={port}:interface={escaped}"


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def ready_line(host: str, port: int, pid: int, ws_path: str = "ws/permissions/") -> str:
    base = f"{url_host(host)}:{port}"
    return (
        f"target ready: http://{base} ws://{base}/{ws_path} pid={pid} instance={target.INSTANCE_ID}"
    )


def serve(host: str, port: int, verbose: bool) -> int:
    """Bind, prepare the database, print the ready line and run until SIGTERM/SIGINT."""
    try:
        sock = bind_listener(host, port)
    except ListenError as exc:
        print(str(exc), file=sys.stderr, flush=True)
        return 2
    bound_port = sock.getsockname()[1]

    from target.daphne_ext import TargetServer  # first: installs Twisted's asyncio reactor

    from daphne.access import AccessLogGenerator  # isort: skip

    from target.asgi import application  # isort: skip
    from target.bootstrap import prepare_database  # isort: skip
    from django.conf import settings  # isort: skip

    prepare_database()
    ws_path = dialect.rename_path("ws/permissions/") if dialect.active() else "ws/permissions/"

    def on_ready() -> None:
        # sys.__stdout__: with -v, Twisted's log setup has already redirected sys.stdout.
        print(ready_line(host, bound_port, os.getpid(), ws_path), file=sys.__stdout__, flush=True)

    server = TargetServer(
        application=application,
        endpoints=[endpoint_for(sock)],
        signal_handlers=True,
        action_logger=AccessLogGenerator(sys.stderr) if verbose else None,
        verbosity=2 if verbose else 1,
        # autobahn applies this limit to outgoing frames too: a reply echoing a request just
        # under the 64 KiB limit can be larger than it. The consumer enforces 64 KiB on what
        # arrives (close 1009); autobahn's own limit is only the backstop, at twice that.
        websocket_max_message_size=2 * settings.TARGET_MAX_MESSAGE_BYTES,
        application_close_timeout=1,
        on_ready=on_ready,
    )
    server.run()
    return 0
