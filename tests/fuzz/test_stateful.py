"""Stateful push test: each connection gets exactly the pushes its identity and
subscriptions entitle it to, in order, and no other (``harness.fuzz.stateful``)."""

from __future__ import annotations

import pytest
from hypothesis.stateful import run_state_machine_as_test

from harness.engine.runner import RunContext
from harness.fuzz import profiles
from harness.fuzz.driver import LoopRunner
from harness.fuzz.stateful import bind

pytestmark = pytest.mark.fuzz


def test_pushes_reach_exactly_the_entitled_connections(
    ws_run_context: RunContext, ws_fuzz_runner: LoopRunner
) -> None:
    if not ws_run_context.pushes.available:
        pytest.skip(f"needs a push trigger; none is configured in {ws_run_context.config.source}")
    run_state_machine_as_test(bind(ws_run_context, ws_fuzz_runner), settings=profiles.stateful())
