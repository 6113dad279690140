"""harness/engine/pool.py and runner.TraceBook: scenarios at the same time, verdicts apart.

The pool runs a stand-in for ``run_scenario`` that records which scenarios are in flight,
so the scheduling rules are checked by the order of events, not by timing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from harness.client import Transcript
from harness.config import Timeouts
from harness.engine import model
from harness.engine.model import Scenario
from harness.engine.pool import ScenarioPool, waits_of
from harness.engine.runner import TraceBook, Verdict
from harness.protocol import Push


def scenario(name: str, alone: bool = False) -> Scenario:
    return Scenario(
        name=name, base=name, description="", file="f.yaml", line=1, steps=(), alone=alone
    )


class Recorder:
    """A stand-in runner: each scenario waits a few loop turns and records who ran with it."""

    def __init__(self, fail: str = "") -> None:
        self.running: set[str] = set()
        self.most = 0
        self.alongside: dict[str, set[str]] = {}
        self.order: list[str] = []  # in the order they started
        self.fail = fail

    async def __call__(self, scenario: Scenario, context: Any) -> Verdict:
        self.running.add(scenario.name)
        self.order.append(scenario.name)
        self.most = max(self.most, len(self.running))
        for _ in range(5):
            self.alongside.setdefault(scenario.name, set()).update(self.running)
            await asyncio.sleep(0)
        self.running.discard(scenario.name)
        if scenario.name == self.fail:
            raise RuntimeError("a harness bug")
        return Verdict("passed", Transcript(), skip_reason=scenario.name)


def run_pool(
    scenarios: list[Scenario],
    concurrency: int,
    recorder: Recorder,
    expected: Callable[[Scenario], float] | None = None,
) -> ScenarioPool:
    pool = ScenarioPool(context=None, concurrency=concurrency, run=recorder)  # type: ignore[arg-type]
    pool.start(scenarios, expected)
    return pool


def finish(pool: ScenarioPool, scenarios: list[Scenario]) -> None:
    try:
        for s in scenarios:
            pool.verdict(s)
    finally:
        pool.stop()


def test_each_scenario_gets_its_own_verdict_in_any_order() -> None:
    scenarios = [scenario(f"s{i}") for i in range(20)]
    pool = run_pool(scenarios, 4, Recorder())
    try:
        for s in reversed(scenarios):
            assert pool.verdict(s).skip_reason == s.name
    finally:
        pool.stop()


def test_no_more_than_the_concurrency_run_at_once_and_more_than_one_do() -> None:
    recorder = Recorder()
    scenarios = [scenario(f"s{i}") for i in range(20)]
    pool = run_pool(scenarios, 3, recorder)
    try:
        for s in scenarios:
            pool.verdict(s)
    finally:
        pool.stop()
    assert recorder.most == 3


def test_an_alone_scenario_never_shares_the_server() -> None:
    recorder = Recorder()
    scenarios = [scenario("a"), scenario("lonely", alone=True), scenario("b"), scenario("c")]
    pool = run_pool(scenarios, 8, recorder)
    try:
        for s in scenarios:
            pool.verdict(s)
    finally:
        pool.stop()
    assert recorder.alongside["lonely"] == {"lonely"}
    assert recorder.alongside["a"] >= {"a", "b", "c"}


def test_the_longest_expected_start_first_and_ties_keep_their_order() -> None:
    recorder = Recorder()
    scenarios = [scenario(name) for name in ("quick", "tie1", "long", "tie2", "middle")]
    expected = {"quick": 0.01, "tie1": 0.5, "long": 2.0, "tie2": 0.5, "middle": 1.0}
    finish(run_pool(scenarios, 1, recorder, lambda s: expected[s.name]), scenarios)
    assert recorder.order == ["long", "middle", "tie1", "tie2", "quick"]


def test_without_expectations_scenarios_start_in_the_given_order() -> None:
    recorder = Recorder()
    scenarios = [scenario(f"s{i}") for i in range(5)]
    finish(run_pool(scenarios, 1, recorder), scenarios)
    assert recorder.order == [s.name for s in scenarios]


def test_a_scenarios_waits_are_its_waits_and_silence_windows() -> None:
    steps = (
        model.Connect(),
        model.Wait(seconds=2.0),
        model.ExpectSilence(),  # the config's window
        model.ExpectNoPush(within=0.25),
        model.Expect(within=5.0),  # a reply ends the wait as soon as it arrives: not counted
    )
    waiting = replace(scenario("w"), steps=steps)
    assert waits_of(waiting, Timeouts(silence=0.5)) == pytest.approx(2.75)
    assert waits_of(scenario("none"), Timeouts()) == 0.0


def test_a_harness_bug_in_one_scenario_is_that_scenarios_error_only() -> None:
    scenarios = [scenario("ok"), scenario("broken")]
    pool = run_pool(scenarios, 2, Recorder(fail="broken"))
    try:
        assert pool.verdict(scenarios[0]).outcome == "passed"
        with pytest.raises(RuntimeError, match="a harness bug"):
            pool.verdict(scenarios[1])
    finally:
        pool.stop()


def test_stop_ends_scenarios_still_waiting() -> None:
    async def forever(scenario: Scenario, context: Any) -> Verdict:
        await asyncio.sleep(3600)
        raise AssertionError("never")

    pool = ScenarioPool(context=None, concurrency=2, run=forever)  # type: ignore[arg-type]
    pool.start([scenario("x"), scenario("y")])
    pool.stop()
    assert pool._thread is not None and not pool._thread.is_alive()


def test_scenarios_not_started_by_the_pool_are_not_in_it() -> None:
    pool = run_pool([scenario("in")], 2, Recorder())
    try:
        assert scenario("in") not in pool  # another object with the same name
    finally:
        pool.stop()


def test_concurrency_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        ScenarioPool(context=None, concurrency=0)  # type: ignore[arg-type]


# -- TraceBook ------------------------------------------------------------------------------


def push(trace: Any) -> Push:
    return Push(trace=trace)


def test_a_push_traced_by_another_scenario_belongs_elsewhere() -> None:
    book = TraceBook()
    mine, theirs = book.issue(1), book.issue(2)
    elsewhere = book.elsewhere(1)
    assert not elsewhere(push(mine))
    assert elsewhere(push(theirs))


def test_untraced_and_unknown_pushes_are_judged_here() -> None:
    """A push with no trace, or one the harness never issued, is the server's doing."""
    book = TraceBook()
    book.issue(2)
    elsewhere = book.elsewhere(1)
    assert not elsewhere(push(None))
    assert not elsewhere(push("never-issued"))
    assert not elsewhere(push(uuid.uuid4().hex))  # an app's own trace id


def test_a_push_traced_by_another_harness_run_belongs_elsewhere() -> None:
    """xdist workers on one Redis, or two CI jobs on one server: the other run's pushes."""
    here, there = TraceBook(), TraceBook()
    theirs = there.issue(1)
    assert here.elsewhere(1)(push(theirs)) and here.another_runs(theirs)
    mine = here.issue(1)
    assert not here.elsewhere(1)(push(mine)) and not here.another_runs(mine)
    assert len(mine) == 32 and int(mine, 16) >= 0  # a UUID's hex digits, for strict fields
