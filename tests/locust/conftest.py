"""Fixtures of the Locust tests live in ``locust_support`` (importable by the tests by a
unique name, unlike ``conftest``)."""

from locust_support import (
    echo_server,
    flaky_server,
    late_server,
    reference_target,
    renamed_target,
)

__all__ = ["echo_server", "flaky_server", "late_server", "reference_target", "renamed_target"]
