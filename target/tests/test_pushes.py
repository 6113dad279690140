"""Server pushes: the notify endpoint, the model signals and the notify command (contract:
Server pushes). Each test checks who receives a push and, just as much, who must not."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import AsyncClient, override_settings
from rest_framework.authtoken.models import Token

from target.permissions.auth import issue_jwt
from target.permissions.models import Profile, UserPermission
from target.tests.helpers import ask, open_confirmed, receive, target_app

pytestmark = pytest.mark.asyncio
NOTIFY = "/api/permissions/notify/"


@pytest.fixture(autouse=True)
def http_test_host() -> Iterator[None]:
    with override_settings(ALLOWED_HOSTS=["testserver", "127.0.0.1", "localhost", "[::1]"]):
        yield


class Room:
    """Open connections for admin, teacher, student and anonymous, and push helpers."""

    def __init__(self, app: Any, tokens: dict[str, str]) -> None:
        self.app, self.tokens, self.conns = app, tokens, {}
        self.client = AsyncClient()

    async def open(self, name: str, path: str = "/ws/permissions/", token: Any = ...) -> Any:
        token = self.tokens.get(name) if token is ... else token
        self.conns[name], _ = await open_confirmed(self.app, path, token)
        return self.conns[name]

    async def notify(self, body: Any, token: str | None = None, scheme: str = "Token") -> Any:
        token = self.tokens["admin"] if token is None else token
        headers = {"authorization": f"{scheme} {token}"} if token else {}
        return await self.client.post(
            NOTIFY, body, content_type="application/json", headers=headers
        )

    async def expect(self, receivers: set[str], push_type: str) -> dict[str, dict]:
        """Every connection in ``receivers`` gets the push; every other one gets nothing."""
        frames = {}
        for name in receivers:
            frame = await receive(self.conns[name])
            assert frame["type"] == push_type, (name, frame)
            assert isinstance(frame["timestamp"], str)
            frames[name] = frame
        for name in self.conns.keys() - receivers:
            assert await self.conns[name].receive_nothing(0.05), f"{name} got a push"
        return frames

    async def close(self) -> None:
        for comm in self.conns.values():
            await comm.disconnect()


@pytest_asyncio.fixture
async def room(tokens) -> AsyncIterator[Room]:
    with target_app() as app:
        room = Room(app, tokens)
        for name in ("admin", "teacher", "student"):
            await room.open(name)
        await room.open("anonymous", "/ws/permissions/anonymous")
        yield room
        await room.close()


async def test_user_push_reaches_only_that_user_with_data_passed_through(room: Room) -> None:
    trace = {"trace_id": "t-1", "sent_at": 1234.5, "nested": {"k": [1, 2]}}
    response = await room.notify({"type": "cache_invalidation", "data": trace, "user_id": 2})
    assert response.status_code == 202
    assert response.json() == {"sent_to": ["user_2"], "type": "cache_invalidation"}
    frame = (await room.expect({"teacher"}, "cache_invalidation"))["teacher"]
    assert frame["data"] == {**trace, "userId": 2}


async def test_user_push_keeps_an_explicit_user_id_in_data(room: Room) -> None:
    body = {"type": "permission_changed", "data": {"userId": 2, "permissions": []}, "user_id": 2}
    assert (await room.notify(body)).status_code == 202
    assert (await room.expect({"teacher"}, "permission_changed"))["teacher"]["data"]["userId"] == 2


async def test_role_push_reaches_the_role(room: Room) -> None:
    body = {"type": "system_notification", "data": {"message": "hi"}, "role": "teacher"}
    response = await room.notify(body)
    assert response.json()["sent_to"] == ["role_teacher"]
    frame = (await room.expect({"teacher"}, "system_notification"))["teacher"]
    assert frame["data"] == {"message": "hi"}


async def test_global_push_reaches_everyone_anonymous_included(room: Room) -> None:
    body = {"type": "system_notification", "data": {"message": "m", "priority": "high"}}
    response = await room.notify({**body, "global": True})
    assert response.json()["sent_to"] == ["global_notifications"]
    everyone = {"admin", "teacher", "student", "anonymous"}
    frames = await room.expect(everyone, "system_notification")
    assert all(f["data"] == body["data"] for f in frames.values())


async def test_subscribers_push_reaches_subscribed_connections_only(room: Room) -> None:
    teacher = room.conns["teacher"]
    subscribe = {"type": "subscribe_notifications", "types": ["role_updated"]}
    assert (await ask(teacher, subscribe))["type"] == "subscription_confirmed"
    body = {"type": "role_updated", "data": {"newRole": "x"}, "user_id": 2, "subscribers": True}
    response = await room.notify(body)
    assert response.json()["sent_to"] == ["notification_role_updated_2"]
    await room.expect({"teacher"}, "role_updated")
    unsubscribe = {"type": "unsubscribe_notifications", "types": ["role_updated"]}
    assert (await ask(teacher, unsubscribe))["type"] == "unsubscription_confirmed"
    await room.notify(body)
    await room.expect(set(), "role_updated")


async def test_anonymous_subscription_uses_user_id_zero(room: Room) -> None:
    subscribe = {"type": "subscribe_notifications", "types": ["menu_access_changed"]}
    await ask(room.conns["anonymous"], subscribe)
    body = {"type": "menu_access_changed", "data": {}, "user_id": 0, "subscribers": True}
    await room.notify(body)
    await room.expect({"anonymous"}, "menu_access_changed")


async def test_user_route_connection_receives_its_users_pushes(room: Room) -> None:
    await room.open("teacher_route", "/ws/permissions/2/", room.tokens["teacher"])
    await room.notify({"type": "cache_invalidation", "data": {"cacheKeys": ["a"]}, "user_id": 2})
    await room.expect({"teacher", "teacher_route"}, "cache_invalidation")


async def test_bearer_jwt_of_staff_may_notify(room: Room) -> None:
    body = {"type": "cache_invalidation", "data": {}, "user_id": 3}
    response = await room.notify(body, issue_jwt(1), "Bearer")
    assert response.status_code == 202
    await room.expect({"student"}, "cache_invalidation")


@pytest.mark.parametrize(
    ("token", "scheme", "status"),
    [("", "Token", 401), ("bad", "Token", 401), ("bad.jwt", "Bearer", 401)],
)
async def test_notify_needs_a_valid_token(room: Room, token, scheme, status) -> None:
    response = await room.notify({"type": "cache_invalidation", "user_id": 2}, token, scheme)
    assert response.status_code == status
    assert response.json()["error"]
    await room.expect(set(), "cache_invalidation")


async def test_notify_is_forbidden_for_non_staff(room: Room) -> None:
    response = await room.notify(
        {"type": "cache_invalidation", "user_id": 2}, room.tokens["teacher"]
    )
    assert response.status_code == 403
    assert response.json()["error"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "nope", "user_id": 2}, "type"),
        ({"data": {}, "user_id": 2}, "type"),
        ({"type": "cache_invalidation", "data": {}}, "target"),
        ({"type": "cache_invalidation", "user_id": 2, "global": True}, "target"),
        ({"type": "cache_invalidation", "user_id": "2"}, "user_id"),
        ({"type": "cache_invalidation", "role": "a role"}, "role"),
        ({"type": "cache_invalidation", "data": [1], "user_id": 2}, "data"),
        ({"type": "cache_invalidation", "role": "teacher", "subscribers": True}, "subscribers"),
        ([1, 2], "body"),
    ],
)
async def test_bad_notify_body_is_400_naming_the_field(room: Room, body: Any, field: str) -> None:
    response = await room.notify(body)
    assert response.status_code == 400
    assert response.json()["field"] == field and response.json()["error"]


async def test_notify_command_pushes_through_the_channel_layer(room: Room) -> None:
    await sync_to_async(call_command)(
        "notify", "--type", "system_notification", "--global", "--data", '{"message": "cli"}'
    )
    frames = await room.expect({"admin", "teacher", "student", "anonymous"}, "system_notification")
    assert frames["anonymous"]["data"] == {"message": "cli"}
    await sync_to_async(call_command)(
        "notify", "--type", "cache_invalidation", "--user-id", "3", "--data", "{}"
    )
    assert (await room.expect({"student"}, "cache_invalidation"))["student"]["data"] == {
        "userId": 3
    }


# ----------------------------------------------------------------------------- model signals


def make_user(role: str = "student") -> tuple[Any, str]:
    user = get_user_model().objects.create_user(f"u-{uuid.uuid4().hex[:10]}", password="pw")
    Profile.objects.create(user=user, role=role)
    return user, Token.objects.create(user=user).key


@pytest_asyncio.fixture
async def fresh_user(room: Room) -> AsyncIterator[Any]:
    """A throwaway user with a connection in ``room`` (the seeded users stay untouched)."""
    user, token = await sync_to_async(make_user)()
    await room.open("fresh", token=token)
    yield user
    await sync_to_async(user.delete)()


async def test_role_change_pushes_role_updated(room: Room, fresh_user: Any) -> None:
    def promote() -> None:
        UserPermission.objects.create(user=fresh_user, resource="grades", action="edit")
        profile = Profile.objects.get(user=fresh_user)
        profile.role = "teacher"
        profile.save()

    await sync_to_async(promote)()
    await room.expect({"fresh"}, "permission_changed")
    data = (await room.expect({"fresh"}, "role_updated"))["fresh"]["data"]
    assert data == {
        "userId": fresh_user.pk,
        "oldRole": "student",
        "newRole": "teacher",
        "permissions": ["grades.edit"],
    }


async def test_saving_the_same_role_pushes_nothing(room: Room, fresh_user: Any) -> None:
    await sync_to_async(lambda: Profile.objects.get(user=fresh_user).save())()
    await room.expect(set(), "role_updated")


async def test_permission_add_and_remove_push_permission_changed(
    room: Room, fresh_user: Any
) -> None:
    permission = await sync_to_async(UserPermission.objects.create)(
        user=fresh_user, resource="courses", action="view"
    )
    added = (await room.expect({"fresh"}, "permission_changed"))["fresh"]["data"]
    assert added["userId"] == fresh_user.pk and added["permissions"] == ["courses.view"]
    assert (added["action"], added["resource"], added["permission"]) == (
        "added",
        "courses",
        "courses.view",
    )
    await sync_to_async(permission.delete)()
    removed = (await room.expect({"fresh"}, "permission_changed"))["fresh"]["data"]
    assert removed["action"] == "removed" and removed["permissions"] == []


async def test_group_membership_change_pushes_menu_access_changed(
    room: Room, fresh_user: Any
) -> None:
    teachers = await sync_to_async(Group.objects.get)(name="teachers")
    await sync_to_async(fresh_user.groups.add)(teachers)
    data = (await room.expect({"fresh"}, "menu_access_changed"))["fresh"]["data"]
    assert data["userId"] == fresh_user.pk
    assert data["menuChanges"]["change"] == "add"
    assert data["menuChanges"]["groups"] == ["teachers"]
    await sync_to_async(teachers.user_set.remove)(fresh_user)  # the reverse side works too
    data = (await room.expect({"fresh"}, "menu_access_changed"))["fresh"]["data"]
    assert data["menuChanges"]["change"] == "remove"
    assert data["menuChanges"]["currentGroups"] == []
