"""The three live routes. One consumer class; the routes differ in who may connect.

* ``live/feed/``              a signed-in member (session cookie) or anonymous
* ``live/members/<uuid>/``    only that member: 4401 without a session, 4403 for another
* ``live/inbox/``             any signed-in member (4401 without a session)
* ``live/lobby``              always anonymous (a session is ignored); slash optional

Nothing is sent until the client says ``{"kind": "hello"}``; the first hello is answered
with ``welcome``. Refusals close after accept with 4401 / 4403.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from inbox import events, faults
from inbox.models import Member

NOT_SIGNED_IN = 4401
FORBIDDEN = 4403
# Stock Daphne (autobahn) lets an application close only with 1000 or 3000-4999.
TOO_BIG = 4413
NOT_TEXT = 4415
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")


class Problem(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail


def now() -> str:
    return datetime.now(UTC).isoformat()


@database_sync_to_async
def load_member(user: Any) -> dict[str, Any] | None:
    member = Member.objects.filter(user=user).first()
    if member is None:
        return None
    return {"uuid": str(member.uuid), "team": member.team, "perms": list(member.perms)}


class FeedConsumer(AsyncWebsocketConsumer):
    who = "optional"  # optional | required | owner | anonymous

    HANDLERS = {
        "hello": "on_hello",
        "ping": "on_ping",
        "may_i": "on_may_i",
        "follow": "on_follow",
        "unfollow": "on_unfollow",
    }

    async def connect(self) -> None:
        self.rooms: list[str] = []
        self.welcomed = False
        self.last_ref: Any = None
        self.member: dict[str, Any] | None = None
        user = self.scope.get("user")
        signed_in = bool(user is not None and user.is_authenticated) and self.who != "anonymous"
        sent_session = settings.SESSION_COOKIE_NAME in self.scope.get("cookies", {})
        await self.accept()
        if signed_in:
            self.member = await load_member(user)
        refusal = self.refusal(sent_session)
        if refusal is not None:
            await self.close(code=refusal)
            return
        rooms = [events.EVERYONE]
        if self.member is not None:
            rooms.append(events.member_group(self.member["uuid"]))
            if not faults.on("no_team_group"):
                rooms.append(events.team_group(self.member["team"]))
        for room in rooms:
            await self.join(room)

    def refusal(self, sent_session: bool) -> int | None:
        if self.who == "anonymous":
            return None
        if sent_session and self.member is None and not faults.on("expired_session_anonymous"):
            return NOT_SIGNED_IN  # a session cookie the server does not know: sign in again
        if self.who == "required" and self.member is None:
            return NOT_SIGNED_IN
        if self.who != "owner":
            return None
        if self.member is None:
            return None if faults.on("owner_route_open") else NOT_SIGNED_IN
        path_member = self.scope["url_route"]["kwargs"]["member"]
        if path_member != self.member["uuid"] and not faults.on("cross_member"):
            return FORBIDDEN
        return None

    async def disconnect(self, code: int) -> None:
        for room in getattr(self, "rooms", []):
            await self.channel_layer.group_discard(room, self.channel_name)

    async def join(self, room: str) -> None:
        if room not in self.rooms:
            await self.channel_layer.group_add(room, self.channel_name)
            self.rooms.append(room)

    async def leave(self, room: str) -> None:
        if room in self.rooms:
            await self.channel_layer.group_discard(room, self.channel_name)
            self.rooms.remove(room)

    async def send_json(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame, ensure_ascii=False))

    async def oops(self, code: str, detail: str) -> None:
        frame = {"kind": "oops", "code": code, "detail": detail, "at": now()}
        if faults.on("oops_without_code"):
            del frame["code"]
        await self.send_json(frame)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None:
            await self.close(code=NOT_TEXT)
            return
        if len(text_data.encode()) > settings.MAX_FRAME_BYTES and not faults.on("no_size_limit"):
            await self.close(code=TOO_BIG)
            return
        try:
            message = json.loads(text_data)
        except (ValueError, RecursionError):
            message = None
        if not isinstance(message, dict):
            if faults.on("crash_on_bad_json"):
                raise RuntimeError("not JSON")  # the defect: Daphne closes 1011
            await self.oops("BAD_JSON", "a frame must be a JSON object")
            return
        kind = message.get("kind")
        handler = self.HANDLERS.get(kind) if isinstance(kind, str) else None
        try:
            if handler is None:
                raise Problem("NO_SUCH_KIND", f"unknown kind {kind!r}")
            await getattr(self, handler)(message)
        except Problem as problem:
            await self.oops(problem.code, problem.detail)
        except Exception:
            await self.oops("SERVER_ERROR", "something broke")

    # -- client messages -------------------------------------------------------------------
    async def on_hello(self, message: dict[str, Any]) -> None:
        if self.welcomed and not faults.on("welcome_twice"):
            return
        self.welcomed = True
        member = self.member or {}
        session = {"member": member.get("uuid"), "team": member.get("team"), "rooms": self.rooms}
        await self.send_json({"kind": "welcome", "session": session, "at": now()})

    async def on_ping(self, message: dict[str, Any]) -> None:
        if not faults.on("pong_silent"):
            await self.send_json({"kind": "pong", "at": now()})

    async def on_may_i(self, message: dict[str, Any]) -> None:
        subject, verb = message.get("subject"), message.get("verb")
        if not (isinstance(subject, str) and subject and isinstance(verb, str) and verb):
            raise Problem("MISSING_FIELDS", "may_i needs subject and verb")
        ref = message.get("ref")
        answered = self.last_ref if faults.on("stale_ref") else ref
        self.last_ref = ref
        perms = self.member["perms"] if self.member else []
        allowed = f"{subject}:{verb}" in perms or faults.on("allow_everything")
        await self.send_json(
            {
                "kind": "may_i_answer",
                "ref": answered,
                "subject": subject,
                "verb": verb,
                "allowed": allowed,
                "at": now(),
            }
        )

    def topics(self, message: dict[str, Any]) -> list[str]:
        topics = message.get("topics")
        if not isinstance(topics, list) or not all(
            isinstance(t, str) and _NAME.match(t) for t in topics
        ):
            raise Problem("BAD_FIELDS", "topics must be a list of event kinds")
        return list(dict.fromkeys(topics))

    async def on_follow(self, message: dict[str, Any]) -> None:
        topics = self.topics(message)
        member = self.member["uuid"] if self.member else None
        for topic in topics:
            await self.join(events.follow_group(topic, member))
        await self.send_json({"kind": "following", "topics": topics, "at": now()})

    async def on_unfollow(self, message: dict[str, Any]) -> None:
        topics = self.topics(message)
        member = self.member["uuid"] if self.member else None
        if not faults.on("unfollow_ignored"):
            for topic in topics:
                await self.leave(events.follow_group(topic, member))
        await self.send_json({"kind": "unfollowed", "topics": topics, "at": now()})

    # -- the channel layer -----------------------------------------------------------------
    async def inbox_deliver(self, event: dict[str, Any]) -> None:
        """``inbox.deliver``: what ``events.deliver`` (and the harness) group_send."""
        await self.send_json({"kind": event["kind"], "body": event.get("body", {}), "at": now()})


class MemberFeedConsumer(FeedConsumer):
    who = "owner"


class InboxConsumer(FeedConsumer):
    who = "required"


class LobbyConsumer(FeedConsumer):
    who = "anonymous"
