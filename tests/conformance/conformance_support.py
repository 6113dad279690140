"""Running the bundled conformance suite in a child pytest and reading its verdicts.

Shared by the fault proof (test_faults.py) and the renamed-protocol proof
(test_renamed_protocol.py). The run, the pattern matching, the catalogue and the verdict
are ``harness.mutation``'s (the same ones ``python -m harness.mutation`` scores with), so
the proofs and the score cannot disagree on what "caught" means.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from harness import mutation
from harness.mutation import RunResult, matches, read_junit

CATALOGUE = mutation.load_catalogue(Path(__file__).parent / "faults.yaml")
FAULTS = {name: spec.as_dict() for name, spec in CATALOGUE.faults.items()}
RUN_TIMEOUT = mutation.RUN_TIMEOUT

__all__ = [
    "CATALOGUE",
    "FAULTS",
    "RunResult",
    "RunsAhead",
    "assert_caught",
    "fault_switch",
    "matches",
    "read_junit",
    "run_conformance",
    "selected_items",
    "selected_params",
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


class RunsAhead:
    """Child conformance runs started together, two at a time, each collected by its test.

    The proofs are one pytest item per fault (a verdict each, ``-k`` works), but a run mostly
    waits on its server; starting them all ahead on two workers halves the wall time.
    """

    def __init__(self, runs: Mapping[str, Sequence[str]], root: Path, workers: int = 2) -> None:
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="conformance-run")
        self._runs: dict[str, Future[RunResult]] = {}
        self._root = root
        for key, args in runs.items():
            (root / key).mkdir(parents=True)
            self._runs[key] = self._executor.submit(run_conformance, root / key, *args)

    def take(self, key: str, tmp_path: Path) -> RunResult:
        """``key``'s result; its JUnit XML is copied into the test's own ``tmp_path``."""
        result = self._runs[key].result()
        junit = self._root / key / "junit.xml"
        if junit.exists():
            shutil.copy(junit, tmp_path / "junit.xml")
        return result

    def close(self) -> None:
        for future in self._runs.values():
            future.cancel()
        self._executor.shutdown(wait=True)


def selected_items(request: pytest.FixtureRequest, test: Callable[..., Any]) -> list[Any]:
    """The items of the test function ``test`` that this session will run."""
    return [item for item in request.session.items if getattr(item, "function", None) is test]


def selected_params(
    request: pytest.FixtureRequest, test: Callable[..., Any], name: str
) -> list[Any]:
    """The values of parameter ``name`` of the items of ``test`` this session will run."""
    return [item.callspec.params[name] for item in selected_items(request, test)]
