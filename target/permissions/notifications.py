"""The notification service: builds push frames and sends them through the channel layer.

Every push is ``{"type": T, "data": {...}, "timestamp": "<iso>"}`` delivered with
``channel_layer.group_send`` to the groups a connection joined (see ``consumers.py``). The HTTP
endpoint, the ``notify`` command and the model signals all go through :func:`send`, and the
first two validate their input with :func:`parse_request`, so the three triggers cannot drift.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from target import dialect, faults

logger = logging.getLogger(__name__)

PUSH_TYPES: tuple[str, ...] = (
    "permission_changed",
    "role_updated",
    "menu_access_changed",
    "cache_invalidation",
    "system_notification",
)
GLOBAL_GROUP = "global_notifications"
ANONYMOUS_GROUP = "anonymous_users"
#: The consumer method that forwards a push (``notification.push`` -> ``notification_push``).
HANDLER_TYPE = "notification.push"
# Channels group names: ASCII letters, digits, hyphen, underscore, period; < 100 chars.
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

_suppressed: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "pushes_suppressed", default=False
)


def user_group(user_id: int) -> str:
    return f"user_{user_id}"


def role_group(role: str) -> str:
    return f"role_{role}"


def django_group(group_id: int) -> str:
    return f"group_{group_id}"


def subscription_group(push_type: str, user_id: int) -> str:
    if faults.is_active("subscription_shared"):
        return f"notification_{push_type}"  # the defect: one group for every user
    return f"notification_{push_type}_{user_id}"


def valid_name(value: object) -> bool:
    """True if ``value`` can be embedded in a channel-layer group name."""
    return isinstance(value, str) and bool(_NAME_RE.match(value))


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


@contextlib.contextmanager
def suppressed() -> Iterator[None]:
    """Silence signal-driven pushes (used by the seed, which is not a user-visible change)."""
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)


def is_suppressed() -> bool:
    return _suppressed.get()


class InvalidNotification(ValueError):
    """A notify request that cannot be sent; ``field`` names the offending key."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class NotifyRequest:
    """A validated push: its type, data, and exactly one target."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)
    user_id: int | None = None
    role: str | None = None
    everyone: bool = False
    subscribers: bool = False

    def groups(self) -> list[str]:
        if self.everyone:
            return [GLOBAL_GROUP]
        if self.role is not None:
            return [role_group(self.role)]
        assert self.user_id is not None
        if self.subscribers:
            return [subscription_group(self.type, self.user_id)]
        return [user_group(self.user_id)]

    def payload_data(self) -> dict[str, Any]:
        """``data`` passed through unchanged, plus ``userId`` for user targets when missing."""
        data = dict(self.data)
        if self.user_id is not None:
            data.setdefault("userId", self.user_id)
        return data


def wire_push_types() -> list[str]:
    """The push type names clients use: the reference names, or the renamed dialect's."""
    return [dialect.wire_name(t) for t in PUSH_TYPES] if dialect.active() else list(PUSH_TYPES)


def parse_request(body: object) -> NotifyRequest:
    """Validate a notify body: ``{"type", "data", and one of user_id | role | global}``."""
    if not isinstance(body, Mapping):
        raise InvalidNotification("body", "the body must be a JSON object")
    if dialect.active():  # the renamed dialect's push type and data names, in reference names
        body = dialect.notify_body_from_wire(body)
    push_type = body.get("type")
    if push_type not in PUSH_TYPES:
        raise InvalidNotification("type", f"type must be one of: {', '.join(wire_push_types())}")
    data = body.get("data", {})
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise InvalidNotification("data", "data must be a JSON object")
    user_id = body.get("user_id")
    role = body.get("role")
    everyone = body.get("global", False)
    subscribers = body.get("subscribers", False)
    if user_id is not None and (
        isinstance(user_id, bool) or not isinstance(user_id, int) or user_id < 0
    ):
        raise InvalidNotification("user_id", "user_id must be a non-negative integer")
    if role is not None and not valid_name(role):
        raise InvalidNotification("role", "role must be a short name like 'teacher'")
    if not isinstance(everyone, bool):
        raise InvalidNotification("global", "global must be true or false")
    if not isinstance(subscribers, bool):
        raise InvalidNotification("subscribers", "subscribers must be true or false")
    chosen = [
        name
        for name, value in (("user_id", user_id), ("role", role), ("global", everyone or None))
        if value is not None
    ]
    if not chosen:
        raise InvalidNotification("target", "give exactly one target: user_id, role or global")
    if len(chosen) > 1:
        raise InvalidNotification("target", f"give exactly one target, got: {', '.join(chosen)}")
    if subscribers and user_id is None:
        raise InvalidNotification("subscribers", "subscribers needs user_id")
    return NotifyRequest(
        type=push_type,
        data=dict(data),
        user_id=user_id,
        role=role,
        everyone=everyone,
        subscribers=subscribers,
    )


def build_push(push_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": push_type, "data": dict(data), "timestamp": now_iso()}


async def send(request: NotifyRequest) -> list[str]:
    """Send one push; returns the groups it was addressed to."""
    layer = get_channel_layer()
    message = {"type": HANDLER_TYPE, "payload": build_push(request.type, request.payload_data())}
    groups = request.groups()
    recipients = list(groups)
    if request.user_id is not None and faults.is_active("leak_to_anonymous"):
        recipients.append(ANONYMOUS_GROUP)  # the defect: user pushes reach anonymous sockets
    user_target = request.user_id is not None and not request.subscribers
    if user_target and faults.is_active("push_to_other_user"):
        recipients.append(user_group(request.user_id + 1))  # the defect: an off-by-one
    if request.role is not None and faults.is_active("role_push_to_all"):
        recipients = [GLOBAL_GROUP]  # the defect: the role filter is left to the clients
    if request.user_id is not None and faults.is_active("duplicate_push"):
        recipients = recipients * 2  # the defect: sent by the signal and by the view
    for group in recipients:
        await layer.group_send(group, message)
    logger.debug("push %s -> %s", request.type, recipients)
    return groups


def send_sync(request: NotifyRequest) -> list[str]:
    """:func:`send` for synchronous callers (views, signals, management commands)."""
    return async_to_sync(send)(request)


def notify_user(user_id: int, push_type: str, data: Mapping[str, Any]) -> list[str]:
    """Push ``push_type`` to every connection of one user (sync)."""
    return send_sync(NotifyRequest(type=push_type, data=dict(data), user_id=user_id))
