"""ASGI entry point: ``daphne inbox.asgi:application``.

Demo convenience: the (temporary) database is migrated and seeded when this module loads.
"""

from __future__ import annotations

import os

import django
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inbox.settings")
django.setup()
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.core.management import call_command  # noqa: E402

from inbox.routing import websocket_urlpatterns  # noqa: E402
from inbox.seed import seed  # noqa: E402

call_command("migrate", run_syncdb=True, interactive=False, verbosity=0)
seed()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
