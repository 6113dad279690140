"""What scenario files say instead of names, resolved from a contract and a config (pure)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.bundled import DEFAULT_CONTRACT, bundled
from harness.config import HarnessConfig, UserSpec, load_config
from harness.contract import Contract, load_contract
from harness.engine import load_scenarios
from harness.engine.vocabulary import Unresolved, Vocabulary

BUNDLED = sorted(Path(bundled(DEFAULT_CONTRACT)).parent.glob("conformance/*.scenarios.yaml"))


@pytest.fixture(scope="module")
def contract() -> Contract:
    return load_contract()


@pytest.fixture(scope="module")
def config() -> HarnessConfig:
    return load_config()


def test_routes_are_picked_by_role(contract: Contract) -> None:
    vocabulary = Vocabulary(contract)
    assert vocabulary.route("@optional") == "permissions"
    assert vocabulary.route("@owner") == "permissions_user"
    assert vocabulary.route("@anonymous") == "permissions_anonymous"
    assert vocabulary.route("@slashless") == "permissions_anonymous"
    assert vocabulary.route("permissions") == "permissions"  # a plain name stays
    with pytest.raises(Unresolved, match="no route for @required"):
        vocabulary.route("@required")


def test_unknown_paths_match_no_route(contract: Contract) -> None:
    paths = Vocabulary(contract).unknown_paths()
    kinds = {p["id"] for p in paths}
    assert {"unknown_suffix", "other_prefix", "non_matching_parameter", "missing_slash"} <= kinds
    regexes = [r.path_regex for r in contract.routes.values()]
    for path in paths:
        assert not any(re.search(rx, path["path"].lstrip("/")) for rx in regexes if rx), path


def test_requests_come_with_payloads_from_their_schemas(contract: Contract) -> None:
    requests = {r["request"]: r["payload"] for r in Vocabulary(contract).requests()}
    assert set(requests) == {name for name, replies in contract.replies.items() if replies}
    for name, payload in requests.items():
        assert payload[contract.type_field] == name


def test_probes_come_from_the_config(contract: Contract, config: HarnessConfig) -> None:
    vocabulary = Vocabulary(contract, config)
    held = vocabulary.probe("held")
    assert config.users["primary"].holds(held["probed"])
    assert held["granted"] == f"${{holds:{held['probed']}}}"
    assert f"{held['resource']}.{held['action']}" == held["probed"]
    lacking = vocabulary.probe("not_held")
    assert not config.users["primary"].holds(lacking["probed"])


def test_a_user_without_permissions_skips_the_held_probe(
    contract: Contract, config: HarnessConfig
) -> None:
    bare = replace(config, users={"primary": UserSpec(name="primary", username="u", user_id=1)})
    with pytest.raises(Unresolved, match="declares no permissions"):
        Vocabulary(contract, bare).probe("held")


def _without(contract: Contract, **changes: Any) -> Contract:
    return replace(contract, **changes)


def test_scenarios_needing_what_is_not_declared_are_skipped_with_the_reason(
    contract: Contract, config: HarnessConfig
) -> None:
    lean = _without(contract, roles={}, max_message_bytes=None)
    one_user = replace(config, users={"primary": config.users["primary"]})
    reasons = {
        s.name: s.skip_reason
        for path in BUNDLED
        for s in load_scenarios(path, lean, one_user)
        if s.skip_reason
    }
    assert "x-roles.permission" in reasons["permission_check_held"]
    assert "x-roles.subscribe" in reasons["subscribe[permissions-anonymous]"]
    assert "x-limits" in reasons["message_too_big[permissions_anonymous-anonymous]"]
    assert "secondary" in reasons["connect_user[permissions_user-user_secondary]"]
    assert "secondary" in reasons["push_to_role"]
    assert "connect_user[permissions-user]" not in reasons


def test_a_renamed_contract_loads_every_bundled_scenario(
    tmp_path: Path, config: HarnessConfig
) -> None:
    """Renaming a channel in a copy of the contract must not break collection."""
    document = yaml.safe_load(Path(bundled(DEFAULT_CONTRACT)).read_text())
    channels = document["channels"]
    channels["inbox"] = channels.pop("permissions")
    text = yaml.safe_dump(document).replace("#/channels/permissions/", "#/channels/inbox/")
    path = tmp_path / "renamed.asyncapi.yaml"
    path.write_text(text)
    renamed = load_contract(path)
    names = [s.name for p in BUNDLED for s in load_scenarios(p, renamed, config)]
    assert "request_reply[heartbeat-inbox-anonymous]" in names
    assert not [n for n in names if "[permissions-" in n]
