"""harness/engine/decisions.py (and PushRequest.body): connect plans, replies, pushes, padding."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness.config import HarnessConfig
from harness.contract import Contract
from harness.engine.decisions import (
    FOREIGN_ORIGIN,
    padded_text,
    plan_connect,
    push_request,
    reply_type,
)
from harness.engine.model import Auth, Connect, Push
from harness.errors import ConfigError
from harness.push import PushRequest

HTTP = "http://127.0.0.1:8000"

# (route, auth mode) -> (path, connection's user, token user, bad token)
PLANS: dict[tuple[str, str], tuple[str, str | None, str | None, bool]] = {
    ("permissions", "anonymous"): ("/ws/permissions/", None, None, False),
    ("permissions", "user"): ("/ws/permissions/", "primary", "primary", False),
    ("permissions", "bad_token"): ("/ws/permissions/", None, None, True),
    ("permissions_user", "anonymous"): ("/ws/permissions/2/", None, None, False),
    ("permissions_user", "user"): ("/ws/permissions/2/", "primary", "primary", False),
    ("permissions_user", "bad_token"): ("/ws/permissions/2/", None, None, True),
    ("permissions_user", "wrong_user"): ("/ws/permissions/3/", None, "primary", False),
    ("permissions_anonymous", "anonymous"): ("/ws/permissions/anonymous/", None, None, False),
    ("permissions_anonymous", "user"): ("/ws/permissions/anonymous/", None, "primary", False),
    ("permissions_anonymous", "bad_token"): ("/ws/permissions/anonymous/", None, None, True),
}


@pytest.mark.parametrize(("route", "mode"), sorted(PLANS))
def test_plan_connect_for_each_route_and_auth_mode(
    config: HarnessConfig, contract: Contract, route: str, mode: str
) -> None:
    step = Connect(route=route, auth=Auth(mode=mode))  # type: ignore[arg-type]
    plan = plan_connect(step, config, contract, HTTP, {})
    path, user, token_user, bad = PLANS[route, mode]
    assert plan.path == path
    assert (plan.user.name if plan.user else None) == user
    assert plan.token_user == token_user
    assert plan.bad_token is bad
    assert plan.origin is None


def test_owner_parameter_is_the_named_users_id(config: HarnessConfig, contract: Contract) -> None:
    step = Connect(route="permissions_user", auth=Auth(mode="user", user="secondary"))
    plan = plan_connect(step, config, contract, HTTP, {})
    assert plan.path == "/ws/permissions/3/"
    assert plan.user == config.user("secondary")
    assert plan.token_user == "secondary"


def test_wrong_user_uses_the_other_users_id(config: HarnessConfig, contract: Contract) -> None:
    step = Connect(
        route="permissions_user", auth=Auth(mode="wrong_user", user="secondary", other="staff")
    )
    plan = plan_connect(step, config, contract, HTTP, {})
    assert plan.path == "/ws/permissions/1/"
    assert plan.token_user == "secondary"
    assert plan.user is None


def test_explicit_params_win(config: HarnessConfig, contract: Contract) -> None:
    step = Connect(route="permissions_user", auth=Auth(mode="user"))
    assert plan_connect(step, config, contract, HTTP, {"user_id": 99}).path == "/ws/permissions/99/"


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        ("permissions_anonymous", "/ws/permissions/anonymous"),
        ("permissions", "/ws/permissions"),
        ("permissions_user", "/ws/permissions/2"),
    ],
)
def test_slash_false_drops_the_trailing_slash(
    config: HarnessConfig, contract: Contract, route: str, expected: str
) -> None:
    step = Connect(route=route, auth=Auth(mode="user"), slash=False)
    assert plan_connect(step, config, contract, HTTP, {}).path == expected


def test_raw_path(config: HarnessConfig, contract: Contract) -> None:
    plan = plan_connect(Connect(path="/ws/notifications/"), config, contract, HTTP, {})
    assert plan.path == "/ws/notifications/"
    assert plan.user is None
    plan = plan_connect(Connect(path="/x/", auth=Auth(mode="user")), config, contract, HTTP, {})
    assert plan.user == config.user("primary")


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        (None, None),
        ("foreign", FOREIGN_ORIGIN),
        ("same", HTTP),
        ("https://app.example", "https://app.example"),
    ],
)
def test_origin(
    config: HarnessConfig, contract: Contract, origin: str | None, expected: str | None
) -> None:
    step = Connect(route="permissions", origin=origin)
    assert plan_connect(step, config, contract, HTTP, {}).origin == expected


def test_unknown_user_is_a_config_error(config: HarnessConfig, contract: Contract) -> None:
    step = Connect(route="permissions", auth=Auth(mode="user", user="ghost"))
    with pytest.raises(ConfigError, match="no user named 'ghost'"):
        plan_connect(step, config, contract, HTTP, {})


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        ({"type": "heartbeat"}, "heartbeat_response"),
        ({"type": "ping"}, "heartbeat_response"),
        ({"type": "permission_check"}, "permission_check_response"),
        ({"type": "subscribe_notifications"}, "subscription_confirmed"),
        ({"type": "unsubscribe_notifications"}, "unsubscription_confirmed"),
        ({"type": "connect"}, None),
        ({"type": "mystery"}, None),
        ({}, None),
        ("heartbeat", None),
        (None, None),
    ],
)
def test_reply_type(contract: Contract, request_: Any, expected: str | None) -> None:
    assert reply_type(contract, request_) == expected


def test_push_to_a_user(config: HarnessConfig) -> None:
    request = push_request(Push(type="role_updated", to="primary"), config, {"newRole": "x"})
    assert request == PushRequest(
        type="role_updated", audience="user", user_id=2, data={"newRole": "x"}
    )
    assert request.body(config.push.body) == {
        "type": "role_updated",
        "data": {"newRole": "x"},
        "user_id": 2,
    }


def test_push_to_a_role(config: HarnessConfig) -> None:
    request = push_request(Push(type="permission_changed", to="role:teacher"), config, {})
    assert request.audience == "role" and request.role == "teacher" and request.user_id is None
    assert request.body(config.push.body) == {
        "type": "permission_changed",
        "data": {},
        "role": "teacher",
    }


def test_push_to_everyone(config: HarnessConfig) -> None:
    request = push_request(Push(type="system_notification", to="global"), config, {"message": "m"})
    assert request.audience == "global"
    assert request.body(config.push.body) == {
        "type": "system_notification",
        "data": {"message": "m"},
        "global": True,
    }


def test_push_to_subscribers(config: HarnessConfig) -> None:
    request = push_request(Push(type="cache_invalidation", to="subscribers:primary"), config, {})
    assert request.audience == "subscribers" and request.user_id == 2
    assert request.body(config.push.body) == {
        "type": "cache_invalidation",
        "data": {},
        "user_id": 2,
        "subscribers": True,
    }


def test_push_to_an_unknown_user(config: HarnessConfig) -> None:
    with pytest.raises(ConfigError, match="no user named 'ghost'"):
        push_request(Push(type="role_updated", to="ghost"), config, {})


def test_push_body_copies_data(config: HarnessConfig) -> None:
    data = {"a": 1}
    body = PushRequest(type="t", audience="global", data=data).body(config.push.body)
    body["data"]["a"] = 2
    assert data == {"a": 1}


@pytest.mark.parametrize("size", [64, 100, 1024, 65536, 65537])
def test_padded_text_is_exactly_n_bytes_of_json(size: int) -> None:
    text = padded_text({"type": "ping", "n": 1}, size)
    assert len(text.encode("utf-8")) == size
    value = json.loads(text)
    assert value["type"] == "ping" and value["n"] == 1


def test_padded_text_below_the_minimum_is_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        padded_text({"type": "ping"}, 10)
