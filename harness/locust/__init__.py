"""Locust users and metrics for WebSocket services (``pip install ws-harness[locust]``).

    from harness.locust import HeartbeatUser

    class Browser(HeartbeatUser):
        ws_users = ("primary", "anonymous")
        heartbeat_interval = 2.0

Modules: ``wsconn`` (the lean client: wsproto on a socket), ``users`` (the Locust users),
``hdr`` (microsecond histograms), ``plot`` (their percentile picture, SVG), ``pushes``
(lost-push accounting), ``thresholds`` (CI gates), ``options``/``context``/``plugin``/``reports``
(the Locust wiring).

Importing this package does not import Locust (which monkey-patches the standard library
with gevent on import); the user classes load on first attribute access.
"""

from __future__ import annotations

from typing import Any

__all__ = ["HeartbeatUser", "PushTriggerUser", "WebSocketUser"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from harness.locust import users

        return getattr(users, name)
    raise AttributeError(f"module 'harness.locust' has no attribute {name!r}")
