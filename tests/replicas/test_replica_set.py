"""A replica set of the reference target, in process: each replica proven, kill and revive,
and the kill scenario's power to fail (about 10 s)."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.config import load_config
from harness.contract import load_contract
from harness.engine import load_scenarios, run_scenario
from harness.engine.model import Scenario
from harness.engine.runner import RunContext, Verdict
from harness.errors import PortInUseError, TargetError
from harness.targets import TargetOptions, make_target
from harness.targets.base import TargetInfo
from harness.targets.ports import port_accepts
from harness.targets.redis import ping
from harness.targets.replicas import ReplicaSet

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("redis_installed")]

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios" / "conformance"


@pytest.fixture(scope="module")
def replica_set() -> Iterator[ReplicaSet]:
    target = make_target(TargetOptions(replicas=2), load_config(), load_contract())
    assert isinstance(target, ReplicaSet)
    with target:
        yield target


def test_each_replica_is_its_own_proven_server_on_the_shared_redis(
    replica_set: ReplicaSet,
) -> None:
    first, second = replica_set.info.replicas
    assert replica_set.info.ws_url == first.ws_url
    assert first.port != second.port and first.pid != second.pid
    for info in (first, second):
        assert info.identity["pid"] == info.pid  # the identity check ran for each
        assert info.identity["channel_layer"] == "RedisChannelLayer"
    assert first.identity["instance_id"] != second.identity["instance_id"]
    assert replica_set.redis_url.startswith("redis://127.0.0.1:")
    port = int(replica_set.redis_url.rsplit(":", 1)[1].split("/")[0])
    assert ping("127.0.0.1", port)


def test_a_killed_replica_comes_back_on_its_port_as_a_new_proven_process(
    replica_set: ReplicaSet,
) -> None:
    before = replica_set.info.replicas[1]
    replica_set.kill(1)
    assert not port_accepts("127.0.0.1", before.port)
    replica_set.check_still_ours()  # the dead one is not "taken over": it is dead
    replica_set.revive(1)
    after = replica_set.info.replicas[1]
    assert after.port == before.port and after.pid != before.pid
    assert after.identity["pid"] == after.pid
    assert after.identity["instance_id"] != before.identity["instance_id"]


def test_the_kill_scenario_passes_and_fails_when_the_wrong_replica_dies(
    replica_set: ReplicaSet,
) -> None:
    config = load_config()
    config = config.with_overrides(timeouts=dataclasses.replace(config.timeouts, close=1.0))
    contract = load_contract()
    loaded = {
        s.name: s for s in load_scenarios(SCENARIOS / "replicas.scenarios.yaml", contract, config)
    }
    kill = loaded["replica_killed_loses_only_its_own"]
    # On replica 1, after the kill, a user logged in there before: its old token is void.
    after = loaded["replica_push_reaches_owner_everywhere[permission_changed-1]"]

    class KillsTheFirst:
        """A kill that ends replica 0 whatever it is asked: owner_1 must stay open."""

        def kill(self, index: int) -> None:
            replica_set.kill(0)

        def revive(self, index: int) -> TargetInfo:
            return replica_set.revive(0)

    def verdicts(control: object, *scenarios: Scenario) -> list[str]:
        context = RunContext.create(
            contract,
            config,
            replica_set.info,
            replicas=control,  # type: ignore[arg-type]
        )

        async def in_order() -> list[Verdict]:
            return [await run_scenario(s, context) for s in scenarios]

        return [
            f"{v.outcome}: {v.failure.title if v.failure else ''}" for v in asyncio.run(in_order())
        ]

    assert verdicts(replica_set, after, kill, after) == ["passed: "] * 3
    assert verdicts(KillsTheFirst(), kill) == ["failed: owner_1 still open after 1.0s"]
    assert all(port_accepts("127.0.0.1", info.port) for info in replica_set.info.replicas)


def test_a_port_in_use_is_one_line_naming_the_replica_and_the_holder() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        target = make_target(TargetOptions(replicas=2, port=port), load_config(), load_contract())
        with pytest.raises(PortInUseError) as caught, target:
            pass
    message = str(caught.value)
    assert message.startswith(f"replica 0 of 2: port {port} is already held by pid ")
    assert "\n" not in message


def test_replicas_someone_else_runs_are_named_by_their_urls(replica_set: ReplicaSet) -> None:
    """--ws-url ws://a,ws://b (docker-compose's replicas profile): every scenario of the
    replica file runs across them; the kill is skipped (not the harness's servers)."""
    config, contract = load_config(), load_contract()
    a, b = (info.ws_url for info in replica_set.info.replicas)
    with make_target(TargetOptions(url=f"{a},{b}"), config, contract) as target:
        assert isinstance(target, ReplicaSet) and not target.killable
        assert [info.port for info in target.info.replicas] == [
            info.port for info in replica_set.info.replicas
        ]
        context = RunContext.create(contract, config, target.info)
        loaded = load_scenarios(SCENARIOS / "replicas.scenarios.yaml", contract, config)

        async def run_all() -> list[tuple[str, str]]:
            verdicts = await asyncio.gather(*(run_scenario(s, context) for s in loaded))
            return [(s.name, v.outcome) for s, v in zip(loaded, verdicts, strict=True)]

        outcomes = asyncio.run(run_all())
    assert ("replica_killed_loses_only_its_own", "skipped") in outcomes
    assert {o for name, o in outcomes if "killed" not in name} == {"passed"}, outcomes


def test_one_server_under_two_urls_is_refused(replica_set: ReplicaSet) -> None:
    a = replica_set.info.replicas[0].ws_url
    twice = f"{a},{a.replace('127.0.0.1', 'localhost')}"
    target = make_target(TargetOptions(url=twice), load_config(), load_contract())
    with pytest.raises(TargetError, match=r"are one server \(instance_id .*\): replicas must"):
        target.start()
    target.stop()
