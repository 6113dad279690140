"""How the app itself pushes: ``group_send`` of an ``inbox.deliver`` event to a group.

Groups: ``member_<uuid>`` (one member, every connection), ``team_<team>``, ``everyone``,
and ``follow_<kind>_<uuid>`` (a member who follows that kind of event). The consumer's
``inbox_deliver`` turns the event into the frame ``{"kind", "body", "at"}``.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

EVERYONE = "everyone"
HANDLER = "inbox.deliver"


def member_group(member: str) -> str:
    return f"member_{member}"


def team_group(team: str) -> str:
    return f"team_{team}"


def follow_group(kind: str, member: str | None) -> str:
    return f"follow_{kind}_{member or 'anonymous'}"


def deliver(group: str, kind: str, body: dict[str, Any]) -> None:
    """What the app's views and signals call (e.g. when a note is shared)."""
    async_to_sync(get_channel_layer().group_send)(
        group, {"type": HANDLER, "kind": kind, "body": body}
    )
