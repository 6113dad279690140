"""harness/targets/ports.py and url.py: free ports, who listens, ws:// URL parsing."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from harness.errors import ConfigError
from harness.targets.ports import Listener, free_port, listeners, port_accepts
from harness.targets.url import parse_ws_url


@pytest.fixture
def listening() -> Iterator[int]:
    """A socket this test process listens on; yields its port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_free_port_is_bindable() -> None:
    port = free_port()
    assert 0 < port < 65536
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))


def test_listeners_name_this_process(listening: int) -> None:
    found = listeners(listening)
    mine = [listener for listener in found if listener.pid == os.getpid()]
    assert len(mine) == 1, found
    (listener,) = mine
    assert listener.port == listening
    assert listener.address == "127.0.0.1"
    assert "pytest" in listener.cmdline or "python" in listener.cmdline
    assert listener.describe().startswith(f"pid {os.getpid()} (")
    assert listener.describe().endswith(f"on 127.0.0.1:{listening}")


def test_no_listeners_on_a_free_port() -> None:
    assert listeners(free_port()) == []


def test_port_accepts(listening: int) -> None:
    assert port_accepts("127.0.0.1", listening)
    assert not port_accepts("127.0.0.1", free_port())


def test_describe_an_unknown_process() -> None:
    listener = Listener(pid=None, address="0.0.0.0", port=80, cmdline="")
    assert listener.describe() == "an unknown process (no permission to see it) on 0.0.0.0:80"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ws://127.0.0.1:8000", ("ws", "127.0.0.1", 8000)),
        ("wss://example.com:9443/ws/", ("wss", "example.com", 9443)),
        ("ws://localhost", ("ws", "localhost", 80)),
        ("wss://example.com", ("wss", "example.com", 443)),
        ("ws://[::1]:8001", ("ws", "::1", 8001)),
    ],
)
def test_parse_ws_url_accepts_ws_and_wss(url: str, expected: tuple[str, str, int]) -> None:
    assert parse_ws_url(url) == expected


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "127.0.0.1:8000", "ws://", "https://x"])
def test_parse_ws_url_rejects_other_urls_with_the_format(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_ws_url(url)
    assert repr(url) in str(info.value)
    assert "expected ws://HOST:PORT or wss://HOST:PORT" in str(info.value)


def test_parse_ws_url_rejects_a_bad_port() -> None:
    with pytest.raises(ConfigError, match="the port is not a number"):
        parse_ws_url("ws://127.0.0.1:http")
