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


class ShippedSuite:
    """The collection hooks of one shipped suite's folder: a plugin object, registered by
    the suite's own plugin (``register``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def register(cls, config: pytest.Config, folder: Path, name: str) -> None:
        config.pluginmanager.register(cls(folder), f"ws-harness-{name}-suite")

    def _holds(self, path: Path) -> bool:
        return path.suffix == ".py" and path.name.startswith("test_") and path.parent == self.folder

    def pytest_collect_file(
        self, file_path: Path, parent: pytest.Collector
    ) -> pytest.Module | None:
        """A module ``python_files`` does not match (one it matches, or one named on the
        command line, is pytest's to collect, through ``pytest_pycollect_makemodule``)."""
        if not self._holds(file_path) or parent.session.isinitpath(file_path):
            return None
        patterns = parent.config.getini("python_files")
        if any(fnmatch.fnmatch(file_path.name, pattern) for pattern in patterns):
            return None
        return ShippedModule.from_parent(parent, path=file_path)

    @pytest.hookimpl(tryfirst=True)
    def pytest_pycollect_makemodule(
        self, module_path: Path, parent: pytest.Collector
    ) -> pytest.Module | None:
        """The module pytest collects from the suite, as a ``ShippedModule``."""
        if not self._holds(module_path):
            return None
        return ShippedModule.from_parent(parent, path=module_path)
