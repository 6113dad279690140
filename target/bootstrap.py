"""Database preparation: migrate + seed, fast.

Migrating from scratch costs about a second, so the first start migrates and seeds once, then
publishes the result as a template (keyed by a hash of the migrations, the seed and the library
versions) in the temp dir; later starts, including parallel pytest-xdist workers, copy it with
SQLite's backup API. Publishing is an atomic rename, so concurrent starts never see a half file.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
from pathlib import Path

import django
import rest_framework
from django.conf import settings
from django.core.management import call_command
from django.db import connection

import target

APP_DIR = Path(__file__).resolve().parent / "permissions"


def template_key() -> str:
    digest = hashlib.sha256(
        f"{django.__version__}|{rest_framework.__version__}|{target.__version__}".encode()
    )
    for path in [*sorted((APP_DIR / "migrations").glob("*.py")), APP_DIR / "seed.py"]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def template_path() -> Path:
    return Path(tempfile.gettempdir()) / f"target-template-{template_key()}.sqlite3"


def copy_sqlite(source: Path, destination: Path) -> None:
    """Consistent copy of a live or idle SQLite file."""
    src = sqlite3.connect(str(source))
    dst = sqlite3.connect(str(destination))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def publish_template(db: Path, template: Path) -> None:
    scratch = template.with_name(f"{template.name}.{os.getpid()}.tmp")
    try:
        copy_sqlite(db, scratch)
        os.replace(scratch, template)
    except OSError:
        scratch.unlink(missing_ok=True)  # a cache: failing to publish only costs speed


def prepare_database() -> Path:
    """Make the configured database migrated and seeded; returns its path."""
    from target.permissions.seed import seed

    db = Path(settings.DATABASES["default"]["NAME"])
    template = template_path()
    fresh = not db.exists() or db.stat().st_size == 0
    if fresh and template.exists():
        connection.close()
        copy_sqlite(template, db)
    else:
        call_command("migrate", interactive=False, verbosity=0)
    seed()
    if not template.exists():
        publish_template(db, template)
    return db
