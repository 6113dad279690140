"""HeartbeatUser pacing: a saturated user beats back-to-back inside one task call; a paced
one beats once and leaves the wait to wait_time(); a failed beat ends the task."""

from __future__ import annotations

import time

from locust.env import Environment

from harness.locust.users import HeartbeatUser


def make_user(interval: float, results: list[bool]) -> tuple[HeartbeatUser, list[int]]:
    class Beat(HeartbeatUser):
        host = "ws://127.0.0.1:9"
        heartbeat_interval = interval
        max_beats_per_task = 8

    user = Beat(Environment(user_classes=[Beat]))
    calls: list[int] = []

    def heartbeat() -> bool:
        calls.append(1)
        return results[min(len(calls), len(results)) - 1]

    user.heartbeat = heartbeat  # type: ignore[method-assign]
    user._next_beat = time.perf_counter()
    return user, calls


def test_a_saturated_user_beats_back_to_back_up_to_the_cap() -> None:
    user, calls = make_user(1e-9, [True])
    user.beat()
    assert len(calls) == 8


def test_a_paced_user_beats_once_per_task() -> None:
    user, calls = make_user(10.0, [True])
    user.beat()
    assert len(calls) == 1
    assert 9.0 < user.wait_time() <= 10.0  # the next beat keeps the user's phase


def test_a_failed_beat_ends_the_task() -> None:
    user, calls = make_user(1e-9, [True, False, True])
    user.beat()
    assert len(calls) == 2
