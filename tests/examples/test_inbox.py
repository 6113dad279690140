"""The inbox example (examples/inbox): another Django Channels app, tested with YAML only.

The bundled conformance suite runs against it with nothing but its config and contract:
session-cookie auth after Django's form login, UUID user ids, a welcome after the hello,
pushes only through its Redis channel layer. The clean app passes; each of its fault
switches is caught by the scenarios its catalogue names (examples/inbox/faults.yaml,
judged by ``harness.mutation.judge``, as ``python -m harness.mutation`` scores it).
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness import mutation
from harness.auth import LoginFailed, TokenProvider
from harness.cli import main as cli_main
from harness.client import WsClient
from harness.config import HarnessConfig, load_config
from harness.contract import load_contract
from harness.errors import TargetNotReadyError
from harness.protocol import ProtocolSession, ProtocolSpec
from harness.push import PushRequest, PushTrigger
from harness.targets import TargetOptions, make_target

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "inbox"
CONFIG = EXAMPLE / "inbox.config.yaml"
CONTRACT = EXAMPLE / "inbox.asyncapi.yaml"
CATALOGUE = mutation.load_catalogue(EXAMPLE / "faults.yaml")
WORKERS = 2  # fault runs at once; each gets its own Redis database
RUN_TIMEOUT = 180.0


def app_faults() -> set[str]:
    """The fault switches the app declares (inbox/faults.py's FAULTS), without importing it."""
    tree = ast.parse((EXAMPLE / "inbox" / "faults.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "FAULTS":
            return set(ast.literal_eval(node.value))
    raise AssertionError("inbox/faults.py declares no FAULTS")


def test_the_catalogue_covers_every_fault_switch_of_the_app() -> None:
    assert set(CATALOGUE.faults) == app_faults()
    assert len(CATALOGUE.faults) >= 8


def conformance(redis_url: str, *args: str) -> mutation.RunResult:
    """One child run of the bundled suite against the example, its Redis at ``redis_url``."""
    with tempfile.TemporaryDirectory(prefix="ws-harness-inbox-") as workdir:
        junit = Path(workdir) / "junit.xml"
        command = mutation.conformance_command(junit, f"--ws-config={CONFIG}", *args)
        env = {**os.environ, "INBOX_REDIS_URL": redis_url}
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, env=env, timeout=RUN_TIMEOUT
            )
        except subprocess.TimeoutExpired:
            return mutation.RunResult(-1, f"(the run took longer than {RUN_TIMEOUT:.0f}s)", [], 0)
        failed, total = mutation.read_junit(junit)
    return mutation.RunResult(done.returncode, done.stdout + done.stderr, failed, total)


def test_the_clean_app_passes_the_bundled_suite(redis_base: str) -> None:
    code, output, failed, total = conformance(f"{redis_base}/0", "-rs")
    assert code == 0 and not failed, f"failed: {failed}\n{output[-4000:]}"
    assert total >= 80
    # Every scenario applies to the example, except those that need replicas.
    skips = [line for line in output.splitlines() if line.startswith("SKIPPED")]
    assert all("--ws-replicas" in line for line in skips), output[-3000:]


def test_every_fault_switch_is_caught(redis_base: str) -> None:
    assert CATALOGUE.switch is not None

    def one(index: int, spec: mutation.FaultSpec) -> mutation.Verdict:
        started = time.monotonic()
        args = mutation.fault_args(spec, CATALOGUE.switch or "")
        result = conformance(f"{redis_base}/{index + 1}", *args)
        return mutation.judge(
            spec.name, spec.fail, result, spec.message, time.monotonic() - started
        )

    specs = list(CATALOGUE.faults.values())
    with ThreadPoolExecutor(WORKERS) as pool:
        verdicts = list(pool.map(one, range(len(specs)), specs))
    print("\n".join(mutation.render(verdicts)))
    missed = [mutation.explain(v) for v in verdicts if not v.caught]
    assert not missed, "\n\n".join(missed)


# -- the pieces on their own: login, readiness as a user, a command push --------------------


@pytest.fixture(scope="module")
def inbox(redis_base: str) -> Iterator[tuple[HarnessConfig, str]]:
    """The example app, started by the harness as its config says; (config, http_url)."""
    environ = {**os.environ, "INBOX_REDIS_URL": f"{redis_base}/63"}
    config = load_config(CONFIG, environ=environ)
    contract = load_contract(config.contract)
    with make_target(TargetOptions(), config, contract) as target:
        yield config, target.info.http_url


def test_session_login_gets_the_apps_session_cookie(inbox: tuple[HarnessConfig, str]) -> None:
    config, http_url = inbox
    cookie = TokenProvider(config, http_url).token("primary")
    assert len(cookie) >= 32
    shown = TokenProvider(config, http_url).credentials("primary")
    assert shown.headers["Cookie"].startswith("inbox_session=")
    assert shown.origin == http_url


def test_the_doctor_presents_the_session_and_the_origin_as_the_config_says(
    inbox: tuple[HarnessConfig, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # The app refuses a handshake without an Origin (Channels' stock validator) and its
    # member routes want the session cookie: probing without them, every route was refused.
    config, http_url = inbox
    cookie = TokenProvider(config, http_url).token("primary")
    url = "ws" + http_url.removeprefix("http")
    common = [url, "--json", "--timeout", "3", "--token", cookie]
    code = cli_main(["doctor", *common, "--config", str(CONFIG)])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, json.dumps(report, indent=1)[-3000:]
    declared = [
        handshake
        for route in report["observations"]["routes"]
        for handshake in route["handshakes"]
        if handshake["variant"] == "declared"
    ]
    assert declared and all(h["status"] == 101 and h["origin"] == http_url for h in declared)
    assert cookie not in json.dumps(report)  # a credential is never printed
    without_config = cli_main(["doctor", *common, "--contract", str(CONTRACT)])
    capsys.readouterr()
    assert without_config != 0


def test_a_wrong_password_is_one_line_naming_the_user(
    inbox: tuple[HarnessConfig, str], tmp_path: Path
) -> None:
    _, http_url = inbox
    text = CONFIG.read_text().replace("password: ada-pass", "password: wrong")
    (tmp_path / "inbox.asyncapi.yaml").write_text((EXAMPLE / "inbox.asyncapi.yaml").read_text())
    (tmp_path / "c.yaml").write_text(text.replace("cwd: .", f"cwd: {EXAMPLE}"))
    wrong = load_config(tmp_path / "c.yaml", environ={"INBOX_REDIS_URL": "redis://x:1/0"})
    with pytest.raises(LoginFailed) as info:
        TokenProvider(wrong, http_url).token("primary")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path / 'c.yaml'}: login for users.primary (ada) at ")
    assert "without a 'inbox_session' cookie" in message
    assert info.value.status == 200  # Django's LoginView shows the form again


def test_without_ready_user_readiness_says_to_set_it(redis_base: str, tmp_path: Path) -> None:
    """The configured ready route (live/inbox/) refuses anonymous clients with 4401: without
    target.ready_user, readiness fails fast (a wrong answer, not a timeout) with the fix."""
    text = CONFIG.read_text().replace("  ready_user: primary\n", "")
    text = text.replace("cwd: .", f"cwd: {EXAMPLE}").replace(
        "ready_timeout: 30", "ready_timeout: 20"
    )
    (tmp_path / "inbox.asyncapi.yaml").write_text((EXAMPLE / "inbox.asyncapi.yaml").read_text())
    (tmp_path / "c.yaml").write_text(text)
    config = load_config(tmp_path / "c.yaml", environ={"INBOX_REDIS_URL": f"{redis_base}/62"})
    contract = load_contract(config.contract)
    started = time.monotonic()
    with pytest.raises(TargetNotReadyError) as info, make_target(TargetOptions(), config, contract):
        pass
    assert time.monotonic() - started < 19  # a wrong answer ends the wait, no timeout
    message = str(info.value)
    assert "handshake accepted, then close 4401 before any frame" in message
    assert "set target.ready_user to a configured user" in message


async def test_a_push_through_the_apps_own_management_command(
    inbox: tuple[HarnessConfig, str], tmp_path: Path
) -> None:
    """push.method command: the app's manage.py push_event, templated in the config."""
    config, http_url = inbox
    text = CONFIG.read_text().replace("cwd: .", f"cwd: {EXAMPLE}")
    text = text.replace(
        "  method: channel_layer ",
        '  command: "{python} manage.py push_event member_${user} ${type} ${data}"\n'
        "  method: command ",
    )
    (tmp_path / "inbox.asyncapi.yaml").write_text((EXAMPLE / "inbox.asyncapi.yaml").read_text())
    (tmp_path / "c.yaml").write_text(text)
    environ = {"INBOX_REDIS_URL": config.target.env["INBOX_REDIS_URL"]}
    commanded = load_config(tmp_path / "c.yaml", environ=environ)
    assert commanded.push.method == "command"
    tokens = TokenProvider(config, http_url)
    shown = tokens.credentials("primary")
    user = config.user("primary")
    spec = ProtocolSpec.build(load_contract(config.contract), config)
    ws_url = http_url.replace("http://", "ws://") + "/live/feed/"
    client = await WsClient.open(
        ws_url,
        origin=shown.origin,
        headers=shown.headers,
        session=ProtocolSession(spec, user_id=user.user_id, user=user),
    )
    try:
        confirmed = await client.confirmed(5)
        assert confirmed is not None and confirmed.problem is None
        trigger = PushTrigger(commanded, http_url, tokens)
        data = {"noteId": "n-7", "sharedBy": "cy 'the admin'"}
        request = PushRequest("note_shared", "user", user_id=user.user_id, data=data)
        await asyncio.to_thread(trigger.send, request)
        pushed = await client.next_of_type("note_shared", 10)
        assert pushed.value["body"] == data
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("auth", "seen"),
    [
        ("{present: header, header: X-Api-Key, header_value: 'Key ${token}'}", "X-Api-Key"),
        ("{present: cookie, cookie: sid}", "Cookie"),
        ("{present: subprotocol, subprotocols: [bearer, '${token}']}", "Sec-WebSocket-Protocol"),
    ],
)
async def test_each_presentation_reaches_the_server(auth: str, seen: str, tmp_path: Path) -> None:
    """Header, cookie and subprotocol credentials arrive in the handshake (a plain
    websockets server on loopback records it and picks the first offered subprotocol)."""
    from websockets.asyncio.server import serve

    (tmp_path / "c.yaml").write_text(
        f"auth: {auth}\nusers:\n  primary: {{token: s3cret, user_id: 1}}\n"
    )
    config = load_config(tmp_path / "c.yaml", environ={})
    received: dict[str, str] = {}

    def record(connection: object, request: object) -> None:
        received.update(dict(request.headers.raw_items()))  # type: ignore[attr-defined]

    def first(connection: object, offered: list[str]) -> str | None:
        return offered[0] if offered else None

    async def echo(connection: object) -> None:
        await connection.wait_closed()  # type: ignore[attr-defined]

    async with serve(
        echo, "127.0.0.1", 0, process_request=record, select_subprotocol=first
    ) as server:
        port = server.sockets[0].getsockname()[1]
        shown = TokenProvider(config, f"http://127.0.0.1:{port}").credentials("primary")
        client = await WsClient.open(
            f"ws://127.0.0.1:{port}/x{shown.query}",
            headers=shown.headers,
            subprotocols=shown.subprotocols,
        )
        await client.close()
    assert "s3cret" in received[seen]


def test_hand_written_tests_connect_as_a_member(redis_base: str, tmp_path: Path) -> None:
    """The ws_connect fixture presents the session cookie and Origin the config asks for."""
    member = "3f2b8c1e-5a47-4d0e-9b6a-1c2d3e4f5a6b"
    (tmp_path / "test_mine.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.asyncio\n"
        "async def test_my_feed(ws_connect):\n"
        "    client = await ws_connect('member_feed', 'primary')\n"
        "    confirmed = await client.confirmed(5)\n"
        f"    assert confirmed.user_id == {member!r} and confirmed.problem is None\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "test_mine.py",
            f"--ws-config={CONFIG}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "INBOX_REDIS_URL": f"{redis_base}/61"},
        timeout=RUN_TIMEOUT,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout


def test_a_refused_ready_user_login_ends_readiness_with_the_fix(
    redis_base: str, tmp_path: Path
) -> None:
    """target.ready_user with a wrong password: the login is refused (Django shows the form
    again), a wrong answer that ends the wait at once with the hint, not a timeout."""
    text = CONFIG.read_text().replace("password: ada-pass", "password: wrong")
    text = text.replace("cwd: .", f"cwd: {EXAMPLE}").replace(
        "ready_timeout: 30", "ready_timeout: 20"
    )
    (tmp_path / "inbox.asyncapi.yaml").write_text((EXAMPLE / "inbox.asyncapi.yaml").read_text())
    (tmp_path / "c.yaml").write_text(text)
    config = load_config(tmp_path / "c.yaml", environ={"INBOX_REDIS_URL": f"{redis_base}/60"})
    started = time.monotonic()
    with (
        pytest.raises(TargetNotReadyError) as info,
        make_target(TargetOptions(), config, load_contract(config.contract)),
    ):
        pass
    assert time.monotonic() - started < 19
    message = str(info.value)
    assert "login for users.primary (ada)" in message
    assert "the readiness probe logs in as target.ready_user and the server refuses" in message


def test_json_session_login_with_a_custom_body(tmp_path: Path) -> None:
    """method session + login_format json: the body is the config's template (an app that
    signs in by e-mail), the credential is the cookie the answer sets (a 200, no redirect)."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[dict[str, object]] = []

    class Login(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(body)
            self.send_response(200 if body.get("password") == "pw" else 400)
            if body.get("password") == "pw":
                self.send_header("Set-Cookie", "sid=abc123; HttpOnly; Path=/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Login)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        (tmp_path / "c.yaml").write_text(
            "auth:\n  method: session\n  login_path: /api/login\n  cookie: sid\n"
            "  login_body: {email: '${username}', password: '${password}', remember: true}\n"
            "users:\n  primary: {username: a@example.com, password: pw}\n"
            "  secondary: {username: b@example.com, password: nope}\n"
        )
        config = load_config(tmp_path / "c.yaml", environ={})
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert TokenProvider(config, url).token("primary") == "abc123"
        assert seen[0] == {"email": "a@example.com", "password": "pw", "remember": True}
        with pytest.raises(LoginFailed) as info:
            TokenProvider(config, url).token("secondary")
        assert info.value.status == 400
        assert "login for users.secondary (b@example.com) failed at" in str(info.value)
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("locustfile", "extra"),
    [
        ("connection_throughput", ["--min-connect-rate", "1"]),
        ("heartbeat_latency", ["--heartbeat-interval", "0.2", "--max-p99-heartbeat-ms", "2000"]),
        ("push_fanout", ["--push-rate", "4", "--max-lost-pushes", "0"]),
    ],
)
def test_the_bundled_locustfiles_pass_against_the_app(
    inbox: tuple[HarnessConfig, str],
    redis_base: str,
    tmp_path: Path,
    locustfile: str,
    extra: list[str],
) -> None:
    """Its config alone tells the Locust users how to sign in (the session cookie), which
    Origin to send, and how to push (its channel layer)."""
    _, http_url = inbox
    command = [
        sys.executable, "-m", "locust", "-f", str(REPO / "locustfiles" / f"{locustfile}.py"),
        "--host", "ws" + http_url.removeprefix("http"), f"--ws-config={CONFIG}",
        "--headless", "--only-summary", "--stop-timeout", "2",
        "-u", "4", "-r", "4", "-t", "3s", "--max-fail-ratio", "0", *extra,
    ]  # fmt: skip
    env = {**os.environ, "INBOX_REDIS_URL": f"{redis_base}/63"}
    done = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=RUN_TIMEOUT
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]


def test_the_fuzz_and_security_suites_pass_from_the_apps_folder(redis_base: str) -> None:
    """``ws-harness run -m "fuzz or security"`` in the example's folder: its pytest.ini (no
    asyncio_mode) and config only; credentials, Origin and pushes as the config says."""
    env = {**os.environ, "INBOX_REDIS_URL": f"{redis_base}/62"}
    command = [sys.executable, "-m", "harness", "run", "-m", "fuzz or security", "-q"]
    done = subprocess.run(
        command, cwd=EXAMPLE, capture_output=True, text=True, env=env, timeout=RUN_TIMEOUT
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "13 passed" in done.stdout, done.stdout[-2000:]
