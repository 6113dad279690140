"""Django for the target's in-process tests, kept local to this directory.

The rest of the repository never imports Django, so Django is configured here (not through a
root conftest or pytest-django), with the TARGET_* / REDIS_URL environment of the caller hidden
while settings load, and DJANGO_SETTINGS_MODULE removed again afterwards. The database is a
fresh SQLite file per test process (per xdist worker), migrated and seeded once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import django
import pytest

_HIDDEN = [name for name in os.environ if name.startswith("TARGET_")] + ["REDIS_URL"]
_saved = {name: os.environ.pop(name) for name in _HIDDEN if name in os.environ}
_saved_module = os.environ.get("DJANGO_SETTINGS_MODULE")
os.environ["DJANGO_SETTINGS_MODULE"] = "target.settings"
try:
    django.setup()
finally:
    os.environ.update(_saved)
    if _saved_module is None:
        os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    else:
        os.environ["DJANGO_SETTINGS_MODULE"] = _saved_module

from target.bootstrap import prepare_database  # noqa: E402

prepare_database()


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> Iterator[None]:
    """A new in-memory layer per test: its queues belong to the test's event loop."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(scope="session")
def tokens() -> dict[str, str]:
    """DRF token keys for the seeded users, by username (the inactive user's too)."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    users = get_user_model().objects.filter(pk__in=[1, 2, 3, 4])
    return {user.username: Token.objects.get_or_create(user=user)[0].key for user in users}
