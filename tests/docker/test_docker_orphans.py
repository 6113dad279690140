"""Nothing left behind: a SIGKILLed owner's container is removed by the next run or by clean."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main as cli_main
from harness.targets._docker_engine import LABEL_RUN, Owner
from harness.targets.base import Target

pytestmark = [pytest.mark.docker, pytest.mark.slow]

HOLDER = textwrap.dedent(
    """
    import sys, time
    from harness.config import load_config
    from harness.contract import load_contract
    from harness.targets import TargetOptions, make_target

    config = load_config()
    target = make_target(TargetOptions(backend="docker"), config, load_contract(config.contract))
    target.start()
    print(target.run_id, flush=True)
    time.sleep(600)
    """
)


def _exists(client: Any, run_id: str) -> bool:
    return bool(client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={run_id}"}))


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_sigkilled_owner_container_is_reaped_by_the_next_run(
    docker_client: Any, target_image: str, tmp_path: Path, make_docker_target: Callable[..., Target]
) -> None:
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    holder = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        run_id = holder.stdout.readline().strip()
        assert run_id, holder.stderr.read() if holder.stderr else "no output"
    finally:
        os.kill(holder.pid, signal.SIGKILL)  # no teardown can run
        holder.wait()
    assert _exists(docker_client, run_id), "the killed owner's container is still there"

    with make_docker_target():  # the next run
        assert not _exists(docker_client, run_id), "the next run removed the orphan"


def test_clean_removes_orphans_and_keeps_live_runs(
    docker_client: Any, target_image: str, capsys: pytest.CaptureFixture[str]
) -> None:
    owner = Owner.current()
    dead = Owner(pid=_dead_pid(), started=owner.started, host=owner.host)
    suffix = str(int(time.time() * 1000))
    orphan = docker_client.containers.run(
        target_image,
        ["sleep", "120"],
        detach=True,
        network_mode="host",
        labels=dead.labels(f"orphan-{suffix}"),
        name=f"ws-harness-test-orphan-{suffix}",
    )
    live = docker_client.containers.run(
        target_image,
        ["sleep", "120"],
        detach=True,
        network_mode="host",
        labels=owner.labels(f"live-{suffix}"),
        name=f"ws-harness-test-live-{suffix}",
    )
    try:
        assert cli_main(["clean"]) == 0
        out = capsys.readouterr().out
        assert f"removed {orphan.name}" in out and "is gone" in out
        assert not _exists(docker_client, f"orphan-{suffix}")
        assert _exists(docker_client, f"live-{suffix}"), "a live run's container is kept"
        assert cli_main(["clean", "--all", "--dry-run"]) == 0
        assert f"would remove {live.name}" in capsys.readouterr().out
        assert _exists(docker_client, f"live-{suffix}")
    finally:
        for container in (orphan, live):
            with contextlib.suppress(Exception):
                container.remove(force=True)
