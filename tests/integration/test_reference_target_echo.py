"""A regression found by fuzzing: a valid permission_check whose echo, escaped to ASCII, grew
past autobahn's 64 KiB outgoing limit was answered INTERNAL_ERROR instead of its reply."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from harness.client import WsClient
from harness.config import load_config
from harness.contract import FrameValidator, load_contract
from harness.protocol import ProtocolSession, ProtocolSpec
from harness.targets import Target, TargetOptions, make_target

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    with make_target(TargetOptions(), load_config(), load_contract()) as started:
        yield started


@pytest.mark.parametrize(
    "action", ["\U0001f600" * 5500, "x" * 60000], ids=["22KB-of-emoji", "60KB-ascii"]
)
async def test_a_long_valid_request_gets_its_reply(target: Target, action: str) -> None:
    contract = load_contract()
    session = ProtocolSession(
        ProtocolSpec.build(contract, load_config()), validate=FrameValidator(contract).validate
    )
    client = await WsClient.open(target.info.ws_url + "/ws/permissions/anonymous/", session=session)
    try:
        await client.next_of_type("connection_confirmed", 5)
        request = {"type": "permission_check", "resource": "r", "action": action, "request_id": "1"}
        sent = await client.send_text(json.dumps(request, ensure_ascii=False), request)
        reply = await client.reply_to(sent, 5)  # raw UTF-8 above, under 64 KiB
        assert reply.value["action"] == action
        assert not client.violations
    finally:
        await client.close()
