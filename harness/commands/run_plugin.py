"""The plugin of ``ws-harness run``'s pytest runs (``-p harness.commands.run_plugin``).

It adds the bundled scenarios to the run once pytest has chosen the rootdir and the ini
file from the user's directory and paths. Loaded with ``-p``, so xdist workers load it too
and collect the same items as the controller.

Such a run always tests the server, so it starts it early (``--ws-start early``, unless the
command line or the ini file says otherwise): the server starts while pytest collects.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from harness.bundled import scenarios_dir


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    # Without paths, pytest would import the conftest files of the project's testpaths
    # before the run begins, although none of them is collected (pytest_configure below
    # collects the bundled folder instead): the initial conftest files are the bundled
    # folder's, as for `pytest <bundled folder>`.
    namespace = early_config.known_args_namespace
    if not namespace.file_or_dir:
        namespace.file_or_dir = [str(scenarios_dir())]


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    folder = scenarios_dir()
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        # No paths given: the bundled scenarios only, not the project's testpaths.
        config.args[:] = [str(folder)]
        config.args_source = pytest.Config.ArgsSource.ARGS
    elif not any(_covers(arg, folder, config) for arg in config.args):
        config.args.insert(0, str(folder))
    if config.getoption("ws_start", None) is None and not config.getini("ws_start"):
        config.option.ws_start = "early"


def _covers(arg: str, folder: Path, config: pytest.Config) -> bool:
    """Does the argument already include the bundled folder (the folder or a parent)?"""
    path = (config.invocation_params.dir / arg.split("::", 1)[0]).resolve()
    target = folder.resolve()
    return path == target or path in target.parents


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    # What is alive now (the imported modules, the collected items) lives until the run
    # ends. Frozen, it is left out of every later garbage collection, including the five full
    # ones pytest makes at the end to find unraisable exceptions (about 0.2 s otherwise).
    gc.freeze()
