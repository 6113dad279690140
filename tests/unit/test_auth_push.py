"""harness/auth.py and harness/push.py without HTTP: static tokens, query strings, no trigger."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.auth import Credentials, LoginFailed, TokenProvider
from harness.config import HarnessConfig, load_config
from harness.contract import Contract
from harness.errors import ConfigError
from harness.push import PushRequest, PushTrigger, PushUnavailable, layer_message
from harness.targets import readiness_probe
from harness.targets.base import TargetInfo
from harness.targets.readiness import NotReady, WebSocketProbe

Write = Callable[[str, str], Path]

# Port 9 (discard) on loopback: if anything tried HTTP, it would fail loudly, not hang.
NOWHERE = "http://127.0.0.1:9/"


@pytest.fixture
def static_config(write: Write) -> HarnessConfig:
    path = write(
        "static.config.yaml",
        """
        auth:
          method: static
          query_param: access
        users:
          primary: {token: "tok/en+1 &=?", user_id: 2}
          secondary: {token: plain, user_id: 3}
          nameless: {username: someone}
        push:
          method: none
        """,
    )
    return load_config(path, environ={})


def test_static_token_without_http(static_config: HarnessConfig) -> None:
    tokens = TokenProvider(static_config, NOWHERE)
    assert tokens.token("primary") == "tok/en+1 &=?"
    assert tokens.token("secondary") == "plain"
    assert tokens.token("primary") == "tok/en+1 &=?"  # cached


def test_a_login_without_an_endpoint_is_a_config_error(write: Write) -> None:
    """No auth section: the default method logs in, but at no endpoint of the harness's own
    choosing (the default was the reference service's /api/auth/token/)."""
    config = _config(write, "users:\n  someone: {username: u, password: p, user_id: 1}\n")
    with pytest.raises(ConfigError) as info:
        TokenProvider(config, NOWHERE).token("someone")
    assert str(info.value).startswith(
        f"{config.source}: auth.method is login but auth.login_path is not set"
    )


def test_static_method_needs_a_token(static_config: HarnessConfig) -> None:
    with pytest.raises(ConfigError) as info:
        TokenProvider(static_config, NOWHERE).token("nameless")
    assert (
        str(info.value)
        == f"{static_config.source}: users.nameless needs a 'token' (auth.method is static)"
    )


def test_unknown_user(static_config: HarnessConfig) -> None:
    with pytest.raises(ConfigError, match="no user named 'ghost'"):
        TokenProvider(static_config, NOWHERE).token("ghost")


def test_query_url_encodes(static_config: HarnessConfig) -> None:
    tokens = TokenProvider(static_config, NOWHERE)
    assert tokens.query("plain") == "?access=plain"
    assert tokens.query("tok/en+1 &=?") == "?access=tok%2Fen%2B1%20%26%3D%3F"
    assert tokens.query(None) == ""


def test_query_uses_the_default_param(config: HarnessConfig) -> None:
    assert TokenProvider(config, NOWHERE).query("a b") == "?token=a%20b"


def test_push_none_is_unavailable(static_config: HarnessConfig) -> None:
    trigger = PushTrigger(static_config, NOWHERE, TokenProvider(static_config, NOWHERE))
    assert not trigger.available
    with pytest.raises(PushUnavailable) as info:
        trigger.send(PushRequest(type="system_notification", audience="global"))
    assert static_config.source in str(info.value)
    assert "push.method: none" in str(info.value)
    assert "set push.method to http, channel_layer, command or hook" in str(info.value)


def test_push_hook_without_a_hook(write: Write) -> None:
    config = load_config(write("c.yaml", "push: {method: hook}\n"), environ={})
    trigger = PushTrigger(config, NOWHERE, TokenProvider(config, NOWHERE))
    assert trigger.available
    with pytest.raises(ConfigError, match=r"push\.method is hook but push\.hook is not set"):
        trigger.send(PushRequest(type="t", audience="global"))


def test_reference_config_has_a_push_trigger(config: HarnessConfig) -> None:
    assert PushTrigger(config, NOWHERE, TokenProvider(config, NOWHERE)).available


# -- presenting a credential, command logins, channel-layer and command pushes (issue 11) --


def _config(write: Write, text: str) -> HarnessConfig:
    return load_config(write("c.yaml", text), environ={})


@pytest.mark.parametrize(
    ("auth", "query", "headers", "subprotocols"),
    [
        ("present: query", "?token=a%20b", {}, ()),
        ("present: header", "", {"Authorization": "a b"}, ()),
        (
            "{present: header, header: X-Api-Key, header_value: 'Key ${token}'}",
            "",
            {"X-Api-Key": "Key a b"},
            (),
        ),
        ("{present: cookie, cookie: sid}", "", {"Cookie": "sid=a b"}, ()),
        ("{present: subprotocol, subprotocols: [bearer, '${token}']}", "", {}, ("bearer", "a b")),
    ],
)
def test_presenting_a_credential(
    write: Write, auth: str, query: str, headers: dict[str, str], subprotocols: tuple[str, ...]
) -> None:
    if not auth.startswith("{"):
        auth = "{" + auth + "}"
    tokens = TokenProvider(_config(write, f"auth: {auth}\n"), NOWHERE)
    shown = tokens.present("a b")
    assert (shown.query, dict(shown.headers), shown.subprotocols) == (query, headers, subprotocols)
    assert tokens.query("a b") == query
    assert tokens.present(None) == Credentials()


def test_credentials_of_a_user_and_of_anonymous(write: Write) -> None:
    config = _config(
        write, "auth: {method: static, present: cookie}\nusers:\n  primary: {token: k1}\n"
    )
    tokens = TokenProvider(config, NOWHERE)
    assert tokens.credentials("primary").headers == {"Cookie": "sessionid=k1"}
    assert tokens.credentials(None) == Credentials()


def test_command_login_prints_the_credential(write: Write, tmp_path: Path) -> None:
    config = _config(
        write,
        """
        target: {cwd: ., env: {SUFFIX: "-from-env"}}
        auth:
          method: command
          command: "echo noise; printf 'key-%s%s\\n' ${username} $SUFFIX; pwd > where"
        users:
          primary: {username: "o'neil x", user_id: 6f1c2a9e-0d4b-4c55-9a55-2b8f0c1d3e4f}
        """,
    )
    assert TokenProvider(config, NOWHERE).token("primary") == "key-o'neil x-from-env"
    assert (tmp_path / "where").read_text().strip() == str(tmp_path)


def test_command_login_failure_is_one_clear_line(write: Write) -> None:
    config = _config(
        write,
        "auth: {method: command, command: 'echo nope >&2; exit 3'}\n"
        "users:\n  primary: {username: u}\n",
    )
    with pytest.raises(ConfigError) as info:
        TokenProvider(config, NOWHERE).token("primary")
    message = str(info.value)
    assert "\n" not in message
    assert "auth.command for users.primary (echo nope >&2; exit 3) exited 3" in message
    assert "nope" in message and "print the credential on its last line" in message


def test_unknown_template_in_a_command_names_the_known_ones(write: Write) -> None:
    config = _config(
        write, "auth: {method: command, command: 'mk ${email}'}\nusers:\n  p: {username: u}\n"
    )
    with pytest.raises(ConfigError, match=r"auth\.command: \$\{email\} is unknown; use .*username"):
        TokenProvider(config, NOWHERE).token("p")


LAYER = """
push:
  method: channel_layer
  channel_layer:
    url: redis://127.0.0.1:9/0
    groups:
      user: "member_${user}"
      role: ["team_${role}", "audit"]
      global: everyone
    message: {type: inbox.deliver, kind: "${type}", body: "${data}", at: "${now_iso}"}
"""


def test_layer_message_fills_groups_and_the_event(write: Write) -> None:
    config = _config(write, LAYER)
    spec = config.push.channel_layer
    assert spec is not None
    member = "6f1c2a9e-0d4b-4c55-9a55-2b8f0c1d3e4f"
    groups, event = layer_message(
        spec, PushRequest("note_shared", "user", user_id=member, data={"n": 1}), "c.yaml"
    )
    assert groups == [f"member_{member}"]
    assert {k: event[k] for k in ("type", "kind", "body")} == {
        "type": "inbox.deliver",
        "kind": "note_shared",
        "body": {"n": 1},
    }
    assert event["at"].startswith("20")
    groups, _ = layer_message(spec, PushRequest("x", "role", role="red"), "c.yaml")
    assert groups == ["team_red", "audit"]
    assert layer_message(spec, PushRequest("x", "global"), "c.yaml")[0] == ["everyone"]
    with pytest.raises(ConfigError, match=r"groups has no group for the 'subscribers' audience"):
        layer_message(spec, PushRequest("x", "subscribers", user_id=1), "c.yaml")


def test_channel_layer_without_channels_redis_is_one_line(
    write: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "channels_redis.core", None)  # import fails
    config = _config(write, LAYER)
    trigger = PushTrigger(config, NOWHERE, TokenProvider(config, NOWHERE))
    with pytest.raises(ConfigError) as info:
        trigger.send(PushRequest("x", "global"))
    assert str(info.value) == (
        f"{config.source}: push.method channel_layer needs channels_redis; install it "
        "(pip install channels-redis, or ws-harness[target])"
    )


def test_channel_layer_that_does_not_answer(write: Write) -> None:
    pytest.importorskip("channels_redis")
    config = _config(write, LAYER)  # port 9: nothing listens
    trigger = PushTrigger(config, NOWHERE, TokenProvider(config, NOWHERE))
    with pytest.raises(ConfigError) as info:
        trigger.send(PushRequest("x", "global"))
    assert "push trigger failed: the channel layer at redis://127.0.0.1:9/0" in str(info.value)
    assert "check push.channel_layer.url and that Redis runs" in str(info.value)


def test_push_command_quotes_every_value(write: Write, tmp_path: Path) -> None:
    config = _config(
        write,
        """
        target: {cwd: .}
        push:
          method: command
          command:
            user: "printf '%s|' ${type} ${user} ${data} > pushed"
            global: "exit 4"
        """,
    )
    trigger = PushTrigger(config, NOWHERE, TokenProvider(config, NOWHERE))
    trigger.send(PushRequest("t y", "user", user_id="u-1", data={"m": "a 'b'"}))
    assert (tmp_path / "pushed").read_text() == 't y|u-1|{"m": "a \'b\'"}|'
    with pytest.raises(ConfigError, match=r"push\.command exited 4"):
        trigger.send(PushRequest("t", "global"))
    with pytest.raises(ConfigError, match=r"push\.command has no command for the 'role' audience"):
        trigger.send(PushRequest("t", "role", role="r"))


# -- readiness as a configured user (every route needs a login) -----------------------------


def test_ready_user_probes_its_own_route_with_its_credential(
    write: Write, contract: Contract
) -> None:
    config = _config(
        write,
        """
        target: {ready_route: permissions_user, ready_user: primary}
        auth: {method: static, present: header}
        users:
          primary: {token: k1, user_id: 7}
        """,
    )
    probe = readiness_probe(config, contract)
    assert probe.path == "/ws/permissions/7/"
    assert probe.user is config.user("primary")
    assert probe.login is not None
    assert probe.login(NOWHERE).headers == {"Authorization": "k1"}


def test_without_ready_user_the_probe_is_anonymous(
    config: HarnessConfig, contract: Contract
) -> None:
    probe = readiness_probe(config, contract)
    assert (probe.path, probe.user, probe.login) == ("/ws/permissions/anonymous/", None, None)


@pytest.mark.parametrize(("status", "kind"), [(None, "starting"), (400, "login_refused")])
def test_a_failed_login_is_starting_or_a_wrong_answer(status: int | None, kind: str) -> None:
    def login(http_url: str) -> Credentials:
        raise LoginFailed("login for users.primary failed", status)

    info = TargetInfo(backend="url", host="127.0.0.1", port=9)
    assert WebSocketProbe(path="/x", login=login)(info) == NotReady(
        "login for users.primary failed", kind
    )


@pytest.mark.parametrize(
    ("origin", "expected"),
    [("same", NOWHERE.rstrip("/")), ("https://app.example.com", "https://app.example.com")],
)
def test_origin_goes_with_every_connection(write: Write, origin: str, expected: str) -> None:
    config = _config(write, f"auth: {{method: static, origin: '{origin}'}}\n")
    tokens = TokenProvider(config, NOWHERE)
    assert tokens.present(None).origin == expected  # anonymous clients send it too
    assert tokens.present("t").origin == expected


def test_origin_must_be_same_or_a_url(write: Write) -> None:
    path = write("c.yaml", "auth: {origin: example.com}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert str(info.value).startswith(f"{path}:1: auth.origin is 'example.com'; write same")
