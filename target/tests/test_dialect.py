"""The renamed dialect (``target/dialect.py``): the map, the frame translation, the renamers of
the contract and config, and the target speaking it in-process and over a real socket."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.test import AsyncClient, override_settings
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from harness.config import load_config
from harness.contract import load_contract
from target import dialect
from target.dialect import RENAMED, from_wire, rename_config, rename_contract, to_wire
from target.tests.helpers import ask, communicator, expect_close, receive, target_app
from target.tests.test_server import REPO_ROOT, Served, http, login

CONTRACT = REPO_ROOT / "scenarios" / "permissions.asyncapi.yaml"
CONFIG = REPO_ROOT / "scenarios" / "reference.config.yaml"
NOTIFY = "/api/permissions/notify/"
W = dialect.wire_name  # reference name -> renamed name, for readable expectations
DIALECT_FLAG = ("--dialect", "renamed")


# ------------------------------------------------------------------------------- the map
def test_map_is_bijective_and_disjoint_from_the_reference_names() -> None:
    assert len(set(RENAMED.values())) == len(RENAMED)
    assert not set(RENAMED) & set(RENAMED.values())
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n) for n in RENAMED.values())
    assert set(dialect.MESSAGE_TYPES) <= set(RENAMED)
    assert set(dialect.PATH_SEGMENTS) <= set(RENAMED)


def test_map_covers_every_name_the_consumer_sends() -> None:
    from target.permissions.consumers import FEATURES

    fields = {
        "type", "data", "timestamp", "user_id", "groups", "server_time", "sessionId", "features",
        "resource", "action", "request_id", "has_permission", "types", "subscribed_types",
        "unsubscribed_types", "error_code", "message", "userId", "permissions", "permission",
        "oldRole", "newRole", "menuChanges", "change", "currentGroups", "cacheKeys", "priority",
    }  # fmt: skip
    assert fields | set(FEATURES) <= set(RENAMED)


def test_to_wire_renames_keys_and_type_values_and_from_wire_inverts_it() -> None:
    frame = {
        "type": "subscription_confirmed",
        "subscribed_types": ["role_updated", "cache_invalidation"],
        "timestamp": "2026-01-01T00:00:00+00:00",
    }
    wire = to_wire(frame)
    assert wire == {
        "kind": "watch_ack",
        "watching": ["rank_moved", "purge"],
        "at": "2026-01-01T00:00:00+00:00",
    }
    assert from_wire(wire) == frame
    assert frame["type"] == "subscription_confirmed"  # the input is not modified


def test_nested_frames_and_feature_keys() -> None:
    frame = {
        "type": "connection_confirmed",
        "data": {
            "user_id": 0,
            "groups": ["anonymous_users"],
            "features": {"heartbeat": True, "cache_invalidation": True},
        },
        "timestamp": 1,
    }
    assert to_wire(frame) == {
        "kind": "welcome",
        "body": {
            "member_no": 0,
            "rooms": ["anonymous_users"],
            "caps": {"beat": True, "purge": True},
        },
        "at": 1,
    }


@pytest.mark.parametrize(
    "value",
    [
        {"type": "permission_check", "resource": "grades", "action": "view", "request_id": "r"},
        {"kind": "acl_probe", "subject": "beat", "verb": "heartbeat", "ticket": None},
        {"anything": [1, 2.5, None, True, {"nested": ["ping", "tick", "x"]}], "type": 3},
        ["error", "fault", "permissions", "grants"],
        "heartbeat",
        42,
        None,
    ],
)
def test_round_trips_are_exact_in_both_directions(value: Any) -> None:
    assert from_wire(to_wire(value)) == value
    assert to_wire(from_wire(value)) == value


def test_a_reference_frame_is_not_a_renamed_frame() -> None:
    # The renamed server must not understand the reference names (else a harness that leaks
    # them would pass): reference names read back as the renamed ones.
    assert from_wire({"type": "heartbeat"}) == {"kind": "beat"}
    assert "type" not in from_wire({"type": "heartbeat"})


def test_rename_path_keeps_regex_groups_unless_asked() -> None:
    regex = r"^ws/permissions/(?P<user_id>\d+)/$"
    assert dialect.rename_path(regex) == r"^rt/grants/(?P<user_id>\d+)/$"
    assert dialect.rename_path(regex, RENAMED) == r"^rt/grants/(?P<member_no>\d+)/$"
    assert dialect.rename_path("ws/permissions/anonymous/") == "rt/grants/guest/"


def test_notify_body_translates_type_and_data_only() -> None:
    body = {"type": "rank_moved", "data": {"rankAfter": "x", "memberNo": 2}, "user_id": 2}
    assert dialect.notify_body_from_wire(body) == {
        "type": "role_updated",
        "data": {"newRole": "x", "userId": 2},
        "user_id": 2,
    }


def test_parse_rejects_unknown_dialects() -> None:
    assert dialect.parse(None) == dialect.parse("") == "reference"
    assert dialect.parse(" Renamed ") == "renamed"
    with pytest.raises(dialect.UnknownDialectError, match="valid dialects: reference, renamed"):
        dialect.parse("klingon")


# ------------------------------------------------------------------------------- renamers
@pytest.fixture(scope="module")
def reference_document() -> dict[str, Any]:
    return yaml.safe_load(CONTRACT.read_text())


@pytest.fixture(scope="module")
def renamed_files(
    reference_document: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("renamed")
    contract = folder / "renamed.asyncapi.yaml"
    contract.write_text(yaml.safe_dump(rename_contract(reference_document), sort_keys=False))
    config = folder / "renamed.config.yaml"
    renamed = rename_config(yaml.safe_load(CONFIG.read_text()), contract=str(contract))
    config.write_text(yaml.safe_dump(renamed, sort_keys=False))
    return contract, config


_JSON_TYPES = {"object", "array", "string", "number", "integer", "boolean", "null"}
_PROSE = {"description", "summary", "title"}
_TEMPLATE = re.compile(r"\$\{[^}]*\}")
_SLOT = re.compile(r"\{[^}]*\}")
_RUNTIME_EXPRESSION = re.compile(r"^\$message\.(payload|header)#")
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _vocabulary_key(path: tuple[Any, ...], key: str, value: Any) -> bool:
    """Keys that are AsyncAPI / JSON Schema / harness words, not protocol names."""
    if key == "type" and (
        (isinstance(value, str) and value in _JSON_TYPES)
        or (isinstance(value, list) and set(value) <= _JSON_TYPES)
    ):
        return True  # the JSON Schema keyword
    if key == "action" and path[:1] == ("operations",) and value in ("send", "receive"):
        return True  # the AsyncAPI operation keyword
    if path == ("x-errors",):
        return True  # x-errors.message / code_field / codes: the harness's words
    return path[:1] == ("x-roles",) and len(path) <= 2  # role names and role keys


def _vocabulary_value(path: tuple[Any, ...]) -> bool:
    """String values that are harness / AsyncAPI words (they may equal a reference name)."""
    last = path[-1] if path else None
    if last == "x-auth" or path[:1] == ("servers",):
        return True  # optional|owner|anonymous|required; protocol: ws
    return len(path) >= 3 and path[-3] == "tags" and last == "name"  # confirmation|...|error


def leftover_names(node: Any, path: tuple[Any, ...] = ()) -> list[str]:
    """Every place a reference name (message, field, route, path segment) is left."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _PROSE:
                continue
            if key in RENAMED and not _vocabulary_key(path, key, value):
                found.append(f"key {'.'.join(map(str, (*path, key)))}")
            found += leftover_names(value, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found += leftover_names(item, (*path, index))
    elif isinstance(node, str) and not _vocabulary_value(path):
        text = _RUNTIME_EXPRESSION.sub("", _TEMPLATE.sub("", node))
        if path[:1] == ("x-roles",):
            text = _SLOT.sub("", text)  # "{resource}.{action}": template slots
        found += [
            f"{'.'.join(map(str, path))}: {token} in {node!r}"
            for token in _TOKEN.findall(text)
            if token in RENAMED
        ]
    return found


def test_the_leftover_check_finds_reference_names(reference_document: dict[str, Any]) -> None:
    found = leftover_names(reference_document)
    for expected in (
        "key channels.permissions_user",
        "key components.messages.heartbeat",
        "key components.schemas.timestamp",
        "x-message-type-field: type in 'type'",
        "channels.permissions.x-path-regex: ws in '^ws/permissions/$'",
        "components.messages.permission_check.correlationId.location: request_id",
        "x-roles.liveness.send.type: heartbeat",
    ):
        assert any(item.startswith(expected) for item in found), (expected, found)


def test_renamed_contract_has_no_reference_name_left(renamed_files: tuple[Path, Path]) -> None:
    document = yaml.safe_load(renamed_files[0].read_text())
    assert leftover_names(document) == []


def test_renamed_contract_loads_with_the_same_shape(renamed_files: tuple[Path, Path]) -> None:
    reference, renamed = load_contract(CONTRACT), load_contract(renamed_files[0])
    assert len(renamed.routes) == len(reference.routes) == 3
    assert len(renamed.messages) == len(reference.messages) == len(dialect.MESSAGE_TYPES)
    assert renamed.replies == {
        W(request): tuple(W(r) for r in replies) for request, replies in reference.replies.items()
    }
    assert renamed.close_codes == reference.close_codes
    assert renamed.error_codes == reference.error_codes
    assert renamed.type_field == "kind" and renamed.error_code_field == "fault_code"
    assert renamed.error_message == "fault"
    assert renamed.max_message_bytes == reference.max_message_bytes
    for name, message in reference.messages.items():
        twin = renamed.messages[W(name)]
        assert (twin.direction, twin.kind, twin.delivered_to) == (
            message.direction,
            message.kind,
            message.delivered_to,
        )
        assert twin.correlation_field == (
            W(message.correlation_field) if message.correlation_field else None
        )
    for name, route in reference.routes.items():
        twin = renamed.routes[W(name)]
        assert (twin.auth, twin.trailing_slash_optional) == (
            route.auth,
            route.trailing_slash_optional,
        )
        assert twin.path(member_no=5) == dialect.rename_path(route.path(user_id=5))
    assert renamed.route("grants_guest").path_variants() == [
        "/rt/grants/guest/",
        "/rt/grants/guest",
    ]
    assert set(renamed.roles) == set(reference.roles)
    assert renamed.liveness_request == {"kind": "beat", "at": "${now_ms}"}
    assert renamed.liveness_reply == "beat_ack"


def test_renamed_contract_does_not_modify_its_input(reference_document: dict[str, Any]) -> None:
    before = json.dumps(reference_document, sort_keys=True)
    rename_contract(reference_document)
    assert json.dumps(reference_document, sort_keys=True) == before


def test_renamed_config_loads_and_names_the_renamed_things(
    renamed_files: tuple[Path, Path],
) -> None:
    contract, config_file = renamed_files
    reference, config = load_config(CONFIG), load_config(config_file)
    assert config.contract == str(contract.resolve())
    assert config.target.command == f"{reference.target.command} --dialect renamed"
    assert config.target.env["TARGET_DIALECT"] == "renamed"
    assert config.target.ready_route == "grants_guest"
    assert config.target.ready_route in load_contract(contract).routes
    raw = yaml.safe_load(CONFIG.read_text())
    if "message" in raw.get("confirmation", {}):
        assert config.confirmation.message == "welcome"
    if "connect_message" in raw.get("confirmation", {}):
        assert config.confirmation.connect_message == {
            "kind": "hello",
            "body": {"memberNo": "${user.user_id}"},
        }
    assert (config.users, config.auth, config.push.path) == (
        reference.users,
        reference.auth,
        reference.push.path,
    )


def test_rename_config_translates_every_named_field() -> None:
    document = {
        "target": {
            "command": "{python} -m target serve --port {port}",
            "ready_route": "permissions",
        },
        "confirmation": {
            "message": "connection_confirmed",
            "connect_message": {"type": "connect", "data": {"userId": "${user.user_id}"}},
        },
        "push": {"method": "http", "trace_field": "trace_id"},
    }
    assert rename_config(document) == {
        "target": {
            "command": "{python} -m target serve --port {port} --dialect renamed",
            "ready_route": "grants",
            "env": {"TARGET_DIALECT": "renamed"},
        },
        "confirmation": {
            "message": "welcome",
            "connect_message": {"kind": "hello", "body": {"memberNo": "${user.user_id}"}},
        },
        "push": {"method": "http", "trace_field": "probe_tag"},
    }


# ------------------------------------------------------------------------------- in-process
@pytest.fixture
def renamed() -> Iterator[None]:
    with override_settings(
        TARGET_DIALECT="renamed", ALLOWED_HOSTS=["testserver", "127.0.0.1", "localhost"]
    ):
        yield


async def _confirmed(app: Any, path: str, token: str | None = None) -> tuple[Any, dict]:
    comm = communicator(app, path, token)
    connected, _ = await comm.connect()
    assert connected, path
    return comm, await receive(comm)


async def test_renamed_routes_confirm_and_answer_in_renamed_names(renamed: None, tokens) -> None:
    with target_app() as app:
        for path in ("/rt/grants/guest", "/rt/grants/guest/", "/rt/grants/"):
            comm, frame = await _confirmed(app, path)
            assert frame["kind"] == "welcome" and isinstance(frame["at"], int)
            assert frame["body"]["member_no"] == 0 and frame["body"]["rooms"] == ["anonymous_users"]
            assert set(frame["body"]["caps"]) == {
                "grant_news", "rank_news", "nav_news", "purge", "beat"
            }  # fmt: skip
            await comm.disconnect()
        comm, frame = await _confirmed(app, "/rt/grants/2/", tokens["teacher"])
        assert frame["body"]["member_no"] == 2
        reply = await ask(comm, {"kind": "beat"})
        assert set(reply) == {"kind", "at", "clock"} and reply["kind"] == "beat_ack"
        assert (await ask(comm, {"kind": "tick"}))["kind"] == "beat_ack"
        probe = {"kind": "acl_probe", "subject": "grades", "verb": "edit", "ticket": "r-1"}
        reply = await ask(comm, probe)
        assert {k: reply[k] for k in ("kind", "ticket", "subject", "verb", "allowed")} == {
            "kind": "acl_verdict", "ticket": "r-1", "subject": "grades", "verb": "edit",
            "allowed": True,
        }  # fmt: skip
        reply = await ask(comm, {"kind": "watch", "topics": ["rank_moved", "bulletin"]})
        assert reply["kind"] == "watch_ack" and reply["watching"] == ["rank_moved", "bulletin"]
        reply = await ask(comm, {"kind": "unwatch", "topics": ["bulletin"]})
        assert reply == {"kind": "unwatch_ack", "unwatched": ["bulletin"], "at": reply["at"]}
        await comm.disconnect()


async def test_renamed_errors_and_reference_names_are_unknown(renamed: None) -> None:
    with target_app() as app:
        comm, _ = await _confirmed(app, "/rt/grants/guest")
        for message, code in (
            ("not json", "INVALID_JSON"),
            ({"type": "heartbeat"}, "UNKNOWN_MESSAGE_TYPE"),  # reference names are not spoken
            ({"kind": "heartbeat"}, "UNKNOWN_MESSAGE_TYPE"),
            ({"kind": "acl_probe", "resource": "grades", "action": "view"}, "missing_parameters"),
            ({"kind": "watch", "topics": "x"}, "invalid_parameters"),
        ):
            reply = await ask(comm, message)
            assert set(reply) == {"kind", "fault_code", "text", "at"}, reply
            assert (reply["kind"], reply["fault_code"]) == ("fault", code)
        await comm.disconnect()


@pytest.mark.parametrize(
    "path", ["/ws/permissions/", "/ws/permissions/anonymous", "/ws/permissions/2/", "/rt/grants"]
)
async def test_reference_paths_are_not_routes_in_the_renamed_dialect(
    renamed: None, path: str
) -> None:
    with target_app() as app, pytest.raises(ValueError, match="No route found"):
        await communicator(app, path).connect(timeout=0.1)


async def test_faults_apply_to_the_renamed_protocol(renamed: None, tokens) -> None:
    with target_app("no_anonymous_slashless", "no_user_route", "error_shape") as app:
        for path in ("/rt/grants/guest", "/rt/grants/2/"):
            with pytest.raises(ValueError, match="No route found"):
                await communicator(app, path).connect(timeout=0.1)
        comm, _ = await _confirmed(app, "/rt/grants/guest/")
        reply = await ask(comm, {"kind": "nonsense"})
        assert reply["kind"] == "fault" and "fault_code" not in reply and reply["fault"]
        await comm.disconnect()
    with target_app("wrong_request_id", "crash_on_bad_json") as app:
        comm, _ = await _confirmed(app, "/rt/grants/", tokens["teacher"])
        probe = {"kind": "acl_probe", "subject": "grades", "verb": "view", "ticket": "a"}
        assert (await ask(comm, probe))["ticket"] is None
        assert (await ask(comm, {**probe, "ticket": "b"}))["ticket"] == "a"
        await comm.send_to(text_data="{")
        await expect_close(comm, 1011)
    with target_app("token_downgrade", "cross_user") as app:
        comm, frame = await _confirmed(app, "/rt/grants/?token=bogus")
        assert frame["body"]["member_no"] == 0
        await comm.disconnect()
        comm, frame = await _confirmed(app, "/rt/grants/3/", tokens["teacher"])
        assert frame["body"]["member_no"] == 3
        await comm.disconnect()


async def test_confirmation_on_connect_uses_the_renamed_hello(tokens) -> None:
    with (
        override_settings(TARGET_DIALECT="renamed", TARGET_CONFIRM_ON="connect"),
        target_app() as app,
    ):
        comm = communicator(app, "/rt/grants/", tokens["student"])
        assert (await comm.connect())[0]
        assert await comm.receive_nothing(0.05)
        reply = await ask(comm, {"kind": "hello", "body": {"memberNo": 3}})
        assert reply["kind"] == "welcome" and reply["body"]["member_no"] == 3
        await comm.disconnect()


async def test_notify_endpoint_takes_renamed_types_and_data(renamed: None, tokens) -> None:
    client = AsyncClient()
    headers = {"authorization": f"Token {tokens['admin']}"}
    with target_app() as app:
        teacher, _ = await _confirmed(app, "/rt/grants/", tokens["teacher"])
        guest, _ = await _confirmed(app, "/rt/grants/guest")
        body = {"type": "rank_moved", "data": {"rankAfter": "lead", "probe_tag": "t"}, "user_id": 2}
        response = await client.post(NOTIFY, body, content_type="application/json", headers=headers)
        assert response.status_code == 202, response.content
        assert response.json() == {"sent_to": ["user_2"], "type": "rank_moved"}
        push = await receive(teacher)
        assert push["kind"] == "rank_moved" and isinstance(push["at"], str)
        assert push["body"] == {"rankAfter": "lead", "probe_tag": "t", "memberNo": 2}
        assert await guest.receive_nothing(0.05)
        # subscribers: the renamed topic names map to the same group as the renamed push type
        assert (await ask(guest, {"kind": "watch", "topics": ["nav_moved"]}))["kind"] == "watch_ack"
        body = {"type": "nav_moved", "data": {}, "user_id": 0, "subscribers": True}
        response = await client.post(NOTIFY, body, content_type="application/json", headers=headers)
        assert response.json()["sent_to"] == ["notification_menu_access_changed_0"]
        assert (await receive(guest))["kind"] == "nav_moved"
        # the reference type names are not push types of the renamed dialect
        body = {"type": "role_updated", "data": {}, "user_id": 2}
        response = await client.post(NOTIFY, body, content_type="application/json", headers=headers)
        assert response.status_code == 400 and response.json()["field"] == "type"
        assert "rank_moved" in response.json()["error"]
        await teacher.disconnect()
        await guest.disconnect()


async def test_signal_pushes_are_renamed(renamed: None, tokens) -> None:
    from asgiref.sync import sync_to_async

    from target.permissions.models import UserPermission

    with target_app() as app:
        student, _ = await _confirmed(app, "/rt/grants/", tokens["student"])

        def grant() -> None:
            permission = UserPermission.objects.create(user_id=3, resource="reports", action="x")
            permission.delete()

        await sync_to_async(grant)()
        added, removed = await receive(student), await receive(student)
        assert added["kind"] == removed["kind"] == "grant_moved"
        assert (added["body"]["verb"], removed["body"]["verb"]) == ("added", "removed")
        assert {"memberNo", "grants", "verb", "subject", "grant"} <= set(added["body"])
        await student.disconnect()


async def test_reference_dialect_is_unchanged() -> None:
    with target_app() as app:
        comm, frame = await _confirmed(app, "/ws/permissions/anonymous")
        assert frame["type"] == "connection_confirmed"
        assert (await ask(comm, {"type": "heartbeat"}))["type"] == "heartbeat_response"
        await comm.disconnect()
        with pytest.raises(ValueError, match="No route found"):
            await communicator(app, "/rt/grants/").connect(timeout=0.1)


# ------------------------------------------------------------------------------- real socket
READY = re.compile(
    r"^target ready: http://127\.0\.0\.1:(?P<port>\d+) ws://127\.0\.0\.1:(?P=port)/rt/grants/"
    r" pid=(?P<pid>\d+) instance=(?P<instance>[0-9a-f-]{36})$"
)


@pytest.fixture(scope="module")
def renamed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    db = str(tmp_path_factory.mktemp("db") / "target.sqlite3")
    process = subprocess.Popen(
        [sys.executable, "-m", "target", "serve", "--port", "0", "--db", db, *DIALECT_FLAG],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline().rstrip("\n")
    match = READY.match(line)
    if not match:
        process.kill()
        raise AssertionError(f"no renamed ready line: {line!r}\n{process.stderr.read()}")
    served = Served(process, int(match["port"]), int(match["pid"]), match["instance"])
    yield served
    served.stop()


def test_real_server_speaks_the_renamed_dialect(renamed_server: Served) -> None:
    server = renamed_server

    async def scenario() -> None:
        token = login(server, "teacher")
        async with (
            connect(server.url("/rt/grants/guest", "ws")) as guest,
            connect(server.url(f"/rt/grants/2/?token={token}", "ws")) as teacher,
        ):
            confirmed = json.loads(await guest.recv())
            assert confirmed["kind"] == "welcome" and confirmed["body"]["member_no"] == 0
            assert json.loads(await teacher.recv())["body"]["member_no"] == 2
            await guest.send(json.dumps({"kind": "beat"}))
            reply = json.loads(await guest.recv())
            assert reply["kind"] == "beat_ack" and isinstance(reply["clock"], float)
            body = {"type": "bulletin", "data": {"text": "hi", "urgency": "high"}, "global": True}
            status, answer = await asyncio.to_thread(
                http, "POST", server.url(NOTIFY), body, login(server, "admin")
            )
            assert status == 202 and answer == {
                "sent_to": ["global_notifications"],
                "type": "bulletin",
            }
            for ws in (guest, teacher):
                push = json.loads(await asyncio.wait_for(ws.recv(), 2))
                assert push["kind"] == "bulletin" and push["body"] == body["data"]
            body = {"type": "purge", "data": {"purgeKeys": ["menu"]}, "user_id": 2}
            status, _ = await asyncio.to_thread(
                http, "POST", server.url(NOTIFY), body, login(server, "admin")
            )
            assert status == 202
            push = json.loads(await asyncio.wait_for(teacher.recv(), 2))
            assert push == {"kind": "purge", "body": {"purgeKeys": ["menu"], "memberNo": 2},
                            "at": push["at"]}  # fmt: skip
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(guest.recv(), 0.2)

    asyncio.run(scenario())


@pytest.mark.parametrize("path", ["/ws/permissions/", "/ws/permissions/anonymous", "/rt/grants"])
def test_real_server_refuses_the_reference_paths(renamed_server: Served, path: str) -> None:
    async def attempt() -> int:
        try:
            async with connect(renamed_server.url(path, "ws"), open_timeout=5):
                return 101
        except InvalidStatus as exc:
            return exc.response.status_code

    assert asyncio.run(attempt()) == 500  # stock Channels "No route found"


def test_real_server_refusals_keep_their_close_codes(renamed_server: Served) -> None:
    async def refused(path: str) -> int | None:
        async with connect(renamed_server.url(path, "ws")) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            return closed.value.rcvd.code if closed.value.rcvd else None

    assert asyncio.run(refused("/rt/grants/?token=bad")) == 4001
    assert asyncio.run(refused("/rt/grants/2/")) == 4001


def test_notify_cli_takes_the_renamed_type(renamed_server: Served) -> None:
    async def scenario() -> None:
        async with connect(renamed_server.url("/rt/grants/guest/", "ws")) as guest:
            await guest.recv()
            result = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "target", "notify", "--dialect", "renamed",
                 "--type", "bulletin", "--global", "--data", '{"text": "from cli"}',
                 "--url", renamed_server.url("")],
                cwd=REPO_ROOT, capture_output=True, text=True, timeout=20,
            )  # fmt: skip
            assert result.returncode == 0, result.stderr
            assert json.loads(result.stdout) == {
                "sent_to": ["global_notifications"],
                "type": "bulletin",
            }
            push = json.loads(await asyncio.wait_for(guest.recv(), 2))
            assert push["kind"] == "bulletin" and push["body"] == {"text": "from cli"}

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("argv", "env"),
    [(["--dialect", "klingon"], {}), ([], {"TARGET_DIALECT": "klingon"})],
)
def test_unknown_dialect_exits_2_with_one_line(argv: list[str], env: dict[str, str]) -> None:
    import os

    result = subprocess.run(
        [sys.executable, "-m", "target", "serve", "--port", "0", *argv],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=20, env={**os.environ, **env},
    )  # fmt: skip
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert "klingon" in result.stderr and "valid dialects: reference, renamed" in result.stderr
