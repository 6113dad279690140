"""``--ws-start early``: the server starts on a thread while pytest collects (issue 15).

Against the reference server: the server started from that thread stays up once the thread
has done its work (Linux sends a child's parent-death signal when the *thread* that started
it ends, which took the first version's server down between its start and the first test).
Through pytester: which runs start early, and bad values.
"""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import psutil
import pytest

from harness._pytest.session import HarnessSession, _runs_tests
from harness.client import WsClient
from harness.targets import TargetOptions


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_early_started_server_stays_up_and_answers_until_the_session_stops() -> None:
    session = HarnessSession(TargetOptions(), None, None, 40)
    session.start_in_background()
    try:
        info = session.target().info
        time.sleep(0.5)  # the start thread has long finished its start
        assert info.pid is not None and alive(info.pid)

        async def first_frame() -> object:
            client = await WsClient.open(info.ws_url + "/ws/permissions/", timeout=5)
            try:
                return await client.receive(5)
            finally:
                await client.close()

        assert asyncio.run(first_frame())
    finally:
        session.stop()
    deadline = time.monotonic() + 5
    while alive(info.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(info.pid)


PROBE = """
import pytest
from harness._pytest.session import SESSION_KEY

@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    session = config.stash[SESSION_KEY]
    print(f"early={session._background is not None}")
    session._background = None  # the probe only looks: nothing is started for these runs
"""


@pytest.fixture
def probe(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    # The decision is what is tested: the start itself is recorded, not run.
    monkeypatch.setattr(HarnessSession, "start_in_background", _record_start)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    # A plugin, not a conftest file: ws-harness run without paths imports no conftest file.
    pytester.makepyfile(start_probe=PROBE)
    pytester.syspathinsert()
    return pytester


def _record_start(self: HarnessSession) -> None:
    self._background = object()  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("args", "early"),
    [
        (["--ws-start", "early"], True),
        (["--ws-start", "lazy"], False),
        ([], False),  # pytest's default: the server starts when a test needs it
        (["--ws-start", "early", "--co"], False),
        (["--ws-start", "early", "--fixtures"], False),
        (["-p", "harness.commands.run_plugin"], True),  # ws-harness run's default
        (["-p", "harness.commands.run_plugin", "--ws-start", "lazy"], False),
    ],
)
def test_which_runs_start_the_server_early(
    probe: pytest.Pytester, args: list[str], early: bool
) -> None:
    # Nothing selected: the bundled scenarios that -p run_plugin adds do not run.
    result = probe.runpytest_inprocess(
        "-s", "-p", "no:cacheprovider", "-p", "start_probe", "-k", "nothing", *args
    )
    result.stdout.fnmatch_lines([f"early={early}"])


def test_the_ini_files_choice_is_kept_by_ws_harness_run(probe: pytest.Pytester) -> None:
    probe.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\nws_start = lazy\n")
    result = probe.runpytest_inprocess(
        "-s", "-p", "start_probe", "-p", "harness.commands.run_plugin", "--co"
    )
    result.stdout.fnmatch_lines(["early=False"])


def test_an_unknown_start_mode_is_one_usage_error_line(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--ws-start", "soon")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*'soon': expected early or lazy*"])
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\nws_start = soon\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ws_start: 'soon': expected early or lazy*"])


def test_an_xdist_controller_leaves_the_start_to_its_workers() -> None:
    def config(dist: str, worker: bool) -> object:
        made = SimpleNamespace(option=SimpleNamespace(dist=dist))
        if worker:
            made.workerinput = {}
        return made

    assert not _runs_tests(config("load", worker=False))  # type: ignore[arg-type]
    assert _runs_tests(config("load", worker=True))  # type: ignore[arg-type]
    assert _runs_tests(config("no", worker=False))  # type: ignore[arg-type]
