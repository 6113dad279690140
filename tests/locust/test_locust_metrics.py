"""The pure parts: HDR merge, lost-push accounting, thresholds, option parsing and checking."""

from __future__ import annotations

import argparse

import pytest

from harness.errors import ConfigError
from harness.locust.hdr import HdrRecorder
from harness.locust.options import LoadOptions, add_options
from harness.locust.pushes import GLOBAL, PushLedger, user_audience
from harness.locust.thresholds import Measured, Thresholds, evaluate, unallowed_failures


def test_hdr_keeps_microseconds_and_merges_exactly() -> None:
    workers = [HdrRecorder(), HdrRecorder()]
    for index, worker in enumerate(workers):
        for micros in range(100, 1100):
            worker.record("WS heartbeat", micros + index * 1000)
    master = HdrRecorder()
    for worker in workers:
        master.merge_encoded(worker.take_encoded())
        assert worker.count("WS heartbeat") == 0  # shipped deltas start afresh
    (summary,) = master.summary()
    assert summary.count == 2000
    assert summary.min_us == 100
    assert 1095 <= summary.p50_us <= 1101
    assert 2090 <= summary.max_us <= 2101


def test_hdr_clamps_out_of_range_values() -> None:
    recorder = HdrRecorder()
    recorder.record("x", 0.2)
    recorder.record("x", 1e12)
    assert recorder.count("x") == 2


def test_lost_pushes_count_only_expected_deliveries() -> None:
    ledger = PushLedger()
    user = ledger.opened({GLOBAL, user_audience(2)}, at=10.0)
    anonymous = ledger.opened({GLOBAL}, at=10.0)
    ledger.sent("before", 9.0, user_audience(2))  # before the connection: not expected
    ledger.sent("a", 11.0, user_audience(2))
    ledger.sent("b", 12.0, user_audience(2))
    ledger.sent("g", 13.0, GLOBAL)
    ledger.sent("late", 19.5, GLOBAL)  # within the timeout before close: not counted
    user.received.update({"a", "g"})
    ledger.closed(user, 20.0)
    # user: a, b, g expected (b lost); anonymous, still open at 30: g and late (both lost)
    assert ledger.lost(timeout=3.0, now=30.0) == (3, 5)
    anonymous.received.add("g")
    assert ledger.lost(timeout=3.0, now=30.0) == (2, 5)


def test_push_ledger_travels_from_workers_to_master() -> None:
    trigger_worker, receiver_worker, master = PushLedger(), PushLedger(), PushLedger()
    trigger_worker.sent("a", 11.0, GLOBAL)
    record = receiver_worker.opened({GLOBAL}, 10.0)
    receiver_worker.closed(record, 20.0)  # never received "a"
    master.merge_report(trigger_worker.take_report())
    master.merge_report(receiver_worker.take_report())
    assert master.lost(timeout=1.0, now=30.0) == (1, 1)
    assert receiver_worker.take_report() == {"sends": [], "connections": []}


def test_thresholds_name_the_option_and_the_measured_value() -> None:
    measured = Measured(p99_heartbeat_ms=12.5, connect_rate=300.0, fail_ratio=0.0, lost_pushes=None)
    assert evaluate(Thresholds(max_p99_heartbeat_ms=20, min_connect_rate=100), measured) == []
    failures = evaluate(
        Thresholds(max_p99_heartbeat_ms=1, min_connect_rate=1000, max_lost_pushes=0), measured
    )
    assert failures == [
        "threshold --max-p99-heartbeat-ms 1 failed: measured 12.5 ms",
        "threshold --min-connect-rate 1000 failed: measured 300 connections/s",
        "threshold --max-lost-pushes 0 failed: not measured (no samples)",
    ]


def test_options_parse_and_fall_back_to_none() -> None:
    parser = argparse.ArgumentParser()
    add_options(parser)
    parsed = parser.parse_args(
        [
            "--ws-user",
            "primary, anonymous",
            "--heartbeat-interval",
            "0.5",
            "--max-fail-ratio",
            "0.01",
        ]
    )
    options = LoadOptions.from_parsed(parsed)
    assert options.users == ("primary", "anonymous")
    assert options.heartbeat_interval == 0.5
    assert options.thresholds.max_fail_ratio == 0.01
    assert options.route is None
    assert LoadOptions.from_parsed(None) == LoadOptions()
    with pytest.raises(SystemExit):
        parser.parse_args(["--heartbeat-interval", "-1"])


def test_failed_requests_need_a_fail_ratio_that_allows_them() -> None:
    failed = Measured(
        p99_heartbeat_ms=1.0,
        connect_rate=10.0,
        fail_ratio=0.25,
        lost_pushes=None,
        requests=40,
        failures=10,
    )
    met = Thresholds(max_p99_heartbeat_ms=50)
    assert evaluate(met, failed) == []
    message = unallowed_failures(met, failed)
    assert message is not None and message.startswith("10 of 40 requests failed (fail ratio 0.25)")
    assert "--max-fail-ratio" in message
    assert unallowed_failures(Thresholds(), failed) == message  # no thresholds: the same rule
    assert unallowed_failures(Thresholds(max_fail_ratio=0.5), failed) is None  # the ratio decides
    clean = Measured(p99_heartbeat_ms=1.0, connect_rate=10.0, fail_ratio=0.0, lost_pushes=None)
    assert unallowed_failures(met, clean) is None


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--max-p99-heartbeat-ms", "-0.5"),
        ("--max-p99-heartbeat-ms", "inf"),
        ("--min-connect-rate", "-1"),
        ("--max-fail-ratio", "1.01"),
        ("--max-fail-ratio", "nan"),
        ("--max-lost-pushes", "-2"),
        ("--max-lost-pushes", "one"),
    ],
)
def test_wrong_threshold_values_are_rejected_where_they_are_read(option: str, value: str) -> None:
    parser = argparse.ArgumentParser()
    add_options(parser)
    with pytest.raises(SystemExit):
        parser.parse_args([f"{option}={value}"])
    # Values edited in Locust's web UI arrive as strings, past the parser.
    parsed = argparse.Namespace(**{option.removeprefix("--").replace("-", "_"): value})
    with pytest.raises(ConfigError, match=f"{option} {value!r}: expected"):
        LoadOptions.from_parsed(parsed)


def test_threshold_values_at_their_bounds_are_accepted() -> None:
    parser = argparse.ArgumentParser()
    add_options(parser)
    parsed = parser.parse_args(
        [
            "--max-p99-heartbeat-ms=0",
            "--min-connect-rate=0",
            "--max-fail-ratio=1",
            "--max-lost-pushes=0",
        ]
    )
    assert LoadOptions.from_parsed(parsed).thresholds == Thresholds(0.0, 0.0, 1.0, 0)
    parsed = parser.parse_args(["--max-fail-ratio=0"])
    assert LoadOptions.from_parsed(parsed).thresholds.max_fail_ratio == 0.0
