"""The report files of a real conformance run against the reference target with a fault,
on two xdist workers: what the workers saw reaches the controller's files."""

from __future__ import annotations

import jsonschema
import pytest
from report_support import ReportRun

from harness import mutation
from harness._pytest.report_files import REPORT_SCHEMA

pytestmark = pytest.mark.slow


def test_the_json_report_of_a_failing_run(failing_run: ReportRun) -> None:
    data = failing_run.data
    jsonschema.validate(data, REPORT_SCHEMA)
    assert failing_run.code == data["exit_code"] == 1, failing_run.output[-3000:]
    failed_in_junit, total = mutation.read_junit(failing_run.junit)
    failed = [test for test in data["tests"] if test["outcome"] == "failed"]
    assert sorted(test["name"] for test in failed) == sorted(failed_in_junit)
    assert data["summary"]["total"] == total and data["summary"]["passed"] == total - len(failed)
    statuses = {(cell["message"], cell["status"]) for cell in data["matrix"]["cells"]}
    assert statuses == {("heartbeat", "failed"), ("permission_check", "passed")}
    (group,) = data["causes"]
    assert "heartbeat" in group["cause"]
    assert sorted(group["tests"]) == sorted(test["nodeid"] for test in failed)


def test_each_test_carries_its_transcript_and_failures_the_log_tail(failing_run: ReportRun) -> None:
    for test in failing_run.data["tests"]:
        sent = [
            f["text"] for f in test["frames"] if f["direction"] == "sent" and f["kind"] == "text"
        ]
        assert sent, f"{test['name']}: no frames"
        if test["outcome"] == "failed":
            assert test["failure"]["received"] == "nothing"
            assert any("heartbeat" in text for text in sent)
            # What the server wrote while the scenario ran: its frames, not the start line.
            assert "heartbeat" in test["log_tail"] and "target ready" not in test["log_tail"]
        else:
            assert test["failure"] is None and test["log_tail"] is None


def test_the_report_names_each_workers_target(failing_run: ReportRun) -> None:
    targets = failing_run.data["targets"]
    assert sorted(target["worker"] for target in targets) == ["gw0", "gw1"]
    for target in targets:
        assert target["backend"] == "process"
        assert target["pid"] == target["identity"]["pid"]
        assert target["instance"] == target["identity"]["instance_id"]
        assert target["ws_url"].startswith("ws://127.0.0.1:")
    workers = {test["worker"] for test in failing_run.data["tests"]}
    assert workers == {"gw0", "gw1"}
