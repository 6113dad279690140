"""The fuzz driver against the reference target: what one example's verdict may rest on.

A probe unanswered within the reply timeout fails its example; its reply, when it comes
later, must not answer the next example's probe (the bundled liveness reply carries no id,
so nothing else tells the two apart). Before the fix the next example, sent on the same
connection after the late reply had arrived, passed against a server still 2 s late.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from harness.config import load_config
from harness.contract import load_contract
from harness.engine.runner import RunContext
from harness.fuzz.driver import FuzzDriver, FuzzFailure, LoopRunner, fuzz_identity
from harness.fuzz.strategies import MessageStrategies
from harness.targets import TargetOptions, make_target

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def slow_driver() -> Iterator[FuzzDriver]:
    """A driver on the reference target whose heartbeat replies come 2 s late."""
    config, contract = load_config(), load_contract()
    options = TargetOptions(env={"TARGET_FAULTS": "heartbeat_slow"})
    with make_target(options, config, contract) as target:
        ctx = RunContext.create(contract, config, target.info)
        runner = LoopRunner()
        driver = FuzzDriver(ctx, fuzz_identity(ctx), runner)
        try:
            yield driver
        finally:
            driver.close()
            runner.close()


def test_a_late_probe_reply_never_answers_the_next_examples_probe(
    slow_driver: FuzzDriver,
) -> None:
    contract = slow_driver.ctx.contract
    payload = MessageStrategies(contract).classifier.payload(
        {contract.type_field: "connect"}, "valid connect", True
    )
    for example in (1, 2):
        with pytest.raises(FuzzFailure, match="no answer to the liveness probe"):
            slow_driver.verify(payload)
        if example == 1:
            time.sleep(1.5)  # the first probe's reply arrives meanwhile, 2 s after it was sent
