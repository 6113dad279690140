"""The conformance report as files: ``--ws-report report.html`` and ``--ws-report-json report.json``.

Two halves, because under pytest-xdist the process that runs a test is not the one that
writes the files:

- on the process that runs the test (a worker, or the only process), ``pytest_runtest_makereport``
  attaches a plain, JSON-able ``ws_harness`` dict to the report: the scenario, its failure
  (title, Received, Documented, step), its frames, the server's log tail on failure and the
  target's identity. An attribute rather than ``user_properties`` (which JUnit writes out as
  ``<property>`` elements: transcripts would bloat the XML) or ``sections`` (which the
  terminal prints for every failure); pytest serializes a report's extra attributes for
  xdist, the way pytest-html carries its extras.
- on the process that writes (the controller, or the only process), ``pytest_runtest_logreport``
  merges the phases of each test and ``pytest_sessionfinish`` writes the files with the exit
  code, once all tests have reported.

The JSON's shape is ``REPORT_SCHEMA`` (format ``ws-harness-report``, version 1): fields may be
added within a version, never renamed or removed. The HTML (``html_report``) renders the
same dict.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from harness._pytest.fixtures import TRANSCRIPT_KEY
from harness._pytest.session import SESSION_KEY, HarnessSession, _path_option
from harness.client import Frame, Transcript

FORMAT = "ws-harness-report"
VERSION = 1
REPORT_ATTRIBUTE = "ws_harness"  # the report attribute that carries a test's data to the writer
FRAME_LIMIT = 500  # frames kept per test (the last ones; the count of the others is kept)
FRAME_TEXT_LIMIT = 4000  # characters of one frame's text (a size-limit probe can be 1 MB)
MESSAGE_LIMIT = 8000  # characters of a non-scenario failure's text

# pytest's exit codes, for the reader of the report.
EXIT_MEANINGS = {
    0: "all tests passed",
    1: "tests failed",
    2: "interrupted or a usage error",
    3: "internal error",
    4: "usage error",
    5: "no tests collected",
}

OUTCOMES = ("passed", "failed", "error", "skipped")

_FRAME_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["connection", "direction", "at", "kind", "text", "size", "close_code"],
    "properties": {
        "connection": {"type": "string"},
        "direction": {"enum": ["sent", "received"]},
        "at": {"type": "number", "description": "seconds since the test's first frame"},
        "kind": {"enum": ["text", "binary", "close", "handshake", "note"]},
        "text": {"type": "string"},
        "size": {"type": "integer"},
        "close_code": {"type": ["integer", "null"]},
        "violations": {"type": "array", "items": {"type": "string"}},
        "unexplained": {"type": "string", "description": "why no expectation took it"},
    },
}

_TARGET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["backend", "ws_url", "pid", "instance", "image", "identity", "description"],
    "properties": {
        "backend": {"type": "string"},
        "ws_url": {"type": "string"},
        "pid": {"type": ["integer", "null"]},
        "instance": {"type": ["string", "null"], "description": "the identity's id field"},
        "image": {"type": ["string", "null"], "description": "docker: --ws-image"},
        "identity": {"type": "object", "description": "what the identity endpoint said"},
        "description": {"type": "string"},
        "worker": {"type": ["string", "null"], "description": "xdist worker id"},
    },
}

_TEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "nodeid", "name", "outcome", "duration_seconds", "cell", "frames"],
    "properties": {
        "id": {"type": "string", "description": "anchor in the HTML report: t-<n>"},
        "nodeid": {"type": "string"},
        "name": {"type": "string"},
        "outcome": {"enum": list(OUTCOMES)},
        "duration_seconds": {"type": "number"},
        "cell": {
            "type": ["object", "null"],
            "required": ["route", "message", "auth"],
            "properties": {k: {"type": "string"} for k in ("route", "message", "auth")},
        },
        "scenario": {
            "type": ["object", "null"],
            "properties": {
                "description": {"type": "string"},
                "file": {"type": "string"},
                "line": {"type": "integer"},
            },
        },
        "failure": {
            "type": ["object", "null"],
            "required": ["title", "received", "documented", "step", "cause"],
            "properties": {
                k: {"type": "string"} for k in ("title", "received", "documented", "step", "cause")
            },
        },
        "message": {"type": "string", "description": "pytest's failure text, when no failure"},
        "skip_reason": {"type": "string"},
        "frames": {"type": "array", "items": _FRAME_SCHEMA},
        "frames_omitted": {"type": "integer"},
        "log_tail": {"type": ["string", "null"], "description": "server log, failures only"},
        "worker": {"type": ["string", "null"]},
    },
}

REPORT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "ws-harness conformance report",
    "type": "object",
    "required": [
        "format",
        "version",
        "started_at",
        "duration_seconds",
        "exit_code",
        "exit_meaning",
        "command",
        "summary",
        "targets",
        "matrix",
        "causes",
        "tests",
        "collection_errors",
    ],
    "properties": {
        "format": {"const": FORMAT},
        "version": {"const": VERSION},
        "started_at": {"type": "string", "description": "ISO 8601, UTC"},
        "duration_seconds": {"type": "number"},
        "exit_code": {"type": "integer"},
        "exit_meaning": {"type": "string"},
        "command": {"type": "array", "items": {"type": "string"}},
        "summary": {
            "type": "object",
            "required": ["total", *OUTCOMES],
            "properties": {k: {"type": "integer"} for k in ("total", *OUTCOMES)},
        },
        "targets": {"type": "array", "items": _TARGET_SCHEMA},
        "matrix": {
            "type": "object",
            "required": ["columns", "messages", "cells"],
            "properties": {
                "columns": {
                    "type": "array",
                    "items": {"type": "object", "required": ["route", "auth"]},
                },
                "messages": {"type": "array", "items": {"type": "string"}},
                "cells": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["route", "message", "auth", "status", "tests"],
                        "properties": {
                            "status": {"enum": list(OUTCOMES)},
                            "tests": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                },
            },
        },
        "causes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["cause", "tests"],
                "properties": {
                    "cause": {"type": "string"},
                    "tests": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
        "tests": {"type": "array", "items": _TEST_SCHEMA},
        "collection_errors": {
            "type": "array",
            "items": {"type": "object", "required": ["nodeid", "message"]},
        },
    },
}


# ----------------------------------------------------------------- the test's side (worker)
def frame_data(frame: Frame) -> dict[str, Any]:
    text = frame.text
    if len(text) > FRAME_TEXT_LIMIT:
        text = f"{text[:FRAME_TEXT_LIMIT]}... ({len(text) - FRAME_TEXT_LIMIT} more characters)"
    return {
        "connection": frame.connection,
        "direction": frame.direction,
        "at": round(frame.at, 4),
        "kind": frame.kind,
        "text": text,
        "size": frame.size,
        "close_code": frame.close_code,
        "violations": [str(violation) for violation in frame.violations],
        "unexplained": frame.unexplained,
    }


def target_data(session: HarnessSession, worker: str | None) -> dict[str, Any] | None:
    """The started target's identity: pid, instance (the identity endpoint's id), image."""
    if not session.started:
        return None
    info = session.started[-1]
    spec = session.config.target.identity
    instance = info.identity.get(spec.id_field) if spec is not None and spec.id_field else None
    return {
        "backend": info.backend,
        "ws_url": info.ws_url,
        "pid": info.pid,
        "instance": str(instance) if instance is not None else None,
        "image": session.options.image if info.backend == "docker" else None,
        "identity": json.loads(json.dumps(info.identity, default=str)),
        "description": info.description,
        "worker": worker,
    }


def _transcript(item: pytest.Item) -> Transcript | None:
    verdict = getattr(item, "verdict", None)  # a ScenarioItem's, once it ran
    if verdict is not None:
        return verdict.transcript
    return item.stash.get(TRANSCRIPT_KEY, None)  # a hand-written test's ws_transcript


def test_data(item: pytest.Item, report: pytest.TestReport) -> dict[str, Any]:
    """What the report file needs of one phase of one test; plain data, so xdist carries it."""
    session: HarnessSession = item.config.stash[SESSION_KEY]
    worker = getattr(item.config, "workerinput", {}).get("workerid")
    data: dict[str, Any] = {"worker": worker, "target": target_data(session, worker)}
    scenario = getattr(item, "scenario", None)
    if scenario is not None:
        data["scenario"] = {
            "description": str(getattr(scenario, "description", "") or ""),
            "file": str(item.path),
            "line": int(getattr(scenario, "line", 0) or 0),
        }
    verdict = getattr(item, "verdict", None)
    failure = getattr(verdict, "failure", None)
    if failure is not None and not report.passed:
        data["failure"] = {
            "title": failure.title,
            "received": failure.received,
            "documented": failure.documented,
            "step": failure.step,
            "cause": failure.root_cause,
        }
    transcript = _transcript(item)
    frames = list(transcript) if transcript is not None else []
    data["frames"] = [frame_data(frame) for frame in frames[-FRAME_LIMIT:]]
    data["frames_omitted"] = max(0, len(frames) - FRAME_LIMIT)
    if report.failed:
        data["log_tail"] = session.log_tail(getattr(item, "verdict", None)) or None
    return data


# ----------------------------------------------------------------- the writer's side
@dataclass
class _Test:
    nodeid: str
    outcome: str = "passed"
    duration: float = 0.0
    cell: dict[str, str] | None = None
    cause: str = ""
    skip_reason: str = ""
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def _phase_outcome(report: pytest.TestReport) -> str:
    """pytest's phases folded the JUnit way: a failing setup or teardown is an ERROR."""
    if report.skipped:
        return "skipped"  # xfail included: an expected failure is not the server's
    if report.failed:
        return "failed" if report.when == "call" else "error"
    return "passed"


def _longrepr_text(report: pytest.TestReport | pytest.CollectReport) -> str:
    text = report.longreprtext or ""
    return text if len(text) <= MESSAGE_LIMIT else "...\n" + text[-MESSAGE_LIMIT:]


class ReportFiles:
    """Registered when ``--ws-report`` or ``--ws-report-json`` is given, on every process."""

    def __init__(self, html: str | None, json_path: str | None) -> None:
        self.html = html
        self.json = json_path
        self.started = time.time()
        self.tests: dict[str, _Test] = {}
        self.collection_errors: list[dict[str, str]] = []

    # -- worker side
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[Any]
    ) -> Generator[None, Any, None]:
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        if report.when == "call" or not report.passed:
            setattr(report, REPORT_ATTRIBUTE, test_data(item, report))

    # -- writer side
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.started = time.time()

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors.append(
                {"nodeid": report.nodeid, "message": _longrepr_text(report)}
            )

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        test = self.tests.setdefault(report.nodeid, _Test(report.nodeid))
        test.duration += report.duration
        for name, value in report.user_properties:
            if name == "ws_coverage" and test.cell is None:
                route, message, auth = str(value).split("|")
                test.cell = {"route": route, "message": message, "auth": auth}
            elif name == "ws_cause":
                test.cause = str(value)
        phase = _phase_outcome(report)
        data = getattr(report, REPORT_ATTRIBUTE, None)
        if phase == "passed":
            if report.when == "call" and test.outcome == "passed":
                test.data = data or test.data
            return
        # The first phase that did not pass decides: a failing teardown after a failure keeps
        # the failure; a teardown error after a skip is an error.
        if test.outcome == "passed" or (test.outcome == "skipped" and phase != "skipped"):
            test.outcome = phase
            test.data = data or test.data
            if phase == "skipped":
                test.skip_reason = _skip_reason(report)
            else:
                test.message = _longrepr_text(report)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if hasattr(session.config, "workerinput"):
            return  # a worker: the controller writes, from the reports the workers sent
        command = redact_command(list(session.config.invocation_params.args))
        data = self.build(int(session.exitstatus), command)
        for path, text in (
            (self.json, lambda: json.dumps(data, indent=1) + "\n"),
            (self.html, lambda: _render_html(data)),
        ):
            if path:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                Path(path).write_text(text(), encoding="utf-8")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for path in (self.html, self.json):
            if path:
                terminalreporter.write_sep("-", f"ws-harness report: {path}")

    # -- the document
    def build(self, exit_code: int, command: list[str]) -> dict[str, Any]:
        """The report as plain data (``REPORT_SCHEMA``)."""
        tests = []
        ids: dict[str, str] = {}
        targets: dict[tuple[Any, ...], dict[str, Any]] = {}
        for index, test in enumerate(self.tests.values(), 1):
            ids[test.nodeid] = f"t-{index}"
            data = test.data
            target = data.get("target")
            if target:
                targets.setdefault((target["backend"], target["ws_url"], target["pid"]), target)
            tests.append(
                {
                    "id": ids[test.nodeid],
                    "nodeid": test.nodeid,
                    "name": test.nodeid.split("::")[-1],
                    "outcome": test.outcome,
                    "duration_seconds": round(test.duration, 4),
                    "cell": test.cell,
                    "scenario": data.get("scenario"),
                    "failure": data.get("failure") if test.outcome in ("failed", "error") else None,
                    # pytest's text only where no structured failure says it better
                    "message": (
                        test.message
                        if test.outcome in ("failed", "error") and not data.get("failure")
                        else ""
                    ),
                    "skip_reason": test.skip_reason,
                    "frames": data.get("frames", []),
                    "frames_omitted": data.get("frames_omitted", 0),
                    "log_tail": data.get("log_tail"),
                    "worker": data.get("worker"),
                }
            )
        summary = {outcome: 0 for outcome in OUTCOMES}
        for test in tests:
            summary[test["outcome"]] += 1
        return {
            "format": FORMAT,
            "version": VERSION,
            "started_at": datetime.fromtimestamp(self.started, UTC).isoformat(timespec="seconds"),
            "duration_seconds": round(time.time() - self.started, 3),
            "exit_code": exit_code,
            "exit_meaning": EXIT_MEANINGS.get(exit_code, "unknown"),
            "command": command,
            "summary": {"total": len(tests), **summary},
            "targets": list(targets.values()),
            "matrix": build_matrix(tests),
            "causes": build_causes(tests, self.tests),
            "tests": tests,
            "collection_errors": self.collection_errors,
        }


_SECRET = re.compile(r"secret|token|passw|key|credential|auth|cookie", re.IGNORECASE)


def redact_command(args: list[str]) -> list[str]:
    """The command line with the values of secret-looking ``--ws-env`` keys replaced: a report
    is a CI artifact, and ``--ws-env=API_TOKEN=...`` must not travel with it."""
    shown, env_next = [], False
    for arg in args:
        value = arg.removeprefix("--ws-env=") if arg.startswith("--ws-env=") else None
        if env_next:
            value, env_next = arg, False
        elif arg == "--ws-env":
            env_next = True
        if value is not None and "=" in value and _SECRET.search(value.split("=", 1)[0]):
            arg = arg[: len(arg) - len(value)] + value.split("=", 1)[0] + "=***"
        shown.append(arg)
    return shown


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(getattr(report, "wasxfail", "") or "")


def cell_status(outcomes: list[str]) -> str:
    """A cell is as bad as its worst scenario: failed, then error, passed, skipped."""
    for status in ("failed", "error", "passed"):
        if status in outcomes:
            return status
    return "skipped"


def build_matrix(tests: list[dict[str, Any]]) -> dict[str, Any]:
    """Rows: messages; columns: route / auth pairs; a cell: its status and its tests' nodeids."""
    cells: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for test in tests:
        cell = test["cell"]
        if cell is not None:
            cells.setdefault((cell["route"], cell["message"], cell["auth"]), []).append(test)
    columns = sorted({(route, auth) for route, _, auth in cells})
    return {
        "columns": [{"route": route, "auth": auth} for route, auth in columns],
        "messages": sorted({message for _, message, _ in cells}),
        "cells": [
            {
                "route": route,
                "message": message,
                "auth": auth,
                "status": cell_status([test["outcome"] for test in members]),
                "tests": [test["nodeid"] for test in members],
            }
            for (route, message, auth), members in sorted(cells.items())
        ],
    }


def build_causes(tests: list[dict[str, Any]], merged: dict[str, _Test]) -> list[dict[str, Any]]:
    """Failed tests grouped by their first cause, largest group first (as the terminal)."""
    groups: dict[str, list[str]] = {}
    for test in tests:
        cause = merged[test["nodeid"]].cause
        if test["outcome"] == "failed" and cause:
            groups.setdefault(cause, []).append(test["nodeid"])
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    return [{"cause": cause, "tests": nodeids} for cause, nodeids in ordered]


def _render_html(data: dict[str, Any]) -> str:
    from harness._pytest.html_report import render_html  # only when an HTML file is asked for

    return render_html(data)


def register(config: pytest.Config) -> None:
    """Register the writer when ``--ws-report`` or ``--ws-report-json`` (or the ini keys) ask."""
    html, json_path = _path_option(config, "ws_report"), _path_option(config, "ws_report_json")
    if html or json_path:
        config.pluginmanager.register(ReportFiles(html, json_path), "ws-harness-report-files")
