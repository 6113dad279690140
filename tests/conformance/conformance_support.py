"""Running the bundled conformance suite in a child pytest and reading its verdicts.

Shared by the fault proof (test_faults.py) and the renamed-protocol proof
(test_renamed_protocol.py).
"""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from harness.bundled import scenarios_dir

FAULTS = yaml.safe_load((Path(__file__).parent / "faults.yaml").read_text())["faults"]
RUN_TIMEOUT = 300


def run_conformance(tmp_path: Path, *args: str) -> tuple[int, str, list[str], int]:
    """(exit code, output, failed test names, test count) of a conformance run."""
    junit = tmp_path / "junit.xml"
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(scenarios_dir()),
        "-q",
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
        "--ws-ready-timeout=10",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    failed, total = [], 0
    if junit.exists():
        for case in ET.parse(junit).iter("testcase"):
            total += 1
            if case.find("failure") is not None or case.find("error") is not None:
                failed.append(case.get("name", ""))
    return done.returncode, done.stdout + done.stderr, failed, total


def matches(pattern: str, name: str) -> bool:
    """Test-name patterns: only * is a wildcard (names contain [ and ])."""
    return re.fullmatch(".*".join(map(re.escape, pattern.split("*"))), name) is not None


def assert_caught(
    fault: str, code: int, output: str, failed: list[str], patterns: list[str]
) -> None:
    """The run failed, exactly the scenarios ``patterns`` name failed, and said what it must."""
    assert code == 1, f"{fault}: expected a failing run (exit 1), got {code}\n{output[-3000:]}"
    unmatched = [p for p in patterns if not any(matches(p, name) for name in failed)]
    unexpected = [name for name in failed if not any(matches(p, name) for p in patterns)]
    assert not unmatched, f"{fault}: nothing failed for {unmatched}; failed: {sorted(failed)}"
    assert not unexpected, f"{fault}: unrelated scenarios failed: {sorted(unexpected)}"
    message = FAULTS[fault].get("message")
    if message:
        assert message in output, f"{fault}: the output does not say {message!r}"
