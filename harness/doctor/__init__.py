"""``ws-harness doctor``: say, in plain words, why a WebSocket endpoint fails.

It exists because of the incident in ``/work/shared/protocol.md``: a handshake answered
HTTP 404 although the routes were right, because a stray HTTP-only process shared the port.
Three layers, data flowing down only (the same split as the rest of the harness):

* ``probe``        I/O: asks the kernel who listens, sends an HTTP GET and WebSocket
                   handshakes, and returns ``Observations`` (plain dataclasses);
* ``rules``        pure: a registry of small functions ``Observations -> Findings``; a new
                   known cause is one decorated function, unit-tested on hand-made data;
* ``render``       output: a rich table for people, JSON for scripts.

``observations`` holds the dataclasses, ``servers`` the command-line signatures that tell an
ASGI server from an HTTP-only one (a table, not if-chains). ``capture`` (I/O) reads the
server's log (``--log``) or runs its start command (``--command``) around the probes, and
``logs`` (pure) finds the exceptions in that output and matches known causes (a table too).
Many diagnoses come from comparing probes: a route refused like an unknown path is not
routed; a foreign Origin accepted rules out the origin validator.
"""

from harness.doctor.observations import (
    Finding,
    HandshakeProbe,
    HttpProbe,
    ListenerInfo,
    LoggedException,
    Observations,
    RouteProbe,
    ServerLog,
)
from harness.doctor.rules import Report, diagnose, rule

__all__ = [
    "Finding",
    "HandshakeProbe",
    "HttpProbe",
    "ListenerInfo",
    "LoggedException",
    "Observations",
    "Report",
    "RouteProbe",
    "ServerLog",
    "diagnose",
    "rule",
]
