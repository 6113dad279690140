"""The mutation score of a fault catalogue: does the conformance suite catch every fault?

A *fault catalogue* (YAML) lists the fault switches of a target and, for each, the
scenarios that must fail when it is on::

    switch: "MY_FAULTS={fault}"     # how to switch one fault on: server environment
    faults:
      heartbeat_silent:
        fail: ["request_reply[heartbeat-*]", "at_size_limit[*]"]   # test-name patterns
        select: "request_reply"     # optional -k for the run (faults that slow every test)
        message: "no first frame"   # optional text the run's output must contain

For each fault the bundled conformance suite runs once, in a child pytest against a
target started with the switch in its environment (``--ws-env``), and its JUnit XML is read
back. A fault is *caught* when the run failed and exactly the scenarios its patterns name
failed: every pattern matched a failed test, and no other test failed. ::

    python -m harness.mutation [--catalogue FILE] [--workers 2] [-k 'heartbeat_*,no_*']
                               [--switch 'MY_FAULTS={fault}'] [--ws-config FILE] [-- PYTEST ARGS]

prints one line per fault (caught or not, and the scenarios that caught it), then
``score: caught/total (percent)``; the exit status is 0 only when every fault is caught
(1 otherwise, 2 for a usage or catalogue error). Nothing of any one service is written
here: the switch comes from the catalogue or ``--switch``.

The test suite's fault proofs (``tests/conformance``) use the same functions, so the
verdict is decided in one place: :func:`judge`.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from harness.bundled import scenarios_dir
from harness.errors import ConfigError
from harness.yamlfile import line_of, load_yaml

DEFAULT_CATALOGUE = Path("tests/conformance/faults.yaml")
RUN_TIMEOUT = 300.0  # seconds for one conformance run
READY_TIMEOUT = 10  # --ws-ready-timeout of each run
FAULT_SLOT = "{fault}"


class CatalogueError(ConfigError):
    """The fault catalogue cannot be read or does not have the documented shape."""


# ------------------------------------------------------------------------------ catalogue
@dataclass(frozen=True)
class FaultSpec:
    """What one fault must do to the conformance suite."""

    name: str
    fail: tuple[str, ...]  # test-name patterns that must (all, and only they) fail
    select: str | None = None  # -k expression for the run
    message: str | None = None  # text the run's output must contain

    def as_dict(self) -> dict[str, Any]:
        """The entry as the catalogue file writes it (``select``/``message`` None when absent)."""
        return {"fail": list(self.fail), "select": self.select, "message": self.message}


@dataclass(frozen=True)
class Catalogue:
    source: Path
    faults: Mapping[str, FaultSpec]
    switch: str | None = None  # "NAME=...{fault}...": the server environment of one fault

    def selected(self, patterns: Sequence[str] = ()) -> list[FaultSpec]:
        """The faults whose names match one of ``patterns`` (globs; all faults when empty)."""
        if not patterns:
            return list(self.faults.values())
        chosen = [
            spec
            for name, spec in self.faults.items()
            if any(fnmatch.fnmatchcase(name, p) for p in patterns)
        ]
        if not chosen:
            raise CatalogueError(
                f"-k {','.join(patterns)}: no fault of {self.source} matches; "
                f"faults: {', '.join(self.faults)}"
            )
        return chosen


def load_catalogue(path: str | Path) -> Catalogue:
    """Read and check a catalogue file; every problem is one line naming the file and line."""
    path = Path(path)
    document = load_yaml(path, CatalogueError)
    if not isinstance(document, Mapping) or not isinstance(document.get("faults"), Mapping):
        raise CatalogueError(
            f"{path}: a fault catalogue is a mapping with a 'faults:' mapping of fault name "
            "-> {fail: [test-name patterns]}"
        )
    switch = document.get("switch")
    if switch is not None:
        switch = check_switch(switch, f"{path}:{line_of(document)}: switch")
    faults = {}
    for name, entry in document["faults"].items():
        where = f"{path}:{line_of(entry, line_of(document['faults']))}: fault {name!r}"
        if not isinstance(entry, Mapping):
            raise CatalogueError(f"{where}: expected a mapping with 'fail:', got {entry!r}")
        unknown = sorted(set(entry) - {"fail", "select", "message"})
        if unknown:
            raise CatalogueError(
                f"{where}: unknown key(s) {', '.join(unknown)}; allowed: fail, select, message"
            )
        fail = entry.get("fail")
        if (
            not isinstance(fail, list)
            or not fail
            or not all(isinstance(p, str) and p for p in fail)
        ):
            raise CatalogueError(
                f"{where}: 'fail' must be a non-empty list of test-name patterns "
                '(only * is a wildcard), e.g. fail: ["request_reply[*]"]'
            )
        for key in ("select", "message"):
            if entry.get(key) is not None and not isinstance(entry[key], str):
                raise CatalogueError(f"{where}: '{key}' must be a string, got {entry[key]!r}")
        faults[str(name)] = FaultSpec(
            str(name), tuple(fail), entry.get("select"), entry.get("message")
        )
    if not faults:
        raise CatalogueError(f"{path}: the catalogue lists no faults under 'faults:'")
    return Catalogue(source=path, faults=faults, switch=switch)


def check_switch(switch: Any, where: str) -> str:
    """A switch template: ``NAME=VALUE`` with ``{fault}`` in the value."""
    if (
        not isinstance(switch, str)
        or "=" not in switch
        or not switch.split("=", 1)[0].strip()
        or FAULT_SLOT not in switch.split("=", 1)[1]
    ):
        raise CatalogueError(
            f"{where}: {switch!r} is not a switch; write the server environment that turns "
            f"one fault on, with {FAULT_SLOT} where its name goes, e.g. 'MY_FAULTS={FAULT_SLOT}'"
        )
    return switch


def switch_for(template: str, fault: str) -> str:
    """The ``NAME=VALUE`` environment assignment that switches ``fault`` on."""
    return template.replace(FAULT_SLOT, fault)


# ------------------------------------------------------------------------------ one run
class RunResult(NamedTuple):
    """What one conformance run did: exit code, output, failed test names, test count."""

    code: int
    output: str
    failed: list[str]
    total: int


def read_junit(path: Path) -> tuple[list[str], int]:
    """(names of the failed or erroring tests, number of tests) of a JUnit XML file."""
    failed, total = [], 0
    if not path.exists():
        return failed, total
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return failed, total
    for case in root.iter("testcase"):
        total += 1
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(case.get("name", ""))
    return failed, total


def conformance_command(junit: Path, *args: str) -> list[str]:
    """The child pytest that runs the bundled conformance suite, writing ``junit``."""
    return [
        sys.executable,
        "-m",
        "pytest",
        str(scenarios_dir()),
        "-q",
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
        f"--ws-ready-timeout={READY_TIMEOUT}",
        *args,
    ]


def run_conformance(workdir: Path, *args: str, timeout: float = RUN_TIMEOUT) -> RunResult:
    """Run the bundled conformance suite once (``args`` go to pytest); JUnit XML in ``workdir``."""
    junit = Path(workdir) / "junit.xml"
    try:
        done = subprocess.run(
            conformance_command(junit, *args),
            capture_output=True,
            text=True,
            timeout=timeout,
            # The environment as a list built here: runs start from worker threads, and an exec
            # reading the C environ while another thread sets a variable fails with EFAULT
            # ("[Errno 14] Bad address", seen once in CI).
            env=dict(os.environ),
        )
    except subprocess.TimeoutExpired as exc:
        output = _text(exc.stdout) + _text(exc.stderr)
        return RunResult(-1, f"{output}\n(the run took longer than {timeout:.0f}s)", [], 0)
    failed, total = read_junit(junit)
    return RunResult(done.returncode, done.stdout + done.stderr, failed, total)


def fault_args(spec: FaultSpec, switch: str, extra: Sequence[str] = ()) -> list[str]:
    """The pytest arguments of the run for one fault."""
    args = [f"--ws-env={switch_for(switch, spec.name)}", *extra]
    if spec.select:
        args += ["-k", spec.select]
    return args


# ------------------------------------------------------------------------------ verdict
def matches(pattern: str, name: str) -> bool:
    """Test-name patterns: only * is a wildcard (names contain [ and ])."""
    return re.fullmatch(".*".join(map(re.escape, pattern.split("*"))), name) is not None


@dataclass(frozen=True)
class Verdict:
    """Whether one fault was caught, by which tests, and if not, why not."""

    fault: str
    caught: bool
    caught_by: tuple[str, ...] = ()  # the failed tests the fault's patterns account for
    problems: tuple[str, ...] = ()  # why it does not count as caught
    seconds: float = 0.0
    output: str = field(default="", repr=False, compare=False)


def judge(
    fault: str,
    patterns: Sequence[str],
    result: RunResult,
    message: str | None = None,
    seconds: float = 0.0,
) -> Verdict:
    """The one verdict: the run failed (exit 1), every pattern matched a failed test, no
    other test failed, and the output says ``message`` when the catalogue asks for it."""
    code, output, failed, total = result
    problems = []
    if code != 1:
        problems.append(
            "the run passed (no scenario failed)"
            if code == 0
            else f"the run did not complete: pytest exit code {code}, expected 1 (tests failed)"
        )
    if not total and not failed:
        problems.append("no test ran")
    unmatched = [p for p in patterns if not any(matches(p, name) for name in failed)]
    unexpected = [name for name in failed if not any(matches(p, name) for p in patterns)]
    if unmatched:
        problems.append(f"nothing failed for {unmatched}")
    if unexpected:
        problems.append(f"unrelated scenarios failed: {sorted(unexpected)}")
    if message and message not in output:
        problems.append(f"the output does not say {message!r}")
    caught_by = tuple(name for name in failed if name not in unexpected)
    return Verdict(fault, not problems, caught_by, tuple(problems), seconds, output)


def explain(verdict: Verdict) -> str:
    """Why a verdict is not "caught", with the end of the run's output."""
    return f"{verdict.fault}: {'; '.join(verdict.problems)}\n{verdict.output[-3000:]}"


def scenarios_of(tests: Iterable[str], limit: int = 8) -> str:
    """``request_reply[ping-a]``, ``request_reply[ping-b]``, ``subscribe`` ->
    ``request_reply (2), subscribe``: the scenarios behind test names, with case counts;
    past ``limit`` scenarios, how many more and how many tests in all."""
    counts: dict[str, int] = {}
    for test in tests:
        scenario = test.split("[", 1)[0]
        counts[scenario] = counts.get(scenario, 0) + 1
    shown = [f"{s} ({n})" if n > 1 else s for s, n in counts.items()]
    if len(shown) <= limit:
        return ", ".join(shown)
    more = len(shown) - limit
    return f"{', '.join(shown[:limit])} and {more} more scenarios ({sum(counts.values())} tests)"


def percent(caught: int, total: int) -> str:
    """``"100%"``, ``"92.5%"``: the share of faults caught."""
    value = 100.0 * caught / total if total else 0.0
    return f"{value:.0f}%" if value == int(value) else f"{value:.1f}%"


def score_line(caught: int, total: int) -> str:
    """``"40/40 (100%)"``."""
    return f"{caught}/{total} ({percent(caught, total)})"


def render(verdicts: Sequence[Verdict]) -> list[str]:
    """The table (fault, caught?, the scenarios that caught it or why not) and the score."""
    width = max((len(v.fault) for v in verdicts), default=5)
    lines = [f"{'fault':<{width}}  caught  by"]
    for verdict in sorted(verdicts, key=lambda v: v.fault):
        detail = scenarios_of(verdict.caught_by) if verdict.caught else "; ".join(verdict.problems)
        mark = "yes" if verdict.caught else "NO"
        lines.append(f"{verdict.fault:<{width}}  {mark:<6}  {detail}")
    caught = sum(v.caught for v in verdicts)
    lines.append(f"score: {score_line(caught, len(verdicts))}")
    return lines


def summary(label: str, results: Mapping[str, tuple[bool, str]]) -> list[str]:
    """A test session's summary: ``"<label>: 40/40 caught (100%)"``, then one line per fault
    with the scenarios that caught it (``results``: fault -> (caught, scenarios))."""
    caught = sum(ok for ok, _ in results.values())
    lines = [f"{label}: {caught}/{len(results)} caught ({percent(caught, len(results))})"]
    width = max((len(name) for name in results), default=0)
    for name, (ok, by) in sorted(results.items()):
        lines.append(f"  {name:<{width}}  {by if ok else 'NOT CAUGHT (see its failure above)'}")
    return lines


# ------------------------------------------------------------------------------ the catalogue
def run_fault(
    spec: FaultSpec, switch: str, extra: Sequence[str] = (), timeout: float = RUN_TIMEOUT
) -> Verdict:
    """Run the suite with ``spec``'s fault switched on and judge it."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"ws-harness-mutation-{spec.name}-") as workdir:
        result = run_conformance(Path(workdir), *fault_args(spec, switch, extra), timeout=timeout)
    return judge(spec.name, spec.fail, result, spec.message, time.monotonic() - started)


def run_catalogue(
    specs: Sequence[FaultSpec],
    switch: str,
    extra: Sequence[str] = (),
    workers: int = 2,
    timeout: float = RUN_TIMEOUT,
    progress: Callable[[Verdict, int, int], None] | None = None,
) -> list[Verdict]:
    """Every fault's verdict; ``workers`` conformance runs at a time."""
    verdicts = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(run_fault, spec, switch, extra, timeout) for spec in specs]
        for done, future in enumerate(as_completed(futures), 1):
            verdict = future.result()
            verdicts.append(verdict)
            if progress is not None:
                progress(verdict, done, len(specs))
    return verdicts


# ------------------------------------------------------------------------------ command line
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m harness.mutation",
        description="Run the conformance suite once per fault of a catalogue and print the "
        "catalogue's score (caught / total). Arguments after -- go to every pytest run.",
    )
    parser.add_argument(
        "--catalogue",
        type=Path,
        help=f"the fault catalogue (default: {DEFAULT_CATALOGUE} when it exists)",
    )
    parser.add_argument(
        "--workers", type=_positive, default=2, help="faults run at once (default 2)"
    )
    parser.add_argument(
        "-k",
        dest="select",
        action="append",
        default=[],
        metavar="NAMES",
        help="only these faults: comma-separated names or globs (repeatable)",
    )
    parser.add_argument(
        "--switch",
        help=f"server environment that turns one fault on, e.g. 'MY_FAULTS={FAULT_SLOT}' "
        "(default: the catalogue's switch:)",
    )
    parser.add_argument("--ws-config", help="harness config for every run (--ws-config)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=RUN_TIMEOUT,
        help=f"seconds one run may take (default {RUN_TIMEOUT:.0f})",
    )
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value or ""


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    args = _parser().parse_args(argv)
    try:
        path = args.catalogue
        if path is None:
            if not DEFAULT_CATALOGUE.exists():
                raise CatalogueError(
                    f"no {DEFAULT_CATALOGUE} here; give the fault catalogue with --catalogue PATH"
                )
            path = DEFAULT_CATALOGUE
        catalogue = load_catalogue(path)
        switch = (
            check_switch(args.switch, "--switch") if args.switch is not None else catalogue.switch
        )
        if switch is None:
            raise CatalogueError(
                f"{catalogue.source}: no switch; add 'switch: \"MY_FAULTS={FAULT_SLOT}\"' to "
                f"the catalogue or pass --switch"
            )
        patterns = [p.strip() for item in args.select for p in item.split(",") if p.strip()]
        specs = catalogue.selected(patterns)
    except ConfigError as exc:
        print(f"harness.mutation: error: {exc}", file=sys.stderr)
        return 2
    if args.ws_config:
        extra = [f"--ws-config={args.ws_config}", *extra]

    def progress(verdict: Verdict, done: int, total: int) -> None:
        state = "caught" if verdict.caught else "NOT caught"
        print(
            f"[{done}/{total}] {verdict.fault}: {state} ({verdict.seconds:.1f}s)",
            file=sys.stderr,
            flush=True,
        )

    started = time.monotonic()
    print(
        f"fault catalogue {catalogue.source}: {len(specs)} fault(s), {args.workers} at a time",
        file=sys.stderr,
        flush=True,
    )
    verdicts = run_catalogue(specs, switch, extra, args.workers, args.timeout, progress)
    for line in render(verdicts):
        print(line)
    print(f"({time.monotonic() - started:.0f}s)", file=sys.stderr)
    return 0 if all(v.caught for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
