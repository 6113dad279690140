"""A container that exits at start fails at once, with its exit code and log tail."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from harness.errors import TargetExitedError
from harness.targets._docker_engine import LABEL_RUN
from harness.targets.base import Target

pytestmark = [pytest.mark.docker, pytest.mark.slow]

READY_TIMEOUT = 60.0  # far above what a fail-fast start may take
FAIL_FAST = 5.0  # container create + start + the server's own exit, with room for a slow CI


def _start_expecting_exit(target: Target) -> tuple[TargetExitedError, float]:
    started = time.monotonic()
    with pytest.raises(TargetExitedError) as caught, target:
        pass
    return caught.value, time.monotonic() - started


def test_unknown_fault_exits_2_with_log_tail(
    docker_client: Any, target_image: str, make_docker_target: Callable[..., Target]
) -> None:
    target = make_docker_target(env={"TARGET_FAULTS": "no_such_fault"}, ready_timeout=READY_TIMEOUT)
    error, elapsed = _start_expecting_exit(target)
    assert elapsed < FAIL_FAST, f"took {elapsed:.1f}s: readiness waited on an exited container"
    assert "exit code 2" in str(error)
    assert "no_such_fault" in error.log_tail
    assert (
        docker_client.containers.list(
            all=True,
            filters={"label": f"{LABEL_RUN}={target.run_id}"},  # type: ignore[attr-defined]
        )
        == []
    ), "a failed start leaves no container behind"


def test_bad_command_exit_code_and_output(
    target_image: str, make_docker_target: Callable[..., Target]
) -> None:
    command = "{python} -c \"import sys; print('boom on port {port}'); sys.exit(3)\""
    target = make_docker_target(command=command, ready_timeout=READY_TIMEOUT)
    error, elapsed = _start_expecting_exit(target)
    assert elapsed < FAIL_FAST
    assert "exit code 3" in str(error)
    assert "boom on port" in error.log_tail
