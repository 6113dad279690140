"""Scenarios running at the same time give the verdicts they give one after another.

The push scenarios are the hard case: a global broadcast, a role push and a push to a user
reach the connections of every scenario in flight. Each push carries the trace of the
scenario that triggered it, and only that scenario judges it (``runner.TraceBook``);
without that, a concurrent run of the clean target fails with frames nobody asked for.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import mutation

pytestmark = pytest.mark.slow

PUSHES = ["-m", "push"]


def run(tmp_path: Path, name: str, *args: str) -> mutation.RunResult:
    workdir = tmp_path / name
    workdir.mkdir()
    return mutation.run_conformance(workdir, *PUSHES, *args)


def test_the_push_scenarios_pass_together_on_the_clean_target(tmp_path: Path) -> None:
    result = run(tmp_path, "clean", "--ws-concurrency=16")
    assert result.code == 0 and result.total >= 8, result.output[-3000:]


@pytest.mark.parametrize("fault", ["duplicate_push", "leak_to_anonymous"])
def test_a_faults_verdicts_are_the_same_serial_and_concurrent(fault: str, tmp_path: Path) -> None:
    switch = f"--ws-env=TARGET_FAULTS={fault}"
    serial = run(tmp_path, "serial", switch, "--ws-concurrency=1")
    together = run(tmp_path, "together", switch, "--ws-concurrency=16")
    assert serial.failed, f"{fault} was not caught serially\n{serial.output[-3000:]}"
    assert sorted(together.failed) == sorted(serial.failed), together.output[-3000:]
