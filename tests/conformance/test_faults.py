"""Proof that the conformance suite catches each known fault of the reference target.

For every fault switch in faults.yaml, the bundled scenarios run in a separate pytest
process against a target started with that fault; the run must fail, and exactly the
listed scenarios must be the ones failing. A clean run must pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conformance_support import (
    FAULTS,
    RunsAhead,
    assert_caught,
    matches,
    run_conformance,
    selected_params,
)


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


def fault_run(fault: str) -> list[str]:
    spec = FAULTS[fault]
    extra = ["-k", spec["select"]] if spec.get("select") else []
    return [f"--ws-env=TARGET_FAULTS={fault}", *extra]


@pytest.fixture(scope="module")
def fault_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunsAhead]:
    """Every selected fault's run, started at once (two at a time)."""
    faults = selected_params(request, test_fault_is_caught_by_the_right_scenarios, "fault")
    runs = RunsAhead({f: fault_run(f) for f in faults}, tmp_path_factory.mktemp("faults"))
    yield runs
    runs.close()


@pytest.mark.slow
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_is_caught_by_the_right_scenarios(
    fault: str, tmp_path: Path, fault_runs: RunsAhead
) -> None:
    spec = FAULTS[fault]
    code, output, failed, total = fault_runs.take(fault, tmp_path)
    assert total, f"{fault}: no test ran\n{output[-3000:]}"
    assert_caught(fault, code, output, failed, spec["fail"])
