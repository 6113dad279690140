"""harness/_pytest/session.py: the "still alone on its port" check between verdicts.

Each scenario verdict needs a passing check that began after the scenario ended; verdicts
that ended together (a concurrent run) share one check, which costs ~25 ms of psutil.
"""

from __future__ import annotations

import time

import pytest

from harness._pytest.session import HarnessSession
from harness.errors import HarnessError
from harness.targets import TargetOptions


class FakeTarget:
    def __init__(self) -> None:
        self.checks = 0
        self.hijacked = False

    def check_still_ours(self) -> None:
        self.checks += 1
        if self.hijacked:
            raise HarnessError("port 1234 is now held by pid 99 (nc)")


def session_with(target: FakeTarget) -> HarnessSession:
    session = HarnessSession(TargetOptions(), None, None, 40)
    session._target = target  # type: ignore[assignment]
    return session


def test_verdicts_that_ended_before_a_check_share_it() -> None:
    target = FakeTarget()
    session = session_with(target)
    ended = time.monotonic()
    session.check_target(since=ended)
    session.check_target(since=ended)
    session.check_target(since=ended - 1)
    assert target.checks == 1


def test_a_verdict_that_ended_after_the_last_check_gets_its_own() -> None:
    target = FakeTarget()
    session = session_with(target)
    session.check_target(since=time.monotonic())
    session.check_target(since=time.monotonic())
    assert target.checks == 2


def test_a_hijacked_port_fails_every_later_verdict() -> None:
    target = FakeTarget()
    session = session_with(target)
    ended = time.monotonic()
    target.hijacked = True
    for _ in range(2):
        with pytest.raises(pytest.fail.Exception, match="now held by pid 99"):
            session.check_target(since=ended)
    assert target.checks == 1  # the failure is remembered, not re-measured
