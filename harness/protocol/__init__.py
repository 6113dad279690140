"""The protocol core, sans I/O: one session object per connection, built from contract + config.

spec.py      ProtocolSpec: the names a session works with, distilled from contract + config
session.py   ProtocolSession: frames in, typed events out; every judgement of a frame
events.py    the events (Opened, Confirmed, Reply, ErrorFrame, Push, Closed, Unexplained)
matching.py  does a frame match an expectation ({"$contains": ...}); pure functions

Drivers (harness.client for asyncio, harness.locust.wsconn for gevent) only move bytes and
time; nothing here imports a socket, an event loop or a service's message names.
"""

from harness.protocol.events import (
    Closed,
    Confirmed,
    ErrorFrame,
    Event,
    Incoming,
    Opened,
    Push,
    Reply,
    Request,
    Unexplained,
)
from harness.protocol.session import ProtocolSession, fill
from harness.protocol.spec import ProtocolSpec

__all__ = [
    "Closed",
    "Confirmed",
    "ErrorFrame",
    "Event",
    "Incoming",
    "Opened",
    "ProtocolSession",
    "ProtocolSpec",
    "Push",
    "Reply",
    "Request",
    "Unexplained",
    "fill",
]
