"""Proof that the shipped fuzz and security suite (``harness_scenarios/fuzz``) catches the
reference target's faults, and that nothing of the reference service is hard-wired into it.

For each fault in ``faults.yaml``, run the suite's listed tests in a subprocess against a
target started with ``TARGET_FAULTS=<fault>`` (ci profile, no cache, a fresh example
database), and assert that the run exits non-zero and that every listed test is among the
failures (read from ``--junitxml``). The clean run is the whole suite, selected the way a
user selects it (``-m "fuzz or security"`` from the bundled folder), and must pass entirely.
Each run is made twice: with the reference protocol, and with every route, message and
field renamed (the target's ``renamed`` dialect, with the contract and config renamed to
match), so the suite can only pass by taking its names from the contract and the config.

A fault run selects only the tests the fault must fail (the assertion never looked at the
others), and the runs go through a pool of ``POOL`` subprocesses: the child runs spend most
of their time waiting for the server, so two at a time roughly halve the wall time on two
cores without any run seeing another's server (each starts its own on a free port).
This module is ``slow``.
"""

from __future__ import annotations

import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from harness.bundled import DEFAULT_CONFIG, DEFAULT_CONTRACT, bundled, scenarios_dir
from harness.fuzz.plugin import suite_dir

HERE = Path(__file__).parent
EXPECTED: dict[str, list[str]] = yaml.safe_load((HERE / "faults.yaml").read_text())
DIALECTS = ("reference", "renamed")
RUN_TIMEOUT = 600  # seconds per subprocess run; the ci profile needs well under a minute
POOL = 2  # child runs at a time (the machine has two cores)

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class ChildRun:
    """What one child pytest run did."""

    returncode: int
    failed: frozenset[str]
    seconds: float
    output: str

    @property
    def tail(self) -> str:
        return "\n".join(self.output.splitlines()[-30:])


def _failures(junit: Path) -> frozenset[str]:
    """``file.py::test_name`` of every failed or errored test in a JUnit XML report."""
    failed = set()
    for case in ET.parse(junit).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            module = case.get("classname", "").rsplit(".", 1)[-1]
            failed.add(f"{module}.py::{case.get('name', '').split('[', 1)[0]}")
    return frozenset(failed)


def _selection(fault: str) -> list[str]:
    """The clean run: the whole shipped suite, as a user selects it. A fault run: the tests
    that fault must fail, by node id in the shipped suite."""
    if fault == "clean":
        return [str(scenarios_dir()), "-m", "(fuzz or security) and not conformance"]
    return [str(suite_dir() / test) for test in EXPECTED[fault]]


def _run(fault: str, config: Path | None, folder: Path, cwd: Path) -> ChildRun:
    junit = folder / "junit.xml"
    command = [
        sys.executable, "-m", "pytest", *_selection(fault),
        "-p", "no:cacheprovider",
        "-q", "--tb=line",
        "--ws-fuzz-profile", "ci",
        "--ws-fuzz-db", str(folder / "hypothesis-db"),
        "--ws-fuzz-deviations", str(HERE / "deviations.yaml"),
        "--junitxml", str(junit),
    ]  # fmt: skip
    if fault != "clean":
        command += ["--ws-env", f"TARGET_FAULTS={fault}"]
    if config is not None:
        command += ["--ws-config", str(config)]
    started = time.monotonic()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    return ChildRun(
        done.returncode,
        _failures(junit) if junit.exists() else frozenset(),
        time.monotonic() - started,
        done.stdout + done.stderr,
    )


def _wanted(session: pytest.Session) -> list[tuple[str, str]]:
    """The (dialect, fault) pairs this session will run (``-k`` may pick a few)."""
    return [
        (item.callspec.params["dialect"], item.callspec.params["fault"])
        for item in session.items
        if getattr(item, "originalname", None) == "test_fuzz_suite_detects_fault"
    ]


@pytest.fixture(scope="module")
def child_runs(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[dict[tuple[str, str], Future[ChildRun]]]:
    """Every selected child run, submitted at once to a pool of ``POOL``; each test waits
    for its own."""
    from target.dialect import write_renamed

    root = request.config.rootpath
    _, renamed = write_renamed(
        tmp_path_factory.mktemp("renamed"),
        Path(bundled(DEFAULT_CONTRACT)),
        Path(bundled(DEFAULT_CONFIG)),
        str(root),
    )
    configs = {"reference": None, "renamed": renamed}
    pool = ThreadPoolExecutor(max_workers=POOL, thread_name_prefix="fuzz-fault")
    runs = {
        (dialect, fault): pool.submit(
            _run, fault, configs[dialect], tmp_path_factory.mktemp(f"{dialect}-{fault}"), root
        )
        for dialect, fault in _wanted(request.session)
    }
    yield runs
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize("fault", sorted(EXPECTED))
@pytest.mark.parametrize("dialect", DIALECTS)
def test_fuzz_suite_detects_fault(
    dialect: str,
    fault: str,
    request: pytest.FixtureRequest,
) -> None:
    if request.config.getoption("ws_url", None) or request.config.getoption("ws_command", None):
        pytest.skip("faults exist only in the reference target started by the process backend")
    run = request.getfixturevalue("child_runs")[(dialect, fault)].result(timeout=RUN_TIMEOUT * 4)
    summary = (
        f"{fault} ({dialect}): exit {run.returncode} in {run.seconds:.0f}s; "
        f"failed: {sorted(run.failed) or 'none'}"
    )
    print(summary)
    if fault == "clean":
        assert run.returncode == 0, f"{summary}\n{run.tail}"
        # The run's summary gives every fuzz test's rate (issue 15).
        assert "ws-harness fuzz rate" in run.output, run.tail
        assert run.output.count(" examples/s ") == 3 and " steps/s " in run.output, run.tail
        return
    assert run.returncode != 0, f"{summary}: the suite passed against a faulty target\n{run.tail}"
    missing = set(EXPECTED[fault]) - run.failed
    assert not missing, f"{summary}; expected to fail too: {sorted(missing)}\n{run.tail}"


def test_every_listed_test_exists_in_the_shipped_suite() -> None:
    """A typo in faults.yaml would make a fault run select nothing (and exit 4 or 5, which
    counts as "failed"): every listed test must be a test function of the shipped suite."""
    for fault, tests in EXPECTED.items():
        for test in tests:
            module, _, name = test.partition("::")
            source = suite_dir() / module
            assert source.is_file(), f"faults.yaml {fault}: no module {source}"
            assert f"def {name}(" in source.read_text(), f"faults.yaml {fault}: no {test}"
