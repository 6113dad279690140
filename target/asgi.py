"""ASGI entry point, wired as the real service does.

``ProtocolTypeRouter({"http": django_asgi_app, "websocket":
AllowedHostsOriginValidator(TokenAuthMiddlewareStack(URLRouter(websocket_urlpatterns)))})``.
Like the original, a failed Channels import falls back to an HTTP-only app; the ``http_only``
fault takes exactly that path on purpose.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any

import django
from django.conf import settings
from django.core.asgi import get_asgi_application

if not settings.configured:  # tests configure Django themselves and keep the env clean
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "target.settings")
django.setup(set_prefix=False)
django_asgi_app = get_asgi_application()  # before any model import, as Channels requires

from target import faults  # noqa: E402
from target.http_only import HttpOnlyApplication  # noqa: E402

logger = logging.getLogger(__name__)


def build_application(active: Iterable[str] | None = None) -> Any:
    """The ASGI app for a set of faults (default: the faults of this process)."""
    active = faults.active() if active is None else frozenset(active)
    try:
        if "http_only" in active:
            raise ImportError("simulated Channels import failure (fault http_only)")
        from channels.routing import ProtocolTypeRouter, URLRouter

        from target.permissions.middleware import (
            AllowedHostsOriginValidator,
            TokenAuthMiddlewareStack,
        )
        from target.permissions.routing import build_websocket_urlpatterns
    except ImportError as exc:
        logger.warning("WebSocket support unavailable, serving HTTP only: %s", exc)
        return HttpOnlyApplication(django_asgi_app)
    websocket_app = TokenAuthMiddlewareStack(URLRouter(build_websocket_urlpatterns(active)))
    if "any_origin" not in active:
        websocket_app = AllowedHostsOriginValidator(websocket_app)
    return ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_app})


application = build_application()
