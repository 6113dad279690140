"""The fuzz plugin without the fuzz extra: ``-m security`` still runs, ``-m fuzz`` is one
usage error naming the extra (run in a subprocess where ``import hypothesis`` fails)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.bundled import scenarios_dir

REPO = Path(__file__).resolve().parents[2]


def _collect(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``pytest --co`` of the bundled folder where ``import hypothesis`` fails."""
    fake = tmp_path / "hypothesis"
    fake.mkdir(exist_ok=True)
    (fake / "__init__.py").write_text("raise ImportError('hypothesis is not installed here')\n")
    path = os.pathsep.join([str(tmp_path), str(REPO), os.environ.get("PYTHONPATH", "")])
    return subprocess.run(
        [
            sys.executable, "-m", "pytest", str(scenarios_dir()),
            "-p", "no:hypothesispytest", "-p", "no:cacheprovider", "--co", "-q", *args,
        ],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": path},
    )  # fmt: skip


def test_security_runs_without_the_fuzz_extra(tmp_path: Path) -> None:
    done = _collect(tmp_path, "-m", "security")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "test_security.py::test_bad_and_forged_tokens_are_refused" in done.stdout
    assert "test_payloads.py" not in done.stdout


def test_fuzz_without_the_fuzz_extra_is_a_usage_error(tmp_path: Path) -> None:
    done = _collect(tmp_path, "-m", "fuzz")
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout[-2000:]
    assert "pip install 'ws-harness[fuzz]'" in done.stderr
