"""Engine detection and orphan rules: fast, and they need no engine."""

from __future__ import annotations

import pytest

from harness.config import load_config
from harness.contract import load_contract
from harness.errors import EngineUnavailableError
from harness.targets import TargetOptions, readiness_probe, resolve_backend
from harness.targets._docker_engine import (
    LABEL_HOST,
    LABEL_PID,
    LABEL_STARTED,
    Owner,
    engine_problem,
    orphan_reason,
)
from harness.targets.docker import DockerTarget

NOWHERE = "unix:///nonexistent/ws-harness-test.sock"


def test_engine_problem_is_one_line_naming_where_and_how() -> None:
    problem = engine_problem({"DOCKER_HOST": NOWHERE})
    assert problem is not None
    assert "\n" not in problem
    assert f"not reachable at {NOWHERE}" in problem
    assert "start-dockerd.sh" in problem and "--ws-backend process" in problem


def test_docker_backend_without_engine_fails_with_that_line() -> None:
    config = load_config()
    probe = readiness_probe(config, load_contract(config.contract))
    target = DockerTarget(
        options=TargetOptions(backend="docker"),
        config=config,
        probe=probe,
        environ={"DOCKER_HOST": NOWHERE},
    )
    with pytest.raises(EngineUnavailableError) as caught, target:
        pass
    assert "\n" not in str(caught.value)
    assert f"not reachable at {NOWHERE}" in str(caught.value)


def test_auto_falls_back_to_process_without_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", NOWHERE)
    assert resolve_backend(TargetOptions(backend="auto")) == "process"


def _labels(pid: int, started: float, host: str = "here") -> dict[str, str]:
    return {LABEL_PID: str(pid), LABEL_STARTED: f"{started:.2f}", LABEL_HOST: host}


def test_orphan_rules() -> None:
    def alive(started: float) -> object:
        return lambda pid: started

    assert orphan_reason(_labels(10, 100.0), "here", lambda pid: None) == "owner pid 10 is gone"
    assert orphan_reason(_labels(10, 100.0), "here", alive(100.0)) is None
    reused = orphan_reason(_labels(10, 100.0), "here", alive(500.0))
    assert reused is not None and "newer process" in reused
    assert orphan_reason(_labels(10, 100.0, host="elsewhere"), "here", lambda pid: None) is None
    assert orphan_reason({}, "here", lambda pid: None) is None  # not ours to judge
    assert orphan_reason(_labels(10, 100.0), "here", lambda pid: -1.0) is None  # alive, not ours


def test_owner_labels_name_the_harness_and_run() -> None:
    labels = Owner(pid=42, started=1.5, host="h").labels("run1")
    assert labels["org.ws-harness.harness"] == "ws-harness"
    assert labels["org.ws-harness.run-id"] == "run1"
    assert labels[LABEL_PID] == "42" and labels[LABEL_HOST] == "h"
