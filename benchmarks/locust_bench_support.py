"""Shared by the Locust benchmarks: the bare server in its own process, and running a client
role in a fresh interpreter (Locust monkey-patches the standard library with gevent on
import, so the asyncio baseline and our gevent user never share a process)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


@contextmanager
def bare_server(hosts: str = "127.0.0.1", timeout: float = 10.0) -> Iterator[tuple[int, int]]:
    """Start ``locust_bare_server.py`` on ``hosts``; yield (port, pid); stop it afterwards."""
    process = subprocess.Popen(
        [sys.executable, str(HERE / "locust_bare_server.py"), "--hosts", hosts],
        stdout=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + timeout
        line = ""
        while not line.startswith("listening") and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                raise RuntimeError("the bare server exited before listening")
        yield int(line.split()[1]), process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()


def run_role(script: Path, args: list[str], timeout: float) -> dict:
    """Run ``script --role ...`` in a fresh interpreter; its last stdout line is JSON."""
    result = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=timeout,
        cwd=REPO,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def raise_file_limit() -> int:
    """Soft open-file limit up to the hard one (10k connections need 10k descriptors)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard
