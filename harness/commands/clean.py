"""``ws-harness clean``: placeholder until the docker backend lands (issue 4)."""

from __future__ import annotations

from typing import Any


def add_parser(commands: Any) -> None:
    commands.add_parser("clean", help="remove containers left by earlier runs (not yet available)")
