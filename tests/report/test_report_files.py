"""--ws-report / --ws-report-json from hand-written tests in a pytester run (no server): the
phases fold into one outcome each, the matrix and causes come from the reports'
properties, the JSON keeps its documented shape and the HTML escapes what servers send."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from harness._pytest.html_report import render_html
from harness._pytest.report_files import REPORT_SCHEMA

TESTS = """
import pytest

def test_passes(ws_transcript, record_property):
    record_property("ws_coverage", "room|ping|user")
    ws_transcript.record("client", "sent", "text", text='{"type": "ping"}', size=16)
    ws_transcript.record("client", "received", "text", text='{"type": "pong"}', size=16)

def test_fails(ws_transcript, record_property):
    record_property("ws_coverage", "room|chat|user")
    record_property("ws_cause", "no reply to chat")
    ws_transcript.record("client", "sent", "text", text="</script><img src=x onerror=alert(1)>")
    ws_transcript.record("client", "received", "close", close_code=4001, text="bye")
    assert False, "no reply to chat"

def test_skipped(record_property):
    record_property("ws_coverage", "room|push|user")
    pytest.skip("needs a push trigger")

@pytest.fixture
def broken(record_property):
    record_property("ws_coverage", "room|chat|anonymous")
    raise RuntimeError("harness problem")

def test_error(broken):
    pass
"""


@pytest.fixture(autouse=True)
def _quiet_asyncio_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")


def _by_name(data: dict) -> dict[str, dict]:
    return {test["name"]: test for test in data["tests"]}


def test_the_json_report_has_each_outcome_the_matrix_and_the_causes(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_hand=TESTS)
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--ws-report=r.html", "--ws-report-json=out/r.json"
    )
    assert result.ret == 1
    data = json.loads((pytester.path / "out" / "r.json").read_text())
    jsonschema.validate(data, REPORT_SCHEMA)
    assert data["exit_code"] == 1
    assert data["summary"] == {"total": 4, "passed": 1, "failed": 1, "error": 1, "skipped": 1}
    tests = _by_name(data)
    assert {name: test["outcome"] for name, test in tests.items()} == {
        "test_passes": "passed",
        "test_fails": "failed",
        "test_skipped": "skipped",
        "test_error": "error",
    }
    assert [f["text"] for f in tests["test_passes"]["frames"]] == [
        '{"type": "ping"}',
        '{"type": "pong"}',
    ]
    failed = tests["test_fails"]
    assert failed["frames"][-1]["close_code"] == 4001
    assert "no reply to chat" in failed["message"]
    assert failed["log_tail"] is None  # no server was started
    assert "harness problem" in tests["test_error"]["message"]
    assert tests["test_skipped"]["skip_reason"] == "needs a push trigger"
    cells = {(c["message"], c["auth"]): c["status"] for c in data["matrix"]["cells"]}
    assert cells == {
        ("ping", "user"): "passed",
        ("chat", "user"): "failed",
        ("push", "user"): "skipped",
        ("chat", "anonymous"): "error",
    }
    assert data["causes"] == [{"cause": "no reply to chat", "tests": [failed["nodeid"]]}]
    assert data["targets"] == []
    result.stdout.fnmatch_lines(["*ws-harness report: *r.html*"])


def test_the_html_report_is_self_contained_and_escapes_frames(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_hand=TESTS)
    pytester.runpytest("-p", "no:cacheprovider", "--ws-report=r.html")
    page = (pytester.path / "r.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "loads from the network"
    assert not re.search(r"<link\b", page)
    assert "<img src=x" not in page
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert page.count("<script>") == 1  # only the page's own
    assert re.search(r'<td class="cell failed" data-tests="t-\d+"', page)
    assert 'id="exit-code"><b>exit 1</b>' in page


def test_a_passing_run_reports_exit_0_and_the_ini_keys_work(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
        "ws_report = reports/r.html\nws_report_json = reports/r.json\n"
    )
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    assert pytester.runpytest("-p", "no:cacheprovider").ret == 0
    data = json.loads((pytester.path / "reports" / "r.json").read_text())
    assert (data["exit_code"], data["exit_meaning"]) == (0, "all tests passed")
    assert data["matrix"] == {"columns": [], "messages": [], "cells": []}
    assert 'id="exit-code"><b>exit 0</b>' in (pytester.path / "reports" / "r.html").read_text()


def test_secret_looking_server_environment_is_not_in_the_report(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    pytester.runpytest(
        "-p",
        "no:cacheprovider",
        "--ws-env=API_TOKEN=s3cret",
        "--ws-env",
        "DB_PASSWORD=hunter2",
        "--ws-env=TARGET_FAULTS=heartbeat_silent",
        "--ws-report=r.html",
        "--ws-report-json=r.json",
    )
    for name in ("r.html", "r.json"):
        text = (pytester.path / name).read_text()
        assert "s3cret" not in text and "hunter2" not in text
        assert "API_TOKEN=***" in text and "DB_PASSWORD=***" in text
        assert "TARGET_FAULTS=heartbeat_silent" in text


def test_no_report_option_writes_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_ok="def test_ok(request):\n    assert request.config.pluginmanager"
        ".get_plugin('ws-harness-report-files') is None\n"
    )
    assert pytester.runpytest("-p", "no:cacheprovider").ret == 0


def test_a_collection_error_is_in_the_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_broken="import nowhere_to_be_found\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--ws-report-json=r.json")
    data = json.loads((pytester.path / "r.json").read_text())
    assert data["exit_code"] == result.ret == 2
    (error,) = data["collection_errors"]
    assert "nowhere_to_be_found" in error["message"]
    assert "nowhere_to_be_found" in render_html(data)
