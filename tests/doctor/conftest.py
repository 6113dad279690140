"""The doctor tests' fixtures live in ``doctor_support`` (importable by a unique name)."""

from doctor_support import reuseport_http, start_server, start_target

__all__ = ["reuseport_http", "start_server", "start_target"]
