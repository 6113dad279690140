"""``ws-harness clean``: remove containers (and optionally images) left by earlier runs.

By default only orphans go: harness containers started on this host whose owner process is
gone (a SIGKILLed pytest, a cancelled CI job). That is safe while other runs are in progress,
and it is what every docker-backend run also does at start. ``--all`` removes every harness
container, including those of runs still going and of other hosts sharing the engine.
"""

from __future__ import annotations

import argparse
from typing import Any

HELP = "remove containers left by earlier runs (default: orphans only; --all: every one)"


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "clean",
        help=HELP,
        description=(
            "Remove Docker containers labelled by ws-harness. By default only orphans: "
            "containers started on this host whose owner process (the pytest or ws-harness "
            "run that started them) is gone; containers of runs still in progress are kept. "
            "The engine is the one at DOCKER_HOST (default: the local socket)."
        ),
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="remove every ws-harness container, also those of live runs and of other hosts",
    )
    parser.add_argument(
        "--images",
        action="store_true",
        help="also remove the target images the docker backend built (ws-harness/target:*)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would be removed; remove nothing"
    )
    parser.set_defaults(handler=clean)


def clean(args: argparse.Namespace) -> int:
    """Print one line per container removed (or kept, with why) and a summary."""
    import socket

    from harness.targets._docker_engine import (
        HARNESS,
        LABEL_HARNESS,
        connect,
        describe,
        harness_containers,
        orphan_reason,
        remove_container,
    )

    client = connect()
    host = socket.gethostname()
    removed = kept = 0
    try:
        for container in harness_containers(client):
            reason = "--all" if args.all else orphan_reason(container.labels or {}, host)
            if reason is None:
                kept += 1
                print(f"kept    {describe(container)}: its owner is alive or on another host")
                continue
            if args.dry_run or remove_container(container):
                removed += 1
                verb = "would remove" if args.dry_run else "removed"
                print(f"{verb} {describe(container)}: {reason}")
        images = 0
        if args.images:
            for image in client.images.list(filters={"label": f"{LABEL_HARNESS}={HARNESS}"}):
                if not args.dry_run:
                    client.images.remove(image.id, force=True)
                images += 1
                verb = "would remove" if args.dry_run else "removed"
                print(f"{verb} image {', '.join(image.tags) or image.short_id}")
    finally:
        client.close()
    summary = (
        f"ws-harness clean: {removed} container(s) {'to remove' if args.dry_run else 'removed'}"
    )
    summary += f", {kept} kept"
    if args.images:
        summary += f", {images} image(s)"
    print(summary)
    return 0
