"""Running the bundled conformance suite in a child pytest and reading its verdicts.

Shared by the fault proof (test_faults.py) and the renamed-protocol proof
(test_renamed_protocol.py). The run, the pattern matching, the catalogue and the verdict
are ``harness.mutation``'s (the same ones ``python -m harness.mutation`` scores with), so
the proofs and the score cannot disagree on what "caught" means.
"""

from __future__ import annotations

from pathlib import Path

from harness import mutation
from harness.mutation import RunResult, matches, read_junit

CATALOGUE = mutation.load_catalogue(Path(__file__).parent / "faults.yaml")
FAULTS = {name: spec.as_dict() for name, spec in CATALOGUE.faults.items()}
RUN_TIMEOUT = mutation.RUN_TIMEOUT

__all__ = [
    "CATALOGUE",
    "FAULTS",
    "RunResult",
    "assert_caught",
    "fault_switch",
    "matches",
    "read_junit",
    "run_conformance",
]


def run_conformance(tmp_path: Path, *args: str) -> RunResult:
    """(exit code, output, failed test names, test count) of a conformance run."""
    return mutation.run_conformance(tmp_path, *args, timeout=RUN_TIMEOUT)


def fault_switch(fault: str) -> str:
    """``--ws-env=...`` switching ``fault`` on, from the catalogue's ``switch:``."""
    assert CATALOGUE.switch is not None, f"{CATALOGUE.source} declares no switch"
    return f"--ws-env={mutation.switch_for(CATALOGUE.switch, fault)}"


def assert_caught(
    fault: str, code: int, output: str, failed: list[str], patterns: list[str]
) -> None:
    """The run failed, exactly the scenarios ``patterns`` name failed, and said what it must."""
    result = RunResult(code, output, failed, len(failed))  # the callers check the count
    verdict = mutation.judge(fault, patterns, result, FAULTS[fault].get("message"))
    assert verdict.caught, mutation.explain(verdict)
