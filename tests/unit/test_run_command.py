"""harness/commands/run.py: which runs leave Hypothesis's pytest plugin out."""

from __future__ import annotations

from pathlib import Path

from harness.commands.run import without_hypothesis

OUT = ["-p", "no:hypothesispytest"]


def test_a_run_that_cannot_fuzz_leaves_hypothesis_out() -> None:
    assert without_hypothesis(["-k", "anonymous", "-q"]) == OUT
    assert without_hypothesis([]) == OUT


def test_a_run_that_names_fuzz_keeps_it() -> None:
    assert without_hypothesis(["-m", "fuzz or security"]) == []
    assert without_hypothesis(["-k", "test_fuzz_units"]) == []


def test_a_run_given_paths_keeps_it(tmp_path: Path) -> None:
    """The user's own folders may hold Hypothesis tests."""
    assert without_hypothesis([str(tmp_path)]) == []
