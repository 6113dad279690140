"""Ports on loopback: pick a free one, and name every process that listens on one.

The incident behind this project: several processes listened on port 8000 and the upgrade
reached one that was not Daphne. So the harness never assumes a port is free or that the
listener is its own: it asks the kernel (through psutil) who listens.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class Listener:
    """A process listening on a TCP port."""

    pid: int | None
    address: str
    port: int
    cmdline: str
    username: str = ""

    def describe(self) -> str:
        who = (
            f"pid {self.pid}"
            if self.pid is not None
            else "an unknown process (no permission to see it)"
        )
        command = f" ({self.cmdline})" if self.cmdline else ""
        return f"{who}{command} on {self.address}:{self.port}"


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the kernel's choice, as tests binding port 0 do)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def listeners(port: int) -> list[Listener]:
    """Every process listening on TCP ``port``, on any address."""
    found = []
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:  # macOS without root; fall back to what we can see
        connections = []
    for conn in connections:
        if conn.status != psutil.CONN_LISTEN or not conn.laddr or conn.laddr.port != port:
            continue
        found.append(_describe(conn.pid, conn.laddr.ip, port))
    return sorted(found, key=lambda listener: (listener.pid or 0, listener.address))


def _describe(pid: int | None, address: str, port: int) -> Listener:
    cmdline = username = ""
    if pid is not None:
        try:
            process = psutil.Process(pid)
            cmdline = " ".join(process.cmdline()) or process.name()
            username = process.username()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return Listener(pid=pid, address=address, port=port, cmdline=cmdline[:200], username=username)


def process_tree(pid: int) -> set[int]:
    """``pid`` and all its descendants (a server may fork workers or run under a wrapper)."""
    try:
        root = psutil.Process(pid)
        return {pid, *(child.pid for child in root.children(recursive=True))}
    except psutil.NoSuchProcess:
        return {pid}


def port_accepts(host: str, port: int, timeout: float = 0.2) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
