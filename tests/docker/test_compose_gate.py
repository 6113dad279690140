"""docker-compose.test.yml gates on the result: the target, redis, a headless Locust run with
thresholds and the conformance suite, with compose v1 (``docker-compose``) as installed here.

Without a registry, the base and redis images are the locally built base image
(scripts/build-base-image.sh); set WS_HARNESS_COMPOSE_BASE_IMAGE to use another.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.test.yml"
LOCAL_BASE = "ws-harness/python-base:bookworm"


def compose(*args: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail(
            "docker-compose is not installed: scripts/start-dockerd.sh installs it", pytrace=False
        )
    return subprocess.run(
        [binary, "-f", str(COMPOSE_FILE), "-p", "wsharnessgate", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_gate(faults: str) -> tuple[int, str]:
    base = os.environ.get("WS_HARNESS_COMPOSE_BASE_IMAGE", LOCAL_BASE)
    env = {**os.environ, "BASE_IMAGE": base, "REDIS_IMAGE": base, "TARGET_FAULTS": faults}
    try:
        # `up --build` keeps the intermediate container of a failed build step; build first
        # with --force-rm so a broken image leaves nothing behind.
        built = compose("build", "--force-rm", env=env, timeout=900)
        if built.returncode != 0:
            return built.returncode, built.stdout + built.stderr
        done = compose("up", "--exit-code-from", "tests", env=env, timeout=900)
    finally:
        compose("down", "-v", env=env, timeout=120)
    return done.returncode, done.stdout + done.stderr


def test_compose_gate_passes_on_the_reference_target(docker_client: Any) -> None:
    code, output = run_gate("")
    assert code == 0, f"the compose gate failed (exit {code}):\n{output[-4000:]}"
    assert "passed" in output and "0 failing" in output


def test_compose_gate_fails_when_the_target_is_faulty(docker_client: Any) -> None:
    code, output = run_gate("wrong_request_id")
    assert code != 0, f"the compose gate passed a faulty target:\n{output[-3000:]}"
    assert "permission_check_held" in output
