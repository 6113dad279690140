"""harness/contract/: the bundled contract, Route paths, loader errors, FrameValidator."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.contract import Contract, FrameValidator, Route, load_contract
from harness.errors import ContractError

Write = Callable[[str, str], Path]

# A minimal valid AsyncAPI 3 document: two routes, a request with a reply, a push.
MINIMAL = """\
asyncapi: 3.0.0
info: {title: Mini, version: 0.1.0}
channels:
  main:
    address: ws/main/
    x-auth: optional
    messages:
      ping: {$ref: '#/components/messages/ping'}
      pong: {$ref: '#/components/messages/pong'}
      news: {$ref: '#/components/messages/news'}
  mine:
    address: ws/main/{user_id}/
    x-auth: owner
    x-owner-parameter: user_id
    parameters:
      user_id: {description: the user's id}
operations:
  receivePing:
    action: receive
    channel: {$ref: '#/channels/main'}
    messages: [{$ref: '#/channels/main/messages/ping'}]
    reply:
      messages: [{$ref: '#/channels/main/messages/pong'}]
  sendNews:
    action: send
    channel: {$ref: '#/channels/main'}
    messages: [{$ref: '#/components/messages/news'}]
components:
  messages:
    ping:
      payload: {type: object, properties: {type: {const: ping}}}
    pong:
      payload: {type: object, properties: {type: {const: pong}}}
    news:
      payload: {type: object, properties: {type: {const: news}}}
"""


def _write_contract(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.asyncapi.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _error(tmp_path: Path, text: str) -> str:
    path = _write_contract(tmp_path, text)
    with pytest.raises(ContractError) as info:
        load_contract(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    return message[len(str(path)) :]


def _line(text: str, needle: str) -> int:
    """The 1-based line of the first line containing ``needle``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in the document")


# -- the bundled contract ----------------------------------------------------------------


def test_bundled_routes(contract: Contract) -> None:
    assert set(contract.routes) == {"permissions", "permissions_user", "permissions_anonymous"}
    auth = {name: route.auth for name, route in contract.routes.items()}
    assert auth == {
        "permissions": "optional",
        "permissions_user": "owner",
        "permissions_anonymous": "anonymous",
    }
    assert contract.route("permissions_user").owner_parameter == "user_id"
    assert contract.route("permissions_user").parameters == ("user_id",)
    assert contract.route("permissions_anonymous").trailing_slash_optional
    assert not contract.route("permissions").trailing_slash_optional


def test_bundled_replies(contract: Contract) -> None:
    assert contract.replies["heartbeat"] == ("heartbeat_response",)
    assert contract.replies["ping"] == ("heartbeat_response",)
    assert contract.replies["permission_check"] == ("permission_check_response",)
    assert contract.replies["subscribe_notifications"] == ("subscription_confirmed",)
    assert contract.replies["unsubscribe_notifications"] == ("unsubscription_confirmed",)
    assert "connect" not in contract.replies


def test_bundled_message_kinds(contract: Contract) -> None:
    assert {m.name for m in contract.pushes()} == {
        "permission_changed",
        "role_updated",
        "menu_access_changed",
        "cache_invalidation",
        "system_notification",
    }
    assert contract.message("connection_confirmed").kind == "confirmation"
    assert contract.message("error").kind == "error"
    assert contract.message("heartbeat_response").kind == "reply"
    assert contract.message("heartbeat").kind == "request"
    assert contract.message("heartbeat").direction == "client"
    assert contract.message("system_notification").delivered_to == "global"
    assert contract.message("permission_changed").delivered_to == "user"
    assert contract.message("permission_check").correlation_field == "request_id"
    assert {m.name for m in contract.client_messages()} == {
        "connect",
        "heartbeat",
        "ping",
        "permission_check",
        "subscribe_notifications",
        "unsubscribe_notifications",
    }


def test_bundled_codes_and_liveness(contract: Contract) -> None:
    assert contract.close_code("not_authenticated") == 4001
    assert contract.close_code("forbidden") == 4003
    assert contract.close_code("message_too_big") == 1009
    assert contract.close_code(4003) == 4003
    assert contract.close_code("1000") == 1000
    assert contract.error_code("invalid_json") == "INVALID_JSON"
    assert contract.error_code("unknown_type") == "UNKNOWN_MESSAGE_TYPE"
    assert contract.error_code("SOMETHING_ELSE") == "SOMETHING_ELSE"
    assert contract.error_message == "error"
    assert contract.error_code_field == "error_code"
    assert contract.type_field == "type"
    assert contract.max_message_bytes == 65536
    assert contract.liveness_request == {"type": "heartbeat", "timestamp": "${now_ms}"}
    assert contract.liveness_reply == "heartbeat_response"


def test_unknown_names_say_what_is_known(contract: Contract) -> None:
    with pytest.raises(KeyError, match="known: normal"):
        contract.close_code("sometimes")
    with pytest.raises(KeyError, match="routes: permissions"):
        contract.route("nope")
    with pytest.raises(KeyError, match="no message 'nope'"):
        contract.message("nope")


# -- Route --------------------------------------------------------------------------------


def test_route_path_fills_parameters(contract: Contract) -> None:
    assert contract.route("permissions").path() == "/ws/permissions/"
    assert contract.route("permissions_user").path(user_id=2) == "/ws/permissions/2/"


def test_route_path_names_missing_parameters(contract: Contract) -> None:
    with pytest.raises(KeyError, match="needs user_id"):
        contract.route("permissions_user").path()


def test_path_variants(contract: Contract) -> None:
    assert contract.route("permissions_anonymous").path_variants() == [
        "/ws/permissions/anonymous/",
        "/ws/permissions/anonymous",
    ]
    assert contract.route("permissions").path_variants() == ["/ws/permissions/"]
    assert contract.route("permissions_user").path_variants(user_id=3) == ["/ws/permissions/3/"]


def test_route_path_adds_a_leading_slash_once() -> None:
    assert Route(name="r", address="/a/b/").path() == "/a/b/"
    assert Route(name="r", address="a/{x}", parameters=("x",)).path(x="y") == "/a/y"


# -- loader errors ------------------------------------------------------------------------


def test_minimal_contract_loads(tmp_path: Path) -> None:
    loaded = load_contract(_write_contract(tmp_path, MINIMAL))
    assert loaded.title == "Mini"
    assert set(loaded.routes) == {"main", "mine"}
    assert loaded.replies == {"ping": ("pong",)}
    assert loaded.message("news").kind == "push"
    assert loaded.message("pong").kind == "reply"
    assert loaded.message("pong").direction == "server"
    assert loaded.message("ping").direction == "client"


def test_not_asyncapi_3(tmp_path: Path) -> None:
    where = _error(tmp_path, MINIMAL.replace("asyncapi: 3.0.0", "asyncapi: 2.6.0"))
    assert where.startswith(":1: asyncapi:")
    assert "AsyncAPI 3" in where and "'2.6.0'" in where


def test_channel_without_address(tmp_path: Path) -> None:
    text = MINIMAL.replace("    address: ws/main/\n", "")
    where = _error(tmp_path, text)
    assert where.startswith(f":{_line(text, 'x-auth: optional')}: channels.main.address:")
    assert "path" in where


def test_bad_x_auth(tmp_path: Path) -> None:
    text = MINIMAL.replace("x-auth: optional", "x-auth: sometimes")
    where = _error(tmp_path, text)
    assert where.startswith(f":{_line(text, 'address: ws/main/')}: channels.main.x-auth:")
    assert "'sometimes' is not one of optional, owner, anonymous, required" in where


def test_owner_parameter_not_a_parameter(tmp_path: Path) -> None:
    text = MINIMAL.replace("x-owner-parameter: user_id", "x-owner-parameter: uid")
    where = _error(tmp_path, text)
    assert where.startswith(f":{_line(text, 'address: ws/main/{user_id}/')}:")
    assert "channels.mine.x-owner-parameter" in where


def test_ref_pointing_nowhere(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "'#/channels/main/messages/pong'}]", "'#/channels/main/messages/pongg'}]"
    )
    where = _error(tmp_path, text)
    assert where.startswith(f":{_line(text, 'pongg')}: operations.receivePing.reply.messages:")
    assert "'#/channels/main/messages/pongg' points nowhere" in where


def test_ref_that_is_not_a_ref(tmp_path: Path) -> None:
    text = MINIMAL.replace("messages: [{$ref: '#/components/messages/news'}]", "messages: [news]")
    where = _error(tmp_path, text)
    assert "operations.sendNews.messages" in where
    assert "$ref" in where


def test_message_no_operation_uses(tmp_path: Path) -> None:
    text = MINIMAL + "    orphan:\n      payload: {type: object}\n"
    where = _error(tmp_path, text)
    assert where.startswith(
        f":{_line(text, 'payload: {type: object}')}: components.messages.orphan:"
    )
    assert "no operation" in where


def test_message_without_payload(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "    news:\n      payload: {type: object, properties: {type: {const: news}}}\n",
        "    news:\n      summary: no payload\n",
    )
    where = _error(tmp_path, text)
    assert "components.messages.news.payload" in where


def test_bad_operation_action(tmp_path: Path) -> None:
    text = MINIMAL.replace("action: send", "action: publish")
    where = _error(tmp_path, text)
    assert "operations.sendNews.action" in where and "'send' or 'receive'" in where


def test_missing_contract_file(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="cannot read"):
        load_contract(tmp_path / "nope.yaml")


# -- FrameValidator -------------------------------------------------------------------------

VALID_SERVER_FRAMES: dict[str, dict[str, Any]] = {
    "connection_confirmed": {
        "type": "connection_confirmed",
        "data": {
            "user_id": 2,
            "groups": ["role_teacher", "group_1"],
            "server_time": "2024-01-01T00:00:00Z",
            "sessionId": "abc",
            "features": {
                "permission_notifications": True,
                "role_updates": True,
                "menu_access_updates": True,
                "cache_invalidation": True,
                "heartbeat": True,
            },
        },
        "timestamp": 1700000000000,
    },
    "heartbeat_response": {
        "type": "heartbeat_response",
        "timestamp": "2024-01-01T00:00:00Z",
        "server_time": 1700000000.5,
    },
    "permission_check_response": {
        "type": "permission_check_response",
        "request_id": "r1",
        "resource": "grades",
        "action": "view",
        "has_permission": True,
        "timestamp": 1700000000000,
    },
    "subscription_confirmed": {
        "type": "subscription_confirmed",
        "subscribed_types": ["role_updated"],
        "timestamp": "2024-01-01T00:00:00Z",
    },
    "unsubscription_confirmed": {
        "type": "unsubscription_confirmed",
        "unsubscribed_types": ["role_updated"],
        "timestamp": 1700000000000,
    },
    "error": {
        "type": "error",
        "error_code": "INVALID_JSON",
        "message": "bad json",
        "timestamp": 1700000000000,
    },
    "permission_changed": {
        "type": "permission_changed",
        "data": {
            "userId": 2,
            "permissions": ["grades.view"],
            "action": "added",
            "resource": "grades",
        },
        "timestamp": "2024-01-01T00:00:00Z",
    },
    "role_updated": {
        "type": "role_updated",
        "data": {"userId": 2, "oldRole": None, "newRole": "teacher", "permissions": []},
        "timestamp": "2024-01-01T00:00:00Z",
    },
    "menu_access_changed": {
        "type": "menu_access_changed",
        "data": {"userId": 2, "menuChanges": {"grades": True}},
        "timestamp": "2024-01-01T00:00:00Z",
    },
    "cache_invalidation": {
        "type": "cache_invalidation",
        "data": {"userId": 2, "cacheKeys": ["k"]},
        "timestamp": "2024-01-01T00:00:00Z",
    },
    "system_notification": {
        "type": "system_notification",
        "data": {"message": "maintenance", "priority": "high"},
        "timestamp": "2024-01-01T00:00:00Z",
    },
}


@pytest.fixture(scope="module")
def validator(contract: Contract) -> FrameValidator:
    return FrameValidator(contract)


def test_examples_cover_every_server_message(contract: Contract) -> None:
    assert set(VALID_SERVER_FRAMES) == {m.name for m in contract.server_messages()}


@pytest.mark.parametrize("name", sorted(VALID_SERVER_FRAMES))
def test_valid_server_frames_have_no_violations(validator: FrameValidator, name: str) -> None:
    assert validator.validate(VALID_SERVER_FRAMES[name]) == []
    value, violations = validator.validate_text(json.dumps(VALID_SERVER_FRAMES[name]))
    assert violations == []
    assert value == VALID_SERVER_FRAMES[name]


def test_wrong_type_names_the_json_path(validator: FrameValidator) -> None:
    frame = json.loads(json.dumps(VALID_SERVER_FRAMES["connection_confirmed"]))
    frame["data"]["user_id"] = "two"
    violations = validator.validate(frame)
    assert [v.path for v in violations] == ["$.data.user_id"]
    assert violations[0].message == "connection_confirmed"
    assert "'two'" in violations[0].problem
    assert str(violations[0]).startswith("'connection_confirmed' frame at $.data.user_id: ")


def test_unknown_error_code_names_the_json_path(validator: FrameValidator) -> None:
    frame = {**VALID_SERVER_FRAMES["error"], "error_code": "OOPS"}
    violations = validator.validate(frame)
    assert [v.path for v in violations] == ["$.error_code"]
    assert "'OOPS'" in violations[0].problem


def test_missing_required_field(validator: FrameValidator) -> None:
    frame = dict(VALID_SERVER_FRAMES["heartbeat_response"])
    del frame["server_time"]
    violations = validator.validate(frame)
    assert len(violations) == 1
    assert violations[0].path == "$"
    assert "'server_time' is a required property" in violations[0].problem


def test_array_items_use_index_paths(validator: FrameValidator) -> None:
    frame = json.loads(json.dumps(VALID_SERVER_FRAMES["cache_invalidation"]))
    frame["data"]["cacheKeys"] = ["ok", 5]
    assert [v.path for v in validator.validate(frame)] == ["$.data.cacheKeys[1]"]


def test_several_violations_are_all_reported(validator: FrameValidator) -> None:
    frame = {
        **VALID_SERVER_FRAMES["permission_check_response"],
        "has_permission": "yes",
        "resource": 1,
    }
    assert sorted(v.path for v in validator.validate(frame)) == ["$.has_permission", "$.resource"]


def test_unknown_type_lists_the_known_ones(validator: FrameValidator) -> None:
    (violation,) = validator.validate({"type": "mystery"})
    assert violation.path == "$.type"
    assert violation.message == "mystery"
    assert "unknown message type 'mystery'" in violation.problem
    assert "heartbeat_response" in violation.problem
    assert "system_notification" in violation.problem


def test_frame_without_type(validator: FrameValidator) -> None:
    (violation,) = validator.validate({"data": {}})
    assert violation.path == "$.type"
    assert violation.message == ""
    assert "unknown message type None" in violation.problem


def test_client_message_is_unknown_to_the_server_validator(validator: FrameValidator) -> None:
    (violation,) = validator.validate({"type": "heartbeat"})
    assert "unknown message type 'heartbeat'" in violation.problem


def test_client_direction_validator(contract: Contract) -> None:
    client = FrameValidator(contract, direction="client")
    assert "heartbeat" in client.known_types()
    assert "heartbeat_response" not in client.known_types()
    assert client.validate({"type": "ping"}) == []
    assert (
        client.validate(
            {"type": "permission_check", "resource": "r", "action": "a", "request_id": "1"}
        )
        == []
    )
    violations = client.validate({"type": "permission_check", "resource": "r", "action": "a"})
    assert any("request_id" in v.problem for v in violations)


def test_non_json_text(validator: FrameValidator) -> None:
    value, violations = validator.validate_text("{not json")
    assert value is None
    (violation,) = violations
    assert violation.path == "$"
    assert violation.problem.startswith("not JSON")
    assert str(violation).startswith("frame at $: not JSON")


@pytest.mark.parametrize(
    ("text", "kind"), [("[1, 2]", "list"), ('"x"', "str"), ("3", "int"), ("null", "NoneType")]
)
def test_non_object_json(validator: FrameValidator, text: str, kind: str) -> None:
    value, violations = validator.validate_text(text)
    assert value == json.loads(text)
    assert [v.problem for v in violations] == [f"expected a JSON object, got {kind}"]


def test_custom_type_field(tmp_path: Path) -> None:
    text = "x-message-type-field: kind\n" + MINIMAL.replace("{type: {const:", "{kind: {const:")
    loaded = load_contract(_write_contract(tmp_path, text))
    assert loaded.type_field == "kind"
    assert FrameValidator(loaded).validate({"kind": "pong"}) == []
    (violation,) = FrameValidator(loaded).validate({"type": "pong"})
    assert violation.path == "$.kind"


# -- bugs -------------------------------------------------------------------------------


def test_non_numeric_close_code_is_a_contract_error(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "info: {title: Mini, version: 0.1.0}", "info: {title: Mini}\nx-close-codes: {nice: soon}"
    )
    where = _error(tmp_path, text)
    assert "x-close-codes.nice" in where


def test_address_placeholder_must_be_a_parameter(tmp_path: Path) -> None:
    text = MINIMAL.replace("address: ws/main/{user_id}/", "address: ws/main/{uid}/")
    where = _error(tmp_path, text)
    assert "channels.mine.address" in where
