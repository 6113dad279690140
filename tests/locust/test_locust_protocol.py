"""What the Locust users take from the contract and the config, without Locust or sockets:
pre-rendered request frames, push traces, the default route by x-auth, the push to trigger.

(Nothing here imports ``harness.locust.users``: importing Locust monkey-patches the process.)
"""

from __future__ import annotations

import dataclasses
import json
import time

import pytest

from harness.config import UserSpec, load_config
from harness.contract import load_contract
from harness.errors import ConfigError
from harness.locust.context import RunContext
from harness.locust.frames import FrameTemplate, type_of
from harness.locust.options import LoadOptions
from harness.locust.pushes import Trace
from harness.protocol import ProtocolSession, ProtocolSpec, Reply

USER = UserSpec(name="someone", username="u", user_id=7)


def test_a_timed_template_renders_fresh_times_from_one_format() -> None:
    template = FrameTemplate.compile({"kind": "beat", "at": "${now_ms}", "note": "50%"}, USER)
    assert template.text_format is not None and template.timed
    before = int(time.time() * 1000)
    message, text = template.render()
    sent = json.loads(text)
    assert sent["kind"] == "beat" and sent["note"] == "50%"
    assert before <= sent["at"] <= int(time.time() * 1000)
    assert message["kind"] == "beat"


def test_user_fields_are_filled_once_and_fresh_values_every_time() -> None:
    constant = FrameTemplate.compile({"kind": "hello", "who": "${user.user_id}"}, USER)
    assert constant.render()[1] == '{"kind": "hello", "who": 7}' and not constant.timed
    fresh = FrameTemplate.compile({"kind": "probe", "id": "${uuid}"}, None)
    assert fresh.text_format is None
    first, second = fresh.render(), fresh.render()
    assert first[0]["id"] != second[0]["id"] and json.loads(first[1]) == first[0]


def test_a_rendered_frame_is_correlated_by_the_session() -> None:
    contract = load_contract()
    spec = ProtocolSpec.build(contract, None)
    session = ProtocolSession(spec)
    session.opened(0.0)
    assert spec.liveness is not None
    message, text = FrameTemplate.compile(spec.liveness).render()
    request = session.send(message, 1.0, text)
    reply = {spec.type_field: request.replies[0]}
    [event] = session.receive_value(reply, json.dumps(reply), 1.5)
    assert isinstance(event, Reply) and event.request is request and event.latency == 0.5
    assert type_of(message, spec.type_field) == request.type


def test_trace_round_trip_and_foreign_values() -> None:
    trace = Trace("ab12-3", 1700000000.123456, "user:7")
    assert Trace.decode(trace.encode()) == trace
    for foreign in (None, 5, "some-other-trace", "a~not-a-time~b"):
        assert Trace.decode(foreign) is None


def context_with(contract_changes: dict[str, object] | None = None) -> RunContext:
    context = RunContext(LoadOptions())
    contract = load_contract()
    if contract_changes:
        contract = dataclasses.replace(contract, **contract_changes)  # type: ignore[arg-type]
    context.__dict__["contract"] = contract  # the cached properties, as loaded
    context.__dict__["config"] = load_config()
    return context


def test_default_route_follows_x_auth_not_a_name() -> None:
    context = context_with()
    optional = context.contract.routes_with_auth("optional")[0]
    assert context.route(None, None) == optional
    assert context.route(None, USER) == optional
    without_optional = {
        name: route for name, route in context.contract.routes.items() if route.auth != "optional"
    }
    context = context_with({"routes": without_optional})
    assert context.route(None, None).auth == "anonymous"
    assert context.route(None, USER).auth == "owner"
    with pytest.raises(ConfigError, match="no route user 'x' may use"):
        context.route(None, UserSpec(name="x", username="x"))  # owner needs an id
    with pytest.raises(ConfigError, match="no route 'nope'"):
        context.route("nope", None)


def test_liveness_name_and_push_defaults_come_from_the_contract() -> None:
    context = context_with()
    contract = context.contract
    assert context.liveness_name == type_of(contract.liveness_request, contract.type_field)
    to_user = context.push_message(None, "user")
    assert to_user.kind == "push" and to_user.delivered_to == "user"
    assert context.push_message(None, "global").delivered_to == "global"
    with pytest.raises(ConfigError, match="is not a push"):
        context.push_message(context.liveness_name, "user")
    roles = {name: role for name, role in contract.roles.items() if name != "liveness"}
    context = context_with({"roles": roles})
    assert context.liveness_name == "liveness"
    with pytest.raises(ConfigError, match="declares no liveness request"):
        context.liveness(None)
