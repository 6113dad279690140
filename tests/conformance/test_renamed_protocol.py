"""Proof that nothing of the reference service is hard-wired into the harness.

A copy of the bundled contract with every route, message and field renamed (and the config
to match) is run against the reference target switched to speak that renamed protocol
(``--dialect renamed``): every bundled scenario must pass, and the fault switches must be
caught by the same scenarios as with the reference names (faults.yaml, names translated).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from conformance_support import (
    FAULTS,
    RunsAhead,
    assert_caught,
    selected_items,
    selected_params,
)

from harness.bundled import DEFAULT_CONFIG, DEFAULT_CONTRACT, bundled, scenarios_dir
from harness.config import load_config
from harness.contract import load_contract
from harness.engine import load_scenarios
from target.dialect import write_renamed

REPO = Path(__file__).resolve().parents[2]
BUNDLED = sorted(scenarios_dir().glob("**/*.scenarios.yaml"))


@pytest.fixture(scope="module")
def renamed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Mapping[str, str]]:
    """The renamed contract and config on disk, and old name -> new name for test ids."""
    contract_path, config_path = write_renamed(
        tmp_path_factory.mktemp("renamed"),
        Path(bundled(DEFAULT_CONTRACT)),
        Path(bundled(DEFAULT_CONFIG)),
        str(REPO),
    )
    old, new = load_contract(), load_contract(contract_path)
    names = dict(zip(old.routes, new.routes, strict=True))
    names.update(zip(old.messages, new.messages, strict=True))
    return config_path, names


def translate(pattern: str, names: Mapping[str, str]) -> str:
    """A faults.yaml test-name pattern with the reference routes and messages renamed."""
    return re.sub(r"[A-Za-z_]+", lambda m: names.get(m.group(0), m.group(0)), pattern)


CLEAN = "clean"


def fault_run(fault: str, config: Path, names: Mapping[str, str]) -> list[str]:
    spec = FAULTS[fault]
    extra = ["-k", translate(spec["select"], names)] if spec.get("select") else []
    return [f"--ws-config={config}", f"--ws-env=TARGET_FAULTS={fault}", *extra]


@pytest.fixture(scope="module")
def renamed_runs(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    renamed: tuple[Path, Mapping[str, str]],
) -> Iterator[RunsAhead]:
    """The clean run and every selected fault's run, started at once (two at a time)."""
    config, names = renamed
    clean = selected_items(request, test_every_bundled_scenario_passes_on_the_renamed_protocol)
    runs = {CLEAN: [f"--ws-config={config}"]} if clean else {}
    for fault in selected_params(request, test_fault_is_caught_on_the_renamed_protocol, "fault"):
        runs[fault] = fault_run(fault, config, names)
    ahead = RunsAhead(runs, tmp_path_factory.mktemp("renamed-runs"))
    yield ahead
    ahead.close()


@pytest.mark.slow
def test_every_bundled_scenario_passes_on_the_renamed_protocol(
    tmp_path: Path, renamed_runs: RunsAhead
) -> None:
    code, output, failed, total = renamed_runs.take(CLEAN, tmp_path)
    assert code == 0, f"renamed protocol: {sorted(failed)}\n{output[-3000:]}"
    reference = [
        s for path in BUNDLED for s in load_scenarios(path, load_contract(), load_config())
    ]
    assert total == len(reference) and not failed
    skipped = [s for s in reference if s.skip_reason or s.replicas > 1]  # one server here
    assert f"{total - len(skipped)} passed" in output


# One fault of each kind (the full catalogue runs with the reference names): CI time.
RENAMED_FAULTS = [
    "no_user_route",
    "heartbeat_silent",
    "wrong_request_id",
    "error_shape",
    "cross_user",
    "duplicate_push",
    "extra_reply",
    "confirm_wrong_user",
    "forbidden_code",
    "no_size_limit",
]


@pytest.mark.slow
@pytest.mark.parametrize("fault", RENAMED_FAULTS)
def test_fault_is_caught_on_the_renamed_protocol(
    fault: str,
    tmp_path: Path,
    renamed: tuple[Path, Mapping[str, str]],
    renamed_runs: RunsAhead,
) -> None:
    _, names = renamed
    spec = FAULTS[fault]
    code, output, failed, _ = renamed_runs.take(fault, tmp_path)
    assert_caught(fault, code, output, failed, [translate(p, names) for p in spec["fail"]])


def test_translate_renames_routes_and_messages_only() -> None:
    names = {"permissions_user": "grants_member", "heartbeat": "beat"}
    assert translate("*permissions_user-*]", names) == "*grants_member-*]"
    assert translate("request_reply[heartbeat-*]", names) == "request_reply[beat-*]"
