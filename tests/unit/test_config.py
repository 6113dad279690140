"""harness/config.py: the reference config, errors naming file:line and field, timeout factor."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.config import FROM_CONTRACT, TIMEOUT_FACTOR_ENV, HarnessConfig, Timeouts, load_config
from harness.errors import ConfigError

Write = Callable[[str, str], Path]


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    return str(info.value)


def test_reference_config_users(config: HarnessConfig) -> None:
    assert set(config.users) == {"primary", "secondary", "staff", "inactive"}
    ids = {name: user.user_id for name, user in config.users.items()}
    assert ids == {"primary": 2, "secondary": 3, "staff": 1, "inactive": 4}
    assert config.user("primary").role == "teacher"
    assert config.user("primary").holds("grades.edit")
    assert not config.user("secondary").holds("grades.edit")
    assert config.user("staff").staff is True


def test_reference_config_sections(config: HarnessConfig) -> None:
    assert config.source.endswith("reference.config.yaml")
    assert config.contract is None
    assert config.auth.method == "login"
    assert config.auth.query_param == "token"
    assert config.push.method == "http"
    assert config.push.as_user == "staff"
    assert config.confirmation.after == "accept"
    assert config.confirmation.message == FROM_CONTRACT  # the contract's confirmation
    assert config.target.ready_route == "permissions_anonymous"
    assert config.target.identity is not None
    assert config.target.identity.path == "/healthz"
    assert config.timeouts.reply == 1.0
    assert isinstance(config.timeouts.connect, float)


def test_unknown_user_names_known_ones(config: HarnessConfig) -> None:
    with pytest.raises(ConfigError, match=r"no user named 'ghost' \(configured: inactive, primary"):
        config.user("ghost")


def test_empty_file_gives_defaults(write: Write) -> None:
    loaded = load_config(write("c.yaml", ""), environ={})
    assert loaded.users == {}
    assert loaded.timeouts == Timeouts()


def test_contract_path_is_relative_to_the_config(write: Write, tmp_path: Path) -> None:
    loaded = load_config(write("c.yaml", "contract: my.asyncapi.yaml\n"), environ={})
    assert loaded.contract == str((tmp_path / "my.asyncapi.yaml").resolve())


def test_unknown_top_level_key(write: Write) -> None:
    path = write("c.yaml", "users: {}\nbogus: 1\n")
    message = _error(path)
    assert message.startswith(f"{path}:1:")
    assert "unknown key 'bogus'" in message
    assert "users" in message  # the accepted keys are listed


def test_unknown_auth_key(write: Write) -> None:
    path = write("c.yaml", "users: {}\nauth:\n  method: static\n  tokn: x\n")
    message = _error(path)
    assert message.startswith(f"{path}:3:")
    assert re.search(r"unknown key '?auth\.'?tokn'", message)
    assert "login_path" in message  # the accepted keys are listed


def test_bad_auth_method(write: Write) -> None:
    path = write("c.yaml", "auth:\n  method: nope\n")
    message = _error(path)
    assert message.startswith(f"{path}:2:")
    assert "auth.method is 'nope'" in message
    assert "login, static, hook" in message


def test_bad_push_method(write: Write) -> None:
    message = _error(write("c.yaml", "push:\n  method: carrier-pigeon\n"))
    assert "push.method is 'carrier-pigeon'" in message


def test_user_id_must_be_an_integer_or_a_string(write: Write) -> None:
    path = write("c.yaml", "users:\n  x:\n    username: u\n    user_id: [2]\n")
    message = _error(path)
    assert message.startswith(f"{path}:3:")
    assert "users.x.user_id must be an integer or a string (a UUID), got [2]" in message


def test_user_ids_may_be_uuids(write: Write) -> None:
    uuid = "6f1c2a9e-0d4b-4c55-9a55-2b8f0c1d3e4f"
    loaded = load_config(
        write("c.yaml", f"users:\n  x: {{username: u, user_id: {uuid}}}\n"), environ={}
    )
    assert loaded.user("x").user_id == uuid


def test_user_needs_username_or_token(write: Write) -> None:
    path = write("c.yaml", "users:\n  x:\n    user_id: 2\n")
    message = _error(path)
    assert message.startswith(f"{path}:3:")
    assert "users.x needs a 'username'" in message
    assert "'token'" in message


def test_unknown_user_key(write: Write) -> None:
    message = _error(write("c.yaml", "users:\n  x:\n    username: u\n    userid: 2\n"))
    assert re.search(r"unknown key '?users\.x\.'?userid'", message)


def test_user_with_only_a_token_is_fine(write: Write) -> None:
    loaded = load_config(write("c.yaml", "users:\n  x: {token: abc, user_id: 7}\n"), environ={})
    assert loaded.user("x").token == "abc"
    assert loaded.user("x").user_id == 7


def test_bad_confirmation_after(write: Write) -> None:
    path = write("c.yaml", "confirmation:\n  after: sometimes\n")
    message = _error(path)
    assert message.startswith(f"{path}:2:")
    assert "confirmation.after is 'sometimes'" in message
    assert "'accept' or 'connect'" in message


def test_wrong_type_in_a_section(write: Write) -> None:
    message = _error(write("c.yaml", "timeouts:\n  reply: soon\n"))
    assert "timeouts.reply must be a float, got 'soon'" in message


def test_section_that_is_not_a_mapping(write: Write) -> None:
    message = _error(write("c.yaml", "auth: [1, 2]\n"))
    assert "'auth' must be a mapping" in message


def test_top_level_that_is_not_a_mapping(write: Write) -> None:
    message = _error(write("c.yaml", "- a\n- b\n"))
    assert "the top level must be a mapping" in message


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml: cannot read"):
        load_config(tmp_path / "nope.yaml", environ={})


@pytest.mark.parametrize("factor", ["2", "2.5", "0.5"])
def test_timeout_factor_scales_every_timeout(factor: str) -> None:
    plain = load_config(environ={}).timeouts
    scaled = load_config(environ={TIMEOUT_FACTOR_ENV: factor}).timeouts
    for name, value in vars(plain).items():
        assert getattr(scaled, name) == pytest.approx(value * float(factor)), name


def test_timeout_factor_defaults_to_one(config: HarnessConfig) -> None:
    assert load_config(environ={TIMEOUT_FACTOR_ENV: "1"}).timeouts == config.timeouts


@pytest.mark.parametrize("value", ["0", "abc", "-2", ""])
def test_timeout_factor_rejects_non_positive_or_non_numbers(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(environ={TIMEOUT_FACTOR_ENV: value})
    message = str(info.value)
    assert TIMEOUT_FACTOR_ENV in message
    assert repr(value) in message
    assert "positive number" in message


def test_timeout_factor_is_read_from_the_given_environ_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(TIMEOUT_FACTOR_ENV, "abc")
    assert load_config(environ={}).timeouts.reply == 1.0


# -- bugs -------------------------------------------------------------------------------


def test_timeout_factor_scales_the_ready_timeout() -> None:
    plain = load_config(environ={}).target.ready_timeout
    scaled = load_config(environ={TIMEOUT_FACTOR_ENV: "2"}).target.ready_timeout
    assert scaled == plain * 2


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_timeout_factor_rejects_nan_and_inf(value: str) -> None:
    with pytest.raises(ConfigError, match=TIMEOUT_FACTOR_ENV):
        load_config(environ={TIMEOUT_FACTOR_ENV: value})


def test_bad_ready_timeout_is_a_config_error(write: Write) -> None:
    message = _error(write("c.yaml", "target:\n  ready_timeout: soon\n"))
    assert "target.ready_timeout" in message


def test_permissions_as_a_string_is_rejected(write: Write) -> None:
    _error(write("c.yaml", "users:\n  x:\n    username: u\n    permissions: grades.view\n"))


def test_boolean_user_id_is_rejected(write: Write) -> None:
    message = _error(write("c.yaml", "users:\n  x:\n    username: u\n    user_id: true\n"))
    assert "users.x.user_id must be an integer" in message


def test_users_as_a_list_is_a_config_error(write: Write) -> None:
    message = _error(write("c.yaml", "users:\n  - primary\n"))
    assert re.search(r"users.* mapping", message)


def test_unknown_nested_key_is_quoted_whole(write: Write) -> None:
    message = _error(write("c.yaml", "auth:\n  tokn: x\n"))
    assert "unknown key 'auth.tokn'" in message


# -- auth as apps do it, pushes without an HTTP endpoint, ${env.*} (issue 11) -------------


def test_env_values_fill_any_string(write: Write) -> None:
    path = write(
        "c.yaml",
        """
        target:
          env: {REDIS_URL: "${env.MY_REDIS}"}
        push:
          method: channel_layer
          channel_layer:
            url: "${env.MY_REDIS}"
            prefix: "${env.MY_PREFIX:-asgi}"
            groups: {user: "user_${user}"}
            message: {type: notify.push, payload: "${data}"}
        """,
    )
    loaded = load_config(path, environ={"MY_REDIS": "redis://127.0.0.1:7/0"})
    assert loaded.target.env == {"REDIS_URL": "redis://127.0.0.1:7/0"}
    layer = loaded.push.channel_layer
    assert layer is not None
    assert (layer.url, layer.prefix) == ("redis://127.0.0.1:7/0", "asgi")
    assert layer.groups == {"user": ("user_${user}",)}  # the push's own templates stay
    assert layer.message == {"type": "notify.push", "payload": "${data}"}


def test_missing_env_value_names_file_line_and_fix(write: Write) -> None:
    path = write("c.yaml", "target:\n  env:\n    REDIS_URL: '${env.NOT_SET_HERE}'\n")
    message = _error(path)
    assert message.startswith(f"{path}:3: ")
    assert "${env.NOT_SET_HERE} is not set; export NOT_SET_HERE=... or give a default" in message


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        ("present: cookie\n  method: session\n  login_path: /login/", None),
        # No default endpoint: it would be the reference service's.
        ("present: cookie\n  method: session", "auth.login_path is not set"),
        ("method: login", "auth.method is login but auth.login_path is not set"),
        ("present: header\n  header_value: Bearer", "auth.header_value must hold ${token}"),
        ("present: subprotocol\n  subprotocols: [x]", "no auth.subprotocols entry holds ${token}"),
        ("present: telepathy", "auth.present is 'telepathy'; expected one of query, header"),
        ("method: command", "auth.method is command but auth.command is not set"),
        ("login_format: xml", "auth.login_format is 'xml'; expected one of json, form"),
        ("subprotocols: {a: b}", "auth.subprotocols must be a list of strings"),
        ("cookie: ''", "auth.cookie must be a non-empty string"),
    ],
)
def test_auth_presentations(write: Write, auth: str, expected: str | None) -> None:
    path = write("c.yaml", f"auth:\n  {auth}\n")
    if expected is None:
        loaded = load_config(path, environ={})
        assert (loaded.auth.present, loaded.auth.method, loaded.auth.cookie) == (
            "cookie",
            "session",
            "sessionid",
        )
        return
    message = _error(path)
    assert message.startswith(f"{path}:2: ")
    assert expected in message


@pytest.mark.parametrize(
    ("push", "expected"),
    [
        ("method: channel_layer", "push.method is channel_layer but push.channel_layer is not set"),
        ("method: command", "push.method is command but push.command is not set"),
        # No default endpoint or body: those would be the reference service's.
        ("method: http", "push.method is http but push.path is not set"),
        ("method: http\n  path: notify/", "push.path is 'notify/'; give the app's notify"),
        ("method: http\n  path: /notify/", "push.method is http but push.body is not set"),
        (
            "channel_layer: {url: 'http://x', groups: {user: u}, message: {type: t}}",
            "push.channel_layer.url must be the app's Redis URL",
        ),
        (
            "channel_layer: {url: 'redis://x', groups: {friends: u}, message: {type: t}}",
            "unknown key 'push.channel_layer.groups.friends'",
        ),
        (
            "channel_layer: {url: 'redis://x', groups: {user: u}, message: {body: b}}",
            "push.channel_layer.message needs a 'type'",
        ),
        (
            "channel_layer: {url: 'redis://x', groups: {user: []}, message: {type: t}}",
            "push.channel_layer.groups.user must be a group name or a list of them",
        ),
        ("command: {user: ''}", "push.command.user must be a shell command"),
        ("command: {team: x}", "unknown key 'push.command.team'"),
    ],
)
def test_push_trigger_errors(write: Write, push: str, expected: str) -> None:
    path = write("c.yaml", f"push:\n  {push}\n")
    message = _error(path)
    assert re.match(rf"{re.escape(str(path))}:\d+: ", message)
    assert expected in message


def test_push_command_for_every_audience(write: Write) -> None:
    path = write("c.yaml", "push:\n  method: command\n  command: notify ${type}\n")
    loaded = load_config(path, environ={})
    assert set(loaded.push.command) == {"user", "subscribers", "role", "global"}


def test_ready_user_must_be_configured(write: Write) -> None:
    path = write("c.yaml", "target:\n  ready_user: ghost\nusers:\n  a: {token: t}\n")
    message = _error(path)
    assert message.startswith(f"{path}:2: ")
    assert (
        "target.ready_user 'ghost' is not a configured user (a); add it under 'users:'" in message
    )


def test_target_cwd_is_relative_to_the_config(write: Write, tmp_path: Path) -> None:
    loaded = load_config(write("c.yaml", "target:\n  cwd: app\n"), environ={})
    assert loaded.target.cwd == str(tmp_path / "app")
