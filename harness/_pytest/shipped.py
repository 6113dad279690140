"""Collecting the suites that ship inside ``harness_scenarios`` (fuzz, browser).

They are the harness's tests, not the user's: their ``test_*.py`` modules and ``test_*``
functions are collected whatever ``python_files`` and ``python_functions`` the user's ini
sets (a project with ``python_functions = check_*`` would otherwise run a fuzz suite of
nothing, and pass).
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest


class ShippedModule(pytest.Module):
    """A module of a shipped suite: its functions named ``test_*`` and classes ``Test*``."""

    def funcnamefilter(self, name: str) -> bool:
        return name.startswith("test_")

    def classnamefilter(self, name: str) -> bool:
        return name.startswith("Test")


def _shipped(file_path: Path, suite: Path) -> bool:
    return (
        file_path.suffix == ".py"
        and file_path.name.startswith("test_")
        and file_path.parent == suite
    )


def collect_shipped_module(
    file_path: Path, parent: pytest.Collector, suite: Path
) -> pytest.Module | None:
    """``pytest_collect_file``: a module of ``suite`` that ``python_files`` does not match
    (one it matches is pytest's to collect, through ``make_shipped_module``)."""
    if not _shipped(file_path, suite) or parent.session.isinitpath(file_path):
        return None
    patterns = parent.config.getini("python_files")
    if any(fnmatch.fnmatch(file_path.name, pattern) for pattern in patterns):
        return None
    return ShippedModule.from_parent(parent, path=file_path)


def make_shipped_module(
    module_path: Path, parent: pytest.Collector, suite: Path
) -> pytest.Module | None:
    """``pytest_pycollect_makemodule``: the module pytest collects from ``suite`` (its
    ``python_files`` matched, or it was named on the command line) as a ``ShippedModule``."""
    if not _shipped(module_path, suite):
        return None
    return ShippedModule.from_parent(parent, path=module_path)
