"""Verdicts that never lie, against a small server with a protocol of its own.

The server speaks the tiny protocol below and misbehaves on purpose, path by path:
``/t/ok/`` behaves; ``/t/extra/`` sends one reply too many; ``/t/badwelcome/`` confirms with
a frame that breaks its schema; ``/t/slam/`` accepts and closes before any frame.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from harness._pytest.report import render_causes
from harness.config import HarnessConfig, PushSpec
from harness.contract import Contract, load_contract
from harness.engine import load_scenarios, run_scenario
from harness.engine.runner import RunContext
from harness.errors import TargetNotReadyError
from harness.protocol import ProtocolSpec
from harness.targets.base import TargetInfo
from harness.targets.readiness import WebSocketProbe, wait_until_ready

CONTRACT = """
asyncapi: 3.0.0
info: {title: tiny, version: "1"}
x-message-type-field: kind
x-roles:
  liveness: {send: {kind: beat}}
channels:
  ok: {address: t/ok/, x-auth: anonymous, messages: {}}
  extra: {address: t/extra/, x-auth: anonymous, messages: {}}
  badwelcome: {address: t/badwelcome/, x-auth: anonymous, messages: {}}
  slam: {address: t/slam/, x-auth: anonymous, messages: {}}
operations:
  sendWelcome: {action: send, channel: {$ref: '#/channels/ok'}, messages: [{$ref: '#/components/messages/welcome'}]}
  receiveBeat:
    action: receive
    channel: {$ref: '#/channels/ok'}
    messages: [{$ref: '#/components/messages/beat'}]
    reply: {messages: [{$ref: '#/components/messages/beat_ack'}]}
components:
  messages:
    welcome:
      tags: [{name: confirmation}]
      payload: {type: object, required: [kind, body]}
    beat: {payload: {type: object}}
    beat_ack: {payload: {type: object, required: [kind]}}
"""


async def _serve(connection: ServerConnection) -> None:
    path = connection.request.path if connection.request else ""
    if path.startswith("/t/slam/"):
        await connection.close(1000)
        return
    welcome = (
        {"kind": "welcome"}
        if path.startswith("/t/badwelcome/")
        else {"kind": "welcome", "body": {}}
    )
    await connection.send(json.dumps(welcome))
    async for text in connection:
        if json.loads(text).get("kind") == "beat":
            await connection.send(json.dumps({"kind": "beat_ack"}))
            if path.startswith("/t/extra/"):
                await connection.send(json.dumps({"kind": "beat_ack"}))


@pytest.fixture(scope="module")
def server() -> Iterator[TargetInfo]:
    """The server on its own event loop in a thread (pytester runs pytest in this process)."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    async def main() -> None:
        async with serve(_serve, "127.0.0.1", 0) as running:
            holder["port"] = running.sockets[0].getsockname()[1]
            holder["stop"] = loop.create_future()
            started.set()
            await holder["stop"]

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    started.wait(5)
    yield TargetInfo(backend="url", host="127.0.0.1", port=holder["port"])
    loop.call_soon_threadsafe(holder["stop"].set_result, None)
    thread.join(5)


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Contract:
    path = tmp_path_factory.mktemp("tiny") / "tiny.asyncapi.yaml"
    path.write_text(CONTRACT)
    return load_contract(path)


@pytest.fixture(autouse=True)
def _quiet_asyncio_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")


CONFIG = HarnessConfig(source="tiny.config.yaml", push=PushSpec(method="none"))


def _verdict(
    tmp_path: Path, contract: Contract, server: TargetInfo, text: str, strict: bool = False
) -> Any:
    path = tmp_path / "t.scenarios.yaml"
    path.write_text(text)
    (scenario,) = load_scenarios(path, contract, CONFIG)
    context = RunContext.create(contract, CONFIG, server, strict_frames=strict)
    return asyncio.run(run_scenario(scenario, context))


BEAT = """
scenarios:
  - id: beat
    message: beat
    {extra}
    steps:
      - connect: {{route: {route}}}
      - send: {{kind: beat}}
      - expect_reply: {{}}
"""


def test_a_well_behaved_server_passes(
    tmp_path: Path, contract: Contract, server: TargetInfo
) -> None:
    verdict = _verdict(tmp_path, contract, server, BEAT.format(route="ok", extra=""))
    assert verdict.outcome == "passed", verdict.failure


def test_a_frame_nobody_asked_for_fails_the_scenario_and_is_marked(
    tmp_path: Path, contract: Contract, server: TargetInfo
) -> None:
    verdict = _verdict(tmp_path, contract, server, BEAT.format(route="extra", extra=""))
    assert verdict.outcome == "failed"
    assert verdict.failure.title == "1 frame nobody asked for"
    assert "'beat_ack' frame (documented) that answers no request" in verdict.failure.received
    assert "the end of the scenario" in verdict.failure.step
    assert "!! unexplained: a 'beat_ack' frame" in verdict.transcript.render()


def test_types_a_scenario_declares_unsolicited_are_allowed(
    tmp_path: Path, contract: Contract, server: TargetInfo
) -> None:
    text = BEAT.format(route="extra", extra="unsolicited: [beat_ack]")
    assert _verdict(tmp_path, contract, server, text).outcome == "passed"


def test_a_violation_outside_the_subject_is_judged_by_its_own_scenario(
    tmp_path: Path, contract: Contract, server: TargetInfo
) -> None:
    beat = BEAT.format(route="badwelcome", extra="")
    assert _verdict(tmp_path, contract, server, beat).outcome == "passed"
    strict = _verdict(tmp_path, contract, server, beat, strict=True)
    assert strict.outcome == "failed" and "welcome" in strict.failure.title
    own = beat.replace("message: beat", "message: welcome")
    verdict = _verdict(tmp_path, contract, server, own)
    assert verdict.outcome == "failed"
    assert verdict.failure.root_cause == "welcome at $: 'body' is a required property"


def test_a_harness_problem_is_an_error_not_a_failure(
    tmp_path: Path, contract: Contract, server: TargetInfo
) -> None:
    text = BEAT.format(route="ok", extra="").replace(
        "{kind: beat}", "{kind: beat, n: '${users.nobody.id}'}"
    )
    verdict = _verdict(tmp_path, contract, server, text)
    assert verdict.outcome == "error"
    assert "nobody" in verdict.failure.title


def test_failures_are_grouped_by_their_first_cause() -> None:
    lines = render_causes({"A at $.x: bad": ["s1", "s2", "s3", "s4"], "close 4001": ["s5"]})
    assert lines == [
        "4 failures share one cause: A at $.x: bad",
        "    s1, s2, s3 and 1 more",
        "1 failure: close 4001",
        "    s5",
    ]


def test_readiness_reads_an_accept_then_close_as_an_answer(
    contract: Contract, server: TargetInfo
) -> None:
    probe = WebSocketProbe(path="/t/slam/", spec=ProtocolSpec.build(contract, CONFIG))
    started = time.monotonic()
    with pytest.raises(TargetNotReadyError) as info:
        wait_until_ready(server, probe, 20, lambda: None, lambda: "")
    assert time.monotonic() - started < 3  # not the 20 s timeout: the answer was clear
    message = str(info.value)
    assert "then close 1000 before any frame" in message
    assert (
        "consumer closes every connection" in message
        and "start" not in message.split("Hint")[1][:20]
    )


def test_pytest_shows_harness_problems_as_errors_and_groups_causes(
    pytester: pytest.Pytester, server: TargetInfo, contract: Contract
) -> None:
    (pytester.path / "tiny.asyncapi.yaml").write_text(CONTRACT)
    (pytester.path / "tiny.config.yaml").write_text("push: {method: none}\n")
    pytester.makefile(
        ".scenarios.yaml",
        cases=(
            "scenarios:\n"
            "  - id: extra\n    message: beat\n    each: [{n: 1}, {n: 2}]\n    steps:\n"
            "      - connect: {route: extra}\n      - send: {kind: beat}\n      - expect_reply: {}\n"
            "  - id: broken\n    steps:\n"
            "      - connect: {route: ok}\n      - send: {kind: beat, n: '${users.nobody.id}'}\n"
            "  - id: needs_a_user\n    steps:\n      - connect: {route: ok, auth: user}\n"
        ),
    )
    result = pytester.runpytest(
        f"--ws-url={server.ws_url}",
        "--ws-config=tiny.config.yaml",
        "--ws-contract=tiny.asyncapi.yaml",
        "-p",
        "no:cacheprovider",
        "-rsE",
    )
    result.assert_outcomes(failed=2, errors=1, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of*broken*",
            "*scenario error: ${users.nobody.id}: nothing named*",
            "*2 failures share one cause: unexplained frame*",
            "*needs the user(s) primary, which *tiny.config.yaml does not declare*",
            "ERROR *broken* - scenario error: *",  # the summary names the problem
        ]
    )
    assert "Traceback" not in result.stdout.str() and "raise " not in result.stdout.str()


def test_a_missing_config_file_is_one_usage_error_line(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--ws-config=nowhere.yaml", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: *nowhere.yaml: cannot read: No such file or directory"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
