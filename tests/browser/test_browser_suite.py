"""Proof that the shipped browser suite (``harness_scenarios/browser``, ``-m browser``) passes
on the reference target, fails with its origin check switched off, and signs a browser in
with a session cookie where the app uses one (the inbox example).

Each run is a child pytest selecting the suite the way a user does (``--pyargs
harness_scenarios -m browser``), with its own server on a free port and its own Chromium;
the runs start together (they mostly wait on the server and the browser). ``slow``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.browser.cdp import BrowserUnavailable, find_chromium
from harness.browser.plugin import unavailable
from harness.targets.ports import free_port, port_accepts

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
INBOX = ROOT / "examples" / "inbox" / "inbox.config.yaml"
RUN_TIMEOUT = 180.0
SAME = "test_browser.py::test_a_page_on_the_servers_origin_is_confirmed"
SIGNED_IN = "test_browser.py::test_a_signed_in_browser_is_confirmed_as_its_user"
FOREIGN = "test_browser.py::test_a_page_on_a_foreign_site_is_refused"


@dataclass(frozen=True)
class ChildRun:
    returncode: int
    outcomes: dict[str, str]  # "module.py::test" -> passed | failed | skipped
    output: str
    seconds: float


def _outcomes(junit: Path) -> dict[str, str]:
    found = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = f"{case.get('classname', '').rsplit('.', 1)[-1]}.py::{case.get('name')}"
        kinds = {child.tag for child in case}
        found[name] = (
            "failed"
            if kinds & {"failure", "error"}
            else "skipped"
            if "skipped" in kinds
            else "passed"
        )
    return found


def _run(folder: Path, *args: str, env: dict[str, str] | None = None) -> ChildRun:
    junit = folder / "junit.xml"
    command = [
        sys.executable, "-m", "pytest", "--pyargs", "harness_scenarios", "-m", "browser",
        "-p", "no:cacheprovider", "-rA", "-q", f"--junitxml={junit}", *args,
    ]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(
        command,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        env={**os.environ, **(env or {})},
    )
    outcomes = _outcomes(junit) if junit.exists() else {}
    return ChildRun(
        done.returncode, outcomes, done.stdout + done.stderr, time.monotonic() - started
    )


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str | None]:
    """A private redis-server for the inbox example (None without one: that run skips)."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = free_port()
    process = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not port_accepts("127.0.0.1", port) and time.monotonic() < deadline:
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str | None
) -> Iterator[dict[str, Future[ChildRun]]]:
    """The three child runs, started together."""
    try:
        find_chromium()
    except BrowserUnavailable as exc:
        unavailable(str(exc))
    folders = {name: tmp_path_factory.mktemp(name) for name in ("clean", "any_origin", "inbox")}
    with ThreadPoolExecutor(3) as pool:
        futures = {
            "clean": pool.submit(_run, folders["clean"]),
            "any_origin": pool.submit(
                _run, folders["any_origin"], "--ws-env", "TARGET_FAULTS=any_origin"
            ),
        }
        if redis_url is not None:
            futures["inbox"] = pool.submit(
                _run,
                folders["inbox"],
                f"--ws-config={INBOX}",
                env={"INBOX_REDIS_URL": redis_url},
            )
        yield futures
        for name, future in futures.items():
            print(f"{name}: {future.result().seconds:.1f} s")


def test_the_reference_target_passes_every_browser_check(
    runs: dict[str, Future[ChildRun]],
) -> None:
    run = runs["clean"].result()
    assert run.returncode == 0, run.output[-4000:]
    assert run.outcomes == {SAME: "passed", SIGNED_IN: "passed", FOREIGN: "passed"}, run.output
    assert "refused (HTTP 403)" in run.output
    assert "confirmed as user 2" in run.output  # the token's user, from the browser


def test_with_its_origin_check_off_the_foreign_page_gets_in(
    runs: dict[str, Future[ChildRun]],
) -> None:
    run = runs["any_origin"].result()
    assert run.returncode == 1, run.output[-4000:]
    assert run.outcomes == {SAME: "passed", SIGNED_IN: "passed", FOREIGN: "failed"}, run.output
    assert "cross-site WebSocket hijacking" in run.output
    assert "Origin http://foreign.ws-harness.test: ACCEPTED" in run.output


def test_a_session_cookie_signs_the_browser_in(
    runs: dict[str, Future[ChildRun]], redis_url: str | None
) -> None:
    """The inbox example reads a Django session cookie: the browser carries it in its jar
    (the harness logged in through the app's login form) and is welcomed as that member."""
    if redis_url is None:
        unavailable("redis-server is not installed: apt-get install redis-server")
    run = runs["inbox"].result()
    assert run.returncode == 0, run.output[-4000:]
    assert run.outcomes == {SAME: "passed", SIGNED_IN: "passed", FOREIGN: "passed"}, run.output
    assert "cookie 'inbox_session' in the browser's jar" in run.output
    assert "cookie inbox_session: ACCEPTED, confirmed as user '3f2b8c1e" in run.output
