"""The replica set's pure parts and its one-line refusals (no servers; milliseconds)."""

from __future__ import annotations

import asyncio
import socket
import textwrap
from pathlib import Path

import pytest

from harness.config import HarnessConfig, load_config
from harness.contract import Contract, load_contract
from harness.engine import load_scenarios, run_scenario
from harness.engine import model as m
from harness.engine.runner import RunContext
from harness.errors import ConfigError, ScenarioError, TargetError
from harness.targets import TargetOptions, make_target
from harness.targets.base import TargetInfo
from harness.targets.redis import RedisServer, ping
from harness.targets.replicas import (
    ReplicaSet,
    check_redis_placeholder,
    option_problem,
    parse_replica_env,
    replica_environment,
)

BUNDLED = Path(__file__).resolve().parents[2] / "scenarios" / "conformance"


@pytest.fixture(scope="module")
def contract() -> Contract:
    return load_contract()


@pytest.fixture(scope="module")
def config() -> HarnessConfig:
    return load_config(environ={})


def scenarios(tmp_path: Path, contract: Contract, text: str) -> list[m.Scenario]:
    path = tmp_path / "r.scenarios.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return load_scenarios(path, contract, load_config(environ={}))


# ------------------------------------------------------------------------- environment
@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("REDIS_URL={redis_url}", (None, "REDIS_URL", "{redis_url}")),
        ("1:TARGET_FAULTS=memory_layer", (1, "TARGET_FAULTS", "memory_layer")),
        ("URL=redis://h:1/0", (None, "URL", "redis://h:1/0")),
    ],
)
def test_replica_env_names_all_replicas_or_one(text: str, parsed: tuple) -> None:
    assert parse_replica_env(text) == parsed


@pytest.mark.parametrize("text", ["x:K=V", "K", "=V", "1:=V", "-1:K=V"])
def test_a_malformed_replica_env_says_the_format(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected KEY=VALUE .* or N:KEY=VALUE"):
        parse_replica_env(text)


def test_later_layers_win_and_placeholders_are_filled() -> None:
    env = replica_environment(
        [{"REDIS_URL": "{redis_url}", "A": "config"}, {"A": "all"}, {"LOG": "r{replica}.log"}],
        1,
        "redis://127.0.0.1:7/0",
    )
    assert env == {"REDIS_URL": "redis://127.0.0.1:7/0", "A": "all", "LOG": "r1.log"}


def test_the_reference_config_tells_replicas_the_redis_url(config: HarnessConfig) -> None:
    assert config.target.replica_env == {"REDIS_URL": "{redis_url}"}
    check_redis_placeholder([config.target.replica_env], config.source)


def test_replicas_nobody_tells_about_redis_are_refused(config: HarnessConfig) -> None:
    bare = config.with_overrides(target=config.target.__class__(command="x"))
    with pytest.raises(ConfigError, match=r"set target.replica_env .* --ws-replica-env"):
        make_target(TargetOptions(replicas=2), bare, load_contract())


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (TargetOptions(replicas=2, url="ws://127.0.0.1:1"), "not with --ws-url"),
        (
            TargetOptions(replicas=2, replica_env=((2, "K", "V"),)),
            "this run has replicas 0 to 1",
        ),
        (
            TargetOptions(replicas=2, backend="docker", docker_network="publish"),
            "use --ws-docker-network host",
        ),
    ],
)
def test_contradicting_options_are_one_line(
    options: TargetOptions, says: str, config: HarnessConfig, contract: Contract
) -> None:
    with pytest.raises(ConfigError, match=says) as caught:
        make_target(options, config, contract)
    assert "\n" not in str(caught.value)


def test_no_redis_server_installed_is_one_line_saying_what_to_do(tmp_path: Path) -> None:
    redis = RedisServer(binary=None, log_dir=str(tmp_path))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", str(tmp_path))  # a PATH without redis-server
        with pytest.raises(TargetError) as caught:
            redis.start()
    assert str(caught.value) == (
        "redis-server is not installed: install it (apt-get install redis-server) or pass "
        "--ws-redis-url redis://HOST:PORT/0 to use a running Redis"
    )


def test_ping_is_false_where_nothing_or_no_redis_listens() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert not ping("127.0.0.1", port, timeout=0.2)  # accepts, never answers +PONG
    assert not ping("127.0.0.1", port, timeout=0.2)  # closed


def test_a_replica_set_refuses_a_replica_it_does_not_have() -> None:
    replicas = ReplicaSet(2, lambda *_: pytest.fail("not started"), lambda *_: {}, redis_url="x")
    with pytest.raises(
        ConfigError, match=r"replica 5: this run has replicas 0 to 1 \(--ws-replicas\)"
    ):
        replicas.kill(5)


# ------------------------------------------------------------------------ scenario files
def test_replica_steps_parse_and_say_how_many_servers_they_need(
    tmp_path: Path, contract: Contract
) -> None:
    (plain, named, killer) = scenarios(
        tmp_path,
        contract,
        """
        scenarios:
          - id: plain
            steps:
              - connect: {route: permissions, auth: user}
          - id: named
            steps:
              - connect: {route: permissions, auth: user, replica: 2}
              - push: {type: permission_changed, to: primary, replica: 1}
          - id: killer
            steps:
              - connect: {route: permissions, auth: user}
              - kill_replica: 1
        """,
    )
    assert (plain.replicas, named.replicas, killer.replicas) == (1, 3, 2)
    assert named.steps[0] == m.Connect(
        route="permissions", auth=m.Auth("user"), replica=2, line=named.steps[0].line
    )
    assert isinstance(named.steps[1], m.Push) and named.steps[1].replica == 1
    assert killer.steps[1] == m.KillReplica(replica=1, line=killer.steps[1].line)
    assert killer.alone and not plain.alone  # a kill drops every connection on that server


@pytest.mark.parametrize(
    ("step", "says"),
    [
        ("kill_replica: one", "kill_replica: replica expected a whole number"),
        ("kill_replica: {}", "kill_replica takes the replica's index"),
        ("connect: {route: permissions, replica: -1}", "connect: replica expected a whole"),
        ("kill_replica: {replica: 1, now: true}", "kill_replica: unknown option 'now'"),
    ],
)
def test_malformed_replica_steps_name_the_line(
    tmp_path: Path, contract: Contract, step: str, says: str
) -> None:
    with pytest.raises(ScenarioError, match=says) as caught:
        scenarios(tmp_path, contract, f"scenarios:\n  - id: x\n    steps:\n      - {step}\n")
    assert "r.scenarios.yaml:4" in str(caught.value)


def test_the_bundled_replica_scenarios_need_two_servers(contract: Contract) -> None:
    loaded = load_scenarios(BUNDLED / "replicas.scenarios.yaml", contract, load_config())
    assert loaded and all(s.replicas == 2 and not s.skip_reason for s in loaded)
    assert [s.name for s in loaded if s.alone] == ["replica_killed_loses_only_its_own"]


def test_one_server_skips_a_replica_scenario_saying_how_to_run_it(
    contract: Contract, config: HarnessConfig
) -> None:
    """Skipped before any connection: port 9 (discard) is never dialled."""
    scenario = load_scenarios(BUNDLED / "replicas.scenarios.yaml", contract, config)[0]
    info = TargetInfo(backend="url", host="127.0.0.1", port=9)
    verdict = asyncio.run(run_scenario(scenario, RunContext.create(contract, config, info)))
    assert verdict.outcome == "skipped"
    assert verdict.skip_reason == (
        "needs 2 replicas sharing a channel layer; run with --ws-replicas 2"
    )


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (TargetOptions(replicas=2, url="ws://127.0.0.1:1"), "drop --ws-url, or name every"),
        (TargetOptions(redis_url="redis://127.0.0.1:1/0"), "--ws-redis-url is for replicas"),
        (TargetOptions(replica_env=((1, "A", "B"),)), "--ws-replica-env is for replicas"),
    ],
)
def test_replica_options_that_cannot_work_are_refused_up_front(
    options: TargetOptions, says: str
) -> None:
    problem = option_problem(options)
    assert problem is not None and says in problem


@pytest.mark.parametrize(
    "options",
    [
        TargetOptions(),
        TargetOptions(replicas=2, replica_env=((1, "A", "B"),)),
        TargetOptions(url="ws://127.0.0.1:1,ws://127.0.0.1:2"),
    ],
)
def test_replica_options_that_work_pass(options: TargetOptions) -> None:
    assert option_problem(options) is None


def test_pytest_says_it_as_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    result = pytester.runpytest("--ws-replica-env", "1:TARGET_FAULTS=memory_layer")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --ws-replica-env is for replicas the harness starts: add --ws-replicas N*"]
    )
