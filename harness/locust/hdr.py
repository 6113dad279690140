"""Latency at microsecond resolution: one HDR histogram per metric.

Locust keeps response times rounded to whole milliseconds below 100 ms, so loopback heartbeats
read 0 or 1 ms. Every successful sample also goes into an HdrHistogram here (1 us .. 60 s,
3 significant digits: 0.1 % error at any magnitude, a few hundred KiB per metric).

In distributed mode each worker ships what it recorded since its last report as encoded
histograms (``take_encoded``) and the master adds them up (``merge_encoded``); the master's
``summary`` is then the exact merged distribution, not an average of percentiles.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 60_000_000
SIGNIFICANT_DIGITS = 3
PERCENTILES = (50.0, 90.0, 99.0, 99.9)


@dataclass(frozen=True)
class Summary:
    """One metric's distribution, in microseconds."""

    name: str
    count: int
    min_us: int
    p50_us: int
    p90_us: int
    p99_us: int
    p999_us: int
    max_us: int
    mean_us: float

    def as_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


FIELDS = tuple(Summary.__dataclass_fields__)


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


class HdrRecorder:
    """Histograms by metric name. One per process; not shared between threads.

    ``record`` only appends to a list (it runs once per request, on the load generator's
    hot path); samples enter the histograms in batches, before anything reads them.
    """

    _BATCH = 4096

    def __init__(self) -> None:
        self._histograms: dict[str, HdrHistogram] = {}
        self._unrecorded: dict[str, list[float]] = {}

    def record(self, name: str, micros: float) -> None:
        samples = self._unrecorded.get(name)
        if samples is None:
            samples = self._unrecorded[name] = []
        samples.append(micros)
        if len(samples) >= self._BATCH:
            self._flush()

    def record_many(self, name: str, micros: list[float]) -> None:
        """``record`` for each of ``micros`` (a batch of requests, ``harness.locust.batch``)."""
        samples = self._unrecorded.get(name)
        if samples is None:
            samples = self._unrecorded[name] = []
        samples.extend(micros)
        if len(samples) >= self._BATCH:
            self._flush()

    def _flush(self) -> None:
        for name, samples in self._unrecorded.items():
            if not samples:
                continue
            histogram = self._histograms.get(name)
            if histogram is None:
                histogram = self._histograms[name] = new_histogram()
            # Loopback latencies repeat at microsecond resolution: one record per distinct
            # value (counted in C) instead of one per sample (measured: 1.3 -> 0.3 us each).
            record = histogram.record_value
            for micros, count in Counter(map(round, samples)).items():
                record(min(max(micros, LOWEST_US), HIGHEST_US), count)
            samples.clear()

    def names(self) -> list[str]:
        self._flush()
        return sorted(self._histograms)

    def count(self, name: str) -> int:
        self._flush()
        histogram = self._histograms.get(name)
        return 0 if histogram is None else histogram.get_total_count()

    def percentile_us(self, name: str, percentile: float) -> int | None:
        self._flush()
        histogram = self._histograms.get(name)
        if histogram is None or histogram.get_total_count() == 0:
            return None
        return int(histogram.get_value_at_percentile(percentile))

    def percentiles_us(self, name: str, percentiles: Iterable[float]) -> dict[float, int]:
        """Several percentiles of one metric in one pass over its histogram (for the plot:
        ``percentile_us`` walks the whole histogram once per percentile); {} without samples."""
        self._flush()
        histogram = self._histograms.get(name)
        if histogram is None or histogram.get_total_count() == 0:
            return {}
        values = histogram.get_percentile_to_value_dict(list(percentiles))
        return {float(p): int(v) for p, v in values.items()}

    def summary(self) -> list[Summary]:
        rows = []
        for name in self.names():
            h = self._histograms[name]
            if h.get_total_count() == 0:
                continue
            p50, p90, p99, p999 = (int(h.get_value_at_percentile(p)) for p in PERCENTILES)
            rows.append(
                Summary(
                    name=name,
                    count=h.get_total_count(),
                    min_us=int(h.get_min_value()),
                    p50_us=p50,
                    p90_us=p90,
                    p99_us=p99,
                    p999_us=p999,
                    max_us=int(h.get_max_value()),
                    mean_us=round(float(h.get_mean_value()), 1),
                )
            )
        return rows

    # ------------------------------------------------------------ distributed mode
    def take_encoded(self) -> dict[str, str]:
        """Encode what was recorded since the last call and start afresh (worker side)."""
        self._flush()
        encoded = {
            name: h.encode().decode("ascii")
            for name, h in self._histograms.items()
            if h.get_total_count()
        }
        for histogram in self._histograms.values():
            histogram.reset()
        return encoded

    def merge_encoded(self, encoded: Mapping[str, str]) -> None:
        """Add a worker's ``take_encoded`` output (master side)."""
        for name, text in encoded.items():
            incoming = HdrHistogram.decode(text.encode("ascii"))
            histogram = self._histograms.get(name)
            if histogram is None:
                histogram = self._histograms[name] = new_histogram()
            histogram.add(incoming)

    def reset(self) -> None:
        self._histograms.clear()
        self._unrecorded.clear()


def rows_for_csv(summaries: Iterable[Summary]) -> list[list[str]]:
    """Header plus one row per metric, for ``<prefix>_hdr.csv``."""
    rows = [list(FIELDS)]
    rows.extend([str(getattr(s, f)) for f in FIELDS] for s in summaries)
    return rows
