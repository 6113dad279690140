"""Fuzz tests in this repository run against the reference target, whose contract
deviations (none at present) are declared in deviations.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.fuzz.properties import Deviation, load_deviations

DEVIATIONS = Path(__file__).with_name("deviations.yaml")


@pytest.fixture(scope="session")
def ws_fuzz_deviations() -> tuple[Deviation, ...]:
    return load_deviations(DEVIATIONS)
