"""The protocol core, frames in and events out: no sockets, no event loop, no clock.

The spec is built from a small contract written here with names of its own (``kind``,
``hi``, ``beat``...), so these tests also show that nothing in the session knows the
reference service.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from harness.config import ConfirmationSpec, HarnessConfig, PushSpec, UserSpec
from harness.contract import FrameValidator, load_contract
from harness.errors import ConfigError
from harness.protocol import (
    Closed,
    Confirmed,
    ErrorFrame,
    Opened,
    ProtocolSession,
    ProtocolSpec,
    Push,
    Reply,
    Unexplained,
)
from harness.protocol.events import EVENT_KINDS

CONTRACT = """
asyncapi: 3.0.0
info: {title: tiny, version: "1"}
x-message-type-field: kind
x-push-data-field: body
x-errors: {message: oops, code_field: why, codes: {invalid_json: BAD_JSON}}
x-roles:
  hello: {send: {kind: hi, who: "${user.user_id}"}}
  liveness: {send: {kind: beat, at: "${now_ms}"}}
channels:
  lobby:
    address: rt/lobby/
    messages: {}
operations:
  sendWelcome: {action: send, channel: {$ref: '#/channels/lobby'}, messages: [{$ref: '#/components/messages/welcome'}]}
  receiveHi: {action: receive, channel: {$ref: '#/channels/lobby'}, messages: [{$ref: '#/components/messages/hi'}]}
  receiveBeat:
    action: receive
    channel: {$ref: '#/channels/lobby'}
    messages: [{$ref: '#/components/messages/beat'}]
    reply: {messages: [{$ref: '#/components/messages/beat_ack'}]}
  receiveAsk:
    action: receive
    channel: {$ref: '#/channels/lobby'}
    messages: [{$ref: '#/components/messages/ask'}]
    reply: {messages: [{$ref: '#/components/messages/answer'}]}
  sendOops: {action: send, channel: {$ref: '#/channels/lobby'}, messages: [{$ref: '#/components/messages/oops'}]}
  sendNews: {action: send, channel: {$ref: '#/channels/lobby'}, messages: [{$ref: '#/components/messages/news'}]}
components:
  messages:
    welcome:
      tags: [{name: confirmation}]
      x-user-field: body.uid
      x-anonymous-values: [null, ""]
      payload: {type: object, required: [kind, body], properties: {body: {type: object}}}
    hi: {payload: {type: object}}
    beat: {payload: {type: object}}
    beat_ack: {payload: {type: object}}
    ask:
      x-correlation-field: ref
      payload: {type: object}
    answer:
      x-correlation-field: ref
      payload: {type: object, required: [kind, ref, ok], properties: {ok: {type: boolean}}}
    oops: {tags: [{name: error}], payload: {type: object}}
    news: {tags: [{name: push}], payload: {type: object}}
"""


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path: Path = tmp_path_factory.mktemp("contract") / "tiny.asyncapi.yaml"
    path.write_text(CONTRACT)
    return load_contract(path)


def _config(after: str = "accept", trace: str | None = "trace") -> HarnessConfig:
    return HarnessConfig(
        source="test.yaml",
        confirmation=ConfirmationSpec(after=after),  # type: ignore[arg-type]
        push=PushSpec(trace_field=trace),
    )


@pytest.fixture
def spec(contract: Any) -> ProtocolSpec:
    return ProtocolSpec.build(contract, _config())


def _text(**frame: Any) -> str:
    return json.dumps(frame)


def _one(events: list[Any]) -> Any:
    assert len(events) == 1, events
    return events[0]


def test_the_spec_takes_every_name_from_contract_and_config(
    contract: Any, spec: ProtocolSpec
) -> None:
    assert spec.type_field == "kind"
    assert spec.confirmation == "welcome" and spec.user_field == "body.uid"
    assert spec.anonymous_values == (None, "")
    assert spec.reply_types("beat") == ("beat_ack",) and spec.reply_types("hi") == ()
    assert spec.correlation == {"ask": "ref", "answer": "ref"}
    assert (spec.error_message, spec.error_code_field) == ("oops", "why")
    assert spec.pushes == frozenset({"news"})
    assert spec.trace_path == "body.trace"
    assert ProtocolSpec.build(contract, _config(trace=None)).trace_path is None


def test_opened_without_hello_when_confirmed_on_accept(spec: ProtocolSpec) -> None:
    session = ProtocolSession(spec)
    assert _one(session.opened(0.0)) == Opened(hello=None)
    assert session.state == "open" and session.awaits_confirmation


def test_opened_queues_the_hello_for_this_user_when_confirmed_after_connect(contract: Any) -> None:
    spec = ProtocolSpec.build(contract, _config(after="connect"))
    user = UserSpec(name="primary", username="u", user_id=7)
    event = _one(ProtocolSession(spec, user_id=7, user=user).opened(0.0))
    assert json.loads(event.hello) == {"kind": "hi", "who": 7}
    anonymous = _one(ProtocolSession(spec).opened(0.0))
    assert json.loads(anonymous.hello) == {"kind": "hi", "who": None}


def test_confirmation_naming_the_connecting_user(spec: ProtocolSpec) -> None:
    session = ProtocolSession(spec, user_id=7)
    session.opened(0.0)
    event = _one(session.receive_text(_text(kind="welcome", body={"uid": 7}), 0.1))
    assert isinstance(event, Confirmed) and event.user_id == 7 and event.problem is None
    assert session.state == "confirmed" and not session.awaits_confirmation


@pytest.mark.parametrize(
    ("user_id", "reported", "problem"),
    [
        (7, 8, "body.uid is 8; documented: 7"),
        (7, None, "body.uid is None; documented: 7"),
        (None, 3, "body.uid is 3 for an anonymous connection"),
        (None, False, "body.uid is False for an anonymous connection"),
    ],
)
def test_confirmation_naming_another_user_is_a_problem(
    spec: ProtocolSpec, user_id: Any, reported: Any, problem: str
) -> None:
    session = ProtocolSession(spec, user_id=user_id)
    event = _one(session.receive_text(_text(kind="welcome", body={"uid": reported}), 0.1))
    assert isinstance(event, Confirmed) and event.problem is not None
    assert event.problem.startswith(problem)


def test_anonymous_values_come_from_the_contract(spec: ProtocolSpec) -> None:
    event = _one(ProtocolSession(spec).receive_text(_text(kind="welcome", body={"uid": ""})))
    assert isinstance(event, Confirmed) and event.problem is None


def test_a_second_confirmation_is_unexplained(spec: ProtocolSpec) -> None:
    session = ProtocolSession(spec)
    session.receive_text(_text(kind="welcome", body={"uid": None}))
    event = _one(session.receive_text(_text(kind="welcome", body={"uid": None})))
    assert isinstance(event, Unexplained) and "second confirmation" in event.reason


def test_liveness_reply_is_a_reply_with_its_latency(spec: ProtocolSpec) -> None:
    session = ProtocolSession(spec)
    request = session.liveness(at=1.0)
    assert json.loads(request.text)["kind"] == "beat" and request.replies == ("beat_ack",)
    event = _one(session.receive_text(_text(kind="beat_ack"), at=1.25))
    assert isinstance(event, Reply) and event.request is request
    assert event.latency == pytest.approx(0.25)
    assert session.pending == []


def test_replies_are_correlated_by_the_contracts_field(spec: ProtocolSpec) -> None:
    session = ProtocolSession(spec)
    first = session.send({"kind": "ask", "ref": "a"}, at=0.0)
    second = session.send({"kind": "ask", "ref": "b"}, at=0.0)
    event = _one(session.receive_text(_text(kind="answer", ref="b", ok=True), at=0.5))
    assert isinstance(event, Reply) and event.request is second
    assert session.pending == [first]


def test_a_reply_with_a_foreign_correlation_id_is_unexplained(spec: ProtocolSpec) -> None:
    session = ProtocolSession(spec)
    session.send({"kind": "ask", "ref": "a"}, at=0.0)
    event = _one(session.receive_text(_text(kind="answer", ref="zzz", ok=True)))
    assert isinstance(event, Unexplained)
    assert "ref 'zzz'" in event.reason and "'a'" in event.reason
    assert len(session.pending) == 1  # the request still waits for its own answer


def test_uncorrelated_replies_answer_in_order(spec: ProtocolSpec) -> None:
    session = ProtocolSession(spec)
    first, second = session.liveness(at=0.0), session.liveness(at=0.1)
    assert _one(session.receive_text(_text(kind="beat_ack"))).request is first
    assert _one(session.receive_text(_text(kind="beat_ack"))).request is second


def test_a_reply_nobody_asked_for_is_unexplained(spec: ProtocolSpec) -> None:
    event = _one(ProtocolSession(spec).receive_text(_text(kind="beat_ack")))
    assert isinstance(event, Unexplained)
    assert "'beat_ack' frame (documented) that answers no request" in event.reason


def test_an_error_answers_the_raw_frame_sent_before_it(spec: ProtocolSpec) -> None:
    session = ProtocolSession(spec)
    pending_beat = session.liveness(at=0.0)
    raw = session.send(None, at=0.1, text="{not json")
    event = _one(session.receive_text(_text(kind="oops", why="BAD_JSON")))
    assert isinstance(event, ErrorFrame) and event.code == "BAD_JSON"
    assert event.request is raw and session.pending == [pending_beat]


def test_an_error_with_nothing_pending_answers_nothing(spec: ProtocolSpec) -> None:
    event = _one(ProtocolSession(spec).receive_text(_text(kind="oops")))
    assert isinstance(event, ErrorFrame) and event.request is None and event.code is None


def test_a_push_carries_the_harness_trace(spec: ProtocolSpec) -> None:
    event = _one(ProtocolSession(spec).receive_text(_text(kind="news", body={"trace": "t1"})))
    assert isinstance(event, Push) and event.trace == "t1" and event.type == "news"
    untraced = _one(ProtocolSession(spec).receive_text(_text(kind="news", body={})))
    assert isinstance(untraced, Push) and untraced.trace is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"other": 1}', "no 'kind' field"),
        ('{"kind": "mystery"}', "'mystery' frame (not documented)"),
    ],
)
def test_frames_the_protocol_does_not_account_for(
    spec: ProtocolSpec, text: str, reason: str
) -> None:
    event = _one(ProtocolSession(spec).receive_text(text))
    assert isinstance(event, Unexplained) and reason in event.reason
    assert event.frame is not None and event.frame.text == text


def test_binary_frames_are_unexplained(spec: ProtocolSpec) -> None:
    event = _one(ProtocolSession(spec).receive_binary(b"\x00\x01"))
    assert isinstance(event, Unexplained) and "binary frame of 2 bytes" in event.reason


def test_close_and_a_dropped_connection(spec: ProtocolSpec) -> None:
    session = ProtocolSession(spec)
    assert _one(session.receive_close(4003, "forbidden")) == Closed(code=4003, reason="forbidden")
    assert session.state == "closed" and session.close_code == 4003
    assert _one(ProtocolSession(spec).receive_close(None)).code is None


def test_the_preparsed_fast_path_gives_the_same_events(spec: ProtocolSpec) -> None:
    session = ProtocolSession(spec)
    request = session.liveness(at=0.0)
    event = _one(session.receive_value({"kind": "beat_ack"}, '{"kind": "beat_ack"}', at=0.01))
    assert isinstance(event, Reply) and event.request is request


def test_violations_ride_on_the_frame(contract: Any, spec: ProtocolSpec) -> None:
    session = ProtocolSession(spec, validate=FrameValidator(contract).validate)
    session.send({"kind": "ask", "ref": "r"}, at=0.0)
    event = _one(session.receive_text(_text(kind="answer", ref="r", ok="yes")))
    assert isinstance(event, Reply)
    assert [v.path for v in event.frame.violations] == ["$.ok"]


def test_a_bare_spec_knows_only_json(spec: ProtocolSpec) -> None:
    """The doctor's plain-WebSocket mode: nothing is confirmed, replied or pushed."""
    bare = ProtocolSession(ProtocolSpec())
    assert _one(bare.opened()).hello is None and bare.state == "confirmed"
    event = _one(bare.receive_text('{"type": "anything"}'))
    assert isinstance(event, Unexplained)


def test_requests_nobody_answers_do_not_pile_up(spec: ProtocolSpec) -> None:
    session = ProtocolSession(spec)
    for n in range(1000):
        session.send({"kind": "hi", "n": n}, at=0.0)
    assert len(session.pending) <= 256


def test_every_event_kind_is_covered_here() -> None:
    """The module docstring lists every event; these tests produce each of them."""
    assert set(EVENT_KINDS.values()) == {
        "opened",
        "confirmed",
        "reply",
        "error",
        "push",
        "closed",
        "unexplained",
    }


def test_a_confirmation_the_contract_does_not_document_is_a_config_error(contract: Any) -> None:
    config = replace(_config(), confirmation=ConfirmationSpec(message="hullo"))
    with pytest.raises(ConfigError, match=r"confirmation.message 'hullo' is not a message"):
        ProtocolSpec.build(contract, config)


def test_confirming_after_a_hello_nobody_declared_is_a_config_error(contract: Any) -> None:
    bare = replace(contract, roles={})
    with pytest.raises(ConfigError, match="no hello is declared"):
        ProtocolSpec.build(bare, _config(after="connect"))
    declared = replace(
        _config(after="connect"),
        confirmation=ConfirmationSpec(after="connect", connect_message={"kind": "hi"}),
    )
    assert ProtocolSpec.build(bare, declared).hello == {"kind": "hi"}


def test_no_confirmation_when_the_config_says_null(contract: Any) -> None:
    spec = ProtocolSpec.build(
        contract, replace(_config(), confirmation=ConfirmationSpec(message=None))
    )
    session = ProtocolSession(spec)
    assert spec.confirmation is None and not session.awaits_confirmation
    event = _one(session.receive_text(_text(kind="welcome", body={})))
    assert isinstance(event, Unexplained)


def test_a_type_field_holding_a_list_or_an_object_is_no_known_type(spec: ProtocolSpec) -> None:
    """Found by fuzzing: such a request must not crash the session."""
    for odd in (["ask"], {"kind": "ask"}):
        request = ProtocolSession(spec).send({"kind": odd, "ref": "r"})
        assert request.type is None and request.replies == ()


def test_forget_drops_pending_requests(spec: ProtocolSpec) -> None:
    session = ProtocolSession(spec)
    session.liveness(at=0.0)
    session.forget()
    assert isinstance(_one(session.receive_text(_text(kind="beat_ack"))), Unexplained)
