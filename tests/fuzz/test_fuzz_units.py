"""Fast tests of the fuzz package's pure parts: no server, no network."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.contract import Contract, FrameValidator, load_contract
from harness.errors import ContractError
from harness.fuzz import profiles
from harness.fuzz.driver import Identity
from harness.fuzz.payloads import Classifier, Payload
from harness.fuzz.properties import CheckContext, Deviation, Exchange, Received, evaluate
from harness.fuzz.reproducer import fold, python_line
from harness.fuzz.schemas import inline_refs, message_schema
from harness.fuzz.stateful import ModelConnection, entitled, identities, push_data
from harness.push import PushRequest


@pytest.fixture(scope="module")
def contract() -> Contract:
    return load_contract()


@pytest.fixture(scope="module")
def classifier(contract: Contract) -> Classifier:
    return Classifier(contract)


def _ctx(contract: Contract, *deviations: Deviation) -> CheckContext:
    return CheckContext(contract, FrameValidator(contract, "server"), deviations)


def _frame(value: dict) -> Received:
    return Received(value, json.dumps(value))


HEARTBEAT_REPLY = {"type": "heartbeat_response", "timestamp": "t", "server_time": 1.0}
ERROR = {"type": "error", "error_code": "INVALID_JSON", "message": "m", "timestamp": "t"}


# -- schemas ----------------------------------------------------------------------------


def test_inline_refs_leaves_no_ref_behind(contract: Contract) -> None:
    for message in contract.messages:
        assert "$ref" not in json.dumps(message_schema(contract, message))


def test_inline_refs_names_a_dangling_pointer() -> None:
    with pytest.raises(ContractError, match="does not resolve"):
        inline_refs({"$ref": "#/components/schemas/nope"}, {"components": {"schemas": {}}})


def test_inline_refs_stops_a_cycle() -> None:
    with pytest.raises(ContractError, match="cycle"):
        inline_refs({"$ref": "#/a"}, {"a": {"$ref": "#/a"}})


# -- classification ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ({"type": "heartbeat"}, "reply"),
        ({"type": "connect"}, "reply"),
        ({"type": "nope"}, "error"),
        ({"types": []}, "error"),
        ([1, 2], "error"),
        ({"type": "permission_check", "resource": "a"}, "reply_or_error"),
        ({"type": "heartbeat", "timestamp": 2**60}, "reply_or_error"),
        ({"type": "heartbeat", "x": "\ud800"}, "reply_or_error"),
        ({"type": "heartbeat", "pad": "x" * 70_000}, "close"),
    ],
)
def test_classifier_decides_from_the_contract(
    classifier: Classifier, value: object, kind: str
) -> None:
    assert classifier.payload(value, "t").expect.kind == kind


def test_valid_request_expects_its_correlation_echo(classifier: Classifier) -> None:
    value = {"type": "permission_check", "resource": "a", "action": "b", "request_id": "r1"}
    expect = classifier.payload(value, "t").expect
    assert expect.reply_types == ("permission_check_response",)
    assert expect.correlation == ("request_id", "r1")


# -- properties ------------------------------------------------------------------------


def test_a_valid_message_answered_by_its_reply_passes(
    classifier: Classifier, contract: Contract
) -> None:
    payload = classifier.payload({"type": "heartbeat"}, "t")
    verdict = evaluate(
        payload, Exchange([_frame(HEARTBEAT_REPLY)], False, None, True), _ctx(contract)
    )
    assert verdict.ok, verdict.findings


def test_close_1011_and_a_silent_drop_are_findings(
    classifier: Classifier, contract: Contract
) -> None:
    payload = Payload("{", classifier.not_json(), "t")
    crashed = evaluate(payload, Exchange([], True, 1011), _ctx(contract))
    dropped = evaluate(payload, Exchange([], True, None), _ctx(contract))
    assert any("internal error" in f.title for f in crashed.findings)
    assert any("without a close frame" in f.title for f in dropped.findings)


def test_an_error_without_its_code_breaks_the_contract(
    classifier: Classifier, contract: Contract
) -> None:
    payload = Payload("{", classifier.not_json(), "t")
    shape = {"type": "error", "error": "bad", "timestamp": "t"}
    verdict = evaluate(payload, Exchange([_frame(shape)], False, None, True), _ctx(contract))
    assert any("breaks the contract" in f.title for f in verdict.findings)


def test_deviations_are_tolerated_only_for_invalid_input(
    classifier: Classifier, contract: Contract
) -> None:
    odd = {**ERROR, "error_code": "made_up_code"}
    deviation = Deviation("error", "$.error_code", ("made_up_code",), "known")
    invalid = classifier.payload({"type": "subscribe_notifications", "types": 5}, "t")
    valid = classifier.payload({"type": "heartbeat"}, "t")
    on_invalid = evaluate(
        invalid, Exchange([_frame(odd)], False, None, True), _ctx(contract, deviation)
    )
    on_valid = evaluate(
        valid, Exchange([_frame(odd)], False, None, True), _ctx(contract, deviation)
    )
    assert on_invalid.ok and on_invalid.tolerated
    assert not on_valid.ok


# -- reproducer ------------------------------------------------------------------------


@given(st.text(alphabet="ab[]{}x\u00e9", max_size=300) | st.binary(max_size=100))
def test_fold_is_an_expression_for_the_same_frame(frame: str | bytes) -> None:
    assert eval(fold(frame)) == frame  # our own repr output, no outside input


def test_fold_keeps_deep_nesting_short() -> None:
    assert len(fold("[" * 10_000 + "]" * 10_000)) < 40


def test_reproducer_never_shows_a_token() -> None:
    line = python_line("ws://h/ws/?token=$WS_TOKEN", ["{}"])
    assert "$WS_TOKEN" in line and "secret" not in line


# -- stateful model --------------------------------------------------------------------


def _conn(user_id: int, role: str | None, subscriptions: set[str] = frozenset()) -> ModelConnection:
    return ModelConnection("c", Identity("permissions"), user_id, role, set(subscriptions))


@pytest.mark.parametrize(
    ("connection", "push", "expected"),
    [
        (_conn(2, "teacher"), PushRequest("role_updated", "user", user_id=2), True),
        (_conn(3, "student"), PushRequest("role_updated", "user", user_id=2), False),
        (_conn(0, None), PushRequest("role_updated", "user", user_id=2), False),
        (_conn(0, None), PushRequest("system_notification", "global"), True),
        (_conn(2, "teacher"), PushRequest("role_updated", "role", role="teacher"), True),
        (_conn(3, "student"), PushRequest("role_updated", "role", role="teacher"), False),
        (_conn(2, "teacher"), PushRequest("cache_invalidation", "subscribers", user_id=2), False),
        (
            _conn(2, "teacher", {"cache_invalidation"}),
            PushRequest("cache_invalidation", "subscribers", user_id=2),
            True,
        ),
    ],
)
def test_entitlement(connection: ModelConnection, push: PushRequest, expected: bool) -> None:
    assert entitled(connection, push) is expected


def test_push_data_satisfies_the_push_schemas(contract: Contract) -> None:
    validator = FrameValidator(contract, "server")
    for push in contract.pushes():
        frame = {
            "type": push.name,
            "data": push_data(push.name, 2, "trace_id", "t1"),
            "timestamp": "t",
        }
        assert validator.validate(frame) == []


def test_identities_follow_route_auth(contract: Contract) -> None:
    from harness.config import load_config

    pairs = identities(load_config(), contract)
    assert Identity("permissions_anonymous", None) in pairs
    assert Identity("permissions_user", "primary") in pairs
    assert Identity("permissions_user", None) not in pairs


# -- profiles --------------------------------------------------------------------------


def test_ci_is_derandomized_and_thorough_keeps_a_database(tmp_path: object) -> None:
    ci = profiles.build("ci", None)
    thorough = profiles.build("thorough", str(tmp_path), examples=7)
    assert ci.derandomize and ci.database is None
    assert thorough.max_examples == 7 and thorough.database is not None


def test_profile_errors_name_the_accepted_values() -> None:
    with pytest.raises(pytest.UsageError, match="ci, thorough, replay"):
        profiles.build("nightly", None)
    with pytest.raises(pytest.UsageError, match="1 or more"):
        profiles.build("ci", None, examples=0)
