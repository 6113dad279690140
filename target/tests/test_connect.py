"""Routes, authentication, origin checks and connection_confirmed (contract: Routes, On connect)."""

from __future__ import annotations

import time

import jwt
import pytest

from target.permissions.auth import issue_jwt
from target.settings import DEFAULT_JWT_SECRET
from target.tests.helpers import (
    ALL_FEATURES,
    communicator,
    expect_refusal,
    open_confirmed,
    receive,
    target_app,
)

pytestmark = pytest.mark.asyncio


def assert_confirmation(frame: dict, user_id: int, groups: list[str]) -> None:
    data = frame["data"]
    assert data["user_id"] == user_id
    assert data["groups"] == groups
    assert isinstance(data["server_time"], str) and data["server_time"]
    assert isinstance(data["sessionId"], str) and data["sessionId"]
    assert set(data["features"]) == ALL_FEATURES and all(data["features"].values())
    assert (
        isinstance(frame["timestamp"], int) and abs(frame["timestamp"] - time.time() * 1000) < 5000
    )


@pytest.mark.parametrize(
    "path", ["/ws/permissions/", "/ws/permissions/anonymous", "/ws/permissions/anonymous/"]
)
async def test_anonymous_routes_confirm_anonymous(path: str) -> None:
    with target_app() as app:
        comm, frame = await open_confirmed(app, path)
        assert_confirmation(frame, 0, ["anonymous_users"])
        await comm.disconnect()


@pytest.mark.parametrize(
    ("username", "user_id", "groups"),
    [
        ("admin", 1, ["role_admin", "group_1"]),
        ("teacher", 2, ["role_teacher", "group_2"]),
        ("student", 3, ["role_student", "group_3"]),
    ],
)
async def test_drf_token_user_is_confirmed(tokens, username, user_id, groups) -> None:
    with target_app() as app:
        for path in ("/ws/permissions/", f"/ws/permissions/{user_id}/"):
            comm, frame = await open_confirmed(app, path, tokens[username])
            assert_confirmation(frame, user_id, groups)
            await comm.disconnect()


async def test_jwt_user_is_confirmed() -> None:
    with target_app() as app:
        comm, frame = await open_confirmed(app, "/ws/permissions/", issue_jwt(2))
        assert_confirmation(frame, 2, ["role_teacher", "group_2"])
        await comm.disconnect()


async def test_token_is_ignored_on_anonymous_route(tokens) -> None:
    with target_app() as app:
        for token in (tokens["teacher"], "not-a-token"):
            comm, frame = await open_confirmed(app, "/ws/permissions/anonymous", token)
            assert_confirmation(frame, 0, ["anonymous_users"])
            await comm.disconnect()


def forged(payload: dict, secret: str = DEFAULT_JWT_SECRET) -> str:
    return jwt.encode(payload, secret, algorithm="HS256")


BAD_TOKENS = {
    "garbage": "garbage",
    "empty": "",
    "expired_jwt": forged({"user_id": 2, "exp": int(time.time()) - 10}),
    "wrong_secret_jwt": forged({"user_id": 2}, "another-secret-that-is-long-enough-for-hs256"),
    "unknown_user_jwt": forged({"user_id": 999}),
    "no_user_id_jwt": forged({"sub": "2"}),
    "inactive_user_jwt": forged({"user_id": 4}),
}


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
async def test_bad_token_is_refused_4001_by_default(kind: str) -> None:
    with target_app() as app:
        await expect_refusal(app, "/ws/permissions/", 4001, BAD_TOKENS[kind])
        await expect_refusal(app, "/ws/permissions/2/", 4001, BAD_TOKENS[kind])


async def test_inactive_users_drf_token_is_refused(tokens) -> None:
    with target_app() as app:
        await expect_refusal(app, "/ws/permissions/", 4001, tokens["inactive"])


async def test_bad_token_policy_anonymous_downgrades(tokens) -> None:
    with target_app(TARGET_BAD_TOKEN_POLICY="anonymous") as app:
        comm, frame = await open_confirmed(app, "/ws/permissions/", "garbage")
        assert_confirmation(frame, 0, ["anonymous_users"])
        await comm.disconnect()
        await expect_refusal(app, "/ws/permissions/2/", 4001, "garbage")


async def test_user_route_refuses_anonymous_4001_and_other_user_4003(tokens) -> None:
    with target_app() as app:
        await expect_refusal(app, "/ws/permissions/2/", 4001)
        await expect_refusal(app, "/ws/permissions/2/", 4003, tokens["student"])


@pytest.mark.parametrize(
    "path",
    ["/ws/permissions", "/ws/other/", "/ws/permissions/abc/", "/ws/permissions/2", "/"],
)
async def test_unknown_paths_fail_the_handshake(path: str) -> None:
    with target_app() as app:
        comm = communicator(app, path)
        with pytest.raises(ValueError, match="No route found"):
            await comm.connect(timeout=0.1)


@pytest.mark.parametrize(
    "origin", ["http://localhost:3000", "http://127.0.0.1:8000", "https://[::1]", None]
)
async def test_local_or_missing_origin_is_accepted(origin: str | None) -> None:
    with target_app() as app:
        comm, _ = await open_confirmed(app, "/ws/permissions/", origin=origin)
        await comm.disconnect()


async def test_foreign_origin_is_denied_at_handshake() -> None:
    with target_app() as app:
        comm = communicator(app, "/ws/permissions/", origin="http://evil.example")
        connected, _ = await comm.connect()
        assert not connected  # Daphne turns this close-before-accept into HTTP 403


async def test_extra_allowed_hosts_are_honoured() -> None:
    allowed = ["127.0.0.1", "localhost", "[::1]", "app.example"]
    with target_app(ALLOWED_HOSTS=allowed) as app:
        comm, _ = await open_confirmed(app, "/ws/permissions/", origin="https://app.example")
        await comm.disconnect()


async def test_confirm_on_connect_waits_for_the_connect_message() -> None:
    with target_app(TARGET_CONFIRM_ON="connect") as app:
        comm = communicator(app, "/ws/permissions/anonymous")
        assert (await comm.connect())[0]
        assert await comm.receive_nothing(0.2)
        await comm.send_json_to({"type": "connect", "data": {"userId": None}})
        frame = await receive(comm)
        assert frame["type"] == "connection_confirmed"
        assert_confirmation(frame, 0, ["anonymous_users"])
        await comm.send_json_to({"type": "connect", "data": {}})
        assert await comm.receive_nothing(0.2)  # only the first connect is answered
        await comm.disconnect()
