"""Stateful push test: each connection gets exactly the pushes its identity and
subscriptions entitle it to, in order, and no other (``harness.fuzz.stateful``)."""

from __future__ import annotations

import pytest
from hypothesis.stateful import run_state_machine_as_test

from harness.engine.runner import RunContext
from harness.fuzz import profiles
from harness.fuzz.driver import LoopRunner, known_users
from harness.fuzz.stateful import bind

pytestmark = pytest.mark.fuzz


def test_pushes_reach_exactly_the_entitled_connections(
    ws_run_context: RunContext, ws_fuzz_runner: LoopRunner
) -> None:
    config = ws_run_context.config
    if not ws_run_context.pushes.available:
        pytest.skip(f"needs a push trigger; none is configured in {config.source}")
    if ws_run_context.spec.trace_path is None:
        pytest.skip(f"needs push.trace_field (a trace id in each push) in {config.source}")
    if not known_users(config):
        pytest.skip(f"needs a configured user with user_id and role in {config.source}")
    run_state_machine_as_test(bind(ws_run_context, ws_fuzz_runner), settings=profiles.stateful())
