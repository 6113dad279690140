"""A reply that comes after its request gave up is never credited to a later request.

The bundled heartbeat carries no correlation id, so a late reply looks exactly like the
reply to the next heartbeat. Before the fix, a server answering every heartbeat 1.5 s late
(1 s reply timeout) had a third of the heartbeats measured as successes, some in 0.07 ms,
and a p99 gate judged those.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from locust_support import EchoServer, anonymous_heartbeats, run_locust


@pytest.mark.slow
def test_no_heartbeat_succeeds_when_every_reply_comes_after_the_timeout(
    late_server: EchoServer, tmp_path: Path
) -> None:
    prefix = tmp_path / "late"
    result = run_locust(
        anonymous_heartbeats(
            late_server.url,
            "4s",
            "0.2",
            "--json-file",
            f"{prefix}_locust",
            "--hdr-json",
            f"{prefix}_hdr.json",
        ),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    entries = {e["name"]: e for e in json.loads(Path(f"{prefix}_locust.json").read_text())}
    heartbeat = entries["heartbeat"]
    # Every user's beats time out one after another: several per user in 4 s.
    assert heartbeat["num_requests"] >= 6
    assert heartbeat["num_failures"] == heartbeat["num_requests"]
    metrics = json.loads(Path(f"{prefix}_hdr.json").read_text())["metrics"]
    assert "WS heartbeat" not in {m["name"] for m in metrics if m["count"]}
    # Each timeout ends its connection: the next beat starts on a fresh one.
    assert entries["connect"]["num_requests"] > 3
