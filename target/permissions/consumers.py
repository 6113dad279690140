"""WebSocket consumers for the three permission routes (see ``shared/protocol.md``).

One base consumer implements the whole message protocol; the three route classes differ only
in *who* may connect and *which user id* the connection acts for:

* :class:`PermissionConsumer`           ``^ws/permissions/$``          token user or anonymous
* :class:`UserPermissionConsumer`       ``^ws/permissions/<id>/$``     only that user
* :class:`AnonymousPermissionConsumer`  ``^ws/permissions/anonymous/?$`` always anonymous

Refusals happen after ``accept`` (close 4001 / 4003), as in the original, so that browsers see
a close code rather than an opaque handshake failure.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from channels import DEFAULT_CHANNEL_LAYER
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from target import dialect, faults
from target.permissions import notifications as n
from target.permissions.models import has_permission, role_of

logger = logging.getLogger(__name__)

CLOSE_NORMAL = 1000
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_MESSAGE_TOO_BIG = 1009
CLOSE_INTERNAL_ERROR = 1011
CLOSE_NOT_AUTHENTICATED = 4001
CLOSE_FORBIDDEN = 4003

SLOW_ACCEPT_SECONDS = 3.0
SLOW_HEARTBEAT_SECONDS = 2.0
EARLY_CLOSE_SECONDS = 1.5  # the close_early fault's session lifetime
NO_SUCH_LAYER = "no_channel_layer"  # an alias CHANNEL_LAYERS does not declare

FEATURES = {
    "permission_notifications": True,
    "role_updates": True,
    "menu_access_updates": True,
    "cache_invalidation": True,
    "heartbeat": True,
}


class ProtocolError(Exception):
    """A client mistake answered with an ``error`` frame (the connection stays open)."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


@dataclass
class Identity:
    """Who a connection acts for, and the groups that follow from it."""

    user_id: int = 0  # 0 for anonymous
    announced: list[str] = field(default_factory=lambda: [n.ANONYMOUS_GROUP])
    groups: list[str] = field(default_factory=lambda: [n.ANONYMOUS_GROUP, n.GLOBAL_GROUP])


def load_identity(user_pk: int, user_id: int) -> Identity:
    """Rooms of an authenticated user: ``user_<id>``, ``role_<role>``, ``group_<gid>``, global."""
    from django.contrib.auth.models import Group

    role = role_of(user_pk)
    group_ids = sorted(Group.objects.filter(user__id=user_pk).values_list("id", flat=True))
    announced = ([n.role_group(role)] if role else []) + [n.django_group(g) for g in group_ids]
    return Identity(
        user_id=user_id,
        announced=announced,
        groups=[n.user_group(user_id), *announced, n.GLOBAL_GROUP],
    )


def now_ms() -> int:
    return int(time.time() * 1000)


class PermissionConsumer(AsyncWebsocketConsumer):
    """``^ws/permissions/$``: the user named by ``?token=``, or anonymous without a token."""

    HANDLERS = {
        "connect": "handle_connect",
        "heartbeat": "handle_heartbeat",
        "ping": "handle_heartbeat",
        "permission_check": "handle_permission_check",
        "subscribe_notifications": "handle_subscribe",
        "unsubscribe_notifications": "handle_unsubscribe",
    }

    @property  # type: ignore[override]
    def channel_layer_alias(self) -> str:
        """The no_channel_layer fault names an alias CHANNEL_LAYERS lacks: no layer at all."""
        return NO_SUCH_LAYER if faults.is_active("no_channel_layer") else DEFAULT_CHANNEL_LAYER

    # ----------------------------------------------------------------- who may connect
    def acting_user(self) -> Any:
        return self.scope.get("user") or AnonymousUser()

    def refusal(self, user: Any) -> int | None:
        """Close code refusing this connection, or None to let it in."""
        bad_token = self.scope.get("token_status") == "invalid"
        if (
            bad_token
            and settings.TARGET_BAD_TOKEN_POLICY == "strict"
            and not faults.is_active("token_downgrade")
        ):
            return CLOSE_NOT_AUTHENTICATED
        return None

    def acting_user_id(self, user: Any) -> int:
        return int(user.pk) if user.is_authenticated else 0

    # ----------------------------------------------------------------- lifecycle
    async def connect(self) -> None:
        self.rooms: list[str] = []
        self.confirmed = False
        self.last_request_id: Any = None
        self.session_id = str(uuid.uuid4())
        self.identity = Identity()
        self.user = self.acting_user()
        if faults.is_active("slow_accept"):
            await asyncio.sleep(SLOW_ACCEPT_SECONDS)
        refusal = self.refusal(self.user)
        await self.accept()
        if refusal is not None:
            logger.debug("refusing %s with %s", self.scope.get("path"), refusal)
            await self.close(code=refusal)
            return
        if faults.is_active("close_early"):
            self.lifetime = asyncio.ensure_future(self.close_after(EARLY_CLOSE_SECONDS))
        if faults.is_active("confirm_wrong_user") and settings.TARGET_CONFIRM_ON == "accept":
            await self.send_confirmation()  # the defect: before the user's identity is loaded
        if self.user.is_authenticated:
            self.identity = await database_sync_to_async(load_identity)(
                self.user.pk, self.acting_user_id(self.user)
            )
        elif faults.is_active("global_skips_anonymous"):
            self.identity.groups = [n.ANONYMOUS_GROUP]
        for group in self.identity.groups:
            await self.join(group)
        if settings.TARGET_CONFIRM_ON == "accept":
            await self.send_confirmation()

    async def close_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self.close(code=CLOSE_NORMAL)

    async def disconnect(self, code: int) -> None:
        lifetime = getattr(self, "lifetime", None)
        if lifetime is not None:
            lifetime.cancel()
        for group in getattr(self, "rooms", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def join(self, group: str) -> None:
        if faults.is_active("no_group_join") or group in self.rooms:
            return
        await self.channel_layer.group_add(group, self.channel_name)
        self.rooms.append(group)

    async def leave(self, group: str) -> None:
        if group in self.rooms:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.rooms.remove(group)

    # ----------------------------------------------------------------- frames
    async def send_frame(self, frame: dict[str, Any]) -> None:
        """The one place every outgoing frame passes (replies, errors, pushes)."""
        if dialect.active():
            frame = dialect.to_wire(frame)
        # Raw UTF-8, not \uXXXX escapes: escaping can blow an echoed field up sixfold.
        text = json.dumps(frame, ensure_ascii=False)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("-> %s %s", self.channel_name, text)
        await self.send(text_data=text)

    async def send_error(self, error_code: str, message: str) -> None:
        frame: dict[str, Any] = {"type": "error", "error_code": error_code, "message": message}
        if faults.is_active("error_shape"):
            frame = {"type": "error", "error": message}
        frame["timestamp"] = n.now_iso()
        await self.send_frame(frame)
        if faults.is_active("close_after_error"):
            await self.close(code=CLOSE_NORMAL)

    async def send_confirmation(self) -> None:
        if self.confirmed or faults.is_active("no_confirmation"):
            return
        self.confirmed = True
        data = {
            "user_id": self.identity.user_id,
            "groups": list(self.identity.announced),
            "server_time": n.now_iso(),
            "sessionId": self.session_id,
            "features": dict(FEATURES),
        }
        await self.send_frame({"type": "connection_confirmed", "data": data, "timestamp": now_ms()})

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None:
            if not faults.is_active("binary_ignored"):
                await self.close(code=CLOSE_UNSUPPORTED_DATA)
            return
        limit = settings.TARGET_MAX_MESSAGE_BYTES
        if faults.is_active("small_size_limit"):
            limit //= 2
        if faults.is_active("no_size_limit"):
            pass  # the defect: the documented limit is not enforced here
        elif len(text_data) > limit or (
            len(text_data) * 4 > limit and len(text_data.encode()) > limit
        ):
            await self.close(code=CLOSE_MESSAGE_TOO_BIG)
            return
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("<- %s %s", self.channel_name, text_data)
        try:
            message = json.loads(text_data)
        except (ValueError, RecursionError):
            message = None
        if not isinstance(message, dict):
            await self.invalid_json()
            return
        if dialect.active():  # the one place every incoming frame passes
            message = dialect.from_wire(message)
        message_type = message.get("type")
        handler_name = self.HANDLERS.get(message_type) if isinstance(message_type, str) else None
        if message_type == "connect" and faults.is_active("hello_gets_error"):
            handler_name = None
        elif (
            handler_name is None
            and isinstance(message_type, str)
            and faults.is_active("unknown_type_silent")
        ):
            return  # the defect: an unknown type is dropped without an error
        try:
            if handler_name is None:
                raise ProtocolError(
                    "UNKNOWN_MESSAGE_TYPE", f"unknown message type: {message_type!r}"
                )
            await getattr(self, handler_name)(message)
        except ProtocolError as exc:
            await self.send_error(exc.error_code, exc.message)
        except Exception:
            logger.exception("failure handling %r", message_type)
            await self.send_error("INTERNAL_ERROR", "internal server error")

    async def invalid_json(self) -> None:
        if faults.is_active("crash_on_bad_json"):
            await self.close(code=CLOSE_INTERNAL_ERROR)
            return
        await self.send_error("INVALID_JSON", "message must be a JSON object")

    # ----------------------------------------------------------------- message handlers
    async def handle_connect(self, message: dict[str, Any]) -> None:
        """No reply, unless the server confirms on ``connect`` rather than on accept."""
        if settings.TARGET_CONFIRM_ON == "connect":
            await self.send_confirmation()

    async def handle_heartbeat(self, message: dict[str, Any]) -> None:
        if faults.is_active("heartbeat_silent"):
            return
        if faults.is_active("heartbeat_slow"):
            await asyncio.sleep(SLOW_HEARTBEAT_SECONDS)
        reply_type = "heartbeat_response"
        if message.get("type") == "ping" and faults.is_active("wrong_reply_type"):
            reply_type = "pong"
        server_time: Any = time.time()
        if faults.is_active("reply_field_type"):
            server_time = str(server_time)
        frame = {"type": reply_type, "timestamp": n.now_iso(), "server_time": server_time}
        await self.send_frame(frame)
        if faults.is_active("extra_reply"):
            await self.send_frame(dict(frame))

    async def handle_permission_check(self, message: dict[str, Any]) -> None:
        resource, action = message.get("resource"), message.get("action")
        if faults.is_active("missing_params_code"):
            resource, action = message["resource"], message["action"]  # KeyError: INTERNAL_ERROR
        if not (isinstance(resource, str) and resource and isinstance(action, str) and action):
            raise ProtocolError("missing_parameters", "permission_check needs resource and action")
        request_id = message.get("request_id")
        echoed = request_id
        if faults.is_active("wrong_request_id"):
            echoed = self.last_request_id  # the defect: answers carry the previous request's id
        self.last_request_id = request_id
        allowed = False
        if self.user.is_authenticated:
            allowed = await database_sync_to_async(has_permission)(self.user.pk, resource, action)
        if not allowed and faults.is_active("denied_as_error"):
            raise ProtocolError("PERMISSION_DENIED", f"permission denied: {resource}.{action}")
        frame = {
            "type": "permission_check_response",
            "request_id": echoed,
            "resource": resource,
            "action": action,
            "has_permission": allowed,
            "timestamp": n.now_iso(),
        }
        if faults.is_active("request_id_dropped"):
            del frame["request_id"]
        if faults.is_active("missing_reply_field"):
            del frame["has_permission"]
        await self.send_frame(frame)

    @staticmethod
    def notification_types(message: dict[str, Any]) -> list[str]:
        types = message.get("types", [])
        if not isinstance(types, list) or not all(n.valid_name(t) for t in types):
            raise ProtocolError(
                "invalid_parameters", "types must be a list of names like 'role_updated'"
            )
        return list(dict.fromkeys(types))

    async def handle_subscribe(self, message: dict[str, Any]) -> None:
        types = self.notification_types(message)
        for push_type in types:
            await self.join(n.subscription_group(push_type, self.identity.user_id))
        echoed = [] if faults.is_active("subscribe_echo_empty") else types
        await self.send_frame(
            {"type": "subscription_confirmed", "subscribed_types": echoed, "timestamp": n.now_iso()}
        )

    async def handle_unsubscribe(self, message: dict[str, Any]) -> None:
        types = self.notification_types(message)
        if not faults.is_active("unsubscribe_ignored"):
            for push_type in types:
                await self.leave(n.subscription_group(push_type, self.identity.user_id))
        await self.send_frame(
            {
                "type": "unsubscription_confirmed",
                "unsubscribed_types": types,
                "timestamp": n.now_iso(),
            }
        )

    # ----------------------------------------------------------------- pushes
    async def notification_push(self, event: dict[str, Any]) -> None:
        """Channel-layer handler for ``notification.push``: forward the push frame as is."""
        await self.send_frame(event["payload"])


class UnroutedConsumer(AsyncWebsocketConsumer):
    """The deny_unrouted fault's catch-all route: closes before accept (Daphne: HTTP 403)."""

    async def connect(self) -> None:
        await self.close()


class UserPermissionConsumer(PermissionConsumer):
    """``^ws/permissions/<user_id>/$``: 4001 for anonymous, 4003 for another user's id."""

    def path_user_id(self) -> int:
        return int(self.scope["url_route"]["kwargs"]["user_id"])

    def refusal(self, user: Any) -> int | None:
        base = super().refusal(user)
        if base is not None:
            return base
        if not user.is_authenticated:
            return None if faults.is_active("owner_route_anonymous") else CLOSE_NOT_AUTHENTICATED
        if user.pk != self.path_user_id() and not faults.is_active("cross_user"):
            return (
                CLOSE_NOT_AUTHENTICATED if faults.is_active("forbidden_code") else CLOSE_FORBIDDEN
            )
        return None

    def acting_user_id(self, user: Any) -> int:
        # Equal to user.pk unless the cross_user fault let another user in.
        return self.path_user_id()


class AnonymousPermissionConsumer(PermissionConsumer):
    """``^ws/permissions/anonymous/?$``: always anonymous; any token is ignored."""

    def acting_user(self) -> Any:
        if faults.is_active("anonymous_route_keeps_token"):
            return super().acting_user()
        return AnonymousUser()

    def refusal(self, user: Any) -> int | None:
        return None
