"""One small failing conformance run with --ws-report and --ws-report-json, for the report tests."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import mutation

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 180.0 * float(os.environ.get("WS_HARNESS_TIMEOUT_FACTOR", "1"))
# heartbeats go unanswered: the heartbeat cells fail, the permission_check cells pass
FAULT = "TARGET_FAULTS=heartbeat_silent"
SUBSET = "request_reply and (heartbeat or permission_check)"


@dataclass(frozen=True)
class ReportRun:
    """A child conformance run with --ws-report and --ws-report-json."""

    code: int
    output: str
    html: Path
    json_path: Path
    junit: Path

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.json_path.read_text())


def run_with_report(folder: Path) -> ReportRun:
    """The bundled suite against the reference target with a fault, on two xdist workers
    (so the report's data has to travel from the workers to the controller)."""
    html, json_path = folder / "out" / "report.html", folder / "out" / "report.json"
    command = mutation.conformance_command(
        folder / "junit.xml",
        f"--ws-env={FAULT}",
        "--ws-env=TARGET_VERBOSE=1",  # the server logs each frame: a failure's log has lines
        "-k",
        SUBSET,
        "-n",
        "2",
        f"--ws-report={html}",
        f"--ws-report-json={json_path}",
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=TIMEOUT, cwd=folder, env=env
    )
    output = done.stdout + done.stderr
    assert html.exists() and json_path.exists(), f"no report files written:\n{output[-4000:]}"
    return ReportRun(done.returncode, output, html, json_path, folder / "junit.xml")
