"""The pytest plugin, driven through pytester: options, collection, selection, reports."""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.bundled import scenarios_dir
from harness.config import load_config
from harness.contract import load_contract
from harness.targets import Target, TargetOptions, make_target

SCENARIOS = str(scenarios_dir())


@pytest.fixture(autouse=True)
def _quiet_asyncio_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")


@pytest.fixture(scope="module")
def running_target() -> Iterator[Target]:
    """A reference target started outside the pytest runs under test (for --ws-url)."""
    with make_target(TargetOptions(), load_config(), load_contract()) as target:
        yield target


def test_bad_backend_is_a_usage_error_naming_the_choices(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--ws-backend", "kubernetes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*'kubernetes': expected one of auto, process, docker, url*"])


def test_bad_url_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--ws-url", "http://localhost:8000")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*expected ws://HOST:PORT or wss://HOST:PORT*"])


def test_malformed_scenario_file_fails_collection_with_file_and_line(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(
        ".scenarios.yaml",
        broken="scenarios:\n  - id: x\n    steps:\n      - connect: permissions\n      - teleport: {}\n",
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*broken.scenarios.yaml:5: unknown step 'teleport'*"])


def test_k_anonymous_selects_exactly_the_anonymous_scenarios(pytester: pytest.Pytester) -> None:
    everything = pytester.runpytest(SCENARIOS, "--co", "-q", "-p", "no:cacheprovider")
    anonymous = pytester.runpytest(
        SCENARIOS, "--co", "-q", "-k", "anonymous", "-p", "no:cacheprovider"
    )
    marked = pytester.runpytest(
        SCENARIOS, "--co", "-q", "-m", "anonymous", "-p", "no:cacheprovider"
    )
    ids = lambda result: {line for line in result.outlines if "::" in line}  # noqa: E731
    assert ids(anonymous) and ids(anonymous) < ids(everything)
    assert ids(anonymous) == ids(marked)  # the name and the marker agree
    assert not any("bad_token" in i or "wrong_user" in i for i in ids(anonymous))


def test_conformance_against_an_already_running_server(
    pytester: pytest.Pytester, running_target: Target
) -> None:
    result = pytester.runpytest_subprocess(
        SCENARIOS,
        "-k",
        "heartbeat or permission_check",
        "--ws-url",
        running_target.info.ws_url,
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=16)  # 4 heartbeat replies, 4 + 4 probes, 4 permission replies
    result.stdout.fnmatch_lines(
        [f"ws-harness: backend url: {running_target.info.ws_url}*", "*ws-harness coverage*"]
    )


def test_unreachable_url_fails_with_one_clear_line(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        SCENARIOS,
        "-k",
        "heartbeat",
        "--ws-url",
        "ws://127.0.0.1:9",
        "--ws-ready-timeout",
        "1",
        "-p",
        "no:cacheprovider",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*ws-harness: the server at ws://127.0.0.1:9 was not ready after 1s*Hint: start your server*"
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_push_scenarios_skip_without_a_push_trigger(
    pytester: pytest.Pytester, running_target: Target
) -> None:
    config = Path(load_config().source).read_text().replace("method: http", "method: none")
    path = pytester.makefile(".yaml", nopush=config)
    result = pytester.runpytest_subprocess(
        SCENARIOS,
        "-m",
        "push",
        "--ws-url",
        running_target.info.ws_url,
        f"--ws-config={path}",
        "-rs",
        "-p",
        "no:cacheprovider",
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("skipped", 0) >= 7 and "passed" not in outcomes and "failed" not in outcomes
    result.stdout.fnmatch_lines(["*needs a push trigger; none is configured*"])


def run_wrong_request_id(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """The two anonymous permission_check_held scenarios against the wrong_request_id fault:
    both fail."""
    result = pytester.runpytest_subprocess(
        SCENARIOS,
        "-k",
        "permission_check_held and anonymous",
        "--ws-env",
        "TARGET_FAULTS=wrong_request_id",
        "-p",
        "no:cacheprovider",
        *args,
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    return result


def test_junit_carries_transcript_and_server_log(pytester: pytest.Pytester) -> None:
    run_wrong_request_id(pytester, "--junitxml=report.xml")
    elements = list(ET.parse(pytester.path / "report.xml").iter("failure"))
    # The message attribute is the one-line cause; the body has the frames and the log.
    assert [f.get("message") for f in elements] == [
        "'permission_check_response' on client does not answer the request sent"
    ] * 2
    failures = [f.text or "" for f in elements]
    for text in failures:
        assert "permission_check_response" in text and "request_id" in text
        assert "--- frames (>> sent, << received) ---" in text
        # The lines written while the scenario ran: the reference server logs none per frame.
        assert "--- server log while the scenario ran" in text and "wrote no log line" in text
        assert re.search(r"Received: .*request_id", text)


def test_the_server_log_shown_is_what_it_wrote_while_the_scenario_ran(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On CI (the CI variable) pytest puts a failure's whole text in its -ra summary line
    # unless the report carries a one-line reprcrash: the sections were printed twice.
    monkeypatch.setenv("CI", "true")
    result = run_wrong_request_id(pytester, "--ws-env", "TARGET_VERBOSE=1")  # logs every frame
    summary = result.stdout.str().split("short test summary info")[1].splitlines()[1:3]
    for line in summary:
        assert line.endswith(
            "- 'permission_check_response' on client does not answer the request sent"
        )
    sections = result.stdout.str().split("--- server log while the scenario ran")[1:]
    assert len(sections) == 2  # one per failing scenario
    # One server bug, one root cause: the request ids that differ are left out of it.
    result.stdout.fnmatch_lines(
        ["2 failures share one cause: 'permission_check_response' with request_id null"]
    )
    for section in sections:
        shown = section.split("\n_")[0].split("\n---")[0]
        assert "permission_check" in shown  # the frames of the scenarios that ran then
        assert "target ready" not in shown  # written at the start, before either ran


def test_hand_written_tests_get_fixtures_and_failure_transcripts(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_by_hand="""
        import pytest

        @pytest.mark.asyncio
        async def test_heartbeat_and_push(ws_connect, ws_push):
            client = await ws_connect("permissions", user="primary")
            confirmed = await client.next_of_type("connection_confirmed", 2)
            assert confirmed.value["data"]["user_id"] == 2
            await ws_push("cache_invalidation", to="primary", data={"cacheKeys": ["k"]})
            push = await client.next_of_type("cache_invalidation", 3)
            assert push.value["data"]["cacheKeys"] == ["k"]
            reply, seconds = await client.round_trip({"type": "heartbeat"}, 2)
            assert reply.type == "heartbeat_response" and seconds < 1

        @pytest.mark.asyncio
        async def test_fails_on_purpose(ws_connect):
            client = await ws_connect("permissions_anonymous")
            await client.send_json({"type": "heartbeat"})
            await client.next_of_type("no_such_reply", 0.3)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*no 'no_such_reply' message within 0.3s*",
            "*ws-harness frames*",
            '*anonymous >> {"type": "heartbeat"}*',
            "*ws-harness server log*",
        ]
    )


def test_xdist_gives_each_worker_its_own_server(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        SCENARIOS, "-n", "2", "-k", "heartbeat or ping", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=8)
    result.stdout.fnmatch_lines(["*ws-harness coverage*"])


def test_the_cli_run_command_passes_arguments_to_pytest() -> None:
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "-k", "connect_user", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "3 passed" in done.stdout


HOOKS = '''
"""Hooks that speak the reference target's HTTP API, as a team's own module would."""
import json
import urllib.request

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
CALLS = []


def _post(url, body, headers=None):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    with OPENER.open(request, timeout=5) as response:
        return json.loads(response.read() or b"null")


def get_token(user, http_url):
    return _post(http_url + "/api/auth/token/", {"username": user.username, "password": user.password})["token"]


def push(request, http_url):
    admin = _post(http_url + "/api/auth/token/", {"username": "admin", "password": "admin-pass"})["token"]
    body = {"type": request.type, "data": request.data, "user_id": request.user_id}
    _post(http_url + "/api/permissions/notify/", body, {"Authorization": "Token " + admin})
'''


def test_token_and_push_hooks_replace_the_http_defaults(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(team_hooks=HOOKS)
    config = Path(load_config().source).read_text()
    config = config.replace("method: login", "method: hook\n  hook: team_hooks:get_token")
    config = config.replace("method: http", "method: hook\n  hook: team_hooks:push")
    path = pytester.makefile(".yaml", hooks=config)
    result = pytester.runpytest_subprocess(
        SCENARIOS,
        "-k",
        "push_reaches_owner_only or connect_user",
        f"--ws-config={path}",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=7)


def test_confirmation_after_the_clients_connect_message(pytester: pytest.Pytester) -> None:
    command = "{python} -m target serve --host {host} --port {port} --confirm-on connect"
    config = Path(load_config().source).read_text().replace("after: accept", "after: connect")
    path = pytester.makefile(".yaml", connect=config)
    result = pytester.runpytest_subprocess(
        SCENARIOS,
        "-k",
        "heartbeat or connect_user",
        f"--ws-config={path}",
        "--ws-command",
        command,
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=7)
    # The same server with the default convention never sends its confirmation: caught at start.
    wrong = pytester.runpytest_subprocess(
        SCENARIOS, "-k", "heartbeat", "--ws-command", command, "-p", "no:cacheprovider"
    )
    assert wrong.ret == pytest.ExitCode.TESTS_FAILED
    wrong.stdout.fnmatch_lines(["*no first frame*set confirmation.after: connect*"])


def test_ctrl_c_stops_the_server(pytester: pytest.Pytester, tmp_path: Path) -> None:
    import signal
    import subprocess
    import time

    import psutil

    pytester.makepyfile(
        test_slow="""
        import time

        def test_holds_the_server(ws_target):
            print("SERVER_PID", ws_target.pid, flush=True)
            time.sleep(60)
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-s", "-p", "no:cacheprovider", str(pytester.path)],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        text=True,
        # A suite started in the background by a shell without job control inherits SIGINT
        # ignored, and Python then installs no KeyboardInterrupt handler: Ctrl-C as a user
        # sends it needs the default disposition.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stdout is not None
    server_pid = None
    deadline = time.monotonic() + 60
    while server_pid is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        if "SERVER_PID" in line:
            server_pid = int(line.split("SERVER_PID")[1].split()[0])
    assert server_pid and psutil.pid_exists(server_pid)
    process.send_signal(signal.SIGINT)
    output = process.communicate(timeout=30)[0]
    assert process.returncode == pytest.ExitCode.INTERRUPTED, output[-2000:]
    assert (
        not psutil.pid_exists(server_pid)
        or psutil.Process(server_pid).status() == psutil.STATUS_ZOMBIE
    )
