"""Shared fixtures for the fast unit tests: the bundled contract and config, and a helper
that writes small YAML files into ``tmp_path`` (no servers, no network)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.config import HarnessConfig, load_config
from harness.contract import Contract, load_contract

WriteFile = Callable[[str, str], Path]


@pytest.fixture(scope="session")
def contract() -> Contract:
    """The bundled permissions contract (loaded once; it is frozen data)."""
    return load_contract()


@pytest.fixture(scope="session")
def config() -> HarnessConfig:
    """The bundled reference config, with no timeout factor from the environment."""
    return load_config(environ={})


@pytest.fixture
def write(tmp_path: Path) -> WriteFile:
    """``write(name, text)``: dedented ``text`` into ``tmp_path / name``; returns the path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write
