"""Proof that the conformance suite catches each known fault of the reference target.

For every fault switch in faults.yaml, the bundled scenarios run in a separate pytest
process against a target started with that fault; the run must fail, and exactly the
listed scenarios must be the ones failing. A clean run must pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conformance_support import FAULTS, assert_caught, matches, run_conformance


def test_matches_treats_brackets_literally() -> None:
    assert matches("heartbeat[*]", "heartbeat[permissions-user]")
    assert matches("*[permissions_user-*]", "ping[permissions_user-user]")
    assert not matches("heartbeat[*]", "heartbeat")
    assert not matches("ping[*]", "ping_x[permissions-user]")


@pytest.mark.slow
def test_clean_target_passes(tmp_path: Path) -> None:
    code, output, failed, total = run_conformance(tmp_path)
    assert code == 0, (
        f"the conformance suite fails against the clean target: {failed}\n{output[-3000:]}"
    )
    assert total > 50 and not failed


@pytest.mark.slow
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_is_caught_by_the_right_scenarios(fault: str, tmp_path: Path) -> None:
    spec = FAULTS[fault]
    extra = ["-k", spec["select"]] if spec.get("select") else []
    code, output, failed, total = run_conformance(
        tmp_path, f"--ws-env=TARGET_FAULTS={fault}", *extra
    )
    assert total, f"{fault}: no test ran\n{output[-3000:]}"
    assert_caught(fault, code, output, failed, spec["fail"])
