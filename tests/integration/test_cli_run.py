"""``ws-harness run`` started in a user's project behaves like pytest there (issue 11).

Each test builds a small project in a temporary directory (its own ``pytest.ini`` naming its
own config) and runs ``python -m harness run`` in it, as a user would. Before the fix, the
bundled folder passed as the first argument made pytest choose the harness's own rootdir and
ini file: the project's ``ws_config`` was ignored and the reference server tested instead.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from harness.bundled import DEFAULT_CONFIG, bundled

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 180


def _run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, "-m", "harness", "run", *args],
        cwd=project,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's project: a pytest.ini naming its own harness config, and its own tests."""
    (tmp_path / "my.config.yaml").write_text(bundled(DEFAULT_CONFIG).read_text())
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nws_config = my.config.yaml\ntestpaths = tests\n"
        "asyncio_default_fixture_loop_scope = function\n"
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_unrelated.py").write_text("def test_unrelated():\n    pass\n")
    return tmp_path


def test_the_projects_ini_file_and_config_are_used(project: Path) -> None:
    done = _run(project, "--co")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"rootdir: {project}" in done.stdout
    assert "configfile: pytest.ini" in done.stdout
    assert f"config {project / 'my.config.yaml'}" in done.stdout  # the plugin's header line


def test_a_broken_config_named_in_the_projects_ini_is_a_usage_error(project: Path) -> None:
    (project / "broken.yaml").write_text("users: [1]\n")
    (project / "pytest.ini").write_text("[pytest]\nws_config = broken.yaml\n")
    done = _run(project, "--co", "-q")
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout[-2000:]
    assert "broken.yaml:1: 'users' must be a mapping" in done.stderr


def test_bundled_scenarios_run_and_the_projects_testpaths_do_not(project: Path) -> None:
    done = _run(project, "--co", "-q")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "heartbeat" in done.stdout
    assert "test_unrelated" not in done.stdout


def test_the_conftest_files_of_testpaths_not_collected_are_not_imported(project: Path) -> None:
    # They cost the run their imports (a Django setup, in this repository) and run nothing.
    marker = project / "imported"
    (project / "tests" / "conftest.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('yes')\n"
    )
    done = _run(project, "--co", "-q")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert not marker.exists()
    given = _run(project, "tests", "--co", "-q")  # a folder given: its conftest is pytest's
    assert given.returncode == 0, given.stdout[-2000:] + given.stderr[-2000:]
    assert marker.exists()


def test_a_scenario_folder_given_is_collected_next_to_the_bundled_ones(project: Path) -> None:
    folder = project / "my_scenarios"
    folder.mkdir()
    (folder / "own.scenarios.yaml").write_text(
        "scenarios:\n"
        "  - id: my_own_connect\n"
        "    description: an anonymous connection is confirmed\n"
        "    message: ${confirmation}\n"
        "    steps:\n"
        '      - connect: {route: "@anonymous", auth: anonymous}\n'
    )
    done = _run(project, "my_scenarios/", "--co", "-q")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "my_own_connect" in done.stdout
    assert "request_reply[heartbeat" in done.stdout  # a bundled scenario
    assert "test_unrelated" not in done.stdout


def test_last_failed_reruns_only_the_failures(project: Path) -> None:
    """The cache plugin is on: a failed run's failures are what ``--lf`` selects."""
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    failed = _run(
        project, "-k", "heartbeat", "--ws-url", f"ws://127.0.0.1:{port}",
        "--ws-ready-timeout", "1", "-q",
    )  # fmt: skip
    assert failed.returncode == pytest.ExitCode.TESTS_FAILED, failed.stdout[-2000:]
    again = _run(project, "--lf", "--co", "-q")
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    listed = [line for line in again.stdout.splitlines() if "::" in line]
    assert listed and all("heartbeat" in line for line in listed), again.stdout[-2000:]
    assert "deselected" in again.stdout  # the others are left out


def test_fuzz_and_security_suites_are_selected_by_marker(project: Path) -> None:
    plain = _run(project, "--co", "-q")
    fuzz = _run(project, "-m", "fuzz or security", "--co", "-q")
    assert fuzz.returncode == 0, fuzz.stdout[-2000:] + fuzz.stderr[-2000:]
    assert "test_payloads.py::test_invalid_messages_get_documented_errors" in fuzz.stdout
    assert "test_security.py::test_bad_and_forged_tokens_are_refused" in fuzz.stdout
    assert "test_payloads.py" not in plain.stdout


def test_help_shows_the_harness_options_first(project: Path) -> None:
    done = _run(project, "--help")
    assert done.returncode == 0, done.stderr[-2000:]
    text = done.stdout
    assert text.startswith("usage: ws-harness run")
    assert text.index("--ws-backend") < text.index("general:")
    assert text.count("--ws-backend") == 1


@pytest.mark.parametrize(
    "ini",
    ["python_files = check_*.py", "python_functions = check_*", "python_files = test_*.py"],
)
def test_the_shipped_suite_is_collected_whatever_the_projects_names_are(
    project: Path, ini: str
) -> None:
    # With python_functions = check_*, the fuzz suite's modules were collected empty: a fuzz
    # run of nothing, which passes.
    (project / "pytest.ini").write_text(f"[pytest]\nws_config = my.config.yaml\n{ini}\n")
    done = _run(project, "-m", "fuzz", "--co", "-q")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    listed = [line for line in done.stdout.splitlines() if "::" in line]
    assert len(listed) == len(set(listed)), "a module collected twice"
    assert any("test_payloads.py::test_valid_messages_get_their_reply" in x for x in listed)
