"""Fuzz and security tests: Hypothesis settings from --ws-fuzz-*, the fuzz fixtures, and the
deviations this repository's reference target declares against its contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.fuzz import profiles
from harness.fuzz.fixtures import (  # noqa: F401  (fixtures, until the plugin registers them)
    ws_fuzz_driver,
    ws_fuzz_mutations,
    ws_fuzz_runner,
)
from harness.fuzz.properties import Deviation, load_deviations

DEVIATIONS = Path(__file__).with_name("deviations.yaml")


def pytest_configure(config: pytest.Config) -> None:
    profiles.register(config)


@pytest.fixture(scope="session")
def ws_fuzz_deviations() -> tuple[Deviation, ...]:
    return load_deviations(DEVIATIONS)
