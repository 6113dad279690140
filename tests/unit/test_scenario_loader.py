"""harness/engine/loader.py + model.py: bundled scenarios, names, markers, ``each``, errors."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from harness.bundled import scenarios_dir
from harness.config import HarnessConfig, load_config
from harness.contract import Contract
from harness.engine import model as m
from harness.engine.loader import load_scenarios
from harness.errors import ScenarioError

Write = Callable[[str, str], Path]

BUNDLED = sorted((scenarios_dir() / "conformance").glob("*.scenarios.yaml"))


def _error(path: Path, contract: Contract) -> tuple[int, str]:
    """(line, problem) of the ScenarioError that loading ``path`` raises."""
    with pytest.raises(ScenarioError) as info:
        load_scenarios(path, contract)
    message = str(info.value)
    found = re.match(rf"{re.escape(str(path))}:(\d+): (.*)", message, re.DOTALL)
    assert found, f"no file:line in {message!r}"
    return int(found.group(1)), found.group(2)


def _one(write: Write, contract: Contract, text: str) -> list[m.Scenario]:
    return load_scenarios(write("s.scenarios.yaml", text), contract)


# -- the bundled scenarios ------------------------------------------------------------------


def test_bundled_files_exist() -> None:
    names = {path.name for path in BUNDLED}
    assert {"messages.scenarios.yaml", "routes.scenarios.yaml", "pushes.scenarios.yaml"} <= names


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_bundled_scenarios_load(path: Path, contract: Contract) -> None:
    scenarios = load_scenarios(path, contract, load_config())
    assert scenarios
    for scenario in scenarios:
        assert scenario.file == str(path)
        assert scenario.line > 0
        assert scenario.steps
        assert all(step.line > 0 for step in scenario.steps)
        assert scenario.name.startswith(scenario.base)


@pytest.fixture(scope="module")
def bundled(contract: Contract) -> dict[str, m.Scenario]:
    config = load_config()
    return {s.name: s for path in BUNDLED for s in load_scenarios(path, contract, config)}


def test_bundled_names(bundled: dict[str, m.Scenario]) -> None:
    assert "request_reply[heartbeat-permissions-anonymous]" in bundled
    assert "request_reply[heartbeat-permissions_user-user]" in bundled
    assert "request_reply[ping-permissions_anonymous-anonymous]" in bundled
    assert "connect_user[permissions_user-user_secondary]" in bundled
    assert "missing_parameter[action-permissions-user]" in bundled
    assert "unknown_path_refused[missing_slash]" in bundled
    assert "push_reaches_owner_only[role_updated]" in bundled
    assert "push_to_role" in bundled  # no ``each``: no brackets


def test_bundled_markers(bundled: dict[str, m.Scenario]) -> None:
    assert "anonymous" in bundled["request_reply[heartbeat-permissions-anonymous]"].markers
    assert "user" in bundled["request_reply[heartbeat-permissions-user]"].markers
    assert "bad_token" in bundled["refused_not_authenticated[permissions-bad_token]"].markers
    assert "wrong_user" in bundled["refused_forbidden[permissions_user-wrong_user]"].markers
    owner = bundled["push_reaches_owner_only[permission_changed]"]
    assert {"push", "user", "anonymous"} <= set(owner.markers)
    assert owner.needs_push
    assert "push" not in bundled["request_reply[heartbeat-permissions-anonymous]"].markers
    assert not bundled["request_reply[heartbeat-permissions-anonymous]"].needs_push
    marked = [s for s in bundled.values() if any(isinstance(step, m.Push) for step in s.steps)]
    assert marked and all("push" in s.markers for s in marked)


def test_bundled_each_fills_case_values(bundled: dict[str, m.Scenario]) -> None:
    scenario = bundled["request_reply[heartbeat-permissions_user-user]"]
    connect = scenario.steps[0]
    assert isinstance(connect, m.Connect)
    assert connect.route == "permissions_user"
    assert connect.auth == m.Auth(mode="user")
    send = scenario.steps[1]
    assert isinstance(send, m.Send)
    assert send.message == {"type": "heartbeat"}  # the smallest payload its schema allows
    assert scenario.coverage == m.Coverage(
        route="permissions_user", message="heartbeat", auth="user"
    )


def test_bundled_whole_value_case_keeps_its_type(bundled: dict[str, m.Scenario]) -> None:
    push = next(
        s
        for s in bundled["push_reaches_owner_only[cache_invalidation]"].steps
        if isinstance(s, m.Push)
    )
    assert push.type == "cache_invalidation"
    assert push.data == {"userId": 0, "cacheKeys": ["user_permissions", "menu"]}  # its example


def test_bundled_run_time_templates_stay(bundled: dict[str, m.Scenario]) -> None:
    held = bundled["permission_check_held[permissions-user]"].steps[1]
    assert isinstance(held, m.Send)
    assert held.message["resource"] == "courses" and held.message["request_id"] == "${uuid}"
    reply = bundled["permission_check_held[permissions-user]"].steps[2]
    assert isinstance(reply, m.Expect)
    assert reply.match["has_permission"] == "${holds:courses.view}"
    push = next(s for s in bundled["push_to_role"].steps if isinstance(s, m.Push))
    assert push.to == "role:${users.primary.role}"


def test_bundled_close_codes_and_paths(bundled: dict[str, m.Scenario]) -> None:
    forbidden = bundled["refused_forbidden[permissions_user-wrong_user]"].steps[0]
    assert isinstance(forbidden, m.Connect)
    assert forbidden.outcome == "closed"
    assert forbidden.close_code == "forbidden"
    unknown = bundled["unknown_path_refused[other_prefix]"].steps[0]
    assert isinstance(unknown, m.Connect)
    assert unknown.route is None and unknown.path == "/ws-harness-unknown/permissions/"
    assert unknown.outcome == "refused"


# -- each, names and markers on small files ------------------------------------------------


def test_each_expansion_and_templates(write: Write, contract: Contract) -> None:
    scenarios = _one(
        write,
        contract,
        """
        scenarios:
          - id: hb
            message: heartbeat
            each:
              - {route: permissions, auth: anonymous}
              - {route: permissions_user, auth: user}
            steps:
              - connect: {route: "${route}", auth: "${auth}"}
              - send: {type: heartbeat, note: "on ${route} as ${user.user_id}", who: "${auth}"}
              - expect_reply: {}
        """,
    )
    assert [s.name for s in scenarios] == ["hb[permissions-anonymous]", "hb[permissions_user-user]"]
    assert [s.base for s in scenarios] == ["hb", "hb"]
    send = scenarios[1].steps[1]
    assert isinstance(send, m.Send)
    assert send.message == {
        "type": "heartbeat",
        "note": "on permissions_user as ${user.user_id}",
        "who": "user",
    }
    assert scenarios[0].markers == ("anonymous",)
    assert scenarios[1].markers == ("user",)
    assert scenarios[1].line == 6  # the case's line


def test_case_id_and_extra_markers(write: Write, contract: Contract) -> None:
    (scenario,) = _one(
        write,
        contract,
        """
        scenarios:
          - id: odd
            markers: [slow]
            each:
              - {id: my-case, route: permissions}
            steps:
              - connect: {route: "${route}", auth: bad_token}
              - push: {type: system_notification, to: global}
              - wait: 0.1
        """,
    )
    assert scenario.name == "odd[my-case]"
    assert scenario.markers == ("bad_token", "push", "slow")
    assert scenario.coverage is None  # no ``message:``
    assert isinstance(scenario.steps[2], m.Wait) and scenario.steps[2].seconds == 0.1


def test_x_keys_are_allowed_for_anchors(write: Write, contract: Contract) -> None:
    scenarios = _one(
        write,
        contract,
        """
        x-anchors:
          cases: &cases [{route: permissions}]
        scenarios:
          - id: a
            each: *cases
            steps: [{connect: "${route}"}]
        """,
    )
    assert [s.name for s in scenarios] == ["a[permissions]"]


def test_step_shortcuts(write: Write, contract: Contract) -> None:
    (scenario,) = _one(
        write,
        contract,
        """
        scenarios:
          - id: s
            steps:
              - connect: permissions
              - connect: {as: b, route: permissions_user, auth: "user:secondary", slash: false}
              - send_text: "{oops"
              - send_binary: 3
              - expect: heartbeat_response
              - expect_error: invalid_json
              - expect_silence: [client, b]
              - expect_push: 2
              - expect_close: 4001
              - close: b
        """,
    )
    steps = scenario.steps
    assert [s.keyword for s in steps] == [
        "connect", "connect", "send", "send", "expect", "expect_error",
        "expect_silence", "expect_push", "expect_close", "close",
    ]  # fmt: skip
    second = steps[1]
    assert isinstance(second, m.Connect)
    assert (
        second.name == "b"
        and second.auth == m.Auth(mode="user", user="secondary")
        and not second.slash
    )
    assert second.auth.label == "user_secondary"
    assert isinstance(steps[3], m.Send) and steps[3].binary == 3
    assert isinstance(steps[6], m.ExpectSilence) and steps[6].on == ("client", "b")
    assert isinstance(steps[7], m.ExpectPush) and steps[7].within == 2
    assert isinstance(steps[9], m.Close) and steps[9].on == "b" and steps[9].code == 1000
    assert [s.line for s in steps] == list(range(4, 14))


# -- errors name file:line -------------------------------------------------------------------


def test_no_scenarios_list(write: Write, contract: Contract) -> None:
    line, problem = _error(write("s.yaml", "# comment\nsteps: []\n"), contract)
    assert line == 2
    assert "top-level 'scenarios:' list" in problem


def test_unknown_top_level_key(write: Write, contract: Contract) -> None:
    line, problem = _error(write("s.yaml", "scenarios: []\nanchors: {}\n"), contract)
    assert line == 1
    assert "unknown top-level key 'anchors'" in problem


SCENARIO_ERRORS = [
    pytest.param(
        "- description: no id\n  steps: [{connect: permissions}]", 2, "needs an 'id'", id="no-id"
    ),
    pytest.param(
        "- id: a\n  steps:\n    - fly: {to: moon}", 4, "unknown step 'fly'", id="unknown-step"
    ),
    pytest.param(
        "- id: a\n  steps:\n    - connect: {route: nowhere}",
        4,
        "no route 'nowhere'",
        id="unknown-route",
    ),
    pytest.param(
        "- id: a\n  steps:\n    - connect: permissions\n    - expect: {type: pong}",
        5,
        "expect: message 'pong' is not in the contract",
        id="unknown-expect-type",
    ),
    pytest.param(
        "- id: a\n  steps:\n    - connect: {route: permissions, auth: admin}",
        4,
        "auth 'admin'; expected one of anonymous, user, bad_token, wrong_user",
        id="bad-auth",
    ),
    pytest.param(
        "- id: a\n  steps:\n    - connect: {route: permissions, auth: wrong_user}",
        4,
        "wrong_user needs a route with an owner parameter, not 'permissions'",
        id="wrong-user-without-owner",
    ),
    pytest.param(
        "- id: a\n  steps:\n    - connect: {route: permissions, close: sometimes}",
        4,
        "no close code named 'sometimes'",
        id="unknown-close-code",
    ),
    pytest.param(
        "- id: a\n  steps:\n    - connect: permissions\n    - expect_close: {code: nope}",
        5,
        "no close code named 'nope'",
        id="unknown-expect-close-code",
    ),
    pytest.param(
        "- id: a\n  steps: [{connect: permissions}]\n- id: a\n  steps: [{connect: permissions}]",
        4,
        "two scenarios are named 'a'",
        id="duplicate",
    ),
    pytest.param(
        "- id: a\n  steps:\n    - connect: permissions\n    - wait: soon",
        5,
        "wait takes a number of seconds",
        id="wait-soon",
    ),
    pytest.param(
        "- id: a\n  steps:\n    - connect: {route: permissions, colour: red}",
        4,
        "connect: unknown option 'colour'",
        id="unknown-option",
    ),
    pytest.param(
        "- id: a\n  steps:\n    - connect: permissions\n    - push: {type: heartbeat}",
        5,
        "push: type 'heartbeat' is not a push",
        id="not-a-push",
    ),
    pytest.param(
        "- id: a\n  message: pong\n  steps: [{connect: permissions}]",
        2,
        "message 'pong'",
        id="bad-message",
    ),
    pytest.param("- id: a\n  steps: []", 2, "needs a non-empty 'steps' list", id="no-steps"),
    pytest.param(
        "- id: a\n  stepz: []", 2, "unknown scenario key 'stepz'", id="unknown-scenario-key"
    ),
]


@pytest.mark.parametrize(("body", "line", "problem"), SCENARIO_ERRORS)
def test_errors_name_file_and_line(
    write: Write, contract: Contract, body: str, line: int, problem: str
) -> None:
    indented = "\n".join("  " + row for row in body.splitlines())
    path = write("s.scenarios.yaml", f"scenarios:\n{indented}\n")
    found_line, found_problem = _error(path, contract)
    assert problem in found_problem
    assert found_line == line


def test_duplicate_names_from_each(write: Write, contract: Contract) -> None:
    path = write(
        "s.yaml",
        """
        scenarios:
          - id: a
            each: [{route: permissions}, {route: permissions}]
            steps: [{connect: "${route}"}]
        """,
    )
    _, problem = _error(path, contract)
    assert "two scenarios are named 'a[permissions]'" in problem


def test_bad_auth_mode_through_each(write: Write, contract: Contract) -> None:
    path = write(
        "s.yaml",
        """
        scenarios:
          - id: a
            each: [{auth: robot}]
            steps:
              - connect: {route: permissions, auth: "${auth}"}
        """,
    )
    line, problem = _error(path, contract)
    assert line == 5
    assert "auth 'robot'" in problem


def test_missing_scenario_file(tmp_path: Path, contract: Contract) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenarios(tmp_path / "nope.yaml", contract)


# -- bugs -------------------------------------------------------------------------------


def _step_file(write: Write, step: str) -> Path:
    return write(
        "s.scenarios.yaml",
        f"scenarios:\n  - id: a\n    steps:\n      - connect: permissions\n      - {step}\n",
    )


@pytest.mark.parametrize("step", ["close: {code: abc}", "send_binary: {size: x}"])
def test_non_numeric_sizes_and_codes_name_file_and_line(
    write: Write, contract: Contract, step: str
) -> None:
    line, _ = _error(_step_file(write, step), contract)
    assert line == 5


@pytest.mark.parametrize(
    "step",
    [
        "expect_silence: {type: eror}",
        "expect_push: {type: role_update}",
        "expect_no_push: {type: role_update}",
    ],
)
def test_types_in_silence_and_push_expectations_are_checked(
    write: Write, contract: Contract, step: str
) -> None:
    line, problem = _error(_step_file(write, step), contract)
    assert line == 5
    assert "not in the contract" in problem or "not a push" in problem


def test_wait_true_is_rejected(write: Write, contract: Contract) -> None:
    _error(_step_file(write, "wait: true"), contract)


# -- running alone ----------------------------------------------------------------------------

_PUSHING = """
    scenarios:
      - id: pushing
        steps:
          - connect: {route: permissions, auth: user}
          - push: {type: cache_invalidation, to: primary, data: {cacheKeys: [k]}}
          - expect_push: {}
      - id: quiet
        alone: true
        steps:
          - connect: {route: permissions, auth: anonymous}
"""


def test_alone_is_declared_per_scenario(
    write: Write, contract: Contract, config: HarnessConfig
) -> None:
    pushing, quiet = load_scenarios(write("s.scenarios.yaml", _PUSHING), contract, config)
    assert quiet.alone
    assert not pushing.alone  # its pushes carry a trace: it can share the server


def test_pushes_without_a_trace_run_alone(
    write: Write, contract: Contract, config: HarnessConfig
) -> None:
    """Nothing tells whose untraced push a frame is, so a pushing scenario must not share."""
    untraced = replace(config, push=replace(config.push, trace_field=None))
    pushing, _ = load_scenarios(write("s.scenarios.yaml", _PUSHING), contract, untraced)
    assert pushing.alone


def test_alone_must_be_true_or_false(write: Write, contract: Contract) -> None:
    line, problem = _error(
        write("s.scenarios.yaml", _PUSHING.replace("alone: true", "alone: sometimes")), contract
    )
    assert line == 7 and "alone: is true or false" in problem
