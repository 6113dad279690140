"""``ws-harness doctor``: placeholder until the doctor lands (issue 7)."""

from __future__ import annotations

from typing import Any


def add_parser(commands: Any) -> None:
    commands.add_parser("doctor", help="say why a WebSocket endpoint fails (not yet available)")
