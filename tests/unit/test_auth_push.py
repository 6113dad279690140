"""harness/auth.py and harness/push.py without HTTP: static tokens, query strings, no trigger."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.auth import TokenProvider
from harness.config import HarnessConfig, load_config
from harness.errors import ConfigError
from harness.push import PushRequest, PushTrigger, PushUnavailable

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
    assert "set push.method to http or hook" in str(info.value)


def test_push_hook_without_a_hook(write: Write) -> None:
    config = load_config(write("c.yaml", "push: {method: hook}\n"), environ={})
    trigger = PushTrigger(config, NOWHERE, TokenProvider(config, NOWHERE))
    assert trigger.available
    with pytest.raises(ConfigError, match=r"push\.method is hook but push\.hook is not set"):
        trigger.send(PushRequest(type="t", audience="global"))


def test_reference_config_has_a_push_trigger(config: HarnessConfig) -> None:
    assert PushTrigger(config, NOWHERE, TokenProvider(config, NOWHERE)).available
