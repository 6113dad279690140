"""WebSocket URL patterns, built from the active faults (two faults remove or narrow routes)."""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import URLPattern, re_path

from target import faults
from target.permissions.consumers import (
    AnonymousPermissionConsumer,
    PermissionConsumer,
    UserPermissionConsumer,
)


def build_websocket_urlpatterns(active: Iterable[str] | None = None) -> list[URLPattern]:
    active = faults.active() if active is None else frozenset(active)
    anonymous = (
        r"^ws/permissions/anonymous/$"
        if "no_anonymous_slashless" in active
        else r"^ws/permissions/anonymous/?$"
    )
    patterns = [
        re_path(r"^ws/permissions/$", PermissionConsumer.as_asgi()),
        re_path(anonymous, AnonymousPermissionConsumer.as_asgi()),
    ]
    if "no_user_route" not in active:
        patterns.append(
            re_path(r"^ws/permissions/(?P<user_id>\d+)/$", UserPermissionConsumer.as_asgi())
        )
    return patterns
