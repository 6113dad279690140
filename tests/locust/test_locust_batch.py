"""Batched request accounting leaves Locust's statistics and the HDR histograms exactly as
one event per request would: counts, failures, per-second counts, response-time sums,
extremes and histograms, content lengths, entry start times and the per-second snapshots.
And it steps aside when anything else listens to Locust's request event.

Importing Locust monkey-patches the process with gevent, so the checks run in a child
interpreter and report as JSON (as in ``test_locust_pacing``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from locust_support import REPO, EchoServer, anonymous_heartbeats, run_locust

CHECKS = textwrap.dedent(
    """
    import json, random, time
    import locust.stats as locust_stats
    from locust import events
    from locust.env import Environment
    from locust.stats import RequestStats
    import harness.locust.batch as batch_module
    from harness.locust.batch import RequestBatch, batchable
    from harness.locust.hdr import HdrRecorder

    class Clock:  # time.time() for Locust's stats and the batch: 0.37 s per 100 requests
        now = 1_700_000_000.0
        def __call__(self):
            return self.now
    clock = Clock()
    locust_stats.time.time = clock  # locust.stats and harness.locust.batch share "time"
    assert batch_module.time is locust_stats.time

    rng = random.Random(7)
    requests = []
    for index in range(5000):
        name = rng.choice(["heartbeat", "heartbeat", "heartbeat", "ping", "connect"])
        # sub-ms loopback times, a few slow ones and, rarely, very slow ones
        ms = rng.choice([rng.random() * 2, rng.random() * 150, rng.random() * 20000])
        failed = rng.random() < 0.03
        requests.append((name, ms, rng.randrange(0, 200), failed))

    def replay(stats, recorder, batch):
        clock.now = 1_700_000_000.0
        for index, (name, ms, length, failed) in enumerate(requests):
            clock.now += 0.0037
            if batch is not None and not failed:
                batch.add("WS", name, ms, length)
                continue
            if batch is not None:
                batch.flush()
            stats.log_request("WS", name, ms, length)  # what Locust's listener does
            if failed:
                stats.log_error("WS", name, "boom")
            else:
                recorder.record(f"WS {name}", ms * 1000)  # what ws-harness's listener does
        if batch is not None:
            batch.flush()

    def entry_figures(entry):
        return {
            "num_requests": entry.num_requests,
            "num_failures": entry.num_failures,
            "num_reqs_per_sec": sorted(entry.num_reqs_per_sec.items()),
            "num_fail_per_sec": sorted(entry.num_fail_per_sec.items()),
            "total_response_time": round(entry.total_response_time, 6),
            "min": entry.min_response_time,
            "max": entry.max_response_time,
            "response_times": sorted(entry.response_times.items()),
            "content": entry.total_content_length,
            "start_time": entry.start_time,
            "last": entry.last_request_timestamp,
            "snapshots": sorted(
                (t, sorted(c.response_times.items()), c.num_requests)
                for t, c in (entry.response_times_cache or {}).items()
            ),
        }

    def figures(stats, recorder):
        entries = {f"{k[1]} {k[0]}": entry_figures(e) for k, e in stats.entries.items()}
        entries["total"] = entry_figures(stats.total)
        hdr = {s.name: s.as_dict() for s in recorder.summary()}
        return {"entries": entries, "hdr": hdr}

    one_by_one = RequestStats(), HdrRecorder()
    replay(*one_by_one, None)
    clock.now = 1_700_000_000.0  # the total's start time is the stats' creation time
    stats, recorder = RequestStats(), HdrRecorder()
    batch = RequestBatch(stats, recorder, size=97)
    batch.enabled = True
    replay(stats, recorder, batch)

    environment = Environment(events=events)
    environment.create_local_runner()
    import harness.locust.plugin as plugin
    plugin._on_init(environment)
    alone = batchable(environment.events, environment.stats)
    environment.events.request.add_listener(lambda **kw: None)  # someone else's listener
    shared = batchable(environment.events, environment.stats)
    print(json.dumps({
        "one_by_one": figures(*one_by_one),
        "batched": figures(stats, recorder),
        "alone": alone,
        "shared": shared,
    }))
    """
)


@pytest.fixture(scope="module")
def found() -> dict:
    """The figures of both ways, from one child interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", CHECKS], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_batched_statistics_equal_one_event_per_request(found: dict) -> None:
    expected, batched = found["one_by_one"], found["batched"]
    assert expected["entries"]["total"]["num_requests"] == 5000
    assert expected["entries"]["total"]["num_failures"] > 0
    assert len(expected["entries"]["total"]["snapshots"]) > 5  # seconds were crossed
    for name, figures in expected["entries"].items():
        for figure, value in figures.items():
            assert batched["entries"][name][figure] == value, (name, figure)
    assert batched["entries"].keys() == expected["entries"].keys()
    assert batched["hdr"] == expected["hdr"]


def test_batching_steps_aside_for_other_request_listeners(found: dict) -> None:
    assert found["alone"] is True
    assert found["shared"] is False


@pytest.mark.slow
def test_a_real_run_counts_every_request_the_server_saw(
    flaky_server: EchoServer, tmp_path: Path
) -> None:
    """Batched successes and one-by-one failures add up to what the server received."""
    flaky_server.counts.clear()
    prefix = tmp_path / "beats"
    result = run_locust(
        anonymous_heartbeats(
            flaky_server.url,
            "3s",
            "0.01",
            "--csv",
            str(prefix),
            "--json-file",
            f"{prefix}_locust",
        ),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (heartbeat,) = [
        entry
        for entry in json.loads(Path(f"{prefix}_locust.json").read_text())
        if entry["name"] == "heartbeat"
    ]
    assert heartbeat["num_requests"] > 300  # enough to fill several batches
    # A user stopped while its heartbeat is in flight never reports it (so without batching
    # too): at most one per user goes uncounted; a lost batch would be dozens.
    users = 3
    assert 0 <= flaky_server.counts["beats"] - heartbeat["num_requests"] <= users
    assert 0 <= flaky_server.counts["errors"] - heartbeat["num_failures"] <= users
    hdr = {
        m["name"]: m["count"] for m in json.loads(Path(f"{prefix}_hdr.json").read_text())["metrics"]
    }
    assert hdr["WS heartbeat"] == heartbeat["num_requests"] - heartbeat["num_failures"]
