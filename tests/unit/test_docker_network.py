"""The docker backend's network choice: publish where the engine can, host where it cannot."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from harness.targets.docker import choose_network


def engine(networks: list[str] | Exception) -> Any:
    def list_networks(names: list[str]) -> list[str]:
        if isinstance(networks, Exception):
            raise networks
        return [n for n in networks if n in names]

    return SimpleNamespace(networks=SimpleNamespace(list=list_networks))


def test_an_engine_with_a_bridge_publishes() -> None:
    assert choose_network(engine(["bridge", "host", "none"])) == "publish"


def test_an_engine_without_a_bridge_uses_host_networking() -> None:
    assert choose_network(engine(["host", "none"])) == "host"


def test_an_engine_that_cannot_list_networks_uses_host_networking() -> None:
    assert choose_network(engine(RuntimeError("denied"))) == "host"
