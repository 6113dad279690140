"""``ws-harness run``: the bundled scenarios, through pytest, as your project configures it.

It behaves like ``pytest`` started in the current directory: pytest finds the rootdir and
the ini file (``pytest.ini``, ``pyproject.toml``...) from the current directory and the
paths you give, so ``ws_config``, ``ws_command`` and the rest of your ini keys apply, the
cache plugin keeps ``--lf`` / ``--ff`` working, and ``-k`` / ``-m`` select as usual. What it
adds: the bundled scenarios (``harness_scenarios``) are always collected, next to any
scenario folder or test file you name (``ws-harness run my_scenarios/``), and never your
whole test suite (without paths, pytest would collect your ``testpaths``, and import their
conftest files: without paths, no conftest file of yours is imported).

The bundled folder is added to the collection (``run_plugin``) *after* pytest has chosen
the rootdir and ini file; passed as an argument, it would take part in that choice, and a
run from your project would read the harness's own configuration and test its reference
server.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

USAGE = (
    "usage: ws-harness run [options] [scenario folders or test files]\n\n"
    "Runs the bundled conformance scenarios (plus the folders and files given) with pytest,\n"
    "using the rootdir and ini file of the current directory. The fuzz and security suites\n"
    "run with -m fuzz, -m security or -m 'fuzz or security'. Every pytest option works."
)
# Loaded with -p, so xdist workers load it too; its own module, imported by pytest first
# (a module imported before is not assertion-rewritten, and pytest warns about that).
PLUGIN = "harness.commands.run_plugin"
# The title of the plugin's option group in pytest's help (harness.pytest_plugin).
_GROUP_TITLE = re.compile(r"^\S.*\(ws-harness\):$")


def run(pytest_args: Sequence[str]) -> int:
    """Run pytest with ``pytest_args`` plus the bundled scenarios; pytest's exit code."""
    args = ["-p", PLUGIN, *without_hypothesis(pytest_args), *pytest_args]
    if "-h" in args or "--help" in args:
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            code = pytest.main(args)
        sys.stdout.write(harness_first(captured.getvalue()))
        return int(code)
    return int(pytest.main(args))


def without_hypothesis(pytest_args: Sequence[str]) -> list[str]:
    """``-p no:hypothesispytest`` for a run that cannot hold a Hypothesis test (nothing says
    fuzz, no path given): Hypothesis's pytest plugin imports all of Hypothesis at the end of
    every run, about a second of a run that takes a few."""
    if any("fuzz" in arg or Path(arg).exists() for arg in pytest_args):
        return []
    return ["-p", "no:hypothesispytest"]


def harness_first(text: str) -> str:
    """pytest's help with our usage on top and the ws-harness options right below it."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _GROUP_TITLE.match(line)), None)
    if lines and lines[0].startswith("usage:"):
        lines = lines[1:]
        start = None if start is None else start - 1
    section: list[str] = []
    if start is not None:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i] and not lines[i][0].isspace()),
            len(lines),
        )
        section, lines = lines[start:end], lines[:start] + lines[end:]
        while section and not section[-1].strip():
            section.pop()
    return "\n".join([USAGE, "", *section, "", *lines]) + "\n"
