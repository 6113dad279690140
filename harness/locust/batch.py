"""Successful requests reported to Locust in batches, with the statistics Locust would keep
for them one by one.

Why: firing Locust's ``request`` event was the largest single cost of a loopback heartbeat's
bookkeeping: ``EventHook.fire`` runs each listener inside a try block, Locust's listener logs
every sample twice (its name's entry and the total) and ours adds it to an HDR histogram. A
batch does that work once per batch and per distinct value (measured with a fake socket: the
Python of one heartbeat, 12.5 -> 8.3 us).

Exact, not sampled: for every entry (and the total), the request count, the requests per
second (each sample counted in the second it was made), the sum, min and max of the
response times, the rounded response-time histogram (``locust.stats.bucket_response_time``
per sample), the content length and the HDR histograms get what per-request logging would
have given them. A batch holds samples of one wall-clock second only, so the per-second
counts and Locust's per-second response-time snapshots (the web UI's current percentiles)
stay right; it is applied when it reaches ``size`` samples, when the second changes, before
any failure is reported (failures are always fired as events, one by one), and whenever
Locust is about to read the statistics (``flush``: a worker's report, a stop, the end, and
a one-second timer while a test runs).

Only while nothing but Locust's own statistics and ws-harness listen to the ``request``
event: any other listener (a plugin, a locustfile's hook) turns batching off, so it sees
every request (``RequestBatch.enabled``).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from harness.locust.hdr import HdrRecorder

# Listener qualnames whose work a batch does itself: Locust's statistics and ws-harness's HDR.
_LOCUST_STATS_LISTENER = "Runner.__init__.<locals>.on_request"
_HARNESS_LISTENER = "_on_init.<locals>.on_request"
_ENTRY_FIELDS = (
    "start_time",
    "num_requests",
    "num_reqs_per_sec",
    "last_request_timestamp",
    "total_response_time",
    "min_response_time",
    "max_response_time",
    "response_times",
    "total_content_length",
)


def batchable(events: Any, stats: Any) -> bool:
    """Whether the process's ``request`` listeners are exactly those a batch stands in for,
    and Locust's statistics look as this module expects (else: one event per request)."""
    from locust import stats as locust_stats

    handlers = getattr(events.request, "_handlers", None)
    if not handlers or not hasattr(locust_stats, "bucket_response_time"):
        return False
    names = sorted(getattr(handler, "__qualname__", "") for handler in handlers)
    if names != sorted([_LOCUST_STATS_LISTENER, _HARNESS_LISTENER]):
        return False
    total = getattr(stats, "total", None)
    return (
        total is not None
        and hasattr(stats, "entries")
        and all(hasattr(total, name) for name in _ENTRY_FIELDS)
    )


class RequestBatch:
    """Pending successful requests of one process; one per run (``RunContext.batch``)."""

    def __init__(self, stats: Any, recorder: HdrRecorder, size: int = 256) -> None:
        self.stats = stats
        self.recorder = recorder
        self.size = size
        self.enabled = False  # set per test by the plugin (``batchable``)
        self._samples: dict[tuple[str, str], list[float]] = {}
        self._lengths: dict[tuple[str, str], int] = {}
        self._first: dict[tuple[str, str], float] = {}  # each key's earliest sample time
        self._last: dict[tuple[str, str], float] = {}  # each key's latest sample time
        self._second = 0
        self._count = 0

    def add(self, request_type: str, name: str, response_time: float, length: int) -> None:
        """One successful request: ``response_time`` in milliseconds, as Locust's event."""
        now = time.time()
        if int(now) != self._second:
            self.flush()
            self._second = int(now)
        key = (request_type, name)
        samples = self._samples.get(key)
        if samples is None:
            samples = self._samples[key] = []
            self._lengths[key] = 0
            self._first[key] = now
        samples.append(response_time)
        self._lengths[key] += length
        self._last[key] = now
        self._count += 1
        if self._count >= self.size:
            self.flush()

    def flush(self) -> None:
        """Apply every pending sample to Locust's statistics and the HDR histograms."""
        if not self._count:
            return
        from locust.stats import bucket_response_time

        stats, second, total = self.stats, self._second, self.stats.total
        last_of_all = max(self._last.values())
        for key, samples in self._samples.items():
            request_type, name = key
            buckets = Counter(map(bucket_response_time, samples))
            length = self._lengths[key]
            new = (name, request_type) not in stats.entries
            entry = stats.get(name, request_type)
            if new:  # logged one by one, it would have been made at its first request
                entry.start_time = self._first[key]
            _apply(entry, samples, buckets, length, second, self._last[key])
            _apply(total, samples, buckets, length, second, last_of_all)
            self.recorder.record_many(f"{request_type} {name}", [ms * 1000 for ms in samples])
        self.discard()

    def discard(self) -> None:
        """Drop pending samples (Locust just reset its statistics: they predate the reset)."""
        self._samples = {}
        self._lengths = {}
        self._first = {}
        self._last = {}
        self._count = 0


def _apply(
    entry: Any,
    samples: list[float],
    buckets: Counter[int],
    length: int,
    second: int,
    last: float,
) -> None:
    """What ``StatsEntry.log`` does for each sample, done once for samples of one second."""
    previous = entry.last_request_timestamp
    if entry.use_response_times_cache and previous and second > int(previous):
        entry._cache_response_times(second - 1)  # the snapshot log() takes at a new second
    count = len(samples)
    entry.num_requests += count
    entry.num_reqs_per_sec[second] += count
    entry.last_request_timestamp = last
    entry.total_response_time += sum(samples)
    low, high = min(samples), max(samples)
    entry.min_response_time = (
        low if entry.min_response_time is None else min(entry.min_response_time, low)
    )
    entry.max_response_time = max(entry.max_response_time, high)
    response_times = entry.response_times
    for bucket, times in buckets.items():
        response_times[bucket] += times
    entry.total_content_length += length
