"""Collecting the suites that ship inside ``harness_scenarios`` (fuzz, browser)."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest


def collect_shipped_module(
    file_path: Path, parent: pytest.Collector, suite: Path
) -> pytest.Module | None:
    """A ``test_*.py`` of ``suite`` as a module whatever ``python_files`` the user's ini sets
    (pytest's own collector takes it when its patterns match, so no module twice)."""
    if file_path.suffix != ".py" or not file_path.name.startswith("test_"):
        return None
    if file_path.parent != suite or parent.session.isinitpath(file_path):
        return None
    patterns = parent.config.getini("python_files")
    if any(fnmatch.fnmatch(file_path.name, pattern) for pattern in patterns):
        return None
    return pytest.Module.from_parent(parent, path=file_path)
