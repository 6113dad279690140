"""Proof that the fuzz and security suite catches the reference target's faults, and that
nothing of the reference service is hard-wired into it.

For each fault in ``faults.yaml``, run ``pytest tests/fuzz -m "(fuzz or security) and not
slow"`` in a subprocess against a target started with ``TARGET_FAULTS=<fault>`` (ci profile,
no cache, a fresh example database), and assert that it exits non-zero and that the listed
test is among the failures (read from ``--junitxml``); the clean run must pass entirely.
Each run is made twice: with the reference protocol, and with every route, message and
field renamed (the target's ``renamed`` dialect, with the contract and config renamed to
match), so the suite can only pass by taking its names from the contract and the config.
This module is ``slow`` and excludes itself from the runs it starts.
"""

from __future__ import annotations

import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from harness.bundled import DEFAULT_CONFIG, DEFAULT_CONTRACT, bundled

HERE = Path(__file__).parent
EXPECTED: dict[str, list[str]] = yaml.safe_load((HERE / "faults.yaml").read_text())
RUN_TIMEOUT = 600  # seconds per subprocess run; the ci profile needs well under a minute

pytestmark = pytest.mark.slow


def _failures(junit: Path) -> set[str]:
    """``file.py::test_name`` of every failed or errored test in a JUnit XML report."""
    failed = set()
    for case in ET.parse(junit).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            module = case.get("classname", "").rsplit(".", 1)[-1]
            failed.add(f"{module}.py::{case.get('name', '').split('[', 1)[0]}")
    return failed


@pytest.fixture(scope="module")
def renamed_config(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Path:
    """The bundled contract and config with every reference name renamed, on disk."""
    from target.dialect import write_renamed

    _, path = write_renamed(
        tmp_path_factory.mktemp("renamed"),
        Path(bundled(DEFAULT_CONTRACT)),
        Path(bundled(DEFAULT_CONFIG)),
        str(request.config.rootpath),
    )
    return path


@pytest.mark.parametrize("fault", sorted(EXPECTED))
@pytest.mark.parametrize("dialect", ["reference", "renamed"])
def test_fuzz_suite_detects_fault(
    dialect: str, fault: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if request.config.getoption("ws_url", None) or request.config.getoption("ws_command", None):
        pytest.skip("faults exist only in the reference target started by the process backend")
    junit = tmp_path / "junit.xml"
    command = [
        sys.executable, "-m", "pytest", str(HERE),
        "-m", "(fuzz or security) and not slow",
        "-p", "no:cacheprovider",
        "-q", "--tb=line",
        "--ws-fuzz-profile", "ci",
        "--ws-fuzz-db", str(tmp_path / "hypothesis-db"),
        "--junitxml", str(junit),
    ]  # fmt: skip
    if fault != "clean":
        command += ["--ws-env", f"TARGET_FAULTS={fault}"]
    if dialect == "renamed":
        command += ["--ws-config", str(request.getfixturevalue("renamed_config"))]
    started = time.monotonic()
    run = subprocess.run(
        command, cwd=request.config.rootpath, capture_output=True, text=True, timeout=RUN_TIMEOUT
    )
    seconds = time.monotonic() - started
    failed = _failures(junit) if junit.exists() else set()
    summary = (
        f"{fault} ({dialect}): exit {run.returncode} in {seconds:.0f}s; "
        f"failed: {sorted(failed) or 'none'}"
    )
    print(summary)
    tail = "\n".join(run.stdout.splitlines()[-30:])
    if fault == "clean":
        assert run.returncode == 0, f"{summary}\n{tail}"
        return
    assert run.returncode != 0, f"{summary}: the suite passed against a faulty target\n{tail}"
    missing = set(EXPECTED[fault]) - failed
    assert not missing, f"{summary}; expected to fail too: {sorted(missing)}\n{tail}"
