"""WebSocket URL patterns, built from the active faults (three faults change the routes).

In the renamed dialect (``target/dialect.py``) the same patterns are served with their path
segments renamed (``^ws/permissions/$`` -> ``^rt/grants/$``); the old paths are not routes then.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import URLPattern, re_path

from target import dialect, faults
from target.permissions.consumers import (
    AnonymousPermissionConsumer,
    PermissionConsumer,
    UnroutedConsumer,
    UserPermissionConsumer,
)


def build_websocket_urlpatterns(
    active: Iterable[str] | None = None, renamed: bool | None = None
) -> list[URLPattern]:
    """The routes for a set of faults, in the process's dialect unless ``renamed`` is given."""
    active = faults.active() if active is None else frozenset(active)
    renamed = dialect.active() if renamed is None else renamed
    path = dialect.rename_path if renamed else str
    anonymous = (
        r"^ws/permissions/anonymous/$"
        if "no_anonymous_slashless" in active
        else r"^ws/permissions/anonymous/?$"
    )
    patterns = [
        re_path(path(r"^ws/permissions/$"), PermissionConsumer.as_asgi()),
        re_path(path(anonymous), AnonymousPermissionConsumer.as_asgi()),
    ]
    if "no_user_route" not in active:
        patterns.append(
            re_path(path(r"^ws/permissions/(?P<user_id>\d+)/$"), UserPermissionConsumer.as_asgi())
        )
    if "deny_unrouted" in active:
        patterns.append(re_path(r"", UnroutedConsumer.as_asgi()))  # matches any path: last
    return patterns
