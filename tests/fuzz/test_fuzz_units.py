"""Fast tests of the fuzz package's pure parts: no server, no network."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.config import HarnessConfig, UserSpec, load_config
from harness.contract import Contract, FrameValidator, load_contract
from harness.errors import ContractError
from harness.fuzz import profiles
from harness.fuzz.compiled import canonical, compile_schema
from harness.fuzz.driver import Identity, known_users, route_with
from harness.fuzz.mutations import Mutations
from harness.fuzz.payloads import Classifier, Payload
from harness.fuzz.properties import CheckContext, Deviation, Exchange, evaluate
from harness.fuzz.reproducer import fold, python_line
from harness.fuzz.schemas import inline_refs, message_schema
from harness.fuzz.security import Attempt, JwtKey
from harness.fuzz.stateful import (
    NOBODY,
    ModelConnection,
    entitled,
    identities,
    permissions_to_check,
    push_data,
)
from harness.fuzz.strategies import MessageStrategies
from harness.protocol import Event, ProtocolSession, ProtocolSpec
from harness.push import PushRequest


@pytest.fixture(scope="module")
def contract() -> Contract:
    return load_contract()


@pytest.fixture(scope="module")
def classifier(contract: Contract) -> Classifier:
    return Classifier(contract)


def _ctx(contract: Contract, *deviations: Deviation) -> CheckContext:
    return CheckContext(contract, deviations)


def _answer(contract: Contract, payload: Payload, *frames: dict) -> list[Event]:
    """The protocol session's events for ``frames`` received after sending ``payload``."""
    session = ProtocolSession(
        ProtocolSpec.build(contract), validate=FrameValidator(contract, "server").validate
    )
    session.opened()
    session.send(payload.message, text=str(payload.frame))
    return [session.receive_text(json.dumps(frame))[0] for frame in frames]


def _exchange(contract: Contract, payload: Payload, *frames: dict) -> Exchange:
    return Exchange(_answer(contract, payload, *frames), False, None, True)


HEARTBEAT_REPLY = {"type": "heartbeat_response", "timestamp": "t", "server_time": 1.0}
ERROR = {"type": "error", "error_code": "INVALID_JSON", "message": "m", "timestamp": "t"}


# -- schemas ----------------------------------------------------------------------------


SCHEMAS_IN_SUBSET = [
    {"type": "object", "required": ["a"], "properties": {"a": {"const": 1}}},
    {"type": "object", "properties": {"n": {"type": "integer", "minimum": 3, "maximum": 5}},
     "additionalProperties": False},
    {"type": "array", "items": {"enum": ["x", "y"]}, "minItems": 2, "maxItems": 3},
    {"type": ["string", "null"], "minLength": 2, "maxLength": 4},
    {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    {"type": "integer", "exclusiveMinimum": 0.5, "exclusiveMaximum": 3},
    {"type": "object", "additionalProperties": {"type": "boolean"}},
]  # fmt: skip


@pytest.mark.parametrize("schema", SCHEMAS_IN_SUBSET, ids=lambda s: json.dumps(s)[:40])
@given(data=st.data())
@profiles.build("ci", None, examples=50)
def test_compiled_strategies_draw_only_valid_values(schema: dict, data: st.DataObject) -> None:
    import jsonschema

    strategy = compile_schema(schema)
    assert strategy is not None, "in the subset: must compile"
    jsonschema.validate(data.draw(strategy), schema)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "pattern": "^a+$"},
        {"type": "object", "patternProperties": {"^x": {}}},
        {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        {"type": "array", "items": {"type": "string", "format": "email"}},
    ],
)
def test_schemas_outside_the_subset_are_left_to_from_schema(schema: dict) -> None:
    assert compile_schema(schema) is None


def test_every_bundled_client_message_compiles(contract: Contract) -> None:
    """The fast path is taken for the bundled contract (else the fuzz rate drops ~10x)."""
    for message in contract.client_messages():
        assert compile_schema(canonical(message_schema(contract, message.name))) is not None


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


CHECK = {"type": "permission_check", "resource": "a", "action": "b", "request_id": "r1"}
CHECK_REPLY = {
    "type": "permission_check_response",
    "request_id": "r1",
    "resource": "a",
    "action": "b",
    "has_permission": False,
    "timestamp": "t",
}


def test_a_reply_is_correlated_by_the_session(classifier: Classifier, contract: Contract) -> None:
    payload = classifier.payload(CHECK, "t")
    assert payload.expect.reply_types == ("permission_check_response",)
    echoed = evaluate(payload, _exchange(contract, payload, CHECK_REPLY), _ctx(contract))
    other = {**CHECK_REPLY, "request_id": "r2"}
    wrong = evaluate(payload, _exchange(contract, payload, other), _ctx(contract))
    assert echoed.ok, echoed.findings
    assert [f.title for f in wrong.findings] == ["reply does not answer the request"]
    assert "'r2'" in wrong.findings[0].received


def test_invalid_input_without_a_correlation_id_may_still_get_the_reply(
    classifier: Classifier, contract: Contract
) -> None:
    sent = {key: value for key, value in CHECK.items() if key != "request_id"}
    payload = classifier.payload(sent, "t")
    assert payload.expect.kind == "reply_or_error"
    answer = {**CHECK_REPLY, "request_id": None}
    assert evaluate(payload, _exchange(contract, payload, answer), _ctx(contract)).ok


# -- properties ------------------------------------------------------------------------


def test_a_valid_message_answered_by_its_reply_passes(
    classifier: Classifier, contract: Contract
) -> None:
    payload = classifier.payload({"type": "heartbeat"}, "t")
    verdict = evaluate(payload, _exchange(contract, payload, HEARTBEAT_REPLY), _ctx(contract))
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
    verdict = evaluate(payload, _exchange(contract, payload, shape), _ctx(contract))
    assert any("breaks the contract" in f.title for f in verdict.findings)


def test_deviations_are_tolerated_only_for_invalid_input(
    classifier: Classifier, contract: Contract
) -> None:
    odd = {**ERROR, "error_code": "made_up_code"}
    deviation = Deviation("error", "$.error_code", ("made_up_code",), "known")
    invalid = classifier.payload({"type": "subscribe_notifications", "types": 5}, "t")
    valid = classifier.payload({"type": "heartbeat"}, "t")
    on_invalid = evaluate(invalid, _exchange(contract, invalid, odd), _ctx(contract, deviation))
    on_valid = evaluate(valid, _exchange(contract, valid, odd), _ctx(contract, deviation))
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
        data = push_data(contract, push.name, "trace_id", "t1")
        assert data["trace_id"] == "t1"
        assert validator.validate({"type": push.name, "data": data, "timestamp": "t"}) == []


def test_identities_follow_route_auth(contract: Contract) -> None:
    pairs = identities(load_config(), contract)
    assert Identity("permissions_anonymous", None) in pairs
    assert Identity("permissions_user", "primary") in pairs
    assert Identity("permissions_user", None) not in pairs


def test_permissions_to_check_include_one_nobody_holds() -> None:
    config = HarnessConfig(
        source="t",
        users={
            "a": UserSpec("a", token="x", user_id=1, role="r", permissions=frozenset({"x.y"})),
            "b": UserSpec("b", token="x", user_id=2, role="r", permissions=frozenset({"bad"})),
        },
    )
    assert permissions_to_check(config, "{resource}.{action}") == ["x.y", f"{NOBODY}.{NOBODY}"]


# -- choices from the contract and the config ------------------------------------------


def test_routes_and_users_are_chosen_by_role(contract: Contract) -> None:
    assert route_with(contract, "owner") == "permissions_user"
    assert route_with(contract, "nonexistent", "anonymous") == "permissions_anonymous"
    assert route_with(contract, "nonexistent") is None
    assert known_users(load_config())[0] == "primary"  # in file order; inactive has no role


def test_near_json_texts_use_the_contracts_names(contract: Contract) -> None:
    mutations = Mutations(MessageStrategies(contract))
    assert '{"type": "heartbeat"' in mutations.non_json_texts
    assert not any("@T" in t or "@N" in t for t in mutations.non_json_texts)


# -- security helpers ------------------------------------------------------------------


def test_jwt_claims_name_the_user_in_the_configured_claim() -> None:
    key = JwtKey("s", "sub")
    assert key.claims(7, 100) == {"sub": 7, "iat": 100, "exp": 3700}
    head, body, signature = key.sign(key.claims(7, 100)).split(".")
    assert head and body and signature


def test_an_attempt_says_whom_it_was_confirmed_as() -> None:
    anonymous = Attempt(confirmed_user=0, anonymous=True, confirmed=True, user_field="data.uid")
    assert anonymous.accepted
    assert "anonymous: data.uid 0" in anonymous.describe()
    assert "HTTP 403" in Attempt(status=403).describe()


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
