"""The docker backend end to end: build, run (host network), handshake, logs, removal."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from websockets.sync.client import connect as ws_connect

from harness.targets._docker_engine import LABEL_HARNESS, LABEL_HOST, LABEL_PID, LABEL_RUN
from harness.targets.base import Target

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _containers_of_run(client: Any, run_id: str) -> list[Any]:
    return client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={run_id}"})


def test_container_serves_the_protocol_and_is_removed(
    docker_client: Any, target_image: str, make_docker_target: Callable[..., Target]
) -> None:
    target = make_docker_target()
    with target:
        info = target.info
        assert info.backend == "docker"
        assert info.host == "127.0.0.1"
        assert "network host" in info.description
        with ws_connect(info.ws_url + "/ws/permissions/anonymous/", open_timeout=5) as ws:
            frame = json.loads(ws.recv(timeout=5))
        assert frame["type"] == "connection_confirmed"
        assert frame["data"]["groups"] == ["anonymous_users"]
        assert info.identity.get("instance_id"), "the identity endpoint was checked"
        assert "target ready" in target.logs()
        (container,) = _containers_of_run(docker_client, target.run_id)  # type: ignore[attr-defined]
        labels = container.labels
        assert labels[LABEL_HARNESS] == "ws-harness"
        assert labels[LABEL_PID].isdigit() and labels[LABEL_HOST]
    assert _containers_of_run(docker_client, target.run_id) == []  # type: ignore[attr-defined]
    assert "target ready" in target.logs(), "the log tail outlives the container"


def test_env_reaches_the_container(
    target_image: str, make_docker_target: Callable[..., Target]
) -> None:
    with make_docker_target(env={"TARGET_FAULTS": "heartbeat_slow"}) as target:
        assert target.info.identity.get("faults") == ["heartbeat_slow"]


def _plugin_has_docker_options() -> bool:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return "--ws-backend" in result.stdout


def test_conformance_suite_passes_on_the_docker_backend(target_image: str) -> None:
    if not _plugin_has_docker_options():
        pytest.skip("the pytest plugin has no --ws-backend option yet")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--pyargs",
            "harness_scenarios",
            "--ws-backend",
            "docker",
            "-p",
            "no:cacheprovider",
            "-rfE",  # not -q: the header line naming the backend proves it ran in docker
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "backend docker" in output, output[:2000]
    assert " passed" in output and " failed" not in output
