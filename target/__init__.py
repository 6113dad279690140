"""Reference target: the real-time permissions WebSocket service the harness tests.

A small Django + Channels project served in-process by Daphne. It implements every route,
frame, push and close code of ``shared/protocol.md`` and can switch on realistic defects
(see :mod:`target.faults`) so that the harness can prove it catches them.
"""

import uuid

__version__ = "0.1.0"

#: Fresh at every start (every process import), so the harness can tell a restarted or
#: different server from the one it started.
INSTANCE_ID = str(uuid.uuid4())
