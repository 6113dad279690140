"""HeartbeatUser pacing: a saturated user beats back-to-back inside one task call; a paced
one beats once and leaves the wait to wait_time(); a failed beat ends the task.

Importing locust monkey-patches the whole process with gevent (threads become greenlets),
which would deadlock later tests that use real threads; so the checks run in a child
interpreter and report as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

CHECKS = textwrap.dedent(
    """
    import json, time
    from locust.env import Environment
    from harness.locust.users import HeartbeatUser

    def beats(interval, results):
        class Beat(HeartbeatUser):
            host = "ws://127.0.0.1:9"
            heartbeat_interval = interval
            max_beats_per_task = 8
        user = Beat(Environment(user_classes=[Beat]))
        calls = []
        def heartbeat():
            calls.append(1)
            return results[min(len(calls), len(results)) - 1]
        user.heartbeat = heartbeat
        user._next_beat = time.perf_counter()
        user.beat()
        return len(calls), user.wait_time()

    saturated, _ = beats(1e-9, [True])
    paced, wait = beats(10.0, [True])
    failed, _ = beats(1e-9, [True, False, True])
    print(json.dumps({"saturated": saturated, "paced": paced, "wait": wait, "failed": failed}))
    """
)


def run_checks() -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHECKS], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_heartbeat_user_pacing() -> None:
    found = run_checks()
    assert found["saturated"] == 8  # back-to-back, up to max_beats_per_task
    assert found["paced"] == 1  # one beat; wait_time() keeps the phase
    assert 9.0 < found["wait"] <= 10.0
    assert found["failed"] == 2  # a failed beat ends the task
