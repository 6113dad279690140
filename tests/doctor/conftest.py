"""The doctor tests' fixtures live in ``doctor_support`` (importable by a unique name)."""

from doctor_support import refusing_asgi, reuseport_http, start_server, start_target

__all__ = ["refusing_asgi", "reuseport_http", "start_server", "start_target"]
