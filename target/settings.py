"""Django settings for the reference target.

Everything that varies between runs comes from ``TARGET_*`` environment variables, which the
CLI (``python -m target serve``) sets from its flags before Django starts. Defaults are chosen
so that several servers can run at once from the same checkout (pytest-xdist workers): each
process gets its own SQLite file in a fresh temporary directory.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from target import dialect, faults

BASE_DIR = Path(__file__).resolve().parent

# Documented and deliberately insecure: this is a test target, and the fuzz suite forges JWTs.
DEFAULT_JWT_SECRET = "reference-target-insecure-jwt-secret"

SECRET_KEY = os.environ.get("TARGET_SECRET_KEY", "reference-target-insecure-django-secret-key")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"] + [
    host.strip() for host in os.environ.get("TARGET_ALLOWED_HOSTS", "").split(",") if host.strip()
]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "rest_framework.authtoken",
    "target.permissions",
]
MIDDLEWARE: list[str] = []  # a JSON API and a WebSocket service: no sessions, no CSRF
ROOT_URLCONF = "target.urls"
ASGI_APPLICATION = "target.asgi.application"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def _database_path() -> str:
    """``TARGET_DB`` if set, else a fresh file in a per-process temp dir (removed at exit)."""
    configured = os.environ.get("TARGET_DB")
    if configured:
        return str(Path(configured).resolve())
    tmpdir = tempfile.mkdtemp(prefix="target-db-")
    atexit.register(shutil.rmtree, tmpdir, ignore_errors=True)
    return str(Path(tmpdir) / "target.sqlite3")


DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": _database_path(),
        "OPTIONS": {
            # WAL lets the consumers' reads run while a login writes a token.
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        },
    }
}

# Logins are hashed with a cheap PBKDF2 so that load tests measure the service, not hashing.
PASSWORD_HASHERS = ["target.permissions.hashers.FastPBKDF2PasswordHasher"]

try:
    TARGET_FAULTS = faults.parse(os.environ.get("TARGET_FAULTS", ""))
except faults.UnknownFaultError as exc:
    raise ImproperlyConfigured(f"TARGET_FAULTS: {exc}") from exc

REDIS_URL = os.environ.get("REDIS_URL", "")


def channel_layers(redis_url: str, active: frozenset[str]) -> dict[str, dict[str, Any]]:
    """channels_redis when a Redis URL is given, else the in-memory layer (one process only).

    memory_layer: a replica that ignores REDIS_URL (a settings file that forgot it) serves
    its own clients fine and never sees the other replicas' pushes.
    """
    if not redis_url or "memory_layer" in active:
        return {
            "default": {
                "BACKEND": "channels.layers.InMemoryChannelLayer",
                "CONFIG": {"capacity": 1000},
            }
        }
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py's asyncio pool refuses a 101st concurrent borrow ("Too many
            # connections") instead of waiting; a burst of connects joins several groups
            # each, so the pool must be sized for the burst, not left at 100.
            "CONFIG": {
                "hosts": [
                    {
                        "address": redis_url,
                        "max_connections": int(
                            os.environ.get("TARGET_REDIS_MAX_CONNECTIONS", "2000")
                        ),
                        # redis-py 8 reads with a 5 s socket timeout, exactly channels_redis's
                        # 5 s BZPOPMIN wait: an idle consumer's receive times out and Daphne
                        # closes the connection 1011. Give reads room beyond the wait.
                        "socket_timeout": 15,
                    }
                ]
            },
        }
    }


CHANNEL_LAYERS = channel_layers(REDIS_URL, TARGET_FAULTS)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "target.permissions.auth.BearerJWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "target.permissions.views.json_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}


def _choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip().lower() or default
    if value not in allowed:
        raise ImproperlyConfigured(f"{name}={value!r}: expected one of {', '.join(allowed)}")
    return value


TARGET_VERBOSE = os.environ.get("TARGET_VERBOSE", "").lower() in {"1", "true", "yes", "on"}
TARGET_CONFIRM_ON = _choice("TARGET_CONFIRM_ON", "accept", ("accept", "connect"))
TARGET_BAD_TOKEN_POLICY = _choice("TARGET_BAD_TOKEN_POLICY", "strict", ("strict", "anonymous"))
# "renamed": every route, message type and field renamed (target/dialect.py).
TARGET_DIALECT = _choice("TARGET_DIALECT", dialect.REFERENCE, dialect.DIALECTS)
TARGET_JWT_SECRET = os.environ.get("TARGET_JWT_SECRET", DEFAULT_JWT_SECRET)
TARGET_JWT_TTL_SECONDS = int(os.environ.get("TARGET_JWT_TTL", "3600"))
TARGET_MAX_MESSAGE_BYTES = 64 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
    "loggers": {
        "target": {"level": "DEBUG" if TARGET_VERBOSE else "INFO"},
        # 4xx answers are part of normal fuzzing/load traffic; log them only when asked to.
        "django.request": {"level": "DEBUG" if TARGET_VERBOSE else "ERROR"},
        "daphne": {"level": "DEBUG" if TARGET_VERBOSE else "WARNING"},
    },
}
