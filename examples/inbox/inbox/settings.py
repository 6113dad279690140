"""Settings of the inbox example. Everything that varies comes from INBOX_* variables."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = os.environ.get("INBOX_SECRET_KEY", "inbox-example-insecure-secret-key")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "channels",
    "inbox",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "inbox.urls"
ASGI_APPLICATION = "inbox.asgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# A session cookie under its own name (the harness config says which cookie to present).
SESSION_COOKIE_NAME = "inbox_session"
LOGIN_REDIRECT_URL = "/"
# Demo only: a fast hasher, so that logins do not dominate a load test.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _database() -> str:
    configured = os.environ.get("INBOX_DB")
    if configured:
        return configured
    folder = tempfile.mkdtemp(prefix="inbox-db-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return str(Path(folder) / "inbox.sqlite3")


DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": _database(),
        "OPTIONS": {"timeout": 20},
    }
}

# Pushes travel only through Redis: the app has no HTTP endpoint that sends them.
REDIS_URL = os.environ.get("INBOX_REDIS_URL", "")
if not REDIS_URL:
    raise ImproperlyConfigured(
        "INBOX_REDIS_URL is not set: the inbox needs its Redis channel layer"
    )
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # redis-py's pool refuses a 101st concurrent borrow ("Too many connections");
            # the harness's burst check (200 connects at once) found it: size it for bursts.
            "hosts": [{"address": REDIS_URL, "socket_timeout": 15, "max_connections": 2000}],
            "prefix": os.environ.get("INBOX_CHANNEL_PREFIX", "inbox"),
        },
    }
}
MAX_FRAME_BYTES = 16 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}
